"""The README's code blocks: every Python block runs under mocks; every shell block is valid bash whose
pulumi config keys, stack outputs and tool flags exist."""

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from eks_cicd_access.component import TYPE_TOKEN
from tests.test_component import ENTRY

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"^```(\w*)\n(.*?)^```", README, flags=re.DOTALL | re.MULTILINE)
PYTHON = [code for lang, code in BLOCKS if lang == "python"]
SHELL = [code for lang, code in BLOCKS if lang == "sh"]
CONFIG_KEYS = set(yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"])
EXPORTS = set(re.findall(r'pulumi\.export\("(\w+)"', (ROOT / "__main__.py").read_text()))


def test_every_block_is_of_a_checked_kind():
    """Only sh and python blocks exist (each kind is checked below); a new kind needs its own test."""
    assert {lang for lang, _ in BLOCKS} == {"sh", "python"}
    assert len(PYTHON) >= 1 and len(SHELL) >= 5


def run_block(stack, monkeypatch, code: str) -> dict[str, Any]:
    exports: dict[str, Any] = {}
    monkeypatch.setattr(pulumi, "export", lambda name, value: exports.__setitem__(name, value))

    def program() -> dict[str, Any]:
        exec(compile(code, "README.md", "exec"), {})
        return exports

    resolved: dict[str, Any] = stack.run(program)
    return resolved


@pytest.mark.parametrize("code", PYTHON, ids=[f"python-{i}" for i in range(len(PYTHON))])
def test_every_python_block_runs(stack, monkeypatch, code):
    """Each Python block runs as a program under mocks, registers resources and exports what it says."""
    exports = run_block(stack, monkeypatch, code)
    assert stack.resources, "the example registered nothing"
    for name in re.findall(r'pulumi\.export\(f?"(\w+)', code):
        assert any(key.endswith(name.split("{")[-1]) for key in exports), name


def test_the_component_example_does_what_the_text_says(stack, monkeypatch):
    """ "Using the component from another project": two teams, each with a component and its aws-auth entry,
    the writer given the provider's kubeconfig, and one export per team."""
    (code,) = [b for b in PYTHON if "EksCicdAccess(" in b]
    exports = run_block(stack, monkeypatch, code)
    assert sorted(r.name for r in stack.of_type(TYPE_TOKEN)) == ["billing-ci", "web-ci"]
    provider = stack.one("pulumi:providers:kubernetes").inputs["kubeconfig"]
    assert [e.inputs["kubeconfig"] for e in stack.of_type(ENTRY)] == [provider, provider]
    assert sorted(exports) == ["billingSecretAccessKey", "webSecretAccessKey"]


@pytest.mark.parametrize("code", SHELL, ids=[f"sh-{i}" for i in range(len(SHELL))])
def test_every_shell_block_is_valid_bash(code):
    """bash -n parses each shell block."""
    done = subprocess.run(["bash", "-n"], input=code, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr


def test_shell_blocks_name_real_config_keys_and_outputs():
    """Every `pulumi config set|rm KEY` names a key declared in Pulumi.yaml, and every `pulumi stack output NAME`
    one the program exports: a renamed key or output cannot leave the README behind."""
    text = "\n".join(SHELL) + "\n" + README
    keys = re.findall(r"pulumi config (?:set|rm)(?: --path| --secret)* '?([a-z][A-Za-z]+)", text)
    outputs = re.findall(r"pulumi stack output (\w+)", text)
    assert keys and outputs
    assert set(keys) - {"aws", "kubernetes"} <= CONFIG_KEYS
    assert set(outputs) <= EXPORTS


def test_the_tool_flags_in_the_readme_exist():
    """Every flag given to eks-cicd-kubeconfig in the README is one its --help lists."""
    flags = set(re.findall(r"eks-cicd-kubeconfig((?: --[a-z-]+(?: \S+)?)+)", README)[0].split()[::2])
    help_text = subprocess.run(
        [sys.executable, "-m", "eks_cicd_access.kubeconfig", "--help"], capture_output=True, text=True, timeout=60
    ).stdout
    assert flags and all(flag in help_text for flag in flags), flags


def _table(heading: str) -> list[list[str]]:
    """The rows of the first table under ``heading``, cells stripped (header and rule left out)."""
    section = README.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows[2:]]


def test_the_config_table_is_pulumi_yaml():
    """The README's config table lists exactly Pulumi.yaml's keys (plus aws:region), each with its declared type."""
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    rows = {row[0].strip("`"): row[1] for row in _table("Configuration (stack config of the program)")}
    assert set(rows) - {"aws:region"} == set(declared)
    spelled = {"array": "array of string"}
    for key, spec in declared.items():
        assert rows[key].startswith(spelled.get(spec["type"], spec["type"])), key


def test_the_outputs_table_is_what_the_program_exports():
    """The README's outputs table names every stack output the program exports, and no other."""
    names = {name.strip("` ") for row in _table("Outputs") for name in row[0].split(",")}
    assert names == EXPORTS
