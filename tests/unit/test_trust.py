"""The trust policy's document and the subject rules, without mocks."""

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eks_cicd_access.trust import (
    GITHUB,
    GITHUB_ISSUER,
    GITLAB,
    check_issuer_url,
    check_subject,
    check_subjects,
    issuer_host,
    policy_size,
    provider_arn_issuer,
    trust_policy_size,
    web_identity_trust_policy,
)

PROVIDER = "arn:aws:iam::123412341234:oidc-provider/token.actions.githubusercontent.com"


def test_exact_subjects_use_string_equals():
    """Without wildcards both keys use StringEquals; only AssumeRoleWithWebIdentity, only from the provider."""
    document = json.loads(
        web_identity_trust_policy(PROVIDER, GITHUB_ISSUER, "sts.amazonaws.com", ["repo:acme/web:ref:refs/heads/main"])
    )
    assert document == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CiJobsOfTheseSubjectsOnly",
                "Effect": "Allow",
                "Principal": {"Federated": PROVIDER},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                        "token.actions.githubusercontent.com:sub": ["repo:acme/web:ref:refs/heads/main"],
                    }
                },
            }
        ],
    }


def test_a_wildcard_subject_moves_sub_to_string_like():
    """With any wildcard, sub uses StringLike (exact subjects still match only themselves there); aud stays exact."""
    subjects = ["repo:acme/web:ref:refs/heads/main", "repo:acme/web:environment:*"]
    condition = json.loads(web_identity_trust_policy(PROVIDER, GITHUB_ISSUER, "sts.amazonaws.com", subjects))[
        "Statement"
    ][0]["Condition"]
    assert condition == {
        "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
        "StringLike": {"token.actions.githubusercontent.com:sub": subjects},
    }


def test_a_self_managed_gitlab_prefixes_its_keys_with_host_and_path():
    """IAM names an issuer by its URL without https://, path included: that prefixes the condition keys."""
    issuer = check_issuer_url("gitlab_url", "https://git.example.com/gitlab/")
    assert issuer == "https://git.example.com/gitlab"
    assert issuer_host(issuer) == "git.example.com/gitlab"
    condition = json.loads(
        web_identity_trust_policy("arn", issuer, "aud", ["project_path:a/b:ref_type:branch:ref:main"])
    )
    assert set(condition["Statement"][0]["Condition"]["StringEquals"]) == {
        "git.example.com/gitlab:aud",
        "git.example.com/gitlab:sub",
    }


GOOD = [
    (GITHUB, "repo:acme/web:environment:production"),
    (GITHUB, "repo:acme/web:ref:refs/heads/main"),
    (GITHUB, "repo:acme/web:ref:refs/tags/v*"),
    (GITHUB, "repo:acme/web:pull_request"),
    (GITHUB, "repo:acme/web:*"),
    (GITHUB, "repo:acme@1234/web@5678:environment:production"),
    (GITHUB, "repo:Acme-Corp/web.site_2:environment:prod?"),
    (GITLAB, "project_path:acme/web:ref_type:branch:ref:main"),
    (GITLAB, "project_path:acme/platform/web:ref_type:tag:ref:v*"),
]
BAD = [
    (GITHUB, "*", "would let any owner/repository in"),
    (GITHUB, "repo:*", "wildcard in its owner/repository part"),
    (GITHUB, "repo:acme/*:ref:refs/heads/main", "wildcard in its owner/repository part"),
    (GITHUB, "repo:acme/web*:environment:production", "wildcard in its owner/repository part"),
    (GITHUB, "repo:ac?e/web:environment:production", "wildcard in its owner/repository part"),
    (GITHUB, "repo:*/web:environment:production", "wildcard in its owner/repository part"),
    (GITHUB, "repo:acme/web", "does not start with 'repo:OWNER/REPOSITORY:' followed by a branch"),
    (GITHUB, "repo:acme:environment:production", "does not start with 'repo:OWNER/REPOSITORY:' followed by"),
    (GITHUB, "repository_owner:acme", "is not a github-actions subject"),
    (GITHUB, "project_path:acme/web:ref_type:branch:ref:main", "is not a github-actions subject"),
    (GITHUB, "", "must be a non-empty string"),
    (GITLAB, "project_path:*:ref_type:branch:ref:main", "wildcard in its group/project part"),
    (GITLAB, "project_path:acme/*:ref_type:branch:ref:main", "wildcard in its group/project part"),
    (GITLAB, "project_path:web:ref_type:branch:ref:main", "does not start with 'project_path:GROUP/PROJECT:'"),
    (GITLAB, "repo:acme/web:environment:production", "is not a gitlab-ci subject"),
]


@pytest.mark.parametrize(("platform", "subject"), GOOD, ids=[s for _, s in GOOD])
def test_subjects_of_one_repository_or_project_are_accepted(platform, subject):
    """Exact subjects, and wildcards after the repository or project part, are accepted as given."""
    assert check_subject(platform, "oidc_subjects[0]", subject) == subject


@pytest.mark.parametrize(("platform", "subject", "message"), BAD, ids=[s or "empty" for _, s, _ in BAD])
def test_subjects_that_could_let_another_repository_in_are_refused(platform, subject, message):
    """`*`, `repo:*`, a wildcard in the owner/repository (group/project) part, or the wrong shape: refused,
    naming the field."""
    with pytest.raises(ValueError, match=r"^oidc_subjects\[0\]: .*" + re.escape(message)):
        check_subject(platform, "oidc_subjects[0]", subject)


