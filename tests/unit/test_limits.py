"""Every length limit at its boundary, the character-rule corners, and property tests against oracles
written from the documented rules (not from the implementation's regular expressions)."""

import string
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eks_cicd_access.checks import (
    check_cluster_name,
    check_iam_name,
    check_iam_path,
    check_iam_policy_name,
    check_namespace,
    check_object_name,
)

LOWER = string.ascii_lowercase + string.digits
IAM_CHARS = string.ascii_letters + string.digits + "+=,.@_-"

# --- the documented rules, as plain code -----------------------------------------------------


def is_namespace(value: str) -> bool:
    """Kubernetes: a DNS-1123 label has at most 63 characters, only lowercase alphanumerics or '-',
    and starts and ends with an alphanumeric."""
    return (
        1 <= len(value) <= 63
        and all(c in LOWER or c == "-" for c in value)
        and value[0] in LOWER
        and value[-1] in LOWER
    )


def is_cluster_name(value: str) -> bool:
    """EKS: alphanumerics (case-sensitive), hyphens and underscores, starting with an alphanumeric,
    at most 100 characters."""
    alnum = string.ascii_letters + string.digits
    return 1 <= len(value) <= 100 and value[0] in alnum and all(c in alnum + "-_" for c in value)


def is_iam_name(value: str, longest: int) -> bool:
    """IAM user, role and policy names: 1 to ``longest`` characters of alphanumerics and +=,.@_-."""
    return 1 <= len(value) <= longest and all(c in IAM_CHARS for c in value)


def is_iam_path(value: str) -> bool:
    """IAM: 1-512 characters, either '/' alone or '/', one or more printable ASCII characters other than
    space (U+0021 to U+007E), and '/' (the API's pattern (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F))."""
    if not 1 <= len(value) <= 512:
        return False
    if value == "/":
        return True
    return len(value) >= 3 and value[0] == "/" and value[-1] == "/" and all("!" <= c <= "~" for c in value[1:-1])


def is_object_name(value: str) -> bool:
    """Kubernetes RBAC object names are path segments: not '.' or '..', no '/' or '%'; at most 253 characters."""
    return 1 <= len(value) <= 253 and value not in (".", "..") and "/" not in value and "%" not in value


# --- boundaries, each side explicitly ----------------------------------------------------------

BOUNDARIES: list[tuple[str, Callable[[str], str], str, str]] = [
    ("namespace", check_namespace, "n" * 63, "n" * 64),
    ("cluster_name", check_cluster_name, "c" * 100, "c" * 101),
    ("iam_user_name", lambda v: check_iam_name("iam_user_name", v), "u" * 64, "u" * 65),
    ("iam_role_name", lambda v: check_iam_name("iam_role_name", v), "r" * 64, "r" * 65),
    ("iam_policy_name", check_iam_policy_name, "p" * 128, "p" * 129),
    ("role_name", lambda v: check_object_name("role_name", v), "o" * 253, "o" * 254),
    ("iam_user_path", lambda v: check_iam_path("iam_user_path", v), "/" + "a" * 510 + "/", "/" + "a" * 511 + "/"),
]


@pytest.mark.parametrize(("field", "check", "longest", "too_long"), BOUNDARIES, ids=[b[0] for b in BOUNDARIES])
def test_the_longest_value_passes_and_one_more_character_fails(field, check, longest, too_long):
    """At each limit the value is accepted; one character more is refused, naming the field."""
    assert check(longest) == longest
    with pytest.raises(ValueError, match=f"^{field}: "):
        check(too_long)


