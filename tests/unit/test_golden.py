"""The dev stack (an IAM user, Pulumi.dev.yaml) registers exactly what it did when the snapshot was taken."""

import json

from tests.golden import DEV_STACK, dumps, snapshot
from tests.support import run_program, stack_config


def test_dev_stack_registrations_are_unchanged(stack, monkeypatch, request):
    """Every resource the dev stack registers, with its inputs and options, equals tests/golden/dev_stack.json."""
    run_program(stack, monkeypatch, stack_config())
    current = snapshot(stack.resources)
    if request.config.getoption("--record-golden"):
        DEV_STACK.write_text(dumps(current))
    assert current == json.loads(DEV_STACK.read_text())
