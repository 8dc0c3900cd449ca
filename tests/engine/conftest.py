"""The engine tier (``pytest -m engine``): every test in this folder drives the real Pulumi CLI built by
``scripts/tools``."""

from __future__ import annotations

from tests.support import tier_marker

pytest_collection_modifyitems = tier_marker(__file__, "engine")
