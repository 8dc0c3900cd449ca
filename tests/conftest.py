"""Pulumi mocks for every test: one mocks class, one recording monitor; and a test cluster.

The mocks echo inputs, add the outputs each provider computes (camelCase, as
the engine returns them) and answer ``aws:eks/getCluster``. The monitor
records each registration request as the engine would receive it, so tests
can check parents, providers and resource options (``retainOnDelete``,
``replacementTrigger``...) and not only inputs.

The ``cluster`` fixture is the test API server (HTTPS, ``testbed/apiserver``)
holding an ``aws-auth`` with node roles and other teams' users, plus the
engine harness (``tests/engine``) that runs a dynamic resource's provider as
the Pulumi engine's host does.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import grpc
import hypothesis
import pulumi
import pytest
from google.protobuf import json_format, struct_pb2
from moto import mock_aws
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.sync_await import _ensure_event_loop

from testbed.apiserver.server import KubeApiServer
from testbed.aws_auth_seed import ADMIN_TOKEN, DEPLOYER, MAP_ACCOUNTS, NODE_ROLES, OTHER_USERS
from tests.engine import Engine

# No timed tests: Hypothesis's per-example deadline (200 ms) fails examples on a loaded 2-core box.
hypothesis.settings.register_profile("eks-cicd-access", deadline=None)
hypothesis.settings.load_profile("eks-cicd-access")

#: The real control plane (etcd, kube-apiserver, controllers, kwok) for the `cluster` tier.
pytest_plugins = ["tests.controlplane_fixtures"]

ACCOUNT = "123412341234"
REGION = "us-east-1"
CLUSTER_NAME = "my-cluster-1"
CLUSTER_ENDPOINT = "https://0123456789ABCDEF.gr7.us-east-1.eks.amazonaws.com"
CLUSTER_CA = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUMvakNDQWVhZ0F3SUJBZ0lCQURBTkJna3Foa2lHOXcwQkFRc0ZBREFWTVJNd0VRWURWUVFERXdwcmRXSmwKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="  # noqa: E501


def access_key_of(resource_name: str) -> tuple[str, str]:
    """The id and secret the mocks give an access key: AWS's documentation example for a default key,
    a distinct one (derived from the resource name) for each labelled key."""
    if resource_name.endswith("-access-key-default"):
        return "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    digest = hashlib.sha256(resource_name.encode()).hexdigest().upper()
    return f"AKIA{digest[:16]}", f"secret/{digest[16:56]}"


def cluster_arn(name: str = CLUSTER_NAME) -> str:
    return f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/{name}"


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


@pytest.fixture
def moto_eks(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, dict[str, Any]]]:
    """moto with two ACTIVE EKS clusters, "my-cluster-1" and "other-cluster"; yields their descriptions by name."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="eks-cluster", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        eks = boto3.client("eks", region_name=REGION)
        for name in ("my-cluster-1", "other-cluster"):
            eks.create_cluster(name=name, roleArn=role, resourcesVpcConfig={"subnetIds": []})
        yield {name: eks.describe_cluster(name=name)["cluster"] for name in ("my-cluster-1", "other-cluster")}


@dataclass
class Cluster:
    """The test API server, its deployer's kubeconfig, and the engine harness to run providers with."""

    server: KubeApiServer
    engine: Engine

    @property
    def kubeconfig(self) -> str:
        """The deployer's kubeconfig (system:masters), as a program would pass it."""
        return self.server.kubeconfig(ADMIN_TOKEN)

    def aws_auth(self) -> dict[str, Any]:
        """The stored kube-system/aws-auth ConfigMap."""
        found = self.server.configmap("kube-system", "aws-auth")
        assert found is not None, "kube-system/aws-auth does not exist"
        return found

    def writes(self) -> list[str]:
        """The ConfigMap writes the server answered, e.g. ``["update configmaps aws-auth -> 409"]``."""
        return [
            r.describe()
            for r in self.server.requests
            if r.attributes.resource == "configmaps" and r.attributes.verb in ("create", "update")
        ]


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """A test API server with aws-auth holding node roles, two other teams' users and an account."""
    with KubeApiServer(cluster_name=CLUSTER_NAME, tokens={ADMIN_TOKEN: DEPLOYER}) as server:
        server.seed_configmap(
            "kube-system", "aws-auth", {"mapRoles": NODE_ROLES, "mapUsers": OTHER_USERS, "mapAccounts": MAP_ACCOUNTS}
        )
        engine = Engine()
        try:
            yield Cluster(server, engine)
        finally:
            engine.pool.shutdown(wait=True)


@pytest.fixture(autouse=True)
def stack() -> Iterator[Stack]:
    """Fresh mocks and monitor for every test."""
    mocks = EksMocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project="eks-cicd-access", stack="dev", preview=False, monitor=monitor)
    yield Stack(mocks, monitor)


@pytest.fixture(autouse=True, scope="session")
def quiet_unretrieved_futures() -> None:
    """Keep the error-path tests' leftovers out of the test output.

    A run that fails on purpose leaves Output futures whose exception nobody
    awaits; asyncio would print each one (with its traceback) when it is
    garbage collected, often after pytest's summary. Those are dropped here;
    any other loop error still goes to the default handler.
    """
    loop = _ensure_event_loop()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") != "Future exception was never retrieved":
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--record-golden", action="store_true", help="rewrite tests/golden/*.json from the current code (on purpose)"
    )


@pytest.fixture(scope="module")
def engine(control_plane: Any) -> Iterator[Any]:
    """The engine tier's world (``testbed/engine_stack.py``): the CLI and the Kubernetes provider built by
    ``scripts/tools``, moto in server mode with the cluster seeded, and the session's control plane, whose token
    webhook reads moto's keys for the module."""
    from testbed.controlplane.fixture import find_tools
    from testbed.engine_stack import CLUSTER_NAME, Engine, Moto, sync_access_to

    tools = find_tools("engine")
    with Moto() as moto:
        moto.access.on_change = sync_access_to(control_plane)
        moto.seed_cluster(CLUSTER_NAME)
        before, mode = control_plane.principals, control_plane.authentication_mode
        control_plane.principals = moto.sts_keys
        try:
            yield Engine(tools, moto, control_plane)
        finally:
            control_plane.principals = before
            control_plane.write_access_entries([])
            control_plane.set_authentication_mode(mode)


@pytest.fixture
def foreign(engine: Any) -> dict[str, str]:
    """aws-auth as a real cluster has it before we come: the node role and another team's CI user."""
    from testbed.engine_stack import seed_foreign

    return seed_foreign(engine.plane)
