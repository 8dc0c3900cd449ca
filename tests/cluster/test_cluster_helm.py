"""The Helm presets against the real control plane, with the real Helm (scripts/tools builds v4 from source).

A pipeline runs ``helm upgrade --install --wait`` (a first install, then
upgrades) of our small chart (``testbed/charts/web``: a Deployment, its
Service and a ConfigMap; the one value is the image), ``helm history``,
``status`` and ``list``, ``helm rollback`` to the previous revision and to a
named one, with ``--history-max`` pruning old revisions, and an upgrade to an
image kwok never makes Ready with ``--rollback-on-failure`` (v4's name for
``--atomic``), which Helm must roll back. It runs as the user aws-auth maps
CI's access key to (the ``ci`` fixture), through aws-iam-authenticator, bound
by the component's own Role (``bound``) in a fresh namespace: the ``helm``
preset with release storage in ConfigMaps (``HELM_DRIVER=configmap``), and
``helm-secrets`` with Helm's default, Secrets. Then each verb of the preset is
removed alone: kube-apiserver's RBAC refuses it to the first command that
needs it. A command works when it exits as expected and the server refused
none of its requests.

``pytest -m cluster tests/cluster/test_cluster_helm.py``.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from eks_cicd_access.rbac import PRESETS, RoleRule
from testbed.controlplane.fixture import NEVER_READY_IMAGE, ControlPlane, KubectlRun
from testbed.docs import block
from tests.support import ROOT, USER, ci_kubeconfig, without_verb

CHART = ROOT / "testbed" / "charts" / "web"
RELEASE = "web"
IMAGE = "registry.example.com/web:{}"
HISTORY_MAX = "3"
#: Helm's release storage per preset (``HELM_DRIVER``).
DRIVERS = {"helm": "configmap", "helm-secrets": "secret"}
#: The request table in the docs, between these lines: what this test saw, per command and storage.
DOC = ROOT / "docs" / "helm.md"
TABLE_START, TABLE_END = "<!-- helm-requests: begin -->", "<!-- helm-requests: end -->"
#: What Helm says when ``--rollback-on-failure`` did its job.
ROLLED_BACK = {
    "install --rollback-on-failure": "has been uninstalled due to rollback-on-failure",
    "upgrade --rollback-on-failure": "has been rolled back due to rollback-on-failure",
}


def pipeline(namespace: str) -> list[tuple[str, list[str]]]:
    """(label, helm args) of each command, in order. The last two fail on purpose (pods that never become Ready):
    an upgrade, which Helm rolls back, and a first install, which Helm uninstalls; both exit 1."""
    where = ["-n", namespace]
    wait = ["--wait", "--timeout", "30s", "--history-max", HISTORY_MAX]
    never = ["--set", f"image={NEVER_READY_IMAGE}", *where, "--rollback-on-failure", "--wait", "--timeout", "5s"]

    def upgrade(image: str) -> list[str]:
        return ["upgrade", "--install", RELEASE, str(CHART), "--set", f"image={image}", *where, *wait]

    return [
        ("upgrade --install (install)", upgrade(IMAGE.format(1))),
        ("upgrade --install (upgrade)", upgrade(IMAGE.format(2))),
        ("history", ["history", RELEASE, *where]),
        ("status", ["status", RELEASE, *where]),
        ("list", ["list", *where]),
        # Revision 3, as revision 1.
        ("rollback (previous)", ["rollback", RELEASE, *where, *wait]),
        # Revision 4, as revision 2; --history-max 3 prunes revision 1.
        ("rollback 2", ["rollback", RELEASE, "2", *where, *wait]),
        # Revision 5 fails; Helm rolls back to revision 4's image (revision 6).
        ("upgrade --rollback-on-failure", ["upgrade", RELEASE, str(CHART), *never, "--history-max", HISTORY_MAX]),
        # Another release's first install fails; Helm uninstalls it.
        ("install --rollback-on-failure", ["install", f"{RELEASE}-new", str(CHART), *never]),
    ]


#: The Deployment ``web``'s image after each command.
IMAGES = [IMAGE.format(1), *[IMAGE.format(2)] * 4, IMAGE.format(1), *[IMAGE.format(2)] * 3]


@pytest.fixture(scope="module")
def as_ci(control_plane: ControlPlane, request: pytest.FixtureRequest) -> Callable[[list[str], str], KubectlRun]:
    """``as_ci(args, driver)``: helm as CI with release storage ``driver`` (the ``ci`` fixture maps ``USER``)."""
    request.getfixturevalue("ci")
    kubeconfig = ci_kubeconfig(control_plane)

    def run(args: list[str], driver: str) -> KubectlRun:
        return control_plane.helm(args, kubeconfig=kubeconfig, credentials=USER, env={"HELM_DRIVER": driver})

    return run


#: Requests the presets do not grant and Helm carries on without: ``--wait`` and ``helm status`` list the
#: Deployment's Pods (``status`` warns "get the relation pod is failed").
IGNORED_DENIALS = {("list", "pods")}


def denials(run: KubectlRun) -> set[tuple[str, str]]:
    """(verb, resource) of each request the API server answered 403."""
    found = set()
    for event in run.requests:
        ref = event.get("objectRef") or {}
        if (event.get("responseStatus") or {}).get("code") == 403:
            found.add((str(event.get("verb")), str(ref.get("resource"))))
    return found


def refused(run: KubectlRun) -> set[tuple[str, str]]:
    """(verb, resource) of each request the API server answered 403 that Helm does not ignore."""
    return denials(run) - IGNORED_DENIALS


def works(label: str, run: KubectlRun) -> bool:
    """The command exits as it should (0, or 1 having rolled back), and the server refused none of its requests."""
    done = label not in ROLLED_BACK and run.returncode == 0
    rolled_back = label in ROLLED_BACK and run.returncode == 1 and ROLLED_BACK[label] in run.stderr
    return (done or rolled_back) and not refused(run)


def image(control_plane: ControlPlane, namespace: str) -> str | None:
    code, deployment = control_plane.request("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/{RELEASE}")
    return None if code == 404 else str(deployment["spec"]["template"]["spec"]["containers"][0]["image"])


def run_pipeline(
    control_plane: ControlPlane, as_ci: Callable[[list[str], str], KubectlRun], namespace: str, driver: str
) -> list[tuple[str, KubectlRun, str | None]]:
    """Each command of ``pipeline`` as CI, in order, up to the first that does not work; with the Deployment's
    image after it."""
    done = []
    for label, args in pipeline(namespace):
        run = as_ci(args, driver)
        done.append((label, run, image(control_plane, namespace)))
        if not works(label, run):
            break
    return done


def explain(done: list[tuple[str, KubectlRun, str | None]]) -> str:
    return "\n".join(
        f"{label}: rc={run.returncode} {[r for r in run.described() if not r.startswith('get /')]}\n"
        f"  {run.stderr.strip()[-600:]}"
        for label, run, _ in done
    )


#: The request table's columns: each resource the commands touch, and the verbs in the order shown.
COLUMNS = ("secrets", "configmaps", "deployments", "replicasets", "pods", "services", "horizontalpodautoscalers",
           "ingresses")  # fmt: skip
VERB_ORDER = ("get", "list", "watch", "create", "update", "patch", "delete")


def table(driver: str, done: list[tuple[str, KubectlRun, str | None]]) -> list[str]:
    """The request table's rows for ``driver``: per command, the verbs it sent for each resource (audit log)."""
    rows = []
    for label, run, _ in done:
        verbs, refused_here = _resources(run), denials(run)
        cells = [
            " ".join(v + (" (403)" if (v, r) in refused_here else "") for v in VERB_ORDER if (v, r) in verbs) or "-"
            for r in COLUMNS
        ]
        rows.append(f"| {driver} | `{label}` | {' | '.join(cells)} |")
    return rows


