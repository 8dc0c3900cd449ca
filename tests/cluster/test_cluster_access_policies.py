"""EKS access policies on the real control plane: what CI may do under the View, Edit and Admin policies.

CI's access entry (its own key, known to STS with its unique id) is made through the emulation of EKS's access-entry
API (``testbed/eks_access.py``), whose sync hands it to the real aws-iam-authenticator as EKS does, and stands in for
EKS's access-policy authorizer (not open source; a webhook authorizer on EKS) with the equivalent RBAC
(``testbed/access_policy_rbac.py``: the policy's rules from ``eks_cicd_access.access_policies`` as a ClusterRole,
bound in each namespace of the association's scope). No Role or RoleBinding of the component is involved
(``role_rules="none"``). Real kubectl as CI, and the real kube-apiserver's RBAC, decide:

- View: reads Deployments, refused Secrets and writes; another namespace refused;
- Edit: applies a Deployment, reads Secrets, and RBAC allows ``pods/exec`` and impersonating service accounts;
  another namespace refused;
- Admin: as Edit, and binds roles to anyone in its namespace; another namespace refused;
- the ``verify`` command (``python -m eks_cicd_access.verify``) passes for the policy associated, and reports an
  association it was not told of as a surprise that names the emulated binding as its source.

``pytest -m cluster tests/cluster/test_cluster_access_policies.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from eks_cicd_access.access_policies import MANAGED_POLICIES
from testbed.access_policy_rbac import binding_name
from testbed.apiserver.authenticator import Principal
from testbed.controlplane.fixture import ControlPlane, KubectlRun
from testbed.eks_access import AccessApi
from testbed.engine_stack import sync_access_to
from testbed.names import CLUSTER_NAME, MOTO_ACCOUNT
from tests.support import ci_kubeconfig

KEY = {"AWS_ACCESS_KEY_ID": "AKIAPOLICYCI00000001", "AWS_SECRET_ACCESS_KEY": "policies/ci/secret/EXAMPLE"}
ARN = f"arn:aws:iam::{MOTO_ACCOUNT}:user/policy-ci"
USER_ID = "AIDAPOLICYCI00000001"
USERNAME = "policy-ci"
NAMESPACE, OTHER = "ap-web", "ap-other"
REPO = Path(__file__).resolve().parents[2]


def until(what: str, check: Callable[[], bool], timeout: float = 30) -> None:
    """Poll ``check`` until true: the authenticator reads a new access-entry file within a second or two."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s"
        time.sleep(0.3)


def deployment(name: str, image: str = "registry.example.com/web:1") -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": image}]}},
        },
    }


@dataclass
class Policies:
    """The emulated EKS API with CI's entry on the control plane's cluster, and kubectl as CI."""

    plane: ControlPlane
    api: AccessApi
    kubeconfig: str

    def associate(self, policy: str, namespaces: list[str]) -> None:
        scope = {"type": "namespace", "namespaces": namespaces}
        self.api.associate(CLUSTER_NAME, ARN, {"policyArn": MANAGED_POLICIES[policy].arn, "accessScope": scope})

    def disassociate(self, policy: str) -> None:
        self.api.disassociate(CLUSTER_NAME, ARN, MANAGED_POLICIES[policy].arn)

    def ci(self, *args: str, files: dict[str, str] | None = None) -> KubectlRun:
        return self.plane.kubectl(list(args), kubeconfig=self.kubeconfig, credentials=KEY, files=files)

    def can(self, verb: str, resource: str, namespace: str = NAMESPACE) -> bool:
        """``kubectl auth can-i`` as CI (a SelfSubjectAccessReview: RBAC's answer, whatever the pod behind)."""
        done = self.ci("auth", "can-i", verb, resource, "-n", namespace)
        assert done.stdout.strip() in ("yes", "no"), done.stderr
        return done.stdout.strip() == "yes"


@pytest.fixture(scope="module")
def policies(control_plane: ControlPlane) -> Iterator[Policies]:
    """CI's access entry (no groups, no aws-auth entry) through the emulation, two namespaces each holding a
    Deployment and a Secret; afterwards the entry, its RBAC, the namespaces and the mode as they were."""
    plane = control_plane
    plane.principals[KEY["AWS_ACCESS_KEY_ID"]] = Principal(KEY["AWS_SECRET_ACCESS_KEY"], ARN, user_id=USER_ID)
    mode = plane.authentication_mode
    api = AccessApi(lambda arn: USER_ID if arn == ARN else None, account=MOTO_ACCOUNT)
    api.on_change = sync_access_to(plane)
    for namespace in (NAMESPACE, OTHER):
        plane.api("POST", "/api/v1/namespaces", {"metadata": {"name": namespace}})
        plane.api("POST", f"/apis/apps/v1/namespaces/{namespace}/deployments", deployment("web"))
        secret = {"metadata": {"name": "db"}, "stringData": {"password": "hunter2"}}
        plane.api("POST", f"/api/v1/namespaces/{namespace}/secrets", secret)
    try:
        api.made_in(CLUSTER_NAME, "API_AND_CONFIG_MAP")
        api.create(CLUSTER_NAME, {"principalArn": ARN, "username": USERNAME})
        found = Policies(plane, api, ci_kubeconfig(plane))
        until("CI's entry admits it", lambda: plane.authenticate(plane.sign_token(KEY["AWS_ACCESS_KEY_ID"],
                                                                                   KEY["AWS_SECRET_ACCESS_KEY"]))
              == (USERNAME, ()))  # fmt: skip
        yield found
    finally:
        if ARN in api.cluster(CLUSTER_NAME).entries:
            api.delete(CLUSTER_NAME, ARN)
        plane.write_access_entries([])
        plane.write_access_policies([])
        plane.set_authentication_mode(mode)
        for namespace in (NAMESPACE, OTHER):
            plane.request("DELETE", f"/api/v1/namespaces/{namespace}")
        plane.principals.pop(KEY["AWS_ACCESS_KEY_ID"], None)


