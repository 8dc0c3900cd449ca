"""identity='existing': a user or role made elsewhere gets the Kubernetes half and the mapping, and nothing of IAM
is created for it but, unless turned off, the DescribeCluster policy and a non-exclusive attachment."""

from typing import Any

import pulumi
import pytest

from eks_cicd_access import EksCicdAccess
from eks_cicd_access.arns import check_policy_arn, check_principal_arn
from testbed.names import ACCOUNT
from tests.support import ENTRY, deploy

ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/ci/deployers/web-deployer"
USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/legacy/my-test-iam-user"
EXISTING: dict[str, Any] = {"identity": "existing", "iam_user_name": None}
KUBERNETES = {
    ("kubernetes:core/v1:Namespace", "ci-namespace"),
    ("kubernetes:rbac.authorization.k8s.io/v1:Role", "ci-role"),
    ("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "ci-role-binding"),
}
CREATES_A_PRINCIPAL = {"aws:iam/user:User", "aws:iam/role:Role", "aws:iam/accessKey:AccessKey"}


def graph(stack) -> set[tuple[str, str]]:
    return {(r.type, r.name) for r in stack.resources if not r.read and r.type != "pulumi:providers:kubernetes"}


def test_an_existing_role_with_a_path_is_mapped_in_map_roles_without_its_path(stack):
    """An existing role: policy + role attachment by the role's name, mapRoles entry (the writer strips the path),
    outputs naming the role; no user, role or key is created."""
    out = deploy(stack, **EXISTING, principal_arn=ROLE_ARN, iam_policy_name=None, kubernetes_username=None)
    assert graph(stack) == KUBERNETES | {
        ("eks-cicd-access:index:EksCicdAccess", "ci"),
        ("aws:iam/policy:Policy", "ci-policy"),
        ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "ci-role-policy-attachment"),
        (ENTRY, "ci-aws-auth-entry"),
    }
    attachment = stack.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment").inputs
    assert attachment["role"] == "web-deployer"
    assert stack.one("aws:iam/policy:Policy").inputs["name"] == "web-deployer-eks-describe-cluster"
    entry = stack.one(ENTRY).inputs
    assert (entry["key"], entry["arn"], entry["username"]) == ("mapRoles", ROLE_ARN, "web-deployer")
    assert out["iam_role_arn"] == (ROLE_ARN, False) and out["principal_arn"] == (ROLE_ARN, False)
    assert out["iam_user_arn"][0] is None and out["iam_user_name"][0] is None
    assert out["access_key_id"][0] is None and out["access_keys"][0] is None


def test_an_existing_user_is_mapped_in_map_users(stack):
    """An existing user: a user attachment by the user's name (its path is not part of it), a mapUsers entry."""
    out = deploy(stack, **EXISTING, principal_arn=USER_ARN)
    assert not {r.type for r in stack.resources} & CREATES_A_PRINCIPAL
    assert stack.one("aws:iam/userPolicyAttachment:UserPolicyAttachment").inputs["user"] == "my-test-iam-user"
    assert stack.one("aws:iam/policy:Policy").inputs["name"] == "EKS_CICD_User_Policy"
    entry = stack.one(ENTRY).inputs
    assert (entry["key"], entry["arn"], entry["username"]) == ("mapUsers", USER_ARN, "my-test-user")
    assert out["iam_user_arn"] == (USER_ARN, False) and out["iam_user_name"] == ("my-test-iam-user", False)
    assert out["iam_role_arn"][0] is None


@pytest.mark.parametrize("arn", [ROLE_ARN, USER_ARN], ids=["role", "user"])
def test_everything_made_for_an_existing_principal_is_a_child_of_the_component(stack, arn):
    """The policy, its attachment to the principal made elsewhere and the Kubernetes half are all parented to the
    component (so they are listed, aliased and destroyed with it)."""
    deploy(stack, **EXISTING, principal_arn=arn)
    component = stack.one("eks-cicd-access:index:EksCicdAccess")
    children = [
        r
        for r in stack.resources
        if not r.read and r.urn != component.urn and not r.type.startswith("pulumi:providers:")
    ]
    assert {r.type.split(":")[-1] for r in children} >= {"Policy", "Namespace", "Role", "RoleBinding"}
    assert any(r.type.endswith("PolicyAttachment") for r in children)
    assert [r.name for r in children if r.parent != component.urn] == []


