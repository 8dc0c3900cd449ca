"""The AWS stand-in (testbed/aws_standin) against moto in server mode, driven as the engine drives a provider.

It stands in for pulumi-aws in the engine tier, so these check that it speaks pulumi-aws's language (every type
and invoke the component uses, with pulumi-aws 7.x's property names and secret outputs) and that what it reports
is what moto holds, with no engine involved: each test calls the provider's Check, Diff, Create, Read, Update,
Delete and Invoke as the engine would, and reads moto back with boto3.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import boto3
import grpc
import pulumi_aws as aws
import pytest
from botocore.exceptions import ClientError
from google.protobuf import empty_pb2
from moto.server import ThreadedMotoServer
from pulumi.provider.experimental.property_value import PropertyValue
from pulumi.provider.experimental.provider import (
    CheckRequest,
    ConfigureRequest,
    CreateRequest,
    DeleteRequest,
    DiffRequest,
    InvokeRequest,
    ReadRequest,
    UpdateRequest,
)
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2_grpc

from testbed.aws_standin.kinds import KINDS, StandinError, optional_computed, ses_smtp_password_v4
from testbed.aws_standin.provider import CLUSTERS, MOTO_URL, UNKNOWN, AwsStandin, plain, plain_map, wire
from testbed.eks_access import AccessApi, moto_clusters, moto_principals, serve_on_moto
from testbed.names import ACCOUNT, REGION

T = TypeVar("T")
PLUGIN = Path(__file__).resolve().parent / "bin" / "pulumi-resource-aws"
#: pulumi-aws's Python SDK classes for each type: its Args (the inputs) and the resource (the outputs).
SDK = {
    "aws:iam/policy:Policy": (aws.iam.PolicyArgs, aws.iam.Policy),
    "aws:iam/user:User": (aws.iam.UserArgs, aws.iam.User),
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": (
        aws.iam.UserPolicyAttachmentArgs,
        aws.iam.UserPolicyAttachment,
    ),
    "aws:iam/accessKey:AccessKey": (aws.iam.AccessKeyArgs, aws.iam.AccessKey),
    "aws:iam/role:Role": (aws.iam.RoleArgs, aws.iam.Role),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": (
        aws.iam.RolePolicyAttachmentArgs,
        aws.iam.RolePolicyAttachment,
    ),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": (
        aws.iam.OpenIdConnectProviderArgs,
        aws.iam.OpenIdConnectProvider,
    ),
    "aws:eks/accessEntry:AccessEntry": (aws.eks.AccessEntryArgs, aws.eks.AccessEntry),
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": (
        aws.eks.AccessPolicyAssociationArgs,
        aws.eks.AccessPolicyAssociation,
    ),
}
DOCUMENT = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "eks:*", "Resource": "*"}]})


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def wire_names(cls: type) -> set[str]:
    """The wire (camelCase) names of a pulumi-aws SDK class's properties."""
    return {
        name
        for value in vars(cls).values()
        if isinstance(value, property) and (name := getattr(value.fget, "_pulumi_name", None))
    }


