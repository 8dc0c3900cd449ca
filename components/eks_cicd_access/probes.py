"""What ``eks-cicd-verify`` asks the cluster: the checks, built from the rules CI is meant to have.

Pure: no I/O. Two kinds of check. ``allowed``: every verb, resource and name the expected rules grant, in the
namespace, which the API server must allow. ``denied``: ``PROBES``, a fixed list of what an attacker holding
CI's credentials would try first, plus every expected verb in another namespace; each must be refused unless
the expected rules (or an access policy) grant it. Whether a check *is* allowed is never decided here: the API
server's authorizer answers each one. ``expected`` only says what the answer should be.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .rbac import RoleRule

#: A probe's scope: the namespace being verified (``--namespace``).
IN_NAMESPACE = "<namespace>"
#: A probe's scope: the whole cluster (a cluster-scoped resource, or a namespaced one in every namespace).
CLUSTER = ""
#: Where the expected verbs are tried outside the namespace. It need not exist: RBAC answers for absent
#: namespaces too, so a ClusterRoleBinding that leaks CI's verbs everywhere shows here.
ELSEWHERE = "eks-cicd-verify-elsewhere"
#: An access policy's scope that covers the whole cluster.
CLUSTER_SCOPE = "cluster"

RBAC = "rbac.authorization.k8s.io"


@dataclass(frozen=True)
class Probe:
    """One request that must be refused unless granted on purpose."""

    verb: str
    resource: str
    """``resource`` or ``resource/subresource``."""
    why: str
    group: str = ""
    where: str = IN_NAMESPACE
    """``IN_NAMESPACE``, ``CLUSTER`` or a fixed namespace."""
    name: str = ""


def _each(verbs: Iterable[str], resource: str, why: str, group: str = "", where: str = IN_NAMESPACE) -> list[Probe]:
    return [Probe(verb, resource, why, group, where) for verb in verbs]


#: The fixed probes, each with why it matters. Each must be denied unless the expected rules grant it.
PROBES: tuple[Probe, ...] = (
    # Secrets hold other workloads' credentials and service-account tokens: reading one is borrowing its rights.
    *_each(("get", "list", "watch"), "secrets", "reads every credential stored in the namespace"),
    Probe("create", "secrets", "a service-account token Secret mints a long-lived token for any account"),
    # The workloads themselves: no preset reads Pods (Helm carries on without), and reading them is reading what
    # runs, with what configuration (View, an access policy or a stray `view` binding grants both).
    Probe("list", "pods", "reads every pod's spec: images, environment values, service accounts"),
    Probe("get", "pods/log", "reads the applications' logs, which often carry tokens and personal data"),
    # A shell in a running container: its mounted tokens, its environment, its network position.
    Probe("create", "pods/exec", "runs commands inside running containers, with their credentials"),
    Probe("create", "pods/portforward", "reaches in-cluster services past network policy and the load balancer"),
    # RBAC writes in the namespace: CI could grant itself (or anyone) more than it was given.
    *_each(("create", "patch"), "roles", "writes a Role: CI rewrites its own permissions", RBAC),
    Probe("escalate", "roles", "writes a Role granting what CI itself lacks", RBAC),
    Probe("bind", "roles", "binds a Role whose permissions CI itself lacks", RBAC),
    Probe("bind", "clusterroles", "binds a ClusterRole (admin, edit) in the namespace", RBAC),
    *_each(("create", "patch"), "rolebindings", "binds any Role or ClusterRole to any subject", RBAC),
    # A token for any service account in the namespace: its rights, with no audit trail back to CI.
    Probe("create", "serviceaccounts/token", "mints tokens for the namespace's service accounts"),
    # Impersonation is every identity at once: one header turns CI into system:masters.
    *(
        Probe("impersonate", resource, f"acts as any of the {resource}{scope}", where=where)
        for resource in ("users", "groups", "serviceaccounts")
        for where, scope in ((CLUSTER, ", cluster-wide"), (IN_NAMESPACE, " (granted in the namespace)"))
    ),
    # Cluster-scoped: CI is meant to see and change one namespace, nothing of the cluster.
    Probe("list", "namespaces", "maps the whole cluster's tenants", where=CLUSTER),
    Probe("create", "namespaces", "creates namespaces outside any team's control", where=CLUSTER),
    Probe("list", "nodes", "maps the nodes, their addresses and their workloads", where=CLUSTER),
    Probe("create", "clusterroles", "defines cluster-wide permissions", RBAC, CLUSTER),
    Probe("create", "clusterrolebindings", "grants anything, anywhere, to anyone", RBAC, CLUSTER),
    Probe(
        "create", "customresourcedefinitions", "adds API types cluster-wide (and webhooks' targets)",
        "apiextensions.k8s.io", CLUSTER,
    ),
    # kube-system/aws-auth maps IAM principals to Kubernetes users: writing it is mapping yourself to admin.
    *(
        Probe(verb, "configmaps", why, where="kube-system", name="aws-auth")
        for verb, why in (
            ("get", "reads who is mapped to what, node roles and admins among them"),
            ("update", "maps any IAM principal to system:masters"),
            ("patch", "maps any IAM principal to system:masters"),
        )
    ),
)  # fmt: skip


@dataclass(frozen=True)
class Grant:
    """Rules CI is expected to have, and where: a set of namespaces, or the whole cluster (``namespaces=None``)."""

    rules: tuple[RoleRule, ...]
    namespaces: frozenset[str] | None
    origin: str
    """What grants it: ``role`` or ``access policy NAME``."""


@dataclass(frozen=True)
class Check:
    """One question for the authorizer, and the answer expected."""

    kind: str
    """``allowed`` (from the expected rules) or ``denied`` (a probe, or a verb tried elsewhere)."""
    verb: str
    group: str
    resource: str
    subresource: str
    name: str
    namespace: str
    """``""``: cluster-scoped, or every namespace."""
    expected: bool
    """True: the API server should allow it."""
    why: str


def split(resource: str) -> tuple[str, str]:
    """``pods/exec`` -> (``pods``, ``exec``); ``pods`` -> (``pods``, ``""``)."""
    head, _, tail = resource.partition("/")
    return head, tail


def rule_covers(rule: RoleRule, verb: str, group: str, resource: str, subresource: str, name: str) -> bool:
    """Whether one rule names this request, by RBAC's matching rules (``*``, ``*/subresource``, resource names).

    Used for expectations and attribution only: whether the request is allowed is the API server's answer."""
    full = f"{resource}/{subresource}" if subresource else resource
    resources = rule["resources"]
    names = rule.get("resource_names") or []
    return (
        ("*" in rule["verbs"] or verb in rule["verbs"])
        and ("*" in rule["api_groups"] or group in rule["api_groups"])
        and ("*" in resources or full in resources or (bool(subresource) and f"*/{subresource}" in resources))
        and (not names or name in names)
    )


