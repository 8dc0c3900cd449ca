"""EKS's managed access policies: what each grants in Kubernetes, as AWS documents it. Pure data, no Pulumi.

An access policy associated with an access entry grants Kubernetes permissions through the AWS API alone (EKS's
authorizer applies it; no Role, no RoleBinding, no request to the Kubernetes API), which is the route for a
cluster whose API the deployer cannot reach. The policies cannot be changed and are broad: each one's ``rules``
and flags below let users, the docs and the ``verify`` command see what an association really grants.

Source of every rule: AWS's "Review access policy permissions"
(https://docs.aws.amazon.com/eks/latest/userguide/access-policy-permissions.html), whose text is
``latest/ug/manage-access/k8s-access/access-policy-reference.adoc`` of awsdocs/amazon-eks-user-guide at commit
145543a96a20b66b1e946cd818943e5aa7713f6c, read and transcribed on 2026-12-07, row by row in the page's order (the
core API group, an empty cell there, is ``""``). AWS may change a policy; this table does not follow by itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from .rbac import RoleRule

#: The ARN of EKS's managed access policy ``NAME`` (the ``aws`` partition: ``arn:aws:eks::aws:cluster-access-policy/``).
ARN_PREFIX = "arn:aws:eks::aws:cluster-access-policy/"

_MUTATE = ["create", "delete", "deletecollection", "patch", "update"]
_READ = ["get", "list", "watch"]


@dataclass(frozen=True)
class ManagedPolicy:
    """One managed access policy: its rules as AWS lists them, and what they grant that matters most."""

    name: str
    arn: str
    #: The policy's rules (namespaced and cluster-wide resources alike), as RBAC rules.
    rules: list[RoleRule]
    #: Reads Secrets (``get``/``list``/``watch`` on ``secrets``).
    reads_secrets: bool
    #: May run commands in pods (``create`` on ``pods/exec``).
    exec: bool
    #: May impersonate (``impersonate`` on ``serviceaccounts``, or on everything): act as any service account of
    #: its scope, with that account's own permissions.
    impersonation: bool
    #: AWS says its scope is "typically the cluster, rather than a Kubernetes namespace" (ClusterAdmin), or it
    #: grants "list/view all resources in a cluster" (AdminView): meant for a cluster scope. EKS does not refuse a
    #: namespace scope for either.
    cluster_only: bool
    #: Non-resource URLs it grants every verb on (``/healthz``, ``/metrics``...): only a cluster scope can give them.
    non_resource_urls: tuple[str, ...] = ()
    #: What AWS says it is for, in a line.
    summary: str = ""

    def __post_init__(self) -> None:
        if self.arn != ARN_PREFIX + self.name:
            raise ValueError(f"{self.name}: ARN {self.arn!r} is not {ARN_PREFIX + self.name!r}")


def _rule(groups: list[str], resources: list[str], verbs: list[str]) -> RoleRule:
    return {"api_groups": groups, "resources": resources, "verbs": verbs}


#: AmazonEKSViewPolicy's rules (the page's table, in its order).
_VIEW: list[RoleRule] = [
    _rule(["apps"], ["controllerrevisions", "daemonsets", "daemonsets/status", "deployments", "deployments/scale",
                     "deployments/status", "replicasets", "replicasets/scale", "replicasets/status", "statefulsets",
                     "statefulsets/scale", "statefulsets/status"], _READ),
    _rule(["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"], _READ),
    _rule(["batch"], ["cronjobs", "cronjobs/status", "jobs", "jobs/status"], _READ),
    _rule(["discovery.k8s.io"], ["endpointslices"], _READ),
    _rule(["extensions"], ["daemonsets", "daemonsets/status", "deployments", "deployments/scale",
                           "deployments/status", "ingresses", "ingresses/status", "networkpolicies", "replicasets",
                           "replicasets/scale", "replicasets/status", "replicationcontrollers/scale"], _READ),
    _rule(["networking.k8s.io"], ["ingresses", "ingresses/status", "networkpolicies"], _READ),
    _rule(["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"], _READ),
    _rule([""], ["configmaps", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "pods",
                 "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services",
                 "services/status"], _READ),
    _rule([""], ["bindings", "events", "limitranges", "namespaces/status", "pods/log", "pods/status",
                 "replicationcontrollers/status", "resourcequotas", "resourcequotas/status"], _READ),
    _rule([""], ["namespaces"], _READ),
]  # fmt: skip

#: AmazonEKSEditPolicy's rules (the page's table, in its order).
_EDIT: list[RoleRule] = [
    _rule(["apps"], ["daemonsets", "deployments", "deployments/rollback", "deployments/scale", "replicasets",
                     "replicasets/scale", "statefulsets", "statefulsets/scale"], _MUTATE),
    _rule(["apps"], ["controllerrevisions", "daemonsets", "daemonsets/status", "deployments", "deployments/scale",
                     "deployments/status", "replicasets", "replicasets/scale", "replicasets/status", "statefulsets",
                     "statefulsets/scale", "statefulsets/status"], _READ),
    _rule(["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"], _READ),
    _rule(["autoscaling"], ["horizontalpodautoscalers"], _MUTATE),
    _rule(["batch"], ["cronjobs", "jobs"], _MUTATE),
    _rule(["batch"], ["cronjobs", "cronjobs/status", "jobs", "jobs/status"], _READ),
    _rule(["discovery.k8s.io"], ["endpointslices"], _READ),
    _rule(["extensions"], ["daemonsets", "deployments", "deployments/rollback", "deployments/scale", "ingresses",
                           "networkpolicies", "replicasets", "replicasets/scale", "replicationcontrollers/scale"],
          _MUTATE),
    _rule(["extensions"], ["daemonsets", "daemonsets/status", "deployments", "deployments/scale",
                           "deployments/status", "ingresses", "ingresses/status", "networkpolicies", "replicasets",
                           "replicasets/scale", "replicasets/status", "replicationcontrollers/scale"], _READ),
    _rule(["networking.k8s.io"], ["ingresses", "networkpolicies"], _MUTATE),
    _rule(["networking.k8s.io"], ["ingresses", "ingresses/status", "networkpolicies"], _READ),
    _rule(["policy"], ["poddisruptionbudgets"], _MUTATE),
    _rule(["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"], _READ),
    _rule([""], ["namespaces"], _READ),
    _rule([""], ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "services/proxy"], _READ),
    _rule([""], ["serviceaccounts"], ["impersonate"]),
    _rule([""], ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"], _MUTATE),
    _rule([""], ["configmaps", "events", "persistentvolumeclaims", "replicationcontrollers",
                 "replicationcontrollers/scale", "secrets", "serviceaccounts", "services", "services/proxy"], _MUTATE),
    _rule([""], ["configmaps", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "pods",
                 "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services",
                 "services/status"], _READ),
    _rule([""], ["bindings", "events", "limitranges", "namespaces/status", "pods/log", "pods/status",
                 "replicationcontrollers/status", "resourcequotas", "resourcequotas/status"], _READ),
]  # fmt: skip

#: AmazonEKSAdminPolicy's rules (the page's table, in its order): Edit's, plus Roles and RoleBindings and
#: ``localsubjectaccessreviews``.
_ADMIN: list[RoleRule] = [
    _rule(["apps"], ["daemonsets", "deployments", "deployments/rollback", "deployments/scale", "replicasets",
                     "replicasets/scale", "statefulsets", "statefulsets/scale"], _MUTATE),
    _rule(["apps"], ["controllerrevisions", "daemonsets", "daemonsets/status", "deployments", "deployments/scale",
                     "deployments/status", "replicasets", "replicasets/scale", "replicasets/status", "statefulsets",
                     "statefulsets/scale", "statefulsets/status"], _READ),
    _rule(["authorization.k8s.io"], ["localsubjectaccessreviews"], ["create"]),
    _rule(["autoscaling"], ["horizontalpodautoscalers"], _MUTATE),
    _rule(["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"], _READ),
    _rule(["batch"], ["cronjobs", "jobs"], _MUTATE),
    _rule(["batch"], ["cronjobs", "cronjobs/status", "jobs", "jobs/status"], _READ),
    _rule(["discovery.k8s.io"], ["endpointslices"], _READ),
    _rule(["extensions"], ["daemonsets", "deployments", "deployments/rollback", "deployments/scale", "ingresses",
                           "networkpolicies", "replicasets", "replicasets/scale", "replicationcontrollers/scale"],
          _MUTATE),
    _rule(["extensions"], ["daemonsets", "daemonsets/status", "deployments", "deployments/scale",
                           "deployments/status", "ingresses", "ingresses/status", "networkpolicies", "replicasets",
                           "replicasets/scale", "replicasets/status", "replicationcontrollers/scale"], _READ),
    _rule(["networking.k8s.io"], ["ingresses", "ingresses/status", "networkpolicies"], _READ),
    _rule(["networking.k8s.io"], ["ingresses", "networkpolicies"], _MUTATE),
    _rule(["policy"], ["poddisruptionbudgets"], _MUTATE),
    _rule(["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"], _READ),
    _rule(["rbac.authorization.k8s.io"], ["rolebindings", "roles"],
          ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]),
    _rule([""], ["configmaps", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "pods",
                 "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services",
                 "services/status"], _READ),
    _rule([""], ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "services/proxy"], _READ),
    _rule([""], ["configmaps", "events", "persistentvolumeclaims", "replicationcontrollers",
                 "replicationcontrollers/scale", "secrets", "serviceaccounts", "services", "services/proxy"], _MUTATE),
    _rule([""], ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"], _MUTATE),
    _rule([""], ["serviceaccounts"], ["impersonate"]),
    _rule([""], ["bindings", "events", "limitranges", "namespaces/status", "pods/log", "pods/status",
                 "replicationcontrollers/status", "resourcequotas", "resourcequotas/status"], _READ),
    _rule([""], ["namespaces"], _READ),
]  # fmt: skip


def _policy(
    name: str,
    rules: list[RoleRule],
    *,
    reads_secrets: bool,
    exec: bool,
    impersonation: bool,
    cluster_only: bool,
    summary: str,
    non_resource_urls: tuple[str, ...] = (),
) -> ManagedPolicy:
    return ManagedPolicy(
        name=name, arn=ARN_PREFIX + name, rules=rules, reads_secrets=reads_secrets, exec=exec,
        impersonation=impersonation, cluster_only=cluster_only, non_resource_urls=non_resource_urls, summary=summary,
    )  # fmt: skip


#: The managed access policies a CI principal may be given, by name. ``verify`` reads ``MANAGED_POLICIES[name].rules``.
MANAGED_POLICIES: dict[str, ManagedPolicy] = {
    policy.name: policy
    for policy in (
        _policy(
            "AmazonEKSViewPolicy", _VIEW, reads_secrets=False, exec=False, impersonation=False, cluster_only=False,
            summary="view most Kubernetes resources; no Secrets",
        ),
        _policy(
            "AmazonEKSEditPolicy", _EDIT, reads_secrets=True, exec=True, impersonation=True, cluster_only=False,
            summary="edit most Kubernetes resources, Secrets, pods/exec and impersonating service accounts included",
        ),
        _policy(
            "AmazonEKSAdminPolicy", _ADMIN, reads_secrets=True, exec=True, impersonation=True, cluster_only=False,
            summary="most permissions, Roles and RoleBindings included; typically scoped to namespaces",
        ),
        _policy(
            "AmazonEKSAdminViewPolicy", [_rule(["*"], ["*"], _READ)], reads_secrets=True, exec=False,
            impersonation=False, cluster_only=True,
            summary="list and view all resources in a cluster, Secrets included",
        ),
        _policy(
            "AmazonEKSClusterAdminPolicy", [_rule(["*"], ["*"], ["*"])], reads_secrets=True, exec=True,
            impersonation=True, cluster_only=True, non_resource_urls=("*",),
            summary="administrator of the whole cluster; typically cluster-scoped",
        ),
    )
}  # fmt: skip


@dataclass(frozen=True)
class PolicyAssociation:
    """One association asked for, validated: the policy's name, ``"namespace"`` or ``"cluster"``, and the
    namespaces of a namespace scope (``None``: the component's own)."""

    policy: str
    scope: str
    namespaces: tuple[str, ...] | None

    @property
    def arn(self) -> str:
        return MANAGED_POLICIES[self.policy].arn


def grants(rules: list[RoleRule], group: str, resource: str, verb: str) -> bool:
    """Whether ``rules`` allow ``verb`` on ``resource`` of API group ``group`` (RBAC's matching: ``*`` matches
    anything; no resource names)."""
    return any(
        (group in rule["api_groups"] or "*" in rule["api_groups"])
        and (resource in rule["resources"] or "*" in rule["resources"])
        and (verb in rule["verbs"] or "*" in rule["verbs"])
        and not rule.get("resource_names")
        for rule in rules
    )
