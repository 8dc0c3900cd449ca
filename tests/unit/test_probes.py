"""The checks ``eks-cicd-verify`` asks: built from the expected rules and the fixed probes, with no I/O."""

from __future__ import annotations

import pytest

from eks_cicd_access.probes import (
    CLUSTER,
    ELSEWHERE,
    IN_NAMESPACE,
    PROBES,
    Check,
    Grant,
    build_checks,
    parse_policy_scope,
    role_grant,
    rule_covers,
)
from eks_cicd_access.rbac import DEPLOY_ROLLBACK, PRESETS, RoleRule

NS = "web"


def keyed(checks: list[Check]) -> dict[tuple[str, str, str, str, str, str], Check]:
    return {(c.verb, c.group, c.resource, c.subresource, c.name, c.namespace): c for c in checks}


def test_every_probe_says_why_and_is_asked_once() -> None:
    """Each fixed probe has a reason, and no two ask the same question."""
    assert all(probe.why for probe in PROBES)
    questions = [(p.verb, p.group, p.resource, p.name, p.where) for p in PROBES]
    assert len(questions) == len(set(questions))


def test_the_probes_cover_the_brief() -> None:
    """Secrets, exec, port-forward, RBAC writes, tokens, impersonation, cluster scope and aws-auth are probed."""
    asked = {(p.verb, p.resource, p.where) for p in PROBES}
    for verb in ("get", "list", "watch", "create"):
        assert (verb, "secrets", IN_NAMESPACE) in asked
    assert {("create", "pods/exec", IN_NAMESPACE), ("create", "pods/portforward", IN_NAMESPACE)} <= asked
    assert {("create", "serviceaccounts/token", IN_NAMESPACE), ("bind", "clusterroles", IN_NAMESPACE)} <= asked
    for resource in ("users", "groups", "serviceaccounts"):
        assert {("impersonate", resource, CLUSTER), ("impersonate", resource, IN_NAMESPACE)} <= asked
    for verb, resource in (("list", "namespaces"), ("create", "namespaces"), ("list", "nodes"),
                           ("create", "clusterroles"), ("create", "clusterrolebindings"),
                           ("create", "customresourcedefinitions")):  # fmt: skip
        assert (verb, resource, CLUSTER) in asked
    assert {(p.verb, p.name) for p in PROBES if p.where == "kube-system"} == {
        ("get", "aws-auth"),
        ("update", "aws-auth"),
        ("patch", "aws-auth"),
    }


def test_the_default_role_gives_each_verb_an_allowed_check_and_a_denied_one_elsewhere() -> None:
    """Each verb of the rules is expected allowed in the namespace and denied in ELSEWHERE."""
    checks = build_checks(NS, [role_grant(NS, DEPLOY_ROLLBACK)])
    allowed = [(c.verb, c.resource) for c in checks if c.kind == "allowed"]
    assert allowed == [(v, "deployments") for v in ("get", "list", "watch", "create", "patch")] + [
        ("list", "replicasets")
    ]
    assert all(c.expected and c.namespace == NS and c.group == "apps" for c in checks if c.kind == "allowed")
    elsewhere = [(c.verb, c.resource) for c in checks if c.namespace == ELSEWHERE]
    assert elsewhere == allowed
    assert not [c for c in checks if c.kind == "denied" and c.expected]


def test_probes_land_in_their_scope() -> None:
    """A probe in the namespace asks there; a cluster probe asks with no namespace; aws-auth in kube-system."""
    found = keyed(build_checks(NS, [role_grant(NS, DEPLOY_ROLLBACK)]))
    assert ("create", "", "pods", "exec", "", NS) in found
    assert ("list", "", "namespaces", "", "", "") in found
    assert ("patch", "", "configmaps", "", "aws-auth", "kube-system") in found
    assert ("create", "", "serviceaccounts", "token", "", NS) in found


def test_a_probe_the_rules_grant_is_expected_allowed_and_asked_once() -> None:
    """Secrets granted on purpose: the allowed check stands, the matching probe is not asked twice."""
    rules: list[RoleRule] = [{"api_groups": [""], "resources": ["secrets"], "verbs": ["get", "create"]}]
    checks = build_checks(NS, [role_grant(NS, rules)])
    secrets = [(c.kind, c.verb, c.expected) for c in checks if c.resource == "secrets" and c.namespace == NS]
    assert secrets == [
        ("allowed", "get", True),
        ("allowed", "create", True),
        ("denied", "list", False),
        ("denied", "watch", False),
    ]


def test_resource_names_are_checked_one_by_one() -> None:
    """A rule limited to names gives a check per name; a probe of another name stays expected denied."""
    rules: list[RoleRule] = [
        {"api_groups": [""], "resources": ["configmaps"], "verbs": ["get"], "resource_names": ["a", "b"]}
    ]
    found = keyed(build_checks("kube-system", [role_grant("kube-system", rules)]))
    assert found["get", "", "configmaps", "", "a", "kube-system"].expected
    assert found["get", "", "configmaps", "", "b", "kube-system"].expected
    assert not found["update", "", "configmaps", "", "aws-auth", "kube-system"].expected
    assert not found["get", "", "configmaps", "", "aws-auth", "kube-system"].expected


