"""The plugin under the real engine, from programs in other languages: ``examples/yaml`` and ``examples/typescript``.

Each example runs as the README says, from a copy of ``examples/`` beside a link to ``provider/`` (so its
``packages:`` path resolves as in a checkout): ``pulumi package add ../../provider``, then ``preview``, ``up`` and
``destroy`` against the session's control plane and the AWS stand-in (moto behind a stand-in plugin: no AWS).
What each must show: both teams' entries and the standalone one written, the foreign entries intact, destroy
removing exactly ours.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.controlplane.fixture import find_tools
from tests.engine_stack import CLUSTER_NAME, REPO, Engine, Project, delete_namespace

pytestmark = pytest.mark.languages

LANGUAGE_TOOLS = ("pulumi-language-yaml",)
NAMESPACES = ("team-a", "team-b")
RELEASE_BOT = {"rolearn": "arn:aws:iam::123456789012:role/release-bot", "username": "release-bot", "groups": []}


@pytest.fixture(scope="module")
def languages(engine: Engine) -> Engine:
    """The engine tier's world, with the language hosts of this tier on ``PATH`` too."""
    return Engine({**engine.tools, **find_tools(LANGUAGE_TOOLS)}, engine.moto, engine.plane)


def example(engine: Engine, root: Path, name: str) -> Project:
    """``examples/<name>`` copied to ``root/examples/<name>``, beside a link to the plugin, with a fresh backend."""
    (root / "examples").mkdir(parents=True)
    shutil.copytree(REPO / "examples" / name, root / "examples" / name, symlinks=True)
    (root / "provider").symlink_to(REPO / "provider", target_is_directory=True)
    env = engine.env(root)
    return Project(root / "examples" / name, env, Path(env["HOME"]).as_uri())


def entries(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    data = engine.plane.aws_auth_data() or {}
    return {key: yaml.safe_load(data.get(key) or "[]") for key in ("mapRoles", "mapUsers")}


@pytest.fixture
def yaml_example(languages: Engine, foreign: dict[str, str], tmp_path: Path) -> Iterator[Project]:
    """The YAML example with a `dev` stack whose config is the seeded cluster and an admin kubeconfig."""
    project = example(languages, tmp_path, "yaml")
    project("login", project.backend)
    project("stack", "init", "dev")
    project("config", "set", "clusterName", CLUSTER_NAME)
    project("config", "set", "aws:region", "us-east-1")
    project("config", "set", "--secret", "kubeconfig", stdin=languages.plane.admin_kubeconfig)
    yield project
    try:
        project("destroy", "--yes", "--skip-preview", ok=None)
    finally:
        for namespace in NAMESPACES:
            delete_namespace(languages.plane, namespace)


def test_the_yaml_example_writes_both_teams_and_destroy_removes_exactly_ours(
    languages: Engine,
    yaml_example: Project,
    foreign: dict[str, str],
) -> None:
    """From YAML (the plugin named in ``packages:``): ``preview`` writes nothing; ``up`` maps team A's user, team B's
    role and the release bot beside the foreign entries; ``destroy`` leaves aws-auth exactly as it found it."""
    preview = yaml_example("preview")
    assert "eks-cicd-access:index:EksCicdAccess" in preview.stdout, preview.stdout
    assert engine_untouched(languages, foreign)
    up = yaml_example("up", "--yes")
    print(up.stdout)
    found = entries(languages)
    before = {key: yaml.safe_load(foreign[key]) for key in foreign}
    assert found["mapUsers"][: len(before["mapUsers"])] == before["mapUsers"]
    assert found["mapRoles"][: len(before["mapRoles"])] == before["mapRoles"]
    ours_users = found["mapUsers"][len(before["mapUsers"]) :]
    ours_roles = found["mapRoles"][len(before["mapRoles"]) :]
    assert [u["username"] for u in ours_users] == ["team-a"], found
    assert sorted(r["username"] for r in ours_roles) == ["release-bot", "team-b"], found
    assert RELEASE_BOT in ours_roles
    outputs = yaml_example.outputs()
    assert outputs["teamAUser"] == "team-a" and outputs["teamBRoleArn"].endswith(":role/team-b"), outputs
    down = yaml_example("destroy", "--yes")
    print(down.stdout)
    assert languages.plane.aws_auth_data() == foreign


def engine_untouched(engine: Engine, foreign: dict[str, str]) -> bool:
    """A preview wrote nothing: aws-auth is as seeded."""
    return engine.plane.aws_auth_data() == foreign


def test_bad_input_from_yaml_fails_the_preview_naming_the_field_as_spelt(languages: Engine, tmp_path: Path) -> None:
    """A YAML program asking for ``kube-system``: the preview fails with the component's message in the schema's
    spelling (``allowSystemNamespace``), without a Python traceback, and nothing is registered."""
    program = {
        "name": "bad-input",
        "runtime": "yaml",
        "packages": {"eks-cicd-access": str(REPO / "provider")},
        "resources": {
            "ci": {
                "type": "eks-cicd-access:EksCicdAccess",
                "properties": {"clusterName": CLUSTER_NAME, "namespace": "kube-system", "kubeconfig": "x"},
            }
        },
    }
    project = Project.make(languages, tmp_path, "bad-input", {"Pulumi.yaml": yaml.safe_dump(program)})
    project("login", project.backend)
    project("stack", "init", "dev")
    failed = project("preview", ok=False)
    output = failed.stdout + failed.stderr
    assert "namespace: 'kube-system' is a system namespace" in output, output
    assert "allowSystemNamespace=True" in output and "allow_system_namespace" not in output, output
    assert "Traceback" not in output, output