@pytest.fixture
def view(policies: Policies) -> Iterator[Policies]:
    """AmazonEKSViewPolicy associated in NAMESPACE only, disassociated afterwards."""
    policies.associate("AmazonEKSViewPolicy", [NAMESPACE])
    until("the view binding is enforced", lambda: policies.ci("get", "deployments", "-n", NAMESPACE).returncode == 0)
    yield policies
    policies.disassociate("AmazonEKSViewPolicy")


@pytest.fixture
def edit(policies: Policies) -> Iterator[Policies]:
    """AmazonEKSEditPolicy associated in NAMESPACE only, disassociated afterwards."""
    policies.associate("AmazonEKSEditPolicy", [NAMESPACE])
    until("the edit binding is enforced", lambda: policies.can("patch", "deployments"))
    yield policies
    policies.disassociate("AmazonEKSEditPolicy")


@pytest.fixture
def admin(policies: Policies) -> Iterator[Policies]:
    """AmazonEKSAdminPolicy associated in NAMESPACE only, disassociated afterwards."""
    policies.associate("AmazonEKSAdminPolicy", [NAMESPACE])
    until("the admin binding is enforced", lambda: policies.can("create", "rolebindings"))
    yield policies
    policies.disassociate("AmazonEKSAdminPolicy")


def forbidden(done: KubectlRun) -> bool:
    return done.returncode != 0 and "Forbidden" in done.stderr


def test_without_a_policy_the_entry_authenticates_but_may_do_nothing(policies: Policies) -> None:
    """An access entry with no access policy (and no Role) maps CI, and RBAC gives it nothing in the namespace."""
    assert forbidden(policies.ci("get", "deployments", "-n", NAMESPACE))


def test_view_reads_deployments_but_not_secrets_and_writes_nothing(view: Policies) -> None:
    """AmazonEKSViewPolicy in one namespace: get Deployments works; Secrets, apply and another namespace are
    refused by RBAC."""
    assert view.ci("get", "deployment", "web", "-n", NAMESPACE).returncode == 0
    assert forbidden(view.ci("get", "secrets", "-n", NAMESPACE)), "View must not read Secrets"
    manifest = {"deploy.yaml": yaml.safe_dump(deployment("api"))}
    assert forbidden(view.ci("apply", "-n", NAMESPACE, "-f", "deploy.yaml", files=manifest))
    assert forbidden(view.ci("get", "deployments", "-n", OTHER)), "the policy reached a namespace not in its scope"
    assert not view.can("create", "pods/exec")


def test_edit_applies_reads_secrets_and_may_exec_and_impersonate(edit: Policies) -> None:
    """AmazonEKSEditPolicy in one namespace: apply and reading Secrets work, RBAC allows pods/exec and impersonating
    service accounts; another namespace is refused."""
    manifest = {"deploy.yaml": yaml.safe_dump(deployment("api"))}
    assert edit.ci("apply", "-n", NAMESPACE, "-f", "deploy.yaml", files=manifest).returncode == 0
    secret = edit.ci("get", "secret", "db", "-n", NAMESPACE, "-o", "jsonpath={.data.password}")
    assert secret.returncode == 0 and secret.stdout == "aHVudGVyMg==", "Edit reads Secrets, as AWS documents"
    assert edit.can("create", "pods/exec") and edit.can("impersonate", "serviceaccounts")
    assert forbidden(edit.ci("get", "deployments", "-n", OTHER)), "the policy reached a namespace not in its scope"
    assert forbidden(edit.ci("apply", "-n", OTHER, "-f", "deploy.yaml", files=manifest))
    assert not edit.can("get", "secrets", OTHER)


