"""The kubectl table as the real API server's audit log tells it, and where the stand-in's differs.

``tests/test_cluster_kubectl.py`` runs the kubectl tier's commands against the
real control plane; each command's requests are its audit events
(``ControlPlane.kubectl``). Commands may run at once, each in a namespace of
its own: ``in_namespace`` keeps the events of one command's namespace (every
request but discovery names it), and only a command that ran alone owns the
discovery requests of its window too.

``publish`` appends lines to a terminal-summary section of their own
(``CLUSTER_KUBECTL_REPORT``), printed after the stand-in's ``KUBECTL_REPORT``
section (``tests/conftest.py``), which it leaves alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.apiserver.server import Request
from tests.controlplane.fixture import describe_event

CLUSTER_KUBECTL_REPORT = pytest.StashKey[list[str]]()
_PRINTER = "cluster-kubectl-report"
#: The stand-in marks a PATCH's content type and the extra checks it made; the audit log (level
#: Metadata) records neither, so they are left out when the two are compared.
_STANDIN_ONLY = (" (strategic)", " (json)", " (apply)", " (application/merge-patch+json)")


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
    """``verb resource[/subresource] [name] [(watch-list)] -> code`` (``verb /path -> code`` for discovery), the
    stand-in's spelling."""
    if not is_resource(event):
        path = urlsplit(str(event.get("requestURI", ""))).path
        return f"{event.get('verb')} {path} -> {status(event)}"
    text = describe_event(event)
    if event.get("verb") == "watch" and _query(event).get("sendInitialEvents") == ["true"]:
        head, arrow, code = text.rpartition(" -> ")
        text = f"{head} (watch-list){arrow}{code}"
    return text


def describe_standin(request: Request) -> str:
    """A stand-in request in the audit log's terms: no patch type, no extra checks."""
    text = request.describe()
    for mark in _STANDIN_ONLY:
        text = text.replace(mark, "")
    head, arrow, code = text.rpartition(" -> ")
    return head.split(" [+", 1)[0] + arrow + code


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


def comparable(event: Mapping[str, Any]) -> str:
    """``describe``, but a create without its object's name: the audit log names it (from the body), the
    request (and so the stand-in) does not."""
    text = describe(event)
    name = (event.get("objectRef") or {}).get("name")
    if event.get("verb") == "create" and name:
        text = text.replace(f" {name} -> ", " -> ")
    return text


def differences(standin: Sequence[str], real: Sequence[str]) -> list[str]:
    """What differs between two request lists: requests only one side made, or the same ones in another order."""
    if list(standin) == list(real):
        return []
    only_standin = Counter(standin) - Counter(real)
    only_real = Counter(real) - Counter(standin)
    found = [f"stand-in only: {r}" + (f" x{n}" if n > 1 else "") for r, n in only_standin.items()]
    found += [f"real only: {r}" + (f" x{n}" if n > 1 else "") for r, n in only_real.items()]
    return found or ["same requests, another order"]


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
