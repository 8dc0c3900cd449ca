"""The ``app`` preset against the real control plane: together its verbs suffice, and each is needed.

A pipeline runs ``kubectl apply -f k8s/`` (a Deployment with its Service,
ConfigMap, HorizontalPodAutoscaler and Ingress) client-side for one app and
server-side for another, creating then updating, then ``rollout status`` and
``rollout undo``. It runs as the user aws-auth maps CI's access key to
(the cluster tier's ``ci`` fixture), bound by the component's own Role
and RoleBinding (rendered under mocks by ``tests/support.py``'s
``deploy``) in a fresh namespace, in both client modes (kubectl 1.37's
watch-list, and list+watch). Then each verb of the preset is removed alone:
kube-apiserver's RBAC refuses it to the first command that needs it. A command
works when it exits 0 and the server refused none of its requests but those
kubectl ignores (``get namespaces``, as in ``tests/kubectl_commands.py``).

``pytest -m cluster tests/cluster/test_cluster_app_preset.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from eks_cicd_access.rbac import APP, PRESETS, RoleRule
from testbed.clients import MODES
from testbed.controlplane.fixture import ControlPlane, KubectlRun
from tests.kubectl_commands import IGNORED_DENIALS
from tests.support import CI_MAP_USERS, USER, ci_kubeconfig, without_verb

#: The Kubernetes user aws-auth maps ``USER``'s key to: the RoleBinding's subject.
USERNAME = CI_MAP_USERS[0]["username"]
IMAGE = "registry.example.com/web:{}"
#: The new Pod counts as available this long after it is Ready (kwok makes it Ready at once), so
#: ``rollout status`` finds the rollout still in progress and must watch for its end.
MIN_READY_SECONDS = 5
DEFAULT_MODE = "watch-list"
#: The kinds in ``k8s/``.
KINDS = ("ConfigMap", "Deployment", "HorizontalPodAutoscaler", "Ingress", "Service")


def manifests(app: str, version: int) -> dict[str, dict[str, Any]]:
    """``k8s/`` of ``app`` at ``version``: file name -> object (no namespace: ``-n`` gives it).

    Every object carries label ``version``, so each update changes each of them."""
    meta = {"name": app, "labels": {"app": app, "version": str(version)}}
    backend = {"service": {"name": app, "port": {"number": 80}}}
    cpu = {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}
    container = {
        "name": "app",
        "image": IMAGE.format(version),
        "ports": [{"containerPort": 8080}],
        "envFrom": [{"configMapRef": {"name": app}}],
    }
    return {
        "configmap.yaml": {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta,
            "data": {"VERSION": str(version)},
        },
        "deployment.yaml": {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {
                "replicas": 1,
                "minReadySeconds": MIN_READY_SECONDS,
                "selector": {"matchLabels": {"app": app}},
                "template": {"metadata": {"labels": {"app": app}}, "spec": {"containers": [container]}},
            },
        },
        "hpa.yaml": {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": meta,
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": app},
                "minReplicas": 1,
                "maxReplicas": 2 + version,
                "metrics": [{"type": "Resource", "resource": cpu}],
            },
        },
        "ingress.yaml": {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": meta,
            "spec": {
                "rules": [
                    {
                        "host": f"{app}.example.com",
                        "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]},
                    }
                ]
            },
        },
        "service.yaml": {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta,
            "spec": {"selector": {"app": app}, "ports": [{"port": 80, "targetPort": 8080}]},
        },
    }


@pytest.fixture(scope="module")
def k8s(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, int], str]:
    """``k8s(app, version)``: the path of that ``k8s/`` directory (``manifests``), written once."""
    root = tmp_path_factory.mktemp("app-manifests")

    def directory(app: str, version: int) -> str:
        path = root / f"{app}-v{version}" / "k8s"
        if not path.exists():
            path.mkdir(parents=True)
            for name, obj in manifests(app, version).items():
                (path / name).write_text(yaml.safe_dump(obj, sort_keys=False))
        return f"{path}/"

    return directory


def pipeline(k8s: Callable[[str, int], str], namespace: str) -> list[tuple[str, list[str]]]:
    """(label, kubectl args) of each command, in order: app ``csa`` client-side, then ``ssa`` server-side."""
    steps = []
    for app, flags in (("csa", []), ("ssa", ["--server-side"])):
        side = " --server-side" if flags else ""
        where = ["-n", namespace]
        steps += [
            (f"apply{side}", ["apply", *flags, "-f", k8s(app, 1), *where]),
            (f"apply{side} (update)", ["apply", *flags, "-f", k8s(app, 2), *where]),
            (f"rollout status ({app})", ["rollout", "status", f"deployment/{app}", *where, "--timeout=30s"]),
            (f"rollout undo ({app})", ["rollout", "undo", f"deployment/{app}", *where]),
        ]
    return steps


@pytest.fixture(scope="module")
def as_ci(control_plane: ControlPlane, request: pytest.FixtureRequest) -> Callable[[str, list[str]], KubectlRun]:
    """``as_ci(mode, args)``: kubectl as CI in client mode ``mode`` (the ``ci`` fixture maps ``USER`` in aws-auth)."""
    request.getfixturevalue("ci")
    kubeconfig = ci_kubeconfig(control_plane)

    def run(mode: str, args: list[str]) -> KubectlRun:
        return control_plane.kubectl(args, kubeconfig=kubeconfig, credentials=USER, env=MODES[mode])

    return run


def refused(run: KubectlRun) -> set[tuple[str, str]]:
    """(verb, resource) of each request the API server answered 403 that kubectl does not ignore."""
    found = set()
    for event in run.requests:
        ref = event.get("objectRef") or {}
        key = (str(event.get("verb")), str(ref.get("resource")))
        if (event.get("responseStatus") or {}).get("code") == 403 and key not in IGNORED_DENIALS:
            found.add(key)
    return found


def works(run: KubectlRun) -> bool:
    return run.returncode == 0 and not refused(run)


def run_pipeline(
    as_ci: Callable[[str, list[str]], KubectlRun], k8s: Callable[[str, int], str], namespace: str, mode: str
) -> list[tuple[str, KubectlRun]]:
    """Each command of ``pipeline`` as CI, in order, up to the first that does not work."""
    done = []
    for label, args in pipeline(k8s, namespace):
        run = as_ci(mode, args)
        done.append((label, run))
        if not works(run):
            break
    return done


def explain(done: list[tuple[str, KubectlRun]]) -> str:
    return "\n".join(
        f"{label}: rc={run.returncode} {[r for r in run.described() if not r.startswith('get /')]}\n"
        f"  {run.stderr.strip()[-600:]}"
        for label, run in done
    )


#: For each verb of the preset (resource, verb): the first command that no longer works without it, in
#: each client mode tried (kubectl's default unless the mode matters).
NEEDED_BY: dict[tuple[str, str], dict[str, str]] = {
    ("deployments", "get"): {DEFAULT_MODE: "apply"},
    # Only list+watch lists: watch-list streams the Deployment's state through the watch.
    ("deployments", "list"): {"list+watch": "rollout status (csa)"},
    # Refused, watch-list falls back to list and watch; in both modes that watch is refused.
    ("deployments", "watch"): {"watch-list": "rollout status (csa)", "list+watch": "rollout status (csa)"},
    ("deployments", "create"): {DEFAULT_MODE: "apply"},
    ("deployments", "patch"): {DEFAULT_MODE: "apply (update)"},
    ("replicasets", "list"): {DEFAULT_MODE: "rollout undo (csa)"},
    **{
        (resource, verb): {DEFAULT_MODE: step}
        for resource in ("configmaps", "services", "horizontalpodautoscalers", "ingresses")
        for verb, step in (("get", "apply"), ("create", "apply"), ("patch", "apply (update)"))
    },
}
VERBS = [(resource, verb) for rule in APP for resource in rule["resources"] for verb in rule["verbs"]]


def test_app_preset_is_listed_and_has_no_delete_or_secrets() -> None:
    """``app`` is a preset, every verb of it has its command here, and it grants no delete and no Secrets."""
    assert PRESETS["app"] is APP
    assert sorted(VERBS) == sorted(NEEDED_BY), "each verb needs a command that needs it (NEEDED_BY)"
    assert not [v for v in ("delete", "deletecollection", "update", "*") if any(v in r["verbs"] for r in APP)]
    assert not [r for rule in APP for r in rule["resources"] if r in ("secrets", "*", "pods", "pods/exec")]


@pytest.mark.parametrize("mode", sorted(MODES))
def test_the_pipeline_works_with_the_preset(
    control_plane: ControlPlane,
    bound: Callable[[str], str],
    as_ci: Callable[[str, list[str]], KubectlRun],
    k8s: Callable[[str, int], str],
    mode: str,
) -> None:
    """Under the component's `app` Role every command works: objects created, updated, the rollout undone."""
    namespace = bound("app")
    done = run_pipeline(as_ci, k8s, namespace, mode)
    assert [label for label, _ in done] == [label for label, _ in pipeline(k8s, namespace)], explain(done)
    assert all(works(run) for _, run in done), explain(done)

    paths = {
        "ConfigMap": "/api/v1/namespaces/{ns}/configmaps/{name}",
        "Deployment": "/apis/apps/v1/namespaces/{ns}/deployments/{name}",
        "HorizontalPodAutoscaler": "/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers/{name}",
        "Ingress": "/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses/{name}",
        "Service": "/api/v1/namespaces/{ns}/services/{name}",
    }
    for app, manager in (("csa", "kubectl-client-side-apply"), ("ssa", "kubectl")):
        for kind in KINDS:
            obj = control_plane.api("GET", paths[kind].format(ns=namespace, name=app))
            assert obj["metadata"]["labels"]["version"] == "2", (app, kind, "updated")
            managers = {(f["manager"], f["operation"]) for f in obj["metadata"]["managedFields"]}
            assert (manager, "Apply" if app == "ssa" else "Update") in managers, (app, kind, managers)
        deployment = control_plane.api("GET", paths["Deployment"].format(ns=namespace, name=app))
        image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        assert image == IMAGE.format(1), f"{app}: rolled back to :1"
        assert deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"