def urn(token: str, name: str = "ci") -> str:
    return f"urn:pulumi:dev::eks-cicd-access::{token}::{name}"


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    """moto in server mode on a free loopback port, for the module, with EKS's access-entry API emulated on it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    serve_on_moto(AccessApi(moto_principals(ACCOUNT), moto_clusters(ACCOUNT), account=ACCOUNT))
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


class Standin:
    """The provider, configured against moto, with the engine's request shapes in plain values."""

    def __init__(self, url: str) -> None:
        self.provider = AwsStandin()
        run(self.provider.configure(ConfigureRequest({}, {"region": wire(REGION)}, True, False)))
        self.iam = boto3.client(
            "iam", endpoint_url=url, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t"
        )
        self.eks = boto3.client(
            "eks", endpoint_url=url, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t"
        )

    def check(self, token: str, inputs: dict[str, Any], name: str = "ci") -> tuple[dict[str, Any], list[str]]:
        answer = run(
            self.provider.check(CheckRequest(urn(token, name), {}, {k: wire(v) for k, v in inputs.items()}, b""))
        )
        return plain_map(answer.inputs or {}), [f.reason for f in answer.failures or []]

    def create(
        self, token: str, inputs: dict[str, Any], *, preview: bool = False
    ) -> tuple[str, dict[str, PropertyValue]]:
        checked, failures = self.check(token, inputs)
        assert not failures, failures
        answer = run(
            self.provider.create(CreateRequest(urn(token), {k: wire(v) for k, v in checked.items()}, 60, preview))
        )
        return answer.resource_id or "", answer.properties

    def read(self, token: str, ident: str, state: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
        answer = run(self.provider.read(ReadRequest(urn(token), ident, {k: wire(v) for k, v in state.items()}, {})))
        return answer.resource_id, plain_map(answer.properties)

    def diff(self, token: str, state: dict[str, Any], news: dict[str, Any]) -> tuple[bool, list[str]]:
        request = DiffRequest(
            urn(token), "id", {k: wire(v) for k, v in state.items()}, {k: wire(v) for k, v in news.items()}, []
        )
        answer = run(self.provider.diff(request))
        return bool(answer.changes), list(answer.replaces)

    def update(self, token: str, ident: str, state: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        checked, failures = self.check(token, news)
        assert not failures, failures
        request = UpdateRequest(
            urn(token),
            ident,
            {k: wire(v) for k, v in state.items()},
            {k: wire(v) for k, v in checked.items()},
            60,
            [],
            False,
        )
        return plain_map(run(self.provider.update(request)).properties or {})

    def delete(self, token: str, ident: str, state: dict[str, Any]) -> None:
        run(self.provider.delete(DeleteRequest(urn(token), ident, {k: wire(v) for k, v in state.items()}, 60)))

    def invoke(self, token: str, args: dict[str, Any]) -> dict[str, Any]:
        answer = run(self.provider.invoke(InvokeRequest(token, {k: wire(v) for k, v in args.items()})))
        return {k: plain(v) for k, v in (answer.return_value or {}).items()}


@pytest.fixture
def standin(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Standin:
    """The stand-in against the module's moto, in the tests' account."""
    monkeypatch.setenv(MOTO_URL, moto_url)
    monkeypatch.setenv("MOTO_ACCOUNT_ID", ACCOUNT)
    return Standin(moto_url)


# -- it speaks pulumi-aws's language -----------------------------------------------------------------


@pytest.mark.parametrize("token", sorted(KINDS))
def test_property_names_and_secrets_are_pulumi_aws(token: str) -> None:
    """Each type's inputs are exactly pulumi-aws 7.x's; its outputs are pulumi-aws's names; its secret outputs
    are those the SDK marks secret."""
    args_cls, resource_cls = SDK[token]
    kind = KINDS[token]
    assert kind.inputs == wire_names(args_cls)
    assert kind.supported <= kind.inputs and kind.replace_on <= kind.inputs
    assert kind.computed <= wire_names(resource_cls)
    assert kind.secret_outputs == ({"secret", "sesSmtpPasswordV4"} if token.endswith("AccessKey") else set())


def test_an_unknown_type_or_invoke_is_a_loud_error(standin: Standin) -> None:
    """A type or invoke outside the list is refused naming it, never answered with something made up."""
    with pytest.raises(StandinError, match=r"^aws:s3/bucket:Bucket: not served by the AWS stand-in"):
        standin.check("aws:s3/bucket:Bucket", {})
    with pytest.raises(StandinError, match=r"^aws:iam/getRole:getRole: not an invoke"):
        standin.invoke("aws:iam/getRole:getRole", {"name": "x"})


def test_a_child_of_the_component_is_served_by_its_own_type(standin: Standin) -> None:
    """A request's URN carries its parents' types (``Parent$aws:iam/user:User``, as the real engine sends for the
    component's children): the resource's own type decides, and an unknown one is still refused by that name."""
    inputs, failures = standin.check("eks-cicd-access:index:EksCicdAccess$aws:iam/user:User", {"name": "u"})
    assert failures == [] and inputs["name"] == "u"
    with pytest.raises(StandinError, match=r"^aws:s3/bucket:Bucket: not served by the AWS stand-in"):
        standin.check("eks-cicd-access:index:EksCicdAccess$aws:s3/bucket:Bucket", {})


def test_check_refuses_unknown_and_unimplemented_inputs_and_applies_defaults(standin: Standin) -> None:
    """A misspelt input and an input the stand-in does not implement are Check failures; defaults are pulumi-aws's."""
    inputs, failures = standin.check("aws:iam/user:User", {"name": "u", "permissionBoundary": "x"})
    assert failures == ["aws:iam/user:User has no input 'permissionBoundary'"]
    assert inputs["path"] == "/" and inputs["forceDestroy"] is False
    _, failures = standin.check(
        "aws:iam/role:Role", {"name": "r", "assumeRolePolicy": DOCUMENT, "inlinePolicies": [{}]}
    )
    assert failures == ["inlinePolicies is not implemented by the AWS stand-in"]
    inputs, _ = standin.check("aws:iam/policy:Policy", {"policy": DOCUMENT}, name="ci-policy")
    assert inputs["name"].startswith("ci-policy-") and len(inputs["name"]) == len("ci-policy-") + 7


# -- what it reports is what moto holds ---------------------------------------------------------------


def test_a_user_round_trip(standin: Standin) -> None:
    """Create, read, rename (in place, no replacement), delete: moto holds each step; a user's boundary, which moto
    does not keep, is a Check failure rather than a pretend success."""
    token = "aws:iam/user:User"
    inputs = {"name": "ci-user", "path": "/ci/", "tags": {"team": "web"}}
    ident, props = standin.create(token, inputs)
    state = plain_map(props)
    user = standin.iam.get_user(UserName="ci-user")["User"]
    assert ident == "ci-user" and state["arn"] == f"arn:aws:iam::{ACCOUNT}:user/ci/ci-user"
    assert state["uniqueId"] == user["UserId"] and state["tagsAll"] == {"team": "web"}
    news = {**inputs, "name": "ci-user-2"}
    assert standin.diff(token, state, {**news, "forceDestroy": False}) == (True, [])
    state = standin.update(token, ident, state, news)
    assert state["name"] == "ci-user-2" and standin.iam.get_user(UserName="ci-user-2")["User"]["Path"] == "/ci/"
    assert standin.read(token, ident, state) == (ident, state)
    _, failures = standin.check(token, {**news, "permissionsBoundary": f"arn:aws:iam::{ACCOUNT}:policy/b"})
    assert failures == ["permissionsBoundary is not implemented by the AWS stand-in"]
    standin.delete(token, ident, state)
    assert standin.read(token, ident, state) == (None, {})


def test_a_replacement_of_a_given_name_deletes_first(standin: Standin) -> None:
    """A named resource that must be replaced is deleted before its replacement is made (the name is unique, as
    pulumi-terraform-bridge decides); an autonamed one is replaced create-first; no replacement, no deletion first."""
    token = "aws:iam/policy:Policy"
    named = {"name": "EKS_CICD_User_Policy", "policy": DOCUMENT, "description": "for a user", "path": "/"}

    def delete_first(state: dict[str, Any], news: dict[str, Any]) -> bool:
        request = DiffRequest(
            urn(token), "id", {k: wire(v) for k, v in state.items()}, {k: wire(v) for k, v in news.items()}, []
        )
        return bool(run(standin.provider.diff(request)).delete_before_replace)

    assert delete_first(named, {**named, "description": "for a role"})
    assert not delete_first(named, {**named, "policy": DOCUMENT.replace("eks:*", "eks:Describe*")})
    autonamed, _ = standin.check(token, {"policy": DOCUMENT, "description": "for a user"})
    assert autonamed["name"].startswith("ci-")
    assert not delete_first(autonamed, {**autonamed, "description": "for a role"})


def test_a_policy_update_is_a_new_default_version(standin: Standin) -> None:
    """Another document makes a new default version of the same policy; another name replaces it."""
    token = "aws:iam/policy:Policy"
    ident, props = standin.create(token, {"name": "describe", "policy": DOCUMENT, "description": "d"})
    state = plain_map(props)
    assert ident == state["arn"] == f"arn:aws:iam::{ACCOUNT}:policy/describe"
    other = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]})
    assert standin.diff(token, state, {**state, "policy": other}) == (True, [])
    assert standin.diff(token, state, {**state, "name": "renamed"}) == (True, ["name"])
    assert standin.diff(token, state, {**state, "policy": json.dumps(json.loads(DOCUMENT), indent=2)}) == (False, [])
    state = standin.update(token, ident, state, {"name": "describe", "policy": other, "description": "d"})
    versions = standin.iam.list_policy_versions(PolicyArn=ident)["Versions"]
    assert [v["IsDefaultVersion"] for v in versions].count(True) == 1 and len(versions) == 2
    assert json.loads(state["policy"]) == json.loads(other)
    standin.delete(token, ident, state)
    assert standin.read(token, ident, state) == (None, {})


