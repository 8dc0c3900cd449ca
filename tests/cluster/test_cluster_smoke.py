"""The real control plane works: controllers roll out, our STS webhook authenticates, RBAC decides.

Against ``testbed/controlplane`` (etcd, kube-apiserver v1.37.2, controller
manager, scheduler, kwok built from source by ``scripts/tools``):
``pytest -m cluster tests/cluster/test_cluster_smoke.py``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from testbed.controlplane.fixture import NEVER_READY_IMAGE, NODE_NAME, ApiError, ControlPlane, KubectlRun
from testbed.names import ACCOUNT
from tests.support import (
    AWS_AUTH,
    SESSION,
    STRANGER,
    TOKEN_CACHE,
    UNAUTHORIZED,
    USER,
    USER_ARN,
    ci_kubeconfig,
    self_subject_review,
    wait_for,
)


def deployment(name: str, namespace: str, image: str, replicas: int = 3) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
        },
    }


@pytest.fixture(scope="module")
def namespace(control_plane: ControlPlane) -> Iterator[str]:
    """A fresh namespace for this module's objects."""
    name = f"smoke-{uuid.uuid4().hex[:6]}"
    control_plane.api("POST", "/api/v1/namespaces", {"metadata": {"name": name}})
    yield name
    control_plane.api("DELETE", f"/api/v1/namespaces/{name}")


def refused(run: KubectlRun) -> bool:
    """kubectl failed, told to log in, and the API server answered every request it made 401."""
    statuses = {(e.get("responseStatus") or {}).get("code") for e in run.requests}
    return run.returncode != 0 and UNAUTHORIZED in run.stderr and statuses == {401}


def ready(obj: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in obj.get("status", {}).get("conditions", []))


def set_image(control_plane: ControlPlane, path: str, image: str) -> None:
    """Change the Deployment's image (a strategic merge would be kubectl's; a merge patch replaces the list)."""
    control_plane.api(
        "PATCH", path, {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}}
    )


def test_control_plane_ready(control_plane: ControlPlane) -> None:
    """The API server is ready, reports v1.37.2, and the kwok node is Ready."""
    answer = control_plane.kubectl(["get", "--raw", "/readyz"])
    assert (answer.returncode, answer.stdout.strip()) == (0, "ok"), answer.stderr
    assert control_plane.version() == "v1.37.2"
    assert ready(control_plane.api("GET", f"/api/v1/nodes/{NODE_NAME}"))