@pytest.mark.parametrize(("resource", "verb"), VERBS, ids=[f"{r}-{v}" for r, v in VERBS])
def test_each_verb_is_needed(
    bound: Callable[[list[RoleRule]], str],
    as_ci: Callable[[str, list[str]], KubectlRun],
    k8s: Callable[[str, int], str],
    resource: str,
    verb: str,
) -> None:
    """Without this one verb, RBAC refuses it to the first command that needs it (which then does not work)."""
    for mode, expected in NEEDED_BY[resource, verb].items():
        namespace = bound(without_verb(APP, resource, verb))
        done = run_pipeline(as_ci, k8s, namespace, mode)
        label, last = done[-1]
        assert (label, works(last)) == (expected, False), f"{mode}:\n{explain(done)}"
        assert refused(last) == {(verb, resource)}, f"{mode}:\n{explain(done)}"
        assert f"cannot {verb} resource" in last.stderr, last.stderr


def test_ci_cannot_delete_touch_secrets_or_leave_its_namespace(
    bound: Callable[[str], str], as_ci: Callable[[str, list[str]], KubectlRun], k8s: Callable[[str, int], str]
) -> None:
    """The `app` Role lets CI delete nothing it applies, read or write no Secret, and apply nowhere else."""
    namespace = bound("app")
    deleting = as_ci(DEFAULT_MODE, ["delete", "-f", k8s("csa", 1), "-n", namespace])
    assert deleting.returncode != 0 and refused(deleting) == {
        ("delete", r) for r in ("configmaps", "deployments", "horizontalpodautoscalers", "ingresses", "services")
    }, deleting.described()
    for args in (
        ["get", "secrets"],
        ["create", "secret", "generic", "token", "--from-literal=key=value"],
    ):
        run = as_ci(DEFAULT_MODE, [*args, "-n", namespace])
        assert run.returncode != 0 and {r for _, r in refused(run)} == {"secrets"}, run.described()
    elsewhere = as_ci(DEFAULT_MODE, ["apply", "-f", k8s("csa", 1), "-n", "default"])
    assert elsewhere.returncode != 0 and len(refused(elsewhere)) == len(KINDS), elsewhere.described()
