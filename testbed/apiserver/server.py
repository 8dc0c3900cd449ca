"""An HTTPS stand-in for the Kubernetes API server, for what a real one cannot do for a test.

It serves ConfigMaps only (get, list, create, update), with the API server's
optimistic concurrency: an update carrying a ``resourceVersion`` other than
the stored one is refused with 409 Conflict, a create of an existing object
with 409 AlreadyExists, an update that changes nothing keeps the
``resourceVersion``. ``kube-system/aws-auth`` held here is what authenticates
AWS callers. Anything else is 404.

What it is for: the fast tier's quick checks of the ``aws-auth`` writer, and
the faults a real server will not produce on demand (``refuse_configmap_writes``:
409 on every write; ``after_configmap_read`` / ``before_configmap_write``: a
hook between our read and our write, or a read never answered). The real
control plane (``testbed/controlplane``, the ``cluster`` tier) judges
everything else: RBAC, apply, rollouts. ``tests/cluster/test_cluster_standin_parity.py``
puts the same requests to both and compares the answers.

Every request is authenticated (a static token, or the ``k8s-aws-v1.`` token
``aws eks get-token`` makes, checked by its STS signature
(``testbed.apiserver.token``) and mapped through the stored ``aws-auth``
(``testbed.apiserver.authenticator``, our reading of aws-iam-authenticator for
the fast tier; the cluster, engine and languages tiers run the real one) and
recorded. There is no RBAC here: the ``system:masters``
group may do anything, as in Kubernetes, and every other user is refused with
the real server's 403.
"""

from __future__ import annotations

import copy
import datetime
import json
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from testbed.apiserver.authenticator import Identity, Principal, Unmapped, map_caller
from testbed.apiserver.tls import make_server_cert, serve_https
from testbed.apiserver.token import TokenError, verify_token

#: Who may do anything (the API server's superuser group); nobody else may do anything here.
SUPERUSER_GROUP = "system:masters"
__all__ = ["ApiError", "Attributes", "Identity", "KubeApiServer", "Principal", "Request", "request_attributes"]

_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


@dataclass(frozen=True)
class Attributes:
    """What a request is about, as the API server's ``RequestInfoFactory`` reads a namespaced core path."""

    verb: str
    path: str
    namespace: str = ""
    resource: str = ""
    name: str = ""

    def describe(self) -> str:
        """``verb resource[ name]``, or ``verb path`` for anything that is not a namespaced core resource."""
        if not self.resource:
            return f"{self.verb} {self.path}"
        return f"{self.verb} {self.resource}" + (f" {self.name}" if self.name else "")


def request_attributes(method: str, path: str, query_string: str = "") -> Attributes:
    """``/api/v1/namespaces/NS/RESOURCE[/NAME]`` read as the API server does (GET of a collection is list,
    ``?watch=true`` watch); any other path only gets its verb."""
    parts = [p for p in path.split("/") if p]
    method = method.upper()
    namespaced = parts[:3] == ["api", "v1", "namespaces"] and len(parts) in (5, 6)
    if method in ("GET", "HEAD"):
        verb = "list" if namespaced and len(parts) == 5 else "get"
        if namespaced and parse_qs(query_string).get("watch", [""])[0] in ("true", "1"):
            verb = "watch"
    else:
        verb = _VERBS.get(method, method.lower())
    if not namespaced:
        return Attributes(verb=verb, path=path)
    return Attributes(
        verb=verb, path=path, namespace=parts[3], resource=parts[4], name=parts[5] if len(parts) == 6 else ""
    )