def test_an_access_entry_keeps_the_arn_as_given_and_has_no_replacement_trigger(stack):
    """With access entries the role's ARN is kept whole (path included); its lifecycle is not ours, so no trigger."""
    deploy(stack, **EXISTING, principal_arn=ROLE_ARN, identity_mapping="access-entry", kubernetes_username="ci")
    entry = stack.one("aws:eks/accessEntry:AccessEntry")
    assert entry.inputs["principalArn"] == ROLE_ARN
    assert entry.replacement_trigger is None
    assert stack.of_type(ENTRY) == []


def test_attach_policy_false_touches_no_iam(stack):
    """attach_policy=False: not one AWS resource; the policy output is None."""
    out = deploy(stack, **EXISTING, principal_arn=ROLE_ARN, attach_policy=False, iam_policy_name=None)
    assert not [r for r in stack.resources if r.type.startswith("aws:") and not r.read]
    assert out["iam_policy_arn"][0] is None
    assert stack.one(ENTRY).inputs["arn"] == ROLE_ARN


@pytest.mark.parametrize("identity", ["iam-user", "github-actions"])
def test_the_boundary_is_set_on_the_created_principal(stack, identity):
    """permissions_boundary lands on the user or on the role that is created."""
    boundary = f"arn:aws:iam::{ACCOUNT}:policy/boundaries/ci-boundary"
    if identity == "iam-user":
        deploy(stack, permissions_boundary=boundary)
        assert stack.one("aws:iam/user:User").inputs["permissionsBoundary"] == boundary
    else:
        deploy(
            stack,
            identity=identity,
            iam_user_name=None,
            oidc_subjects=["repo:acme/web:environment:production"],
            oidc_provider_arn=f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com",
            permissions_boundary=boundary,
        )
        assert stack.one("aws:iam/role:Role").inputs["permissionsBoundary"] == boundary


def test_no_boundary_means_none_is_sent(stack):
    """Without permissions_boundary the user carries none (the golden dev stack is unchanged)."""
    deploy(stack)
    assert "permissionsBoundary" not in stack.one("aws:iam/user:User").inputs


@pytest.mark.parametrize(
    ("arn", "kind", "path", "name"),
    [
        ("arn:aws:iam::123456789012:user/ci", "user", "/", "ci"),
        ("arn:aws:iam::123456789012:role/a/b/ci.x@y", "role", "/a/b/", "ci.x@y"),
        ("arn:aws-cn:iam::123456789012:role/ci", "role", "/", "ci"),
        ("arn:aws-us-gov:iam::123456789012:user/p/u", "user", "/p/", "u"),
    ],
)
def test_principal_arns_are_taken_apart(arn, kind, path, name):
    """A user or role ARN in any partition gives its kind, path and name."""
    parsed = check_principal_arn(arn)
    assert (parsed.arn, parsed.kind, parsed.path, parsed.name) == (arn, kind, path, name)


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:sts::123456789012:assumed-role/ci/session",
        "arn:aws:sts::123456789012:federated-user/bob",
        "arn:aws:iam::123456789012:group/ci",
        "arn:aws:iam::123456789012:policy/ci",
        "arn:aws:iam::123456789012:instance-profile/ci",
        "arn:aws:iam::123456789012:root",
        "arn:aws:iam::12345678901:user/ci",
        "arn:aws:iam::123456789012:user/",
        "arn:aws:iam::123456789012:user/" + "u" * 65,
        "arn:aws:iam::123456789012:role/a b",
        "arn:aws:iam:us-east-1:123456789012:role/ci",
        "arn:aws:eks:us-east-1:123456789012:cluster/c",
        "role/ci",
        "",
        " ",
        None,
        42,
    ],
)
def test_anything_but_a_user_or_role_arn_is_refused(arn):
    """STS sessions, other IAM resources, other services, malformed and empty values are refused, naming the field."""
    with pytest.raises(ValueError, match=r"^principal_arn: "):
        check_principal_arn(arn)


