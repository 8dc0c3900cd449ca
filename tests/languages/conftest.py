"""The languages tier (``pytest -m languages``): every test in this folder runs the plugin from TypeScript, Go,
YAML, Java and generated-Python programs under the real CLI."""

from __future__ import annotations

from tests.support import tier_marker

pytest_collection_modifyitems = tier_marker(__file__, "languages")
