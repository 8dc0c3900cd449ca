"""The component's arguments and their validation.

Validation is a pure function so that bad input fails at construction, with a
``ValueError`` naming the field and the rule, before any resource is
registered and long before AWS or Kubernetes would reject it half-way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, NotRequired, TypedDict

import pulumi

from .arns import PrincipalArn, check_policy_arn, check_principal_arn
from .rbac import RoleRule, resolve_role_rules
from .suggest import did_you_mean
from .trust import (
    DEFAULT_AUDIENCE,
    GITHUB_ISSUER,
    GITLAB_ISSUER,
    PLATFORMS,
    TRUST_POLICY_LIMIT,
    Platform,
    check_issuer_url,
    check_subjects,
    provider_arn_issuer,
    trust_policy_size,
)

Identity = Literal["iam-user", "github-actions", "gitlab-ci", "existing"]
IdentityMapping = Literal["aws-auth", "access-entry", "auto", "none"]
PolicyResourceScope = Literal["cluster", "any"]

IDENTITIES: tuple[str, ...] = ("iam-user", "github-actions", "gitlab-ci", "existing")
IDENTITY_MAPPINGS: tuple[str, ...] = ("aws-auth", "access-entry", "auto", "none")
POLICY_RESOURCE_SCOPES: tuple[str, ...] = ("cluster", "any")

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
_KEY_LABEL = re.compile(r"^[A-Za-z0-9._-]{1,32}$")
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
    role_rules: NotRequired[str | list[RoleRule]]
    """A preset (``"deploy-rollback"``, default; ``"recipe"``; ``"app"``) or a list of rules."""
    identity_mapping: NotRequired[IdentityMapping]
    """How EKS learns who CI is: ``"aws-auth"`` (default in 0.x), ``"access-entry"``, ``"auto"`` (recommended: an
    access entry when the cluster's authentication mode includes ``API``, ``aws-auth`` on a ``CONFIG_MAP`` cluster,
    decided at preview from ``getCluster``; needs a plain ``cluster_name``) or ``"none"`` (map it yourself)."""
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


@dataclass(frozen=True)
class UserArgs:
    """The IAM user identity, validated."""

    name: str
    path: str
    #: One label per access key, oldest first; empty for no key.
    access_keys: list[str]
    pgp_key: str | None
    permissions_boundary: str | None


@dataclass(frozen=True)
class ExistingArgs:
    """An IAM user or role made elsewhere, validated."""

    principal: PrincipalArn
    attach_policy: bool


@dataclass(frozen=True)
class RoleArgs:
    """The OIDC role identity, validated."""

    platform: Platform
    issuer_url: str
    subjects: list[str]
    audience: str
    provider_arn: pulumi.Input[str] | None
    create_provider: bool
    name: str
    path: str
    max_session_duration: int
    permissions_boundary: str | None


@dataclass(frozen=True)
class ResolvedArgs:
    """Every argument with its default applied, after validation."""

    cluster_name: pulumi.Input[str]
    namespace: pulumi.Input[str]
    create_namespace: bool
    identity: str
    #: Exactly one of ``user``, ``role`` and ``existing`` is set, by ``identity``.
    user: UserArgs | None
    role: RoleArgs | None
    existing: ExistingArgs | None
    #: Whether the ``eks:DescribeCluster`` policy is created (always, unless an existing principal opts out).
    create_policy: bool
    iam_policy_name: str
    policy_resource_scope: str
    kubernetes_username: str
    kubernetes_groups: list[str]
    role_name: str
    role_binding_name: str
    role_rules: list[RoleRule]
    identity_mapping: str
    tags: dict[str, str]
    kubeconfig: pulumi.Input[str] | None


_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_IAM_NAME = re.compile(r"^[A-Za-z0-9+=,.@_-]+$")
_IAM_PATH = re.compile(r"^(/|/[\x21-\x7e]+/)$")
_EKS_CLUSTER_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9_-]*$")


#: Namespaces Kubernetes and EKS keep for themselves.
SYSTEM_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease", "default")
#: Arguments that may be Outputs; every other one must be known while the program runs.
OUTPUT_ARGUMENTS = frozenset({"cluster_name", "namespace", "kubeconfig", "oidc_provider_arn"})
#: IAM's tag limits.
MAX_TAGS, MAX_TAG_KEY, MAX_TAG_VALUE = 50, 128, 256


def check_namespace(value: str, allow_system: bool = False) -> str:
    """A namespace is a DNS-1123 label: 1-63 of ``a-z0-9-``, alphanumeric at both ends; not a system
    namespace unless ``allow_system``."""
    if not isinstance(value, str) or len(value) > 63 or not _DNS1123_LABEL.match(value):
        raise ValueError(
            f"namespace: {value!r} is not a DNS-1123 label "
            "(1-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit)"
        )
    if value in SYSTEM_NAMESPACES and not allow_system:
        raise ValueError(
            f"namespace: {value!r} is a system namespace ({', '.join(SYSTEM_NAMESPACES)}): deploy rights there reach "
            "what runs the cluster (CoreDNS, kube-proxy, the VPC CNI) and whatever else was put there. Use a "
            "namespace of your own, or set allow_system_namespace=True if that is really meant"
        )
    return value


def check_tags(tags: object) -> dict[str, str]:
    """Tags for AWS resources: at most 50; keys 1-128 characters, not starting with ``aws:``; values up to 256."""
    if not isinstance(tags, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
        raise ValueError("tags: must be a mapping of strings to strings")
    if len(tags) > MAX_TAGS:
        raise ValueError(f"tags: {len(tags)} tags, over AWS's limit of {MAX_TAGS} per resource")
    for key, value in tags.items():
        if not 1 <= len(key) <= MAX_TAG_KEY:
            raise ValueError(f"tags: key {key!r} is {len(key)} characters; a tag key has 1-{MAX_TAG_KEY}")
        if key.lower().startswith("aws:"):
            raise ValueError(f"tags: key {key!r} starts with 'aws:', which AWS keeps for its own tags")
        if len(value) > MAX_TAG_VALUE:
            raise ValueError(
                f"tags[{key!r}]: the value is {len(value)} characters; a tag value has at most {MAX_TAG_VALUE}"
            )
    return dict(tags)


def check_cluster_name(value: str) -> str:
    """An EKS cluster name: 1-100 of ``A-Za-z0-9_-``, starting alphanumeric."""
    if not isinstance(value, str) or not value:
        raise ValueError("cluster_name: must be a non-empty string")
    if len(value) > 100 or not _EKS_CLUSTER_NAME.match(value):
        raise ValueError(
            f"cluster_name: {value!r} is not an EKS cluster name "
            "(1-100 characters of A-Z, a-z, 0-9, '-' and '_', starting with a letter or digit)"
        )
    return value


def check_iam_name(field: str, value: str) -> str:
    """An IAM user or role name: 1-64 of ``A-Za-z0-9+=,.@_-``."""
    if not isinstance(value, str) or not 1 <= len(value) <= 64 or not _IAM_NAME.match(value):
        raise ValueError(f"{field}: {value!r} must be 1-64 characters of A-Z, a-z, 0-9 and +=,.@_-")
    return value


def check_iam_user_name(value: str) -> str:
    """An IAM user name (see ``check_iam_name``)."""
    return check_iam_name("iam_user_name", value)


def check_iam_path(field: str, value: str) -> str:
    """An IAM path: ``/`` or ``/a/b/``, printable ASCII, at most 512 characters."""
    if not isinstance(value, str) or len(value) > 512 or not _IAM_PATH.match(value):
        raise ValueError(
            f"{field}: {value!r} must start and end with '/' (e.g. '/' or '/ci/'), "
            "at most 512 printable ASCII characters without spaces"
        )
    return value


def check_iam_policy_name(value: str) -> str:
    """An IAM policy name: 1-128 of ``A-Za-z0-9+=,.@_-``."""
    if not isinstance(value, str) or not 1 <= len(value) <= 128 or not _IAM_NAME.match(value):
        raise ValueError(f"iam_policy_name: {value!r} must be 1-128 characters of A-Z, a-z, 0-9 and +=,.@_-")
    return value


def check_kubernetes_subject(field: str, value: str) -> str:
    """A Kubernetes user or group name: non-empty, no reserved prefix."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{field}: must be a non-empty string")
    for prefix in RESERVED_PREFIXES:
        if value.lower().startswith(prefix):
            raise ValueError(
                f"{field}: {value!r} starts with the reserved prefix {prefix!r} ({', '.join(RESERVED_PREFIXES)})"
            )
    return value


