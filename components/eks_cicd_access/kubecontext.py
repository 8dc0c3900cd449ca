"""One context of the operator's kubeconfig files, as a standalone kubeconfig.

``kubectl config view --minify --flatten --context NAME`` does the same: the
files named by ``KUBECONFIG`` (or ``~/.kube/config``) are merged the way
kubectl merges them (the first file to define a name wins), the context's
cluster and user are picked, and file references (``certificate-authority``,
``client-certificate``, ``client-key``, ``tokenFile``) are read into the
document, so it works wherever it is used later (``pulumi destroy`` from
another machine, the aws-auth writer's provider process).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

#: File-path fields and the inline field each is read into.
_FILE_FIELDS = {
    "certificate-authority": "certificate-authority-data",
    "client-certificate": "client-certificate-data",
    "client-key": "client-key-data",
}


def kubeconfig_paths(environ: Mapping[str, str] | None = None) -> list[Path]:
    """The files kubectl reads: ``KUBECONFIG`` (path-list), else ``~/.kube/config``."""
    env = os.environ if environ is None else environ
    listed = [p for p in env.get("KUBECONFIG", "").split(os.pathsep) if p]
    if listed:
        return [Path(p).expanduser() for p in listed]
    return [Path(env.get("HOME", str(Path.home()))) / ".kube" / "config"]


def context_kubeconfig(context: str, paths: list[Path] | None = None) -> str:
    """The kubeconfig (YAML) holding only ``context``, its cluster and its user, flattened.

    Raises ``ValueError`` naming ``kubeContext`` when the context, its cluster
    or its user cannot be found.
    """
    files = paths if paths is not None else kubeconfig_paths()
    named: dict[str, dict[str, tuple[dict[str, Any], Path]]] = {"clusters": {}, "users": {}, "contexts": {}}
    for path in files:
        if not path.is_file():
            continue
        document = yaml.safe_load(path.read_text()) or {}
        for section, items in named.items():
            for item in document.get(section) or []:
                if isinstance(item, dict) and "name" in item:
                    items.setdefault(str(item["name"]), (item, path.parent))
    where = ", ".join(str(p) for p in files) or "(no file)"
    if context not in named["contexts"]:
        known = ", ".join(sorted(named["contexts"])) or "none"
        raise ValueError(f"kubeContext: context {context!r} is not in {where} (contexts: {known})")
    ctx = named["contexts"][context][0].get("context") or {}
    picked: dict[str, dict[str, Any]] = {}
    for section, field in (("clusters", "cluster"), ("users", "user")):
        name = ctx.get(field)
        if name not in named[section]:
            raise ValueError(f"kubeContext: context {context!r} names {field} {name!r}, which is not in {where}")
        item, base = named[section][name]
        picked[section] = {"name": name, field: _flatten(dict(item.get(field) or {}), base)}
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [picked["clusters"]],
            "users": [picked["users"]],
            "contexts": [{"name": context, "context": dict(ctx)}],
            "current-context": context,
            "preferences": {},
        },
        sort_keys=False,
    )


def _flatten(fields: dict[str, Any], base: Path) -> dict[str, Any]:
    """Read file references (relative to the kubeconfig's directory) into the document."""
    for path_field, data_field in _FILE_FIELDS.items():
        if path_field in fields:
            data = (base / Path(fields.pop(path_field)).expanduser()).read_bytes()
            fields[data_field] = base64.b64encode(data).decode()
    if "tokenFile" in fields:
        fields["token"] = (base / Path(fields.pop("tokenFile")).expanduser()).read_text().strip()
    return fields
