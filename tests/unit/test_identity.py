"""The OIDC identities (github-actions, gitlab-ci) under mocks: the graph, the role, the provider, the outputs."""

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from pulumi.runtime import rpc

from eks_cicd_access import EksCicdAccess
from eks_cicd_access.component import TYPE_TOKEN
from testbed.names import ACCOUNT
from tests.support import ENTRY

GITHUB_PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
SUBJECTS = ["repo:acme/web:environment:production"]
BASE: dict[str, Any] = {
    "cluster_name": "my-cluster-1",
    "namespace": "web",
    "identity": "github-actions",
    "oidc_subjects": SUBJECTS,
}
OUTPUTS = [
    "iam_user_name",
    "iam_user_arn",
    "iam_role_arn",
    "principal_arn",
    "access_key_id",
    "secret_access_key",
    "encrypted_secret_access_key",
    "kubernetes_username",
]


def deploy(stack, **overrides):
    def program():
        args: Any = {**BASE, **overrides}
        access = EksCicdAccess("web-ci", args)
        return {key: getattr(access, key) for key in OUTPUTS}

    return stack.run(program)


ROLE_CHILDREN = {
    ("aws:iam/policy:Policy", "web-ci-policy"),
    ("aws:iam/role:Role", "web-ci-iam-role"),
    ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "web-ci-role-policy-attachment"),
    ("kubernetes:core/v1:Namespace", "web-ci-namespace"),
    ("kubernetes:rbac.authorization.k8s.io/v1:Role", "web-ci-role"),
    ("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "web-ci-role-binding"),
}
MAPPINGS = {
    "aws-auth": {(ENTRY, "web-ci-aws-auth-entry")},
    "access-entry": {("aws:eks/accessEntry:AccessEntry", "web-ci-access-entry")},
    "none": set(),
}


@pytest.mark.parametrize("mapping", sorted(MAPPINGS))
@pytest.mark.parametrize("identity", ["github-actions", "gitlab-ci"])
def test_role_graph_has_no_user_and_no_key(stack, identity, mapping):
    """An OIDC identity registers a role and its policy attachment, no user, no key, no user attachment."""
    stack.mocks.oidc_providers["https://gitlab.com"] = {
        "arn": f"arn:aws:iam::{ACCOUNT}:oidc-provider/gitlab.com",
        "clientIdLists": ["sts.amazonaws.com"],
    }
    subjects = SUBJECTS if identity == "github-actions" else ["project_path:acme/web:ref_type:branch:ref:main"]
    deploy(stack, identity=identity, oidc_subjects=subjects, identity_mapping=mapping)
    component = stack.one(TYPE_TOKEN)
    children = {(r.type, r.name) for r in stack.resources if r.type != TYPE_TOKEN}
    assert children == ROLE_CHILDREN | MAPPINGS[mapping]
    assert all(r.parent == component.urn for r in stack.resources if r.type != TYPE_TOKEN)
    for absent in ("aws:iam/user:User", "aws:iam/accessKey:AccessKey", "aws:iam/userPolicyAttachment"):
        assert not [r for r in stack.resources if r.type.startswith(absent)], absent


def test_the_role_trusts_the_looked_up_provider(stack):
    """By default the account's provider is looked up by the issuer URL, and the trust policy names it."""
    deploy(stack, iam_role_name="web-deployer", iam_role_path="/ci/", max_session_duration=7200)
    role = stack.one("aws:iam/role:Role").inputs
    assert (role["name"], role["path"], role["maxSessionDuration"]) == ("web-deployer", "/ci/", 7200)
    statement = json.loads(role["assumeRolePolicy"])["Statement"]
    assert [(s["Principal"], s["Action"]) for s in statement] == [
        ({"Federated": GITHUB_PROVIDER}, "sts:AssumeRoleWithWebIdentity")
    ]
    lookups = [c for c in stack.mocks.calls if c.token == "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider"]
    assert [c.args["url"] for c in lookups] == ["https://token.actions.githubusercontent.com"]
    attachment = stack.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment").inputs
    assert attachment == {
        "role": "web-deployer",
        "policyArn": f"arn:aws:iam::{ACCOUNT}:policy/web-deployer-eks-describe-cluster",
    }


