"""The kubectl tier (``pytest -m kubectl``): every test in this folder runs the real AWS CLI as the writer's exec
credential against the stand-in API server."""

from __future__ import annotations

from tests.support import tier_marker

pytest_collection_modifyitems = tier_marker(__file__, "kubectl")
