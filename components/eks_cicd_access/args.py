"""The component's arguments: the public contract.

``EksCicdAccessArgs`` is what users write; the enums are ``Literal``s, with their values as tuples derived from
them; ``DEFAULTS`` are the plain defaults (the schema's ``default``). The checks are in ``checks``, the resolution
into validated arguments in ``resolve``.
"""

from __future__ import annotations

import typing
from typing import Literal, NotRequired, TypedDict

import pulumi

from .rbac import RoleRule
from .trust import DEFAULT_AUDIENCE, GITLAB_ISSUER

Identity = Literal["iam-user", "github-actions", "gitlab-ci", "existing"]
IdentityMapping = Literal["aws-auth", "access-entry", "auto", "none"]
PolicyResourceScope = Literal["cluster", "any"]
AccessScope = Literal["namespace", "cluster"]

IDENTITIES: tuple[str, ...] = typing.get_args(Identity)
IDENTITY_MAPPINGS: tuple[str, ...] = typing.get_args(IdentityMapping)
POLICY_RESOURCE_SCOPES: tuple[str, ...] = typing.get_args(PolicyResourceScope)
ACCESS_SCOPES: tuple[str, ...] = typing.get_args(AccessScope)

#: The defaults of the arguments whose default is one plain value (the schema's ``default``); the others are
#: derived from other arguments, and their docstrings say how.
DEFAULTS: dict[str, bool | int | str] = {
    "create_namespace": True,
    "allow_system_namespace": False,
    "identity": "iam-user",
    "attach_policy": True,
    "iam_user_path": "/",
    "create_oidc_provider": False,
    "gitlab_url": GITLAB_ISSUER,
    "oidc_audience": DEFAULT_AUDIENCE,
    "iam_role_path": "/",
    "max_session_duration": 3600,
    "policy_resource_scope": "cluster",
    "role_rules": "deploy-rollback",
    "identity_mapping": "aws-auth",
    "create_access_key": True,
}

#: Arguments that only make sense for an IAM user, and only for an OIDC role.
USER_ONLY = ("iam_user_name", "iam_user_path", "pgp_key", "access_keys")

#: Arguments of an existing principal only.
EXISTING_ONLY = ("principal_arn", "attach_policy")

#: The label of the one key a user gets by default. Its resource also answers to the key's name from
#: before labels existed (``<name>-access-key``), so older stacks keep their key.
DEFAULT_KEY_LABEL = "default"
#: IAM allows two access keys per user: enough to overlap a rotation.
MAX_ACCESS_KEYS = 2
OIDC_ONLY = (
    "oidc_subjects",
    "oidc_provider_arn",
    "create_oidc_provider",
    "gitlab_url",
    "oidc_audience",
    "iam_role_name",
    "iam_role_path",
    "max_session_duration",
)

#: Prefixes EKS and Kubernetes keep for themselves; a CI user or group named
#: like this would be refused by EKS access entries or collide with built-ins.
RESERVED_PREFIXES: tuple[str, ...] = ("system:", "eks:", "aws:", "amazon:", "iam:")


#: Namespaces Kubernetes and EKS keep for themselves.
SYSTEM_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease", "default")
#: Arguments that may be Outputs; every other one must be known while the program runs.
OUTPUT_ARGUMENTS = frozenset({"cluster_name", "namespace", "kubeconfig", "oidc_provider_arn"})
#: Arguments that may be Outputs; every other one must be known while the program runs.
OUTPUT_ARGUMENTS = frozenset({"cluster_name", "namespace", "kubeconfig", "oidc_provider_arn"})


class AccessPolicy(TypedDict):
    """One EKS managed access policy associated with CI's access entry (keys as in Python and in every language)."""

    policy: str
    """The managed policy's name, e.g. ``AmazonEKSViewPolicy`` (``AmazonEKSEditPolicy``, ``AmazonEKSAdminPolicy``,
    ``AmazonEKSAdminViewPolicy``, ``AmazonEKSClusterAdminPolicy``); see docs/access-policies.md for what each
    grants."""
    namespaces: NotRequired[list[str]]
    """The namespaces it applies in. Default: the component's ``namespace``. Not with ``scope`` ``"cluster"``."""
    scope: NotRequired[AccessScope]
    """``"namespace"`` (default): only in ``namespaces``; ``"cluster"``: in every namespace and for cluster-wide
    resources, only when asked for by name."""


