"""The table of built-in API groups and resources that role rules are checked against
(``components/eks_cicd_access/data/api-resources.json``) is what the real kube-apiserver serves.

The file is checked in, so that the fast tier and users need no cluster; this test asks the control plane's own
discovery (``/api``, ``/apis`` and each group version's resource list) and compares. After a Kubernetes upgrade in
``scripts/tool-versions`` it fails until the file is rewritten: ``venv/bin/python -m pytest -m cluster
tests/cluster/test_cluster_discovery.py --record-golden``.
"""

from __future__ import annotations

import json
from typing import Any

from eks_cicd_access.rbac import API_RESOURCES_FILE, BUILT_IN_RESOURCES
from testbed.controlplane.fixture import ControlPlane


def served(plane: ControlPlane) -> dict[str, Any]:
    """Every API group the server serves (``""`` the core group) with the resources of all its versions, sorted;
    subresources as RBAC names them (``deployments/scale``)."""
    versions = {"": [f"/api/{v}" for v in plane.api("GET", "/api")["versions"]]}
    for group in plane.api("GET", "/apis")["groups"]:
        versions[group["name"]] = [f"/apis/{v['groupVersion']}" for v in group["versions"]]
    groups = {
        name: sorted({r["name"] for path in paths for r in plane.api("GET", path)["resources"]})
        for name, paths in sorted(versions.items())
    }
    return {"kubernetesVersion": plane.version(), "groups": groups}


def test_the_checked_in_table_is_what_the_api_server_serves(control_plane: ControlPlane, request: Any) -> None:
    """Role rules are checked against the real API server's discovery, not a hand-written list."""
    found = served(control_plane)
    if request.config.getoption("--record-golden"):
        API_RESOURCES_FILE.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
    assert found == json.loads(API_RESOURCES_FILE.read_text()), "rewrite it: see this module's docstring"
    assert BUILT_IN_RESOURCES["apps"] >= {"deployments", "replicasets", "deployments/scale"}
