"""Each non-public name of the Pulumi SDK the package uses (``eks_cicd_access.sdk_internals``) still behaves as the
package needs: CI runs these on the lowest and the highest ``pulumi`` the dependency range allows."""

from __future__ import annotations

import asyncio

import pulumi
from pulumi.runtime import proto, rpc
from pulumi.runtime.mocks import MockMonitor

from eks_cicd_access.sdk_internals import (
    GRPC_CHANNEL_OPTIONS,
    Unknown,
    construct_options,
    pending_rpcs,
    provider_resource,
)

AWS_REF = "urn:pulumi:dev::proj::pulumi:providers:aws::default_7_0_0::04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def test_the_grpc_options_lift_the_message_size_limits():
    """The plugin's server takes the SDK's channel options: (name, value) pairs that raise gRPC's 4 MiB limit on
    what the engine may send (a large program's Construct request)."""
    options = dict(GRPC_CHANNEL_OPTIONS)
    assert options["grpc.max_receive_message_length"] > 4 * 1024 * 1024


def test_pending_rpcs_tell_one_mocked_program_run_from_the_next(stack):
    """Under mocks each ``pulumi.runtime.test`` run has its own pending-RPC list: claims are kept per run by it."""
    seen: list[object] = []

    @pulumi.runtime.test
    def run() -> None:
        seen.append(pending_rpcs())

    run()
    run()
    assert seen[0] is not None and seen[1] is not None
    assert seen[0] is not seen[1]


def test_a_provider_reference_becomes_a_provider_resource_of_its_package(stack):
    """A Construct request's provider reference (``urn::id``) becomes a provider resource of its package."""
    urn, id_ = AWS_REF.rsplit("::", 1)
    stack.monitor.resources[urn] = MockMonitor.ResourceRegistration(urn, id_, {})  # what the engine would look up
    found = provider_resource(AWS_REF)
    assert isinstance(found, pulumi.ProviderResource)
    assert found.package == "aws"


def test_construct_options_carry_the_requests_options(stack):
    """The SDK's reading of a Construct request keeps what the plugin passes on: parent, protect, dependencies,
    providers."""
    parent = "urn:pulumi:dev::proj::pulumi:pulumi:Stack::proj-dev"
    request = proto.ConstructRequest(
        parent=parent, protect=True, dependencies=[parent], providers={"aws": AWS_REF}, ignoreChanges=["tags"]
    )
    options = construct_options(request)
    assert options.protect is True and options.ignore_changes == ["tags"]
    assert isinstance(options.parent, pulumi.Resource) and len(options.depends_on or []) == 1  # type: ignore[arg-type]
    assert isinstance(options.providers, dict) and set(options.providers) == {"aws"}


def test_an_unknown_input_is_an_unknown_value():
    """A preview's unknown property deserializes (keeping unknowns) as ``Unknown``, which the plugin turns back
    into the engine's unknown sentinel."""
    struct = asyncio.get_event_loop().run_until_complete(rpc.serialize_properties({"arn": rpc.UNKNOWN}, {}))
    props = rpc.deserialize_properties(struct, keep_unknowns=True)
    assert isinstance(props["arn"], Unknown)
