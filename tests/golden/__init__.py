"""Recorded registrations that must not change: ``python -m tests.golden`` rewrites them.

Rewrite only on purpose, and say why in the commit: the file is the proof that
a change left the default behaviour (an IAM user, ``Pulumi.dev.yaml``) as it was.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pulumi.runtime import rpc

DEV_STACK = Path(__file__).with_name("dev_stack.json")


def _plain(value: Any) -> Any:
    if rpc.is_rpc_secret(value):
        return {"<secret>": _plain(rpc.unwrap_rpc_secret(value))}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def snapshot(registrations: list[Any]) -> list[dict[str, Any]]:
    """What the engine gets for each resource: type, name, parent, inputs and options, in name order."""
    names = {r.urn: r.name for r in registrations}
    return sorted(
        (
            {
                "type": r.type,
                "name": r.name,
                "parent": r.parent_type,
                "inputs": _plain(r.inputs),
                "retainOnDelete": r.retain_on_delete,
                "additionalSecretOutputs": sorted(r.additional_secret_outputs),
                "replacementTrigger": r.replacement_trigger,
                "dependsOn": sorted(names.get(d, d) for d in r.dependencies),
                "aliases": sorted(r.alias_urns),
            }
            for r in registrations
        ),
        key=lambda item: (item["name"], item["type"]),
    )


def dumps(value: Any) -> str:
    return json.dumps(value, indent=1, sort_keys=True) + "\n"
