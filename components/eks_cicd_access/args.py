"""The component's arguments and their validation.

Validation is a pure function so that bad input fails at construction, with a
``ValueError`` naming the field and the rule, before any resource is
registered and long before AWS or Kubernetes would reject it half-way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NotRequired, TypedDict

import pulumi

from .rbac import RoleRule, resolve_role_rules

IdentityMapping = Literal["aws-auth", "access-entry", "none"]
PolicyResourceScope = Literal["cluster", "any"]

IDENTITY_MAPPINGS: tuple[str, ...] = ("aws-auth", "access-entry", "none")
POLICY_RESOURCE_SCOPES: tuple[str, ...] = ("cluster", "any")

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
    iam_user_name: NotRequired[str]
    """IAM user name. Default: the component's ``name``."""
    iam_user_path: NotRequired[str]
    """IAM path of the user. Default ``"/"``."""
    iam_policy_name: NotRequired[str]
    """IAM policy name, unique per account. Default ``"<iam_user_name>-eks-describe-cluster"``."""
    policy_resource_scope: NotRequired[PolicyResourceScope]
    """``"cluster"`` (default): the policy names the cluster's ARN; ``"any"``: ``*``, as the recipe does."""
    kubernetes_username: NotRequired[str]
    """Kubernetes user the IAM user maps to. Default: ``iam_user_name``."""
    kubernetes_groups: NotRequired[list[str]]
    """Kubernetes groups of the mapping. Default ``[]``."""
    role_name: NotRequired[str]
    """Name of the Role. Default ``"<name>-deployer"``."""
    role_binding_name: NotRequired[str]
    """Name of the RoleBinding. Default ``"<role_name>-binding"``."""
    role_rules: NotRequired[str | list[RoleRule]]
    """A preset (``"deploy-rollback"``, default; ``"recipe"``) or a list of rules."""
    identity_mapping: NotRequired[IdentityMapping]
    """``"aws-auth"`` (default), ``"access-entry"`` or ``"none"``."""
    create_access_key: NotRequired[bool]
    """Create an access key for the user. Default ``True``."""
    pgp_key: NotRequired[str]
    """Base64 PGP public key (or ``keybase:user``) to encrypt the secret key with. Default: none."""
    tags: NotRequired[dict[str, str]]
    """Tags added to every AWS resource. Default ``{}``."""
    kubeconfig: NotRequired[pulumi.Input[str]]
    """Kubeconfig (YAML) the aws-auth writer reaches the cluster with; stored as a secret.
    Default: the cluster's exec kubeconfig (``aws eks get-token`` with the deployer's credentials).
    It cannot be taken from the Kubernetes provider in ``opts``: pass the same kubeconfig."""


@dataclass(frozen=True)
class ResolvedArgs:
    """Every argument with its default applied, after validation."""

    cluster_name: pulumi.Input[str]
    namespace: pulumi.Input[str]
    create_namespace: bool
    iam_user_name: str
    iam_user_path: str
    iam_policy_name: str
    policy_resource_scope: str
    kubernetes_username: str
    kubernetes_groups: list[str]
    role_name: str
    role_binding_name: str
    role_rules: list[RoleRule]
    identity_mapping: str
    create_access_key: bool
    pgp_key: str | None
    tags: dict[str, str]
    kubeconfig: pulumi.Input[str] | None


_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_IAM_NAME = re.compile(r"^[A-Za-z0-9+=,.@_-]+$")
_IAM_PATH = re.compile(r"^(/|/[\x21-\x7e]+/)$")
_EKS_CLUSTER_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9_-]*$")


def check_namespace(value: str) -> str:
    """A namespace is a DNS-1123 label: 1-63 of ``a-z0-9-``, alphanumeric at both ends."""
    if not isinstance(value, str) or len(value) > 63 or not _DNS1123_LABEL.match(value):
        raise ValueError(
            f"namespace: {value!r} is not a DNS-1123 label "
            "(1-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit)"
        )
    return value


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


