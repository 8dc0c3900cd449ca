"""``eks-cicd-verify``'s pure parts: reading RBAC's reasons, tracing aggregation, rendering, and its usage errors."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from eks_cicd_access import verify
from eks_cicd_access.access_policies import MANAGED_POLICIES
from eks_cicd_access.probes import Check
from eks_cicd_access.verify import (
    Attributor,
    Outcome,
    Source,
    Unreadable,
    parse_reason,
    policy_grants,
    render_json,
    render_table,
    role_rules_option,
    selector_string,
    surprise,
)

# Reasons as kube-apiserver's RBAC authorizer wrote them in the cluster tier.
ROLE_BINDING = 'RBAC: allowed by RoleBinding "my-test-user-role-binding/web" of Role "my-test-role" to User "ci-smoke"'
CLUSTER_BINDING = (
    'RBAC: allowed by ClusterRoleBinding "eks-cicd-verify-view" of ClusterRole "view" to Group "system:authenticated"'
)
SECRETS_GET = Check("denied", "get", "", "secrets", "", "", "web", False, "reads credentials")
IDENTITY = {"username": "ci-smoke", "groups": ["ci-smoke-group", "system:authenticated"]}


def test_a_role_binding_reason_gives_its_namespace_and_role() -> None:
    """RBAC writes a RoleBinding as NAME/NAMESPACE: both are read, with the Role and the subject."""
    assert parse_reason(ROLE_BINDING) == Source(
        "RoleBinding", "my-test-user-role-binding", "web", "Role", "my-test-role", 'User "ci-smoke"'
    )


def test_a_cluster_role_binding_reason_has_no_namespace() -> None:
    """A ClusterRoleBinding's reason names it, its ClusterRole and the group it binds."""
    assert parse_reason(CLUSTER_BINDING) == Source(
        "ClusterRoleBinding", "eks-cicd-verify-view", "", "ClusterRole", "view", 'Group "system:authenticated"'
    )


@pytest.mark.parametrize("reason", ["", "no RBAC policy matched", "EKS Access Policy: allowed by ClusterRoleBinding"])
def test_other_reasons_name_no_binding(reason: str) -> None:
    """A reason not from RBAC's allow (empty, a denial, a webhook's) parses to nothing; it is shown as is."""
    assert parse_reason(reason) is None


def test_label_selectors_become_queries() -> None:
    """matchLabels and each matchExpressions operator are written as the API server's labelSelector syntax."""
    selector = {
        "matchLabels": {"b": "2", "a": "1"},
        "matchExpressions": [
            {"key": "c", "operator": "In", "values": ["x", "y"]},
            {"key": "d", "operator": "NotIn", "values": ["z"]},
            {"key": "e", "operator": "Exists"},
            {"key": "f", "operator": "DoesNotExist"},
        ],
    }
    assert selector_string(selector) == "a=1,b=2,c in (x,y),d notin (z),e,!f"


