"""Pulumi's unit-test mocks for this component: one mocks class, one recording monitor, and the stack a test runs a
program in.

Stands in for the Pulumi engine and every provider's create/read/invoke when a program runs under
``pulumi.runtime.test``. The mocks echo inputs, add the outputs each provider computes (camelCase, as the engine
returns them) and answer ``aws:eks/getCluster``. The monitor records each registration request as the engine would
receive it, so tests can check parents, providers and resource options (``retainOnDelete``,
``replacementTrigger``...) and not only inputs.

What it does not do: run a provider, diff, or keep state between runs. The engine tier runs the real CLI for that.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
import pulumi
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor

from testbed.names import ACCOUNT, CLUSTER_CA, CLUSTER_ENDPOINT, REGION, cluster_arn


def access_key_of(resource_name: str) -> tuple[str, str]:
    """The id and secret the mocks give an access key: AWS's documentation example for a default key,
    a distinct one (derived from the resource name) for each labelled key."""
    if resource_name.endswith("-access-key-default"):
        return "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    digest = hashlib.sha256(resource_name.encode()).hexdigest().upper()
    return f"AKIA{digest[:16]}", f"secret/{digest[16:56]}"


@dataclass
class Registration:
    """One resource as the engine saw it: registered or read."""

    urn: str
    type: str
    name: str
    parent: str
    provider: str
    inputs: dict[str, Any]
    read: bool = False
    id: str = ""
    retain_on_delete: bool = False
    additional_secret_outputs: list[str] = field(default_factory=list)
    replacement_trigger: Any = None
    dependencies: list[str] = field(default_factory=list)
    #: The inputs exactly as sent (a protobuf Struct): what the engine hands a provider.
    raw: Any = None
    #: The URNs the engine would also accept for this resource from state (its aliases, resolved).
    alias_urns: list[str] = field(default_factory=list)

    @property
    def parent_type(self) -> str:
        """Type token of the parent, from the parent's URN."""
        return self.parent.split("::")[2].split("$")[-1] if self.parent else ""


class InvokeFailure(grpc.RpcError):
    """How the engine answers an invoke its provider failed: a gRPC error carrying the provider's message."""

    def __init__(self, details: str) -> None:
        super().__init__(details)
        self._details = details

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNKNOWN

    def details(self) -> str:
        return self._details


