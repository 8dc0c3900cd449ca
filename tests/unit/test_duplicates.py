"""Two instances of one program never claim the same thing: destroying one would take it from the other."""

from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pytest

from eks_cicd_access import EksCicdAccess
from testbed.names import ACCOUNT

ROLE = f"arn:aws:iam::{ACCOUNT}:role/ci/deployers/web-deployer"
OIDC: dict[str, Any] = {
    "identity": "github-actions",
    "oidc_subjects": ["repo:acme/web:environment:production"],
    "oidc_provider_arn": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com",
}


def two(stack, first: dict[str, Any], second: dict[str, Any], second_opts=None):
    """Create instances 'a' and 'b' in one program, each in its own namespace unless told otherwise."""

    def program():
        a = EksCicdAccess("a", {"cluster_name": "c1", "namespace": "team-a", **first})  # type: ignore[typeddict-item]
        b = EksCicdAccess(
            "b",
            {"cluster_name": "c1", "namespace": "team-b", **second},  # type: ignore[typeddict-item]
            second_opts,
        )
        return {"a": a.principal_arn, "b": b.principal_arn}

    return stack.run(program)


CLASHES: list[tuple[dict[str, Any], dict[str, Any], str]] = [
    ({}, {"namespace": "team-a"}, "Namespace 'team-a' of cluster 'c1'"),
    (
        {"create_namespace": False, "namespace": "shared", "role_name": "r"},
        {"create_namespace": False, "namespace": "shared", "role_name": "r"},
        "Role 'r' in namespace 'shared' of cluster 'c1'",
    ),
    (
        {"create_namespace": False, "namespace": "shared", "role_name": "r"},
        {"create_namespace": False, "namespace": "shared", "role_name": "r2", "role_binding_name": "r-binding"},
        "RoleBinding 'r-binding' in namespace 'shared' of cluster 'c1'",
    ),
    ({"iam_user_name": "ci"}, {"iam_user_name": "ci"}, "IAM user 'ci'"),
    (OIDC | {"iam_role_name": "ci"}, OIDC | {"iam_role_name": "ci"}, "IAM role 'ci'"),
    ({"iam_policy_name": "p"}, {"iam_policy_name": "p"}, "IAM policy 'p'"),
    (
        {"identity": "existing", "principal_arn": ROLE},
        {"identity": "existing", "principal_arn": ROLE, "iam_policy_name": "other"},
        f"the mapping of '{ROLE}' in cluster 'c1'",
    ),
]


@pytest.mark.parametrize(("first", "second", "what"), CLASHES)
def test_a_second_instance_claiming_the_same_thing_is_refused(stack, first, second, what):
    """Same Namespace, Role, RoleBinding, IAM user/role/policy name, or mapped ARN in one cluster: an error naming
    both instances and the thing, at the second one's construction."""
    with pytest.raises(ValueError) as raised:
        two(stack, first, second)
    assert str(raised.value) == (
        f"EksCicdAccess 'b': would create or map {what}, and so does EksCicdAccess 'a' of this program; destroying "
        "either would delete or unmap what the other still needs. Give each instance its own, or let one instance do it"
    )
    assert not [r for r in stack.resources if r.parent.endswith("::b")]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({}, {}),
        (
            {"create_namespace": False, "namespace": "shared"},
            {"create_namespace": False, "namespace": "shared", "role_name": "other"},
        ),
        (
            {"identity": "existing", "principal_arn": ROLE},
            {"identity": "existing", "principal_arn": ROLE, "cluster_name": "c2", "iam_policy_name": "p2"},
        ),
        (
            {"identity": "existing", "principal_arn": ROLE, "attach_policy": False},
            {"identity": "existing", "principal_arn": ROLE, "cluster_name": "c2"},
        ),
    ],
)
def test_distinct_instances_are_accepted(stack, first, second):
    """Different namespaces, another Role in a shared namespace, one principal mapped into two clusters: accepted."""
    out = two(stack, first, second)
    assert set(out) == {"a", "b"}
    assert {r.name for r in stack.of_type("eks-cicd-access:index:EksCicdAccess")} == {"a", "b"}


def test_the_same_names_through_another_aws_provider_are_another_account(stack):
    """IAM names and clusters are claimed per AWS provider: the same names in another account are accepted."""

    def program():
        other = aws.Provider("other-account", region="eu-west-1")
        a = EksCicdAccess("a", {"cluster_name": "c1", "namespace": "web", "iam_user_name": "ci"})
        b = EksCicdAccess(
            "b",
            {"cluster_name": "c1", "namespace": "web", "iam_user_name": "ci"},
            pulumi.ResourceOptions(providers=[other, k8s.Provider("other-cluster", kubeconfig="{}")]),
        )
        return {"a": a.principal_arn, "b": b.principal_arn}

    assert set(stack.run(program)) == {"a", "b"}


@pytest.mark.parametrize(("first", "second", "what"), CLASHES)
def test_each_clash_through_another_aws_provider_is_another_account(stack, first, second, what):
    """What one instance claims is claimed in its AWS account: the same Namespace, Role, RoleBinding, IAM name or
    mapped ARN through another AWS provider (another account, or the same cluster name there) is accepted."""
    other = pulumi.ResourceOptions(
        providers=[aws.Provider("other-account", region="eu-west-1"), k8s.Provider("other-cluster", kubeconfig="{}")]
    )
    assert set(two(stack, first, second, other)) == {"a", "b"}, what


def test_a_claim_whose_namespace_is_an_output_is_not_checked(stack):
    """Where the namespace is an Output, the cluster's objects and the mapping are not claimed (their names are not
    known yet): two instances mapping one principal, each namespace an Output, are accepted."""
    first = {"identity": "existing", "principal_arn": ROLE, "namespace": pulumi.Output.from_input("team-a")}
    second = {**first, "namespace": pulumi.Output.from_input("team-b"), "iam_policy_name": "other"}
    assert set(two(stack, first, second)) == {"a", "b"}


def test_an_instance_that_maps_nothing_claims_no_mapping(stack):
    """``identity_mapping="none"`` maps nothing, so it claims no mapping: another instance may map the same
    principal in the same cluster."""
    first = {"identity": "existing", "principal_arn": ROLE, "identity_mapping": "none"}
    second = {"identity": "existing", "principal_arn": ROLE, "iam_policy_name": "other"}
    assert set(two(stack, first, second)) == {"a", "b"}


def test_separate_programs_do_not_see_each_others_claims(stack):
    """Claims belong to one program run: the same instance in the next run is no duplicate."""
    for _ in range(2):
        stack.run(lambda: {"a": EksCicdAccess("a", {"cluster_name": "c1", "namespace": "web"}).principal_arn})