LABEL = "example.com/aggregate-to-ci-extra=true"
ROLES: dict[str, dict[str, Any]] = {
    "ci-extra": {
        "metadata": {"name": "ci-extra"},
        "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"example.com/aggregate-to-ci-extra": "true"}}]},
        "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}],
    },
    "plain": {"metadata": {"name": "plain"}, "rules": []},
}
MEMBERS = [
    {
        "metadata": {"name": "ci-extra-secrets"},
        "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}],
    },
    {"metadata": {"name": "ci-extra-pods"}, "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]},
]


def cluster_source(role: str) -> Source:
    return Source("RoleBinding", "x", "web", "ClusterRole", role, 'Group "ci-smoke-group"')


def test_an_aggregated_role_is_traced_to_the_members_that_grant_the_request() -> None:
    """Only the aggregated ClusterRoles whose rules cover the request are named, each selector listed once."""
    listed: list[str] = []

    def list_roles(selector: str) -> Sequence[Mapping[str, Any]]:
        listed.append(selector)
        return MEMBERS

    attributor = Attributor(ROLES.get, list_roles)
    assert attributor.attribute(cluster_source("ci-extra"), SECRETS_GET).aggregated_from == ["ci-extra-secrets"]
    assert attributor.attribute(cluster_source("ci-extra"), SECRETS_GET).aggregated_from == ["ci-extra-secrets"]
    assert listed == [LABEL]


def test_a_plain_role_or_a_role_is_left_as_it_is() -> None:
    """A ClusterRole without aggregationRule, or a Role, needs no tracing."""
    attributor = Attributor(ROLES.get, lambda selector: MEMBERS)
    assert attributor.attribute(cluster_source("plain"), SECRETS_GET) == cluster_source("plain")
    role = parse_reason(ROLE_BINDING)
    assert role is not None and attributor.attribute(role, SECRETS_GET) == role


def forbidden(_: str) -> Any:
    raise Unreadable("forbidden")


def test_what_rbac_forbids_reading_is_said_not_guessed() -> None:
    """CI may not read RBAC: an unreadable role, or unreadable members, are stated; a missing role too."""
    assert Attributor(forbidden, forbidden).attribute(cluster_source("ci-extra"), SECRETS_GET).note == (
        "ClusterRole unreadable"
    )
    traced = Attributor(ROLES.get, forbidden).attribute(cluster_source("ci-extra"), SECRETS_GET)
    assert (traced.aggregated_from, traced.note) == (None, "aggregated, sources unreadable")
    assert Attributor(ROLES.get, forbidden).attribute(cluster_source("gone"), SECRETS_GET).note == (
        "ClusterRole not found"
    )


def outcomes() -> list[Outcome]:
    granted = Check("allowed", "get", "apps", "deployments", "", "", "web", True, "granted on purpose")
    aws_auth = Check("denied", "patch", "", "configmaps", "", "aws-auth", "kube-system", False, "maps anyone")
    extra = Source("RoleBinding", "x", "web", "ClusterRole", "ci-extra", 'Group "g"', ["ci-extra-secrets"])
    return [
        Outcome(granted, True, ROLE_BINDING, parse_reason(ROLE_BINDING)),
        Outcome(SECRETS_GET, True, "RBAC: ...", extra),
        Outcome(aws_auth, False, "", None),
    ]


def test_the_table_marks_each_surprise_and_counts_them() -> None:
    """One row per check with its result and source; the last line says FAIL and counts the surprise."""
    table = render_table(IDENTITY, "self", outcomes())
    lines = table.splitlines()
    assert lines[0] == "CI: ci-smoke (groups: ci-smoke-group, system:authenticated)"
    assert lines[2].split() == ["result", "expect", "verb", "resource", "namespace", "answer", "source"]
    assert lines[3].split()[:6] == ["ok", "allowed", "get", "deployments.apps", "web", "allowed"]
    assert "RoleBinding web/my-test-user-role-binding -> Role my-test-role" in lines[3]
    assert lines[4].split()[:6] == ["SURPRISE", "denied", "get", "secrets", "web", "allowed"]
    assert "ClusterRole ci-extra (aggregated from ci-extra-secrets)" in lines[4]
    assert lines[5].split() == ["ok", "denied", "patch", "configmaps", "aws-auth", "kube-system", "denied"]
    assert lines[-1] == "FAIL: 3 checks, 1 allowed and 1 denied as expected, 1 surprise"


def test_the_json_holds_the_same_report_as_data() -> None:
    """identity, mode, every check with its source, the surprises, and ok."""
    document = json.loads(render_json(IDENTITY, "admin", outcomes()))
    assert document["identity"] == IDENTITY and document["mode"] == "admin" and document["ok"] is False
    assert [c["ok"] for c in document["checks"]] == [True, False, True]
    assert set(document["checks"][0]) == {
        "kind", "verb", "group", "resource", "subresource", "name", "namespace", "expected", "allowed", "ok",
        "reason", "source",
    }  # fmt: skip
    (found,) = document["surprises"]
    assert (found["verb"], found["resource"], found["expected"], found["allowed"]) == ("get", "secrets", "denied", True)
    assert found["source"]["aggregated_from"] == ["ci-extra-secrets"]
    assert document["checks"][2]["source"] is None


def test_a_surprise_line_names_what_where_and_the_source() -> None:
    """The stderr line says who may do what, where, and which binding and role grant it."""
    line = surprise(outcomes()[1], "ci-smoke")
    assert line == (
        "SURPRISE: ci-smoke may get secrets in namespace web: RoleBinding web/x -> ClusterRole ci-extra "
        '(aggregated from ci-extra-secrets), to Group "g"'
    )
    missing = Outcome(Check("allowed", "list", "", "namespaces", "", "", "", True, ""), False, "", None)
    assert surprise(missing, "ci-smoke") == "SURPRISE: ci-smoke may not list namespaces cluster-wide"


def test_role_rules_come_from_a_preset_a_file_or_none(tmp_path: Path) -> None:
    """A preset name, @file (a JSON list of RoleRule dicts, validated) or `none`."""
    assert role_rules_option("none") == []
    assert role_rules_option("deploy-rollback")[1]["resources"] == ["replicasets"]
    path = tmp_path / "rules.json"
    path.write_text(json.dumps([{"api_groups": [""], "resources": ["configmaps"], "verbs": ["get"]}]))
    assert role_rules_option(f"@{path}") == [{"api_groups": [""], "resources": ["configmaps"], "verbs": ["get"]}]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role-rules", "deploy-rolback"], "did you mean 'deploy-rollback'"),
        (["--role-rules", "@/nonexistent/rules.json"], "cannot read rules"),
        (["--as-group", "g"], "--as-group needs --as"),
        ([], "the following arguments are required: --namespace"),
    ],
)
def test_bad_usage_exits_2_before_asking_anything(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Usage errors are argparse's: status 2 and the reason on stderr, before any cluster call."""
    namespace = [] if not args else ["--namespace", "web"]
    with pytest.raises(SystemExit) as exited:
        verify.main([*namespace, *args])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_a_bad_rules_file_is_refused(tmp_path: Path) -> None:
    """A rules file that is not a list, or holds an invalid rule, is refused with the reason."""
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"api_groups": []}))
    with pytest.raises(Exception, match="must hold a JSON list"):
        role_rules_option(f"@{path}")
    path.write_text(json.dumps([{"api_groups": [""], "resources": ["pods"], "verbs": ["gett"]}]))
    with pytest.raises(Exception, match="unknown verb 'gett'"):
        role_rules_option(f"@{path}")


def test_access_policies_come_from_the_managed_policy_table() -> None:
    """With no --access-policy there is no grant; an unknown name (or no table at all) is a ValueError."""
    assert policy_grants([], "web") == []
    with pytest.raises(ValueError, match=r"NoSuchPolicy|access policies"):
        policy_grants(["NoSuchPolicy"], "web")


def test_a_known_access_policy_grants_its_rules_in_its_scope() -> None:
    """--access-policy NAME[=scope] becomes a grant of that managed policy's rules, where the scope says."""
    policies = MANAGED_POLICIES
    name = "AmazonEKSViewPolicy"
    (here,) = policy_grants([name], "web")
    assert (list(here.rules), here.namespaces) == (list(policies[name].rules), frozenset({"web"}))
    (everywhere,) = policy_grants([f"{name}=cluster"], "web")
    assert everywhere.namespaces is None and everywhere.origin == f"access policy {name}"
