"""Pure checks of single arguments: each returns the value or raises ``ValueError`` naming the field and the rule.

They judge plain values; an Output's value is checked once known, inside an apply, as a ``pulumi.RunError``
(:func:`check_input`). ``kubeconfig``'s command line shares the cluster-name rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import pulumi

from .access_policies import MANAGED_POLICIES, PolicyAssociation
from .args import ACCESS_SCOPES, RESERVED_PREFIXES, SYSTEM_NAMESPACES, AccessPolicy
from .suggest import did_you_mean

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_IAM_NAME = re.compile(r"^[A-Za-z0-9+=,.@_-]+$")
_IAM_PATH = re.compile(r"^(/|/[\x21-\x7e]+/)$")
_EKS_CLUSTER_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$")

_KEY_LABEL = re.compile(r"^[A-Za-z0-9._-]{1,32}$")
#: The rule for an EKS cluster name, as messages state it.
EKS_CLUSTER_NAME_RULE = "1-100 characters of A-Z, a-z, 0-9, '-' and '_', starting with a letter or digit"
#: IAM's tag limits.
MAX_TAGS, MAX_TAG_KEY, MAX_TAG_VALUE = 50, 128, 256


def is_eks_cluster_name(value: object) -> bool:
    """``value`` is an EKS cluster name (:data:`EKS_CLUSTER_NAME_RULE`)."""
    return isinstance(value, str) and _EKS_CLUSTER_NAME.fullmatch(value) is not None


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
    if not is_eks_cluster_name(value):
        raise ValueError(f"cluster_name: {value!r} is not an EKS cluster name ({EKS_CLUSTER_NAME_RULE})")
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


def check_key_label(field: str, value: object) -> str:
    """An access key's label: 1-32 of ``A-Za-z0-9._-``."""
    if not isinstance(value, str) or not _KEY_LABEL.match(value):
        raise ValueError(f"{field}: {value!r} must be 1-32 characters of A-Z, a-z, 0-9, '.', '_' and '-'")
    return value


def check_choice(field: str, value: str, choices: Sequence[str]) -> str:
    """``value`` is one of ``choices``; else the closest one in the message."""
    if value not in choices:
        raise ValueError(
            f"{field}: {value!r} is not one of {', '.join(repr(c) for c in choices)}{did_you_mean(str(value), choices)}"
        )
    return value


def check_input(field: str, value: pulumi.Input[str], check: Callable[[str], str]) -> pulumi.Input[str]:
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


def has_output(value: object) -> bool:
    if isinstance(value, pulumi.Output):
        return True
    if isinstance(value, dict):
        return any(has_output(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(has_output(v) for v in value)
    return False


_POLICY_KEYS = tuple(AccessPolicy.__annotations__)


def check_access_policies(value: object, allow_system: bool = False) -> list[PolicyAssociation]:
    """``access_policies``: a non-empty list of ``{policy, namespaces, scope}``, each a managed policy named once,
    ``namespaces`` (default: the component's, ``None`` here) non-empty DNS-1123 labels listed once, and none with
    a cluster scope."""
    if not isinstance(value, list):
        raise ValueError(
            f"access_policies: must be a list of {{policy, namespaces, scope}} objects, got {type(value).__name__}"
        )
    if not value:
        raise ValueError("access_policies: the list is empty; leave access_policies out for no access policy")
    found: list[PolicyAssociation] = []
    for index, item in enumerate(value):
        where = f"access_policies[{index}]"
        if not isinstance(item, dict):
            raise ValueError(
                f"{where}: must be a mapping with policy (and namespaces or scope), got {type(item).__name__}"
            )
        for key in item:
            if key not in _POLICY_KEYS:
                raise ValueError(
                    f"{where}: unknown key {key!r}{did_you_mean(str(key), _POLICY_KEYS)} "
                    f"(allowed: {', '.join(_POLICY_KEYS)})"
                )
        name = item.get("policy")
        if not isinstance(name, str) or name not in MANAGED_POLICIES:
            meant = did_you_mean(str(name).rsplit("/", 1)[-1], MANAGED_POLICIES) if isinstance(name, str) else ""
            raise ValueError(
                f"{where}.policy: {name!r} is not a managed access policy of EKS that this component associates "
                f"({', '.join(MANAGED_POLICIES)}){meant}"
            )
        if any(held.policy == name for held in found):
            raise ValueError(
                f"{where}.policy: {name!r} is listed twice (EKS keeps one association per policy); list it once "
                "with all its namespaces"
            )
        scope = check_choice(f"{where}.scope", item.get("scope", "namespace"), ACCESS_SCOPES)
        namespaces = item.get("namespaces")
        if scope == "cluster" and namespaces is not None:
            raise ValueError(
                f"{where}.namespaces: scope 'cluster' applies in every namespace and takes none; remove namespaces, "
                "or remove scope for these namespaces only"
            )
        found.append(
            PolicyAssociation(
                name, scope, None if namespaces is None else _policy_namespaces(where, namespaces, allow_system)
            )
        )
    return found


def _policy_namespaces(where: str, namespaces: object, allow_system: bool) -> tuple[str, ...]:
    if not isinstance(namespaces, list):
        raise ValueError(f"{where}.namespaces: must be a list of namespaces, got {type(namespaces).__name__}")
    if not namespaces:
        raise ValueError(
            f"{where}.namespaces: the list is empty; leave namespaces out for the component's namespace, or set scope "
            "'cluster' for every namespace"
        )
    for index, namespace in enumerate(namespaces):
        try:
            check_namespace(namespace, allow_system=allow_system)
        except ValueError as error:
            raise ValueError(f"{where}.namespaces[{index}]: {str(error).removeprefix('namespace: ')}") from None
        if namespace in namespaces[:index]:
            raise ValueError(f"{where}.namespaces[{index}]: {namespace!r} is listed twice")
    return tuple(namespaces)