def forbidden_message(user: str, attrs: Attributes) -> str:
    """The API server's 403 message for a denied request (``tests/cluster/test_cluster_standin_parity.py`` compares
    it with the real one for ConfigMaps)."""
    if not attrs.resource:
        return f'forbidden: User "{user}" cannot {attrs.verb} path "{attrs.path}"'
    subject = attrs.resource + (f' "{attrs.name}"' if attrs.name else "")
    return (
        f'{subject} is forbidden: User "{user}" cannot {attrs.verb} resource "{attrs.resource}" in API group "" '
        f'in the namespace "{attrs.namespace}"'
    )


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

    def describe(self) -> str:
        """E.g. ``update configmaps aws-auth -> 409``."""
        return f"{self.attributes.describe()} -> {self.status}"


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message

    def status(self) -> dict[str, Any]:
        found = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": self.message}
        return {**found, **({"reason": self.reason} if self.reason else {}), "code": self.code}


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Store:
    """ConfigMaps of one API server, with resource versions."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.rv = 100

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        found = self.objects.get((resource, namespace, name))
        return copy.deepcopy(found) if found else None

    def list(self, resource: str, namespace: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(o) for (r, ns, _), o in sorted(self.objects.items()) if r == resource and ns == namespace]

    def put(self, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj["metadata"]
        self.rv += 1
        meta["resourceVersion"] = str(self.rv)
        self.objects[(resource, meta["namespace"], meta["name"])] = obj
        return copy.deepcopy(obj)


class KubeApiServer:
    """The stand-in API server. Use as a context manager; ``url`` and ``ca_data`` locate it."""

    def __init__(
        self,
        *,
        cluster_name: str,
        principals: Mapping[str, Principal] | None = None,
        tokens: Mapping[str, Identity] | None = None,
    ) -> None:
        """``principals`` are the access keys STS knows (id -> secret and caller ARN);
        ``tokens`` are static bearer tokens (e.g. the deployer's, in ``system:masters``)."""
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
        self._httpd: ThreadingHTTPServer | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> KubeApiServer:
        self._httpd = serve_https(type("Handler", (_Handler,), {"api": self}), self._cert)
        return self

    def __exit__(self, *exc: object) -> None:
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

    # -- request handling ------------------------------------------------------------------

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

    def serve(self, handler: _Handler) -> None:
        parts = urlsplit(handler.path)
        attrs = request_attributes(handler.command, parts.path, parts.query)
        record = Request(
            handler.command, parts.path, parse_qs(parts.query), handler.headers.get("Content-Type", ""), attrs
        )
        self.requests.append(record)
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        try:
            identity = self.authenticate(handler.headers.get("Authorization", ""))
            record.user = identity.username
            if SUPERUSER_GROUP not in identity.groups:
                raise ApiError(403, "Forbidden", forbidden_message(identity.username, attrs))
            if attrs.resource != "configmaps":
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            code, obj = self._configmaps(record, body)
        except ApiError as error:
            record.status = error.code
            handler.send_json(error.code, error.status())
            return
        record.status = code
        handler.send_json(code, obj)

    def _configmaps(self, record: Request, body: bytes) -> tuple[int, Any]:
        """get, list, create and update, with resourceVersion preconditions."""
        attrs = record.attributes
        namespace, name = attrs.namespace, attrs.name
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
            if (attrs.verb == "create") == bool(name):  # a create names no object, an update one
                raise ApiError(
                    405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
                )
            try:
                sent = json.loads(body)
            except ValueError as error:
                raise ApiError(400, "BadRequest", f"the body is not JSON: {error}") from None
            if not isinstance(sent, dict):
                raise ApiError(400, "BadRequest", "the body is not a JSON object")
            meta = sent.get("metadata") or {}
            name = name or meta.get("name", "")
            if meta.get("namespace", namespace) != namespace:
                raise ApiError(
                    400,
                    "BadRequest",
                    "the namespace of the provided object does not match the namespace sent on the request",
                )
            if meta.get("name", name) != name:
                raise ApiError(
                    400,
                    "BadRequest",
                    f"the name of the object ({meta['name']}) does not match the name on the URL ({name})",
                )
            # Like the real decoder: a missing apiVersion or kind defaults to the endpoint's; another is refused
            # (the real message goes on with what decoding the body as a ConfigMap met).
            if sent.get("apiVersion", "v1") != "v1" or sent.get("kind", "ConfigMap") != "ConfigMap":
                raise ApiError(
                    400,
                    "BadRequest",
                    f'{sent.get("kind")} in version "{sent.get("apiVersion")}" cannot be handled as a ConfigMap',
                )
            current = self.store.get("configmaps", namespace, name)
            if self.refuse_configmap_writes > 0:
                self.refuse_configmap_writes -= 1
                raise ApiError(409, "Conflict", _conflict(name))
            if attrs.verb == "create":
                if meta.get("resourceVersion"):
                    # The real server answers this with a 500 that has no reason, before it looks for the object.
                    raise ApiError(500, "", "resourceVersion should not be set on objects to be created")
                if current is not None:
                    raise ApiError(409, "AlreadyExists", f'configmaps "{name}" already exists')
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
            unchanged = {k: v for k, v in current["metadata"].items() if k != "resourceVersion"} == obj["metadata"]
            if unchanged and current.get("data") == obj["data"]:
                return 200, current  # as the real server: nothing to write, the resourceVersion stays
            return 200, self.store.put("configmaps", obj)


def _configmap(
    namespace: str, name: str, data: dict[str, str], meta: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    metadata = {  # an empty map or list is no field at all, as the real server stores it
        k: v for k, v in (meta or {}).items() if k in ("labels", "annotations", "ownerReferences", "finalizers") and v
    }
    metadata.update(name=name, namespace=namespace, uid=str(uuid.uuid4()), creationTimestamp=_now())
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": dict(data)}


def _conflict(name: str) -> str:
    return (
        f'Operation cannot be fulfilled on configmaps "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )


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
