"""``scripts/demo``, the README's way to try it without AWS, runs its whole flow (``pytest -m engine``)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from testbed.docs import block
from tests.support import ROOT

DEMO = ROOT / "scripts" / "demo"
STEPS = [
    "build or reuse the tools",
    "start the control plane and moto",
    "pulumi up the dev stack",
    "deploy an image and roll it back as CI",
    "another namespace is refused",
    "pulumi destroy",
    "stop everything",
]


def test_the_demo_runs_every_step_in_order_and_cleans_up(tmp_path: Path) -> None:
    """The README's demo step (``scripts/demo``, found by its marker) prints its seven steps in order, each ``ok``
    and each command it runs, explains its resource count, exits 0, and leaves no work directory behind."""
    (command,) = block("demo")
    assert command == "scripts/demo", command
    env = {**os.environ, "PYTHON": sys.executable, "TMPDIR": str(tmp_path)}
    done = subprocess.run([str(ROOT / command)], env=env, capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    headers = re.findall(r"^==> (\d)\. (.*)$", done.stdout, flags=re.MULTILINE)
    assert [int(n) for n, _ in headers] == list(range(1, 8))
    assert all(text.startswith(want) for (_, text), want in zip(headers, STEPS, strict=True)), headers
    assert done.stdout.count("\n    ok (") == 7
    assert "+ 11 created" in done.stdout and "- 11 deleted" in done.stdout
    # It teaches: what step 1 needs, each command it runs, and what the count is made of.
    assert "every tool is built already (scripts/tools @demo)" in done.stdout, done.stdout
    assert "\n    $ pulumi up --yes\n" in done.stdout and "\n    $ pulumi destroy --yes\n" in done.stdout
    assert "    8 children of the component:\n" in done.stdout, done.stdout
    assert "and 3 more: pulumi:pulumi:Stack, pulumi:providers:kubernetes, eks-cicd-access:index:EksCicdAccess" in (
        done.stdout
    )
    assert "$ kubectl -n my-test-ns rollout undo deployment/web" in done.stdout
    assert 'deployment "web" successfully rolled out' in done.stdout
    assert 'Error from server (Forbidden): deployments.apps is forbidden: User "my-test-user"' in done.stdout
    assert done.stdout.rstrip().endswith("demo: the whole flow ran")
    assert list(tmp_path.iterdir()) == [], "the work directory is removed"


def test_the_demo_maps_ci_by_an_access_entry_on_an_api_cluster(tmp_path: Path) -> None:
    """``scripts/demo --identity-mapping access-entry --authentication-mode API`` runs the whole flow and says that
    aws-iam-authenticator's access-entry backend admitted CI (the only backend an API cluster has)."""
    env = {**os.environ, "PYTHON": sys.executable, "TMPDIR": str(tmp_path)}
    args = ["--identity-mapping", "access-entry", "--authentication-mode", "API"]
    done = subprocess.run([str(DEMO), *args], env=env, capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "the cluster in API mode" in done.stdout and "mapped by access-entry" in done.stdout
    assert "1 x aws:eks/accessEntry:AccessEntry" in done.stdout, done.stdout
    assert "CI admitted by aws-iam-authenticator's DynamicFile (access entries) backend (in API mode)" in done.stdout
    assert done.stdout.rstrip().endswith("demo: the whole flow ran")


def test_auto_climbs_from_config_map_to_an_access_entry_with_no_401(tmp_path: Path) -> None:
    """``scripts/demo --identity-mapping auto --authentication-mode CONFIG_MAP --migrate``: ``auto`` maps CI by
    aws-auth on a CONFIG_MAP cluster; the extra step turns access entries on and runs one ``up``, which moves CI to
    an access entry while the authenticator, asked every 0.2 s, refuses it 0 times; eight steps, exit 0."""
    env = {**os.environ, "PYTHON": sys.executable, "TMPDIR": str(tmp_path)}
    args = ["--identity-mapping", "auto", "--authentication-mode", "CONFIG_MAP", "--migrate"]
    done = subprocess.run([str(DEMO), *args], env=env, capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    headers = re.findall(r"^==> (\d)\. (.*)$", done.stdout, flags=re.MULTILINE)
    assert [int(n) for n, _ in headers] == list(range(1, 9)), headers
    assert "CI admitted by aws-iam-authenticator's EKSConfigMap (aws-auth) backend (in CONFIG_MAP mode)" in (
        done.stdout
    )
    assert (
        "$ aws eks update-cluster-config --name my-cluster-1 --access-config authenticationMode=API_AND_CONFIG_MAP"
        in (done.stdout)
    )
    found = re.search(r"aws-auth -> access-entry: CI refused (\d+) times in (\d+) asks while up ran", done.stdout)
    assert found and found[1] == "0" and int(found[2]) > 0, done.stdout
    print(found[0])
    assert done.stdout.rstrip().endswith("demo: the whole flow ran")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--identity-mapping", "aws-auth", "--authentication-mode", "API"],
         "does not work on a cluster in API mode: use access-entry or auto"),
        (["--identity-mapping", "auto", "--authentication-mode", "API", "--migrate"],
         "--migrate: an API cluster reads no aws-auth"),
    ],
    ids=["aws-auth-on-api", "migrate-on-api"],
)  # fmt: skip
def test_a_route_the_mode_cannot_take_is_refused_before_anything_starts(
    tmp_path: Path, args: list[str], message: str
) -> None:
    """A mapping the mode cannot take (aws-auth is not read in API mode), or a migration it has no room for, exits 2
    at once, saying what works, and starts nothing."""
    env = {**os.environ, "PYTHON": sys.executable, "TMPDIR": str(tmp_path)}
    done = subprocess.run([str(DEMO), *args], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr, done.stderr
    assert "==>" not in done.stdout and list(tmp_path.iterdir()) == []
