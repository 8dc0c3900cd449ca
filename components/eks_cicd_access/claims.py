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

from pulumi.runtime import settings

#: The claims of each running deployment, keyed by its resource monitor (tests run many in one process).
_REGISTRY: weakref.WeakKeyDictionary[object, dict[tuple[object, str], str]] = weakref.WeakKeyDictionary()
_NO_MONITOR = type("NoMonitor", (), {})()


@dataclass(frozen=True)
class Claim:
    """Something one instance creates or maps, e.g. ``IAM user 'ci'``, within ``scope`` (its AWS provider and
    cluster, as the component finds them)."""

    what: str
    scope: object


def claim(owner: str, claims: Iterable[Claim]) -> None:
    """Record ``owner``'s claims; raise ``ValueError`` naming both instances if another instance holds one."""
    monitor = settings.get_monitor() or _NO_MONITOR
    held = _REGISTRY.setdefault(monitor, {})
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
