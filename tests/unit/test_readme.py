"""The README and ``docs/``: every Python block runs under mocks, every shell block is valid bash whose config keys,
stack outputs and tool flags exist, every marked block is run by a test, every link resolves, and the README stays
short."""

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from eks_cicd_access.component import TYPE_TOKEN
from testbed.docs import DOCUMENTS, ROOT, blocks, marked
from testbed.engine_stack import LANGUAGE_NAMES, readme_language_commands
from tests.support import ENTRY

README = (ROOT / "README.md").read_text()
BLOCKS = blocks()
PYTHON = [b.text for b in BLOCKS if b.language == "python"]
SHELL = [b.text for b in BLOCKS if b.language == "sh"]
CONFIG_KEYS = set(yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"])
EXPORTS = set(re.findall(r'pulumi\.export\("(\w+)"', (ROOT / "__main__.py").read_text()))
#: Each marked block, and the test that runs it (found by its marker: ``testbed.docs.block``).
RUN_BY = {
    "setup": "tests/unit/test_repository.py",
    "test": "tests/unit/test_repository.py",
    "demo": "tests/engine/test_engine_demo.py",
    "deploy": "testbed/engine_stack.py",
    "admin-kubeconfig": "testbed/engine_stack.py",
    "ci-outputs": "tests/engine/test_engine_dev_stack.py",
    "destroy": "tests/engine/test_engine_dev_stack.py",
    "mode-ladder": "tests/engine/test_engine_dev_stack.py",
    "rotation-add": "testbed/engine_stack.py",
    "rotation-drop": "testbed/engine_stack.py",
    "languages": "testbed/engine_stack.py",
    "access-policies": "tests/engine/test_engine_access_policies.py",
    "verify": "tests/cluster/test_cluster_verify.py",
    "verify-admin": "tests/cluster/test_cluster_verify.py",
    "helm-upgrade": "tests/cluster/test_cluster_helm.py",
}


def test_the_readme_is_short():
    """The README is for a user arriving fresh: about 300 lines at most; the long form lives in docs/."""
    assert len(README.splitlines()) <= 300


def test_every_block_is_of_a_checked_kind():
    """Only sh, python and typescript blocks exist (each kind is checked below); a new kind needs its own test."""
    assert {b.language for b in BLOCKS} == {"sh", "python", "typescript"}
    assert len(PYTHON) >= 1 and len(SHELL) >= 5


def test_every_marked_block_is_run_by_the_test_that_claims_it():
    """Every ``<!-- test: MARKER -->`` block has a test that finds it by that marker, and every claimed marker
    exists: a block nobody runs, or a test reading a block that is gone, fails here."""
    found = marked()
    assert set(found) == set(RUN_BY)
    for marker, path in RUN_BY.items():
        text = (ROOT / path).read_text()
        assert f'block("{marker}")' in text or f'"{marker}"' in text or "rotation-{step}" in text, (marker, path)


def test_the_typescript_example_is_the_example_the_languages_tier_runs():
    """The README's TypeScript block is verbatim in examples/typescript/index.ts, which the languages tier compiles
    and runs: it cannot drift from code that works."""
    source = (ROOT / "examples" / "typescript" / "index.ts").read_text()
    typescript = [b.text for b in BLOCKS if b.language == "typescript"]
    assert typescript and all(code in source for code in typescript)


def test_the_languages_table_gives_the_commands_the_languages_tier_runs():
    """Each example row of the README's languages table names its example's language, and its SDK cell gives
    exactly the SDK commands (``npm``, ``package add``, ``gen-sdk``) the languages tier runs for it, from
    docs/other-languages.md's block; every example that block serves has a row (``typescript-entry`` shares
    TypeScript's)."""
    section = README[README.index("## Using it from") : README.index("## Limitations")]
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in section.splitlines()
            if line.startswith("| ") and not line.startswith("| Language")]  # fmt: skip
    table = {example.strip("`").removeprefix("examples/"): (language, sdk) for language, example, sdk, _ in rows
             if example != "none"}  # fmt: skip
    assert set(table) == set(LANGUAGE_NAMES) - {"typescript-entry"}
    for example, (language, sdk) in table.items():
        assert language == LANGUAGE_NAMES[example], example
        run = [c for c in readme_language_commands(example) if c.startswith(("npm ", "pulumi package "))]
        assert re.findall(r"`((?:npm|pulumi) [^`]*)`", sdk) == run, example


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
    """The README's Python example: two teams, each with a component and its aws-auth entry, the writer given the
    provider's kubeconfig, and one export per team."""
    (code,) = [b.text for b in BLOCKS if b.language == "python" and b.document.name == "README.md"]
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
    one the program exports: a renamed key or output cannot leave the documents behind."""
    text = "\n".join(SHELL) + "\n" + "\n".join(path.read_text() for path in DOCUMENTS)
    keys = re.findall(r"pulumi config (?:set|rm)(?: --path| --secret)* '?([a-z][A-Za-z]+)", text)
    outputs = re.findall(r"pulumi stack output (\w+)", text)
    assert keys and outputs
    assert set(keys) - {"aws", "kubernetes"} <= CONFIG_KEYS
    assert set(outputs) <= EXPORTS


def test_the_tool_flags_in_the_documents_exist():
    """Every flag given to eks-cicd-kubeconfig in the documents is one its --help lists."""
    text = "\n".join(path.read_text() for path in DOCUMENTS)
    flags = {
        f for found in re.findall(r"eks-cicd-kubeconfig((?: --[a-z-]+(?: \S+)?)+)", text) for f in found.split()[::2]
    }
    help_text = subprocess.run(
        [sys.executable, "-m", "eks_cicd_access.kubeconfig", "--help"], capture_output=True, text=True, timeout=60
    ).stdout
    assert flags and all(flag in help_text for flag in flags), flags


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation but ``-`` and ``_`` dropped, spaces as ``-``."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"^ *```.*?^ *```", "", path.read_text(), flags=re.MULTILINE | re.DOTALL)
    return {slug(h) for h in re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE)}


@pytest.mark.parametrize("document", DOCUMENTS, ids=[p.name for p in DOCUMENTS])
def test_every_relative_link_resolves(document: Path):
    """Every relative link of the README and docs/ names a file that exists and, with ``#anchor``, a heading it has:
    moving a section cannot leave a dead link behind."""
    text = re.sub(r"^ *```.*?^ *```", "", document.read_text(), flags=re.MULTILINE | re.DOTALL)
    dead = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        file, _, anchor = target.partition("#")
        path = (document.parent / file).resolve() if file else document
        if not path.exists() or (anchor and path.suffix == ".md" and anchor not in anchors(path)):
            dead.append(target)
    assert dead == []


def test_the_generated_tables_are_current():
    """docs/configuration.md's config and outputs tables are what ``python -m testbed.docs`` generates from
    Pulumi.yaml, the package schema and the program's exports: a new argument or output, or a changed
    description, fails here until they are regenerated."""
    from testbed.docs import CONFIGURATION, with_tables

    text = CONFIGURATION.read_text()
    assert text.count("<!-- generated: ") == 2
    assert text == with_tables(text), "run: venv/bin/python -m testbed.docs"