def documented_table() -> str:
    text = DOC.read_text()
    return text[text.index(TABLE_START) + len(TABLE_START) : text.index(TABLE_END)].strip()


def test_the_helm_presets_are_listed_and_grant_no_escalation() -> None:
    """Both Helm presets are presets; neither grants Pods, exec, impersonation, RBAC objects or ``*``; only
    ``helm-secrets`` touches Secrets."""
    for name in DRIVERS:
        rules = PRESETS[name]
        resources = {r for rule in rules for r in rule["resources"]}
        verbs = {v for rule in rules for v in rule["verbs"]}
        assert not resources & {
            "pods",
            "pods/exec",
            "pods/portforward",
            "serviceaccounts/token",
            "roles",
            "rolebindings",
            "*",
        }
        assert not verbs & {"*", "impersonate", "bind", "escalate", "deletecollection"}
        assert ("secrets" in resources) == (name == "helm-secrets")


@pytest.mark.parametrize("preset", sorted(DRIVERS))
def test_the_helm_pipeline_works_with_the_preset(
    control_plane: ControlPlane,
    bound: Callable[[str], str],
    as_ci: Callable[[list[str], str], KubectlRun],
    preset: str,
) -> None:
    """Under the preset every Helm command works: install, upgrade, history, status, list, both rollbacks
    (the Deployment back on the earlier image), pruning to --history-max, and both --rollback-on-failure."""
    namespace = bound(preset)
    driver = DRIVERS[preset]
    done = run_pipeline(control_plane, as_ci, namespace, driver)
    assert [label for label, _, _ in done] == [label for label, _ in pipeline(namespace)], explain(done)
    assert [seen for _, _, seen in done] == IMAGES, explain(done)
    assert control_plane.request("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/{RELEASE}-new")[0] == 404
    kind = "configmaps" if driver == "configmap" else "secrets"
    records = control_plane.api("GET", f"/api/v1/namespaces/{namespace}/{kind}?labelSelector=owner%3Dhelm,name%3Dweb")
    revisions = sorted(int(r["metadata"]["labels"]["version"]) for r in records["items"])
    # Revisions 1 and 2 pruned: each command keeps --history-max 3 as it writes its revision (2 kept + 1 new); the
    # revision that --rollback-on-failure's own rollback writes (6) prunes nothing.
    assert revisions == [3, 4, 5, 6], f"--history-max {HISTORY_MAX}: {revisions}"
    if preset == "helm":
        touched = {r for _, run, _ in done for _, r in _resources(run)}
        assert "secrets" not in touched, touched
    rows = table(driver, done)
    documented = [line for line in documented_table().splitlines() if line.startswith(f"| {driver} |")]
    assert documented == rows, "docs/helm.md's request table is not what Helm did; it did:\n" + "\n".join(rows)


