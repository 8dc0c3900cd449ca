"""The stand-in's gRPC-facing provider: routes each request to its ``Kind`` or invoke, against moto.

moto's endpoint comes from ``EKS_CICD_MOTO_URL`` (moto in server mode on
loopback); the region from the provider's ``region`` configuration. What moto
cannot hold is seeded through ``EKS_CICD_STANDIN_CLUSTERS``: for each cluster
name, the ``endpoint`` and ``certificateAuthority`` that ``aws:eks/getCluster``
answers, so a kubeconfig built from it reaches the real control plane (moto
makes up an endpoint and CA of its own). The authentication mode is
``DescribeCluster``'s ``accessConfig``, which the EKS access emulation
(``testbed/eks_access.py``) adds to moto's answer: one source for the mode the
program reads and the mode the authenticator runs in.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import secrets
from collections.abc import Mapping
from typing import Any

import boto3
from pulumi.provider.experimental.property_value import Computed, PropertyValue
from pulumi.provider.experimental.provider import (
    CheckFailure,
    CheckRequest,
    CheckResponse,
    ConfigureRequest,
    ConfigureResponse,
    CreateRequest,
    CreateResponse,
    DeleteRequest,
    DiffRequest,
    DiffResponse,
    InvokeRequest,
    InvokeResponse,
    Provider,
    ReadRequest,
    ReadResponse,
    UpdateRequest,
    UpdateResponse,
)
from pulumi.runtime import rpc

from testbed.aws_standin.kinds import KINDS, Aws, Kind, StandinError, State, optional_computed

#: The pulumi-aws release whose schema the stand-in follows: the Python SDK the tests install (its property names
#: are checked against it by testbed/aws_standin/test_aws_standin.py), so the engine asks for this plugin version.
VERSION = importlib.metadata.version("pulumi_aws")
MOTO_URL = "EKS_CICD_MOTO_URL"
CLUSTERS = "EKS_CICD_STANDIN_CLUSTERS"
#: A file the stand-in appends each invoke to, one JSON line (``tok``, ``args``), when set: how many
#: ``DescribeCluster`` calls a program makes.
CALLS = "EKS_CICD_STANDIN_CALLS"
#: An unknown (computed) value, in plain values and on the wire: the engine's sentinel string. The SDK's
#: experimental provider neither decodes it into ``Computed`` on the way in nor can marshal ``Computed`` on the way
#: out ("Unsupported value type"), so the stand-in speaks the sentinel itself.
UNKNOWN = rpc.UNKNOWN


def plain(value: PropertyValue) -> Any:
    """A property value as plain Python (numbers stay floats, as on the wire); unknowns are ``UNKNOWN``."""
    inner = value.value
    if isinstance(inner, Computed) or inner == UNKNOWN:
        return UNKNOWN
    if isinstance(inner, Mapping):
        return {k: plain(v) for k, v in inner.items()}
    if isinstance(inner, tuple):
        return [plain(v) for v in inner]
    return inner


def plain_map(values: Mapping[str, PropertyValue]) -> State:
    return {k: plain(v) for k, v in values.items()}


def wire(value: Any, secret: bool = False) -> PropertyValue:
    """A plain value as a property value (``secret`` marks it)."""
    if isinstance(value, Mapping):
        found = PropertyValue({k: wire(v) for k, v in value.items()})
    elif isinstance(value, list | tuple):
        found = PropertyValue([wire(v) for v in value])
    elif isinstance(value, int) and not isinstance(value, bool):
        found = PropertyValue(float(value))
    else:
        found = PropertyValue(value)
    return found.with_secret(True) if secret else found


def wire_map(kind: Kind, state: State) -> dict[str, PropertyValue]:
    """A resource's state, its secret outputs marked as pulumi-aws marks them."""
    return {k: wire(v, k in kind.secret_outputs) for k, v in state.items() if v is not None}


def kind_of(qualified: str) -> Kind:
    """The ``Kind`` of a request's type. The SDK's ``request.type`` is the URN's *qualified* type, with the
    parents' types before ``$`` (``eks-cicd-access:index:EksCicdAccess$aws:iam/user:User``): the last one counts."""
    token = qualified.rsplit("$", 1)[-1]
    try:
        return KINDS[token]
    except KeyError:
        raise StandinError(
            f"{token}: not served by the AWS stand-in (testbed/aws_standin); it serves {', '.join(sorted(KINDS))}"
        ) from None