def check_iam_user_name(value: str) -> str:
    """An IAM user name: 1-64 of ``A-Za-z0-9+=,.@_-``."""
    if not isinstance(value, str) or not 1 <= len(value) <= 64 or not _IAM_NAME.match(value):
        raise ValueError(f"iam_user_name: {value!r} must be 1-64 characters of A-Z, a-z, 0-9 and +=,.@_-")
    return value


def check_iam_user_path(value: str) -> str:
    """An IAM path: ``/`` or ``/a/b/``, printable ASCII, at most 512 characters."""
    if not isinstance(value, str) or len(value) > 512 or not _IAM_PATH.match(value):
        raise ValueError(
            f"iam_user_path: {value!r} must start and end with '/' (e.g. '/' or '/ci/'), "
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
    """``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{field}: {value!r} is not one of {', '.join(repr(c) for c in choices)}")
    return value


def _check_input(value: pulumi.Input[str], check: Callable[[str], str]) -> pulumi.Input[str]:
    """Check a plain value now, or an Output's value once it is known."""
    if isinstance(value, pulumi.Output):
        return value.apply(check)
    if isinstance(value, str):
        return check(value)
    raise TypeError(f"expected a str or pulumi.Output[str], got {type(value).__name__}")


def _bool(args: Mapping[str, Any], key: str, default: bool) -> bool:
    value = args.get(key, default)
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
    unknown = set(args) - set(EksCicdAccessArgs.__annotations__)
    if unknown:
        raise ValueError(f"unknown argument(s) {sorted(unknown)}; allowed: {sorted(EksCicdAccessArgs.__annotations__)}")
    for required in ("cluster_name", "namespace"):
        if args.get(required) is None:
            raise ValueError(f"{required}: is required")

    iam_user_name = check_iam_user_name(args.get("iam_user_name", name))
    role_name = check_object_name("role_name", args.get("role_name", f"{name}-deployer"))
    groups = args.get("kubernetes_groups", [])
    if not isinstance(groups, list):
        raise ValueError(f"kubernetes_groups: must be a list of strings, got {type(groups).__name__}")
    tags = args.get("tags", {})
    if not isinstance(tags, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
        raise ValueError("tags: must be a mapping of strings to strings")
    pgp_key = args.get("pgp_key")
    if pgp_key is not None and (not isinstance(pgp_key, str) or not pgp_key.strip()):
        raise ValueError("pgp_key: must be a non-empty string when given")

    return ResolvedArgs(
        cluster_name=_check_input(args["cluster_name"], check_cluster_name),
        namespace=_check_input(args["namespace"], check_namespace),
        create_namespace=_bool(args, "create_namespace", True),
        iam_user_name=iam_user_name,
        iam_user_path=check_iam_user_path(args.get("iam_user_path", "/")),
        iam_policy_name=check_iam_policy_name(args.get("iam_policy_name", f"{iam_user_name}-eks-describe-cluster")),
        policy_resource_scope=check_choice(
            "policy_resource_scope", args.get("policy_resource_scope", "cluster"), POLICY_RESOURCE_SCOPES
        ),
        kubernetes_username=check_kubernetes_subject(
            "kubernetes_username", args.get("kubernetes_username", iam_user_name)
        ),
        kubernetes_groups=[check_kubernetes_subject(f"kubernetes_groups[{i}]", g) for i, g in enumerate(groups)],
        role_name=role_name,
        role_binding_name=check_object_name("role_binding_name", args.get("role_binding_name", f"{role_name}-binding")),
        role_rules=resolve_role_rules(args.get("role_rules", "deploy-rollback")),
        identity_mapping=check_choice("identity_mapping", args.get("identity_mapping", "aws-auth"), IDENTITY_MAPPINGS),
        create_access_key=_bool(args, "create_access_key", True),
        pgp_key=pgp_key,
        tags=dict(tags),
        kubeconfig=_kubeconfig(args.get("kubeconfig")),
    )