def _resources(run: KubectlRun) -> set[tuple[str, str]]:
    return {(str(e.get("verb")), str((e.get("objectRef") or {}).get("resource"))) for e in run.requests}


INSTALL = "upgrade --install (install)"
UNINSTALL = "install --rollback-on-failure"
#: For each verb of each Helm preset, the first command that no longer works without it. ``helm-secrets`` shares
#: every rule but its ConfigMap and Secret ones with ``helm``, so only those are removed there.
NEEDED_BY: dict[tuple[str, str, str], str] = {
    **{
        ("helm", resource, verb): UNINSTALL if verb == "delete" else INSTALL
        for resource in ("deployments", "services", "horizontalpodautoscalers", "ingresses")
        for verb in ("get", "watch", "create", "patch", "delete")
    },
    # Without it, --wait cannot tell the Deployment's status and times out.
    ("helm", "replicasets", "list"): INSTALL,
    **{("helm", "configmaps", verb): INSTALL for verb in ("get", "list", "watch", "create", "update", "patch")},
    # Pruning to --history-max deletes the oldest release record.
    ("helm", "configmaps", "delete"): "rollback 2",
    **{("helm-secrets", "configmaps", verb): INSTALL for verb in ("get", "watch", "create", "patch")},
    ("helm-secrets", "configmaps", "delete"): UNINSTALL,
    **{("helm-secrets", "secrets", verb): INSTALL for verb in ("list", "create", "update")},
    # A rollback reads the revision it returns to; until then, Helm only lists the records.
    ("helm-secrets", "secrets", "get"): "rollback (previous)",
    ("helm-secrets", "secrets", "delete"): "rollback 2",
}
REMOVALS = sorted(NEEDED_BY)


