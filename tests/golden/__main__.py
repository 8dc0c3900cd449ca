"""Rewrite the recorded dev-stack registrations: ``venv/bin/python -m tests.golden``."""

import pytest

if __name__ == "__main__":
    raise SystemExit(pytest.main(["-q", "tests/unit/test_golden.py", "--record-golden", "-p", "no:cacheprovider"]))
