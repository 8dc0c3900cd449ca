"""Kubernetes RBAC authorization, as the API server does it, for the test API server.

``request_attributes`` turns an HTTP request into the attributes the
authorizer sees (the API server's ``RequestInfoFactory``); ``Authorizer``
evaluates namespaced Roles and RoleBindings (the objects the component
registered, in their wire spelling) against them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

#: Paths every authenticated user may read: the ``system:discovery`` and
#: ``system:public-info-viewer`` ClusterRoles' ``nonResourceURLs``.
DISCOVERY_URLS = ("/api", "/api/*", "/apis", "/apis/*", "/openapi", "/openapi/*", "/version", "/version/")

_VERBS_BY_METHOD = {"POST": "create", "PUT": "update", "PATCH": "patch"}


@dataclass(frozen=True)
class Attributes:
    """What the authorizer decides on (``authorizer.Attributes``)."""

    verb: str
    path: str
    resource_request: bool
    api_group: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""

    def describe(self) -> str:
        """``verb resource[/subresource][/name]``, or ``verb path`` for a non-resource request."""
        if not self.resource_request:
            return f"{self.verb} {self.path}"
        target = self.resource + (f"/{self.subresource}" if self.subresource else "")
        return f"{self.verb} {target}" + (f" {self.name}" if self.name else "")


def _name_from_field_selector(query: Mapping[str, list[str]]) -> str:
    """The object name a list/watch is restricted to by ``fieldSelector=metadata.name=X``, else ``""``."""
    for selector in query.get("fieldSelector", []):
        for term in selector.split(","):
            for op in ("==", "="):
                key, sep, value = term.partition(op)
                if sep and "!" not in key:
                    if key.strip() == "metadata.name":
                        return value.strip()
                    break
    return ""


def request_attributes(method: str, path: str, query_string: str) -> Attributes:
    """Parse a request the way the API server's ``RequestInfoFactory`` does."""
    query = parse_qs(query_string)
    parts = [p for p in path.split("/") if p]
    lowered = method.upper()
    nonresource_verb = {"GET": "get", "HEAD": "head", "POST": "post", "PUT": "put", "PATCH": "patch"}.get(
        lowered, lowered.lower()
    )
    if not parts or parts[0] not in ("api", "apis"):
        return Attributes(verb=nonresource_verb, path=path, resource_request=False)
    group_parts = 2 if parts[0] == "api" else 3
    if len(parts) <= group_parts:
        # /api, /api/v1, /apis, /apis/apps, /apis/apps/v1: discovery.
        return Attributes(verb=nonresource_verb, path=path, resource_request=False)
    api_group = "" if parts[0] == "api" else parts[1]
    rest = parts[group_parts:]
    verb = ""
    if rest[0] == "watch":
        verb = "watch"
        rest = rest[1:]
    namespace = ""
    if rest and rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        # /namespaces/NAME is the namespace object itself; deeper paths are inside it.
        rest = rest[2:] if len(rest) > 2 else ["namespaces", rest[1]]
    resource = rest[0] if rest else ""
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    if not verb:
        if lowered in ("GET", "HEAD"):
            verb = "get" if name else "list"
            if query.get("watch", [""])[0] in ("true", "1"):
                verb = "watch"
        elif lowered == "DELETE":
            verb = "delete" if name else "deletecollection"
        else:
            verb = _VERBS_BY_METHOD.get(lowered, lowered.lower())
    if verb in ("list", "watch") and not name:
        name = _name_from_field_selector(query)
    return Attributes(
        verb=verb,
        path=path,
        resource_request=True,
        api_group=api_group,
        namespace=namespace,
        resource=resource,
        subresource=subresource,
        name=name,
    )


def _matches(values: Sequence[str], wanted: str) -> bool:
    return "*" in values or wanted in values


def rule_allows(rule: Mapping[str, Any], attrs: Attributes) -> bool:
    """One PolicyRule against resource-request attributes (``rbac.RuleAllows``)."""
    if not _matches(rule.get("verbs", []), attrs.verb):
        return False
    if not _matches(rule.get("apiGroups", []), attrs.api_group):
        return False
    resources = rule.get("resources", [])
    combined = attrs.resource + (f"/{attrs.subresource}" if attrs.subresource else "")
    if not ("*" in resources or combined in resources or (attrs.subresource and f"*/{attrs.subresource}" in resources)):
        return False
    names = rule.get("resourceNames") or []
    return not names or attrs.name in names


def _nonresource_allowed(path: str) -> bool:
    return any(path == url or (url.endswith("*") and path.startswith(url[:-1])) for url in DISCOVERY_URLS)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str


class Authorizer:
    """Namespaced RBAC: a request is allowed when a RoleBinding in its namespace binds
    the user (or one of its groups) to a Role with a rule that allows it.

    Discovery and ``/openapi`` are allowed to every authenticated user, as
    the default ``system:discovery`` binding does; nothing else is granted.
    """

    def __init__(self, roles: Iterable[Mapping[str, Any]], role_bindings: Iterable[Mapping[str, Any]]) -> None:
        self._roles = {(r["metadata"]["namespace"], r["metadata"]["name"]): r.get("rules") or [] for r in roles}
        self._bindings = [b for b in role_bindings]

    def authorize(self, user: str, groups: Sequence[str], attrs: Attributes) -> Decision:
        if not attrs.resource_request:
            if attrs.verb == "get" and _nonresource_allowed(attrs.path):
                return Decision(True, "system:discovery")
            return Decision(False, f"no rule allows {attrs.verb} {attrs.path}")
        for binding in self._bindings:
            namespace = binding["metadata"]["namespace"]
            if namespace != attrs.namespace:
                continue
            if not any(_subject_matches(s, user, groups) for s in binding.get("subjects") or []):
                continue
            ref = binding["roleRef"]
            if ref.get("kind") != "Role":
                continue
            for rule in self._roles.get((namespace, ref["name"]), []):
                if rule_allows(rule, attrs):
                    return Decision(
                        True, f"RoleBinding {namespace}/{binding['metadata']['name']} -> Role {ref['name']}"
                    )
        return Decision(False, "no RoleBinding grants it")


def _subject_matches(subject: Mapping[str, Any], user: str, groups: Sequence[str]) -> bool:
    kind = subject.get("kind")
    if kind == "User":
        return bool(subject.get("name") == user)
    if kind == "Group":
        return subject.get("name") in groups
    return False


def forbidden_message(user: str, attrs: Attributes) -> str:
    """The API server's 403 message for a denied request."""
    if not attrs.resource_request:
        return f'forbidden: User "{user}" cannot {attrs.verb} path "{attrs.path}"'
    group = f'"{attrs.api_group}"' if attrs.api_group else '""'
    resource = attrs.resource + (f"/{attrs.subresource}" if attrs.subresource else "")
    subject = f"{attrs.resource}.{attrs.api_group}" if attrs.api_group else attrs.resource
    subject += f' "{attrs.name}"' if attrs.name else ""
    where = f' in the namespace "{attrs.namespace}"' if attrs.namespace else " at the cluster scope"
    return (
        f'{subject} is forbidden: User "{user}" cannot {attrs.verb} resource "{resource}" in API group {group}{where}'
    )
