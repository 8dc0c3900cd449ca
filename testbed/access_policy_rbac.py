"""EKS's enforcement of access policies, emulated as RBAC: test infrastructure of ours, a stand-in.

On EKS, an access policy associated with an access entry is enforced by EKS's own authorizer (a webhook authorizer
the API server asks before RBAC), which is not open source. Here the emulation's sync (``sync_access_to`` in
``testbed/engine_stack.py``, on every change the access-entry API hears of) writes the equivalent RBAC instead, so
that the real kube-apiserver's RBAC authorizer decides what the principal may do:

- a ClusterRole ``eks-access-policy:<Name>`` per managed policy associated with some entry, with the policy's
  rules as AWS documents them (``eks_cicd_access.access_policies.MANAGED_POLICIES``; ClusterAdmin's
  non-resource URLs too);
- per association, a RoleBinding of that ClusterRole in each namespace of a ``namespace`` scope, or one
  ClusterRoleBinding for a ``cluster`` scope, to the entry's Kubernetes username (``kind: User``), named
  ``eks-access-policy:<Name>:<hash of the username>`` (a username may hold ``/``);
- every object labelled :data:`LABEL` (``true``; the binding annotated with the username and the entry's
  principal ARN); anything so labelled that is no longer wanted is deleted (a disassociation, a deleted entry).

What it does not do: the policies our table lacks (``AmazonEKSAutoNodePolicy`` and EKS's other service policies)
are stored by the emulation, but grant nothing here; a username with ``{{SessionName}}`` or another template (the
authenticator fills it in per session) is bound as written, so it matches no session; a namespace that does not
exist gets no RoleBinding until the next change after it is made (EKS applies a policy to a namespace made later).
EKS's authorizer also answers before RBAC and cannot be overridden by a Role; here the two simply add up, as they
do on EKS for allows (neither denies).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from eks_cicd_access.access_policies import ARN_PREFIX, MANAGED_POLICIES

#: The label on every object this emulation writes; it owns exactly the objects that carry it.
LABEL = "eks-cicd-access.example/emulated-access-policy"
USERNAME_ANNOTATION = "eks-cicd-access.example/username"
PRINCIPAL_ANNOTATION = "eks-cicd-access.example/principal-arn"
RBAC = "rbac.authorization.k8s.io"


def cluster_role_name(policy: str) -> str:
    """The ClusterRole standing in for managed policy ``policy`` (its name, not its ARN)."""
    return f"eks-access-policy:{policy}"


def binding_name(policy: str, username: str) -> str:
    """The (Cluster)RoleBinding of ``policy`` to ``username``."""
    return f"eks-access-policy:{policy}:{hashlib.sha256(username.encode()).hexdigest()[:12]}"


def _meta(name: str, namespace: str | None = None, **annotations: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": {LABEL: "true"}}
    if namespace is not None:
        meta["namespace"] = namespace
    if annotations:
        meta["annotations"] = annotations
    return meta


def cluster_role(policy: str) -> dict[str, Any]:
    """The ClusterRole with ``policy``'s rules (camelCase, as the API takes them)."""
    managed = MANAGED_POLICIES[policy]
    rules: list[dict[str, Any]] = [
        {"apiGroups": list(r["api_groups"]), "resources": list(r["resources"]), "verbs": list(r["verbs"])}
        for r in managed.rules
    ]
    if managed.non_resource_urls:
        rules.append({"nonResourceURLs": list(managed.non_resource_urls), "verbs": ["*"]})
    return {"apiVersion": f"{RBAC}/v1", "kind": "ClusterRole", "metadata": _meta(cluster_role_name(policy)),
            "rules": rules}  # fmt: skip


def bindings(policy: str, username: str, principal_arn: str, scope: dict[str, Any]) -> list[dict[str, Any]]:
    """The bindings of one association: a RoleBinding per namespace of a namespace scope, else a
    ClusterRoleBinding."""
    name = binding_name(policy, username)
    notes = {USERNAME_ANNOTATION: username, PRINCIPAL_ANNOTATION: principal_arn}
    common = {
        "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": cluster_role_name(policy)},
        "subjects": [{"apiGroup": RBAC, "kind": "User", "name": username}],
    }
    if scope.get("type") == "cluster":
        return [{"apiVersion": f"{RBAC}/v1", "kind": "ClusterRoleBinding", "metadata": _meta(name, **notes), **common}]
    return [
        {"apiVersion": f"{RBAC}/v1", "kind": "RoleBinding", "metadata": _meta(name, namespace, **notes), **common}
        for namespace in scope.get("namespaces") or []
    ]


def desired_objects(entries: Iterable[Any]) -> list[dict[str, Any]]:
    """Every object the associations of ``entries`` (``testbed.eks_access.Entry``: ``username``,
    ``principal_arn``, ``policies`` by ARN) stand for: ClusterRoles first, then bindings."""
    roles: dict[str, dict[str, Any]] = {}
    found: list[dict[str, Any]] = []
    for entry in entries:
        for arn, held in sorted(entry.policies.items()):
            policy = arn.removeprefix(ARN_PREFIX)
            if policy not in MANAGED_POLICIES:
                continue  # stored, not enforced (see the module docstring)
            roles.setdefault(policy, cluster_role(policy))
            found += bindings(policy, entry.username, entry.principal_arn, held["accessScope"])
    return [*roles.values(), *found]
