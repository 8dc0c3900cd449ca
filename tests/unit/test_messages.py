"""The full text of every error message a user can meet, one example per message.

Other tests check what is refused; these pin how it is said: the field named first, the rule, and the way
out. A changed word here is a reviewed change to the product's surface.
"""

from typing import Any

import pulumi
import pytest
from kubernetes.client.exceptions import ApiException

from eks_cicd_access.aws_auth.entries import (
    MAP_ROLES,
    MAP_USERS,
    check_authentication_mode,
    entries_for,
    map_key,
    parse_entries,
)
from eks_cicd_access.aws_auth.writer import _status_reason, _unavailable, _unreachable
from eks_cicd_access.mapping import checked_access_entry_cluster, checked_cluster_name
from eks_cicd_access.rbac import PRESETS
from eks_cicd_access.resolve import validate_args

BASE: dict[str, Any] = {"cluster_name": "my-cluster-1", "namespace": "web"}
OIDC: dict[str, Any] = {"identity": "github-actions", "oidc_subjects": ["repo:acme/web:environment:production"]}
GITHUB_EXAMPLE = "e.g. 'repo:acme/web:environment:production'"
IAM_CHARSET = "A-Z, a-z, 0-9 and +=,.@_-"
OBJECT_RULE = "must be 1-253 characters without '/' or '%', and not '.' or '..'"
ENTRY: dict[str, Any] = {"identity_mapping": "access-entry"}
POLICY_NAMES = (
    "AmazonEKSViewPolicy, AmazonEKSEditPolicy, AmazonEKSAdminPolicy, AmazonEKSAdminViewPolicy, "
    "AmazonEKSClusterAdminPolicy"
)
MESSAGES: list[tuple[dict[str, Any], str]] = [
    (
        {"namespace": "Web"},
        "namespace: 'Web' is not a DNS-1123 label (1-63 characters of a-z, 0-9 and '-', starting and ending with "
        "a letter or digit)",
    ),
    (
        {"namespace": "kube-system"},
        "namespace: 'kube-system' is a system namespace (kube-system, kube-public, kube-node-lease, default): deploy "
        "rights there reach what runs the cluster (CoreDNS, kube-proxy, the VPC CNI) and whatever else was put there. "
        "Use a namespace of your own, or set allow_system_namespace=True if that is really meant",
    ),
    (
        {"cluster_name": "bad name"},
        "cluster_name: 'bad name' is not an EKS cluster name (1-100 characters of A-Z, a-z, 0-9, '-' and '_', "
        "starting with a letter or digit)",
    ),
    ({"cluster_name": ""}, "cluster_name: must be a non-empty string"),
    ({"cluster_name": 123}, "cluster_name: must be a string or a pulumi.Output[str], got int 123"),
    ({"iam_user_name": "a b"}, f"iam_user_name: 'a b' must be 1-64 characters of {IAM_CHARSET}"),
    (
        {"iam_user_path": "ci"},
        "iam_user_path: 'ci' must start and end with '/' (e.g. '/' or '/ci/'), at most 512 printable ASCII "
        "characters without spaces",
    ),
    ({"iam_policy_name": "a/b"}, f"iam_policy_name: 'a/b' must be 1-128 characters of {IAM_CHARSET}"),
    (
        {"kubernetes_username": "system:x"},
        "kubernetes_username: 'system:x' starts with the reserved prefix 'system:' (system:, eks:, aws:, amazon:, "
        "iam:)",
    ),
    ({"kubernetes_username": " "}, "kubernetes_username: must be a non-empty string"),
    ({"kubernetes_groups": "g"}, "kubernetes_groups: must be a list of strings, got str"),
    ({"role_name": "a/b"}, f"role_name: 'a/b' {OBJECT_RULE}"),
    ({"role_binding_name": "a/b"}, f"role_binding_name: 'a/b' {OBJECT_RULE}"),
    (
        {"role_name": "r" * 253},
        f"role_name: the default role_binding_name made from it is invalid ('{'r' * 253}-binding' {OBJECT_RULE}); "
        "change role_name or set role_binding_name",
    ),
    ({"identity_mapping": "x"}, "identity_mapping: 'x' is not one of 'aws-auth', 'access-entry', 'auto', 'none'"),
    ({"policy_resource_scope": "x"}, "policy_resource_scope: 'x' is not one of 'cluster', 'any'"),
    ({"identity": "x"}, "identity: 'x' is not one of 'iam-user', 'github-actions', 'gitlab-ci', 'existing'"),
    ({"create_namespace": "yes"}, "create_namespace: must be true or false, got 'yes'"),
    ({"pgp_key": ""}, "pgp_key: must be a non-empty string when given"),
    ({"kubeconfig": ""}, "kubeconfig: must be a non-empty kubeconfig (YAML) when given"),
    ({"tags": {"a": 1}}, "tags: must be a mapping of strings to strings"),
    ({"tags": {f"k{i}": "v" for i in range(51)}}, "tags: 51 tags, over AWS's limit of 50 per resource"),
    ({"tags": {"aws:x": "v"}}, "tags: key 'aws:x' starts with 'aws:', which AWS keeps for its own tags"),
    ({"tags": {"k" * 129: "v"}}, f"tags: key '{'k' * 129}' is 129 characters; a tag key has 1-128"),
    ({"tags": {"k": "v" * 257}}, "tags['k']: the value is 257 characters; a tag value has at most 256"),
    (
        {"role_rules": "admin"},
        "role_rules: unknown preset 'admin' (presets: app, deploy-rollback, helm, helm-secrets, recipe; a list of "
        "rules; or 'none')",
    ),
    (
        {"role_rules": "ap"},
        "role_rules: unknown preset 'ap'; did you mean 'app'? (presets: app, deploy-rollback, helm, helm-secrets, "
        "recipe; a list of rules; or 'none')",
    ),
    (
        {"identity": "github-action"},
        "identity: 'github-action' is not one of 'iam-user', 'github-actions', 'gitlab-ci', 'existing'; did you mean "
        "'github-actions'?",
    ),
    (
        {"identity_mapping": "access-entries"},
        "identity_mapping: 'access-entries' is not one of 'aws-auth', 'access-entry', 'auto', 'none'; did you mean "
        "'access-entry'?",
    ),
    (
        {"role_rules": [{"api_groups": ["apps/v1"], "resources": ["deployments"], "verbs": ["get"]}]},
        "role_rules[0].api_groups: 'apps/v1' is not an API group: a Role names the group without its version (the "
        "core group is ''); did you mean 'apps'?",
    ),
    (
        {"role_rules": [{"api_groups": ["v1"], "resources": ["pods"], "verbs": ["get"]}]},
        "role_rules[0].api_groups: 'v1' is not an API group: a Role names the group without its version (the core "
        "group is ''); did you mean ''?",
    ),
    (
        {"role_rules": [{"api_groups": ["example.com/x"], "resources": ["widgets"], "verbs": ["get"]}]},
        "role_rules[0].api_groups: 'example.com/x' is not an API group: a Role names the group without its version "
        "(the core group is '')",
    ),
    ({"role_rules": []}, "role_rules: the list is empty; the Role would grant nothing"),
    (
        {"role_rules": 5},
        f"role_rules: must be a preset name ({', '.join(sorted(PRESETS))}), a list of rules, or 'none' for no Role, "
        "got int",
    ),
    (
        {"role_rules": "none", "role_binding_name": "b"},
        "role_binding_name: role_rules is 'none', which creates no Role and no RoleBinding; remove role_binding_name",
    ),
    (
        {"access_policies": [{"policy": "AmazonEKSViewPolicy"}], "identity_mapping": "aws-auth"},
        "access_policies: EKS associates access policies with an access entry, and identity_mapping is 'aws-auth', "
        "which makes none; set identity_mapping='access-entry' (or 'auto' on a cluster whose authentication mode "
        "includes API), or remove access_policies",
    ),
    (
        {**ENTRY, "access_policies": {"policy": "AmazonEKSViewPolicy"}},
        "access_policies: must be a list of {policy, namespaces, scope} objects, got dict",
    ),
    (
        {**ENTRY, "access_policies": []},
        "access_policies: the list is empty; leave access_policies out for no access policy",
    ),
    (
        {**ENTRY, "access_policies": ["AmazonEKSViewPolicy"]},
        "access_policies[0]: must be a mapping with policy (and namespaces or scope), got str",
    ),
    (
        {**ENTRY, "access_policies": [{"policy": "AmazonEKSViewPolicy", "namespace": ["web"]}]},
        "access_policies[0]: unknown key 'namespace'; did you mean 'namespaces'? (allowed: policy, namespaces, scope)",
    ),
    (
        {**ENTRY, "access_policies": [{"policy": "AmazonEKSEditPolcy"}]},
        f"access_policies[0].policy: 'AmazonEKSEditPolcy' is not a managed access policy of EKS that this component "
        f"associates ({POLICY_NAMES}); did you mean 'AmazonEKSEditPolicy'?",
    ),
    (
        {**ENTRY, "access_policies": [{"policy": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"}]},
        f"access_policies[0].policy: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy' is not a managed "
        f"access policy of EKS that this component associates ({POLICY_NAMES}); did you mean 'AmazonEKSViewPolicy'?",
    ),
    (
        {**ENTRY, "access_policies": [{"namespaces": ["web"]}]},
        f"access_policies[0].policy: None is not a managed access policy of EKS that this component associates "
        f"({POLICY_NAMES})",
    ),
    (
        {**ENTRY, "access_policies": [{"policy": "AmazonEKSViewPolicy"}, {"policy": "AmazonEKSViewPolicy"}]},
        "access_policies[1].policy: 'AmazonEKSViewPolicy' is listed twice (EKS keeps one association per policy); "
        "list it once with all its namespaces",
    ),
    (
        {**ENTRY, "access_policies": [{"policy": "AmazonEKSViewPolicy", "scope": "namespaces"}]},
        "access_policies[0].scope: 'namespaces' is not one of 'namespace', 'cluster'; did you mean 'namespace'?",
    ),
    (
        {**ENTRY, "access_policies": [{"policy": "AmazonEKSViewPolicy", "scope": "cluster", "namespaces": ["web"]}]},
        "access_policies[0].namespaces: scope 'cluster' applies in every namespace and takes none; remove namespaces, "
        "or remove scope for these namespaces only",
    ),
    (
        {**ENTRY, "access_policies": [{"policy": "AmazonEKSViewPolicy", "namespaces": []}]},
        "access_policies[0].namespaces: the list is empty; leave namespaces out for the component's namespace, or set "
        "scope 'cluster' for every namespace",
    ),
    (
        {**ENTRY, "access_policies": [{"policy": "AmazonEKSViewPolicy", "namespaces": "web"}]},
        "access_policies[0].namespaces: must be a list of namespaces, got str",
    ),
    (
        {**ENTRY, "access_policies": [{"policy": "AmazonEKSViewPolicy", "namespaces": ["web", "Api"]}]},
        "access_policies[0].namespaces[1]: 'Api' is not a DNS-1123 label (1-63 characters of a-z, 0-9 and '-', "
        "starting and ending with a letter or digit)",
    ),
    (
        {**ENTRY, "access_policies": [{"policy": "AmazonEKSViewPolicy", "namespaces": ["kube-system"]}]},
        "access_policies[0].namespaces[0]: 'kube-system' is a system namespace (kube-system, kube-public, "
        "kube-node-lease, default): deploy rights there reach what runs the cluster (CoreDNS, kube-proxy, the VPC "
        "CNI) and whatever else was put there. Use a namespace of your own, or set allow_system_namespace=True if "
        "that is really meant",
    ),
    (
        {**ENTRY, "access_policies": [{"policy": "AmazonEKSViewPolicy", "namespaces": ["web", "web"]}]},
        "access_policies[0].namespaces[1]: 'web' is listed twice",
    ),
    ({"role_rules": ["x"]}, "role_rules[0]: must be a mapping with api_groups, resources and verbs"),
    (
        {"role_rules": [{"api_groups": ["apps"], "resources": ["d"], "verbs": ["get"], "x": 1}]},
        "role_rules[0]: unknown key 'x' (allowed: api_groups, resources, verbs, resource_names)",
    ),
    (
        {"role_rules": [{"api_groups": ["apps"], "resources": [], "verbs": ["get"]}]},
        "role_rules[0].resources: must be a non-empty list of strings",
    ),
    (
        {"role_rules": [{"api_groups": ["apps"], "resources": [""], "verbs": ["get"]}]},
        "role_rules[0].resources: must not contain an empty string",
    ),
    (
        {"role_rules": [{"api_groups": ["apps"], "resources": ["d"], "verbs": ["get", ""]}]},
        "role_rules[0].verbs: must not contain an empty string",
    ),
    (
        {"role_rules": [{"api_groups": ["apps"], "resources": ["d"], "verbs": ["fly"]}]},
        "role_rules[0].verbs: unknown verb 'fly' (known: *, approve, bind, create, delete, deletecollection, "
        "escalate, get, impersonate, list, patch, sign, update, use, watch)",
    ),
    (
        {"role_rules": [{"api_groups": ["apps"], "resources": ["d"], "verbs": ["get", "lsit"]}]},
        "role_rules[0].verbs: unknown verb 'lsit'; did you mean 'list'? (known: *, approve, bind, create, delete, "
        "deletecollection, escalate, get, impersonate, list, patch, sign, update, use, watch)",
    ),
    (
        {"role_rules": [{"api_groups": ["apps"], "resources": ["d"], "verbs": ["get"], "resource_names": [""]}]},
        "role_rules[0].resource_names: must be a list of non-empty strings",
    ),
    (
        {"iam_user_name": pulumi.Output.from_input("u")},
        "iam_user_name: must be a plain value, not a pulumi.Output: it names or shapes resources, so it must be "
        "known while the program runs (only cluster_name, kubeconfig, namespace, oidc_provider_arn may be Outputs)",
    ),
    (
        {"access_keys": ["a", "b", "c"]},
        "access_keys: 3 labels, but IAM allows 2 access keys per user (two only while rotating); drop the oldest",
    ),
    ({"access_keys": []}, "access_keys: must list 1 or 2 key labels; for no key at all set create_access_key=False"),
    ({"access_keys": ["a b"]}, "access_keys[0]: 'a b' must be 1-32 characters of A-Z, a-z, 0-9, '.', '_' and '-'"),
    ({"access_keys": ["a", "a"]}, "access_keys[1]: 'a' is listed twice"),
    (
        {"create_access_key": False, "access_keys": ["a"]},
        "access_keys: create_access_key=False means no key at all; remove one of access_keys and create_access_key",
    ),
    (
        {"create_access_key": False, "pgp_key": "x"},
        "pgp_key: there is no access key to encrypt (create_access_key is false); remove pgp_key",
    ),
    (
        {"oidc_subjects": ["repo:a/b:c"]},
        "oidc_subjects: only with identity 'github-actions' or 'gitlab-ci' (identity is 'iam-user')",
    ),
    (
        OIDC | {"iam_user_name": "u"},
        "iam_user_name: identity 'github-actions' has no IAM user or access key; remove iam_user_name",
    ),
    (
        OIDC | {"create_access_key": True},
        "create_access_key: identity 'github-actions' has no IAM user or access key; remove it",
    ),
    (OIDC | {"gitlab_url": "https://x"}, "gitlab_url: only with identity 'gitlab-ci'"),
    (
        OIDC | {"identity": "gitlab-ci", "oidc_subjects": ["project_path:a/b:c"], "gitlab_url": "http://x"},
        "gitlab_url: 'http://x' must be an https:// URL with a host and no query, e.g. 'https://gitlab.com'",
    ),
    (
        OIDC | {"identity": "gitlab-ci", "oidc_subjects": ["project_path:a/b:c"], "gitlab_url": 7},
        "gitlab_url: must be an https:// URL, got int",
    ),
    (OIDC | {"oidc_audience": ""}, "oidc_audience: must be a non-empty string"),
    (
        OIDC | {"oidc_subjects": []},
        "oidc_subjects: is required with identity 'github-actions': a non-empty list of the token subjects allowed, "
        "e.g. ['repo:acme/web:environment:production']",
    ),
    (OIDC | {"oidc_subjects": [""]}, "oidc_subjects[0]: must be a non-empty string"),
    (
        OIDC | {"oidc_subjects": ["*"]},
        f"oidc_subjects[0]: '*' would let any owner/repository in; a subject must start with "
        f"'repo:OWNER/REPOSITORY:', {GITHUB_EXAMPLE}",
    ),
    (
        OIDC | {"oidc_subjects": ["repo:*"]},
        f"oidc_subjects[0]: 'repo:*' has a wildcard in its owner/repository part, which would let other "
        f"repositories in; name one exactly, {GITHUB_EXAMPLE}",
    ),
    (
        OIDC | {"identity": "gitlab-ci", "oidc_subjects": ["project_path:a/*:ref_type:tag:ref:v1"]},
        "oidc_subjects[0]: 'project_path:a/*:ref_type:tag:ref:v1' has a wildcard in its group/project part, which "
        "would let other projects in; name one exactly, e.g. 'project_path:acme/web:ref_type:branch:ref:main'",
    ),
    (
        OIDC | {"oidc_subjects": ["repo:a/b"]},
        f"oidc_subjects[0]: 'repo:a/b' does not start with 'repo:OWNER/REPOSITORY:' followed by a branch, tag, "
        f"environment or event, {GITHUB_EXAMPLE}",
    ),
    (
        OIDC | {"oidc_subjects": ["x:a/b:c"]},
        f"oidc_subjects[0]: 'x:a/b:c' is not a github-actions subject; it must start with 'repo:OWNER/REPOSITORY:', "
        f"{GITHUB_EXAMPLE}",
    ),
    (OIDC | {"oidc_subjects": ["repo:a/b:c", "repo:a/b:c"]}, "oidc_subjects[1]: 'repo:a/b:c' is listed twice"),
    (
        OIDC | {"oidc_subjects": [f"repo:acme/web{i}:environment:*" for i in range(60)]},
        "oidc_subjects: the trust policy would be about 2305 characters, over IAM's default limit of 2048; list "
        "fewer subjects, or one with a wildcard after the repository or project",
    ),
    (
        OIDC | {"oidc_provider_arn": "arn:aws:iam::123412341234:oidc-provider/gitlab.com"},
        "oidc_provider_arn: 'arn:aws:iam::123412341234:oidc-provider/gitlab.com' is the provider for "
        "https://gitlab.com, not for https://token.actions.githubusercontent.com",
    ),
    (
        OIDC | {"oidc_provider_arn": "x"},
        "oidc_provider_arn: 'x' is not an IAM OIDC provider ARN "
        "(arn:aws:iam::ACCOUNT:oidc-provider/token.actions.githubusercontent.com)",
    ),
    (OIDC | {"oidc_provider_arn": 5}, "oidc_provider_arn: must be a string or an Output, got int"),
    (
        OIDC
        | {
            "oidc_provider_arn": "arn:aws:iam::123412341234:oidc-provider/token.actions.githubusercontent.com",
            "create_oidc_provider": True,
        },
        "oidc_provider_arn: give an existing provider's ARN or create_oidc_provider=True, not both",
    ),
    (OIDC | {"max_session_duration": 1}, "max_session_duration: 1 must be whole seconds from 3600 to 43200"),
    ({"namspace": "web"}, "namspace: is not an argument of EksCicdAccess; did you mean 'namespace'?"),
    ({"colour": "web"}, "colour: is not an argument of EksCicdAccess"),
    (
        {"role_rules": [{"api_groups": ["apps"], "resources": ["d"], "verbs": ["get"], "resource_name": ["web"]}]},
        "role_rules[0]: unknown key 'resource_name'; did you mean 'resource_names'? (allowed: api_groups, resources, "
        "verbs, resource_names)",
    ),
    (
        OIDC | {"oidc_subjects": "repo:acme/web:pull_request"},
        "oidc_subjects: must be a list of strings, got str 'repo:acme/web:pull_request'",
    ),
    ({"access_keys": "2026-11"}, "access_keys: must be a list of 1 or 2 key labels, got str"),
    (
        {"identity": "existing"},
        "principal_arn: is required with identity 'existing': the ARN of an IAM user or role made elsewhere, e.g. "
        "'arn:aws:iam::123456789012:role/ci-deployer'",
    ),
    (
        {"identity": "existing", "principal_arn": "arn:aws:sts::123412341234:assumed-role/ci/session-1"},
        "principal_arn: 'arn:aws:sts::123412341234:assumed-role/ci/session-1' is an STS ARN (assumed-role), which "
        "names one session, not a principal; give the role's ARN, e.g. 'arn:aws:iam::123412341234:role/ci' (with its "
        "path, if it has one)",
    ),
    (
        {"identity": "existing", "principal_arn": "arn:aws:sts::123412341234:federated-user/bob"},
        "principal_arn: 'arn:aws:sts::123412341234:federated-user/bob' is an STS ARN (federated-user), which names "
        "one session, not a principal; give an IAM user or role ARN",
    ),
    (
        {"identity": "existing", "principal_arn": "arn:aws:iam::123412341234:group/ci"},
        "principal_arn: 'arn:aws:iam::123412341234:group/ci' names an IAM group, but only an IAM user or role can "
        "authenticate to EKS (arn:aws:iam::ACCOUNT:user/NAME or arn:aws:iam::ACCOUNT:role/PATH/NAME)",
    ),
    (
        {"identity": "existing", "principal_arn": "role/ci"},
        "principal_arn: 'role/ci' is not an IAM user or role ARN (arn:aws:iam::ACCOUNT:user/NAME or "
        "arn:aws:iam::ACCOUNT:role/PATH/NAME)",
    ),
    (
        {"identity": "existing", "principal_arn": "arn:aws:iam::123412341234:role/ci/web", "iam_user_name": "ci"},
        "iam_user_name: identity 'existing' creates no IAM user, role or key (principal_arn was made elsewhere); "
        "remove iam_user_name",
    ),
    (
        {
            "identity": "existing",
            "principal_arn": "arn:aws:iam::123412341234:role/ci/web",
            "attach_policy": False,
            "iam_policy_name": "p",
        },
        "iam_policy_name: attach_policy=False creates no policy; remove iam_policy_name",
    ),
    (
        {"principal_arn": "arn:aws:iam::123412341234:role/ci/web"},
        "principal_arn: only with identity 'existing' (identity is 'iam-user', which creates the principal; its ARN "
        "is the principal_arn output)",
    ),
    (
        {
            "identity": "gitlab-ci",
            "oidc_subjects": ["project_path:acme/web:ref_type:tag:ref:v1"],
            "iam_user_name": None,
            "principal_arn": "arn:aws:iam::123412341234:role/ci/web",
        },
        "principal_arn: only with identity 'existing' (identity is 'gitlab-ci', which creates the principal; its "
        "ARN is the principal_arn output)",
    ),
    (
        {"identity": "gitlab-ci", "oidc_subjects": ["project_path:acme/web:ref_type:tag:ref:v1"], "gitlab_url": 5},
        "gitlab_url: must be an https:// URL, got int",
    ),
    (
        {"permissions_boundary": "arn:aws:iam::123412341234:role/b"},
        "permissions_boundary: 'arn:aws:iam::123412341234:role/b' is not an IAM policy ARN "
        "(arn:aws:iam::ACCOUNT:policy/NAME, or arn:aws:iam::aws:policy/NAME for an AWS managed policy)",
    ),
]


@pytest.mark.parametrize(
    ("args", "message"), MESSAGES, ids=[m.split(":")[0] + str(i) for i, (_, m) in enumerate(MESSAGES)]
)
def test_argument_messages(args, message):
    """Each refused argument gets exactly this message."""
    with pytest.raises(ValueError) as raised:
        validate_args("ci", {**BASE, **args})
    assert str(raised.value) == message


def test_messages_about_the_component_name_and_args():
    """Bad defaults made from the component's name (directly and through role_name), and args that are not a dict."""
    with pytest.raises(ValueError) as raised:
        validate_args("ci user", BASE)
    assert str(raised.value) == (
        f"name: the default iam_user_name made from it is invalid ('ci user' must be 1-64 characters of "
        f"{IAM_CHARSET}); change name or set iam_user_name"
    )
    long_name = "n" * 244  # "-deployer" makes a valid 253-character role_name; "-binding" one too many
    with pytest.raises(ValueError) as raised:
        validate_args(long_name, {**BASE, "iam_user_name": "ci"})
    assert str(raised.value) == (
        f"name: the default role_binding_name made from it is invalid ('{long_name}-deployer-binding' {OBJECT_RULE}); "
        "change name or set role_binding_name"
    )
    with pytest.raises(ValueError) as raised:
        validate_args("ci", None)  # type: ignore[arg-type]
    assert str(raised.value) == "args: must be a dict of EksCicdAccessArgs, got NoneType"


FIX = "Fix it with `kubectl edit configmap aws-auth -n kube-system` and run again. Nothing was written."


def test_aws_auth_messages():
    """A key that is not a list (named by key), and a cluster in API mode."""
    with pytest.raises(ValueError) as raised:
        parse_entries(MAP_ROLES, "rolearn: x\n")
    assert str(raised.value) == (
        f"kube-system/aws-auth data.mapRoles must be a YAML list of {{rolearn, username, groups}} entries, got dict. "
        f"{FIX}"
    )
    with pytest.raises(ValueError) as raised:
        entries_for(MAP_USERS, "[", "arn:aws:iam::1:user/a")
    assert str(raised.value).startswith("kube-system/aws-auth data.mapUsers is not valid YAML (")
    assert str(raised.value).endswith(f"). {FIX}")
    with pytest.raises(ValueError) as raised:
        map_key("mapUser")
    assert str(raised.value) == "key: 'mapUser' is not one of ['mapRoles', 'mapUsers']; did you mean 'mapUsers'?"
    with pytest.raises(ValueError) as raised:
        check_authentication_mode("prod", "API")
    assert str(raised.value) == (
        "identity_mapping='aws-auth': cluster 'prod' uses authentication mode 'API', which does not read "
        "kube-system/aws-auth. Set identity_mapping='access-entry' (config identityMapping: access-entry). "
        "Nothing was written."
    )


def test_access_policies_route_message():
    """identity_mapping 'auto' that took aws-auth (a CONFIG_MAP cluster) cannot carry access policies."""
    from eks_cicd_access.mapping import check_policies_route

    with pytest.raises(ValueError) as raised:
        check_policies_route("prod", "aws-auth", "CONFIG_MAP")
    assert str(raised.value) == (
        "access_policies: identity_mapping 'auto' maps CI through aws-auth on cluster 'prod' (authentication mode "
        "'CONFIG_MAP'), which has no access entry to associate access policies with. Turn access entries on with "
        "`aws eks update-cluster-config --name prod --access-config authenticationMode=API_AND_CONFIG_MAP`, or "
        "remove access_policies. Nothing was written."
    )


@pytest.mark.parametrize("spelling", ["authenticationMode", "authentication_mode"])
def test_mapping_messages(spelling):
    """Access entries on a CONFIG_MAP cluster, and aws-auth on an API cluster, in either spelling of the field."""
    with pytest.raises(ValueError) as raised:
        checked_access_entry_cluster("prod", [{spelling: "CONFIG_MAP"}])
    assert str(raised.value) == (
        "identity_mapping='access-entry': cluster 'prod' uses authentication mode 'CONFIG_MAP', which has no access "
        "entries. Turn them on with `aws eks update-cluster-config --name prod --access-config "
        "authenticationMode=API_AND_CONFIG_MAP` (there is no way back to CONFIG_MAP), or use "
        "identity_mapping='aws-auth' (config identityMapping: aws-auth). Nothing was written."
    )
    with pytest.raises(
        ValueError, match=r"^identity_mapping='aws-auth': cluster 'prod' uses authentication mode 'API'"
    ):
        checked_cluster_name("prod", [{spelling: "API"}])


@pytest.mark.parametrize(
    ("status", "reason", "body", "text"),
    [
        (
            403,
            "Forbidden",
            '{"kind": "Status", "message": "configmaps is forbidden"}',
            "403 Forbidden: configmaps is forbidden",
        ),
        (502, "Bad Gateway", "<html>upstream down</html>", "502 Bad Gateway: <html>upstream down</html>"),
        (500, "Internal Server Error", "", "500 Internal Server Error"),
        (500, "Internal Server Error", None, "500 Internal Server Error"),
    ],
)
def test_api_error_reasons(status, reason, body, text):
    """The API server's message when it sent a Status, the raw body otherwise, nothing dangling when empty."""
    assert _status_reason(ApiException(status=status, reason=reason, body=body)) == text


def test_writer_messages():
    """403 and 401 say what the kubeconfig needs; other statuses do not; an unanswered write may have happened."""
    forbidden = _unavailable("writing", ApiException(status=401, reason="Unauthorized", body=""))
    assert str(forbidden) == (
        "writing kube-system/aws-auth failed: 401 Unauthorized. The kubeconfig's identity needs get, create and "
        "update on configmaps in kube-system. Nothing of ours was written."
    )
    other = _unavailable("reading", ApiException(status=500, reason="Internal Server Error", body=""))
    assert str(other) == "reading kube-system/aws-auth failed: 500 Internal Server Error. Nothing of ours was written."
    assert str(_unreachable("reading", OSError("refused"))) == (
        "reading kube-system/aws-auth failed: the API server did not answer (refused). Nothing of ours was written."
    )
    assert str(_unreachable("writing", OSError("timed out"), maybe_written=True)) == (
        "writing kube-system/aws-auth failed: the API server did not answer (timed out). The write may or may not "
        "have happened; running again is safe."
    )


def test_kubeconfig_token_file_message(monkeypatch, tmp_path):
    """A missing web identity token file (botocore's raw OSError): the kubeconfig tool names the file and its
    variable, not a write error."""
    import boto3

    from eks_cicd_access.kubeconfig import KubeconfigError, fetch_kubeconfig

    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    for variable in ("AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"):
        monkeypatch.setenv(variable, str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ROLE_ARN", "arn:aws:iam::123412341234:role/ci")
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/token")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    with pytest.raises(KubeconfigError) as raised:
        fetch_kubeconfig("c", "us-east-1")
    assert str(raised.value) == (
        "cannot read the web identity token file '/nonexistent/token' (AWS_WEB_IDENTITY_TOKEN_FILE): "
        "No such file or directory"
    )


def test_config_messages():
    """Stack config the program refuses before the component sees it: the key as the config spells it."""
    from eks_cicd_access.stack_config import ConfigError, from_json, role_rules_from_config

    with pytest.raises(ConfigError) as raised:
        role_rules_from_config('[{"apiGroups": ["apps"], "resources": ["d"], "verbs": ["get"], "resourceName": ["w"]}]')
    assert str(raised.value) == (
        "roleRules[0]: unknown key 'resourceName'; did you mean 'resourceNames'? (allowed: apiGroups, resources, "
        "verbs, resourceNames)"
    )
    with pytest.raises(ConfigError) as raised:
        role_rules_from_config('["get"]')
    assert str(raised.value) == "roleRules[0]: must be an object with apiGroups, resources and verbs, got str 'get'"
    with pytest.raises(ConfigError) as raised:
        from_json("tags", "{team: web}")
    assert str(raised.value) == (
        "tags: is not valid JSON (Expecting property name enclosed in double quotes at line 1 column 2): '{team: web}'"
    )


def test_undeclared_config_key_messages():
    """A key Pulumi.yaml does not declare: the key as typed, the closest declared one, and the command to remove it."""
    from eks_cicd_access.stack_config import unknown_config_keys

    assert unknown_config_keys({"eks-cicd-access:identiy", "eks-cicd-access:zzz"}, "eks-cicd-access", ["identity"]) == [
        "identiy: not a config key of eks-cicd-access, so it would be ignored; did you mean 'identity'? Remove it "
        "with `pulumi config rm identiy`, then `pulumi config set identity ...`.",
        "zzz: not a config key of eks-cicd-access, so it would be ignored. Remove it with `pulumi config rm zzz`.",
    ]


def test_warning_messages():
    """Valid but doubtful rules: a resource that no built-in group of its rule serves, with the one meant."""
    from eks_cicd_access.rbac import unserved_resources

    rules: Any = [{"api_groups": ["apps"], "resources": ["deployment"], "verbs": ["get"]}]
    assert unserved_resources(rules) == [
        "role_rules[0].resources: 'deployment' is not served by API group 'apps' in Kubernetes v1.37.2, so CI would "
        "get 403 Forbidden for it; did you mean 'deployments'?"
    ]


def test_duplicate_message(stack):
    """Two instances claiming one IAM user: both named, and why it matters."""
    from eks_cicd_access import EksCicdAccess

    def program():
        EksCicdAccess("a", {"cluster_name": "c1", "namespace": "a", "iam_user_name": "ci"})
        EksCicdAccess("b", {"cluster_name": "c1", "namespace": "b", "iam_user_name": "ci"})

    with pytest.raises(ValueError) as raised:
        stack.run(program)
    assert str(raised.value) == (
        "EksCicdAccess 'b': would create or map IAM user 'ci', and so does EksCicdAccess 'a' of this program; "
        "destroying either would delete or unmap what the other still needs. Give each instance its own, or let one "
        "instance do it"
    )
