"""``eks-cicd-verify`` against the real control plane: it passes on the component's own Role, and names the source
of every extra a hostile (or careless) admin adds.

Verify runs as a subprocess, as CI would run it: in CI mode with the component's exec kubeconfig (``aws eks
get-token`` with ``USER``'s key, which the ``ci`` fixture maps to ``ci-smoke`` in group ``ci-smoke-group``), in
admin mode with the admin's kubeconfig and ``--as ci-smoke --as-group ci-smoke-group``. The Role and RoleBinding
are the component's, rendered under mocks (``tests/support.py``'s ``deploy``) into a fresh namespace. Each
extra is a real binding; kube-apiserver's RBAC authorizer gives every answer and every reason.

``pytest -m cluster tests/cluster/test_cluster_verify.py``.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from eks_cicd_access.probes import ELSEWHERE, PROBES
from eks_cicd_access.rbac import PRESETS
from testbed.controlplane.fixture import ControlPlane, KubectlRun, client_env
from testbed.docs import block
from tests.support import CI_MAP_USERS, USER, ci_kubeconfig, wait_for

USERNAME = str(CI_MAP_USERS[0]["username"])
GROUP = str(CI_MAP_USERS[0]["groups"][0])
MODES = ("ci", "admin")
RBAC = "/apis/rbac.authorization.k8s.io/v1"
#: Runs verify with ``probes.PROBES`` less those named in $VERIFY_WITHOUT (JSON list of [verb, resource]).
WITHOUT_PROBES = (
    "import json, os, sys\n"
    "from eks_cicd_access import probes, verify\n"
    "gone = {tuple(p) for p in json.loads(os.environ['VERIFY_WITHOUT'])}\n"
    "probes.PROBES = tuple(p for p in probes.PROBES if (p.verb, p.resource) not in gone)\n"
    "sys.exit(verify.main(sys.argv[1:]))\n"
)


@dataclass
class Verified:
    returncode: int
    stdout: str
    stderr: str

    @property
    def report(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.stdout)
        return found

    def surprises(self) -> list[dict[str, Any]]:
        return list(self.report["surprises"])

    def explain(self) -> str:
        return f"rc={self.returncode}\nstderr:\n{self.stderr[-3000:]}\nstdout:\n{self.stdout[-3000:]}"


def sar(control_plane: ControlPlane, namespace: str, **attributes: str) -> bool:
    """Whether the authorizer lets CI's user and groups do it (a SubjectAccessReview)."""
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": USERNAME,
            "groups": [GROUP, "system:authenticated"],
            "resourceAttributes": {"namespace": namespace, **attributes},
        },
    }
    answer = control_plane.api("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", review)
    return bool(answer["status"].get("allowed"))


@pytest.fixture
def verify(control_plane: ControlPlane, ci: Callable[..., KubectlRun], tmp_path: Path) -> Callable[..., Verified]:
    """``verify(mode, namespace, *args, table=False, without=())``: the CLI's run, in CI mode (the exec kubeconfig,
    ``USER``'s key and nothing else) or admin mode (admin kubeconfig, ``--as``); ``without`` drops probes."""
    kubeconfigs = {"ci": ci_kubeconfig(control_plane), "admin": control_plane.admin_kubeconfig}
    runs = iter(range(1000))

    def run(
        mode: str, namespace: str, *args: str, table: bool = False, without: tuple[tuple[str, str], ...] = ()
    ) -> Verified:
        home = tmp_path / f"verify-{next(runs)}"
        home.mkdir()
        (home / "kubeconfig").write_text(kubeconfigs[mode])
        env = client_env(home, USER if mode == "ci" else {})
        options = ["--namespace", namespace, "--kubeconfig", str(home / "kubeconfig"), *args]
        if mode == "admin":
            options += ["--as", USERNAME, "--as-group", GROUP]
        if not table:
            options.append("--json")
        entry = ["-m", "eks_cicd_access.verify"]
        if without:
            entry = ["-c", WITHOUT_PROBES]
            env["VERIFY_WITHOUT"] = json.dumps(without)
        done = subprocess.run(
            [sys.executable, *entry, *options], env=env, cwd=home, capture_output=True, text=True, timeout=120
        )
        return Verified(done.returncode, done.stdout, done.stderr)

    return run


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_verify_passes_on_the_components_own_role(
    bound: Callable[[str], str], verify: Callable[..., Verified], preset: str, mode: str
) -> None:
    """With only the component's Role, every granted verb is allowed and every probe denied: exit 0."""
    namespace = bound(preset)
    done = verify(mode, namespace, "--role-rules", preset)
    assert done.returncode == 0, done.explain()
    report = done.report
    assert report["ok"] and report["surprises"] == [] and done.stderr == ""
    assert report["mode"] == ("self" if mode == "ci" else "admin")
    assert report["identity"]["username"] == USERNAME
    assert {GROUP, "system:authenticated"} <= set(report["identity"]["groups"])
    granted = [c for c in report["checks"] if c["kind"] == "allowed"]
    assert granted and all(c["allowed"] and c["namespace"] == namespace for c in granted)
    assert all(c["source"]["binding_name"] == "my-test-user-role-binding" for c in granted), granted[0]
    probed = {
        (c["verb"], c["resource"] + (f"/{c['subresource']}" if c["subresource"] else "")) for c in report["checks"]
    }
    assert {(p.verb, p.resource) for p in PROBES} <= probed
    assert any(c["namespace"] == ELSEWHERE and not c["allowed"] for c in report["checks"])


