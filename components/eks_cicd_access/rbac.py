"""The rules of the namespaced Role that CI is bound to.

Five presets, or rules of your own. The default is the least that lets
``kubectl`` deploy and roll back a Deployment; ``app`` adds the objects that
come with it; ``helm`` and ``helm-secrets`` are the least that lets Helm
install, upgrade and roll back the same objects. ``tests/`` prove each verb
is needed by some command.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import NotRequired, TypedDict

from .suggest import did_you_mean


class RoleRule(TypedDict):
    """One RBAC rule of the Role (in Python, its keys are snake_case: ``api_groups``)."""

    api_groups: list[str]
    """API groups, e.g. ``["apps"]``; ``""`` is the core group."""
    resources: list[str]
    """Resources, e.g. ``["deployments"]``; ``"deployments/scale"`` names a subresource."""
    verbs: list[str]
    """Verbs, e.g. ``["get", "patch"]``."""
    resource_names: NotRequired[list[str]]
    """Restricts the rule to these object names. Default: every object."""


#: ``kubectl apply`` (client- and server-side), ``set image``, and
#: ``rollout status|history|undo|restart`` on a Deployment need exactly this.
#: ``rollout undo``/``history`` list ReplicaSets to find revisions;
#: ``rollout status`` lists and watches Deployments by name.
DEPLOY_ROLLBACK: list[RoleRule] = [
    {"api_groups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list", "watch", "create", "patch"]},
    {"api_groups": ["apps"], "resources": ["replicasets"], "verbs": ["list"]},
]

#: The recipe's Role, verbatim. ``extensions`` has served no Deployments or
#: ReplicaSets since Kubernetes 1.16; it is kept only for fidelity.
RECIPE: list[RoleRule] = [
    {
        "api_groups": ["extensions", "apps"],
        "resources": ["replicasets"],
        "verbs": ["list", "get", "create", "update", "delete", "watch", "patch"],
    },
    {
        "api_groups": ["extensions", "apps"],
        "resources": ["deployments"],
        "verbs": ["list", "get", "create", "update", "delete", "watch", "patch"],
    },
]

#: ``kubectl apply -f k8s/`` (client- and server-side, creating and updating) of a Deployment with its
#: Service, ConfigMap, HorizontalPodAutoscaler (autoscaling/v2) and Ingress (networking.k8s.io/v1), then
#: ``rollout status`` and ``rollout undo``: ``deploy-rollback``'s rules, plus get, create and patch on the
#: other four. Client-side apply gets each object, then creates or patches it; server-side apply patches,
#: and RBAC also wants create when that patch creates the object. No delete, update, Secrets or Pods.
APP: list[RoleRule] = [
    *DEPLOY_ROLLBACK,
    {"api_groups": [""], "resources": ["configmaps"], "verbs": ["get", "create", "patch"]},
    {"api_groups": [""], "resources": ["services"], "verbs": ["get", "create", "patch"]},
    {"api_groups": ["autoscaling"], "resources": ["horizontalpodautoscalers"], "verbs": ["get", "create", "patch"]},
    {"api_groups": ["networking.k8s.io"], "resources": ["ingresses"], "verbs": ["get", "create", "patch"]},
]

#: The ``app`` preset's objects as Helm manages them: Helm 4 applies each server-side (get, then patch; create when
#: that patch creates it), ``--wait`` watches each kind and lists the Deployment's ReplicaSets for its status, and
#: Helm deletes objects on ``--rollback-on-failure`` of a first install (an uninstall), or when a revision drops
#: them. ``--wait`` and ``helm status`` also list Pods; refused, they carry on (``helm status`` warns that it cannot
#: show them), so Pods are not granted.
_HELM_OBJECTS: list[RoleRule] = [
    {"api_groups": ["apps"], "resources": ["deployments"], "verbs": ["get", "watch", "create", "patch", "delete"]},
    {"api_groups": ["apps"], "resources": ["replicasets"], "verbs": ["list"]},
    {"api_groups": [""], "resources": ["services"], "verbs": ["get", "watch", "create", "patch", "delete"]},
    {
        "api_groups": ["autoscaling"],
        "resources": ["horizontalpodautoscalers"],
        "verbs": ["get", "watch", "create", "patch", "delete"],
    },
    {
        "api_groups": ["networking.k8s.io"],
        "resources": ["ingresses"],
        "verbs": ["get", "watch", "create", "patch", "delete"],
    },
]

#: ``helm upgrade --install --wait``, ``rollback`` (previous or named revision), ``history``, ``status``, ``list``,
#: ``--history-max`` and ``--rollback-on-failure``, with release storage in ConfigMaps (``HELM_DRIVER=configmap``):
#: each revision is a ConfigMap that Helm lists by label, creates, updates (superseded, deployed, failed) and
#: deletes (pruned). The ConfigMap rule also serves the chart's own ConfigMaps. No Secrets.
HELM: list[RoleRule] = [
    *_HELM_OBJECTS,
    {
        "api_groups": [""],
        "resources": ["configmaps"],
        "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
    },
]

#: As ``helm``, with Helm's default release storage, Secrets: CI may then read every Secret in the namespace
#: (``pulumi up`` warns). Prefer ``helm`` with ``HELM_DRIVER=configmap``.
HELM_SECRETS: list[RoleRule] = [
    *_HELM_OBJECTS,
    {"api_groups": [""], "resources": ["configmaps"], "verbs": ["get", "watch", "create", "patch", "delete"]},
    {"api_groups": [""], "resources": ["secrets"], "verbs": ["get", "list", "create", "update", "delete"]},
]

PRESETS: dict[str, list[RoleRule]] = {
    "deploy-rollback": DEPLOY_ROLLBACK,
    "recipe": RECIPE,
    "app": APP,
    "helm": HELM,
    "helm-secrets": HELM_SECRETS,
}

#: Verbs the API server knows for RBAC; anything else is a typo that would
#: silently grant nothing.
KNOWN_VERBS = frozenset(
    {
        "*",
        "get",
        "list",
        "watch",
        "create",
        "update",
        "patch",
        "delete",
        "deletecollection",
        "use",
        "bind",
        "escalate",
        "impersonate",
        "approve",
        "sign",
    }
)

_RULE_KEYS = tuple(RoleRule.__annotations__)

#: What the real kube-apiserver serves, from its discovery (``tests/cluster/test_cluster_discovery.py`` regenerates and
#: compares it): each built-in API group (``""`` the core group) with its resources and subresources.
API_RESOURCES_FILE = Path(__file__).with_name("data") / "api-resources.json"
_API_RESOURCES = json.loads(API_RESOURCES_FILE.read_text())
KUBERNETES_VERSION: str = _API_RESOURCES["kubernetesVersion"]
BUILT_IN_RESOURCES: dict[str, frozenset[str]] = {g: frozenset(r) for g, r in _API_RESOURCES["groups"].items()}
#: An API version where a group belongs: ``v1``, ``v2beta1``...
_VERSION = re.compile(r"v\d+(?:(?:alpha|beta)\d+)?")


def _group_without_version(where: str, group: str) -> None:
    """A Role names API groups alone: ``apps/v1`` or ``v1`` is refused, with the group meant."""
    head, slash, tail = group.partition("/")
    meant = head if slash and _VERSION.fullmatch(tail) else "" if _VERSION.fullmatch(group) else None
    if meant is not None or slash:
        suggestion = f"; did you mean {meant!r}?" if meant is not None else ""
        raise ValueError(
            f"{where}.api_groups: {group!r} is not an API group: a Role names the group without its version "
            f"(the core group is ''){suggestion}"
        )


def resolve_role_rules(role_rules: str | Sequence[RoleRule]) -> list[RoleRule]:
    """Return the rules for a preset name or a list of rules, validated.

    Raises ``ValueError`` naming ``role_rules`` and the broken rule: an unknown
    preset, an empty list, a rule with no ``api_groups``, ``resources`` or
    ``verbs``, an unknown key or verb.
    """
    if isinstance(role_rules, str):
        if role_rules not in PRESETS:
            raise ValueError(
                f"role_rules: unknown preset {role_rules!r}{did_you_mean(role_rules, PRESETS)} (presets: "
                f"{', '.join(sorted(PRESETS))}; a list of rules; or 'none')"
            )
        return [_copy_rule(rule) for rule in PRESETS[role_rules]]
    if not isinstance(role_rules, list | tuple):
        raise ValueError(
            f"role_rules: must be a preset name ({', '.join(sorted(PRESETS))}) or a list of rules, "
            f"got {type(role_rules).__name__}"
        )
    rules = list(role_rules)
    if not rules:
        raise ValueError("role_rules: the list is empty; the Role would grant nothing")
    for index, rule in enumerate(rules):
        where = f"role_rules[{index}]"
        if not isinstance(rule, dict):
            raise ValueError(f"{where}: must be a mapping with api_groups, resources and verbs")
        unknown = [key for key in rule if key not in _RULE_KEYS]
        if unknown:
            raise ValueError(
                f"{where}: unknown key {unknown[0]!r}{did_you_mean(str(unknown[0]), _RULE_KEYS)} "
                f"(allowed: {', '.join(_RULE_KEYS)})"
            )
        for key in ("api_groups", "resources", "verbs"):
            values = rule.get(key)
            if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
                raise ValueError(f"{where}.{key}: must be a non-empty list of strings")
        for key, values in (("resources", rule["resources"]), ("verbs", rule["verbs"])):
            if any(not v for v in values):
                raise ValueError(f"{where}.{key}: must not contain an empty string")
        for group in rule["api_groups"]:
            _group_without_version(where, group)
        bad_verbs = [v for v in rule["verbs"] if v not in KNOWN_VERBS]
        if bad_verbs:
            raise ValueError(
                f"{where}.verbs: unknown verb {bad_verbs[0]!r}{did_you_mean(bad_verbs[0], KNOWN_VERBS - {'*'})} "
                f"(known: {', '.join(sorted(KNOWN_VERBS))})"
            )
        names = rule.get("resource_names")
        if names is not None and (not isinstance(names, list) or not all(isinstance(n, str) and n for n in names)):
            raise ValueError(f"{where}.resource_names: must be a list of non-empty strings")
    return [_copy_rule(rule) for rule in rules]


def _copy_rule(rule: RoleRule) -> RoleRule:
    copied: RoleRule = {
        "api_groups": list(rule["api_groups"]),
        "resources": list(rule["resources"]),
        "verbs": list(rule["verbs"]),
    }
    if "resource_names" in rule:
        copied["resource_names"] = list(rule["resource_names"])
    return copied


def unserved_resources(rules: Sequence[RoleRule]) -> list[str]:
    """A warning for each resource that no built-in API group of its rule serves (``deployment`` for
    ``deployments``): valid RBAC, but CI would get 403 Forbidden. A rule naming a group that is not built in (a
    custom resource's) or ``*`` is not judged."""
    warnings = []
    for index, rule in enumerate(rules):
        groups = rule["api_groups"]
        if not all(group in BUILT_IN_RESOURCES for group in groups):
            continue
        served = frozenset().union(*(BUILT_IN_RESOURCES[group] for group in groups))
        for resource in rule["resources"]:
            if resource in served or "*" in resource:
                continue
            named = ", ".join(repr(group) for group in groups)
            warnings.append(
                f"role_rules[{index}].resources: {resource!r} is not served by API group {named} in Kubernetes "
                f"{KUBERNETES_VERSION}, so CI would get 403 Forbidden for it{did_you_mean(resource, served)}"
            )
    return warnings


def secret_readers(rules: Sequence[RoleRule]) -> list[str]:
    """A warning for each rule that lets CI read Secrets (``get``, ``list`` or ``watch`` on ``secrets``, or ``*``):
    every Secret of the namespace, not only Helm's release records."""
    warnings = []
    for index, rule in enumerate(rules):
        reads = [v for v in rule["verbs"] if v in ("get", "list", "watch", "*")]
        core = "" in rule["api_groups"] or "*" in rule["api_groups"]
        if reads and core and ("secrets" in rule["resources"]) and not rule.get("resource_names"):
            warnings.append(
                f"role_rules[{index}]: {', '.join(reads)} on secrets lets CI read every Secret in the namespace "
                "(database passwords, tokens, TLS keys), not only Helm's release records; with Helm, prefer the "
                "'helm' preset and HELM_DRIVER=configmap"
            )
    return warnings


def broad_rules(rules: Sequence[RoleRule]) -> list[str]:
    """A warning for each rule with ``*`` in its verbs or resources: valid, and sometimes meant, but far more
    than deploy and roll back."""
    warnings = []
    for index, rule in enumerate(rules):
        if "*" in rule["verbs"]:
            warnings.append(
                f"role_rules[{index}]: verbs '*' grants every verb (delete, deletecollection, escalate...) on "
                f"{', '.join(rule['resources'])}; list the verbs CI needs"
            )
        if "*" in rule["resources"]:
            warnings.append(
                f"role_rules[{index}]: resources '*' grants {', '.join(rule['verbs'])} on every resource of the "
                "namespace, Secrets among them; list the resources CI needs"
            )
    return warnings
