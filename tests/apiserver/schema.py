"""Kubernetes 1.37's OpenAPI definitions, from the schemas ``kubernetes-validate`` ships.

The test API server serves them as ``/openapi/v3`` (so ``kubectl apply``
finds the patch strategies and the ``fieldValidation`` parameter it looks
for) and merges patches by the same ``x-kubernetes-patch-*`` extensions.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

KUBERNETES_VERSION = "1.37"

DEPLOYMENT = "io.k8s.api.apps.v1.Deployment"
REPLICA_SET = "io.k8s.api.apps.v1.ReplicaSet"


@functools.cache
def definitions() -> dict[str, Any]:
    """All definitions, keyed by name (``io.k8s.api.apps.v1.Deployment``...), refs as ``#/$defs/NAME``."""
    root = resources.files("kubernetes_validate") / "kubernetes-json-schema" / f"v{KUBERNETES_VERSION}.0-local"
    loaded: dict[str, Any] = json.loads((root / "_definitions.json").read_text())["$defs"]
    return loaded


def resolve(node: dict[str, Any] | None) -> dict[str, Any] | None:
    """Follow ``$ref`` (possibly inside ``allOf``) to the definition it names."""
    while node is not None:
        ref = node.get("$ref") or next((s.get("$ref") for s in node.get("allOf", []) if "$ref" in s), None)
        if not ref:
            return node
        node = definitions().get(ref.rsplit("/", 1)[-1])
    return None


def field(node: dict[str, Any] | None, key: str) -> dict[str, Any] | None:
    """Schema of property ``key`` of an object schema (or of a map's values)."""
    node = resolve(node)
    if node is None:
        return None
    properties = node.get("properties") or {}
    if key in properties:
        return properties[key]  # type: ignore[no-any-return]
    extra = node.get("additionalProperties")
    return extra if isinstance(extra, dict) else None


def items(node: dict[str, Any] | None) -> dict[str, Any] | None:
    node = resolve(node)
    return None if node is None else node.get("items")


def closure(*names: str) -> dict[str, Any]:
    """The named definitions and every definition they reference, transitively."""
    found: dict[str, Any] = {}
    pending = list(names)
    while pending:
        name = pending.pop()
        if name in found:
            continue
        found[name] = definitions()[name]
        pending.extend(_refs(found[name]))
    return found


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        refs = [node["$ref"].rsplit("/", 1)[-1]] if isinstance(node.get("$ref"), str) else []
        return refs + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []
