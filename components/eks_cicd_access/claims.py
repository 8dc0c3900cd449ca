"""What each instance creates or maps, so that two instances of one program cannot claim the same thing.

Two instances with the same Namespace, Role, IAM name or mapped ARN would each
believe they own it: destroying one would delete or unmap what the other still
needs (an ``AwsAuthEntry`` removes every entry for its ARN). The engine cannot
see it, because their logical names differ.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pulumi.runtime import settings

#: What each running deployment keeps (its claims, its cluster lookups), keyed by its resource monitor (tests run
#: many in one process), then by use.
_DEPLOYMENTS: weakref.WeakKeyDictionary[object, dict[str, dict[Any, Any]]] = weakref.WeakKeyDictionary()
_NO_MONITOR = type("NoMonitor", (), {})()


@dataclass(frozen=True)
class Claim:
    """Something one instance creates or maps, e.g. ``IAM user 'ci'``, within ``scope`` (its AWS provider and
    cluster, as the component finds them)."""

    what: str
    scope: object


def per_deployment(use: str) -> dict[Any, Any]:
    """The running deployment's dict for ``use`` (e.g. ``"claims"``), empty at its start."""
    return _DEPLOYMENTS.setdefault(settings.get_monitor() or _NO_MONITOR, {}).setdefault(use, {})


def claim(owner: str, claims: Iterable[Claim]) -> None:
    """Record ``owner``'s claims; raise ``ValueError`` naming both instances if another instance holds one."""
    held: dict[tuple[object, str], str] = per_deployment("claims")
    wanted = [(c.scope, c.what) for c in claims]
    for key in wanted:
        other = held.get(key)
        if other is not None and other != owner:
            raise ValueError(
                f"EksCicdAccess {owner!r}: would create or map {key[1]}, and so does EksCicdAccess {other!r} of "
                "this program; destroying either would delete or unmap what the other still needs. Give each "
                "instance its own, or let one instance do it"
            )
    held.update(dict.fromkeys(wanted, owner))
