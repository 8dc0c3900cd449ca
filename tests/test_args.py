"""Input validation: every rule, before anything is registered."""

import re
import string
from typing import Any

import pulumi
import pytest
from hypothesis import given
from hypothesis import strategies as st

from eks_cicd_access import EksCicdAccess
from eks_cicd_access.args import check_iam_user_name, check_namespace, validate_args

BASE: dict[str, Any] = {"cluster_name": "my-cluster-1", "namespace": "my-test-ns"}


def test_defaults_are_applied():
    """Unset arguments take the documented defaults, derived from the component name."""
    resolved = validate_args("ci", BASE)
    assert (resolved.iam_user_name, resolved.iam_user_path, resolved.iam_policy_name) == (
        "ci",
        "/",
        "ci-eks-describe-cluster",
    )
    assert (resolved.kubernetes_username, resolved.kubernetes_groups) == ("ci", [])
    assert (resolved.role_name, resolved.role_binding_name) == ("ci-deployer", "ci-deployer-binding")
    assert (resolved.policy_resource_scope, resolved.identity_mapping) == ("cluster", "aws-auth")
    assert (resolved.create_namespace, resolved.create_access_key, resolved.pgp_key, resolved.tags) == (
        True,
        True,
        None,
        {},
    )
    assert resolved.role_rules[0]["verbs"] == ["get", "list", "watch", "create", "patch"]


def test_kubernetes_username_defaults_to_the_given_iam_user_name():
    """kubernetes_username follows iam_user_name, not the component name."""
    assert validate_args("ci", {**BASE, "iam_user_name": "deployer"}).kubernetes_username == "deployer"


BAD_INPUTS = [
    ({"namespace": "My_NS"}, "namespace: 'My_NS' is not a DNS-1123 label"),
    ({"namespace": "-ns"}, "namespace"),
    ({"namespace": "a" * 64}, "namespace"),
    ({"namespace": ""}, "namespace"),
    ({"cluster_name": ""}, "cluster_name: must be a non-empty string"),
    ({"cluster_name": "bad name"}, "cluster_name: 'bad name' is not an EKS cluster name"),
    ({"iam_user_name": ""}, "iam_user_name: '' must be 1-64"),
    ({"iam_user_name": "a" * 65}, "iam_user_name"),
    ({"iam_user_name": "ci user"}, "iam_user_name: 'ci user'"),
    ({"iam_user_path": "ci"}, "iam_user_path: 'ci' must start and end with '/'"),
    ({"iam_user_path": "/ci"}, "iam_user_path"),
    ({"iam_user_path": "/c i/"}, "iam_user_path"),
    ({"iam_policy_name": "a" * 129}, "iam_policy_name"),
    ({"iam_policy_name": "bad/name"}, "iam_policy_name: 'bad/name'"),
    ({"kubernetes_username": ""}, "kubernetes_username: must be a non-empty string"),
    (
        {"kubernetes_username": "system:admin"},
        "kubernetes_username: 'system:admin' starts with the reserved prefix 'system:'",
    ),
    ({"kubernetes_username": "eks:ci"}, "reserved prefix 'eks:'"),
    ({"kubernetes_username": "aws:ci"}, "reserved prefix 'aws:'"),
    ({"kubernetes_username": "amazon:ci"}, "reserved prefix 'amazon:'"),
    ({"kubernetes_username": "iam:ci"}, "reserved prefix 'iam:'"),
    ({"kubernetes_groups": ["ok", ""]}, r"kubernetes_groups\[1\]: must be a non-empty string"),
    ({"kubernetes_groups": ["system:masters"]}, r"kubernetes_groups\[0\]: 'system:masters' starts with the reserved"),
    ({"kubernetes_groups": "my-group"}, "kubernetes_groups: must be a list"),
    ({"identity_mapping": "eksctl"}, "identity_mapping: 'eksctl' is not one of 'aws-auth', 'access-entry', 'none'"),
    ({"policy_resource_scope": "account"}, "policy_resource_scope: 'account' is not one of 'cluster', 'any'"),
    ({"role_rules": "admin"}, "role_rules: unknown preset 'admin'"),
    ({"role_rules": [{"api_groups": ["apps"], "resources": ["deployments"], "verbs": []}]}, r"role_rules\[0\]\.verbs"),
    ({"role_rules": [{"api_groups": ["apps"], "resources": [], "verbs": ["get"]}]}, r"role_rules\[0\]\.resources"),
    ({"role_rules": [{"api_groups": [], "resources": ["pods"], "verbs": ["get"]}]}, r"role_rules\[0\]\.api_groups"),
    ({"role_name": "a/b"}, "role_name: 'a/b'"),
    ({"role_binding_name": ".."}, "role_binding_name"),
    ({"create_namespace": "yes"}, "create_namespace: must be true or false"),
    ({"create_access_key": 1}, "create_access_key: must be true or false"),
    ({"pgp_key": ""}, "pgp_key: must be a non-empty string"),
    ({"tags": {"team": 1}}, "tags: must be a mapping of strings"),
    ({"namspace": "typo"}, r"unknown argument\(s\) \['namspace'\]"),
]