def test_an_access_key_secret_is_secret_and_kept_by_read(standin: Standin) -> None:
    """The secret and the SES password are secret outputs; a refresh keeps them (AWS shows a secret once); the
    status updates in place; delete removes the key from moto."""
    standin.iam.create_user(UserName="key-owner")
    token = "aws:iam/accessKey:AccessKey"
    ident, props = standin.create(token, {"user": "key-owner"})
    assert props["secret"].is_secret and props["sesSmtpPasswordV4"].is_secret and not props["status"].is_secret
    state = plain_map(props)
    assert state["sesSmtpPasswordV4"] == ses_smtp_password_v4(state["secret"], REGION)
    (listed,) = standin.iam.list_access_keys(UserName="key-owner")["AccessKeyMetadata"]
    assert listed["AccessKeyId"] == ident
    assert standin.read(token, ident, state) == (ident, state)
    assert standin.diff(token, state, {"user": "key-owner", "status": "Inactive"}) == (True, [])
    assert standin.diff(token, state, {"user": "someone-else", "status": "Active"}) == (True, ["user"])
    state = standin.update(token, ident, state, {"user": "key-owner", "status": "Inactive"})
    assert standin.iam.list_access_keys(UserName="key-owner")["AccessKeyMetadata"][0]["Status"] == "Inactive"
    standin.delete(token, ident, state)
    assert standin.iam.list_access_keys(UserName="key-owner")["AccessKeyMetadata"] == []