def test_each_removal_is_listed() -> None:
    """Every verb of ``helm``, and every ConfigMap and Secret verb of ``helm-secrets``, has its removal here."""

    def verbs(preset: str, only: tuple[str, ...] = ()) -> list[tuple[str, str, str]]:
        return [
            (preset, resource, verb)
            for rule in PRESETS[preset]
            for resource in rule["resources"]
            if not only or resource in only
            for verb in rule["verbs"]
        ]

    assert sorted(verbs("helm") + verbs("helm-secrets", ("configmaps", "secrets"))) == REMOVALS


def refused_as(preset: str, resource: str, verb: str) -> set[tuple[str, str]]:
    """The requests the API server refuses (the audit log's verbs) when ``verb`` on ``resource`` is removed from
    ``preset``. ``create`` is refused to the server-side apply (a ``patch``) that would create a chart's object, but
    a release record is a plain create. Without ``watch``, Helm's watcher falls back to ``list``: refused too
    unless the preset grants it."""
    records = "configmaps" if DRIVERS[preset] == "configmap" else "secrets"
    if verb == "create" and resource != records:
        return {("patch", resource)}
    lists = any(resource in rule["resources"] and "list" in rule["verbs"] for rule in PRESETS[preset])
    if verb == "watch" and not lists:
        return {("watch", resource), ("list", resource)}
    return {(verb, resource)}


@pytest.mark.parametrize(("preset", "resource", "verb"), REMOVALS, ids=["-".join(r) for r in REMOVALS])
def test_each_helm_verb_is_needed(
    control_plane: ControlPlane,
    bound: Callable[[list[RoleRule]], str],
    as_ci: Callable[[list[str], str], KubectlRun],
    preset: str,
    resource: str,
    verb: str,
) -> None:
    """Without this one verb, RBAC refuses it to the first Helm command that needs it (which then fails)."""
    namespace = bound(without_verb(PRESETS[preset], resource, verb))
    done = run_pipeline(control_plane, as_ci, namespace, DRIVERS[preset])
    label, last, _ = done[-1]
    assert (label, works(label, last)) == (NEEDED_BY[preset, resource, verb], False), explain(done)
    assert refused(last) == refused_as(preset, resource, verb), explain(done)
    # Helm relays the refusal; or, refused inside an uninstall, says the uninstall failed or left it half done; or,
    # refused the ReplicaSets, says it could not tell the Deployment's status.
    assert re.search(r"forbidden|uninstalling the release|uninstalled due to|status: Unknown", last.stderr), last.stderr


def test_helm_storing_releases_in_secrets_is_refused_under_the_helm_preset(
    bound: Callable[[str], str], as_ci: Callable[[list[str], str], KubectlRun]
) -> None:
    """Under ``helm``, Helm with its default Secret storage is refused at its first request: CI reads no Secret."""
    namespace = bound("helm")
    label, args = pipeline(namespace)[0]
    run = as_ci(args, "secret")
    assert run.returncode != 0 and refused(run) == {("list", "secrets")}, explain([(label, run, None)])
    assert 'cannot list resource "secrets"' in run.stderr, run.stderr


