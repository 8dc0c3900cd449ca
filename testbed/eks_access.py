"""EKS's cluster-access API (access entries), emulated beside moto: test infrastructure of ours, not AWS's code.

moto 5.2 has EKS clusters but no access entries, and EKS's control plane is not open source. This module serves
EKS's access-entry operations on moto's own server, in the same process, at the paths botocore's EKS model gives
them (so boto3, the AWS CLI and the AWS stand-in reach them as they would reach EKS):

- ``CreateAccessEntry``, ``DescribeAccessEntry``, ``ListAccessEntries``, ``UpdateAccessEntry``,
  ``DeleteAccessEntry``;
- ``AssociateAccessPolicy``, ``DisassociateAccessPolicy``, ``ListAssociatedAccessPolicies`` and
  ``ListAccessPolicies``: stored and validated, and handed on like any change: EKS's authorizer is not open source,
  so the sync stands in for it with the equivalent RBAC (``testbed/access_policy_rbac.py``);
- ``DescribeCluster``'s ``accessConfig``, and ``UpdateClusterConfig``'s one-way authentication-mode change.

It keeps EKS's rules, each with EKS's exception name (``RULES`` in ``testbed/test_eks_access.py`` lists them with
their sources): one entry per principal, the principal must exist, reserved username and group prefixes, groups
and username on ``STANDARD`` entries only, the mode ladder ``CONFIG_MAP`` -> ``API_AND_CONFIG_MAP`` -> ``API``.
An entry binds the principal's unique id at creation, as EKS does.

EKS hands its access entries to aws-iam-authenticator as a file (its ``DynamicFile`` backend) and switches the
authenticator's backends with the cluster's mode. That sync is EKS-internal, and ours here: ``on_change`` is told
of every change, and the control plane (``ControlPlane.write_access_entries``, ``set_authentication_mode``)
writes the files the real authenticator reads, and (``write_access_policies``) the RBAC standing in for the
associated access policies.
"""

from __future__ import annotations

import datetime
import json
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

#: EKS's authentication modes, in the only order a cluster may move through them.
MODES = ("CONFIG_MAP", "API_AND_CONFIG_MAP", "API")
TYPES = ("STANDARD", "FARGATE_LINUX", "EC2_LINUX", "EC2_WINDOWS", "EC2", "HYBRID_LINUX", "HYPERPOD_LINUX")
#: Username and group prefixes an access entry may not use: EKS's API refuses them, and so does the authenticator's
#: DynamicFile backend as EKS configures it (``reservedPrefixConfig``).
RESERVED_PREFIXES = ("system:", "eks:", "aws:", "amazon:", "iam:")
#: ``ListAccessPolicies``: EKS's managed access policies (the AWS CLI's example answer).
POLICIES = tuple(
    f"arn:aws:eks::aws:cluster-access-policy/{name}"
    for name in (
        "AmazonEKSAdminPolicy", "AmazonEKSAdminViewPolicy", "AmazonEKSAutoNodePolicy",
        "AmazonEKSBlockStorageClusterPolicy", "AmazonEKSBlockStoragePolicy", "AmazonEKSClusterAdminPolicy",
        "AmazonEKSComputeClusterPolicy", "AmazonEKSComputePolicy", "AmazonEKSEditPolicy", "AmazonEKSHybridPolicy",
        "AmazonEKSLoadBalancingClusterPolicy", "AmazonEKSLoadBalancingPolicy", "AmazonEKSNetworkingClusterPolicy",
        "AmazonEKSNetworkingPolicy", "AmazonEKSViewPolicy", "AmazonEMRJobPolicy",
        "AmazonSagemakerHyperpodClusterPolicy", "AmazonSagemakerHyperpodControllerPolicy",
        "AmazonSagemakerHyperpodSystemNamespacePolicy",
    )
)  # fmt: skip