def test_the_same_describe_cluster_policy(stack):
    """The role gets the same one-action policy as the user, on the cluster's ARN."""
    deploy(stack)
    document = json.loads(stack.one("aws:iam/policy:Policy").inputs["policy"])
    assert [(s["Action"], s["Resource"]) for s in document["Statement"]] == [
        (["eks:DescribeCluster"], f"arn:aws:eks:us-east-1:{ACCOUNT}:cluster/my-cluster-1")
    ]


def test_a_missing_provider_says_how_to_create_one(stack):
    """No IAM OIDC provider for the issuer: the error names oidc_provider_arn, create_oidc_provider and the CLI."""
    stack.mocks.oidc_providers = {}
    with pytest.raises(ValueError) as raised:
        deploy(stack)
    issuer = "https://token.actions.githubusercontent.com"
    assert str(raised.value) == (
        f"oidc_provider_arn: this AWS account has no IAM OIDC provider for {issuer} (invoke of "
        "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider failed: reading IAM OIDC Provider "
        f"({issuer}): couldn't find resource). Create it once per account: set create_oidc_provider=True in one "
        f"stack (config createOidcProvider: true), or run `aws iam create-open-id-connect-provider --url {issuer} "
        "--client-id-list sts.amazonaws.com`; or pass oidc_provider_arn."
    )
    assert stack.of_type("aws:iam/role:Role") == []


def test_a_provider_without_our_audience_is_refused(stack):
    """A provider that does not list the audience would make STS refuse every token: said before creating."""
    stack.mocks.oidc_providers["https://token.actions.githubusercontent.com"]["clientIdLists"] = ["other"]
    with pytest.raises(ValueError) as raised:
        deploy(stack)
    assert str(raised.value) == (
        f"oidc_audience: the IAM OIDC provider {GITHUB_PROVIDER} does not accept audience 'sts.amazonaws.com' (it "
        f"lists ['other']); add it with `aws iam add-client-id-to-open-id-connect-provider "
        f"--open-id-connect-provider-arn {GITHUB_PROVIDER} --client-id sts.amazonaws.com`"
    )


def test_create_oidc_provider(stack):
    """With create_oidc_provider the provider is created for the issuer and audience, without a thumbprint,
    and the trust policy names it; nothing is looked up."""
    deploy(stack, create_oidc_provider=True, oidc_audience="sts.amazonaws.com")
    provider = stack.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider.name == "web-ci-oidc-provider"
    assert provider.inputs["url"] == "https://token.actions.githubusercontent.com"
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    assert "thumbprintLists" not in provider.inputs
    statement = json.loads(stack.one("aws:iam/role:Role").inputs["assumeRolePolicy"])["Statement"][0]
    assert statement["Principal"] == {"Federated": GITHUB_PROVIDER}
    assert not [c for c in stack.mocks.calls if "OpenIdConnectProvider" in c.token]


@pytest.mark.parametrize("given", [GITHUB_PROVIDER, pulumi.Output.from_input(GITHUB_PROVIDER)])
def test_a_given_provider_arn_is_used_as_is(stack, given):
    """oidc_provider_arn (plain or an Output) goes into the trust policy; nothing is looked up or created."""
    deploy(stack, oidc_provider_arn=given)
    statement = json.loads(stack.one("aws:iam/role:Role").inputs["assumeRolePolicy"])["Statement"][0]
    assert statement["Principal"] == {"Federated": GITHUB_PROVIDER}
    assert not [c for c in stack.mocks.calls if "OpenIdConnectProvider" in c.token]
    assert stack.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider") == []


def test_self_managed_gitlab(stack):
    """gitlab_url is the issuer: looked up by that URL, and its host and path prefix the condition keys."""
    stack.mocks.oidc_providers["https://git.example.com/gl"] = {
        "arn": f"arn:aws:iam::{ACCOUNT}:oidc-provider/git.example.com/gl",
        "clientIdLists": ["sts.amazonaws.com"],
    }
    deploy(
        stack,
        identity="gitlab-ci",
        gitlab_url="https://git.example.com/gl/",
        oidc_subjects=["project_path:acme/web:ref_type:branch:ref:main"],
    )
    condition = json.loads(stack.one("aws:iam/role:Role").inputs["assumeRolePolicy"])["Statement"][0]["Condition"]
    assert condition["StringEquals"] == {
        "git.example.com/gl:aud": "sts.amazonaws.com",
        "git.example.com/gl:sub": ["project_path:acme/web:ref_type:branch:ref:main"],
    }