def check_object_name(field: str, value: str) -> str:
    """An RBAC object name: a path segment of 1-253 characters (no '/', '%', not '.' or '..')."""
    if not isinstance(value, str) or not 1 <= len(value) <= 253 or value in (".", "..") or "/" in value or "%" in value:
        raise ValueError(f"{field}: {value!r} must be 1-253 characters without '/' or '%', and not '.' or '..'")
    return value


def check_choice(field: str, value: str, choices: Sequence[str]) -> str:
    """``value`` is one of ``choices``; else the closest one in the message."""
    if value not in choices:
        raise ValueError(
            f"{field}: {value!r} is not one of {', '.join(repr(c) for c in choices)}{did_you_mean(str(value), choices)}"
        )
    return value


def _check_input(field: str, value: pulumi.Input[str], check: Callable[[str], str]) -> pulumi.Input[str]:
    """Check a plain value now, or an Output's value once it is known.

    An Output's bad value is a ``pulumi.RunError``: the SDK wraps a ``ValueError`` raised while it serializes
    inputs in one "While processing input" layer per object, and the engine prints a RunError's message alone.
    """
    if isinstance(value, pulumi.Output):
        return value.apply(partial(checked_when_known, check))
    if isinstance(value, str):
        return check(value)
    raise ValueError(f"{field}: must be a string or a pulumi.Output[str], got {type(value).__name__} {value!r}")