@pytest.mark.parametrize("preset", sorted(DRIVERS))
def test_helm_in_another_namespace_is_refused(
    control_plane: ControlPlane,
    bound: Callable[[str], str],
    as_ci: Callable[[list[str], str], KubectlRun],
    preset: str,
) -> None:
    """The Helm presets let CI install nothing, and read no release, outside its namespace."""
    bound(preset)
    elsewhere = "default"
    for label, args in pipeline(elsewhere)[:3]:
        run = as_ci(args, DRIVERS[preset])
        kind = "configmaps" if DRIVERS[preset] == "configmap" else "secrets"
        assert run.returncode != 0 and ("list", kind) in refused(run), explain([(label, run, None)])
    assert image(control_plane, elsewhere) is None


WORKFLOW = ROOT / "examples" / "github-actions" / "deploy-helm.yml"


def test_the_helm_workflow_installs_the_helm_proven_here_and_refuses_another_checksum(
    control_plane: ControlPlane, tmp_path: Path
) -> None:
    """deploy-helm.yml's install step, run here with the real ``go`` (its ``go install`` recorded, not built):
    the module sum it pins is the Go checksum database's for the version this tier runs; a changed sum stops it."""
    (step,) = [
        s for s in yaml.safe_load(WORKFLOW.read_text())["jobs"]["deploy"]["steps"] if s.get("id") == "install-helm"
    ]
    built = subprocess.run([str(control_plane.tools["helm"]), "version", "--template", "{{.Version}}"],
                           capture_output=True, text=True, timeout=30, check=True)  # fmt: skip
    assert step["env"]["HELM_VERSION"] == built.stdout.strip()
    real_go = shutil.which("go")
    assert real_go, "go is on PATH wherever scripts/tools builds"
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "go").write_text(
        f'#!/bin/sh\nif [ "$1" = install ]; then echo "$@" > "{tmp_path}/installed"; exit 0; fi\nexec {real_go} "$@"\n'
    )
    (shim / "go").chmod(0o755)

    def run(sum_: str) -> subprocess.CompletedProcess[str]:
        path = f"{shim}{os.pathsep}{os.environ['PATH']}"
        env = {**os.environ, **step["env"], "HELM_MODULE_SUM": sum_, "RUNNER_TEMP": str(tmp_path),
               "GITHUB_PATH": str(tmp_path / "github-path"), "PATH": path}  # fmt: skip
        return subprocess.run(["bash", "-e", "-c", step["run"]], env=env, capture_output=True, text=True, timeout=300)

    done = run(step["env"]["HELM_MODULE_SUM"])
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "installed").read_text().split() == [
        "install",
        f"helm.sh/helm/v4/cmd/helm@{built.stdout.strip()}",
    ]
    assert (tmp_path / "github-path").read_text().strip() == f"{tmp_path}/bin"
    (tmp_path / "installed").unlink()
    tampered = run("h1:" + "A" * 43 + "=")
    assert tampered.returncode == 1 and "has checksum" in tampered.stdout, tampered.stdout + tampered.stderr
    assert not (tmp_path / "installed").exists()


def test_the_documented_helm_command_deploys_under_the_preset(
    control_plane: ControlPlane, bound: Callable[[str], str], as_ci: Callable[[list[str], str], KubectlRun]
) -> None:
    """docs/helm.md's command works as CI under ``helm``: the Deployment runs the image it names. What differs from
    what you type: the chart is ``testbed/charts/web`` and the namespace the test's."""
    namespace = bound("helm")
    (command,) = block("helm-upgrade")
    setting, program, *args = shlex.split(command)
    assert (setting, program) == ("HELM_DRIVER=configmap", "helm"), command
    args = [str(CHART) if a == "./chart" else a for a in args]
    args[args.index("-n") + 1] = namespace
    run = as_ci(args, setting.partition("=")[2])
    assert works("upgrade --install", run), explain([("upgrade --install", run, None)])
    assert image(control_plane, namespace) == "registry.example.com/web:1.2.3"