def _same(old: Any, new: Any) -> bool:
    """Equal as pulumi-aws compares them: JSON documents by meaning, unknowns never equal."""
    if new == UNKNOWN:
        return False
    if isinstance(old, str) and isinstance(new, str) and old.lstrip().startswith("{"):
        try:
            return bool(json.loads(old) == json.loads(new))
        except ValueError:
            pass
    return bool(old == new)


def changed_keys(kind: Kind, olds: State, news: State) -> list[str]:
    """The inputs of ``kind`` whose new value differs from the old state's; an optional-computed input that is not
    given keeps what the provider computed, as in pulumi-aws (``optional_computed``)."""
    keep = optional_computed(kind.token)
    return sorted(
        k
        for k in kind.inputs
        if (k in olds or k in news) and not (k in keep and news.get(k) is None) and not _same(olds.get(k), news.get(k))
    )


def named_by_user(kind: Kind, name: str, inputs: State) -> bool:
    """The physical name was given, not made by the autonamer: as pulumi-terraform-bridge decides
    (``nameRequiresDeleteBeforeReplace``), a replacement must then delete the old resource first, since the new one
    cannot take its name while it exists. (The bridge knows from its ``__defaults`` list; the stand-in from the
    autonamer's own pattern, ``<logical name>-<7 hex digits>``.)"""
    given = inputs.get(kind.autoname) if kind.autoname else None
    return isinstance(given, str) and re.fullmatch(rf"{re.escape(name)}-[0-9a-f]{{7}}", given) is None


GET_CLUSTER = "aws:eks/getCluster:getCluster"
#: The invokes it answers: the two the component calls.
INVOKES = frozenset({GET_CLUSTER, "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider"})


