"""The cluster tier: every test in this folder runs against the real control plane (``pytest -m cluster``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from eks_cicd_access.rbac import RoleRule
from testbed.apiserver.authenticator import Principal
from testbed.contention import seeded
from testbed.controlplane.fixture import ControlPlane, KubectlRun
from testbed.mocks import Stack
from testbed.names import ACCOUNT
from testbed.provider_host import ProviderHost
from tests.support import (
    AWS_AUTH,
    CI_MAP_ROLES,
    CI_MAP_USERS,
    SESSION,
    STRANGER,
    USER,
    USER_ARN,
    RealApiServer,
    ci_kubeconfig,
    deploy,
    tier_marker,
    wait_for,
)

pytest_collection_modifyitems = tier_marker(__file__, "cluster")


@pytest.fixture(scope="module")
def ci(control_plane: ControlPlane) -> Iterator[Callable[..., KubectlRun]]:
    """kubectl as CI runs it: the component's exec kubeconfig, pointed at the control plane; aws-auth maps
    USER and the role; STS knows USER, SESSION and STRANGER."""
    principals = control_plane.principals
    principals[USER["AWS_ACCESS_KEY_ID"]] = Principal(USER["AWS_SECRET_ACCESS_KEY"], USER_ARN)
    principals[SESSION["AWS_ACCESS_KEY_ID"]] = Principal(
        SESSION["AWS_SECRET_ACCESS_KEY"],
        f"arn:aws:sts::{ACCOUNT}:assumed-role/ci-smoke-role/job-42",
        SESSION["AWS_SESSION_TOKEN"],
    )
    principals[STRANGER["AWS_ACCESS_KEY_ID"]] = Principal(
        STRANGER["AWS_SECRET_ACCESS_KEY"], f"arn:aws:iam::{ACCOUNT}:user/nobody"
    )
    data = {"mapUsers": yaml.safe_dump(CI_MAP_USERS), "mapRoles": yaml.safe_dump(CI_MAP_ROLES)}
    control_plane.api(
        "POST", "/api/v1/namespaces/kube-system/configmaps", {"metadata": {"name": "aws-auth"}, "data": data}
    )
    kubeconfig = ci_kubeconfig(control_plane)

    def run(*args: str, credentials: dict[str, str] = USER, config: str = kubeconfig) -> KubectlRun:
        return control_plane.kubectl(list(args), kubeconfig=config, credentials=credentials)

    yield run
    control_plane.api("DELETE", AWS_AUTH)
    for key in (USER, SESSION, STRANGER):
        principals.pop(key["AWS_ACCESS_KEY_ID"], None)


@pytest.fixture
def real(control_plane: ControlPlane) -> Iterator[RealApiServer]:
    """aws-auth seeded with node roles, two other teams' users and an account; the provider host."""
    host = ProviderHost()
    try:
        with seeded(control_plane):
            yield RealApiServer(control_plane, host, control_plane.audit.mark())
    finally:
        host.pool.shutdown(wait=True)


def granted(control_plane: ControlPlane, namespace: str, rule: dict[str, Any], user: str) -> bool:
    """Whether kube-apiserver's authorizer lets ``user`` do the first verb of ``rule`` (a Role's) there."""
    attributes = {"group": rule["apiGroups"][0], "resource": rule["resources"][0], "verb": rule["verbs"][0]}
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {"user": user, "resourceAttributes": {"namespace": namespace, **attributes}},
    }
    answer = control_plane.api("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", review)
    return bool(answer["status"].get("allowed"))


@pytest.fixture
def bound(control_plane: ControlPlane, stack: Stack) -> Iterator[Callable[[str | list[RoleRule]], str]]:
    """``bound(role_rules)``: a fresh namespace holding the component's Role (those rules) and RoleBinding (to CI's
    Kubernetes user, ``CI_MAP_USERS``'s) as rendered under mocks; its name, once RBAC applies them. Deleted
    afterwards."""
    made: list[str] = []
    username = str(CI_MAP_USERS[0]["username"])

    def make(role_rules: str | list[RoleRule]) -> str:
        namespace = f"app-{uuid.uuid4().hex[:6]}"
        deploy(stack, namespace=namespace, kubernetes_username=username, role_rules=role_rules)
        role = stack.of_type("kubernetes:rbac.authorization.k8s.io/v1:Role")[-1].inputs
        binding = stack.of_type("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")[-1].inputs
        control_plane.api("POST", "/api/v1/namespaces", {"metadata": {"name": namespace}})
        made.append(namespace)
        rbac = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}"
        control_plane.api("POST", f"{rbac}/roles", role)
        control_plane.api("POST", f"{rbac}/rolebindings", binding)
        rule = role["rules"][0]
        wait_for("RBAC applies the Role", lambda: granted(control_plane, namespace, rule, username), timeout=30)
        return namespace

    yield make
    for namespace in made:
        control_plane.api("DELETE", f"/api/v1/namespaces/{namespace}")