# EKS's messages, as users pasted them (sources in docs/eks-access-emulation.md).
ENTRY_NOT_FOUND = (
    "The specified principalArn could not be found. You can view your available access entries with "
    "'list-access-entries'."
)
ENTRY_IN_USE = "The specified access entry resource is already in use on this cluster."
INVALID_PRINCIPAL = "The specified principalArn is invalid: invalid principal."
BAD_ARN = "The principalArn parameter format is not valid"
GROUPS_NOT_ALLOWED = (
    'The specified kubernetesGroups is invalid: setting kubernetesGroups is not allowed when the type is "{type}"'
)
RESERVED_GROUP = "The kubernetes group name {group} is invalid, it cannot start with {prefix}"
RESERVED_USERNAME = "The username must not begin with {prefix}"
NEEDS_API_MODE = (
    "The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] to perform this operation."
)
MODE_UPDATE = "Unsupported authentication mode update from {old} to {new}"
POLICY_NOT_FOUND = "The specified policyArn could not be found."
ONLY_STANDARD = 'This operation can only be performed on Access Entries with a type of "STANDARD".'
NO_NAMESPACES = "At least 1 namespace must be provided if the type is set as namespace"
CLUSTER_WITH_NAMESPACES = "accessScope should not include namespaces if the type is not set as namespace"
BOOTSTRAP_CONFIG_MAP = (
    "bootstrapClusterCreatorAdminPermissions must be true if cluster authentication mode is set to CONFIG_MAP"
)


