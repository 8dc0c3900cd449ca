"""The workload CI deploys in every tier and the demo: a Deployment ``web`` whose image is ``IMAGE`` at a version."""

from __future__ import annotations

import json
from typing import Any

IMAGE = "registry.example.com/web:{}"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def manifest(version: int, namespace: str, *, last_applied: bool = False) -> dict[str, Any]:
    """The Deployment CI ships, at image ``version``."""
    obj: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": namespace, "labels": {"app": "web"}},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [{"name": "app", "image": IMAGE.format(version), "ports": [{"containerPort": 8080}]}]
                },
            },
        },
    }
    if last_applied:
        obj["metadata"]["annotations"] = {LAST_APPLIED: json.dumps(manifest(version, namespace))}
    return obj
