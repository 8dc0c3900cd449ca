"""Input validation: every rule, before anything is registered."""

from typing import Any

import pulumi
import pytest

from eks_cicd_access import EksCicdAccess
from eks_cicd_access.resolve import RoleArgs, UserArgs, validate_args
from eks_cicd_access.trust import GITHUB_ISSUER, trust_policy_size

BASE: dict[str, Any] = {"cluster_name": "my-cluster-1", "namespace": "my-test-ns"}
OIDC: dict[str, Any] = {"identity": "github-actions", "oidc_subjects": ["repo:acme/web:environment:production"]}


def test_defaults_are_applied():
    """Unset arguments take the documented defaults, derived from the component name."""
    resolved = validate_args("ci", BASE)
    assert resolved.identity == "iam-user"
    assert resolved.principal == UserArgs(
        name="ci", path="/", access_keys=["default"], pgp_key=None, permissions_boundary=None
    )
    assert resolved.create_policy
    assert resolved.iam_policy_name == "ci-eks-describe-cluster"
    assert (resolved.kubernetes_username, resolved.kubernetes_groups) == ("ci", [])
    assert (resolved.role_name, resolved.role_binding_name) == ("ci-deployer", "ci-deployer-binding")
    assert (resolved.policy_resource_scope, resolved.identity_mapping) == ("cluster", "aws-auth")
    assert (resolved.create_namespace, resolved.tags, resolved.kubeconfig) == (True, {}, None)
    assert resolved.role_rules is not None and resolved.role_rules[0]["verbs"] == [
        "get",
        "list",
        "watch",
        "create",
        "patch",
    ]
    assert resolved.access_policies == []