@pytest.mark.parametrize(
    ("field", "check", "value"),
    [
        ("namespace", check_namespace, "web-"),
        ("namespace", check_namespace, "-web"),
        ("namespace", check_namespace, "Web"),
        ("namespace", check_namespace, "w_b"),
        ("cluster_name", check_cluster_name, "-prod"),
        ("cluster_name", check_cluster_name, "_prod"),
        ("cluster_name", check_cluster_name, "prod.1"),
        ("cluster_name", check_cluster_name, ""),
        ("iam_user_path", lambda v: check_iam_path("iam_user_path", v), "//"),
        ("iam_user_path", lambda v: check_iam_path("iam_user_path", v), "/ci"),
        ("iam_user_path", lambda v: check_iam_path("iam_user_path", v), "ci/"),
        ("iam_user_path", lambda v: check_iam_path("iam_user_path", v), "/c i/"),
        ("iam_user_path", lambda v: check_iam_path("iam_user_path", v), ""),
        ("role_name", lambda v: check_object_name("role_name", v), "."),
        ("role_name", lambda v: check_object_name("role_name", v), ".."),
        ("role_name", lambda v: check_object_name("role_name", v), "a%b"),
        ("role_name", lambda v: check_object_name("role_name", v), "a/b"),
        ("role_name", lambda v: check_object_name("role_name", v), ""),
        ("iam_user_name", lambda v: check_iam_name("iam_user_name", v), "a b"),
        ("iam_user_name", lambda v: check_iam_name("iam_user_name", v), "a:b"),
    ],
)
def test_character_rule_corners_are_refused(field, check, value):
    """A namespace ending in '-', a cluster name starting with '-' or '_', an IAM path of '//', an object name
    '.', '..' or with '%' or '/': each refused, naming the field."""
    with pytest.raises(ValueError, match=f"^{field}: "):
        check(value)


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (check_namespace, "0"),
        (check_namespace, "a-0"),
        (check_cluster_name, "0_a-B"),
        (lambda v: check_iam_path("p", v), "/"),
        (lambda v: check_iam_path("p", v), "/a//b/"),
        (lambda v: check_iam_path("p", v), "///"),
        (lambda v: check_object_name("o", v), "..."),
        (lambda v: check_object_name("o", v), "a.b:c"),
        (lambda v: check_iam_name("n", v), "+=,.@_-"),
        (check_namespace, "a"),
        (check_cluster_name, "c"),
        (lambda v: check_iam_name("n", v), "u"),
        (check_iam_policy_name, "p"),
        (lambda v: check_object_name("o", v), "o"),
    ],
)
def test_unusual_but_valid_values_pass(check, value):
    """What the rules allow is allowed, unusual or not (an IAM path may hold '//' inside: the API's pattern)."""
    assert check(value) == value


# --- properties: generated strings, most of them near a limit ----------------------------------


def near(limit: int, alphabet: str) -> st.SearchStrategy[str]:
    """Strings over ``alphabet`` whose length is within 2 of ``limit`` half the time, anything up to it else."""
    lengths = st.one_of(st.integers(max(0, limit - 2), limit + 2), st.integers(0, limit + 2))
    return lengths.flatmap(lambda n: st.text(alphabet=alphabet, min_size=n, max_size=n))


def agrees(check: Callable[[str], str], oracle: Callable[[str], bool], value: str, field: str) -> None:
    if oracle(value):
        assert check(value) == value
    else:
        with pytest.raises(ValueError, match=f"^{field}: "):
            check(value)


#: Kubernetes' own namespaces, which check_namespace refuses by default (written out here, not imported).
SYSTEM = ("kube-system", "kube-public", "kube-node-lease", "default")


@given(st.one_of(near(63, LOWER + "-_A."), st.sampled_from(SYSTEM)))
def test_namespace_rule_matches_kubernetes(value):
    """check_namespace accepts exactly the DNS-1123 labels that are not a system namespace (Hypothesis also draws
    the module's own string constants, so the system names are drawn on purpose)."""
    agrees(check_namespace, lambda v: is_namespace(v) and v not in SYSTEM, value, "namespace")


@given(near(100, string.ascii_letters + string.digits + "-_. "))
def test_cluster_name_rule_matches_eks(value):
    """check_cluster_name accepts exactly EKS's cluster names."""
    agrees(check_cluster_name, is_cluster_name, value, "cluster_name")


@given(near(64, IAM_CHARS + " /:é"))
def test_iam_user_and_role_names_match_iam(value):
    """IAM user and role names: exactly 1-64 of the IAM character set."""
    agrees(lambda v: check_iam_name("iam_role_name", v), lambda v: is_iam_name(v, 64), value, "iam_role_name")


@given(near(128, IAM_CHARS + " /"))
def test_iam_policy_name_matches_iam(value):
    """IAM policy names: exactly 1-128 of the IAM character set."""
    agrees(check_iam_policy_name, lambda v: is_iam_name(v, 128), value, "iam_policy_name")


@given(near(512, "/ab~! ").map(lambda v: v or "/"))
def test_iam_path_matches_the_api_pattern(value):
    """IAM paths: exactly the API's pattern within 512 characters."""
    agrees(lambda v: check_iam_path("iam_user_path", v), is_iam_path, value, "iam_user_path")


@given(st.one_of(near(253, "ab.%/-"), st.sampled_from([".", "..", "..."])))
def test_object_names_match_kubernetes(value):
    """RBAC object names: exactly the valid path segments of at most 253 characters."""
    agrees(lambda v: check_object_name("role_name", v), is_object_name, value, "role_name")


@pytest.mark.parametrize("namespace", ["kube-system", "kube-public", "kube-node-lease", "default"])
def test_system_namespaces_are_refused_unless_allowed(namespace):
    """check_namespace refuses the system namespaces by default and accepts them only when allowed."""
    with pytest.raises(ValueError, match=f"^namespace: '{namespace}' is a system namespace"):
        check_namespace(namespace)
    assert check_namespace(namespace, allow_system=True) == namespace
