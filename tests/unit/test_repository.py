"""The repository's own promises: the licence it declares, and a CI script that leaves the developer's files alone."""

from __future__ import annotations

import ensurepip
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

from eks_cicd_access.plugin.schema import PACKAGE, VERSION
from testbed.docs import block
from tests.support import ROOT

# Stand-ins for the tools .ci/run calls. `python3 -m venv DIR` makes DIR/bin with a python, ruff and mypy
# that record their arguments and succeed, so the script's own file handling runs for real in a second.
FAKE_PYTHON3 = """#!/usr/bin/env bash
set -eu
[ "$1 $2" = "-m venv" ] || { echo "unexpected: $*" >&2; exit 2; }
mkdir -p "$3/bin"
for tool in python ruff mypy; do
  printf '#!/usr/bin/env bash\\necho "%s $*" >> "%s"\\n' "$tool" "$CALLS" > "$3/bin/$tool"
  chmod +x "$3/bin/$tool"
done
"""
MAVEN = {"m": "http://maven.apache.org/POM/4.0.0"}
FAKE_NPM = '#!/usr/bin/env bash\necho "npm $*" >> "$CALLS"\n'


def _executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_the_declared_licence_is_the_shipped_file():
    """pyproject.toml's licence is Apache-2.0 and the LICENSE file it names holds that licence's text."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert text.split()[:4] == ["Apache", "License", "Version", "2.0,"]
    assert "END OF TERMS AND CONDITIONS" in text


def test_ci_builds_its_own_virtualenv_and_leaves_venv_alone(tmp_path):
    """.ci/run installs into .ci/venv with the README's setup command (``scripts/setup``, the pip the virtualenv
    ships) and runs the README's test command there and on the lowest pulumi allowed, replacing only its own
    virtualenvs, never touches the developer's venv/, and builds each tier's tool set before that tier."""
    assert block("setup") == ["scripts/setup"] and block("test") == ["venv/bin/python -m pytest"]
    checkout = tmp_path / "checkout"
    (checkout / ".ci").mkdir(parents=True)
    shutil.copy2(ROOT / ".ci" / "run", checkout / ".ci" / "run")
    shutil.copy2(ROOT / "pyproject.toml", checkout / "pyproject.toml")
    (checkout / "scripts").mkdir()
    _executable(checkout / "scripts" / "tools", '#!/usr/bin/env bash\necho "tools $*" >> "$CALLS"\n')
    shutil.copy2(ROOT / "scripts" / "setup", checkout / "scripts" / "setup")
    (checkout / "venv" / "bin").mkdir(parents=True)
    (checkout / "venv" / "bin" / "python").write_text("the developer's interpreter\n")
    (checkout / ".ci" / "venv").mkdir()
    (checkout / ".ci" / "venv" / "stale").write_text("left over from the last CI run\n")
    (checkout / ".ci" / "venv-lowest").mkdir()
    (checkout / ".ci" / "venv-lowest" / "stale").write_text("left over from the last CI run\n")
    shims = tmp_path / "shims"
    shims.mkdir()
    _executable(shims / "python3", FAKE_PYTHON3)
    _executable(shims / "npm", FAKE_NPM)
    calls = tmp_path / "calls"
    env = {**os.environ, "PATH": f"{shims}{os.pathsep}{os.environ['PATH']}", "CALLS": str(calls)}

    subprocess.run(["bash", str(checkout / ".ci" / "run")], env=env, check=True, capture_output=True, timeout=60)

    assert (checkout / "venv" / "bin" / "python").read_text() == "the developer's interpreter\n"
    assert not (checkout / ".ci" / "venv" / "stale").exists(), "CI must start from a fresh virtualenv"
    assert not (checkout / ".ci" / "venv-lowest" / "stale").exists(), "and a fresh one for the lowest SDK"
    lines = calls.read_text().splitlines()
    assert "python -m pip install --quiet -r requirements-dev.txt" in lines
    assert "mypy " in lines
    assert "python -m pytest" in lines and "python -m pytest -m kubectl" in lines
    # The fast tier also runs on the lowest pulumi the dependency range allows, read from pyproject.toml.
    floor = re.search(r'"pulumi>=([0-9.]+),', (ROOT / "pyproject.toml").read_text())
    assert floor is not None
    lowest_install = f"python -m pip install --quiet -r requirements-dev.txt pulumi=={floor.group(1)}"
    assert lines.index("python -m pytest -p no:cacheprovider") > lines.index(lowest_install)
    assert not [line for line in lines if "--upgrade" in line], "CI installs with the pip the virtualenv ships"
    # Each tier runs after the build of its own set of scripts/tool-sets, asked for by name.
    for tier in ("cluster", "engine", "languages"):
        assert lines.index(f"python -m pytest -m {tier}") > lines.index(f"tools @{tier}")
    builds = [line for line in lines if line.startswith("tools ")]
    assert builds == ["tools @cluster", "tools @engine", "tools @languages"]
    assert "npm ci --prefix tests/iam_simulate --no-audit --no-fund --silent" in lines


def test_the_ci_virtualenv_is_ignored_by_git():
    """.ci/venv never shows up as something to commit."""
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "--no-index", ".ci/venv/bin/python"], cwd=ROOT, check=False, timeout=30
    )
    assert ignored.returncode == 0


def test_no_shipped_file_points_outside_the_repository():
    """A clone is self-contained: no file a commit would ship names a path above the repository (the old
    Pulumi.dev.yaml named ../shared/...) or this machine's checkout."""
    # What a commit would ship: tracked files and new ones git does not ignore (virtualenvs, caches, builds are).
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.split("\0")
    offenders = []
    for name in filter(None, listed):
        path = ROOT / name
        if path.is_file():
            text = path.read_text(errors="replace")
            offenders += [name for marker in ("../shared/", "/work/") if marker in text]
    assert offenders == [str(Path(__file__).relative_to(ROOT))] * 2  # only this test names the markers