def checked_when_known(check: Callable[..., str], *values: Any) -> str:
    """``check(*values)`` inside an apply: its ``ValueError`` becomes a ``pulumi.RunError`` with the same message,
    which the engine shows alone (a ``ValueError`` would come wrapped in the SDK's "While processing input" and a
    traceback)."""
    try:
        return check(*values)
    except ValueError as error:
        raise pulumi.RunError(str(error)) from None


def _has_output(value: object) -> bool:
    if isinstance(value, pulumi.Output):
        return True
    if isinstance(value, dict):
        return any(_has_output(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_output(v) for v in value)
    return False


def _defaulted(field: str, args: Mapping[str, Any], derived: str, source: str, check: Callable[[str], str]) -> str:
    """``args[field]`` checked, or its default ``derived`` from ``source``; a bad default names ``source``,
    the field the user actually gave."""
    if field in args:
        return check(args[field])
    try:
        return check(derived)
    except ValueError as error:
        reason = str(error).removeprefix(f"{field}: ")
        raise ValueError(
            f"{source}: the default {field} made from it is invalid ({reason}); change {source} or set {field}"
        ) from None


def _bool(args: Mapping[str, Any], key: str, default: bool | None = None) -> bool:
    """``args[key]``, else ``default``, else the argument's default; a non-bool is refused."""
    value = args.get(key, DEFAULTS[key] if default is None else default)
    if not isinstance(value, bool):
        raise ValueError(f"{key}: must be true or false, got {value!r}")
    return value


def _kubeconfig(value: Any) -> pulumi.Input[str] | None:
    if value is None or isinstance(value, pulumi.Output):
        return value
    if not isinstance(value, str) or not value.strip():
        raise ValueError("kubeconfig: must be a non-empty kubeconfig (YAML) when given")
    return value


def validate_args(name: str, args: Mapping[str, Any]) -> ResolvedArgs:
    """Validate ``args`` and apply defaults; raise ``ValueError`` naming the field.

    Unknown keys are rejected too: a plain dict with a misspelt key would
    otherwise silently fall back to a default.
    """
    if not isinstance(args, Mapping):
        raise ValueError(f"args: must be a dict of EksCicdAccessArgs, got {type(args).__name__}")
    known = EksCicdAccessArgs.__annotations__
    for field in args:
        if field not in known:
            raise ValueError(f"{field}: is not an argument of EksCicdAccess{did_you_mean(str(field), known)}")
    for required in ("cluster_name", "namespace"):
        if args.get(required) is None:
            raise ValueError(f"{required}: is required")
    for field, value in args.items():
        if field not in OUTPUT_ARGUMENTS and _has_output(value):
            raise ValueError(
                f"{field}: must be a plain value, not a pulumi.Output: it names or shapes resources, so it must be "
                f"known while the program runs (only {', '.join(sorted(OUTPUT_ARGUMENTS))} may be Outputs)"
            )

    identity = check_choice("identity", args.get("identity", DEFAULTS["identity"]), IDENTITIES)
    user: UserArgs | None = None
    role: RoleArgs | None = None
    existing: ExistingArgs | None = None
    if identity == "iam-user":
        user = _user_args(name, args)
        principal_name = user.name
    elif identity == "existing":
        existing = _existing_args(args)
        principal_name = existing.principal.name
    else:
        role = _role_args(name, identity, args)
        principal_name = role.name
    role_name = _defaulted("role_name", args, f"{name}-deployer", "name", partial(check_object_name, "role_name"))
    groups = args.get("kubernetes_groups", [])
    if not isinstance(groups, list):
        raise ValueError(f"kubernetes_groups: must be a list of strings, got {type(groups).__name__}")
    allow_system = _bool(args, "allow_system_namespace")

    return ResolvedArgs(
        cluster_name=_check_input("cluster_name", args["cluster_name"], check_cluster_name),
        namespace=_check_input("namespace", args["namespace"], partial(check_namespace, allow_system=allow_system)),
        create_namespace=_bool(args, "create_namespace"),
        identity=identity,
        user=user,
        role=role,
        existing=existing,
        create_policy=existing is None or existing.attach_policy,
        iam_policy_name=check_iam_policy_name(args.get("iam_policy_name", f"{principal_name}-eks-describe-cluster")),
        policy_resource_scope=check_choice(
            "policy_resource_scope",
            args.get("policy_resource_scope", DEFAULTS["policy_resource_scope"]),
            POLICY_RESOURCE_SCOPES,
        ),
        kubernetes_username=check_kubernetes_subject(
            "kubernetes_username", args.get("kubernetes_username", principal_name)
        ),
        kubernetes_groups=[check_kubernetes_subject(f"kubernetes_groups[{i}]", g) for i, g in enumerate(groups)],
        role_name=role_name,
        role_binding_name=_defaulted(
            "role_binding_name",
            args,
            f"{role_name}-binding",
            "role_name" if "role_name" in args else "name",
            partial(check_object_name, "role_binding_name"),
        ),
        role_rules=resolve_role_rules(args.get("role_rules", DEFAULTS["role_rules"])),
        identity_mapping=_identity_mapping(args),
        tags=check_tags(args.get("tags", {})),
        kubeconfig=_kubeconfig(args.get("kubeconfig")),
    )


def _identity_mapping(args: Mapping[str, Any]) -> str:
    mapping = check_choice(
        "identity_mapping", args.get("identity_mapping", DEFAULTS["identity_mapping"]), IDENTITY_MAPPINGS
    )
    if mapping == "auto" and not isinstance(args["cluster_name"], str):
        raise ValueError(
            "identity_mapping: 'auto' needs cluster_name as a plain string, not an Output: the route is read from "
            "the cluster before anything is created. Set 'access-entry' or 'aws-auth' instead."
        )
    return mapping


def _refuse_existing_only(identity: str, args: Mapping[str, Any]) -> None:
    for field in EXISTING_ONLY:
        if field in args:
            raise ValueError(
                f"{field}: only with identity 'existing' (identity is {identity!r}, which creates the principal; "
                "its ARN is the principal_arn output)"
            )


def _boundary(args: Mapping[str, Any]) -> str | None:
    value = args.get("permissions_boundary")
    return None if value is None else check_policy_arn("permissions_boundary", value)


def _existing_args(args: Mapping[str, Any]) -> ExistingArgs:
    """An existing principal's arguments; whatever would create a user, role or key is refused here."""
    for field in (*USER_ONLY, *OIDC_ONLY, "create_access_key", "permissions_boundary"):
        if field in args:
            raise ValueError(
                f"{field}: identity 'existing' creates no IAM user, role or key (principal_arn was made elsewhere); "
                f"remove {field}"
            )
    principal = check_principal_arn(args.get("principal_arn"))
    attach = _bool(args, "attach_policy")
    if not attach:
        for field in ("iam_policy_name", "policy_resource_scope"):
            if field in args:
                raise ValueError(f"{field}: attach_policy=False creates no policy; remove {field}")
    return ExistingArgs(principal=principal, attach_policy=attach)


def _user_args(name: str, args: Mapping[str, Any]) -> UserArgs:
    """The IAM user's arguments; OIDC arguments are refused here."""
    _refuse_existing_only("iam-user", args)
    for field in OIDC_ONLY:
        if field in args:
            raise ValueError(f"{field}: only with identity 'github-actions' or 'gitlab-ci' (identity is 'iam-user')")
    pgp_key = args.get("pgp_key")
    if pgp_key is not None and (not isinstance(pgp_key, str) or not pgp_key.strip()):
        raise ValueError("pgp_key: must be a non-empty string when given")
    labels = _access_keys(args)
    if pgp_key is not None and not labels:
        raise ValueError("pgp_key: there is no access key to encrypt (create_access_key is false); remove pgp_key")
    return UserArgs(
        name=_defaulted("iam_user_name", args, name, "name", check_iam_user_name),
        path=check_iam_path("iam_user_path", args.get("iam_user_path", DEFAULTS["iam_user_path"])),
        access_keys=labels,
        pgp_key=pgp_key,
        permissions_boundary=_boundary(args),
    )


def _access_keys(args: Mapping[str, Any]) -> list[str]:
    """The access key labels, oldest first: ``access_keys``, or one default key, or none."""
    create = _bool(args, "create_access_key")
    labels = args.get("access_keys")
    if labels is None:
        return [DEFAULT_KEY_LABEL] if create else []
    if not create:
        raise ValueError(
            "access_keys: create_access_key=False means no key at all; remove one of access_keys and create_access_key"
        )
    if not isinstance(labels, list):
        raise ValueError(f"access_keys: must be a list of 1 or 2 key labels, got {type(labels).__name__}")
    if not labels:
        raise ValueError("access_keys: must list 1 or 2 key labels; for no key at all set create_access_key=False")
    if len(labels) > MAX_ACCESS_KEYS:
        raise ValueError(
            f"access_keys: {len(labels)} labels, but IAM allows {MAX_ACCESS_KEYS} access keys per user "
            "(two only while rotating); drop the oldest"
        )
    for i, label in enumerate(labels):
        if not isinstance(label, str) or not _KEY_LABEL.match(label):
            raise ValueError(f"access_keys[{i}]: {label!r} must be 1-32 characters of A-Z, a-z, 0-9, '.', '_' and '-'")
        if label in labels[:i]:
            raise ValueError(f"access_keys[{i}]: {label!r} is listed twice")
    return list(labels)


def _role_args(name: str, identity: str, args: Mapping[str, Any]) -> RoleArgs:
    """The OIDC role's arguments; an IAM user's are refused here (there is no user and no key)."""
    _refuse_existing_only(identity, args)
    for field in USER_ONLY:
        if field in args:
            raise ValueError(f"{field}: identity {identity!r} has no IAM user or access key; remove {field}")
    if _bool(args, "create_access_key", False):
        raise ValueError(f"create_access_key: identity {identity!r} has no IAM user or access key; remove it")
    platform = PLATFORMS[identity]
    if identity == "github-actions" and "gitlab_url" in args:
        raise ValueError("gitlab_url: only with identity 'gitlab-ci'")
    issuer = (
        GITHUB_ISSUER
        if identity == "github-actions"
        else check_issuer_url("gitlab_url", args.get("gitlab_url", DEFAULTS["gitlab_url"]))
    )
    audience = args.get("oidc_audience", DEFAULTS["oidc_audience"])
    if not isinstance(audience, str) or not audience.strip():
        raise ValueError("oidc_audience: must be a non-empty string")
    subjects = check_subjects(platform, args.get("oidc_subjects"))
    create_provider = _bool(args, "create_oidc_provider")
    provider_arn = args.get("oidc_provider_arn")
    if provider_arn is not None and create_provider:
        raise ValueError("oidc_provider_arn: give an existing provider's ARN or create_oidc_provider=True, not both")
    if isinstance(provider_arn, str):
        found = provider_arn_issuer(provider_arn)
        if found.lower() != issuer.lower():
            raise ValueError(f"oidc_provider_arn: {provider_arn!r} is the provider for {found}, not for {issuer}")
    elif provider_arn is not None and not isinstance(provider_arn, pulumi.Output):
        raise ValueError(f"oidc_provider_arn: must be a string or an Output, got {type(provider_arn).__name__}")
    size = trust_policy_size(issuer, audience, subjects)
    if size > TRUST_POLICY_LIMIT:
        raise ValueError(
            f"oidc_subjects: the trust policy would be about {size} characters, over IAM's default limit of "
            f"{TRUST_POLICY_LIMIT}; list fewer subjects, or one with a wildcard after the repository or project"
        )
    duration = args.get("max_session_duration", DEFAULTS["max_session_duration"])
    if isinstance(duration, bool) or not isinstance(duration, int) or not 3600 <= duration <= 43200:
        raise ValueError(f"max_session_duration: {duration!r} must be whole seconds from 3600 to 43200")
    return RoleArgs(
        platform=platform,
        issuer_url=issuer,
        subjects=subjects,
        audience=audience,
        provider_arn=provider_arn,
        create_provider=create_provider,
        name=_defaulted("iam_role_name", args, name, "name", partial(check_iam_name, "iam_role_name")),
        path=check_iam_path("iam_role_path", args.get("iam_role_path", DEFAULTS["iam_role_path"])),
        max_session_duration=duration,
        permissions_boundary=_boundary(args),
    )
