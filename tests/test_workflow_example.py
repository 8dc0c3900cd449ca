"""The CI examples are valid for their platform and deploy, wait and roll back."""

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from eks_cicd_access.trust import DEFAULT_AUDIENCE, GITHUB, GITLAB, check_subject

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
WORKFLOW = EXAMPLES / "github-actions" / "deploy.yml"
OIDC_WORKFLOW = EXAMPLES / "github-actions" / "deploy-oidc.yml"
GITLAB_PIPELINE = EXAMPLES / "gitlab-ci" / ".gitlab-ci.yml"
SCHEMAS = {
    WORKFLOW: "vendor.github-workflows",
    OIDC_WORKFLOW: "vendor.github-workflows",
    GITLAB_PIPELINE: "vendor.gitlab-ci",
}


def check(path: Path, schema: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("path", list(SCHEMAS), ids=lambda p: p.name)
def test_examples_match_their_platforms_schema(path):
    """check-jsonschema (offline, vendored schemas) accepts each example."""
    result = check(path, SCHEMAS[path])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("path", "break_it"),
    [
        (WORKFLOW, lambda doc: doc["jobs"]["deploy"].__setitem__("runs-onn", doc["jobs"]["deploy"].pop("runs-on"))),
        (OIDC_WORKFLOW, lambda doc: doc["permissions"].__setitem__("id-token", "sometimes")),
        (GITLAB_PIPELINE, lambda doc: doc["deploy"].__setitem__("id_tokens", {"AWS_ID_TOKEN": {"audience": "x"}})),
    ],
    ids=["misspelt key", "bad permission", "bad id_tokens"],
)
def test_schema_check_can_fail(tmp_path, path, break_it):
    """The same check rejects a broken copy, so a pass means something."""
    broken = yaml.safe_load(path.read_text())
    break_it(broken)
    copy = tmp_path / path.name
    copy.write_text(yaml.safe_dump(broken))
    assert check(copy, SCHEMAS[path]).returncode != 0


def steps(path: Path) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = yaml.safe_load(path.read_text())["jobs"]["deploy"]["steps"]
    return found


@pytest.mark.parametrize("path", [WORKFLOW, OIDC_WORKFLOW], ids=lambda p: p.name)
def test_workflows_deploy_wait_and_roll_back(path):
    """Steps: build the kubeconfig with the runner's AWS CLI, set image, rollout status, and rollout undo once the
    image was set and anything later failed, was cancelled or timed out; the wait has a step timeout too."""
    runs = [s.get("run", "") for s in steps(path)]
    order = ["update-kubeconfig", "set image", "rollout status", "rollout undo"]
    positions = [next(i for i, run in enumerate(runs) if command in run) for command in order]
    assert positions == sorted(positions)
    assert steps(path)[positions[-1]]["if"] == "(failure() || cancelled()) && steps.set-image.outcome == 'success'"
    assert steps(path)[positions[1]]["id"] == "set-image"
    assert (
        steps(path)[positions[2]]["timeout-minutes"]
        < yaml.safe_load(path.read_text())["jobs"]["deploy"]["timeout-minutes"]
    )


@pytest.mark.parametrize("path", [WORKFLOW, OIDC_WORKFLOW], ids=lambda p: p.name)
def test_kubectl_is_pinned_by_an_input(path):
    """kubectl comes from setup-kubectl at the kubectl-version input, which has a pinned default (no 'latest')."""
    document = yaml.safe_load(path.read_text())
    triggers = document[True]  # YAML 1.1 reads the key `on` as true
    default = triggers["workflow_dispatch"]["inputs"]["kubectl-version"]["default"]
    assert re.fullmatch(r"v1\.\d+\.\d+", default)
    (setup,) = [s for s in steps(path) if s.get("uses", "").startswith("azure/setup-kubectl@")]
    assert setup["with"]["version"] == "${{ inputs.kubectl-version }}"


def test_the_key_workflow_installs_nothing_from_this_repository():
    """No pip install of this package (a private repository would need credentials): the runner's AWS CLI
    builds the kubeconfig."""
    assert "pip install" not in WORKFLOW.read_text()


def test_the_keyless_workflow_assumes_the_role_and_stores_no_key():
    """The OIDC workflow asks for an id-token, assumes vars.AWS_ROLE_ARN and uses no secret at all."""
    text = OIDC_WORKFLOW.read_text()
    document = yaml.safe_load(text)
    assert document["permissions"] == {"id-token": "write", "contents": "read"}
    assert "secrets." not in text and "AWS_ACCESS_KEY_ID" not in text
    (assume,) = [
        s for s in steps(OIDC_WORKFLOW) if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")
    ]
    assert assume["with"]["role-to-assume"] == "${{ vars.AWS_ROLE_ARN }}"
    runs = [s.get("run", "") for s in steps(OIDC_WORKFLOW)]
    order = ["update-kubeconfig", "set image", "rollout status", "rollout undo"]
    positions = [next(i for i, run in enumerate(runs) if command in run) for command in order]
    assert positions == sorted(positions)
    assert (
        steps(OIDC_WORKFLOW)[positions[-1]]["if"]
        == "(failure() || cancelled()) && steps.set-image.outcome == 'success'"
    )


@pytest.mark.parametrize("path", [WORKFLOW, OIDC_WORKFLOW], ids=lambda p: p.name)
def test_inputs_never_reach_a_script_unquoted(path):
    """No `${{ inputs... }}` or `${{ github.event... }}` inside a run: script (script injection); they go
    through env: and are quoted there."""
    for step in steps(path):
        assert not re.search(r"\$\{\{\s*(inputs|github\.event)\.", step.get("run", "")), step
    assert yaml.safe_load(path.read_text())["jobs"]["deploy"]["env"]["IMAGE"] == "${{ inputs.image }}"


def test_the_workflows_subject_is_one_the_component_accepts():
    """The job runs in environment production, so its token's subject is repo:OWNER/REPO:environment:production,
    which the component accepts as an oidc_subject."""
    environment = yaml.safe_load(OIDC_WORKFLOW.read_text())["jobs"]["deploy"]["environment"]
    check_subject(GITHUB, "oidc_subjects[0]", f"repo:acme/web:environment:{environment}")


def test_the_gitlab_pipeline_assumes_the_role_with_its_id_token():
    """id_tokens with the role's audience, written where AWS_WEB_IDENTITY_TOKEN_FILE points; no stored key;
    rollback in after_script when the job did not succeed after the image was set."""
    text = GITLAB_PIPELINE.read_text()
    job = yaml.safe_load(text)["deploy"]
    assert job["id_tokens"] == {"AWS_ID_TOKEN": {"aud": DEFAULT_AUDIENCE}}
    setup = "\n".join(job["before_script"])
    assert '> "$CI_PROJECT_DIR/.aws-web-identity-token"' in setup
    assert 'AWS_WEB_IDENTITY_TOKEN_FILE="$CI_PROJECT_DIR/.aws-web-identity-token"' in setup
    assert "AWS_ACCESS_KEY_ID" not in text and "AWS_SECRET_ACCESS_KEY" not in text
    script = "\n".join(job["script"])
    assert script.index("set image") < script.index("rollout status")
    after = "\n".join(job["after_script"])
    assert '"$CI_JOB_STATUS" != "success"' in after and "rollout undo" in after
    check_subject(GITLAB, "oidc_subjects[0]", "project_path:acme/web:ref_type:branch:ref:main")
    assert '$CI_COMMIT_BRANCH == "main"' in job["rules"][0]["if"]
