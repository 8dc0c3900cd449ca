"""The GitHub Actions example is a valid workflow that deploys, waits and rolls back."""

import subprocess
import sys
from pathlib import Path

import yaml

WORKFLOW = Path(__file__).resolve().parent.parent / "examples" / "github-actions" / "deploy.yml"
CHECK = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows"]


def test_workflow_matches_the_github_schema():
    """check-jsonschema (offline, vendored schema) accepts the example."""
    result = subprocess.run([*CHECK, str(WORKFLOW)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_can_fail(tmp_path):
    """The same check rejects a workflow with a misspelt key, so a pass means something."""
    broken = yaml.safe_load(WORKFLOW.read_text())
    broken["jobs"]["deploy"]["runs-onn"] = broken["jobs"]["deploy"].pop("runs-on")
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump(broken))
    assert subprocess.run([*CHECK, str(path)], capture_output=True, timeout=60).returncode != 0


def test_workflow_deploys_waits_and_rolls_back():
    """Steps: build the kubeconfig, set image, rollout status, and rollout undo only when the rollout failed."""
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["deploy"]["steps"]
    runs = [s.get("run", "") for s in steps]
    order = ["eks-cicd-kubeconfig", "set image", "rollout status", "rollout undo"]
    positions = [next(i for i, run in enumerate(runs) if command in run) for command in order]
    assert positions == sorted(positions)
    undo = steps[positions[-1]]
    assert undo["if"] == "failure() && steps.rollout.conclusion == 'failure'"
