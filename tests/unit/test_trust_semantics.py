"""What the registered trust policy lets in, evaluated with IAM's condition semantics.

The evaluator is @cloud-copilot/iam-simulate (``tests/trust_oracle.py``), a
maintained AWS IAM simulator. Its semantics are checked first against IAM's
documented rules, so a pass of the component's policy means something.
"""

from __future__ import annotations

from typing import Any

import pytest

from eks_cicd_access import EksCicdAccess
from testbed.names import ACCOUNT
from tests.trust_oracle import Token, evaluate

GITHUB = "token.actions.githubusercontent.com"
GITHUB_PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{GITHUB}"
GITLAB_PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/gitlab.com"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/web-ci"


def github(sub: str, aud: str = "sts.amazonaws.com", provider: str = GITHUB_PROVIDER, host: str = GITHUB) -> Token:
    return Token(provider, {f"{host}:sub": sub, f"{host}:aud": aud})


# --- the evaluator follows IAM's documented semantics ----------------------------------------

DOCUMENTED = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Federated": GITHUB_PROVIDER},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {f"{GITHUB}:aud": ["a", "b"]},
                "StringLike": {f"{GITHUB}:sub": ["x-*-z", "q?"]},
            },
        }
    ],
}


RULES = [
    ({"aud": "a", "sub": "x-y-z"}, "Allowed", "both keys match"),
    ({"aud": "b", "sub": "x-y-z"}, "Allowed", "values of one key are ORed (aud b)"),
    ({"aud": "a", "sub": "qq"}, "Allowed", "values of one key are ORed; ? is one character"),
    ({"aud": "a", "sub": "x--z"}, "Allowed", "* matches zero characters too"),
    ({"aud": "a", "sub": "x-y:w/v-z"}, "Allowed", "* matches any characters, : and / included"),
    ({"aud": "a", "sub": "q"}, "ImplicitlyDenied", "? needs exactly one character (none)"),
    ({"aud": "a", "sub": "qqq"}, "ImplicitlyDenied", "? needs exactly one character (two)"),
    ({"aud": "A", "sub": "x-y-z"}, "ImplicitlyDenied", "StringEquals is case-sensitive"),
    ({"aud": "a", "sub": "X-y-z"}, "ImplicitlyDenied", "StringLike is case-sensitive"),
    ({"aud": "c", "sub": "x-y-z"}, "ImplicitlyDenied", "keys and operators are ANDed (aud fails)"),
    ({"aud": "a", "sub": "y"}, "ImplicitlyDenied", "keys and operators are ANDed (sub fails)"),
    ({"sub": "x-y-z"}, "ImplicitlyDenied", "a missing key does not match"),
]


def test_the_evaluator_follows_iams_condition_rules():
    """The evaluator applies IAM's documented rules (operators, wildcards, OR within a key, AND across keys)."""
    tokens = [Token(GITHUB_PROVIDER, {f"{GITHUB}:{k}": v for k, v in claims.items()}) for claims, _, _ in RULES]
    results, validation = evaluate(DOCUMENTED, ROLE, tokens)
    assert validation == []
    assert dict(zip([rule for _, _, rule in RULES], results, strict=True)) == {
        rule: expected for _, expected, rule in RULES
    }


def test_the_evaluator_checks_the_federated_principal():
    """A token through another IAM provider is not this statement's principal."""
    (result,), _ = evaluate(DOCUMENTED, ROLE, [Token(GITLAB_PROVIDER, {f"{GITHUB}:aud": "a", f"{GITHUB}:sub": "qq"})])
    assert result == "ImplicitlyDenied"


# --- the component's trust policy -------------------------------------------------------------


def registered_trust_policy(stack, **args: Any) -> str:
    base: Any = {"cluster_name": "my-cluster-1", "namespace": "web", "iam_role_name": "web-ci", **args}
    stack.run(lambda: {"role": EksCicdAccess("web-ci", base).iam_role_arn})
    policy: str = stack.one("aws:iam/role:Role").inputs["assumeRolePolicy"]
    return policy


