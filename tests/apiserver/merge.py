"""Strategic merge patch and server-side apply, for the test API server.

Both merge lists by the keys the OpenAPI schema declares (``x-kubernetes-patch-merge-key``,
``x-kubernetes-list-map-keys``), as the API server does. Server-side apply
here has one field manager's view: it merges, and never reports conflicts.
"""

from __future__ import annotations

import copy
from typing import Any

from tests.apiserver.schema import field, items, resolve

_DIRECTIVE_PREFIXES = ("$setElementOrder/", "$deleteFromPrimitiveList/", "$retainKeys", "$patch")


class PatchError(ValueError):
    """The patch cannot be applied (the API server answers 400 or 422)."""


def strategic_merge_patch(target: dict[str, Any], patch: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Apply a strategic merge patch to an object whose schema is ``schema``."""
    merged = _merge_map(target, patch, schema)
    if merged is None:
        raise PatchError("the patch deletes the whole object")
    return merged


def _merge_map(target: Any, patch: dict[str, Any], schema: dict[str, Any] | None) -> dict[str, Any] | None:
    directive = patch.get("$patch")
    if directive == "delete":
        return None
    body = {k: v for k, v in patch.items() if not k.startswith("$")}
    if directive == "replace":
        return copy.deepcopy(body)
    if directive not in (None, "merge"):
        raise PatchError(f"unknown $patch directive {directive!r}")
    for key in patch:
        if key.startswith("$") and not key.startswith(_DIRECTIVE_PREFIXES):
            raise PatchError(f"unknown patch directive {key!r}")
    result: dict[str, Any] = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in body.items():
        child = field(schema, key)
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and not _is_atomic_map(child):
            merged = _merge_map(result.get(key), value, child)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            result[key] = _merge_list(result.get(key), value, child)
        else:
            result[key] = copy.deepcopy(value)
    for key, values in patch.items():
        if key.startswith("$deleteFromPrimitiveList/"):
            name = key.split("/", 1)[1]
            result[name] = [v for v in result.get(name, []) if v not in values]
    for key, order in patch.items():
        if key.startswith("$setElementOrder/"):
            name = key.split("/", 1)[1]
            if name in result:
                result[name] = _order(result[name], order, _merge_key(field(schema, name)))
    if "$retainKeys" in patch:
        result = {k: v for k, v in result.items() if k in patch["$retainKeys"]}
    return result


def _is_atomic_map(schema: dict[str, Any] | None) -> bool:
    node = resolve(schema)
    return bool(node and node.get("x-kubernetes-map-type") == "atomic")


def _merge_key(schema: dict[str, Any] | None) -> str | None:
    node = schema if schema is not None else None
    if node is None:
        return None
    strategy = node.get("x-kubernetes-patch-strategy", "")
    if "merge" not in strategy.split(","):
        return None
    key = node.get("x-kubernetes-patch-merge-key")
    return key if isinstance(key, str) else ""


def _merge_list(target: Any, patch: list[Any], schema: dict[str, Any] | None) -> list[Any]:
    key = _merge_key(schema)
    current = list(target) if isinstance(target, list) else []
    if key is None:
        # No merge strategy: the list is replaced (a $patch: replace element would be meaningless).
        return [copy.deepcopy(v) for v in patch if not (isinstance(v, dict) and "$patch" in v)]
    if any(isinstance(v, dict) and v.get("$patch") == "replace" for v in patch):
        return [copy.deepcopy(v) for v in patch if not (isinstance(v, dict) and "$patch" in v)]
    if key == "":
        # Merge strategy without a key: a set of primitives.
        return current + [v for v in patch if v not in current]
    element_schema = items(schema)
    result = copy.deepcopy(current)
    for element in patch:
        if not isinstance(element, dict) or key not in element:
            raise PatchError(f"list element {element!r} has no merge key {key!r}")
        index = next((i for i, e in enumerate(result) if isinstance(e, dict) and e.get(key) == element[key]), None)
        if element.get("$patch") == "delete":
            if index is not None:
                result.pop(index)
            continue
        if index is None:
            result.append(_merge_map({}, element, element_schema))
        else:
            merged = _merge_map(result[index], element, element_schema)
            if merged is not None:
                result[index] = merged
    return result


def _order(values: list[Any], order: list[Any], key: str | None) -> list[Any]:
    def rank(value: Any) -> int:
        probe = {key: value.get(key)} if key and isinstance(value, dict) else value
        return order.index(probe) if probe in order else len(order)

    return sorted(values, key=rank)


def apply_merge(target: dict[str, Any], config: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Server-side apply of ``config`` onto ``target``, for a single field manager.

    Maps merge; lists of type ``map`` merge by their ``x-kubernetes-list-map-keys``,
    ``set`` lists union, other lists are replaced.
    """
    return _apply_map(target, config, schema)


def _apply_map(target: Any, config: dict[str, Any], schema: dict[str, Any] | None) -> dict[str, Any]:
    result: dict[str, Any] = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in config.items():
        child = field(schema, key)
        if isinstance(value, dict) and not _is_atomic_map(child):
            result[key] = _apply_map(result.get(key), value, child)
        elif isinstance(value, list):
            result[key] = _apply_list(result.get(key), value, child)
        else:
            result[key] = copy.deepcopy(value)
    return result


def _apply_list(target: Any, config: list[Any], schema: dict[str, Any] | None) -> list[Any]:
    node = schema or {}
    list_type = node.get("x-kubernetes-list-type")
    current = list(target) if isinstance(target, list) else []
    if list_type == "set":
        return current + [v for v in config if v not in current]
    keys = node.get("x-kubernetes-list-map-keys")
    if list_type != "map" or not keys:
        return copy.deepcopy(config)
    element_schema = items(schema)
    result = copy.deepcopy(current)
    for element in config:
        index = next(
            (i for i, e in enumerate(result) if all(e.get(k) == element.get(k) for k in keys)),
            None,
        )
        if index is None:
            result.append(_apply_map({}, element, element_schema))
        else:
            result[index] = _apply_map(result[index], element, element_schema)
    return result