def test_a_role_its_attachment_and_an_oidc_provider(standin: Standin) -> None:
    """The OIDC identity's resources: provider, role (trust policy updated in place), attachment; deleted in
    reverse, moto is empty of them again."""
    url = "https://token.actions.githubusercontent.com"
    provider_id, props = standin.create(
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider", {"url": url, "clientIdLists": ["sts.amazonaws.com"]}
    )
    provider = plain_map(props)
    assert provider["url"] == url and provider_id.endswith(":oidc-provider/token.actions.githubusercontent.com")
    found = standin.invoke("aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider", {"url": url})
    assert (found["arn"], found["clientIdLists"]) == (provider_id, ["sts.amazonaws.com"])
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Federated": provider_id}, "Action": "sts:AssumeRoleWithWebIdentity"}
            ],
        }
    )
    role_id, props = standin.create(
        "aws:iam/role:Role", {"name": "web-ci", "path": "/ci/deployers/", "assumeRolePolicy": trust}
    )
    role = plain_map(props)
    assert role["arn"] == f"arn:aws:iam::{ACCOUNT}:role/ci/deployers/web-ci" and role["maxSessionDuration"] == 3600
    policy_arn = standin.iam.create_policy(PolicyName="attach-me", PolicyDocument=DOCUMENT)["Policy"]["Arn"]
    attachment_id, props = standin.create(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment", {"role": "web-ci", "policyArn": policy_arn}
    )
    attached = standin.iam.list_attached_role_policies(RoleName="web-ci")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [policy_arn]
    looser = trust.replace("AssumeRoleWithWebIdentity", "AssumeRole")
    assert standin.diff("aws:iam/role:Role", role, {**role, "assumeRolePolicy": looser}) == (True, [])
    role = standin.update(
        "aws:iam/role:Role", role_id, role, {"name": "web-ci", "path": "/ci/deployers/", "assumeRolePolicy": looser}
    )
    assert "AssumeRole" in json.dumps(standin.iam.get_role(RoleName="web-ci")["Role"]["AssumeRolePolicyDocument"])
    standin.delete("aws:iam/rolePolicyAttachment:RolePolicyAttachment", attachment_id, plain_map(props))
    standin.delete("aws:iam/role:Role", role_id, role)
    standin.delete("aws:iam/openIdConnectProvider:OpenIdConnectProvider", provider_id, provider)
    assert standin.iam.list_open_id_connect_providers()["OpenIDConnectProviderList"] == []
    with pytest.raises(StandinError, match=r"no provider matches https://token\.actions\.githubusercontent\.com"):
        standin.invoke("aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider", {"url": url})