GITHUB_CASES = [
    ("the allowed environment", github("repo:acme/web:environment:production"), "Allowed"),
    ("the allowed branch", github("repo:acme/web:ref:refs/heads/main"), "Allowed"),
    ("another repository", github("repo:acme/web-tools:environment:production"), "ImplicitlyDenied"),
    ("another owner", github("repo:evil/web:environment:production"), "ImplicitlyDenied"),
    ("another branch", github("repo:acme/web:ref:refs/heads/feature"), "ImplicitlyDenied"),
    ("another environment", github("repo:acme/web:environment:staging"), "ImplicitlyDenied"),
    ("a pull-request token", github("repo:acme/web:pull_request"), "ImplicitlyDenied"),
    ("a tag", github("repo:acme/web:ref:refs/tags/v1"), "ImplicitlyDenied"),
    (
        "the wrong aud",
        github("repo:acme/web:environment:production", aud="https://github.com/acme"),
        "ImplicitlyDenied",
    ),
    (
        "another issuer",
        github("repo:acme/web:environment:production", provider=GITLAB_PROVIDER, host="gitlab.com"),
        "ImplicitlyDenied",
    ),
    ("no aud", Token(GITHUB_PROVIDER, {f"{GITHUB}:sub": "repo:acme/web:environment:production"}), "ImplicitlyDenied"),
]
TABLE: list[str] = []


def test_github_trust_policy_allows_only_the_named_subjects(stack):
    """Exactly the listed environment and branch of acme/web with aud sts.amazonaws.com pass; other
    repositories, owners, branches, environments, pull requests, tags, audiences and issuers do not."""
    policy = registered_trust_policy(
        stack,
        identity="github-actions",
        oidc_subjects=["repo:acme/web:environment:production", "repo:acme/web:ref:refs/heads/main"],
    )
    results, validation = evaluate(policy, ROLE, [token for _, token, _ in GITHUB_CASES])
    assert validation == [], "IAM would refuse the document itself"
    TABLE.extend(f"github  {name:24} {result}" for (name, _, _), result in zip(GITHUB_CASES, results, strict=True))
    assert {name: r for (name, _, _), r in zip(GITHUB_CASES, results, strict=True)} == {
        name: expected for name, _, expected in GITHUB_CASES
    }


def test_a_wildcard_after_the_repository_stays_inside_it(stack):
    """'repo:acme/web:environment:*' lets every environment of acme/web in, and nothing of acme/web-evil,
    nor a branch or pull-request token of acme/web."""
    policy = registered_trust_policy(stack, identity="github-actions", oidc_subjects=["repo:acme/web:environment:*"])
    cases = [
        ("any environment", github("repo:acme/web:environment:staging"), "Allowed"),
        ("a lookalike repository", github("repo:acme/web-evil:environment:production"), "ImplicitlyDenied"),
        ("a repository with a prefix", github("repo:acme/webx:environment:production"), "ImplicitlyDenied"),
        ("a branch", github("repo:acme/web:ref:refs/heads/main"), "ImplicitlyDenied"),
        ("a pull-request token", github("repo:acme/web:pull_request"), "ImplicitlyDenied"),
    ]
    results, _ = evaluate(policy, ROLE, [token for _, token, _ in cases])
    TABLE.extend(f"github* {name:24} {result}" for (name, _, _), result in zip(cases, results, strict=True))
    assert results == [expected for _, _, expected in cases]


def test_gitlab_trust_policy_allows_only_the_named_project_and_branch(stack):
    """A GitLab project's main branch passes; another project, a tag, another issuer do not."""
    stack.mocks.oidc_providers["https://gitlab.com"] = {"arn": GITLAB_PROVIDER, "clientIdLists": ["sts.amazonaws.com"]}
    policy = registered_trust_policy(
        stack, identity="gitlab-ci", oidc_subjects=["project_path:acme/web:ref_type:branch:ref:main"]
    )

    def gitlab(sub: str, aud: str = "sts.amazonaws.com") -> Token:
        return Token(GITLAB_PROVIDER, {"gitlab.com:sub": sub, "gitlab.com:aud": aud})

    cases = [
        ("the allowed branch", gitlab("project_path:acme/web:ref_type:branch:ref:main"), "Allowed"),
        ("another project", gitlab("project_path:acme/api:ref_type:branch:ref:main"), "ImplicitlyDenied"),
        ("a subgroup project", gitlab("project_path:acme/web/x:ref_type:branch:ref:main"), "ImplicitlyDenied"),
        ("a tag", gitlab("project_path:acme/web:ref_type:tag:ref:main"), "ImplicitlyDenied"),
        ("the wrong aud", gitlab("project_path:acme/web:ref_type:branch:ref:main", "gitlab"), "ImplicitlyDenied"),
        ("a GitHub token", github("project_path:acme/web:ref_type:branch:ref:main"), "ImplicitlyDenied"),
    ]
    results, validation = evaluate(policy, ROLE, [token for _, token, _ in cases])
    assert validation == []
    TABLE.extend(f"gitlab  {name:24} {result}" for (name, _, _), result in zip(cases, results, strict=True))
    assert results == [expected for _, _, expected in cases]


@pytest.fixture(scope="module", autouse=True)
def print_table() -> Any:
    yield
    if TABLE:
        print("\ntrust policy, evaluated:\n" + "\n".join(TABLE))
