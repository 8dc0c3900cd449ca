"""The README's Python examples run, under mocks, and do what the text says."""

import re
from pathlib import Path

import pulumi

from eks_cicd_access.component import TYPE_TOKEN
from tests.test_component import ENTRY

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)


def test_the_readme_has_python_examples():
    """There is something to run (a renamed fence would otherwise skip every example silently)."""
    assert len(PYTHON_BLOCKS) >= 1


def test_the_component_example_runs(stack, monkeypatch):
    """ "Using the component from another project": two teams, each with a component and its aws-auth entry,
    the writer given the provider's kubeconfig, and one export per team."""
    exports: dict[str, object] = {}
    monkeypatch.setattr(pulumi, "export", lambda name, value: exports.__setitem__(name, value))
    (block,) = [b for b in PYTHON_BLOCKS if "EksCicdAccess(" in b]

    def program() -> dict[str, object]:
        exec(compile(block, "README.md", "exec"), {})
        return exports

    stack.run(program)
    assert sorted(r.name for r in stack.of_type(TYPE_TOKEN)) == ["billing-ci", "web-ci"]
    assert len(stack.of_type(ENTRY)) == 2
    provider = stack.one("pulumi:providers:kubernetes").inputs["kubeconfig"]
    for entry in stack.of_type(ENTRY):
        assert entry.inputs["kubeconfig"] == provider
    assert sorted(exports) == ["billingSecretAccessKey", "webSecretAccessKey"]
