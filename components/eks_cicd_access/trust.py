"""Keyless CI: who may assume the CI role with an OIDC token, as a trust policy document.

GitHub Actions and GitLab CI give each job a signed OIDC token. AWS STS trades
it for short-lived credentials of a role (``sts:AssumeRoleWithWebIdentity``)
whose trust policy names the token's issuer (an IAM OIDC provider), its
audience (``aud``) and its subject (``sub``: the repository or project, and the
branch or environment). Built here in plain Python, like ``policy.py``, so the
document in tests and in review is the one IAM gets.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
GITLAB_ISSUER = "https://gitlab.com"
DEFAULT_AUDIENCE = "sts.amazonaws.com"

#: IAM's default quota for a role trust policy, in characters (whitespace not counted).
TRUST_POLICY_LIMIT = 2048

_WILDCARDS = ("*", "?")


@dataclass(frozen=True)
class Platform:
    """A CI system that issues OIDC tokens, and the shape of its ``sub`` claim."""

    identity: str
    """The ``identity`` argument that selects it."""
    claim: str
    """The claim the subject starts with."""
    owner: str
    """What the first part names, for messages."""
    others: str
    """What a wildcard there would let in, for messages."""
    pattern: re.Pattern[str]
    """``claim:OWNER-PART:rest``; the owner part may hold no wildcard."""
    example: str


GITHUB = Platform(
    "github-actions",
    "repo",
    "owner/repository",
    "other repositories",
    # Owners are letters, digits and '-'; repositories add '.' and '_'. Newer repositories
    # may be named by ID as well: acme@1234/web@5678 (docs/keyless-ci.md says since when).
    re.compile(r"repo:(?P<owner>[A-Za-z0-9][A-Za-z0-9-]*(@[0-9]+)?/[A-Za-z0-9._-]+(@[0-9]+)?):(?P<rest>.+)"),
    "repo:acme/web:environment:production",
)
GITLAB = Platform(
    "gitlab-ci",
    "project_path",
    "group/project",
    "other projects",
    re.compile(r"project_path:(?P<owner>[A-Za-z0-9_.][A-Za-z0-9_.-]*(/[A-Za-z0-9_.][A-Za-z0-9_.-]*)+):(?P<rest>.+)"),
    "project_path:acme/web:ref_type:branch:ref:main",
)
PLATFORMS = {p.identity: p for p in (GITHUB, GITLAB)}


def check_subject(platform: Platform, field: str, subject: str) -> str:
    """One ``sub`` pattern: exact or with ``*``/``?`` wildcards, but never beyond its own repository or project.

    Raises ``ValueError`` naming ``field`` for ``*``, ``repo:*``, a wildcard in
    the owner/repository (group/project) part, or a subject that no token of
    the platform could carry.
    """
    if not isinstance(subject, str) or not subject.strip():
        raise ValueError(f"{field}: must be a non-empty string")
    claim, _, rest = subject.partition(":")
    owner_part = rest.partition(":")[0]
    shape = f"'{platform.claim}:{platform.owner.upper()}:'"
    if claim != platform.claim:
        if any(w in claim for w in _WILDCARDS):
            raise ValueError(
                f"{field}: {subject!r} would let any {platform.owner} in; a subject must start with {shape}, "
                f"e.g. {platform.example!r}"
            )
        raise ValueError(
            f"{field}: {subject!r} is not a {platform.identity} subject; it must start with {shape}, "
            f"e.g. {platform.example!r}"
        )
    if any(w in owner_part for w in _WILDCARDS):
        raise ValueError(
            f"{field}: {subject!r} has a wildcard in its {platform.owner} part, which would let "
            f"{platform.others} in; name one exactly, e.g. {platform.example!r}"
        )
    if not platform.pattern.fullmatch(subject):
        raise ValueError(
            f"{field}: {subject!r} does not start with {shape} followed by a branch, tag, environment or event, "
            f"e.g. {platform.example!r}"
        )
    return subject


def check_subjects(platform: Platform, subjects: object) -> list[str]:
    """``oidc_subjects``: a non-empty list of distinct subjects, each checked by ``check_subject``."""
    if isinstance(subjects, str | dict | int | bool):
        raise ValueError(f"oidc_subjects: must be a list of strings, got {type(subjects).__name__} {subjects!r}")
    if not isinstance(subjects, list) or not subjects:
        raise ValueError(
            f"oidc_subjects: is required with identity {platform.identity!r}: a non-empty list of "
            f"the token subjects allowed, e.g. [{platform.example!r}]"
        )
    checked = [check_subject(platform, f"oidc_subjects[{i}]", s) for i, s in enumerate(subjects)]
    for i, subject in enumerate(checked):
        if subject in checked[:i]:
            raise ValueError(f"oidc_subjects[{i}]: {subject!r} is listed twice")
    return checked


#: The rest of the subject of a job on a branch nobody reviewed: a subject that admits it admits every ref.
_ANY_BRANCH = {
    "github-actions": "ref:refs/heads/any-unreviewed-branch",
    "gitlab-ci": "ref_type:branch:ref:any-unreviewed-branch",
}


def broad_subjects(platform: Platform, subjects: list[str]) -> list[str]:
    """A warning for each checked subject that admits a job on any branch of its repository or project."""
    warnings = []
    for index, subject in enumerate(subjects):
        match = platform.pattern.fullmatch(subject)
        assert match, subject  # checked by check_subject
        like = re.escape(match["rest"]).replace(r"\*", ".*").replace(r"\?", ".")
        if re.fullmatch(like, _ANY_BRANCH[platform.identity]):
            warnings.append(
                f"oidc_subjects[{index}]: {subject!r} admits a job on any branch of {match['owner']}, so whoever "
                f"can push a branch can deploy; name an environment or a protected branch, e.g. {platform.example!r}"
            )
    return warnings


def check_issuer_url(field: str, url: object) -> str:
    """An OIDC issuer: ``https://host[/path]``, no query, fragment or trailing slash (one is removed)."""
    if not isinstance(url, str):
        raise ValueError(f"{field}: must be an https:// URL, got {type(url).__name__}")
    parts = urlsplit(url.strip())
    if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError(
            f"{field}: {url!r} must be an https:// URL with a host and no query, e.g. 'https://gitlab.com'"
        )
    return url.strip().rstrip("/")


