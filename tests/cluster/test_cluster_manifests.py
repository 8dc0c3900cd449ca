"""Every object the component renders is accepted by the real API server: validation and admission.

``pytest -m cluster tests/cluster/test_cluster_manifests.py``. Where
``tests/unit/test_manifests.py`` checks the rendered objects against the OpenAPI
schemas (``kubernetes-validate``), this sends each one to kube-apiserver
v1.37.2 (``testbed/controlplane``) as a server-side dry run (``?dryRun=All``):
decoding, defaulting, the API server's own validation (names, required rule
fields, subject kinds...) and the admission chain (NamespaceLifecycle,
the RBAC escalation check...) run, and nothing is persisted. The objects go
as the JSON the component registered (``plane.api``), not through the
client's models, so the server sees exactly what was rendered.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import kubernetes_validate
import pytest

from eks_cicd_access.rbac import PRESETS
from testbed.contention import AWS_AUTH_PATH
from testbed.controlplane.fixture import ApiError, ControlPlane
from tests.support import VERSIONS, rendered_objects

RBAC = "/apis/rbac.authorization.k8s.io/v1"
DRY_RUN = "?dryRun=All"


@pytest.fixture
def namespace(control_plane: ControlPlane) -> Iterator[str]:
    """A fresh namespace name (created only by the test that needs it; deleted after if it was)."""
    name = f"ci-{uuid.uuid4().hex[:8]}"
    yield name
    try:
        control_plane.api("DELETE", f"/api/v1/namespaces/{name}")
    except ApiError as error:
        assert error.status == 404, error


def path_of(obj: dict[str, Any]) -> str:
    """The collection an object is created in."""
    kind, namespace = obj["kind"], obj["metadata"].get("namespace")
    if kind == "Namespace":
        return "/api/v1/namespaces"
    if kind in ("Role", "RoleBinding"):
        return f"{RBAC}/namespaces/{namespace}/{kind.lower()}s"
    raise AssertionError(f"no path for {kind}")


def refusal(plane: ControlPlane, method: str, path: str, body: dict[str, Any]) -> tuple[int, str]:
    """Send ``body`` as a dry run that must be refused; the status and the server's message."""
    with pytest.raises(ApiError) as refused:
        plane.api(method, path + DRY_RUN, body)
    return refused.value.status, json.loads(refused.value.body)["message"]


def absent(plane: ControlPlane, path: str) -> bool:
    try:
        plane.api("GET", path)
    except ApiError as error:
        return error.status == 404
    return False


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_rendered_object_is_accepted_by_the_real_server(stack, real, namespace, preset):
    """Namespace, Role, RoleBinding (every preset) and aws-auth after our edit pass the real API server's
    validation and admission as a dry run, come back as sent, and nothing is persisted by the dry run."""
    plane = real.plane
    ns, role, binding, aws_auth = rendered_objects(stack, real.as_apiserver, namespace=namespace, role_rules=preset)
    assert [o["kind"] for o in (ns, role, binding, aws_auth)] == ["Namespace", "Role", "RoleBinding", "ConfigMap"]

    answer = plane.api("POST", path_of(ns) + DRY_RUN, ns)
    assert answer["metadata"]["name"] == namespace
    assert absent(plane, f"/api/v1/namespaces/{namespace}"), "a dry run must not create the namespace"
    # Role and RoleBinding are admitted only into a namespace that exists (NamespaceLifecycle): create it.
    plane.api("POST", path_of(ns), ns)

    for obj, fields in ((role, ("rules",)), (binding, ("roleRef", "subjects"))):
        answer = plane.api("POST", path_of(obj) + DRY_RUN, obj)
        assert {f: answer[f] for f in fields} == {f: obj[f] for f in fields}, f"the server changed a {obj['kind']}"
        assert (answer["metadata"]["name"], answer["metadata"]["namespace"]) == (
            obj["metadata"]["name"],
            namespace,
        )
        assert absent(plane, f"{path_of(obj)}/{obj['metadata']['name']}"), f"a dry run created the {obj['kind']}"

    # aws-auth as it stands after the entry's provider wrote it: an update (it exists), guarded by its version.
    version = aws_auth["metadata"]["resourceVersion"]
    answer = plane.api("PUT", AWS_AUTH_PATH + DRY_RUN, aws_auth)
    assert answer["data"] == aws_auth["data"]
    after = real.aws_auth()
    assert (after["metadata"]["resourceVersion"], after["data"]) == (version, aws_auth["data"]), "dry run wrote"


def test_the_real_server_refuses_what_the_schema_lets_through(stack, real, namespace):
    """The dry-run check can fail: a Role rule without verbs or a Role named "..", a Namespace name that is no
    DNS label, a binding to a kind that is no role, an aws-auth key that is no ConfigMap key: each passes the
    strict schema check, and the real server refuses each with 422 Invalid, persisting nothing."""
    plane = real.plane
    ns, role, binding, aws_auth = rendered_objects(stack, real.as_apiserver, namespace=namespace)
    plane.api("POST", path_of(ns), ns)
    no_verbs = {**role, "rules": [{**role["rules"][0], "verbs": []}]}
    dot_dot = {**role, "metadata": {**role["metadata"], "name": ".."}}
    bad_namespace = {**ns, "metadata": {"name": "My_Team"}}
    not_a_role = {**binding, "roleRef": {**binding["roleRef"], "kind": "Deployment"}}
    bad_key = {**aws_auth, "data": {**aws_auth["data"], "map users!": "[]"}}
    for obj in (no_verbs, dot_dot, bad_namespace, not_a_role, bad_key):
        kubernetes_validate.validate(obj, VERSIONS[-1], strict=True)  # the schema has no objection

    cases = [
        (no_verbs, "POST", path_of(role), "rules[0].verbs: Required value"),
        (dot_dot, "POST", path_of(role), "metadata.name: Invalid value: \"..\": may not be '..'"),
        (bad_namespace, "POST", path_of(ns), 'metadata.name: Invalid value: "My_Team": a lowercase RFC 1123 label'),
        (not_a_role, "POST", path_of(binding), 'roleRef.kind: Unsupported value: "Deployment"'),
        (bad_key, "PUT", AWS_AUTH_PATH, 'data[map users!]: Invalid value: "map users!"'),
    ]
    found = [(refusal(plane, method, path, obj), expected) for obj, method, path, expected in cases]
    assert [status for (status, _), _ in found] == [422] * len(cases), found
    for (_, message), expected in found:
        assert expected in message, message
    assert absent(plane, f"{path_of(role)}/{role['metadata']['name']}")
    assert absent(plane, "/api/v1/namespaces/My_Team")
    assert real.aws_auth()["data"] == aws_auth["data"]