def test_the_java_example_carries_what_the_sdks_gradle_build_adds_to_its_jar():
    """The generated Java SDK's ``Utilities`` reads ``com/pulumi/eks-cicd-access/version.txt`` from the classpath
    and its Gradle build writes it with ``plugin.json`` (name, version): the Maven example holds both, at the
    plugin's version."""
    resources = ROOT / "examples" / "java" / "src" / "main" / "resources" / "com" / "pulumi" / "eks-cicd-access"
    assert (resources / "version.txt").read_text() == VERSION
    plugin = {"resource": True, "name": PACKAGE, "version": VERSION}
    assert json.loads((resources / "plugin.json").read_text()) == plugin


def test_the_changelog_names_the_packaged_version():
    """CHANGELOG.md (Keep a Changelog) has an Unreleased section, then pyproject.toml's version as newest release."""
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    headings = re.findall(r"^## \[([^\]]+)\]", (ROOT / "CHANGELOG.md").read_text(), flags=re.MULTILINE)
    assert headings[:2] == ["Unreleased", version]


def test_the_examples_use_the_pinned_pulumi_sdks():
    """The TypeScript and Go examples require the SDK of scripts/tool-versions' CLI: on Node.js 20 a loose ``^3``
    resolves to 3.248.0, too old for the generated SDK (docs/other-languages.md). The Java example's ``pom.xml``
    requires the pinned ``com.pulumi:pulumi``."""
    versions = (ROOT / "scripts" / "tool-versions").read_text()
    pinned = re.search(r"^PULUMI_VERSION=v(\S+)$", versions, re.MULTILINE)
    java = re.search(r"^PULUMI_JAVA_SDK_VERSION=(\S+)$", versions, re.MULTILINE)
    assert pinned and java
    pom = ET.parse(ROOT / "examples" / "java" / "pom.xml").getroot()
    found = {
        f"{d.findtext('m:groupId', namespaces=MAVEN)}:{d.findtext('m:artifactId', namespaces=MAVEN)}": d.findtext(
            "m:version", namespaces=MAVEN
        )
        for d in pom.iterfind("m:dependencies/m:dependency", MAVEN)
    }
    assert found["com.pulumi:pulumi"] == java[1]
    for example in ("typescript", "typescript-entry"):
        manifest = json.loads((ROOT / "examples" / example / "package.json").read_text())
        assert manifest["dependencies"]["@pulumi/pulumi"] == pinned[1], example
    gomod = (ROOT / "examples" / "go" / "go.mod").read_text()
    assert f"github.com/pulumi/pulumi/sdk/v3 v{pinned[1]}" in gomod


