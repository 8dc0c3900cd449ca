"""EKS access policies: the table of managed policies, and the component associating them on the AWS route alone.

The table is pure data (``eks_cicd_access.access_policies``); the component's registrations are checked under
mocks: an ``aws.eks.AccessPolicyAssociation`` per policy, on the access entry, and with ``role_rules="none"`` and
``create_namespace=False`` no ``kubernetes:`` resource and no Kubernetes invoke at all.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from eks_cicd_access import EksCicdAccess
from eks_cicd_access.access_policies import ARN_PREFIX, MANAGED_POLICIES, grants
from eks_cicd_access.component import OUTPUTS, broad_policies
from eks_cicd_access.resolve import validate_args, writes_kubernetes
from testbed.eks_access import POLICIES
from testbed.mocks import Stack
from tests.support import run_program, stack_config

ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
BASE: dict[str, Any] = {"cluster_name": "my-cluster-1", "namespace": "web"}
#: The AWS route alone: an access entry with a policy, no Role, no namespace.
AWS_ONLY: dict[str, Any] = {
    **BASE,
    "identity_mapping": "access-entry",
    "role_rules": "none",
    "create_namespace": False,
    "access_policies": [{"policy": "AmazonEKSViewPolicy"}],
}


def run(stack: Stack, args: dict[str, Any], opts: pulumi.ResourceOptions | None = None) -> dict[str, Any]:
    def program() -> dict[str, Any]:
        access = EksCicdAccess("ci", args, opts)  # type: ignore[arg-type]
        return {key: getattr(access, key) for key in OUTPUTS}

    return stack.run(program)


def test_the_table_names_the_five_policies_by_their_arns_which_eks_knows() -> None:
    """Each policy is keyed by its name, its ARN is AWS's (arn:aws:eks::aws:cluster-access-policy/NAME), and EKS
    (the emulation's ListAccessPolicies) knows it."""
    assert list(MANAGED_POLICIES) == [
        "AmazonEKSViewPolicy",
        "AmazonEKSEditPolicy",
        "AmazonEKSAdminPolicy",
        "AmazonEKSAdminViewPolicy",
        "AmazonEKSClusterAdminPolicy",
    ]
    for name, policy in MANAGED_POLICIES.items():
        assert (policy.name, policy.arn) == (name, ARN_PREFIX + name)
        assert policy.arn in POLICIES


@pytest.mark.parametrize("name", list(MANAGED_POLICIES))
def test_each_policys_flags_say_what_its_rules_grant(name: str) -> None:
    """reads_secrets, exec and impersonation are exactly what the transcribed rules grant: the trade table cannot
    drift from the rules verify checks against."""
    policy = MANAGED_POLICIES[name]
    assert policy.reads_secrets == grants(policy.rules, "", "secrets", "get")
    assert policy.exec == grants(policy.rules, "", "pods/exec", "create")
    assert policy.impersonation == grants(policy.rules, "", "serviceaccounts", "impersonate")


def test_view_reads_no_secrets_and_edit_reads_execs_and_impersonates() -> None:
    """The trade users must see: View reads no Secrets and writes nothing; Edit reads Secrets, execs and
    impersonates service accounts; only ClusterAdmin and AdminView are meant for the whole cluster."""
    view, edit = MANAGED_POLICIES["AmazonEKSViewPolicy"], MANAGED_POLICIES["AmazonEKSEditPolicy"]
    assert not (view.reads_secrets or view.exec or view.impersonation)
    assert all(set(rule["verbs"]) <= {"get", "list", "watch"} for rule in view.rules)
    assert edit.reads_secrets and edit.exec and edit.impersonation
    assert [p.name for p in MANAGED_POLICIES.values() if p.cluster_only] == [
        "AmazonEKSAdminViewPolicy",
        "AmazonEKSClusterAdminPolicy",
    ]


def test_the_aws_route_alone_registers_nothing_of_kubernetes_and_asks_kubernetes_nothing(stack: Stack) -> None:
    """role_rules='none' and create_namespace=False with an access entry: no kubernetes: resource, no provider,
    no Kubernetes invoke, no aws-auth entry; role_name is None; the access policy is associated."""
    outputs = run(stack, AWS_ONLY)
    assert not [r.type for r in stack.resources if r.type.startswith("kubernetes:") or "dynamic" in r.type]
    assert not [c.token for c in stack.mocks.calls if c.token.startswith("kubernetes:")]
    assert outputs["role_name"][0] is None and outputs["namespace"][0] == "web"
    assert len(stack.of_type(ASSOCIATION)) == 1
    assert not writes_kubernetes(validate_args("ci", AWS_ONLY))


def test_each_policy_is_an_association_on_the_access_entry_scoped_to_the_namespace(stack: Stack) -> None:
    """ci-access-policy-<Name>, a child of the component depending on the access entry, with its ARN, the entry's
    cluster and principal, and a namespace scope of the component's namespace (or the namespaces given)."""
    policies = [{"policy": "AmazonEKSViewPolicy"}, {"policy": "AmazonEKSEditPolicy", "namespaces": ["web", "web-2"]}]
    args = {**AWS_ONLY, "access_policies": policies}
    run(stack, args)
    entry = stack.one("aws:eks/accessEntry:AccessEntry")
    by_name = {r.name: r for r in stack.of_type(ASSOCIATION)}  # registered in no fixed order
    assert sorted(by_name) == ["ci-access-policy-AmazonEKSEditPolicy", "ci-access-policy-AmazonEKSViewPolicy"]
    view, edit = by_name["ci-access-policy-AmazonEKSViewPolicy"], by_name["ci-access-policy-AmazonEKSEditPolicy"]
    for association in (view, edit):
        assert association.parent_type == "eks-cicd-access:index:EksCicdAccess"
        assert entry.urn in association.dependencies
        assert association.inputs["clusterName"] == "my-cluster-1"
        assert association.inputs["principalArn"] == entry.inputs["principalArn"]
    assert view.inputs["policyArn"] == ARN_PREFIX + "AmazonEKSViewPolicy"
    assert view.inputs["accessScope"] == {"type": "namespace", "namespaces": ["web"]}
    assert edit.inputs["accessScope"] == {"type": "namespace", "namespaces": ["web", "web-2"]}


def test_a_cluster_scope_is_only_what_is_asked_for_by_name(stack: Stack) -> None:
    """scope 'cluster' associates the policy with a cluster scope and no namespaces."""
    run(stack, {**AWS_ONLY, "access_policies": [{"policy": "AmazonEKSViewPolicy", "scope": "cluster"}]})
    assert stack.one(ASSOCIATION).inputs["accessScope"] == {"type": "cluster"}


def test_policies_on_an_auto_route_that_took_aws_auth_are_refused_before_any_resource(stack: Stack) -> None:
    """identity_mapping 'auto' on a CONFIG_MAP cluster takes aws-auth, which has no access entry: refused with the
    reason, and nothing but the component itself is registered."""
    stack.mocks.authentication_mode = "CONFIG_MAP"
    with pytest.raises(ValueError, match=r"^access_policies: identity_mapping 'auto' maps CI through aws-auth"):
        run(stack, {**AWS_ONLY, "identity_mapping": "auto"})
    assert [r.type for r in stack.resources] == ["eks-cicd-access:index:EksCicdAccess"]


def test_policies_on_an_auto_route_that_took_an_access_entry_are_associated(stack: Stack) -> None:
    """identity_mapping 'auto' on a cluster whose mode includes API takes an access entry, and the policy with it."""
    stack.mocks.authentication_mode = "API"
    run(stack, {**AWS_ONLY, "identity_mapping": "auto"})
    assert len(stack.of_type(ASSOCIATION)) == 1


@pytest.mark.parametrize(
    "bad",
    [
        [{"policy": "AmazonEKSViewPolcy"}],
        [{"policy": "AmazonEKSViewPolicy", "namespace": ["web"]}],
        [{"policy": "AmazonEKSViewPolicy", "namespaces": ["Web"]}],
        [],
    ],
    ids=["unknown-name", "unknown-key", "bad-namespace", "empty"],
)
def test_bad_access_policies_fail_before_anything_is_registered(stack: Stack, bad: list[Any]) -> None:
    """An unknown policy, an unknown key, a bad namespace or an empty list: ValueError naming access_policies,
    with nothing registered, not even the component."""
    with pytest.raises(ValueError, match=r"^access_policies"):
        run(stack, {**AWS_ONLY, "access_policies": bad})
    assert stack.resources == []


def test_a_role_still_comes_with_policies_unless_none_is_asked_for(stack: Stack) -> None:
    """access_policies does not remove the Role: role_rules keeps its default, and the program needs Kubernetes."""
    args = {**BASE, "identity_mapping": "access-entry", "access_policies": [{"policy": "AmazonEKSViewPolicy"}]}
    run(stack, args, pulumi.ResourceOptions())
    assert {r.type for r in stack.resources} >= {"kubernetes:rbac.authorization.k8s.io/v1:Role", ASSOCIATION}
    assert writes_kubernetes(validate_args("ci", args))


def test_broad_policies_are_said_out_loud() -> None:
    """Edit warns that it reads Secrets, execs and impersonates; a cluster scope says so; View in a namespace is
    quiet."""
    config = validate_args(
        "ci",
        {**AWS_ONLY, "access_policies": [{"policy": "AmazonEKSEditPolicy"}, {"policy": "AmazonEKSViewPolicy"},
                                         {"policy": "AmazonEKSAdminViewPolicy", "scope": "cluster"}]},
    )  # fmt: skip
    assert broad_policies(config) == [
        "access_policies[0]: AmazonEKSEditPolicy in its namespaces: reads Secrets, may exec into pods, may impersonate "
        "service accounts (see docs/access-policies.md)",
        "access_policies[2]: AmazonEKSAdminViewPolicy in every namespace (scope 'cluster'): reads Secrets "
        "(see docs/access-policies.md)",
    ]


def test_the_program_on_the_aws_route_builds_no_kubernetes_provider(stack: Stack, monkeypatch: Any) -> None:
    """Stack config roleRules 'none', createNamespace false and accessPolicies on an access entry: the program
    registers no Kubernetes provider and reads no kubeconfig, exports roleName null, and associates the policy."""
    config = stack_config(
        {
            "eks-cicd-access:identityMapping": "access-entry",
            "eks-cicd-access:roleRules": "none",
            "eks-cicd-access:roleName": "",
            "eks-cicd-access:roleBindingName": "",
            "eks-cicd-access:createNamespace": "false",
            "eks-cicd-access:accessPolicies": '[{"policy": "AmazonEKSViewPolicy"}]',
        }
    )
    exports = run_program(stack, monkeypatch, config)
    assert not [r.type for r in stack.resources if r.type.startswith(("kubernetes:", "pulumi:providers:kubernetes"))]
    assert not [c.token for c in stack.mocks.calls if c.token.startswith("kubernetes:")]
    assert exports["roleName"][0] is None
    assert stack.one(ASSOCIATION).inputs["accessScope"] == {"type": "namespace", "namespaces": ["my-test-ns"]}


def test_the_programs_access_policy_errors_are_in_the_configs_spelling(stack: Stack, monkeypatch: Any) -> None:
    """A misspelt policy in stack config is refused as accessPolicies[0].policy, before anything is registered."""
    config = stack_config(
        {"eks-cicd-access:identityMapping": "access-entry", "eks-cicd-access:accessPolicies": '[{"policy": "View"}]'}
    )
    with pytest.raises(pulumi.RunError, match=r"^accessPolicies\[0\]\.policy: 'View' is not a managed access policy"):
        run_program(stack, monkeypatch, config)
    assert stack.resources == []