def test_deployment_rolls_out(control_plane: ControlPlane, namespace: str) -> None:
    """The real deployment and ReplicaSet controllers run: pods become Ready via kwok, rollouts complete."""
    apps = f"/apis/apps/v1/namespaces/{namespace}"
    control_plane.api("POST", f"{apps}/deployments", deployment("web", namespace, "registry.example.com/web:1"))

    def rolled_out(image: str) -> Any:
        d = control_plane.api("GET", f"{apps}/deployments/web")
        s = d.get("status", {})
        counts = {s.get(k) for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas")}
        done = s.get("observedGeneration") == d["metadata"]["generation"] and counts == {d["spec"]["replicas"]}
        return done and d["spec"]["template"]["spec"]["containers"][0]["image"] == image and d

    first = wait_for("web rolled out", lambda: rolled_out("registry.example.com/web:1"))
    assert first["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    pods = control_plane.api("GET", f"/api/v1/namespaces/{namespace}/pods?labelSelector=app%3Dweb")["items"]
    assert len(pods) == 3
    assert {p["spec"].get("nodeName") for p in pods} == {NODE_NAME}, "the scheduler bound every pod to the kwok node"
    assert all(p["status"]["phase"] == "Running" and ready(p) for p in pods)

    # A rollout: a new ReplicaSet scales up as the old one scales down.
    set_image(control_plane, f"{apps}/deployments/web", "registry.example.com/web:2")
    second = wait_for("web rolled out to :2", lambda: rolled_out("registry.example.com/web:2"))
    assert second["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    sets = control_plane.api("GET", f"{apps}/replicasets?labelSelector=app%3Dweb")["items"]
    assert sorted(
        (rs["spec"]["template"]["spec"]["containers"][0]["image"], rs["status"]["replicas"]) for rs in sets
    ) == [
        ("registry.example.com/web:1", 0),
        ("registry.example.com/web:2", 3),
    ]


def test_never_ready_image_keeps_rollout_progressing(control_plane: ControlPlane, namespace: str) -> None:
    """A pod whose image contains "never-ready" is scheduled but never Ready: the rollout stays in progress."""
    path = f"/apis/apps/v1/namespaces/{namespace}/deployments/stuck"
    control_plane.api(
        "POST",
        f"/apis/apps/v1/namespaces/{namespace}/deployments",
        deployment("stuck", namespace, "registry.example.com/web:1", 2),
    )
    wait_for("stuck rolled out", lambda: control_plane.api("GET", path).get("status", {}).get("availableReplicas") == 2)
    set_image(control_plane, path, NEVER_READY_IMAGE)

    def new_pods() -> list[dict[str, Any]]:
        pods = control_plane.api("GET", f"/api/v1/namespaces/{namespace}/pods?labelSelector=app%3Dstuck")["items"]
        return [
            p for p in pods if p["spec"]["containers"][0]["image"] == NEVER_READY_IMAGE and p["spec"].get("nodeName")
        ]

    wait_for("a never-ready pod scheduled", new_pods)
    time.sleep(3)  # kwok makes the pods it manages Ready within a second: give it time to (not) do so
    stuck = new_pods()
    assert len(stuck) == 1, f"the rollout went on: {[p['metadata']['name'] for p in stuck]}"
    new = stuck[0]
    assert new["status"]["phase"] == "Pending" and not ready(new), new["status"]
    status = control_plane.api("GET", path)["status"]
    assert (status["updatedReplicas"], status["availableReplicas"]) == (1, 2), status
    waiting = control_plane.kubectl(["rollout", "status", "deployment/stuck", "-n", namespace, "--timeout=3s"])
    assert waiting.returncode != 0 and "Waiting for deployment" in waiting.stdout, waiting


def test_token_maps_to_aws_auth_identity(ci: Callable[..., KubectlRun]) -> None:
    """An `aws eks get-token` token is authenticated as the user aws-auth maps its caller to (users and roles)."""
    user = ci("auth", "whoami", "-o", "json")
    assert user.returncode == 0, user.stderr
    info = json.loads(user.stdout)["status"]["userInfo"]
    assert info["username"] == "ci-smoke"
    assert set(info["groups"]) == {"ci-smoke-group", "system:authenticated"}
    assert info["extra"]["arn"] == [USER_ARN]
    role = ci("auth", "whoami", "-o", "json", credentials=SESSION)
    assert role.returncode == 0, role.stderr
    assert json.loads(role.stdout)["status"]["userInfo"]["username"] == "ci-smoke-role"


def test_unmapped_or_foreign_token_gets_401(control_plane: ControlPlane, ci: Callable[..., KubectlRun]) -> None:
    """A caller aws-auth does not map, a token for another cluster, and a removed mapping all get 401."""
    stranger = ci("get", "pods", "-n", "default", credentials=STRANGER)
    assert refused(stranger), (stranger.stderr, stranger.described())
    sts = control_plane.sts.calls[-1]
    assert (sts.arn, sts.error) == (f"arn:aws:iam::{ACCOUNT}:user/nobody", ""), "authentic, so refused by the mapping"

    other = ci("get", "pods", "-n", "default", config=ci_kubeconfig(control_plane, "other-cluster"))
    assert refused(other), (other.stderr, other.described())
    assert "signature does not match" in control_plane.sts.calls[-1].error, control_plane.sts.calls[-1]

    # A removed mapping refuses the next new token once the authenticator's watch of aws-auth has the change
    # (the webhook's cache TTL is 0); the same token as before, only once kube-apiserver's own 10 s cache of
    # successful authentications (no flag) expires.
    token = control_plane.get_token(USER)
    who = self_subject_review(control_plane, token)
    assert who["status"]["userInfo"]["username"] == "ci-smoke"
    saved = control_plane.api("GET", AWS_AUTH)["data"]
    control_plane.api("PATCH", AWS_AUTH, {"data": {"mapUsers": "[]\n"}})
    removed_at = time.monotonic()
    try:

        def gets_401(candidate: str) -> bool:
            """``candidate`` gets 401 (any other refusal fails the test)."""
            try:
                self_subject_review(control_plane, candidate)
            except ApiError as error:
                assert error.status == 401, error
                return True
            return False

        def new_token_refused() -> bool:
            # (`aws eks get-token` signs with a 1 s timestamp: a token made in the same second is the same token.)
            new = control_plane.get_token(USER)
            return new != token and gets_401(new)

        wait_for("a new token refused", new_token_refused, timeout=TOKEN_CACHE - 2)

        def same_token_refused() -> bool:
            return gets_401(token)

        wait_for("the same token refused", same_token_refused, timeout=TOKEN_CACHE + 5)
        assert time.monotonic() - removed_at > TOKEN_CACHE - 3, "refused before the API server's cache expired?"
    finally:
        control_plane.api("PATCH", AWS_AUTH, {"data": saved})
    assert ci("auth", "whoami").returncode == 0, "the restored mapping authenticates again"


def test_rbac_decides(control_plane: ControlPlane, namespace: str, ci: Callable[..., KubectlRun]) -> None:
    """With no Role the mapped user gets 403; a RoleBinding to a Role granting the verb lets it through there only."""
    denied = ci("get", "pods", "-n", namespace)
    assert denied.returncode != 0 and 'User "ci-smoke" cannot list resource "pods"' in denied.stderr, denied
    assert "list pods -> 403" in denied.described(), denied.described()

    rbac = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}"
    control_plane.api(
        "POST",
        f"{rbac}/roles",
        {"metadata": {"name": "pod-reader"}, "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}]},
    )
    control_plane.api(
        "POST",
        f"{rbac}/rolebindings",
        {
            "metadata": {"name": "ci-smoke-pod-reader"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "ci-smoke-group"}],
        },
    )
    try:
        allowed = ci("get", "pods", "-n", namespace)
        assert allowed.returncode == 0, allowed.stderr
        assert "list pods -> 200" in allowed.described(), allowed.described()
        elsewhere = ci("get", "pods", "-n", "default")
        assert elsewhere.returncode != 0 and "list pods -> 403" in elsewhere.described(), elsewhere.described()
    finally:
        for path in (f"{rbac}/rolebindings/ci-smoke-pod-reader", f"{rbac}/roles/pod-reader"):
            control_plane.api("DELETE", path)
