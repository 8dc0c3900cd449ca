"""The stand-in answers as the real API server does, for every request the fast tier's writer checks rely on.

``testbed/apiserver`` still serves the fast tier's quick checks of the ``aws-auth``
writer and the faults a real server will not produce on demand. So that it is
never the judge of anything Kubernetes decides, the same sequence of ConfigMap
requests (the writer's get, create and replace, with current, stale and no
``resourceVersion``; bodies that do not match the URL; a user without
``system:masters``; a token nobody issued) goes to the stand-in and to
kube-apiserver v1.37.2 on etcd (``testbed/controlplane``), and the answers are
compared: status, reason and message of a refusal; data, and whether the
``resourceVersion`` moved, of a success.

``pytest -m cluster tests/cluster/test_cluster_standin_parity.py``.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from testbed.apiserver.authenticator import Identity
from testbed.apiserver.server import KubeApiServer
from testbed.aws_auth_seed import ADMIN_TOKEN, DEPLOYER
from testbed.controlplane.fixture import ControlPlane, send_json

NAME = "parity"
LABELS = {"team": "web"}
#: The ConfigMap every namespace of a real cluster gets (the root CA publisher); the stand-in has no controllers.
ROOT_CA = "kube-root-ca.crt"

Send = Callable[[str, str, Mapping[str, Any] | None, str | None], tuple[int, dict[str, Any]]]


def _standin_sender(server: KubeApiServer) -> Send:
    """HTTPS to the stand-in, with a bearer token (the admin's static token by default)."""
    with tempfile.NamedTemporaryFile("wb", suffix=".crt", delete=False) as ca:
        ca.write(base64.b64decode(server.ca_data))
    context = ssl.create_default_context(cafile=ca.name)
    os.unlink(ca.name)

    def send(method: str, path: str, body: Mapping[str, Any] | None, token: str | None) -> tuple[int, dict[str, Any]]:
        return send_json(context, server.url + path, method, body, token=token or ADMIN_TOKEN)

    return send


@dataclass
class Side:
    """One server's view of the sequence: how to send, and the resourceVersions it answered."""

    send: Send
    #: The resourceVersion of the last ConfigMap answered, and that of the first (stale once it moved).
    current: str = ""
    first: str = ""
    answers: list[dict[str, Any]] = field(default_factory=list)

    def put(self, step: str, method: str, path: str, body: Mapping[str, Any] | None, token: str | None) -> None:
        """Send, with ``CURRENT``/``STALE`` in the body's resourceVersion replaced by this side's, and keep the
        answer in comparable form."""
        if body is not None:
            body = json.loads(json.dumps(body).replace('"CURRENT"', json.dumps(self.current)))
            body = json.loads(json.dumps(body).replace('"STALE"', json.dumps(self.first)))
        code, answer = self.send(method, path, body, token)
        self.answers.append({"step": step, **self._comparable(code, answer)})

    def _comparable(self, code: int, answer: Mapping[str, Any]) -> dict[str, Any]:
        kind = answer.get("kind")
        if kind == "Status":
            return {"code": code, "reason": answer.get("reason"), "message": answer.get("message")}
        if kind == "ConfigMapList":
            names = [i["metadata"]["name"] for i in answer.get("items", []) if i["metadata"]["name"] != ROOT_CA]
            return {"code": code, "kind": kind, "names": names}
        if kind == "ConfigMap":
            rv = answer["metadata"]["resourceVersion"]
            moved = "new" if rv != self.current else "unchanged"
            self.current, self.first = rv, self.first or rv
            meta = answer["metadata"]
            return {
                "code": code,
                "kind": kind,
                "name": meta["name"],
                "data": answer.get("data"),
                "labels": meta.get("labels"),
                "resourceVersion": moved,
            }
        return {"code": code, "answer": dict(answer)}


def _sequence(namespace: str, viewer_token: str) -> list[tuple[str, str, str, dict[str, Any] | None, str | None]]:
    """(step, method, path, body, token): what the writer and a hostile editor send, and what must be refused."""
    base = f"/api/v1/namespaces/{namespace}/configmaps"
    path = f"{base}/{NAME}"

    def cm(
        data: Mapping[str, str],
        rv: str | None = None,
        name: str = NAME,
        labels: Mapping[str, str] | None = LABELS,
        in_namespace: str = namespace,
    ) -> dict[str, Any]:
        meta: dict[str, Any] = {"name": name, "namespace": in_namespace}
        if labels is not None:
            meta["labels"] = dict(labels)
        if rv is not None:
            meta["resourceVersion"] = rv
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": dict(data)}

    return [
        ("get a missing ConfigMap", "GET", path, None, None),
        ("replace a missing ConfigMap", "PUT", path, cm({"a": "1"}), None),
        ("create with another namespace in the body", "POST", base, cm({"a": "1"}, in_namespace="other"), None),
        ("create", "POST", base, cm({"a": "1"}), None),
        ("create it again", "POST", base, cm({"a": "1"}), None),
        ("create it again with a resourceVersion", "POST", base, cm({"a": "1"}, "CURRENT"), None),
        ("create at an object's path", "POST", path, cm({"a": "1"}), None),
        ("get", "GET", path, None, None),
        ("replace with the resourceVersion read", "PUT", path, cm({"a": "1", "b": "2"}, "CURRENT"), None),
        ("replace with a stale resourceVersion", "PUT", path, cm({"a": "9"}, "STALE"), None),
        ("replace with nothing changed", "PUT", path, cm({"a": "1", "b": "2"}, "CURRENT"), None),
        ("replace with no resourceVersion and no labels", "PUT", path, cm({"c": "3"}, labels=None), None),
        ("replace with empty labels, nothing changed", "PUT", path, cm({"c": "3"}, "CURRENT", labels={}), None),
        ("replace with another name in the body", "PUT", path, cm({"c": "3"}, name="other"), None),
        ("replace with another namespace in the body", "PUT", path, cm({"c": "3"}, in_namespace="other"), None),
        ("replace with a body of another kind", "PUT", path, {**cm({"c": "3"}), "kind": "Secret"}, None),
        ("replace the collection", "PUT", base, cm({"c": "3"}), None),
        ("create with a resourceVersion", "POST", base, cm({"d": "4"}, "CURRENT", name=f"{NAME}-2"), None),
        ("list", "GET", base, None, None),
        ("get as a user outside system:masters", "GET", path, None, viewer_token),
        ("replace as a user outside system:masters", "PUT", path, cm({"e": "5"}), viewer_token),
        ("get with a token nobody issued", "GET", path, None, "k8s-aws-v1.bm90LWEtdG9rZW4"),
    ]


@dataclass
class Answers:
    real: list[dict[str, Any]]
    standin: list[dict[str, Any]]


@pytest.fixture(scope="module")
def answers(control_plane: ControlPlane) -> Iterator[Answers]:
    """The sequence put to both servers, in a fresh namespace of the real one (the same name on the stand-in)."""
    plane = control_plane
    namespace = f"parity-{uuid.uuid4().hex[:8]}"
    plane.api("POST", "/api/v1/namespaces", {"metadata": {"name": namespace}})
    account = "parity-viewer"
    plane.api("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts", {"metadata": {"name": account}})
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 600}}
    token = plane.api("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token", review)
    viewer_token = token["status"]["token"]
    viewer = Identity(
        f"system:serviceaccount:{namespace}:{account}",
        ("system:serviceaccounts", f"system:serviceaccounts:{namespace}"),
    )
    try:
        with KubeApiServer(cluster_name="c", tokens={ADMIN_TOKEN: DEPLOYER, viewer_token: viewer}) as server:
            real = Side(lambda method, path, body, tok: plane.request(method, path, body, token=tok))
            standin = Side(_standin_sender(server))
            for step, method, path, body, tok in _sequence(namespace, viewer_token):
                real.put(step, method, path, body, tok)
                standin.put(step, method, path, body, tok)
            yield Answers(real.answers, standin.answers)
    finally:
        plane.api("DELETE", f"/api/v1/namespaces/{namespace}")


