"""Valid but broad grants are said out loud: a warning on the component, never an error."""

from typing import Any

import pulumi
import pytest

from eks_cicd_access.rbac import PRESETS, broad_rules, secret_readers, unserved_resources
from eks_cicd_access.trust import GITHUB, GITLAB, broad_subjects
from testbed.names import ACCOUNT
from tests.support import deploy

PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"


@pytest.fixture
def warned_on(monkeypatch) -> list[tuple[str, Any]]:
    """What the component logs as warnings, with the resource each is logged on."""
    said: list[tuple[str, Any]] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, resource=None, **_: said.append((message, resource)))
    return said


def test_wildcard_rules_and_subjects_are_warned_about(stack, warned_on):
    """'*' verbs, '*' resources and a subject admitting any branch each get a warning naming the field."""
    rules: Any = [
        {"api_groups": ["apps"], "resources": ["deployments"], "verbs": ["*"]},
        {"api_groups": [""], "resources": ["*"], "verbs": ["get"]},
    ]
    deploy(
        stack,
        identity="github-actions",
        iam_user_name=None,
        oidc_subjects=["repo:acme/web:*"],
        oidc_provider_arn=PROVIDER,
        role_rules=rules,
    )
    assert [message for message, _ in warned_on] == [
        "role_rules[0]: verbs '*' grants every verb (delete, deletecollection, escalate...) on deployments; list the "
        "verbs CI needs",
        "role_rules[1]: resources '*' grants get on every resource of the namespace, Secrets among them; list the "
        "resources CI needs",
        "oidc_subjects[0]: 'repo:acme/web:*' admits a job on any branch of acme/web, so whoever can push a branch "
        "can deploy; name an environment or a protected branch, e.g. 'repo:acme/web:environment:production'",
    ]


def test_a_warning_is_logged_on_the_component(stack, warned_on):
    """Each warning is logged on the instance that causes it, so the CLI shows it under that component."""
    rules: Any = [{"api_groups": ["apps"], "resources": ["deployments"], "verbs": ["*"]}]
    deploy(stack, role_rules=rules)
    (component,) = stack.of_type("eks-cicd-access:index:EksCicdAccess")
    assert [(message.split(":")[0], getattr(resource, "_name", None)) for message, resource in warned_on] == [
        ("role_rules[0]", component.name)
    ]


def test_a_wildcard_warning_lists_every_resource_and_verb():
    """A broad rule's warning names all its resources or verbs, comma-separated."""
    rules: Any = [
        {"api_groups": ["apps"], "resources": ["deployments", "replicasets"], "verbs": ["*"]},
        {"api_groups": [""], "resources": ["*"], "verbs": ["get", "list"]},
    ]
    assert broad_rules(rules) == [
        "role_rules[0]: verbs '*' grants every verb (delete, deletecollection, escalate...) on deployments, "
        "replicasets; list the verbs CI needs",
        "role_rules[1]: resources '*' grants get, list on every resource of the namespace, Secrets among them; list "
        "the resources CI needs",
    ]


def test_the_defaults_warn_of_nothing(stack, warned_on):
    """The presets and the recipe's stack give no warning."""
    deploy(stack)
    assert warned_on == []
    for preset in PRESETS.values():
        assert broad_rules(preset) == unserved_resources(preset) == []


def test_a_resource_no_built_in_group_serves_is_warned_about_with_the_one_meant(stack, warned_on):
    """'deployment' in apps (the API server serves 'deployments') gets a warning naming the rule, the group, and the
    resource meant; subresources pass, and rules naming a group that is not built in (a custom resource's, or
    extensions, gone since 1.16) are not judged."""
    rules: Any = [
        {"api_groups": ["apps"], "resources": ["deployment", "deployments/scale"], "verbs": ["get"]},
        {"api_groups": ["example.com"], "resources": ["widget"], "verbs": ["get"]},
        {"api_groups": ["extensions", "apps"], "resources": ["deployments"], "verbs": ["get"]},
        {"api_groups": ["", "apps"], "resources": ["configmaps", "replicasets", "confgimaps"], "verbs": ["get"]},
    ]
    deploy(stack, role_rules=rules)
    assert [message for message, _ in warned_on] == [
        "role_rules[0].resources: 'deployment' is not served by API group 'apps' in Kubernetes v1.37.2, so CI would "
        "get 403 Forbidden for it; did you mean 'deployments'?",
        "role_rules[3].resources: 'confgimaps' is not served by API group '', 'apps' in Kubernetes v1.37.2, so CI "
        "would get 403 Forbidden for it; did you mean 'configmaps'?",
    ]


@pytest.mark.parametrize(
    ("platform", "subject", "broad"),
    [
        (GITHUB, "repo:acme/web:*", True),
        (GITHUB, "repo:acme/web:ref:refs/heads/*", True),
        (GITHUB, "repo:acme/web:ref:*", True),
        (GITHUB, "repo:acme/web:ref:refs/heads/release-?*", False),
        (GITHUB, "repo:acme/web:re?:refs/heads/*", True),  # "?" is any one character, as in StringLike
        (GITHUB, "repo:acme/web:ref:refs/heads/???-unreviewed-branch", True),
        (GITHUB, "repo:acme/web:ref:refs/heads/main", False),
        (GITHUB, "repo:acme/web:environment:*", False),
        (GITHUB, "repo:acme/web:pull_request", False),
        (GITLAB, "project_path:acme/web:*", True),
        (GITLAB, "project_path:acme/web:ref_type:branch:ref:*", True),
        (GITLAB, "project_path:acme/web:ref_type:branch:ref:main", False),
        (GITLAB, "project_path:acme/web:ref_type:tag:ref:*", False),
    ],
)
def test_a_subject_is_broad_when_it_admits_any_branch(platform, subject, broad):
    """A subject is broad exactly when an unreviewed branch's token would match it as IAM's StringLike does."""
    assert bool(broad_subjects(platform, [subject])) is broad


def test_reading_secrets_is_warned_about_and_helm_is_not(stack, warned_on):
    """``helm-secrets`` (and any rule reading Secrets) warns that CI reads every Secret of the namespace; ``helm``,
    which stores releases in ConfigMaps, warns of nothing."""
    deploy(stack, role_rules="helm-secrets")
    assert [message for message, _ in warned_on] == [
        "role_rules[6]: get, list on secrets lets CI read every Secret in the namespace (database passwords, tokens, "
        "TLS keys), not only Helm's release records; with Helm, prefer the 'helm' preset and HELM_DRIVER=configmap"
    ]
    warned_on.clear()
    deploy(stack, role_rules="helm")
    assert warned_on == []
    named: Any = [{"api_groups": [""], "resources": ["secrets"], "verbs": ["get"], "resource_names": ["tls"]}]
    assert secret_readers(named) == [], "a rule naming its Secrets reads only those"