def test_outputs_for_a_role(stack):
    """iam_role_arn and principal_arn are the role's ARN; the user and key outputs are None, still Outputs."""
    out = deploy(stack, iam_role_path="/ci/")
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/ci/web-ci"
    assert out["iam_role_arn"] == (role_arn, False)
    assert out["principal_arn"] == (role_arn, False)
    assert out["kubernetes_username"] == ("web-ci", False)
    for key in ("iam_user_name", "iam_user_arn", "access_key_id", "secret_access_key", "encrypted_secret_access_key"):
        assert out[key][0] is None, key


def test_outputs_for_a_user(stack):
    """For iam-user, iam_role_arn is None and principal_arn is the user's ARN."""

    def program():
        access = EksCicdAccess("ci", {"cluster_name": "my-cluster-1", "namespace": "web"})
        return {"role": access.iam_role_arn, "principal": access.principal_arn, "user": access.iam_user_arn}

    got = stack.run(program)
    assert got["role"] == (None, False)
    assert got["principal"][0] == got["user"][0] == f"arn:aws:iam::{ACCOUNT}:user/ci"


def test_the_aws_auth_entry_maps_the_role_in_map_roles(stack):
    """With aws-auth the entry goes to mapRoles with the role's ARN (the provider strips the path when writing)."""
    deploy(stack, iam_role_path="/ci/", kubernetes_groups=["deployers"])
    inputs = stack.one(ENTRY).inputs
    assert (inputs["key"], inputs["arn"], inputs["username"], inputs["groups"]) == (
        "mapRoles",
        f"arn:aws:iam::{ACCOUNT}:role/ci/web-ci",
        "web-ci",
        ["deployers"],
    )
    assert rpc.is_rpc_secret(inputs["kubeconfig"])


def test_the_access_entry_names_the_role_with_its_path(stack):
    """An access entry takes the role ARN as IAM gives it (path kept), and follows the role's unique id."""
    deploy(stack, iam_role_path="/ci/", identity_mapping="access-entry")
    entry = stack.one("aws:eks/accessEntry:AccessEntry")
    assert entry.inputs["principalArn"] == f"arn:aws:iam::{ACCOUNT}:role/ci/web-ci"
    assert entry.replacement_trigger == "AROAWEB-CI"


def test_every_aws_call_goes_to_the_aws_provider_from_opts(stack):
    """With an explicit AWS provider in opts (another account or region), the getCluster and
    getOpenIdConnectProvider lookups go to it, as every AWS child does."""

    def program():
        provider = aws.Provider("other-account", region="eu-west-1")
        args: Any = dict(BASE)
        EksCicdAccess("web-ci", args, pulumi.ResourceOptions(providers=[provider]))
        return {}

    stack.run(program)
    provider = stack.one("pulumi:providers:aws")
    tokens = {c.token: c.provider for c in stack.mocks.calls}
    assert set(tokens) == {
        "aws:eks/getCluster:getCluster",
        "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider",
    }
    assert all(ref.startswith(provider.urn + "::") for ref in tokens.values()), tokens
    for child in stack.resources:
        if child.type.startswith("aws:"):
            assert child.provider.startswith(provider.urn + "::"), child.name


def test_the_role_and_the_provider_carry_the_tags_and_say_what_they_are(stack):
    """tags reach the role, the created OIDC provider and the policy; the role's description names the platform."""
    deploy(stack, create_oidc_provider=True, tags={"team": "web"})
    for type_token in (
        "aws:iam/role:Role",
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
        "aws:iam/policy:Policy",
    ):
        assert stack.one(type_token).inputs["tags"] == {"team": "web"}, type_token
    assert stack.one("aws:iam/role:Role").inputs["description"] == (
        "CI jobs (github-actions) assume this role with their OIDC token."
    )
    assert stack.one("aws:iam/policy:Policy").inputs["description"] == (
        "Lets CI jobs describe their EKS cluster to build a kubeconfig."
    )
    component = stack.one(TYPE_TOKEN)
    assert stack.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider").parent == component.urn
