"""Merge one user into the ``mapUsers`` of ``kube-system/aws-auth``.

``mapUsers`` is a single YAML string that every team shares. Kubernetes can
only replace it whole, so the new value is computed here from the live one:
every other entry is kept as it was and where it was, ours is added or
replaced in place. ``mapRoles`` (the node roles) is never read or written.
"""

from __future__ import annotations

from typing import Any

import yaml

#: Where the mapping lives; EKS reads no other name.
AWS_AUTH_NAMESPACE = "kube-system"
AWS_AUTH_NAME = "aws-auth"
MAP_USERS_KEY = "mapUsers"

#: Authentication modes of an EKS cluster that still read ``aws-auth``.
CONFIG_MAP_MODES = frozenset({"CONFIG_MAP", "API_AND_CONFIG_MAP"})


class AwsAuthError(ValueError):
    """The live ``aws-auth`` cannot be merged safely; nothing is written."""


def map_users_entry(user_arn: str, username: str, groups: list[str]) -> dict[str, Any]:
    """Return the ``mapUsers`` entry mapping an IAM user to a Kubernetes user."""
    return {"userarn": user_arn, "username": username, "groups": list(groups)}


def check_authentication_mode(cluster_name: str, mode: str | None) -> None:
    """Raise ``AwsAuthError`` when the cluster ignores ``aws-auth``.

    A cluster in ``API`` mode has no ``aws-auth`` (or ignores it): writing an
    entry there would grant nothing and hide the mistake.
    """
    if mode is not None and mode not in CONFIG_MAP_MODES:
        raise AwsAuthError(
            f"identity_mapping='aws-auth': cluster {cluster_name!r} uses authentication mode {mode!r}, "
            f"which does not read {AWS_AUTH_NAMESPACE}/{AWS_AUTH_NAME}. "
            "Set identity_mapping='access-entry' (config identityMapping: access-entry). Nothing was written."
        )


def parse_map_users(map_users: str | None) -> list[Any]:
    """Parse the live ``mapUsers`` string; absent or blank means no entries.

    Raises ``AwsAuthError`` when it is not a YAML list, so a broken ConfigMap
    is reported rather than overwritten.
    """
    if map_users is None or not map_users.strip():
        return []
    try:
        parsed = yaml.safe_load(map_users)
    except yaml.YAMLError as error:
        raise AwsAuthError(
            f"{AWS_AUTH_NAMESPACE}/{AWS_AUTH_NAME} data.{MAP_USERS_KEY} is not valid YAML ({error}). "
            f"Fix it with `kubectl edit configmap {AWS_AUTH_NAME} -n {AWS_AUTH_NAMESPACE}` and run again. "
            "Nothing was written."
        ) from error
    if parsed is None:
        return []
    if not isinstance(parsed, list):
        raise AwsAuthError(
            f"{AWS_AUTH_NAMESPACE}/{AWS_AUTH_NAME} data.{MAP_USERS_KEY} must be a YAML list of "
            f"{{userarn, username, groups}} entries, got {type(parsed).__name__}. "
            f"Fix it with `kubectl edit configmap {AWS_AUTH_NAME} -n {AWS_AUTH_NAMESPACE}` and run again. "
            "Nothing was written."
        )
    return parsed


def checked_map_users(map_users: str | None) -> str | None:
    """Return ``map_users`` unchanged once it is known to parse (see ``parse_map_users``)."""
    parse_map_users(map_users)
    return map_users


def dump_map_users(entries: list[Any]) -> str:
    """Serialize entries the same way every time, so an unchanged merge has no diff."""
    return yaml.safe_dump(entries, default_flow_style=False, sort_keys=False, allow_unicode=True)


def merge_map_users(map_users: str | None, entry: dict[str, Any]) -> str:
    """Return ``mapUsers`` with ``entry`` in it and every other entry kept.

    - Entries with another ``userarn`` are kept, in order, with every key.
    - The first entry with our ``userarn`` is replaced in place; later ones
      with the same ARN are dropped (EKS would use only one of them anyway).
    - With no such entry, ours is appended.
    - If the live value already holds exactly our entry once, it is returned
      untouched, so foreign formatting and comments survive a no-op run.
    """
    entries = parse_map_users(map_users)
    arn = entry["userarn"]
    ours = [i for i, e in enumerate(entries) if isinstance(e, dict) and e.get("userarn") == arn]
    if map_users is not None and len(ours) == 1 and entries[ours[0]] == entry:
        return map_users
    merged: list[Any] = []
    placed = False
    for existing in entries:
        if isinstance(existing, dict) and existing.get("userarn") == arn:
            if not placed:
                merged.append(dict(entry))
                placed = True
            continue
        merged.append(existing)
    if not placed:
        merged.append(dict(entry))
    return dump_map_users(merged)