def test_oidc_defaults_are_applied():
    """An OIDC identity takes the documented defaults: role named after the component, path /, 3600 s,
    audience sts.amazonaws.com, the provider looked up; the policy and Kubernetes user follow the role."""
    resolved = validate_args("ci", {**BASE, "identity": "github-actions", "oidc_subjects": ["repo:a/b:pull_request"]})
    role = resolved.principal
    assert isinstance(role, RoleArgs)
    assert (role.name, role.path, role.max_session_duration, role.permissions_boundary) == ("ci", "/", 3600, None)
    assert (role.issuer_url, role.audience, role.provider_arn, role.create_provider) == (
        "https://token.actions.githubusercontent.com",
        "sts.amazonaws.com",
        None,
        False,
    )
    gitlab = validate_args(
        "ci", {**BASE, "identity": "gitlab-ci", "oidc_subjects": ["project_path:a/b:ref_type:tag:ref:v1"]}
    ).principal
    assert isinstance(gitlab, RoleArgs) and gitlab.issuer_url == "https://gitlab.com"
    named = validate_args(
        "ci", {**BASE, "identity": "github-actions", "oidc_subjects": ["repo:a/b:pull_request"], "iam_role_name": "r"}
    )
    assert (named.iam_policy_name, named.kubernetes_username) == ("r-eks-describe-cluster", "r")


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
    ({"identity_mapping": "eksctl"}, "identity_mapping: 'eksctl' is not one of 'aws-auth', 'access-entry', 'auto'"),
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
    ({"namspace": "typo"}, r"namspace: is not an argument of EksCicdAccess; did you mean 'namespace'\?"),
    ({"cluster_name": 123}, r"cluster_name: must be a string or a pulumi\.Output\[str\], got int 123"),
    ({"namespace": ["web"]}, r"namespace: must be a string or a pulumi\.Output\[str\], got list \['web'\]"),
    ({"role_rules": 5}, "role_rules: must be a preset name .*, a list of rules, or 'none' for no Role, got int"),
    ({"role_rules": None, "role_name": "r"}, "role_name: role_rules is None, which creates no Role"),
    (
        {"access_policies": [{"policy": "AmazonEKSViewPolcy"}], "identity_mapping": "access-entry"},
        "access_policies\\[0\\].policy: 'AmazonEKSViewPolcy' is not a managed access policy",
    ),
    ({"access_policies": [{"policy": "AmazonEKSViewPolicy"}]}, "access_policies: EKS associates access policies"),
    (
        {"access_policies": [{"policy": "AmazonEKSViewPolicy", "namespaces": ["Web"]}], "identity_mapping": "auto"},
        "access_policies\\[0\\].namespaces\\[0\\]: 'Web' is not a DNS-1123 label",
    ),
    ({"iam_user_name": pulumi.Output.from_input("u")}, "iam_user_name: must be a plain value, not a pulumi.Output"),
    ({"kubernetes_username": pulumi.Output.from_input("u")}, "kubernetes_username: must be a plain value"),
    ({"kubernetes_groups": [pulumi.Output.from_input("g")]}, "kubernetes_groups: must be a plain value"),
    ({"tags": {"team": pulumi.Output.from_input("x")}}, "tags: must be a plain value"),
    ({"role_name": "r" * 253}, "role_name: the default role_binding_name made from it is invalid"),
    ({"role_name": "r" * 254}, "role_name: 'r{254}' must be 1-253 characters"),
    ({"namespace": "kube-system"}, "namespace: 'kube-system' is a system namespace .* allow_system_namespace=True"),
    ({"namespace": "kube-public"}, "namespace: 'kube-public' is a system namespace"),
    ({"namespace": "kube-node-lease"}, "namespace: 'kube-node-lease' is a system namespace"),
    ({"namespace": "default"}, "namespace: 'default' is a system namespace"),
    ({"allow_system_namespace": "yes"}, "allow_system_namespace: must be true or false"),
    ({"tags": {f"k{i}": "v" for i in range(51)}}, "tags: 51 tags, over AWS's limit of 50 per resource"),
    ({"tags": {"aws:cloudformation:stack-name": "x"}}, "tags: key 'aws:cloudformation:stack-name' starts with 'aws:'"),
    ({"tags": {"AWS:x": "x"}}, "tags: key 'AWS:x' starts with 'aws:'"),
    ({"tags": {"k" * 129: "v"}}, "tags: key 'k{129}' is 129 characters; a tag key has 1-128"),
    ({"tags": {"": "v"}}, "tags: key '' is 0 characters"),
    ({"tags": {"team": "v" * 257}}, r"tags\['team'\]: the value is 257 characters; a tag value has at most 256"),
    ({"identity": "github"}, "identity: 'github' is not one of 'iam-user', 'github-actions', 'gitlab-ci'"),
    ({"oidc_subjects": ["repo:a/b:pull_request"]}, "oidc_subjects: only with identity 'github-actions' or 'gitlab-ci'"),
    ({"iam_role_name": "r"}, "iam_role_name: only with identity"),
    ({"create_oidc_provider": True}, "create_oidc_provider: only with identity"),
    ({"max_session_duration": 7200}, "max_session_duration: only with identity"),
    ({"identity": "github-actions"}, "oidc_subjects: is required with identity 'github-actions'"),
    (OIDC | {"oidc_subjects": []}, "oidc_subjects: is required"),
    (OIDC | {"oidc_subjects": ["*"]}, r"oidc_subjects\[0\]: '\*' would let any owner/repository in"),
    (OIDC | {"oidc_subjects": ["repo:*"]}, r"oidc_subjects\[0\]: 'repo:\*' has a wildcard in its owner/repository"),
    (OIDC | {"oidc_subjects": ["repo:acme/*:pull_request"]}, r"oidc_subjects\[0\]: .* wildcard in its owner/repo"),
    (
        OIDC | {"identity": "gitlab-ci", "oidc_subjects": ["project_path:acme/*:ref_type:branch:ref:main"]},
        r"oidc_subjects\[0\]: .* wildcard in its group/project part",
    ),
    (OIDC | {"oidc_subjects": [f"repo:acme/web{i}:environment:*" for i in range(60)]}, "over IAM's default limit"),
    (OIDC | {"iam_user_name": "u"}, "iam_user_name: identity 'github-actions' has no IAM user or access key"),
    (OIDC | {"iam_user_path": "/ci/"}, "iam_user_path: identity 'github-actions' has no IAM user"),
    (OIDC | {"pgp_key": "mQ"}, "pgp_key: identity 'github-actions' has no IAM user or access key"),
    (OIDC | {"create_access_key": True}, "create_access_key: identity 'github-actions' has no IAM user or access key"),
    (OIDC | {"gitlab_url": "https://gitlab.com"}, "gitlab_url: only with identity 'gitlab-ci'"),
    (OIDC | {"identity": "gitlab-ci", "gitlab_url": "http://gitlab.com"}, "gitlab_url: 'http://gitlab.com' must be"),
    (OIDC | {"oidc_audience": ""}, "oidc_audience: must be a non-empty string"),
    (OIDC | {"iam_role_name": "a b"}, "iam_role_name: 'a b' must be 1-64 characters"),
    (OIDC | {"iam_role_path": "ci"}, "iam_role_path: 'ci' must start and end with '/'"),
    (OIDC | {"max_session_duration": 3599}, "max_session_duration: 3599 must be whole seconds from 3600 to 43200"),
    (OIDC | {"max_session_duration": 43201}, "max_session_duration: 43201 must be"),
    (OIDC | {"max_session_duration": "3600"}, "max_session_duration: '3600' must be"),
    (OIDC | {"max_session_duration": True}, "max_session_duration: True must be"),
    (OIDC | {"create_oidc_provider": "yes"}, "create_oidc_provider: must be true or false"),
    (
        OIDC | {"oidc_provider_arn": "arn:aws:iam::123412341234:oidc-provider/gitlab.com"},
        "oidc_provider_arn: .* is the provider for https://gitlab.com, not for https://token.actions",
    ),
    (OIDC | {"oidc_provider_arn": "arn:aws:iam::1:role/r"}, "oidc_provider_arn: .* is not an IAM OIDC provider ARN"),
    (
        OIDC
        | {
            "oidc_provider_arn": "arn:aws:iam::123412341234:oidc-provider/token.actions.githubusercontent.com",
            "create_oidc_provider": True,
        },
        "oidc_provider_arn: give an existing provider's ARN or create_oidc_provider=True, not both",
    ),
]