@pytest.mark.parametrize(("override", "message"), BAD_INPUTS, ids=[m for _, m in BAD_INPUTS])
def test_bad_input_fails_before_any_resource_is_registered(stack, override, message):
    """Each rule raises ValueError naming the field, at construction, with nothing registered."""
    args: Any = {**BASE, **override}
    with pytest.raises(ValueError, match=message):
        EksCicdAccess("ci", args)
    assert stack.resources == [], f"registered before failing: {[r.name for r in stack.resources]}"


@pytest.mark.parametrize("missing", ["cluster_name", "namespace"])
def test_required_arguments(stack, missing):
    """cluster_name and namespace are required, and the error says which is missing."""
    args: Any = {k: v for k, v in BASE.items() if k != missing}
    with pytest.raises(ValueError, match=f"{missing}: is required"):
        EksCicdAccess("ci", args)
    assert stack.resources == []


def test_output_values_are_checked_once_known(stack):
    """A namespace given as an Output is validated when it resolves, and a bad one fails the run."""
    args: Any = {**BASE, "namespace": pulumi.Output.from_input("Bad_NS")}
    with pytest.raises(ValueError, match="namespace: 'Bad_NS' is not a DNS-1123 label"):
        stack.run(lambda: {"ns": EksCicdAccess("ci", args).namespace})


def test_good_output_values_pass_through(stack):
    """A valid cluster name and namespace given as Outputs are used as given."""
    out = stack.run(
        lambda: {
            "ns": EksCicdAccess(
                "ci",
                {
                    "cluster_name": pulumi.Output.from_input("my-cluster-1"),
                    "namespace": pulumi.Output.from_input("apps"),
                },
            ).namespace
        }
    )
    assert out["ns"][0] == "apps"


LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
IAM_CHARS = string.ascii_letters + string.digits + "+=,.@_-"


@given(st.text(max_size=70))
def test_namespace_rule_matches_kubernetes(value):
    """check_namespace accepts exactly the DNS-1123 labels (1-63 chars)."""
    valid = len(value) <= 63 and LABEL.fullmatch(value) is not None
    if valid:
        assert check_namespace(value) == value
    else:
        with pytest.raises(ValueError, match="namespace"):
            check_namespace(value)


@given(st.text(alphabet=st.sampled_from(IAM_CHARS + " /:!é"), max_size=70))
def test_iam_user_name_rule_matches_aws(value):
    """check_iam_user_name accepts exactly 1-64 characters of A-Za-z0-9+=,.@_-."""
    valid = 1 <= len(value) <= 64 and all(c in IAM_CHARS for c in value)
    if valid:
        assert check_iam_user_name(value) == value
    else:
        with pytest.raises(ValueError, match="iam_user_name"):
            check_iam_user_name(value)
