"""Discovery and OpenAPI documents the test API server serves."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from tests.apiserver.schema import DEPLOYMENT, KUBERNETES_VERSION, REPLICA_SET, closure


def _resource(
    name: str, kind: str, verbs: list[str], *, namespaced: bool = True, short: list[str] | None = None
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": name,
        "singularName": kind.lower(),
        "namespaced": namespaced,
        "kind": kind,
        "verbs": verbs,
    }
    if short:
        entry["shortNames"] = short
    return entry


_RW = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
_SUB = ["get", "patch", "update"]

VERSION = {
    "major": "1",
    "minor": KUBERNETES_VERSION.split(".")[1],
    "gitVersion": f"v{KUBERNETES_VERSION}.0",
    "platform": "linux/amd64",
}
API_VERSIONS = {"kind": "APIVersions", "apiVersion": "v1", "versions": ["v1"], "serverAddressByClientCIDRs": []}
API_GROUPS = {
    "kind": "APIGroupList",
    "apiVersion": "v1",
    "groups": [
        {
            "name": "apps",
            "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
            "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"},
        }
    ],
}
CORE_V1 = {
    "kind": "APIResourceList",
    "apiVersion": "v1",
    "groupVersion": "v1",
    "resources": [
        _resource(
            "namespaces",
            "Namespace",
            ["create", "delete", "get", "list", "patch", "update", "watch"],
            namespaced=False,
            short=["ns"],
        ),
        _resource("pods", "Pod", _RW, short=["po"]),
        _resource("secrets", "Secret", _RW),
        _resource("configmaps", "ConfigMap", _RW, short=["cm"]),
    ],
}
APPS_V1 = {
    "kind": "APIResourceList",
    "apiVersion": "v1",
    "groupVersion": "apps/v1",
    "resources": [
        _resource("deployments", "Deployment", _RW, short=["deploy"]) | {"categories": ["all"]},
        {
            "name": "deployments/scale",
            "singularName": "",
            "namespaced": True,
            "group": "autoscaling",
            "version": "v1",
            "kind": "Scale",
            "verbs": _SUB,
        },
        {"name": "deployments/status", "singularName": "", "namespaced": True, "kind": "Deployment", "verbs": _SUB},
        _resource("replicasets", "ReplicaSet", _RW, short=["rs"]) | {"categories": ["all"]},
        {"name": "replicasets/status", "singularName": "", "namespaced": True, "kind": "ReplicaSet", "verbs": _SUB},
    ],
}
DISCOVERY = {
    "/api": API_VERSIONS,
    "/apis": API_GROUPS,
    "/api/v1": CORE_V1,
    "/apis/apps/v1": APPS_V1,
    "/version": VERSION,
}

#: Query parameters of the write operations, as the real spec declares them.
_WRITE_PARAMS = ["dryRun", "fieldManager", "fieldValidation"]


def _operation(kind: str, action: str, schema: str, params: list[str]) -> dict[str, Any]:
    return {
        "operationId": f"{action}AppsV1Namespaced{kind}",
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": "apps", "version": "v1", "kind": kind},
        "parameters": [{"name": p, "in": "query", "schema": {"type": "string"}, "uniqueItems": True} for p in params],
        "responses": {
            "200": {
                "description": "OK",
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
            }
        },
    }


def _apps_v1_spec() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for plural, kind, schema in (("deployments", "Deployment", DEPLOYMENT), ("replicasets", "ReplicaSet", REPLICA_SET)):
        base = f"/apis/apps/v1/namespaces/{{namespace}}/{plural}"
        paths[base] = {
            "get": _operation(kind, "list", f"{schema}List", ["fieldSelector", "labelSelector", "watch"]),
            "post": _operation(kind, "post", schema, _WRITE_PARAMS),
        }
        paths[base + "/{name}"] = {
            "get": _operation(kind, "get", schema, []),
            "put": _operation(kind, "put", schema, _WRITE_PARAMS),
            "patch": _operation(kind, "patch", schema, [*_WRITE_PARAMS, "force"]),
            "delete": _operation(kind, "delete", "io.k8s.apimachinery.pkg.apis.meta.v1.Status", ["dryRun"]),
        }
    schemas = closure(
        DEPLOYMENT,
        f"{DEPLOYMENT}List",
        REPLICA_SET,
        f"{REPLICA_SET}List",
        "io.k8s.apimachinery.pkg.apis.meta.v1.Status",
    )
    text = json.dumps(schemas).replace('"#/$defs/', '"#/components/schemas/')
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": f"v{KUBERNETES_VERSION}.0"},
        "paths": paths,
        "components": {"schemas": json.loads(text)},
    }


APPS_V1_OPENAPI = json.dumps(_apps_v1_spec()).encode()
_HASH = hashlib.sha512(APPS_V1_OPENAPI).hexdigest()[:32].upper()
OPENAPI_V3_ROOT = {"paths": {"apis/apps/v1": {"serverRelativeURL": f"/openapi/v3/apis/apps/v1?hash={_HASH}"}}}