def test_an_optional_computed_input_left_out_is_no_change(standin: Standin) -> None:
    """An OIDC provider made without thumbprintLists reads back with the list moto holds ([]); the same inputs again
    are no change, as in pulumi-aws, where the input is optional and computed (without it, every preview
    planned ``~ oidc-provider``). A thumbprint given is still a change."""
    inputs = {"url": "https://token.actions.githubusercontent.com", "clientIdLists": ["sts.amazonaws.com"]}
    _, props = standin.create("aws:iam/openIdConnectProvider:OpenIdConnectProvider", inputs)
    state = plain_map(props)
    assert state["thumbprintLists"] == []
    assert standin.diff("aws:iam/openIdConnectProvider:OpenIdConnectProvider", state, inputs) == (False, [])
    changed = {**inputs, "thumbprintLists": ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"]}
    assert standin.diff("aws:iam/openIdConnectProvider:OpenIdConnectProvider", state, changed)[0]


def test_the_optional_computed_inputs_are_pulumi_aws_own():
    """Which inputs are optional and computed comes from the installed pulumi-aws SDK's classes, not a list of ours:
    thumbprintLists of the OIDC provider, the autonamed names, and none of an attachment's."""
    assert optional_computed("aws:iam/openIdConnectProvider:OpenIdConnectProvider") == {"thumbprintLists"}
    assert optional_computed("aws:iam/user:User") == {"name"}
    assert optional_computed("aws:iam/rolePolicyAttachment:RolePolicyAttachment") == set()


def test_a_preview_touches_nothing(standin: Standin) -> None:
    """Create during a preview answers the inputs and unknown outputs, and moto has no new user."""
    before = standin.iam.list_users()["Users"]
    ident, props = standin.create("aws:iam/user:User", {"name": "preview-only"}, preview=True)
    assert ident == "" and plain(props["arn"]) == UNKNOWN and plain(props["name"]) == "preview-only"
    # on the wire, as the engine reads it: the unknown sentinel (the SDK cannot marshal its own Computed)
    marshalled = PropertyValue.marshal_map(props)
    assert marshalled.fields["arn"].string_value == rpc.UNKNOWN and marshalled["name"] == "preview-only"
    assert standin.iam.list_users()["Users"] == before


def test_get_cluster_answers_moto_with_the_seeded_endpoint(standin: Standin, monkeypatch: pytest.MonkeyPatch) -> None:
    """getCluster reads the cluster moto holds (its ARN), with the endpoint and CA seeded for the real control
    plane, in pulumi-aws's shape; its authentication mode is EKS's as emulated, and follows UpdateClusterConfig."""
    role = standin.iam.create_role(RoleName="eks", AssumeRolePolicyDocument=DOCUMENT)["Role"]["Arn"]
    standin.eks.create_cluster(name="my-cluster-1", roleArn=role, resourcesVpcConfig={"subnetIds": ["subnet-1"]})
    seed = {"my-cluster-1": {"endpoint": "https://127.0.0.1:6443", "certificateAuthority": "Q0E="}}
    monkeypatch.setenv(CLUSTERS, json.dumps(seed))
    found = standin.invoke("aws:eks/getCluster:getCluster", {"name": "my-cluster-1"})
    assert found["arn"] == f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/my-cluster-1"
    assert (found["endpoint"], found["certificateAuthorities"]) == ("https://127.0.0.1:6443", [{"data": "Q0E="}])
    assert found["accessConfigs"][0]["authenticationMode"] == "CONFIG_MAP", "CreateCluster's default"
    result = aws.eks.GetClusterResult  # the SDK's result type takes exactly these names
    assert set(found) <= {name for name in vars(result) if not name.startswith("_")} | wire_names(result)
    standin.eks.update_cluster_config(name="my-cluster-1", accessConfig={"authenticationMode": "API_AND_CONFIG_MAP"})
    found = standin.invoke("aws:eks/getCluster:getCluster", {"name": "my-cluster-1"})
    assert found["accessConfigs"][0]["authenticationMode"] == "API_AND_CONFIG_MAP"


def test_an_access_entry_is_created_read_updated_and_deleted_against_the_eks_emulation(standin: Standin) -> None:
    """aws:eks/accessEntry:AccessEntry against EKS's access-entry API as testbed/eks_access.py emulates it: pulumi-aws's
    id (CLUSTER:PRINCIPAL) and property names, EKS's defaults read back (STANDARD, the user's ARN as username),
    groups changed in place, and gone after delete; a second entry for the principal is EKS's refusal."""
    token = "aws:eks/accessEntry:AccessEntry"
    standin.iam.create_user(UserName="entry-ci")
    principal = f"arn:aws:iam::{ACCOUNT}:user/entry-ci"
    cluster = "entry-cluster"
    role = standin.iam.create_role(RoleName="entry-cluster", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    standin.eks.create_cluster(name=cluster, roleArn=role, resourcesVpcConfig={"subnetIds": ["subnet-1"]},
                               accessConfig={"authenticationMode": "API_AND_CONFIG_MAP"})  # fmt: skip
    inputs = {"clusterName": cluster, "principalArn": principal, "kubernetesGroups": ["deployers"]}
    ident, _ = standin.create(token, inputs)
    assert ident == f"{cluster}:{principal}"
    _, state = standin.read(token, ident, inputs)
    assert (state["type"], state["userName"], state["kubernetesGroups"]) == ("STANDARD", principal, ["deployers"])
    assert state["accessEntryArn"].startswith(f"arn:aws:eks:{REGION}:{ACCOUNT}:access-entry/{cluster}/user/")
    assert standin.diff(token, state, {**state, "principalArn": principal + "-2"})[1] == ["principalArn"]
    updated = standin.update(token, ident, state, {**inputs, "kubernetesGroups": ["ops"]})
    assert updated["kubernetesGroups"] == ["ops"]
    with pytest.raises(ClientError, match="ResourceInUseException"):
        standin.create(token, inputs)
    standin.delete(token, ident, updated)
    assert standin.read(token, ident, updated)[0] in (None, "")


def test_an_access_policy_association_is_created_read_and_deleted_against_the_eks_emulation(standin: Standin) -> None:
    """aws:eks/accessPolicyAssociation:AccessPolicyAssociation against the emulation: pulumi-aws's id
    (CLUSTER#PRINCIPAL#POLICY), the scope read back, a changed scope replaces, gone after delete and with its entry."""
    token = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
    standin.iam.create_user(UserName="policy-ci")
    principal = f"arn:aws:iam::{ACCOUNT}:user/policy-ci"
    cluster = "policy-cluster"
    role = standin.iam.create_role(RoleName="policy-cluster", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    standin.eks.create_cluster(name=cluster, roleArn=role, resourcesVpcConfig={"subnetIds": ["subnet-1"]},
                               accessConfig={"authenticationMode": "API"})  # fmt: skip
    standin.create("aws:eks/accessEntry:AccessEntry", {"clusterName": cluster, "principalArn": principal})
    policy = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
    inputs = {"clusterName": cluster, "principalArn": principal, "policyArn": policy,
              "accessScope": {"type": "namespace", "namespaces": ["web"]}}  # fmt: skip
    ident, _ = standin.create(token, inputs)
    assert ident == f"{cluster}#{principal}#{policy}"
    _, state = standin.read(token, ident, inputs)
    assert state["accessScope"] == {"type": "namespace", "namespaces": ["web"]}
    assert standin.diff(token, state, {**inputs, "accessScope": {"type": "cluster"}})[1] == ["accessScope"]
    standin.delete(token, ident, state)
    assert standin.read(token, ident, state)[0] in (None, "")
    standin.create(token, inputs)
    standin.eks.delete_access_entry(clusterName=cluster, principalArn=principal)
    assert standin.read(token, ident, state)[0] in (None, "")
    standin.delete(token, ident, state)  # already gone with its entry: not an error


def test_the_plugin_on_path_serves_as_pulumi_aws(moto_url: str) -> None:
    """``pulumi-resource-aws`` (what the engine finds on PATH) starts, prints its port as a plugin must, and
    reports pulumi-aws's version over gRPC."""
    env = {**os.environ, "EKS_CICD_PYTHON": sys.executable, MOTO_URL: moto_url}
    process = subprocess.Popen([str(PLUGIN), "127.0.0.1:1"], stdout=subprocess.PIPE, env=env, text=True)
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            info = provider_pb2_grpc.ResourceProviderStub(channel).GetPluginInfo(empty_pb2.Empty(), timeout=30)
        assert info.version == aws._utilities.get_version()
    finally:
        process.kill()
        process.wait(timeout=10)
