"""The kubectl table as the real API server's audit log tells it.

``tests/cluster/test_cluster_kubectl.py`` runs the commands of ``tests/kubectl_commands.py`` against the
real control plane; each command's requests are its audit events
(``ControlPlane.kubectl``). Commands may run at once, each in a namespace of
its own: ``in_namespace`` keeps the events of one command's namespace (every
request but discovery names it), and only a command that ran alone owns the
discovery requests of its window too.

``publish`` appends lines to a terminal-summary section of their own
(``CLUSTER_KUBECTL_REPORT``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from testbed.controlplane.fixture import describe_event

CLUSTER_KUBECTL_REPORT = pytest.StashKey[list[str]]()
_PRINTER = "cluster-kubectl-report"


def _query(event: Mapping[str, Any]) -> dict[str, list[str]]:
    return parse_qs(urlsplit(str(event.get("requestURI", ""))).query)


def is_resource(event: Mapping[str, Any]) -> bool:
    """A resource request (the audit event names an object), not discovery or ``/openapi``."""
    return bool(event.get("objectRef"))


def in_namespace(event: Mapping[str, Any], namespace: str) -> bool:
    """The request is about ``namespace`` or something in it."""
    return (event.get("objectRef") or {}).get("namespace") == namespace


def status(event: Mapping[str, Any]) -> int:
    code: int = (event.get("responseStatus") or {}).get("code", 0)
    return code


def describe(event: Mapping[str, Any]) -> str:
    """``verb resource[/subresource] [name] [(watch-list)] -> code`` (``verb /path -> code`` for discovery)."""
    if not is_resource(event):
        path = urlsplit(str(event.get("requestURI", ""))).path
        return f"{event.get('verb')} {path} -> {status(event)}"
    text = describe_event(event)
    if event.get("verb") == "watch" and _query(event).get("sendInitialEvents") == ["true"]:
        head, arrow, code = text.rpartition(" -> ")
        text = f"{head} (watch-list){arrow}{code}"
    return text


def requests_text(
    events: Sequence[Mapping[str, Any]], ignored: Iterable[tuple[str, str]], *, discovery: bool = True
) -> str:
    """The resource requests, ``;``-separated, then the discovery/openapi requests refused and how many were
    served (``discovery=False`` when they cannot be told apart from another command's)."""
    skip = set(ignored)
    parts = []
    for event in events:
        if not is_resource(event):
            continue
        text = describe(event)
        ref = event["objectRef"]
        if status(event) == 403 and (event.get("verb"), ref.get("resource")) in skip:
            text += " (ignored by kubectl)"
        parts.append(text)
    other = [e for e in events if not is_resource(e)]
    if discovery and other:
        refused = Counter(describe(e) for e in other if status(e) != 200)
        parts += [text + (f" x{n}" if n > 1 else "") for text, n in refused.items()]
        served = len(other) - sum(refused.values())
        if served:
            parts.append(f"+{served} discovery/openapi")
    return "; ".join(parts) or "(no request)"


class _Printer:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        lines = self.config.stash.get(CLUSTER_KUBECTL_REPORT, [])
        if lines:
            terminalreporter.section("kubectl against the real control plane (audit log)")
            for line in lines:
                terminalreporter.write_line(line)


def publish(config: pytest.Config, lines: Sequence[str]) -> None:
    """Append ``lines`` to the real control plane's kubectl section of the terminal summary."""
    config.stash.setdefault(CLUSTER_KUBECTL_REPORT, []).extend(lines)
    if not config.pluginmanager.has_plugin(_PRINTER):
        config.pluginmanager.register(_Printer(config), _PRINTER)