def issuer_host(issuer_url: str) -> str:
    """The issuer as IAM names it: the URL without ``https://``, which prefixes its condition keys."""
    return issuer_url.removeprefix("https://")


def provider_arn_issuer(arn: str) -> str:
    """The issuer URL an IAM OIDC provider ARN is for (``arn:aws:iam::1:oidc-provider/HOST[/PATH]``)."""
    match = re.fullmatch(r"arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/(?P<host>[^\s]+)", arn)
    if not match:
        raise ValueError(
            f"oidc_provider_arn: {arn!r} is not an IAM OIDC provider ARN "
            "(arn:aws:iam::ACCOUNT:oidc-provider/token.actions.githubusercontent.com)"
        )
    return "https://" + match["host"]


def web_identity_trust_policy(provider_arn: str, issuer_url: str, audience: str, subjects: list[str]) -> str:
    """The trust policy: only ``sts:AssumeRoleWithWebIdentity``, from that provider, with our audience
    and one of ``subjects``.

    ``StringEquals`` on ``aud``; on ``sub`` too when no subject has a wildcard,
    else ``StringLike`` (where a subject without wildcards still matches only
    itself). Values of one key are ORed; the two keys are ANDed.
    """
    host = issuer_host(issuer_url)
    sub_operator = "StringLike" if any(w in s for s in subjects for w in _WILDCARDS) else "StringEquals"
    conditions: dict[str, dict[str, str | list[str]]] = {"StringEquals": {f"{host}:aud": audience}}
    conditions.setdefault(sub_operator, {})[f"{host}:sub"] = list(subjects)
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CiJobsOfTheseSubjectsOnly",
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": conditions,
            }
        ],
    }
    return json.dumps(document, indent=2)


def policy_size(document: str) -> int:
    """Characters IAM counts against its quota (whitespace outside strings is not counted)."""
    return len(json.dumps(json.loads(document), separators=(",", ":")))


def trust_policy_size(issuer_url: str, audience: str, subjects: list[str]) -> int:
    """The trust policy's size before its provider ARN is known: the longest partition stands in for it."""
    provider = f"arn:aws-us-gov:iam::123456789012:oidc-provider/{issuer_host(issuer_url)}"
    return policy_size(web_identity_trust_policy(provider, issuer_url, audience, subjects))