class EksMocks(pulumi.runtime.Mocks):
    """Echo inputs; add each type's computed outputs; answer our invokes."""

    def __init__(self) -> None:
        #: The account's IAM OIDC providers by URL, as getOpenIdConnectProvider finds them.
        self.oidc_providers: dict[str, dict[str, Any]] = {
            "https://token.actions.githubusercontent.com": {
                "arn": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com",
                "clientIdLists": ["sts.amazonaws.com"],
            }
        }
        self.authentication_mode = "API_AND_CONFIG_MAP"
        #: Replaces fields of the getCluster answer (e.g. a moto cluster's arn, endpoint, CA).
        self.cluster: dict[str, Any] = {}
        #: Act as a preview: created resources' computed outputs (ARNs, ids) are unknown.
        self.preview = False
        self.calls: list[pulumi.runtime.MockCallArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        outputs = copy.deepcopy(dict(args.inputs))
        name = outputs.get("name", args.name)
        if self.preview and not args.resource_id:
            return None, outputs
        if args.typ == "aws:iam/user:User":
            path = outputs.get("path", "/")
            outputs.update(arn=f"arn:aws:iam::{ACCOUNT}:user{path}{name}", uniqueId=f"AIDA{name.upper()}")
            return name, outputs
        if args.typ == "aws:iam/role:Role":
            path = outputs.get("path", "/")
            outputs.update(arn=f"arn:aws:iam::{ACCOUNT}:role{path}{name}", uniqueId=f"AROA{name.upper()}")
            return name, outputs
        if args.typ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            outputs.update(arn=f"arn:aws:iam::{ACCOUNT}:oidc-provider/{outputs['url'].removeprefix('https://')}")
            return outputs["arn"], outputs
        if args.typ == "aws:iam/policy:Policy":
            outputs.update(arn=f"arn:aws:iam::{ACCOUNT}:policy/{name}", policyId="ANPA000000000000EXAMPLE")
            return outputs["arn"], outputs
        if args.typ == "aws:iam/accessKey:AccessKey":
            key_id, secret = access_key_of(args.name)
            outputs.update(status="Active")
            if outputs.get("pgpKey"):
                outputs.update(encryptedSecret=f"wcBMA-encrypted-{key_id}", keyFingerprint="0123ABCD")
            else:
                outputs.update(secret=secret, sesSmtpPasswordV4="smtp-password")
            return key_id, outputs
        if args.typ == "aws:eks/accessEntry:AccessEntry":
            outputs.update(accessEntryArn=f"arn:aws:eks:{REGION}:{ACCOUNT}:access-entry/{outputs['clusterName']}/user")
            return f"{outputs['clusterName']}:{outputs['principalArn']}", outputs
        if args.typ.startswith("kubernetes:") and "metadata" in outputs:
            meta = outputs["metadata"]
            object_id = f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else meta.get("name", args.name)
            return object_id, outputs
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        self.calls.append(args)
        if args.token == "aws:eks/getCluster:getCluster":
            name = args.args["name"]
            return {
                "name": name,
                "id": name,
                "arn": cluster_arn(name),
                "endpoint": CLUSTER_ENDPOINT,
                "status": "ACTIVE",
                "version": "1.33",
                "certificateAuthorities": [{"data": CLUSTER_CA}],
                "accessConfigs": [
                    {"authenticationMode": self.authentication_mode, "bootstrapClusterCreatorAdminPermissions": True}
                ],
                **self.cluster,
            }, []
        if args.token == "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider":
            url = args.args["url"]
            if url not in self.oidc_providers:
                # What the AWS provider reports when no provider has that URL.
                raise InvokeFailure(f"reading IAM OIDC Provider ({url}): couldn't find resource")
            found = self.oidc_providers[url]
            return {
                "url": url.removeprefix("https://"),
                "thumbprintLists": [],
                "tags": {},
                "id": found["arn"],
                **found,
            }, []
        raise NotImplementedError(f"the mocks do not answer invoke {args.token}")


class RecordingMonitor(MockMonitor):
    """A mock monitor that keeps each request, so tests see resource options too."""

    def __init__(self, mocks: EksMocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self.registered_outputs: dict[str, dict[str, Any]] = {}

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.registrations.append(
                Registration(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    parent=request.parent,
                    provider=request.provider,
                    inputs=rpc.deserialize_properties(request.object),
                    id=response.id,
                    retain_on_delete=request.retainOnDelete,
                    additional_secret_outputs=list(request.additionalSecretOutputs),
                    replacement_trigger=_unwrap(request, "replacement_trigger"),
                    dependencies=list(request.dependencies),
                    raw=_copy_struct(request.object),
                    alias_urns=_alias_urns(request, response.urn),
                )
            )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        self.registered_outputs[request.urn] = rpc.deserialize_properties(request.outputs)
        return super().RegisterResourceOutputs(request)

    def ReadResource(self, request: Any) -> Any:
        response = super().ReadResource(request)
        self.registrations.append(
            Registration(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=request.parent,
                provider=request.provider,
                inputs={},
                read=True,
                id=request.id,
            )
        )
        return response


def _alias_urns(request: Any, urn: str) -> list[str]:
    """Each alias as the engine resolves it: a full URN, or a spec whose unset parts default to the
    resource's own (same stack, project, type and parent; only what the spec names changes)."""
    found = []
    for alias in request.aliases:
        if alias.urn:
            found.append(alias.urn)
            continue
        spec = alias.spec
        qualified_type = urn.split("::")[2]
        parent_types, _, own_type = qualified_type.rpartition("$")
        if spec.parentUrn:
            parent_types = spec.parentUrn.split("::")[2]
        elif spec.noParent:
            parent_types = ""
        prefix = f"urn:pulumi:{spec.stack or urn.split(':')[2]}::{spec.project or urn.split('::')[1]}::"
        type_ = spec.type or own_type
        found.append(prefix + (f"{parent_types}${type_}" if parent_types else type_) + f"::{spec.name or request.name}")
    return found


def _copy_struct(struct: Any) -> struct_pb2.Struct:
    copied = struct_pb2.Struct()
    copied.CopyFrom(struct)
    return copied


def _unwrap(request: Any, name: str) -> Any:
    if not request.HasField(name):
        return None
    return json_format.MessageToDict(getattr(request, name))


class Stack:
    """The mocked deployment a test runs a program in."""

    def __init__(self, mocks: EksMocks, monitor: RecordingMonitor) -> None:
        self.mocks = mocks
        self.monitor = monitor

    @property
    def resources(self) -> list[Registration]:
        return self.monitor.registrations

    def of_type(self, type_token: str) -> list[Registration]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str) -> Registration:
        found = self.of_type(type_token)
        assert len(found) == 1, f"expected exactly one {type_token}, found {[r.name for r in found]}"
        return found[0]

    def start_preview(self) -> None:
        """Switch to a preview: computed outputs of new resources are unknown, reads still answer."""
        self.mocks.preview = True
        pulumi.runtime.set_mocks(self.mocks, project="eks-cicd-access", stack="dev", preview=True, monitor=self.monitor)

    def run(self, program: Callable[[], Any]) -> dict[str, Any]:
        """Run ``program`` to completion; resolve the dict of Outputs it returns.

        Returns ``{key: (value, is_secret)}``; exceptions raised in applies or
        by the mocks propagate.
        """
        resolved: dict[str, Any] = {}

        async def collect(outputs: dict[str, Any]) -> None:
            for key, value in outputs.items():
                output = pulumi.Output.from_input(value)
                resolved[key] = (await output.future(), await output.is_secret())

        @pulumi.runtime.test
        def _program() -> Any:
            outputs = program() or {}
            return asyncio.ensure_future(collect(outputs))

        _program()
        return resolved
