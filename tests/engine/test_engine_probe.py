"""The real Pulumi CLI (v3.276.0, built by ``scripts/tools @engine``) runs a ``runtime: python`` project here.

The first piece of the engine tier (``pytest -m engine``): ``pulumi up``, ``refresh`` and ``destroy`` of a small
probe project on a local file backend, through our stand-in language host (``testbed/engine_host``, since the
real ``pulumi-language-python`` cannot be built from the Go module proxy) and the SDK's own
``pulumi-language-python-exec`` and dynamic-provider shim, offline. It shows what the engine tier will stand on:
config and secret config reach the program, a dynamic resource is created, read and deleted by the engine,
outputs come back, and a secret is stored encrypted. The dev stack itself, with the AWS stand-in and the real
control plane, is not run yet.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from testbed.controlplane.fixture import find_tools
from tests.support import ROOT

HOST = ROOT / "testbed" / "engine_host"
PASSPHRASE = "engine-tier-test-passphrase"
PROGRAM = """
import pulumi
import pulumi.dynamic


class Echo(pulumi.dynamic.ResourceProvider):
    def create(self, props):
        return pulumi.dynamic.CreateResult(id_="echo-" + props["word"], outs={**props, "length": len(props["word"])})

    def read(self, id_, props):
        return pulumi.dynamic.ReadResult(id_, props)

    def delete(self, id_, props):
        with open(props["tombstone"], "w") as out:
            out.write(id_)


class EchoResource(pulumi.dynamic.Resource):
    length: pulumi.Output[int]

    def __init__(self, name, word, tombstone):
        super().__init__(Echo(), name, {"word": word, "tombstone": tombstone, "length": None})


config = pulumi.Config()
if config.get("fail"):
    raise ValueError("the probe was asked to fail: " + config.get("fail"))
echo = EchoResource("echo", config.require("word"), config.require("tombstone"))
pulumi.export("length", echo.length)
pulumi.export("token", config.require_secret("token"))
"""


@dataclass
class Cli:
    """``pulumi`` in a project directory, with a file backend, offline."""

    project: Path
    env: dict[str, str]

    def __call__(self, *args: str, timeout: float = 180, ok: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``pulumi ARGS``; it must succeed (``ok``) or fail (``ok=False``)."""
        done = subprocess.run(
            [self.env["PULUMI"], *args, "--non-interactive"],
            cwd=self.project,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert (done.returncode == 0) is ok, (
            f"pulumi {' '.join(args)}: exit {done.returncode}:\n{done.stdout}\n{done.stderr}"
        )
        return done


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    """The probe project, a fresh file backend and PULUMI_HOME, and a stack ``dev`` with its config set."""
    pulumi = find_tools("engine")["pulumi"]
    project = tmp_path / "probe"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: probe\nruntime: python\n")
    (project / "__main__.py").write_text(PROGRAM)
    env = {
        "PATH": os.pathsep.join([str(HOST), str(pulumi.parent), str(Path(sys.executable).parent), "/usr/bin", "/bin"]),
        "HOME": str(tmp_path),
        "PULUMI": str(pulumi),
        "PULUMI_HOME": str(tmp_path / "pulumi-home"),
        "PULUMI_BACKEND_URL": (tmp_path / "state").as_uri(),
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_PYTHON_CMD": sys.executable,
        "EKS_CICD_PYTHON": sys.executable,
    }
    (tmp_path / "state").mkdir()
    found = Cli(project, env)
    found("stack", "init", "dev")
    found("config", "set", "word", "kubectl")
    found("config", "set", "tombstone", str(tmp_path / "deleted"))
    found("config", "set", "--secret", "token", "s3cr3t-value")
    yield found


def test_up_refresh_destroy_of_a_python_project(cli: Cli) -> None:
    """The real engine runs the program through the stand-in host: the dynamic resource is created (its output
    comes back), refreshed, and deleted by destroy; the secret output stays secret in state."""
    up = cli("up", "--yes")
    assert "+ 2 created" in up.stdout, up.stdout
    outputs = json.loads(cli("stack", "output", "--json", "--show-secrets").stdout)
    assert outputs == {"length": 7, "token": "s3cr3t-value"}
    assert json.loads(cli("stack", "output", "--json").stdout)["token"] == "[secret]"
    state = cli("stack", "export").stdout
    assert "s3cr3t-value" not in state and '"4dabf18193072939515e22adb298388d"' in state, "the secret is ciphertext"
    cli("refresh", "--yes")
    preview = cli("preview", "--expect-no-changes")
    assert "no changes" in preview.stdout.lower() or "unchanged" in preview.stdout, preview.stdout
    cli("destroy", "--yes")
    assert (cli.project.parent / "deleted").read_text() == "echo-kubectl", "destroy ran the provider's delete"
    cli("stack", "rm", "--yes")


def test_a_failing_program_fails_the_preview_and_creates_nothing(cli: Cli) -> None:
    """An exception in the program fails ``pulumi preview`` and ``up`` with a non-zero exit and the program's
    message, and nothing is created."""
    cli("config", "set", "fail", "bad input")
    preview = cli("preview", ok=False)
    assert "the probe was asked to fail: bad input" in preview.stdout + preview.stderr
    up = cli("up", "--yes", ok=False)
    assert "the probe was asked to fail: bad input" in up.stdout + up.stderr
    assert not (cli.project.parent / "deleted").exists()
    resources = json.loads(cli("stack", "export").stdout)["deployment"].get("resources") or []
    assert [r["type"] for r in resources if r["type"] != "pulumi:pulumi:Stack"] == []