def test_verify_prints_a_table_and_fails_on_a_wrong_expectation(
    bound: Callable[[str], str], verify: Callable[..., Verified]
) -> None:
    """The table names CI and every check; expecting more than the Role grants is a surprise (exit 1)."""
    namespace = bound("deploy-rollback")
    clean = verify("ci", namespace, table=True)
    print(f"$ eks-cicd-verify --namespace {namespace}\n{clean.stdout}{clean.stderr}")
    assert clean.returncode == 0, clean.explain()
    assert clean.stdout.startswith(f"CI: {USERNAME} (groups: ")
    assert "OK: " in clean.stdout.splitlines()[-1] and "0 surprises" in clean.stdout
    more = verify("ci", namespace, "--role-rules", "app", table=True)
    assert more.returncode == 1, more.explain()
    assert f"SURPRISE: {USERNAME} may not get configmaps in namespace {namespace}" in more.stderr


@dataclass(frozen=True)
class Extra:
    """A hostile extra: the objects to create (path, body), a permission it grants (to wait for), and the
    surprise verify must report for it with its source."""

    objects: list[tuple[str, dict[str, Any]]]
    wait: dict[str, str]
    surprise: dict[str, str]
    binding: tuple[str, str]
    role: tuple[str, str]
    aggregated: list[str] | None


def group_subject(name: str) -> list[dict[str, str]]:
    return [{"kind": "Group", "name": name, "apiGroup": "rbac.authorization.k8s.io"}]


def extras(namespace: str) -> dict[str, Extra]:
    cluster_role = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole"}
    label = "example.com/aggregate-to-ci-extra"
    return {
        "view-to-all-authenticated": Extra(
            [
                (
                    f"{RBAC}/clusterrolebindings",
                    {
                        "metadata": {"name": "eks-cicd-verify-view"},
                        "roleRef": {**cluster_role, "name": "view"},
                        "subjects": group_subject("system:authenticated"),
                    },
                )
            ],
            {"verb": "list", "resource": "namespaces"},
            {"verb": "list", "resource": "namespaces", "namespace": ""},
            ("ClusterRoleBinding", "eks-cicd-verify-view"),
            ("ClusterRole", "view"),
            ["system:aggregate-to-view"],
        ),
        "edit-to-ci-group": Extra(
            [
                (
                    f"{RBAC}/namespaces/{namespace}/rolebindings",
                    {
                        "metadata": {"name": "eks-cicd-verify-edit"},
                        "roleRef": {**cluster_role, "name": "edit"},
                        "subjects": group_subject(GROUP),
                    },
                )
            ],
            {"verb": "get", "resource": "secrets"},
            {"verb": "get", "resource": "secrets", "namespace": namespace},
            ("RoleBinding", "eks-cicd-verify-edit"),
            ("ClusterRole", "edit"),
            ["system:aggregate-to-edit"],
        ),
        "aggregated-secrets": Extra(
            [
                (
                    f"{RBAC}/clusterroles",
                    {
                        "metadata": {"name": "ci-extra"},
                        "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {label: "true"}}]},
                        "rules": [],
                    },
                ),
                (
                    f"{RBAC}/clusterroles",
                    {
                        "metadata": {"name": "ci-extra-secrets", "labels": {label: "true"}},
                        "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}],
                    },
                ),
                (
                    f"{RBAC}/namespaces/{namespace}/rolebindings",
                    {
                        "metadata": {"name": "eks-cicd-verify-ci-extra"},
                        "roleRef": {**cluster_role, "name": "ci-extra"},
                        "subjects": group_subject(GROUP),
                    },
                ),
            ],
            {"verb": "get", "resource": "secrets"},
            {"verb": "get", "resource": "secrets", "namespace": namespace},
            ("RoleBinding", "eks-cicd-verify-ci-extra"),
            ("ClusterRole", "ci-extra"),
            ["ci-extra-secrets"],
        ),
    }