@pytest.mark.parametrize(("override", "message"), BAD_INPUTS, ids=[m for _, m in BAD_INPUTS])
def test_bad_input_fails_before_any_resource_is_registered(stack, override, message):
    """Each rule raises ValueError naming the field, at construction, with nothing registered."""
    args: Any = {**BASE, **override}
    with pytest.raises(ValueError, match=message):
        EksCicdAccess("ci", args)
    assert stack.resources == [], f"registered before failing: {[r.name for r in stack.resources]}"


@pytest.mark.parametrize("args", [None, "cluster_name=c", ["c"]])
def test_args_must_be_a_dict(stack, args):
    """Anything but a mapping for args is named as such, not a bare TypeError."""
    with pytest.raises(ValueError, match=f"args: must be a dict of EksCicdAccessArgs, got {type(args).__name__}"):
        EksCicdAccess("ci", args)
    assert stack.resources == []


def test_a_bad_component_name_is_named_when_a_default_comes_from_it(stack):
    """The IAM user name defaults to the component's name: an invalid one is reported as name, the field given."""
    with pytest.raises(ValueError, match=r"^name: the default iam_user_name made from it is invalid \('ci user' must"):
        EksCicdAccess("ci user", BASE)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^name: the default role_name made from it is invalid"):
        EksCicdAccess("c" * 246, {**BASE, "iam_user_name": "u"})  # type: ignore[typeddict-item]