class AwsStandin(Provider):
    """The stand-in ``aws`` provider (see the package docstring)."""

    def __init__(self) -> None:
        self._aws: Aws | None = None

    @property
    def aws(self) -> Aws:
        if self._aws is None:
            raise StandinError("the AWS stand-in was not configured")
        return self._aws

    async def check_config(self, request: CheckRequest) -> CheckResponse:
        return CheckResponse(inputs=request.new_inputs)

    async def diff_config(self, request: DiffRequest) -> DiffResponse:
        return DiffResponse(changes=False)

    async def configure(self, request: ConfigureRequest) -> ConfigureResponse:
        args = plain_map(request.args)
        region = args.get("region") or request.variables.get("aws:config:region") or "us-east-1"
        url = os.environ.get(MOTO_URL)
        if not url:
            raise StandinError(f"{MOTO_URL} is not set: the AWS stand-in needs moto's endpoint (server mode)")
        session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region)
        self._aws = Aws(
            iam=session.client("iam", endpoint_url=url), eks=session.client("eks", endpoint_url=url), region=region
        )
        return ConfigureResponse(accept_secrets=True, supports_preview=True)

    async def check(self, request: CheckRequest) -> CheckResponse:
        kind = kind_of(request.type)
        news = plain_map(request.new_inputs)
        failures = [
            CheckFailure(key, f"{kind.token} has no input {key!r}") for key in sorted(set(news) - kind.inputs)
        ] + [
            CheckFailure(key, f"{key} is not implemented by the AWS stand-in")
            for key in sorted(set(news) & (kind.inputs - kind.supported))
            if news[key] not in (None, [], {})
        ]
        inputs = {**kind.defaults, **{k: v for k, v in news.items() if v is not None}}
        if kind.autoname and kind.autoname not in inputs:
            inputs[kind.autoname] = f"{request.name}-{secrets.token_hex(4)[:7]}"
        return CheckResponse(inputs=wire_map(kind, inputs), failures=failures)

    async def diff(self, request: DiffRequest) -> DiffResponse:
        kind = kind_of(request.type)
        olds, news = plain_map(request.old_state), plain_map(request.new_inputs)
        diffs = changed_keys(kind, olds, news)
        replaces = [k for k in diffs if k in kind.replace_on or kind.update is None]
        return DiffResponse(
            changes=bool(diffs),
            replaces=replaces,
            diffs=diffs,
            delete_before_replace=bool(replaces) and named_by_user(kind, request.name, news),
        )

    def _preview(self, kind: Kind, inputs: State) -> dict[str, PropertyValue]:
        return wire_map(kind, {**inputs, **{k: UNKNOWN for k in kind.computed}})

    async def create(self, request: CreateRequest) -> CreateResponse:
        kind = kind_of(request.type)
        inputs = plain_map(request.properties)
        if request.preview:
            return CreateResponse(properties=self._preview(kind, inputs))
        ident, state = kind.create(self.aws, inputs)
        return CreateResponse(resource_id=ident, properties=wire_map(kind, state))

    async def read(self, request: ReadRequest) -> ReadResponse:
        kind = kind_of(request.type)
        known = {**plain_map(request.inputs), **plain_map(request.properties)}
        state = kind.read(self.aws, request.resource_id, known)
        if state is None:
            return ReadResponse()  # gone: the engine drops it from the state
        inputs = {k: v for k, v in state.items() if k in kind.inputs and v is not None}
        return ReadResponse(
            resource_id=request.resource_id, properties=wire_map(kind, state), inputs=wire_map(kind, inputs)
        )

    async def update(self, request: UpdateRequest) -> UpdateResponse:
        kind = kind_of(request.type)
        olds, news = plain_map(request.olds), plain_map(request.news)
        if request.preview:
            return UpdateResponse(properties=self._preview(kind, {**olds, **news}))
        if kind.update is None:
            raise StandinError(f"{kind.token} is replaced, never updated")
        return UpdateResponse(properties=wire_map(kind, kind.update(self.aws, request.resource_id, olds, news)))

    async def delete(self, request: DeleteRequest) -> None:
        kind = kind_of(request.type)
        kind.delete(self.aws, request.resource_id, plain_map(request.properties))

    async def invoke(self, request: InvokeRequest) -> InvokeResponse:
        args = plain_map(request.args)
        calls = os.environ.get(CALLS)
        if calls:
            with open(calls, "a", encoding="utf-8") as log:
                log.write(json.dumps({"tok": request.tok, "args": args}) + "\n")
        if request.tok not in INVOKES:
            raise StandinError(f"{request.tok}: not an invoke the AWS stand-in serves")
        found = self._get_cluster(args["name"]) if request.tok == GET_CLUSTER else self._get_oidc_provider(args)
        return InvokeResponse(return_value={k: wire(v) for k, v in found.items()})

    def _get_cluster(self, name: str) -> State:
        """``aws:eks/getCluster``'s answer for a cluster moto holds, with the seeded endpoint and CA; its
        ``accessConfig`` as DescribeCluster gives it (EKS's default, ``CONFIG_MAP``, when it gives none)."""
        cluster = self.aws.eks.describe_cluster(name=name)["cluster"]
        seeded = json.loads(os.environ.get(CLUSTERS) or "{}").get(name, {})
        vpc = cluster.get("resourcesVpcConfig") or {}
        access = cluster.get("accessConfig") or {}
        return {
            "id": name,
            "name": name,
            "arn": cluster["arn"],
            "endpoint": seeded.get("endpoint", cluster.get("endpoint")),
            "certificateAuthorities": [
                {"data": seeded.get("certificateAuthority", (cluster.get("certificateAuthority") or {}).get("data"))}
            ],
            "accessConfigs": [
                {
                    "authenticationMode": access.get("authenticationMode", "CONFIG_MAP"),
                    "bootstrapClusterCreatorAdminPermissions": access.get(
                        "bootstrapClusterCreatorAdminPermissions", True
                    ),
                }
            ],
            "roleArn": cluster.get("roleArn"),
            "version": cluster.get("version"),
            "platformVersion": cluster.get("platformVersion"),
            "status": cluster.get("status"),
            "createdAt": str(cluster.get("createdAt", "")),
            "vpcConfig": {"subnetIds": list(vpc.get("subnetIds", [])), "vpcId": vpc.get("vpcId", "")},
            "tags": dict(cluster.get("tags") or {}),
        }

    def _get_oidc_provider(self, args: State) -> State:
        """``aws:iam/getOpenIdConnectProvider``: by ``arn`` or by ``url``; an error naming it when there is none."""
        iam = self.aws.iam
        wanted = (args.get("url") or "").removeprefix("https://")
        for entry in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]:
            found = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=entry["Arn"])
            if entry["Arn"] == args.get("arn") or (wanted and found["Url"] == wanted):
                return {
                    "id": entry["Arn"],
                    "arn": entry["Arn"],
                    "url": found["Url"],
                    "clientIdLists": list(found["ClientIDList"]),
                    "thumbprintLists": list(found.get("ThumbprintList") or []),
                    "tags": {t["Key"]: t["Value"] for t in found.get("Tags") or []},
                }
        raise StandinError(f"finding IAM OIDC Provider: no provider matches {args.get('arn') or args.get('url')}")