def _without_message(answer: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k != "message"}


STEPS = [step for step, *_ in _sequence("ns", "token")]
#: Refusals compared by status and reason only: the real server's 401 says only "Unauthorized" (the stand-in
#: says why), and its message for a body of another kind goes on with what decoding it as a ConfigMap met.
REASON_ONLY = {"get with a token nobody issued", "replace with a body of another kind"}


@pytest.mark.parametrize("index", range(len(STEPS)), ids=STEPS)
def test_the_standin_answers_as_the_real_api_server(answers: Answers, index: int) -> None:
    """Each request of the sequence gets the same status, reason and message (or data and resourceVersion
    movement) from the stand-in as from kube-apiserver on etcd."""
    real, standin = answers.real[index], answers.standin[index]
    if real["step"] in REASON_ONLY:
        real, standin = _without_message(real), _without_message(standin)
    assert standin == real, f"real: {real}\nstand-in: {standin}"


def test_the_sequence_exercises_what_the_writer_meets(answers: Answers) -> None:
    """The sequence is not vacuous: the real server answered it with 200, 201, 400, 401, 403, 404, 405, 409 and
    500, moved the resourceVersion on a change but not on a no-op, and kept the labels sent."""
    assert {a["code"] for a in answers.real} == {200, 201, 400, 401, 403, 404, 405, 409, 500}
    moved = {a["step"]: a.get("resourceVersion") for a in answers.real}
    assert moved["replace with the resourceVersion read"] == "new"
    assert moved["replace with nothing changed"] == moved["replace with empty labels, nothing changed"] == "unchanged"
    created = next(a for a in answers.real if a["step"] == "create")
    assert created["labels"] == LABELS
