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

from .sdk_internals import pending_rpcs
from .served import served_deployment

#: What each running program keeps (its claims, its cluster lookups), keyed by its resource monitor, with the
#: run it belongs to: under mocks one monitor serves many programs (see ``_run``).
_DEPLOYMENTS: weakref.WeakKeyDictionary[object, tuple[object, dict[str, dict[Any, Any]]]] = weakref.WeakKeyDictionary()
_NO_MONITOR = type("NoMonitor", (), {})()
_SERVED_DEPLOYMENTS: dict[str, dict[str, dict[Any, Any]]] = {}


def _run() -> object:
    """The program run now. One per process under the engine; under Pulumi mocks, where a test suite often calls
    ``set_mocks`` once for many tests, ``pulumi.runtime.test`` starts each test with a fresh list of pending RPCs,
    and that list is the run."""
    rpcs = pending_rpcs()
    return _NO_MONITOR if rpcs is None else rpcs


@dataclass(frozen=True)
class Claim:
    """Something one instance creates or maps, e.g. ``IAM user 'ci'``, within ``scope`` (its AWS provider and
    cluster, as the component finds them)."""

    what: str
    scope: object


def per_deployment(use: str, *, across_constructs: bool = True) -> dict[Any, Any]:
    """The running program's dict for ``use`` (e.g. ``"claims"``), empty at its start. Served by the plugin, it is
    the deployment's, unless ``across_constructs`` is false: then each Construct call has its own (what holds
    Outputs, which belong to the call that made them: the SDK keeps one call's pending work, and the engine may
    run several calls at once)."""
    served = served_deployment()
    if served is not None and across_constructs:
        return _SERVED_DEPLOYMENTS.setdefault(served, {}).setdefault(use, {})
    monitor, run = settings.get_monitor() or _NO_MONITOR, _run()
    held = _DEPLOYMENTS.get(monitor)
    if held is None or held[0] is not run:
        held = _DEPLOYMENTS[monitor] = (run, {})
    return held[1].setdefault(use, {})


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