@pytest.mark.parametrize("kind", ["user", "role"])
def test_a_malformed_user_or_role_arn_is_called_malformed_not_another_resource(kind):
    """A user or role ARN with a bad name is "not an IAM user or role ARN", never "names an IAM user"."""
    arn = f"arn:aws:iam::123456789012:{kind}/a b"
    with pytest.raises(ValueError) as raised:
        check_principal_arn(arn)
    assert str(raised.value).startswith(f"principal_arn: {arn!r} is not an IAM user or role ARN (")


@pytest.mark.parametrize(
    "arn",
    ["arn:aws:iam::123456789012:policy/b", "arn:aws:iam::aws:policy/PowerUserAccess", "arn:aws:iam::1:policy/x/y/b"],
)
def test_policy_arns(arn):
    """Customer and AWS managed policy ARNs, with or without a path, are boundaries; other shapes are not."""
    if ":iam::1:" in arn:
        with pytest.raises(ValueError, match=r"^permissions_boundary: "):
            check_policy_arn("permissions_boundary", arn)
    else:
        assert check_policy_arn("permissions_boundary", arn) == arn


@pytest.mark.parametrize(
    "value", ["arn:aws:iam::123456789012:role/b", "arn:aws:iam::123456789012:policy/", "policy/b", "", ["x"]]
)
def test_a_boundary_that_is_not_a_policy_arn_is_refused(stack, value):
    """permissions_boundary must be a policy ARN; nothing is registered otherwise."""
    with pytest.raises(ValueError, match=r"^permissions_boundary: "):
        deploy(stack, permissions_boundary=value)
    assert [r for r in stack.resources if r.type != "pulumi:providers:kubernetes"] == []


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"identity": "existing"}, "principal_arn"),
        ({"identity": "existing", "principal_arn": ROLE_ARN, "iam_user_name": "u"}, "iam_user_name"),
        ({"identity": "existing", "principal_arn": ROLE_ARN, "access_keys": ["a"]}, "access_keys"),
        ({"identity": "existing", "principal_arn": ROLE_ARN, "create_access_key": True}, "create_access_key"),
        ({"identity": "existing", "principal_arn": ROLE_ARN, "oidc_subjects": ["x"]}, "oidc_subjects"),
        ({"identity": "existing", "principal_arn": ROLE_ARN, "permissions_boundary": "x"}, "permissions_boundary"),
        (
            {"identity": "existing", "principal_arn": ROLE_ARN, "attach_policy": False, "iam_policy_name": "p"},
            "iam_policy_name",
        ),
        (
            {"identity": "existing", "principal_arn": ROLE_ARN, "attach_policy": False, "policy_resource_scope": "any"},
            "policy_resource_scope",
        ),
        ({"principal_arn": ROLE_ARN}, "principal_arn"),
        ({"attach_policy": False}, "attach_policy"),
        (
            {
                "identity": "gitlab-ci",
                "oidc_subjects": ["project_path:a/b:ref_type:tag:ref:v1"],
                "principal_arn": ROLE_ARN,
            },
            "principal_arn",
        ),
        ({"identity": "existing", "principal_arn": pulumi.Output.from_input(ROLE_ARN)}, "principal_arn"),
    ],
)
def test_contradictions_are_refused_before_anything_is_registered(stack, args, field):
    """An existing principal with arguments that would create one, principal_arn with another identity, and an
    Output principal_arn (its kind decides the map key) are refused naming the field."""
    base: dict[str, Any] = {"cluster_name": "my-cluster-1", "namespace": "web"}
    with pytest.raises(ValueError, match=rf"^{field}: "):
        EksCicdAccess("ci", {**base, **args})  # type: ignore[typeddict-item]
    assert stack.resources == []