class EksError(Exception):
    """An EKS error response: HTTP status, exception name (``x-amzn-errortype``) and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message = status, code, message


def _invalid(message: str) -> EksError:
    return EksError(400, "InvalidParameterException", message)


def _now() -> float:
    return datetime.datetime.now(datetime.UTC).timestamp()


@dataclass
class Entry:
    """One access entry, as EKS keeps it (``principal_id``: the principal's unique id when it was created)."""

    cluster: str
    principal_arn: str
    type: str
    username: str
    groups: list[str]
    principal_id: str
    arn: str
    created_at: float = field(default_factory=_now)
    modified_at: float = field(default_factory=_now)
    tags: dict[str, str] = field(default_factory=dict)
    #: policy ARN -> access scope
    policies: dict[str, dict[str, Any]] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {
            "clusterName": self.cluster,
            "principalArn": self.principal_arn,
            "kubernetesGroups": list(self.groups),
            "accessEntryArn": self.arn,
            "createdAt": self.created_at,
            "modifiedAt": self.modified_at,
            "tags": dict(self.tags),
            "username": self.username,
            "type": self.type,
        }


@dataclass
class ClusterAccess:
    """A cluster's access configuration and entries (``CreateCluster``'s defaults: ``CONFIG_MAP``, and the creator
    made an admin)."""

    mode: str = "CONFIG_MAP"
    bootstrap_admin: bool = True
    entries: dict[str, Entry] = field(default_factory=dict)


#: (principal ARN) -> the principal's unique id (``AIDA...``, ``AROA...``), or ``None`` if IAM has no such principal.
PrincipalLookup = Callable[[str], str | None]


@dataclass
class AccessApi:
    """EKS's access-entry API for the clusters of one account and region, over ``principals`` (IAM)."""

    principals: PrincipalLookup
    #: Whether EKS has a cluster of that name (moto's clusters).
    cluster_exists: Callable[[str], bool] = lambda _name: True
    account: str = "123456789012"
    region: str = "us-east-1"
    on_change: Callable[[str, ClusterAccess], None] | None = None
    clusters: dict[str, ClusterAccess] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def cluster(self, name: str) -> ClusterAccess:
        with self._lock:
            if name not in self.clusters and not self.cluster_exists(name):
                raise EksError(404, "ResourceNotFoundException", f"No cluster found for name: {name}.")
            return self.clusters.setdefault(name, ClusterAccess())

    def _changed(self, name: str) -> None:
        if self.on_change is not None:
            self.on_change(name, self.clusters[name])

    def _entry(self, cluster: str, principal_arn: str) -> Entry:
        found = self.cluster(cluster).entries.get(principal_arn)
        if found is None:
            raise EksError(
                404, "ResourceNotFoundException", "The specified access entry resource does not exist on this cluster."
            )
        return found

    def _api_mode(self, cluster: str) -> None:
        if self.cluster(cluster).mode == "CONFIG_MAP":
            raise EksError(400, "InvalidRequestException", NEEDS_API_MODE)

    # -- access entries ------------------------------------------------------------------------

    def create(self, cluster: str, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._api_mode(cluster)
            principal_arn = str(body.get("principalArn") or "")
            kind = str(body.get("type") or "STANDARD")
            if kind not in TYPES:
                raise _invalid(f"The type {kind} is not supported. Supported types are {', '.join(TYPES)}.")
            if not re.fullmatch(r"arn:aws[a-z-]*:iam::\d{12}:(user|role)/.+", principal_arn):
                raise _invalid(BAD_ARN)
            principal_id = self.principals(principal_arn)
            if principal_id is None:
                raise _invalid(INVALID_PRINCIPAL)
            if principal_arn in self.cluster(cluster).entries:
                raise EksError(
                    409,
                    "ResourceInUseException",
                    "The specified access entry resource is already in use on this cluster.",
                )
            groups = list(body.get("kubernetesGroups") or [])
            username = body.get("username")
            if kind != "STANDARD" and groups:
                raise _invalid(GROUPS_NOT_ALLOWED.format(type=kind))
            _check_names(username, groups)
            name = str(username) if username else _default_username(principal_arn, kind)
            entry = Entry(
                cluster, principal_arn, kind, name, groups, principal_id,
                arn=f"arn:aws:eks:{self.region}:{self.account}:access-entry/{cluster}/{_kind_path(principal_arn)}/"
                f"{principal_arn.split(':')[4]}/{principal_arn.rsplit('/', 1)[1]}/{uuid.uuid4()}",
                tags=dict(body.get("tags") or {}),
            )  # fmt: skip
            self.cluster(cluster).entries[principal_arn] = entry
            self._changed(cluster)
            return {"accessEntry": entry.describe()}

    def describe(self, cluster: str, principal_arn: str) -> dict[str, Any]:
        with self._lock:
            return {"accessEntry": self._entry(cluster, principal_arn).describe()}

    def list(self, cluster: str, query: Mapping[str, list[str]]) -> dict[str, Any]:
        with self._lock:
            entries = self.cluster(cluster).entries.values()
            policy = next(iter(query.get("associatedPolicyArn") or []), None)
            return {"accessEntries": sorted(e.principal_arn for e in entries if policy is None or policy in e.policies)}

    def update(self, cluster: str, principal_arn: str, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            entry = self._entry(cluster, principal_arn)
            groups = body.get("kubernetesGroups")
            username = body.get("username")
            if entry.type != "STANDARD" and (groups or username):
                raise _invalid(
                    f"Username and kubernetesGroups are not allowed for access entries of type {entry.type}."
                )
            _check_names(username, groups or [])
            if groups is not None:
                entry.groups = list(groups)
            if username:
                entry.username = str(username)
            entry.modified_at = _now()
            self._changed(cluster)
            return {"accessEntry": entry.describe()}

    def delete(self, cluster: str, principal_arn: str) -> dict[str, Any]:
        with self._lock:
            self._entry(cluster, principal_arn)
            del self.cluster(cluster).entries[principal_arn]
            self._changed(cluster)
            return {}

    # -- access policies -----------------------------------------------------------------------

    def associate(self, cluster: str, principal_arn: str, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            entry = self._entry(cluster, principal_arn)
            policy = str(body.get("policyArn") or "")
            if policy not in POLICIES:
                raise EksError(404, "ResourceNotFoundException", POLICY_NOT_FOUND)
            if entry.type != "STANDARD":
                raise _invalid(ONLY_STANDARD)
            scope = dict(body.get("accessScope") or {})
            namespaces = list(scope.get("namespaces") or [])
            if scope.get("type") == "namespace" and not namespaces:
                raise _invalid(NO_NAMESPACES)
            if scope.get("type") != "namespace" and namespaces:
                raise _invalid(CLUSTER_WITH_NAMESPACES)
            now = _now()
            held = entry.policies.get(policy, {"associatedAt": now})
            entry.policies[policy] = {**held, "accessScope": {"type": scope["type"], "namespaces": namespaces},
                                      "modifiedAt": now}  # fmt: skip
            self._changed(cluster)
            return {
                "clusterName": cluster,
                "principalArn": principal_arn,
                "associatedAccessPolicy": {"policyArn": policy, **entry.policies[policy]},
            }

    def disassociate(self, cluster: str, principal_arn: str, policy: str) -> dict[str, Any]:
        with self._lock:
            entry = self._entry(cluster, principal_arn)
            if entry.policies.pop(policy, None) is None:
                raise EksError(404, "ResourceNotFoundException", POLICY_NOT_FOUND)
            self._changed(cluster)
            return {}

    def list_associated(self, cluster: str, principal_arn: str) -> dict[str, Any]:
        with self._lock:
            entry = self._entry(cluster, principal_arn)
            if entry.type != "STANDARD":
                raise _invalid(ONLY_STANDARD)
            return {
                "clusterName": cluster,
                "principalArn": principal_arn,
                "associatedAccessPolicies": [{"policyArn": p, **held} for p, held in sorted(entry.policies.items())],
            }

    # -- the cluster's access configuration ----------------------------------------------------

    def access_config(self, cluster: str) -> dict[str, Any]:
        held = self.cluster(cluster)
        return {"authenticationMode": held.mode, "bootstrapClusterCreatorAdminPermissions": held.bootstrap_admin}

    def made_in(self, cluster: str, mode: str) -> None:
        """Put ``cluster`` in ``mode`` as if it had been created so: not an EKS call (the ladder is one-way), a
        test's way back to where it started. Handed on like any change."""
        assert mode in MODES, mode
        with self._lock:
            self.cluster(cluster).mode = mode
            self._changed(cluster)

    def update_config(self, cluster: str, access_config: Mapping[str, Any]) -> dict[str, Any]:
        """``UpdateClusterConfig`` with ``accessConfig``: the mode moves one way, one step at a time."""
        with self._lock:
            held = self.cluster(cluster)
            wanted = str(access_config.get("authenticationMode") or "")
            if wanted not in MODES or MODES.index(wanted) != MODES.index(held.mode) + 1:
                raise _invalid(MODE_UPDATE.format(old=held.mode, new=wanted))
            held.mode = wanted
            self._changed(cluster)
            return {
                "update": {
                    "id": str(uuid.uuid4()),
                    "status": "Successful",
                    "type": "AccessConfigUpdate",
                    "params": [{"type": "AuthenticationMode", "value": wanted}],
                    "createdAt": _now(),
                    "errors": [],
                }
            }


def _check_names(username: Any, groups: list[Any]) -> None:
    """EKS refuses a username or group with a reserved prefix."""
    for prefix in RESERVED_PREFIXES:
        if username and str(username).startswith(prefix):
            raise _invalid(RESERVED_USERNAME.format(prefix=prefix))
        for group in groups:
            if str(group).startswith(prefix):
                raise _invalid(RESERVED_GROUP.format(group=group, prefix=prefix))


def _kind_path(principal_arn: str) -> str:
    return "role" if ":role/" in principal_arn else "user"


def _default_username(principal_arn: str, kind: str) -> str:
    """The username EKS gives an entry created without one."""
    if kind in ("EC2_LINUX", "EC2_WINDOWS"):
        return "system:node:{{EC2PrivateDNSName}}"
    if kind != "STANDARD":
        return "system:node:{{SessionName}}"
    match = re.fullmatch(r"arn:([^:]+):iam::(\d+):role/(?:.*/)?([^/]+)", principal_arn)
    if match:
        partition, account, name = match.groups()
        return f"arn:{partition}:sts::{account}:assumed-role/{name}/{{{{SessionName}}}}"
    return principal_arn


# -- on moto's server -----------------------------------------------------------------------------------------------


def _split(raw_url: str) -> tuple[str, list[str], dict[str, list[str]]]:
    """The cluster name, the path's decoded pieces after it, and the query of an EKS request URL."""
    parts = urlsplit(raw_url)
    pieces = [unquote(p) for p in parts.path.split("/")[1:]]
    return pieces[1], pieces[2:], parse_qs(parts.query)


def _answer(call: Callable[[], Mapping[str, Any]]) -> tuple[int, dict[str, str], str]:
    try:
        return 200, {"Content-Type": "application/json"}, json.dumps(call())
    except EksError as error:
        return _refused(error)


def _refused(error: EksError) -> tuple[int, dict[str, str], str]:
    headers = {"Content-Type": "application/json", "x-amzn-errortype": error.code}
    return error.status, headers, json.dumps({"message": error.message})


#: The emulation moto's server answers with: like moto's own backends, one per process.
_SERVED: list[AccessApi] = []


def serve_on_moto(api: AccessApi) -> None:
    """Answer EKS's access-entry operations on moto's servers in this process with ``api``, and add ``accessConfig``
    to their ``DescribeCluster`` and ``UpdateClusterConfig``. The routes take effect for a server that has not yet
    answered an EKS request; the last ``api`` given is the one served."""
    _SERVED[:] = [api]
    from moto.eks import urls

    if getattr(urls, "_eks_access_routes", False):
        return
    clusters_handler = urls.url_paths["{0}/clusters$"]
    cluster_handler = urls.url_paths["{0}/clusters/(?P<name>[^/]+)$"]
    update_handler = urls.url_paths["{0}/clusters/(?P<name>[^/]+)/update-config$"]

    def access_entries(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
        api = _SERVED[0]
        cluster, rest, query = _split(full_url)
        body = json.loads(request.data or b"{}")
        method = request.method
        if rest == ["access-entries"]:
            return _answer(lambda: api.create(cluster, body) if method == "POST" else api.list(cluster, query))
        principal = "/".join(rest[1:])
        if "/access-policies" in f"/{principal}":
            principal, _, policy = f"/{principal}".partition("/access-policies")
            principal, policy = principal[1:], policy.lstrip("/")
            if not policy:
                return _answer(
                    lambda: (
                        api.associate(cluster, principal, body)
                        if method == "POST"
                        else api.list_associated(cluster, principal)
                    )
                )
            return _answer(lambda: api.disassociate(cluster, principal, policy))
        calls = {
            "GET": lambda: api.describe(cluster, principal),
            "POST": lambda: api.update(cluster, principal, body),
            "DELETE": lambda: api.delete(cluster, principal),
        }
        return _answer(calls[method])

    def access_policies(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
        return _answer(lambda: {"accessPolicies": [{"name": p.rsplit("/", 1)[1], "arn": p} for p in POLICIES]})

    def create_cluster(request: Any, full_url: str, headers: Any) -> Any:
        config = json.loads(request.data or b"{}").get("accessConfig") or {} if request.method == "POST" else {}
        mode = str(config.get("authenticationMode") or "CONFIG_MAP")
        if mode == "CONFIG_MAP" and config.get("bootstrapClusterCreatorAdminPermissions") is False:
            return _refused(_invalid(BOOTSTRAP_CONFIG_MAP))
        status, out_headers, body = clusters_handler(request, full_url, headers)
        if request.method == "POST" and status == 200:
            found = json.loads(body)
            held = _SERVED[0].cluster(found["cluster"]["name"])
            held.mode = mode
            held.bootstrap_admin = bool(config.get("bootstrapClusterCreatorAdminPermissions", True))
            found["cluster"]["accessConfig"] = _SERVED[0].access_config(found["cluster"]["name"])
            body = json.dumps(found)
        return status, out_headers, body

    def cluster_with_access_config(request: Any, full_url: str, headers: Any) -> Any:
        status, out_headers, body = cluster_handler(request, full_url, headers)
        if request.method == "GET" and status == 200:
            found = json.loads(body)
            found["cluster"]["accessConfig"] = _SERVED[0].access_config(found["cluster"]["name"])
            body = json.dumps(found)
        return status, out_headers, body

    def update_config(request: Any, full_url: str, headers: Any) -> Any:
        body = json.loads(request.data or b"{}")
        if "accessConfig" in body:
            cluster, _, _ = _split(full_url)
            return _answer(lambda: _SERVED[0].update_config(cluster, body["accessConfig"]))
        return update_handler(request, full_url, headers)

    urls.url_paths.update(
        {
            "{0}/clusters/(?P<name>[^/]+)/access-entries$": access_entries,
            "{0}/clusters/(?P<name>[^/]+)/access-entries/(?P<rest>.+)$": access_entries,
            "{0}/access-policies$": access_policies,
            "{0}/clusters$": create_cluster,
            "{0}/clusters/(?P<name>[^/]+)$": cluster_with_access_config,
            "{0}/clusters/(?P<name>[^/]+)/update-config$": update_config,
        }
    )
    urls._eks_access_routes = True  # type: ignore[attr-defined]


def moto_principals(account: str = "123456789012") -> PrincipalLookup:
    """The unique id of an IAM user or role of moto's IAM (this process), by ARN."""
    from moto.iam.models import iam_backends

    def lookup(arn: str) -> str | None:
        backend = iam_backends[account]["global"]
        principals: list[Any] = [*backend.users.values(), *backend.roles.values()]
        for principal in principals:
            if principal.arn == arn:
                return str(principal.id)
        return None

    return lookup


def moto_clusters(account: str = "123456789012", region: str = "us-east-1") -> Callable[[str], bool]:
    """Whether moto's EKS (this process) has a cluster of that name."""
    from moto.eks.models import eks_backends

    return lambda name: name in eks_backends[account][region].clusters
