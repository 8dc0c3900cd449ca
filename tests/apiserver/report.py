"""Where the kubectl tier leaves its tables for the end-of-run summary (``tests/conftest.py``)."""

import pytest

KUBECTL_REPORT = pytest.StashKey[list[str]]()