def test_admin_also_writes_roles_and_binds_them_in_its_namespace(admin: Policies) -> None:
    """AmazonEKSAdminPolicy in one namespace: what Edit allows, and RBAC writes: CI makes a Role and binds it to
    anyone there (the real API server's escalation check lets it, as CI holds the Role's permissions); another
    namespace is refused."""
    rbac = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{NAMESPACE}"
    role = ["create", "role", "pod-reader", "--verb=get", "--resource=pods", "-n"]
    bind = ["create", "rolebinding", "stranger-reads-pods", "--role=pod-reader", "--user=stranger", "-n"]
    try:
        for args in (role, bind):
            done = admin.ci(*args, NAMESPACE)
            assert done.returncode == 0, f"Admin writes Roles and RoleBindings, as AWS documents: {done.stderr}"
        assert admin.ci("get", "secret", "db", "-n", NAMESPACE).returncode == 0
        assert forbidden(admin.ci(*role, OTHER)), "the policy reached a namespace not in its scope"
    finally:
        admin.plane.request("DELETE", f"{rbac}/rolebindings/stranger-reads-pods")
        admin.plane.request("DELETE", f"{rbac}/roles/pod-reader")


def test_disassociating_takes_the_grant_away(policies: Policies) -> None:
    """After DisassociateAccessPolicy the emulated binding is gone, and so is what it allowed."""
    policies.associate("AmazonEKSViewPolicy", [NAMESPACE])
    until("the view binding is enforced", lambda: policies.can("get", "deployments"))
    policies.disassociate("AmazonEKSViewPolicy")
    path = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{NAMESPACE}/rolebindings/"
    assert policies.plane.request("GET", path + binding_name("AmazonEKSViewPolicy", USERNAME))[0] == 404
    until("the grant is gone", lambda: not policies.can("get", "deployments"))


# -- the verify command (components/eks_cicd_access/verify.py) ---------------------------------------------------


def verify(plane: ControlPlane, *args: str) -> tuple[int, dict[str, Any]]:
    """``python -m eks_cicd_access.verify ARGS --json`` in admin mode (the admin kubeconfig, ``--as`` CI's
    username): its exit status and its JSON answer."""
    with tempfile.TemporaryDirectory(prefix="verify-") as tmp:
        kubeconfig = Path(tmp) / "kubeconfig"
        kubeconfig.write_text(plane.admin_kubeconfig)
        done = subprocess.run(
            [sys.executable, "-m", "eks_cicd_access.verify", "--namespace", NAMESPACE, "--role-rules", "none",
             "--as", USERNAME, "--kubeconfig", str(kubeconfig), "--json", *args],
            capture_output=True, text=True, timeout=300, cwd=REPO, check=False,
        )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


FIXTURES = {"AmazonEKSViewPolicy": "view", "AmazonEKSEditPolicy": "edit", "AmazonEKSAdminPolicy": "admin"}


@pytest.mark.parametrize("policy", sorted(FIXTURES))
def test_verify_passes_for_the_policy_associated(request: pytest.FixtureRequest, policy: str) -> None:
    """verify, told of the policy associated, finds what it grants and nothing more: exit 0, no surprise."""
    associated: Policies = request.getfixturevalue(FIXTURES[policy])
    status, answer = verify(associated.plane, "--access-policy", policy)
    assert (status, answer["ok"], answer["surprises"]) == (0, True, []), answer["surprises"]


#: What each policy grants that verify probes, so finds when it is not told of the association.
PROBED = {
    "AmazonEKSViewPolicy": {("list", "pods", ""), ("get", "pods", "log")},
    "AmazonEKSEditPolicy": {
        ("list", "pods", ""), ("get", "secrets", ""), ("create", "pods", "exec"),
        ("impersonate", "serviceaccounts", ""),
    },
    "AmazonEKSAdminPolicy": {
        ("list", "pods", ""), ("get", "secrets", ""), ("create", "pods", "exec"),
        ("create", "rolebindings", ""), ("create", "roles", ""),
    },
}  # fmt: skip


@pytest.mark.parametrize("policy", sorted(PROBED))
def test_verify_reports_an_association_it_was_not_told_of_and_its_source(
    request: pytest.FixtureRequest, policy: str
) -> None:
    """verify, told of no access policy while one is associated: surprises (exit 1) for what it grants that verify
    probes (Pods and their logs; with Edit also Secrets, pods/exec, impersonation), each naming the emulated
    RoleBinding and ClusterRole as its source."""
    associated: Policies = request.getfixturevalue(FIXTURES[policy])
    status, answer = verify(associated.plane)
    assert (status, answer["ok"]) == (1, False), answer
    surprising = {(c["verb"], c["resource"], c.get("subresource") or "") for c in answer["surprises"]}
    assert PROBED[policy] <= surprising, surprising
    for check in answer["surprises"]:
        source = check["source"]
        assert source is not None, check
        assert (source["binding_kind"], source["binding_name"], source["binding_namespace"]) == (
            "RoleBinding",
            binding_name(policy, USERNAME),
            NAMESPACE,
        ), check
        assert source["role_name"] == f"eks-access-policy:{policy}", check