def test_limits_are_inclusive(stack):
    """The largest valid values pass: 50 tags, keys of 128 and values of 256 characters, a role_name whose
    default binding name is exactly 253 characters, a system namespace when allowed."""
    resolved = validate_args(
        "ci",
        {
            **BASE,
            "tags": {**{f"k{i}": "v" for i in range(49)}, "k" * 128: "v" * 256},
            "role_name": "r" * 245,
        },
    )
    assert len(resolved.tags) == 50
    assert len(resolved.role_binding_name) == 253
    assert validate_args("ci", {**BASE, "namespace": "kube-system", "allow_system_namespace": True}).namespace == (
        "kube-system"
    )


def subjects_of_size(size: int) -> list[str]:
    """GitHub subjects whose trust policy is estimated at exactly ``size`` characters."""
    subjects = [f"repo:acme/web:environment:e{i}" for i in range(40)]
    short = trust_policy_size(GITHUB_ISSUER, "sts.amazonaws.com", subjects)
    subjects[-1] += "x" * (size - short)
    assert trust_policy_size(GITHUB_ISSUER, "sts.amazonaws.com", subjects) == size
    return subjects


def test_oidc_limits_are_inclusive(stack):
    """A trust policy of exactly 2048 characters passes and 2049 fails; sessions of 3600 and 43200 s pass."""
    assert validate_args("ci", {**BASE, **OIDC, "oidc_subjects": subjects_of_size(2048)}).principal
    with pytest.raises(ValueError, match="about 2049 characters, over IAM's default limit of 2048"):
        validate_args("ci", {**BASE, **OIDC, "oidc_subjects": subjects_of_size(2049)})
    for seconds in (3600, 43200):
        role = validate_args("ci", {**BASE, **OIDC, "max_session_duration": seconds}).principal
        assert isinstance(role, RoleArgs) and role.max_session_duration == seconds


def test_a_bad_component_name_is_named_when_the_role_name_comes_from_it(stack):
    """With an OIDC identity the role's name defaults to the component's name; a bad one names name."""
    with pytest.raises(ValueError) as raised:
        validate_args("ci role", {**BASE, **OIDC})
    assert str(raised.value).startswith(
        "name: the default iam_role_name made from it is invalid ('ci role' must be 1-64 characters of"
    )
    assert str(raised.value).endswith("; change name or set iam_role_name")


def test_a_system_namespace_from_an_output_is_refused_once_known(stack):
    """A namespace given as an Output is checked for system namespaces when it resolves."""
    args: Any = {**BASE, "namespace": pulumi.Output.from_input("kube-system")}
    with pytest.raises(pulumi.RunError, match=r"^namespace: 'kube-system' is a system namespace"):
        stack.run(lambda: {"ns": EksCicdAccess("ci", args).namespace})


@pytest.mark.parametrize("missing", ["cluster_name", "namespace"])
def test_required_arguments(stack, missing):
    """cluster_name and namespace are required, and the error says which is missing."""
    args: Any = {k: v for k, v in BASE.items() if k != missing}
    with pytest.raises(ValueError, match=f"{missing}: is required"):
        EksCicdAccess("ci", args)
    assert stack.resources == []


def test_output_values_are_checked_once_known(stack):
    """A namespace given as an Output is validated when it resolves: a bad one fails the run with our message
    alone (a RunError, which the SDK does not wrap), before anything in the cluster is registered."""
    args: Any = {**BASE, "namespace": pulumi.Output.from_input("Bad_NS")}
    with pytest.raises(pulumi.RunError) as raised:
        stack.run(lambda: {"ns": EksCicdAccess("ci", args).namespace})
    assert str(raised.value).startswith("namespace: 'Bad_NS' is not a DNS-1123 label")
    in_the_cluster = [r.type for r in stack.resources if r.type.startswith(("kubernetes:", "pulumi-python:dynamic"))]
    assert in_the_cluster == []


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
