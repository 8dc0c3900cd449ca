"""An HTTPS stand-in for the Kubernetes API server that the real ``kubectl`` talks to.

It serves what ``kubectl apply``, ``set image`` and ``rollout
status|history|undo|restart`` use: discovery, ``/openapi/v3`` for
``apps/v1``, and ``apps/v1`` Deployments and ReplicaSets with get, list,
watch (including watch-list, ``sendInitialEvents=true``), create, and the
patches kubectl sends (strategic merge, JSON patch, server-side apply).
A small deployment controller gives each new pod template a ReplicaSet
with the next revision, as the real one does, so rollout history and undo
have something to work with.

It also serves ConfigMaps (get, list, create, update), with the API
server's optimistic concurrency: an update carrying a ``resourceVersion``
other than the stored one is refused with 409 Conflict, a create of an
existing object with 409 AlreadyExists. ``kube-system/aws-auth`` held here is
what authenticates AWS callers.

Every request is authenticated (a static token, or the ``k8s-aws-v1.`` token
``aws eks get-token`` makes, checked by its STS signature
(``tests.apiserver.token``) and mapped through the stored ``aws-auth``
(``tests.apiserver.authenticator``)), authorized with RBAC semantics
(``tests.apiserver.rbac``; the ``system:masters`` group may do anything, as
in Kubernetes) and recorded.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import hashlib
import json
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jsonpatch
import yaml

from tests.apiserver import merge, openapi, schema
from tests.apiserver.authenticator import Identity, Principal, Unmapped, map_caller
from tests.apiserver.rbac import Attributes, Authorizer, Decision, forbidden_message, request_attributes
from tests.apiserver.tls import make_server_cert, serve_https
from tests.apiserver.token import TokenError, verify_token

REVISION = "deployment.kubernetes.io/revision"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
TEMPLATE_HASH = "pod-template-hash"
#: Deployment annotations the controller does not copy to its ReplicaSets.
_NOT_COPIED = {
    LAST_APPLIED,
    REVISION,
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
}
_KINDS = {"deployments": ("apps", "Deployment"), "replicasets": ("apps", "ReplicaSet")}
_EMPTY_CORE = {"pods": "Pod", "secrets": "Secret"}
#: Who may do anything, bypassing RBAC (the API server's superuser group).
SUPERUSER_GROUP = "system:masters"
__all__ = ["Identity", "KubeApiServer", "Principal", "Request"]


@dataclass
class Request:
    """One request as the server saw and answered it."""

    method: str
    path: str
    query: dict[str, list[str]]
    content_type: str
    attributes: Attributes
    user: str = ""
    status: int = 0
    #: Extra authorization checks made while serving (a server-side apply that creates needs ``create``).
    also_checked: list[tuple[str, bool]] = field(default_factory=list)

    @property
    def api(self) -> bool:
        """A resource request (not discovery, ``/openapi`` or ``/version``)."""
        return self.attributes.resource_request

    def describe(self) -> str:
        """E.g. ``watch deployments web (watch-list)`` or ``patch deployments web (strategic)``."""
        text = self.attributes.describe()
        if self.attributes.verb == "watch" and self.query.get("sendInitialEvents") == ["true"]:
            text += " (watch-list)"
        if self.method == "PATCH":
            text += " (" + _PATCH_NAMES.get(self.content_type, self.content_type) + ")"
        for verb, allowed in self.also_checked:
            text += f" [+{verb}: {'allowed' if allowed else 'denied'}]"
        return f"{text} -> {self.status}"


_PATCH_NAMES = {
    "application/strategic-merge-patch+json": "strategic",
    "application/json-patch+json": "json",
    "application/apply-patch+yaml": "apply",
}


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message

    def status(self) -> dict[str, Any]:
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Store:
    """Objects of one API server, with resource versions and a watchable event log."""

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.events: list[tuple[int, str, str, str, dict[str, Any]]] = []
        self.rv = 100

    def _emit(self, kind: str, resource: str, obj: dict[str, Any]) -> None:
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        self.events.append((self.rv, kind, resource, obj["metadata"]["namespace"], copy.deepcopy(obj)))
        self.lock.notify_all()

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        found = self.objects.get((resource, namespace, name))
        return copy.deepcopy(found) if found else None

    def list(self, resource: str, namespace: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(o) for (r, ns, _), o in sorted(self.objects.items()) if r == resource and ns == namespace]

    def put(self, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj["metadata"]
        key = (resource, meta["namespace"], meta["name"])
        existed = key in self.objects
        self.objects[key] = obj
        self._emit("MODIFIED" if existed else "ADDED", resource, obj)
        return copy.deepcopy(obj)


def _labels_match(selector: str, labels: Mapping[str, str]) -> bool:
    for term in filter(None, selector.split(",")):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            if labels.get(key) != value:
                return False
        elif term not in labels:
            return False
    return True


def _fields_match(selector: str, obj: Mapping[str, Any]) -> bool:
    for term in filter(None, selector.split(",")):
        key, value = term.replace("==", "=").split("=", 1)
        if key == "metadata.name" and obj["metadata"]["name"] != value:
            return False
        if key == "metadata.namespace" and obj["metadata"]["namespace"] != value:
            return False
    return True


class KubeApiServer:
    """The test API server. Use as a context manager; ``url`` and ``ca_data`` locate it."""

    def __init__(
        self,
        authorizer: Authorizer,
        *,
        cluster_name: str,
        principals: Mapping[str, Principal] | None = None,
        tokens: Mapping[str, Identity] | None = None,
    ) -> None:
        """``principals`` are the access keys STS knows (id -> secret and caller ARN);
        ``tokens`` are static bearer tokens (e.g. the deployer's, in ``system:masters``)."""
        self.authorizer = authorizer
        self.cluster_name = cluster_name
        self.principals = dict(principals or {})
        self.tokens = dict(tokens or {})
        self.store = Store()
        self.requests: list[Request] = []
        #: Called with each ConfigMap that a GET returns, after it is read and before the
        #: answer goes out: a test's chance to change it "between our read and our write".
        self.after_configmap_read: Callable[[Request, dict[str, Any]], None] | None = None
        #: Called before each ConfigMap write is served (outside the lock: it may wait for others).
        self.before_configmap_write: Callable[[Request], None] | None = None
        #: ConfigMap writes still to refuse with 409 Conflict whatever they carry (a conflict storm).
        self.refuse_configmap_writes = 0
        self._cert = make_server_cert()
        self._progress: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> KubeApiServer:
        self._httpd = serve_https(type("Handler", (_Handler,), {"api": self}), self._cert)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        with self.store.lock:
            self.store.lock.notify_all()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    @property
    def url(self) -> str:
        assert self._httpd is not None, "the server is not started"
        return f"https://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def ca_data(self) -> str:
        return self._cert.ca_data

    def kubeconfig(self, token: str) -> str:
        """A kubeconfig for this server that authenticates with a static ``token``."""
        return yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {"name": "test", "cluster": {"server": self.url, "certificate-authority-data": self.ca_data}}
                ],
                "users": [{"name": "user", "user": {"token": token}}],
                "contexts": [{"name": "test", "context": {"cluster": "test", "user": "user"}}],
                "current-context": "test",
            },
            sort_keys=False,
        )

    # -- state set-up (not authorized, not recorded) ----------------------------------------

    def seed_deployment(self, manifest: Mapping[str, Any], *images: str) -> None:
        """Create a Deployment, then roll it through ``images`` (one revision each), as if
        earlier deploys had happened."""
        with self.store.lock:
            obj = self._create("deployments", copy.deepcopy(dict(manifest)))
            for image in images:
                obj["spec"]["template"]["spec"]["containers"][0]["image"] = image
                obj = self._update("deployments", obj)

    def seed_progressing(self, namespace: str, name: str, image: str) -> None:
        """Start a rollout to ``image`` that is still going: the new ReplicaSet has one
        updated replica. Once a client watches the Deployment, the rollout advances one
        replica per step until it completes."""
        with self.store.lock:
            obj = self.store.get("deployments", namespace, name)
            assert obj is not None, f"no deployment {namespace}/{name}"
            obj["spec"]["template"]["spec"]["containers"][0]["image"] = image
            self._progress[(namespace, name)] = []
            obj = self._update("deployments", obj)
            replicas = obj["spec"].get("replicas", 1)
            for updated in range(2, replicas + 1):
                self._progress[(namespace, name)].append(_status(obj, updated=updated, available=updated - 1))
            self._progress[(namespace, name)].append(_status(obj, updated=replicas, available=replicas))

    # -- the deployment controller ---------------------------------------------------------

    def _create(self, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj.setdefault("metadata", {})
        group, kind = _KINDS[resource]
        obj["apiVersion"], obj["kind"] = f"{group}/v1", kind
        meta.update(uid=str(uuid.uuid4()), creationTimestamp=_now(), generation=1)
        meta.setdefault("annotations", {})
        if resource == "deployments":
            spec = obj.setdefault("spec", {})
            spec.setdefault("replicas", 1)
            spec.setdefault("revisionHistoryLimit", 10)
            spec.setdefault("progressDeadlineSeconds", 600)
            spec.setdefault(
                "strategy", {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
            )
            return self._sync(obj)
        return self.store.put(resource, obj)

    def _update(self, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj["metadata"]
        old = self.store.get(resource, meta["namespace"], meta["name"])
        assert old is not None
        for key in ("uid", "creationTimestamp", "generation"):
            meta[key] = old["metadata"][key]
        if obj.get("spec") != old.get("spec"):
            meta["generation"] = old["metadata"]["generation"] + 1
        obj["status"] = old.get("status", {})
        if resource == "deployments":
            return self._sync(obj)
        return self.store.put(resource, obj)

    def _sync(self, deployment: dict[str, Any]) -> dict[str, Any]:
        """Give the pod template its ReplicaSet and revision; report the rollout finished,
        unless a progressing rollout was seeded."""
        meta = deployment["metadata"]
        namespace, template = meta["namespace"], deployment["spec"]["template"]
        owned = [
            rs
            for rs in self.store.list("replicasets", namespace)
            if any(ref.get("uid") == meta["uid"] for ref in rs["metadata"].get("ownerReferences", []))
        ]
        max_revision = max((int(rs["metadata"]["annotations"][REVISION]) for rs in owned), default=0)
        current = next((rs for rs in owned if _without_hash(rs["spec"]["template"]) == _without_hash(template)), None)
        annotations = {k: v for k, v in meta.get("annotations", {}).items() if k not in _NOT_COPIED}
        replicas = deployment["spec"].get("replicas", 1)
        if current is None:
            pod_hash = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]
            rs_template = copy.deepcopy(template)
            rs_template.setdefault("metadata", {}).setdefault("labels", {})[TEMPLATE_HASH] = pod_hash
            selector = copy.deepcopy(deployment["spec"]["selector"])
            selector.setdefault("matchLabels", {})[TEMPLATE_HASH] = pod_hash
            current = {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {
                    "name": f"{meta['name']}-{pod_hash}",
                    "namespace": namespace,
                    "uid": str(uuid.uuid4()),
                    "creationTimestamp": _now(),
                    "generation": 1,
                    "labels": dict(rs_template["metadata"]["labels"]),
                    "annotations": {**annotations, REVISION: str(max_revision + 1)},
                    "ownerReferences": [
                        {
                            "apiVersion": "apps/v1",
                            "kind": "Deployment",
                            "name": meta["name"],
                            "uid": meta["uid"],
                            "controller": True,
                            "blockOwnerDeletion": True,
                        }
                    ],
                },
                "spec": {"replicas": replicas, "selector": selector, "template": rs_template},
                "status": {"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas},
            }
        elif int(current["metadata"]["annotations"][REVISION]) < max_revision:
            # Rolling back to an older template: its ReplicaSet becomes the newest revision.
            current["metadata"]["annotations"] = {**annotations, REVISION: str(max_revision + 1)}
        for rs in owned:
            if rs["metadata"]["name"] != current["metadata"]["name"] and rs["spec"]["replicas"]:
                rs["spec"]["replicas"] = 0
                rs["status"] = {"replicas": 0}
                self.store.put("replicasets", rs)
        current["spec"]["replicas"] = replicas
        self.store.put("replicasets", current)
        meta.setdefault("annotations", {})[REVISION] = current["metadata"]["annotations"][REVISION]
        progressing = (namespace, meta["name"]) in self._progress
        deployment["status"] = _status(
            deployment, updated=1 if progressing else replicas, available=0 if progressing else replicas
        )
        return self.store.put("deployments", deployment)

    def _advance(self, namespace: str, name: str) -> None:
        """Step a seeded rollout to completion, one status update at a time."""
        for status in self._progress.pop((namespace, name), []):
            time.sleep(0.15)
            with self.store.lock:
                obj = self.store.get("deployments", namespace, name)
                if obj is None:
                    return
                obj["status"] = status
                self.store.put("deployments", obj)

    # -- request handling ------------------------------------------------------------------

    def seed_configmap(self, namespace: str, name: str, data: Mapping[str, str]) -> dict[str, Any]:
        """Create a ConfigMap as another client would have (not authorized, not recorded)."""
        with self.store.lock:
            return self.store.put("configmaps", _configmap(namespace, name, dict(data)))

    def configmap(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The stored ConfigMap (a copy), or ``None``."""
        with self.store.lock:
            return self.store.get("configmaps", namespace, name)

    def edit_configmap(self, namespace: str, name: str, edit: Callable[[dict[str, str]], dict[str, str]]) -> str:
        """Another client's read-modify-write, done at once: ``edit`` gets and returns ``data``.

        Returns the new resourceVersion.
        """
        with self.store.lock:
            obj = self.store.get("configmaps", namespace, name)
            assert obj is not None, f"no configmap {namespace}/{name}"
            obj["data"] = edit(dict(obj.get("data") or {}))
            return str(self.store.put("configmaps", obj)["metadata"]["resourceVersion"])

    def authenticate(self, header: str) -> Identity:
        token = header.removeprefix("Bearer ")
        if token == header:
            raise ApiError(401, "Unauthorized", "no bearer token")
        if token in self.tokens:
            return self.tokens[token]
        secrets = {key: p.secret for key, p in self.principals.items()}
        try:
            key, session_token = verify_token(token, secrets, self.cluster_name)
        except TokenError as error:
            raise ApiError(401, "Unauthorized", f"invalid token: {error}") from None
        principal = self.principals[key]
        if session_token != principal.session_token:
            raise ApiError(401, "Unauthorized", f"invalid token: the session token does not belong to {key}")
        with self.store.lock:
            aws_auth = (self.store.get("configmaps", "kube-system", "aws-auth") or {}).get("data")
        try:
            return map_caller(aws_auth, principal.arn)
        except Unmapped as error:
            raise ApiError(401, "Unauthorized", f"{principal.arn}: {error}") from None

    def _authorize(self, identity: Identity, groups: tuple[str, ...], attrs: Attributes) -> Decision:
        if SUPERUSER_GROUP in groups:
            return Decision(True, SUPERUSER_GROUP)
        return self.authorizer.authorize(identity.username, groups, attrs)

    def serve(self, handler: _Handler) -> None:
        parts = urlsplit(handler.path)
        query = parse_qs(parts.query)
        attrs = request_attributes(handler.command, parts.path, parts.query)
        record = Request(handler.command, parts.path, query, handler.headers.get("Content-Type", ""), attrs)
        self.requests.append(record)
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        try:
            identity = self.authenticate(handler.headers.get("Authorization", ""))
            record.user = identity.username
            groups = (*identity.groups, "system:authenticated")
            decision = self._authorize(identity, groups, attrs)
            if not decision.allowed:
                raise ApiError(403, "Forbidden", forbidden_message(identity.username, attrs))

            def also(verb: str) -> None:
                extra = dataclasses.replace(attrs, verb=verb)
                allowed = self._authorize(identity, groups, extra).allowed
                record.also_checked.append((verb, allowed))
                if not allowed:
                    raise ApiError(403, "Forbidden", forbidden_message(identity.username, extra))

            if not attrs.resource_request:
                code, payload = self._nonresource(parts.path)
                record.status = code
                handler.send_json(code, payload)
                return
            if attrs.verb == "watch":
                record.status = 200
                self._watch(handler, attrs, query)
                return
            if attrs.resource == "configmaps" and attrs.api_group == "":
                code, obj = self._configmaps(record, body)
            else:
                code, obj = self._resource(handler.command, attrs, query, record.content_type, body, also)
        except ApiError as error:
            record.status = error.code
            handler.send_json(error.code, error.status())
            return
        record.status = code
        handler.send_json(code, obj)

    def _nonresource(self, path: str) -> tuple[int, Any]:
        if path in openapi.DISCOVERY:
            return 200, openapi.DISCOVERY[path]
        if path == "/openapi/v3":
            return 200, openapi.OPENAPI_V3_ROOT
        if path == "/openapi/v3/apis/apps/v1":
            return 200, openapi.APPS_V1_OPENAPI
        raise ApiError(404, "NotFound", "the server could not find the requested resource")

    def _resource(
        self,
        method: str,
        attrs: Attributes,
        query: dict[str, list[str]],
        content_type: str,
        body: bytes,
        also: Callable[[str], None],
    ) -> tuple[int, Any]:
        resource, namespace, name = attrs.resource, attrs.namespace, attrs.name
        if attrs.subresource or not namespace:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if resource in _EMPTY_CORE and attrs.api_group == "":
            if attrs.verb == "list":
                return 200, {
                    "kind": f"{_EMPTY_CORE[resource]}List",
                    "apiVersion": "v1",
                    "metadata": {"resourceVersion": str(self.store.rv)},
                    "items": [],
                }
            raise ApiError(404, "NotFound", f'{resource} "{name}" not found')
        if resource not in _KINDS or attrs.api_group != "apps":
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        group, kind = _KINDS[resource]
        with self.store.lock:
            if attrs.verb == "get":
                obj = self.store.get(resource, namespace, name)
                if obj is None:
                    raise ApiError(404, "NotFound", f'{resource}.{group} "{name}" not found')
                return 200, obj
            if attrs.verb == "list":
                items = self._select(resource, namespace, query)
                return 200, {
                    "kind": f"{kind}List",
                    "apiVersion": f"{group}/v1",
                    "metadata": {"resourceVersion": str(self.store.rv)},
                    "items": items,
                }
            if attrs.verb == "create" and resource == "deployments":
                obj = json.loads(body)
                obj.setdefault("metadata", {})["namespace"] = namespace
                if self.store.get(resource, namespace, obj["metadata"].get("name", "")):
                    raise ApiError(
                        409, "AlreadyExists", f'{resource}.{group} "{obj["metadata"]["name"]}" already exists'
                    )
                return 201, self._create(resource, obj)
            if attrs.verb == "patch" and resource == "deployments":
                return self._patch(namespace, name, content_type, body, also)
        raise ApiError(405, "MethodNotAllowed", f"the test server does not serve {attrs.describe()}")

    def _configmaps(self, record: Request, body: bytes) -> tuple[int, Any]:
        """get, list, create and update, with resourceVersion preconditions."""
        attrs = record.attributes
        namespace, name = attrs.namespace, attrs.name
        if attrs.subresource or not namespace:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if attrs.verb == "get":
            with self.store.lock:
                obj = self.store.get("configmaps", namespace, name)
            if obj is None:
                raise ApiError(404, "NotFound", f'configmaps "{name}" not found')
            if self.after_configmap_read is not None:
                # Outside the lock: the hook may write, or wait for other readers.
                self.after_configmap_read(record, copy.deepcopy(obj))
            return 200, obj
        if attrs.verb in ("create", "update") and self.before_configmap_write is not None:
            self.before_configmap_write(record)
        with self.store.lock:
            if attrs.verb == "list":
                return 200, {
                    "kind": "ConfigMapList",
                    "apiVersion": "v1",
                    "metadata": {"resourceVersion": str(self.store.rv)},
                    "items": self.store.list("configmaps", namespace),
                }
            if attrs.verb not in ("create", "update"):
                raise ApiError(405, "MethodNotAllowed", f"the test server does not serve {attrs.describe()}")
            sent = json.loads(body)
            meta = sent.get("metadata") or {}
            name = name or meta.get("name", "")
            if meta.get("namespace", namespace) != namespace or meta.get("name", name) != name:
                raise ApiError(400, "BadRequest", "the name and namespace of the body must match the request")
            # Like the real decoder: a missing apiVersion or kind defaults to the endpoint's.
            if sent.get("apiVersion", "v1") != "v1" or sent.get("kind", "ConfigMap") != "ConfigMap":
                raise ApiError(
                    400,
                    "BadRequest",
                    f"the object provided is unrecognized (must be of type ConfigMap): "
                    f"{sent.get('apiVersion')}, Kind={sent.get('kind')}",
                )
            current = self.store.get("configmaps", namespace, name)
            if self.refuse_configmap_writes > 0:
                self.refuse_configmap_writes -= 1
                raise ApiError(409, "Conflict", _conflict(name))
            if attrs.verb == "create":
                if current is not None:
                    raise ApiError(409, "AlreadyExists", f'configmaps "{name}" already exists')
                if meta.get("resourceVersion"):
                    raise ApiError(400, "BadRequest", "resourceVersion should not be set on objects to be created")
                obj = _configmap(namespace, name, sent.get("data") or {}, meta)
                return 201, self.store.put("configmaps", obj)
            if current is None:
                raise ApiError(404, "NotFound", f'configmaps "{name}" not found')
            sent_rv = meta.get("resourceVersion")
            if sent_rv and sent_rv != current["metadata"]["resourceVersion"]:
                raise ApiError(409, "Conflict", _conflict(name))
            obj = _configmap(namespace, name, sent.get("data") or {}, meta)
            for kept in ("uid", "creationTimestamp"):
                obj["metadata"][kept] = current["metadata"][kept]
            return 200, self.store.put("configmaps", obj)

    def _patch(
        self, namespace: str, name: str, content_type: str, body: bytes, also: Callable[[str], None]
    ) -> tuple[int, Any]:
        current = self.store.get("deployments", namespace, name)
        deployment_schema = schema.definitions()[schema.DEPLOYMENT]
        try:
            if content_type == "application/apply-patch+yaml":
                config = yaml.safe_load(body)
                if current is None:
                    also("create")  # a server-side apply that creates the object needs create
                    config.setdefault("metadata", {})["namespace"] = namespace
                    return 201, self._create("deployments", config)
                patched = merge.apply_merge(current, config, deployment_schema)
            elif current is None:
                raise ApiError(404, "NotFound", f'deployments.apps "{name}" not found')
            elif content_type == "application/strategic-merge-patch+json":
                patched = merge.strategic_merge_patch(current, json.loads(body), deployment_schema)
            elif content_type == "application/json-patch+json":
                patched = jsonpatch.apply_patch(current, json.loads(body))
            else:
                raise ApiError(415, "UnsupportedMediaType", f"unsupported patch type {content_type}")
        except (merge.PatchError, jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as error:
            raise ApiError(422, "Invalid", str(error)) from None
        return 200, self._update("deployments", patched)

    def _select(self, resource: str, namespace: str, query: Mapping[str, list[str]]) -> list[dict[str, Any]]:
        labels = query.get("labelSelector", [""])[0]
        fields = query.get("fieldSelector", [""])[0]
        return [
            o
            for o in self.store.list(resource, namespace)
            if _labels_match(labels, o["metadata"].get("labels", {})) and _fields_match(fields, o)
        ]

    def _watch(self, handler: _Handler, attrs: Attributes, query: dict[str, list[str]]) -> None:
        resource, namespace = attrs.resource, attrs.namespace
        labels = query.get("labelSelector", [""])[0]
        fields = query.get("fieldSelector", [""])[0]
        timeout = min(float(query.get("timeoutSeconds", ["30"])[0]), 30.0)
        handler.start_stream()
        with self.store.lock:
            since = int(query.get("resourceVersion", ["0"])[0] or 0)
            initial: list[dict[str, Any]] = []
            if query.get("sendInitialEvents") == ["true"] or since == 0:
                initial = self._select(resource, namespace, query)
                since = self.store.rv
        group, kind = _KINDS.get(resource, ("", ""))
        for obj in initial:
            handler.write_event({"type": "ADDED", "object": obj})
        if query.get("sendInitialEvents") == ["true"]:
            handler.write_event(
                {
                    "type": "BOOKMARK",
                    "object": {
                        "kind": kind,
                        "apiVersion": f"{group}/v1",
                        "metadata": {
                            "resourceVersion": str(since),
                            "annotations": {"k8s.io/initial-events-end": "true"},
                        },
                    },
                }
            )
        if resource == "deployments" and attrs.name and (namespace, attrs.name) in self._progress:
            threading.Thread(target=self._advance, args=(namespace, attrs.name), daemon=True).start()
        deadline = time.monotonic() + timeout
        try:
            while not self._stopping.is_set() and time.monotonic() < deadline:
                with self.store.lock:
                    pending = [e for e in self.store.events if e[0] > since]
                    if not pending:
                        self.store.lock.wait(0.2)
                        continue
                for rv, kind_of_event, res, ns, obj in pending:
                    since = rv
                    if (
                        res == resource
                        and ns == namespace
                        and _labels_match(labels, obj["metadata"].get("labels", {}))
                        and _fields_match(fields, obj)
                    ):
                        handler.write_event({"type": kind_of_event, "object": obj})
            handler.end_stream()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            return


def _configmap(
    namespace: str, name: str, data: dict[str, str], meta: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    metadata = {
        k: v for k, v in (meta or {}).items() if k in ("labels", "annotations", "ownerReferences", "finalizers")
    }
    metadata.update(name=name, namespace=namespace, uid=str(uuid.uuid4()), creationTimestamp=_now())
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": dict(data)}


def _conflict(name: str) -> str:
    return (
        f'Operation cannot be fulfilled on configmaps "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )


def _without_hash(template: Mapping[str, Any]) -> Any:
    stripped = copy.deepcopy(dict(template))
    stripped.get("metadata", {}).get("labels", {}).pop(TEMPLATE_HASH, None)
    return stripped


def _status(deployment: Mapping[str, Any], *, updated: int, available: int) -> dict[str, Any]:
    replicas = deployment["spec"].get("replicas", 1)
    done = updated == replicas and available == replicas
    reason = "NewReplicaSetAvailable" if done else "ReplicaSetUpdated"
    return {
        "observedGeneration": deployment["metadata"]["generation"],
        "replicas": replicas,
        "updatedReplicas": updated,
        "readyReplicas": available,
        "availableReplicas": available,
        "unavailableReplicas": replicas - available,
        "conditions": [
            {
                "type": "Available",
                "status": "True" if available == replicas else "False",
                "reason": "MinimumReplicasAvailable",
            },
            {"type": "Progressing", "status": "True", "reason": reason},
        ],
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle's algorithm the body waits
    # for the client's delayed ACK (40 ms a request).
    disable_nagle_algorithm = True
    api: KubeApiServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.api.serve(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def send_json(self, code: int, payload: Any) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

    def write_event(self, event: Mapping[str, Any]) -> None:
        data = json.dumps(event).encode() + b"\n"
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        self.close_connection = True
