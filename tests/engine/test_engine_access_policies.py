"""Access policies alone under the real Pulumi engine: a stack that never reaches the Kubernetes API.

The dev stack with ``identityMapping: access-entry``, ``roleRules: none``, ``createNamespace: false`` and
``accessPolicies``, whose ``kubeconfig`` config points at a closed port on loopback (the private endpoint this
machine cannot reach), set by docs/access-policies.md's block: ``up`` succeeds with the real CLI, no request from
the deployment reaches the control plane (its audit log), and CI, through the access entry and the access policy
alone (EKS's API emulated, its authorizer stood in for by RBAC: ``testbed/access_policy_rbac.py``), deploys with
real kubectl.
``destroy`` takes the association and the entry away. See ``testbed/engine_stack.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from testbed.controlplane.processes import free_port
from testbed.docs import block
from testbed.engine_stack import Engine, Project
from testbed.names import CLUSTER_NAME
from testbed.workload import IMAGE, manifest

NAMESPACE = "my-test-ns"
EDIT = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"


def unreachable_kubeconfig() -> str:
    """An admin-looking kubeconfig whose server is a loopback port nothing listens on."""
    port = free_port()
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "private", "cluster": {"server": f"https://127.0.0.1:{port}"}}],
            "users": [{"name": "admin", "user": {"token": "unused"}}],
            "contexts": [{"name": "private", "context": {"cluster": "private", "user": "admin"}}],
            "current-context": "private",
        }
    )


@pytest.fixture
def project(engine: Engine, tmp_path: Path) -> Iterator[Project]:
    """The dev stack, its kubeconfig unreachable, on an API_AND_CONFIG_MAP cluster whose namespace exists (made by
    someone else: createNamespace is false); destroyed afterwards."""
    found = Project.copy(engine, tmp_path)
    found.create_dev_stack(unreachable_kubeconfig())
    engine.plane.request("POST", "/api/v1/namespaces", {"metadata": {"name": NAMESPACE}})
    engine.moto.made_in("API_AND_CONFIG_MAP")
    try:
        yield found
    finally:
        if json.loads(found("stack", "ls", "--json").stdout) and found.resources():
            found("destroy", "--yes", "--skip-preview")
        engine.plane.request("DELETE", f"/api/v1/namespaces/{NAMESPACE}")


def test_access_policies_alone_deploy_without_reaching_kubernetes_and_ci_deploys(
    engine: Engine, project: Project
) -> None:
    """docs/access-policies.md's block (roleRules none, createNamespace false, AmazonEKSEditPolicy on an access
    entry): `pulumi up` succeeds with a kubeconfig that reaches nothing and sends nothing to the Kubernetes API; CI
    deploys through the policy alone, and reads the namespace's Secrets as AWS documents Edit to; nothing in another
    namespace; destroy disassociates the policy and deletes the entry."""
    engine.plane.api("POST", f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments", manifest(1, NAMESPACE))
    mark = engine.plane.audit.mark()
    project.run_readme(block("access-policies"))
    ours = [e for e in engine.plane.audit.events(mark) if str(e.get("userAgent", "")).startswith(("pulumi", "Open"))]
    assert ours == [], f"the deployment reached the Kubernetes API: {ours}"
    types = {r["type"] for r in project.resources()}
    assert not {t for t in types if t.startswith(("kubernetes:", "pulumi:providers:kubernetes"))}, types
    assert "aws:eks/accessPolicyAssociation:AccessPolicyAssociation" in types, types
    outputs = project.outputs(secrets=True)
    assert "roleName" not in outputs, "roleName must be null (left out) without a Role"
    (entry,) = engine.moto.access.cluster(CLUSTER_NAME).entries.values()
    assert entry.policies[EDIT]["accessScope"] == {"type": "namespace", "namespaces": [NAMESPACE]}
    credentials = {"AWS_ACCESS_KEY_ID": outputs["accessKeyId"], "AWS_SECRET_ACCESS_KEY": outputs["secretAccessKey"]}

    def ci(*args: str) -> tuple[int, str]:
        done = engine.plane.kubectl(list(args), kubeconfig=outputs["kubeconfig"], credentials=credentials, timeout=120)
        return done.returncode, done.stderr

    assert ci("-n", NAMESPACE, "set", "image", "deployment/web", f"app={IMAGE.format(2)}") == (0, "")
    assert ci("-n", NAMESPACE, "rollout", "undo", "deployment/web")[0] == 0
    assert ci("-n", NAMESPACE, "get", "secrets")[0] == 0, "Edit reads Secrets, as AWS documents"
    code, stderr = ci("-n", "default", "get", "deployments")
    assert code != 0 and "forbidden" in stderr.lower(), stderr
    project("destroy", "--yes")
    assert engine.moto.access.cluster(CLUSTER_NAME).entries == {}, "destroy left the access entry"