def test_the_plugins_requirements_install_this_checkout_with_the_pip_a_virtualenv_ships(tmp_path):
    """provider/requirements.txt, installed from provider/ as the Python host's ``toolchain: pip`` does, by the pip
    a new virtualenv ships (ensurepip's, no upgrade: 23.2.1 on Python 3.11.7), is this package at pyproject.toml's
    version (checked with pip's resolver, nothing installed)."""
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "venv")], check=True, timeout=120)
    pip = [str(tmp_path / "venv" / "bin" / "python"), "-m", "pip"]
    shipped = subprocess.run([*pip, "--version"], capture_output=True, text=True, timeout=60, check=True).stdout
    assert shipped.split()[1] == ensurepip.version(), shipped
    done = subprocess.run(
        [*pip, "install", "--dry-run", "--no-deps", "-r", "requirements.txt"],
        cwd=ROOT / "provider", capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert f"Would install eks-cicd-access-{version}" in done.stdout, done.stdout + done.stderr


def test_every_tool_set_resolves_to_tools_that_scripts_tools_builds():
    """scripts/tool-sets, the one list of the tools each tier and script runs: every set resolves, every tool in it
    is one scripts/tools builds, each set holds the control plane's, and the tiers that start tools have one."""
    from testbed.controlplane.fixture import TOOL_SETS, tool_set

    known = subprocess.run([str(ROOT / "scripts" / "tools"), "--list"], capture_output=True, text=True, check=True,
                           timeout=60).stdout.split()  # fmt: skip
    names = [line.split(":")[0] for line in TOOL_SETS.read_text().splitlines() if line and not line.startswith("#")]
    assert {"cluster", "engine", "languages", "demo"} <= set(names)
    for name in names:
        assert set(tool_set(name)) <= set(known), name
        assert set(tool_set("cluster")) <= set(tool_set(name)), name
    # pulumi-language-python, the real Python host, is built only once a version is pinned (the proxy serves none);
    # every other tool a tier asks for, or CI never builds it.
    assert set(known) - set(tool_set("languages")) == {"pulumi-language-python"}


def test_every_tool_lookup_names_a_set():
    """Tests, the demo and the benchmarks ask scripts/tools for a set by name (find_tools("engine")), never for a
    list of their own, which is how the demo once lacked the Python host's shims and hung."""
    calls = []
    for path in [*ROOT.glob("tests/**/*.py"), *ROOT.glob("testbed/**/*.py"), *ROOT.glob("benchmarks/*.py")]:
        if "node_modules" not in path.parts:
            calls += [(path.name, m) for m in re.findall(r"find_tools\(([^)]*)\)", path.read_text())]
    from testbed.controlplane.fixture import tool_set

    assert len(calls) >= 6, calls
    for where, args in calls:
        if args.startswith("set_name") or args.startswith("tier"):
            continue  # the definition, and pulumi_cli's pass-through of a tier's name
        name = args.split(",")[0].strip().strip('"')
        assert args.split(",")[0].strip().startswith('"'), (where, args)
        assert tool_set(name), (where, args)


def test_nothing_imports_from_tests_but_tests():
    """The layout's one rule: the package, the program, testbed/, benchmarks/ and scripts/ import nothing from
    tests/ (test doubles and local infrastructure live in testbed/), and tests/ imports nothing from benchmarks/."""
    importing = re.compile(r"^\s*(?:from|import) (tests|benchmarks)\b", re.MULTILINE)
    offenders = []
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT).parts
        if parts[0] in {"venv", ".ci", "node_modules", "mutants"} or "node_modules" in parts:
            continue
        for found in importing.findall(path.read_text()):
            if (found == "tests" and parts[0] != "tests") or (found == "benchmarks" and parts[0] == "tests"):
                offenders.append(f"{'/'.join(parts)} imports {found}")
    for script in (ROOT / "scripts").iterdir():
        if script.is_file() and "-m tests." in script.read_text(errors="replace"):
            offenders.append(f"scripts/{script.name} runs a module of tests/")
    assert offenders == []


def test_no_test_module_imports_another_or_a_conftest():
    """What two test modules share lives in tests/support.py (or testbed/): no test module and no conftest.py imports
    a test module or a conftest.py, so moving or deleting one test file breaks no other."""
    importing = re.compile(r"^\s*(?:from|import) ([\w.]+)", re.MULTILINE)
    offenders = []
    for path in [*ROOT.glob("tests/**/*.py"), *ROOT.glob("testbed/**/*.py")]:
        if "node_modules" in path.parts:
            continue
        for module in importing.findall(path.read_text()):
            last = module.rsplit(".", 1)[-1]
            # ``from tests import test_x`` names the module after ``import``: the bare package is refused too
            if module == "tests" or (
                module.startswith(("tests.", "testbed.")) and last.startswith(("test_", "conftest"))
            ):
                offenders.append(f"{path.relative_to(ROOT)} imports {module}")
    assert offenders == []


def test_each_tier_is_a_folder():
    """A test's tier is its folder: no test file outside tests/<tier> or testbed/, and no module-level tier marker
    that could disagree with the folder's conftest.py."""
    tiers = {"unit", "kubectl", "cluster", "engine", "languages"}
    stray = [p for p in ROOT.glob("tests/**/test_*.py") if p.relative_to(ROOT / "tests").parts[0] not in tiers]
    assert stray == []
    marked = [
        str(p.relative_to(ROOT))
        for p in [*ROOT.glob("tests/**/test_*.py"), *ROOT.glob("testbed/**/test_*.py")]
        if re.search(r"^pytestmark = pytest\.mark\.(kubectl|cluster|engine|languages)\b", p.read_text(), re.MULTILINE)
    ]
    assert marked == []
