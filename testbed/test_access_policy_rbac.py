"""The RBAC that stands in for EKS's access-policy authorizer (``testbed/access_policy_rbac.py``), without a cluster;
the cluster tier (``tests/cluster/test_cluster_access_policies.py``) shows the real API server enforcing it."""

from __future__ import annotations

from typing import Any

from eks_cicd_access.access_policies import MANAGED_POLICIES
from testbed.access_policy_rbac import LABEL, binding_name, desired_objects
from testbed.eks_access import AccessApi, ClusterAccess, Entry

USER = "arn:aws:iam::123456789012:user/ci"
VIEW = MANAGED_POLICIES["AmazonEKSViewPolicy"].arn
ADMIN = MANAGED_POLICIES["AmazonEKSClusterAdminPolicy"].arn


def entry(policies: dict[str, dict[str, Any]]) -> Entry:
    return Entry("c", USER, "STANDARD", "ci", [], "AIDA0", "arn:entry", policies=policies)


def test_a_namespace_scope_binds_the_policys_cluster_role_in_each_namespace_only() -> None:
    """A namespace-scoped association is the policy's ClusterRole, with its rules as AWS lists them, bound by a
    RoleBinding to the entry's username in each of its namespaces and nowhere else; all labelled."""
    objects = desired_objects([entry({VIEW: {"accessScope": {"type": "namespace", "namespaces": ["web", "api"]}}})])
    kinds = [(o["kind"], o["metadata"].get("namespace")) for o in objects]
    assert kinds == [("ClusterRole", None), ("RoleBinding", "web"), ("RoleBinding", "api")]
    role, binding = objects[0], objects[1]
    assert role["metadata"]["name"] == "eks-access-policy:AmazonEKSViewPolicy"
    assert len(role["rules"]) == len(MANAGED_POLICIES["AmazonEKSViewPolicy"].rules)
    assert not any("secrets" in rule["resources"] for rule in role["rules"])
    assert binding["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "ci"}]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["metadata"]["name"] == binding_name("AmazonEKSViewPolicy", "ci")
    assert all(o["metadata"]["labels"] == {LABEL: "true"} for o in objects)


def test_a_cluster_scope_is_one_cluster_role_binding_and_cluster_admin_keeps_its_non_resource_urls() -> None:
    """A cluster-scoped association is a ClusterRoleBinding; ClusterAdmin's ClusterRole grants every verb on every
    non-resource URL too."""
    objects = desired_objects([entry({ADMIN: {"accessScope": {"type": "cluster", "namespaces": []}}})])
    assert [o["kind"] for o in objects] == ["ClusterRole", "ClusterRoleBinding"]
    assert {"nonResourceURLs": ["*"], "verbs": ["*"]} in objects[0]["rules"]


def test_policies_outside_the_table_and_entries_without_policies_stand_for_nothing() -> None:
    """A service policy the table lacks (stored, not enforced) and an entry with no association write nothing."""
    auto_node = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAutoNodePolicy"
    assert desired_objects([entry({auto_node: {"accessScope": {"type": "cluster"}}}), entry({})]) == []


def test_association_and_disassociation_reach_on_change() -> None:
    """AssociateAccessPolicy and DisassociateAccessPolicy are changes the sync hears of, so the RBAC follows them."""
    heard: list[list[dict[str, Any]]] = []

    def changed(_name: str, held: ClusterAccess) -> None:
        heard.append(desired_objects(held.entries.values()))

    api = AccessApi(lambda arn: "AIDA0" if arn == USER else None, on_change=changed)
    api.made_in("c", "API")
    api.create("c", {"principalArn": USER, "username": "ci"})
    api.associate("c", USER, {"policyArn": VIEW, "accessScope": {"type": "namespace", "namespaces": ["web"]}})
    assert [o["kind"] for o in heard[-1]] == ["ClusterRole", "RoleBinding"]
    api.disassociate("c", USER, VIEW)
    assert heard[-1] == []
    api.associate("c", USER, {"policyArn": VIEW, "accessScope": {"type": "cluster"}})
    api.delete("c", USER)
    assert heard[-1] == [], "an entry deleted takes its associations' RBAC with it"