class EksCicdAccessArgs(TypedDict):
    """Arguments of :class:`~eks_cicd_access.EksCicdAccess`; a plain dict works."""

    cluster_name: pulumi.Input[str]
    """Name of the existing EKS cluster. Required."""
    namespace: pulumi.Input[str]
    """The one namespace CI may deploy to (a DNS-1123 label). Required."""
    create_namespace: NotRequired[bool]
    """Create the namespace. Default ``True``; ``False`` adopts an existing one."""
    allow_system_namespace: NotRequired[bool]
    """Allow ``namespace`` to be ``kube-system``, ``kube-public``, ``kube-node-lease`` or ``default``.
    Default ``False``: deploy rights there reach what runs the cluster."""
    identity: NotRequired[Identity]
    """Who CI is in AWS. ``"iam-user"`` (default): an IAM user with an access key.
    ``"github-actions"`` / ``"gitlab-ci"``: an IAM role the job assumes with its OIDC token; no stored key.
    ``"existing"``: the IAM user or role ``principal_arn``, made elsewhere; no IAM user, role or key is created."""
    principal_arn: NotRequired[str]
    """ARN of the IAM user or role to map (``existing``; required there), e.g.
    ``arn:aws:iam::123456789012:role/ci/deployer``. Not an STS (assumed-role) ARN."""
    attach_policy: NotRequired[bool]
    """Create the ``eks:DescribeCluster`` policy and attach it to ``principal_arn`` (``existing``), alongside
    its other policies. Default ``True``; ``False``: no policy, for a principal whose IAM you may not touch."""
    permissions_boundary: NotRequired[str]
    """ARN of the IAM policy set as the permissions boundary of the user or role created
    (``iam-user`` and the OIDC identities). Default: none."""
    iam_user_name: NotRequired[str]
    """IAM user name (``iam-user``). Default: the component's ``name``."""
    iam_user_path: NotRequired[str]
    """IAM path of the user (``iam-user``). Default ``"/"``."""
    oidc_subjects: NotRequired[list[str]]
    """Token ``sub`` claims allowed to assume the role (OIDC identities; required), exactly or with ``*``/``?``
    after the repository or project, e.g. ``repo:acme/web:environment:production``."""
    oidc_provider_arn: NotRequired[pulumi.Input[str]]
    """ARN of the account's IAM OIDC provider for the issuer. Default: looked up by the issuer's URL."""
    create_oidc_provider: NotRequired[bool]
    """Create the IAM OIDC provider (one per issuer per account: let one stack own it). Default ``False``."""
    gitlab_url: NotRequired[str]
    """The GitLab instance, which is the token issuer (``gitlab-ci``). Default ``"https://gitlab.com"``."""
    oidc_audience: NotRequired[str]
    """The token's required ``aud``. Default ``"sts.amazonaws.com"``."""
    iam_role_name: NotRequired[str]
    """IAM role name (OIDC identities). Default: the component's ``name``."""
    iam_role_path: NotRequired[str]
    """IAM path of the role. Default ``"/"`` (EKS's aws-auth names the role without it)."""
    max_session_duration: NotRequired[int]
    """Longest session CI may ask for, in seconds, 3600-43200. Default ``3600``."""
    iam_policy_name: NotRequired[str]
    """IAM policy name, unique per account. Default ``"<user or role name>-eks-describe-cluster"``."""
    policy_resource_scope: NotRequired[PolicyResourceScope]
    """``"cluster"`` (default): the policy names the cluster's ARN; ``"any"``: ``*``, as the recipe does."""
    kubernetes_username: NotRequired[str]
    """Kubernetes user the IAM principal maps to. Default: the user's or role's name."""
    kubernetes_groups: NotRequired[list[str]]
    """Kubernetes groups of the mapping. Default ``[]``."""
    role_name: NotRequired[str]
    """Name of the Role. Default ``"<name>-deployer"``."""
    role_binding_name: NotRequired[str]
    """Name of the RoleBinding. Default ``"<role_name>-binding"``."""
    role_rules: NotRequired[str | list[RoleRule] | None]
    """A preset (``"deploy-rollback"``, default; ``"recipe"``; ``"app"``; ``"helm"``; ``"helm-secrets"``, see
    docs/helm.md) or a list of rules; ``"none"``: no Role and no RoleBinding (for ``access_policies`` alone; see
    docs/access-policies.md)."""
    identity_mapping: NotRequired[IdentityMapping]
    """How EKS learns who CI is: ``"aws-auth"`` (default in 0.x), ``"access-entry"``, ``"auto"`` (recommended: an
    access entry when the cluster's authentication mode includes ``API``, ``aws-auth`` on a ``CONFIG_MAP`` cluster,
    decided at preview from ``getCluster``; needs a plain ``cluster_name``) or ``"none"`` (map it yourself)."""
    access_policies: NotRequired[list[AccessPolicy]]
    """EKS managed access policies associated with CI's access entry, each
    ``{"policy": NAME, "namespaces": [...], "scope": "namespace" | "cluster"}``: Kubernetes permissions granted
    through the AWS API alone, for a cluster whose Kubernetes API the deployer cannot reach. Only with an access
    entry (``identity_mapping`` ``"access-entry"``, or ``"auto"`` when it takes one). Broad: see
    docs/access-policies.md. Default: none."""
    create_access_key: NotRequired[bool]
    """Create an access key for the user (``iam-user``). Default ``True``; ``False``: no key at all."""
    access_keys: NotRequired[list[str]]
    """Labels of the access keys to keep (``iam-user``), 1 or 2 (IAM's limit), each 1-32 of
    ``A-Za-z0-9._-``. Adding a label creates a key, removing one deletes that key; the outputs carry
    the last label's key. Default ``["default"]``: one key. See docs/rotation.md."""
    pgp_key: NotRequired[str]
    """Base64 PGP public key (or ``keybase:user``) to encrypt the secret key with. Default: none."""
    tags: NotRequired[dict[str, str]]
    """Tags added to every AWS resource. Default ``{}``."""
    kubeconfig: NotRequired[pulumi.Input[str]]
    """Kubeconfig (YAML) the aws-auth writer reaches the cluster with; stored as a secret.
    Default: the cluster's exec kubeconfig (``aws eks get-token`` with the deployer's credentials).
    It cannot be taken from the Kubernetes provider in ``opts``: pass the same kubeconfig."""