def expected(grants: Sequence[Grant], verb: str, group: str, resource: str, subresource: str, name: str,
             namespace: str) -> bool:  # fmt: skip
    """Whether some grant covers this request where it is made (a namespaced grant never covers ``""``)."""
    return any(
        (grant.namespaces is None or namespace in grant.namespaces)
        and any(rule_covers(rule, verb, group, resource, subresource, name) for rule in grant.rules)
        for grant in grants
    )


def _requests(rules: Iterable[RoleRule]) -> list[tuple[str, str, str, str]]:
    """(verb, group, resource, name) of every combination the rules list, in order, each once."""
    found: dict[tuple[str, str, str, str], None] = {}
    for rule in rules:
        for group in rule["api_groups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    for name in rule.get("resource_names") or [""]:
                        found[verb, group, resource, name] = None
    return list(found)


def build_checks(namespace: str, grants: Sequence[Grant], probes: Sequence[Probe] | None = None) -> list[Check]:
    """Every check for ``namespace``: each expected request there (``allowed``), then each probe and each expected
    request in ``ELSEWHERE`` (``denied`` unless a grant covers it). A probe the ``allowed`` checks already ask is
    left out. ``probes`` defaults to ``PROBES`` (read at call time)."""
    checks: list[Check] = []
    asked: set[tuple[str, str, str, str, str, str]] = set()

    def add(kind: str, verb: str, group: str, full: str, name: str, where: str, why: str) -> None:
        resource, subresource = split(full)
        key = (verb, group, resource, subresource, name, where)
        if key in asked:
            return
        asked.add(key)
        allowed = expected(grants, verb, group, resource, subresource, name, where)
        checks.append(Check(kind, verb, group, resource, subresource, name, where, allowed, why))

    in_namespace = [r for g in grants if g.namespaces is None or namespace in g.namespaces for r in g.rules]
    mine = _requests(in_namespace)
    for verb, group, full, name in mine:
        add("allowed", verb, group, full, name, namespace, "granted on purpose")
    for probe in PROBES if probes is None else probes:
        where = namespace if probe.where == IN_NAMESPACE else probe.where
        add("denied", probe.verb, probe.group, probe.resource, probe.name, where, probe.why)
    for verb, group, full, name in mine:
        add("denied", verb, group, full, name, ELSEWHERE, "granted in the namespace only")
    return checks


def role_grant(namespace: str, rules: Sequence[RoleRule]) -> Grant:
    """The component's Role: its rules, in its namespace."""
    return Grant(tuple(rules), frozenset({namespace}), "role")


def parse_policy_scope(spec: str, namespace: str) -> tuple[str, frozenset[str] | None]:
    """``NAME``, ``NAME=ns1,ns2`` or ``NAME=cluster`` -> (name, namespaces; ``None`` for the cluster).

    With no scope the policy is taken to apply in ``namespace``. Raises ``ValueError`` on an empty name or list."""
    name, sep, scope = spec.partition("=")
    if not name:
        raise ValueError(f"{spec!r}: no policy name (NAME, NAME=ns1,ns2 or NAME=cluster)")
    if not sep:
        return name, frozenset({namespace})
    if scope == CLUSTER_SCOPE:
        return name, None
    namespaces = [n.strip() for n in scope.split(",")]
    if not all(namespaces):
        raise ValueError(f"{spec!r}: empty namespace in the list (NAME=ns1,ns2 or NAME=cluster)")
    return name, frozenset(namespaces)
