"""Test-only: force two stacks' aws-auth writes to interleave, as the worst timing would (engine tier).

On ``PYTHONPATH`` of a ``pulumi`` run, Python imports this at the start of every process the engine starts
from that environment, the dynamic provider of our aws-auth writer among them. With
``EKS_CICD_INTERLEAVE=first:<dir>`` or ``second:<dir>`` it wraps the official client's
``CoreV1Api.replace_namespaced_config_map``, the writer's compare-and-swap write, for its first call only:

- ``first`` has read aws-auth and is about to write: it says so (``<dir>/first-ready``), then waits until
  ``second`` has written (``<dir>/second-wrote``), and writes with the ``resourceVersion`` it read, now stale;
- ``second`` waits until ``first`` has read, writes, and says so.

So ``first``'s write is refused with 409 unless the writer ignores ``resourceVersion``, in which case it would
overwrite ``second``'s entry: the lost update the engine tier's two-stacks test must be able to catch. Nothing
else is touched, and without the variable this file does nothing.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

WAIT = 120.0


def _wait_for(path: Path) -> None:
    deadline = time.monotonic() + WAIT
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def _install(role: str, where: Path) -> None:
    from kubernetes.client import CoreV1Api

    original = CoreV1Api.replace_namespaced_config_map
    state = {"first call": True}

    def replace(self: Any, name: str, namespace: str, body: Any, **kwargs: Any) -> Any:
        if not state.pop("first call", False) or name != "aws-auth":
            return original(self, name, namespace, body, **kwargs)
        if role == "first":
            (where / "first-ready").touch()
            _wait_for(where / "second-wrote")
            if os.environ.get("EKS_CICD_INTERLEAVE_BLIND"):  # a deliberately broken writer: no compare-and-swap
                body.metadata.resource_version = None
            return original(self, name, namespace, body, **kwargs)
        _wait_for(where / "first-ready")
        try:
            return original(self, name, namespace, body, **kwargs)
        finally:
            (where / "second-wrote").touch()

    setattr(CoreV1Api, "replace_namespaced_config_map", replace)  # noqa: B010 (a test hook, any signature)


_setting = os.environ.get("EKS_CICD_INTERLEAVE", "")
if _setting:
    _role, _, _dir = _setting.partition(":")
    _install(_role, Path(_dir))