@pytest.fixture
def hostile(control_plane: ControlPlane, bound: Callable[[str], str]) -> Iterator[Callable[[str], tuple[str, Extra]]]:
    """``hostile(extra)``: a namespace bound to the default Role, plus that extra once RBAC applies it; (namespace,
    extra). Every object is deleted afterwards, and RBAC seen to forget it."""
    made: list[tuple[str, str, dict[str, str]]] = []

    def make(name: str) -> tuple[str, Extra]:
        namespace = bound("deploy-rollback")
        extra = extras(namespace)[name]
        assert not sar(control_plane, namespace, **extra.wait)
        for path, body in extra.objects:
            control_plane.api("POST", path, body)
            made.append((f"{path}/{body['metadata']['name']}", namespace, extra.wait))
        wait_for(f"RBAC applies {name}", lambda: sar(control_plane, namespace, **extra.wait), timeout=30)
        return namespace, extra

    yield make
    for path, _, _ in reversed(made):
        control_plane.request("DELETE", path)
    # The ClusterRole aggregation controller writes an aggregated ClusterRole with a server-side apply, which makes
    # it again if a sync queued before our delete runs after it (a cold CI run met ci-extra there): delete until
    # every object is absent twice in a row.
    absent: list[bool] = []

    def gone() -> bool:
        left = [path for path, _, _ in made if control_plane.request("GET", path)[0] != 404]
        for path in left:
            control_plane.request("DELETE", path)
        absent.append(not left)
        return absent[-2:] == [True, True]

    wait_for("the extras gone", gone, timeout=30)
    for _, namespace, wait in made:
        wait_for("RBAC forgets the extra", partial(forgotten, control_plane, namespace, wait), timeout=30)


def forgotten(control_plane: ControlPlane, namespace: str, attributes: dict[str, str]) -> bool:
    return not sar(control_plane, namespace, **attributes)


def matching(checks: list[dict[str, Any]], surprise: dict[str, str]) -> list[dict[str, Any]]:
    return [c for c in checks if all(c[key] == value for key, value in surprise.items())]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["view-to-all-authenticated", "edit-to-ci-group", "aggregated-secrets"])
def test_verify_names_the_source_of_each_hostile_extra(
    hostile: Callable[[str], tuple[str, Extra]], verify: Callable[..., Verified], name: str, mode: str
) -> None:
    """Each extra fails verify (exit 1), and the surprise names its binding and role (admin mode: the aggregated
    ClusterRoles that grant it; CI mode, which may not read RBAC, says so)."""
    namespace, extra = hostile(name)
    done = verify(mode, namespace)
    assert done.returncode == 1, done.explain()
    (found,) = matching(done.surprises(), extra.surprise)
    source = found["source"]
    assert found["allowed"] and found["expected"] == "denied"
    assert (source["binding_kind"], source["binding_name"]) == extra.binding, source
    assert (source["role_kind"], source["role_name"]) == extra.role, source
    assert source["binding_namespace"] == (namespace if extra.binding[0] == "RoleBinding" else "")
    if mode == "admin":
        assert source["aggregated_from"] == extra.aggregated, source
    else:
        assert (source["aggregated_from"], source["note"]) == (None, "ClusterRole unreadable"), source
    named = f"{extra.binding[0]} {namespace + '/' if extra.binding[0] == 'RoleBinding' else ''}{extra.binding[1]}"
    assert named in done.stderr, done.stderr
    table = verify(mode, namespace, table=True)
    print(f"$ eks-cicd-verify --namespace {namespace}{' --as ...' if mode == 'admin' else ''}\n{table.stdout}")
    print(table.stderr)
    assert table.returncode == 1 and named in table.stdout and "SURPRISE" in table.stdout


