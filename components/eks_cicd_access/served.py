"""The one signal that the component is being built for the ``eks-cicd-access`` plugin, and for which deployment.

The plugin's Construct runs inside :func:`serving`; the component never asks. What differs when served is decided
where it is needed: the ``aws-auth`` entry's resource class (``aws_auth.resource``), the program-wide claims
(``claims``), and the names the plugin registers and returns (``plugin``).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

#: The deployment being constructed for: its monitor's address, project and stack (each Construct gets a fresh
#: monitor client, so the plugin names the deployment itself).
_SERVED: contextvars.ContextVar[str | None] = contextvars.ContextVar("eks_cicd_access_served", default=None)


@contextmanager
def serving(deployment: str) -> Iterator[None]:
    """Within this block, components are built by the plugin for ``deployment``."""
    token = _SERVED.set(deployment)
    try:
        yield
    finally:
        _SERVED.reset(token)


def served_deployment() -> str | None:
    """The deployment the plugin is constructing for, or ``None`` in a Python program."""
    return _SERVED.get()