@pytest.mark.parametrize("subjects", [None, []])
def test_subjects_are_a_required_non_empty_list(subjects):
    """No subjects is refused with an example."""
    with pytest.raises(ValueError, match=r"oidc_subjects: is required .*e\.g\. \['repo:acme/web"):
        check_subjects(GITHUB, subjects)


def test_a_string_for_the_subject_list_names_the_type():
    """A subject given as a string, not a list of one, says so: it was given, in the wrong shape."""
    with pytest.raises(
        ValueError, match=r"^oidc_subjects: must be a list of strings, got str 'repo:acme/web:pull_request'$"
    ):
        check_subjects(GITHUB, "repo:acme/web:pull_request")


def test_a_subject_listed_twice_is_refused():
    """A duplicate is almost always a copy-paste slip; its index is named."""
    with pytest.raises(ValueError, match=r"oidc_subjects\[1\]: .* is listed twice"):
        check_subjects(GITHUB, ["repo:a/b:pull_request", "repo:a/b:pull_request"])


owner = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9-]{0,8}", fullmatch=True)
repo = st.from_regex(r"[A-Za-z0-9._-]{1,10}", fullmatch=True)
rest = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789:/._-*?", min_size=1, max_size=20)


@given(owner, repo, rest)
def test_a_subject_names_exactly_one_repository(owner_name, repo_name, tail):
    """Every accepted subject starts with 'repo:OWNER/REPO:' with no wildcard before the third colon, so no
    token of another repository can match it."""
    subject = f"repo:{owner_name}/{repo_name}:{tail}"
    assert check_subject(GITHUB, "s", subject) == subject
    fixed = subject.split(":", 2)
    assert not any(w in ":".join(fixed[:2]) for w in "*?")


@given(owner, repo, rest, st.sampled_from(["*", "?"]), st.data())
def test_a_wildcard_anywhere_before_the_repository_ends_is_refused(owner_name, repo_name, tail, wildcard, data):
    """Putting * or ? at any position of 'repo:OWNER/REPO' is refused, whatever follows."""
    head = f"repo:{owner_name}/{repo_name}"
    at = data.draw(st.integers(0, len(head)))
    with pytest.raises(ValueError, match="oidc_subjects"):
        check_subject(GITHUB, "oidc_subjects[0]", head[:at] + wildcard + head[at:] + ":" + tail)


def test_a_gitlab_url_keeps_its_path_and_loses_one_trailing_slash():
    """Only the trailing slash goes; the path and its last letter stay."""
    assert check_issuer_url("gitlab_url", " https://git.example.com/X/ ") == "https://git.example.com/X"


@pytest.mark.parametrize(
    "url",
    [
        "http://gitlab.com",
        "gitlab.com",
        "https://",
        "https://gitlab.com?x=1",
        "https://gitlab.com#top",
        "https://me@gitlab.com",
        42,
    ],
)
def test_a_gitlab_url_must_be_https(url):
    """The issuer must be an https URL with a host, no query."""
    with pytest.raises(ValueError, match="gitlab_url: "):
        check_issuer_url("gitlab_url", url)


def test_a_provider_arn_names_its_issuer():
    """The URL part of an IAM OIDC provider ARN is its issuer; anything else is refused, naming the field."""
    assert provider_arn_issuer(PROVIDER) == GITHUB_ISSUER
    assert provider_arn_issuer("arn:aws-us-gov:iam::123412341234:oidc-provider/git.example.com/gl") == (
        "https://git.example.com/gl"
    )
    with pytest.raises(ValueError, match="oidc_provider_arn: 'arn:aws:iam::1:role/x' is not an IAM OIDC provider"):
        provider_arn_issuer("arn:aws:iam::1:role/x")


def test_policy_size_ignores_whitespace():
    """IAM counts a policy without its layout whitespace."""
    document = web_identity_trust_policy(PROVIDER, GITHUB_ISSUER, "sts.amazonaws.com", ["repo:a/b:pull_request"])
    assert policy_size(document) == len(json.dumps(json.loads(document), separators=(",", ":")))
    assert policy_size(document) < len(document)


def test_the_document_is_two_space_indented_json_in_this_key_order():
    """The text IAM stores (and a diff shows) is stable: indent 2, keys in the documented order."""
    document = web_identity_trust_policy(PROVIDER, GITHUB_ISSUER, "sts.amazonaws.com", ["repo:a/b:pull_request"])
    assert document.splitlines()[:8] == [
        "{",
        '  "Version": "2012-10-17",',
        '  "Statement": [',
        "    {",
        '      "Sid": "CiJobsOfTheseSubjectsOnly",',
        '      "Effect": "Allow",',
        '      "Principal": {',
        f'        "Federated": "{PROVIDER}"',
    ]


def test_the_size_before_the_provider_is_known_is_an_upper_bound():
    """The estimate uses the longest partition's ARN, so it is never below the size of the real document."""
    subjects = ["repo:acme/web:environment:production"]
    estimate = trust_policy_size(GITHUB_ISSUER, "sts.amazonaws.com", subjects)
    for partition in ("aws", "aws-cn", "aws-us-gov"):
        arn = f"arn:{partition}:iam::123412341234:oidc-provider/token.actions.githubusercontent.com"
        assert policy_size(web_identity_trust_policy(arn, GITHUB_ISSUER, "sts.amazonaws.com", subjects)) <= estimate
    gov = PROVIDER.replace("arn:aws:", "arn:aws-us-gov:")
    assert estimate == policy_size(web_identity_trust_policy(gov, GITHUB_ISSUER, "sts.amazonaws.com", subjects))