def test_without_the_secrets_probe_the_aggregated_secrets_extra_goes_unseen(
    hostile: Callable[[str], tuple[str, Extra]], verify: Callable[..., Verified]
) -> None:
    """The `secrets get` probe is what catches a ClusterRole aggregated into a bound role: without it, exit 0."""
    namespace, _ = hostile("aggregated-secrets")
    caught = verify("admin", namespace)
    assert caught.returncode == 1, caught.explain()
    assert [(c["verb"], c["resource"]) for c in caught.surprises()] == [("get", "secrets")]
    unseen = verify("admin", namespace, without=(("get", "secrets"),))
    assert unseen.returncode == 0, unseen.explain()
    assert not [c for c in unseen.report["checks"] if c["resource"] == "secrets" and c["verb"] == "get"]


@pytest.mark.parametrize("name", ["view-to-all-authenticated", "edit-to-ci-group", "aggregated-secrets"])
def test_each_probe_that_catches_an_extra_is_what_catches_it(
    hostile: Callable[[str], tuple[str, Extra]], verify: Callable[..., Verified], name: str
) -> None:
    """Removed in turn, each probe that reported the extra takes exactly its own surprises with it; removed
    together, the extra's probes leave only the verbs tried in another namespace (none for a namespaced extra)."""
    namespace, _ = hostile(name)
    caught = verify("admin", namespace)
    assert caught.returncode == 1, caught.explain()
    surprises = caught.surprises()
    probed = sorted({(c["verb"], c["resource"] + (f"/{c['subresource']}" if c["subresource"] else ""))
                     for c in surprises if c["namespace"] != ELSEWHERE})  # fmt: skip
    assert probed, surprises
    for probe in probed:
        without = verify("admin", namespace, without=(probe,))
        left = {(c["verb"], c["resource"], c["subresource"], c["namespace"]) for c in without.surprises()}
        expected = {
            (c["verb"], c["resource"], c["subresource"], c["namespace"])
            for c in surprises
            if (c["verb"], c["resource"] + (f"/{c['subresource']}" if c["subresource"] else "")) != probe
            or c["namespace"] == ELSEWHERE
        }
        assert left == expected, (probe, left ^ expected)
    unseen = verify("admin", namespace, without=tuple(probed))
    assert all(c["namespace"] == ELSEWHERE for c in unseen.surprises()), unseen.surprises()
    assert unseen.returncode == (1 if unseen.surprises() else 0), unseen.explain()


def test_the_readme_commands_pass_on_the_default_role(
    control_plane: ControlPlane, ci: Callable[..., KubectlRun], bound: Callable[[str], str], tmp_path: Path
) -> None:
    """The README's verify commands, as CI (its exec kubeconfig and key) and as the admin, pass on the component's
    default Role. What differs from what you type: the namespace is the test's, and ``--as`` names its CI user."""
    namespace = bound("deploy-rollback")
    program = Path(sys.executable).with_name("eks-cicd-verify")
    for marker, kubeconfig, credentials in (
        ("verify", ci_kubeconfig(control_plane), USER),
        ("verify-admin", control_plane.admin_kubeconfig, {}),
    ):
        (command,) = block(marker)
        args = shlex.split(command.replace("my-test-ns", namespace).replace("my-test-user", USERNAME))
        assert args[0] == program.name, command
        home = tmp_path / marker
        home.mkdir()
        (home / "kubeconfig").write_text(kubeconfig)
        env = {**client_env(home, credentials), "KUBECONFIG": str(home / "kubeconfig")}
        done = subprocess.run([str(program), *args[1:]], env=env, cwd=home, capture_output=True, text=True,
                              timeout=120)  # fmt: skip
        print(f"$ {command}\n{done.stdout}{done.stderr}")
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.splitlines()[-1].startswith("OK: "), done.stdout


def test_the_cli_refuses_bad_usage_with_status_2(verify: Callable[..., Verified]) -> None:
    """An unknown preset, --as-group without --as, or an unknown access policy is bad usage: exit 2."""
    for args in (["--role-rules", "deploy-rolback"], ["--as-group", "x"], ["--access-policy", "NoSuchPolicy"]):
        done = verify("ci", "default", *args)
        assert done.returncode == 2 and "usage:" in done.stderr, (args, done.explain())