def test_a_cluster_wide_grant_expects_its_verbs_everywhere() -> None:
    """A grant with no namespaces (an access policy at cluster scope) covers cluster probes and ELSEWHERE."""
    view: list[RoleRule] = [{"api_groups": ["", "apps"], "resources": ["*"], "verbs": ["get", "list", "watch"]}]
    checks = build_checks(NS, [role_grant(NS, DEPLOY_ROLLBACK), Grant(tuple(view), None, "access policy view")])
    found = keyed(checks)
    assert found["list", "", "namespaces", "", "", ""].expected
    assert found["get", "apps", "deployments", "", "", ELSEWHERE].expected
    assert not found["create", "apps", "deployments", "", "", ELSEWHERE].expected
    assert found["get", "", "secrets", "", "", NS].expected


def test_a_grant_in_other_namespaces_does_not_cover_this_one() -> None:
    """A grant scoped to other namespaces expects nothing here, and nothing cluster-wide."""
    other = Grant(tuple(PRESETS["app"]), frozenset({"other"}), "access policy edit")
    checks = build_checks(NS, [role_grant(NS, []), other])
    assert not [c for c in checks if c.expected]
    assert not [c for c in checks if c.kind == "allowed"]


def rule(groups: str, resources: str, verbs: str, names: str = "") -> RoleRule:
    """A rule from space-separated lists (`-` is the core group)."""
    made: RoleRule = {
        "api_groups": ["" if g == "-" else g for g in groups.split()],
        "resources": resources.split(),
        "verbs": verbs.split(),
    }
    if names:
        made["resource_names"] = names.split()
    return made


@pytest.mark.parametrize(
    ("granted", "asked", "covered"),
    [
        (rule("apps", "deployments", "get"), ("get", "apps", "deployments", "", ""), True),
        (rule("apps", "deployments", "get"), ("list", "apps", "deployments", "", ""), False),
        (rule("*", "*", "*"), ("create", "", "pods", "exec", ""), True),
        (rule("-", "pods", "create"), ("create", "", "pods", "exec", ""), False),
        (rule("-", "*/exec", "create"), ("create", "", "pods", "exec", ""), True),
        (rule("-", "*/exec", "create"), ("create", "", "pods", "", ""), False),
        (rule("-", "pods/exec", "create"), ("create", "", "pods", "exec", ""), True),
        (rule("-", "configmaps", "get", "x"), ("get", "", "configmaps", "", "aws-auth"), False),
        (rule("-", "configmaps", "get", "x"), ("get", "", "configmaps", "", ""), False),
        (rule("-", "configmaps", "get"), ("get", "", "configmaps", "", "x"), True),
        (rule("apps", "secrets", "get"), ("get", "", "secrets", "", ""), False),
    ],
)
def test_rule_matching_follows_rbacs_wildcards(granted: RoleRule, asked: tuple[str, ...], covered: bool) -> None:
    """`*` in verbs, groups or resources, `*/sub`, and resource names match as RBAC matches them."""
    assert rule_covers(granted, *asked) is covered


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        ("AmazonEKSViewPolicy", ("AmazonEKSViewPolicy", frozenset({NS}))),
        ("AmazonEKSEditPolicy=a,b", ("AmazonEKSEditPolicy", frozenset({"a", "b"}))),
        ("AmazonEKSClusterAdminPolicy=cluster", ("AmazonEKSClusterAdminPolicy", None)),
    ],
)
def test_an_access_policy_scope_defaults_to_the_namespace(spec: str, parsed: tuple[str, frozenset[str] | None]) -> None:
    """NAME applies in --namespace, NAME=a,b in those, NAME=cluster everywhere."""
    assert parse_policy_scope(spec, NS) == parsed


@pytest.mark.parametrize("spec", ["", "=cluster", "X=", "X=a,,b"])
def test_a_malformed_access_policy_scope_is_refused(spec: str) -> None:
    """No name, or an empty namespace in the list, is a ValueError naming the spec."""
    with pytest.raises(ValueError, match="NAME=ns1,ns2 or NAME=cluster"):
        parse_policy_scope(spec, NS)


def test_build_checks_reads_the_probe_list_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replacing probes.PROBES changes what is asked (the cluster tier removes a probe this way)."""
    import eks_cicd_access.probes as probes

    monkeypatch.setattr(probes, "PROBES", tuple(p for p in PROBES if p.resource != "secrets"))
    assert not [c for c in build_checks(NS, [role_grant(NS, DEPLOY_ROLLBACK)]) if c.resource == "secrets"]
