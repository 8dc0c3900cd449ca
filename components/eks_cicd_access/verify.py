"""``eks-cicd-verify``: ask the cluster what CI may do, and say where every extra comes from.

CI mode (the default) runs with CI's own kubeconfig: the cluster says who CI is (SelfSubjectReview), then
answers one SelfSubjectAccessReview per check (``probes.build_checks``). Admin mode (``--as USER``) asks a
SubjectAccessReview per check for that user and groups instead. Every answer is the API server's; for an
allowed request the RBAC authorizer's reason names the binding and role, and an aggregated ClusterRole is
traced to the ClusterRoles whose rules cover the request (where RBAC may be read).

Exit status: 0 every expectation holds, 1 a surprise (or the cluster could not be asked), 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .access_policies import MANAGED_POLICIES
from .probes import Check, Grant, build_checks, parse_policy_scope, role_grant, rule_covers
from .rbac import PRESETS, RoleRule, resolve_role_rules
from .suggest import did_you_mean

PROG = "eks-cicd-verify"
DEFAULT_ROLE_RULES = "deploy-rollback"
#: Every authenticated user has this group; a SubjectAccessReview gets only the groups it is given.
AUTHENTICATED = "system:authenticated"

_RBAC_REASON = re.compile(
    r'RBAC: allowed by (?P<binding_kind>ClusterRoleBinding|RoleBinding) "(?P<binding>[^"]*)" '
    r'of (?P<role_kind>ClusterRole|Role) "(?P<role>[^"]*)" to (?P<subject>.*)'
)


@dataclass(frozen=True)
class Source:
    """What grants an allowed request, from the RBAC authorizer's reason."""

    binding_kind: str
    binding_name: str
    binding_namespace: str
    role_kind: str
    role_name: str
    subject: str
    aggregated_from: list[str] | None = None
    """The ClusterRoles aggregated into ``role_name`` whose rules cover the request; ``None``: not aggregated, or
    not known (see ``note``)."""
    note: str = ""

    def describe(self) -> str:
        where = f"{self.binding_namespace}/" if self.binding_namespace else ""
        text = f"{self.binding_kind} {where}{self.binding_name} -> {self.role_kind} {self.role_name}"
        if self.aggregated_from is not None:
            text += f" (aggregated from {', '.join(self.aggregated_from) or 'none that covers it'})"
        if self.note:
            text += f" ({self.note})"
        return f"{text}, to {self.subject}"


def parse_reason(reason: str) -> Source | None:
    """The binding and role named by an RBAC ``allowed by`` reason; ``None`` for any other reason (a webhook's)."""
    found = _RBAC_REASON.fullmatch(reason.strip())
    if found is None:
        return None
    name, namespace = found["binding"], ""
    if found["binding_kind"] == "RoleBinding":  # RBAC writes it NAME/NAMESPACE
        name, _, namespace = name.partition("/")
    return Source(found["binding_kind"], name, namespace, found["role_kind"], found["role"], found["subject"])


def selector_string(selector: Mapping[str, Any]) -> str:
    """A LabelSelector (API JSON: ``matchLabels``, ``matchExpressions``) as a ``labelSelector`` query."""
    terms = [f"{key}={value}" for key, value in sorted((selector.get("matchLabels") or {}).items())]
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        if operator == "Exists":
            terms.append(key)
        elif operator == "DoesNotExist":
            terms.append(f"!{key}")
        else:
            terms.append(f"{key} {operator.lower()} ({','.join(values)})")
    return ",".join(terms)


def api_rule(rule: Mapping[str, Any]) -> RoleRule:
    """A PolicyRule of the API (camelCase) as a ``RoleRule``."""
    converted: RoleRule = {
        "api_groups": list(rule.get("apiGroups") or []),
        "resources": list(rule.get("resources") or []),
        "verbs": list(rule.get("verbs") or []),
    }
    if rule.get("resourceNames"):
        converted["resource_names"] = list(rule["resourceNames"])
    return converted


class Unreadable(Exception):
    """RBAC objects the caller may not read."""


@dataclass
class Attributor:
    """Traces an aggregated ClusterRole to its sources, reading each role and selector once.

    ``read_role(name)`` returns the ClusterRole (API JSON) or ``None`` if absent; ``list_roles(selector)`` the
    ClusterRoles a label selector matches. Both raise ``Unreadable`` when RBAC forbids the read."""

    read_role: Callable[[str], Mapping[str, Any] | None]
    list_roles: Callable[[str], Sequence[Mapping[str, Any]]]
    _roles: dict[str, Mapping[str, Any] | Unreadable | None] = field(default_factory=dict)
    _lists: dict[str, Sequence[Mapping[str, Any]] | Unreadable] = field(default_factory=dict)

    def _role(self, name: str) -> Mapping[str, Any] | None:
        if name not in self._roles:
            try:
                self._roles[name] = self.read_role(name)
            except Unreadable as error:
                self._roles[name] = error
        found = self._roles[name]
        if isinstance(found, Unreadable):
            raise found
        return found

    def _list(self, selector: str) -> Sequence[Mapping[str, Any]]:
        if selector not in self._lists:
            try:
                self._lists[selector] = self.list_roles(selector)
            except Unreadable as error:
                self._lists[selector] = error
        found = self._lists[selector]
        if isinstance(found, Unreadable):
            raise found
        return found

    def attribute(self, source: Source, check: Check) -> Source:
        """``source``, with the aggregated ClusterRoles that cover ``check`` (or why they are not known)."""
        if source.role_kind != "ClusterRole":
            return source
        try:
            role = self._role(source.role_name)
        except Unreadable:
            return _with(source, note="ClusterRole unreadable")
        if role is None:
            return _with(source, note="ClusterRole not found")
        selectors = (role.get("aggregationRule") or {}).get("clusterRoleSelectors")
        if not selectors:
            return source
        covering: set[str] = set()
        try:
            for selector in selectors:
                for member in self._list(selector_string(selector)):
                    name = str(member["metadata"]["name"])
                    rules = [api_rule(r) for r in member.get("rules") or []]
                    if name != source.role_name and any(_covers(rule, check) for rule in rules):
                        covering.add(name)
        except Unreadable:
            return _with(source, note="aggregated, sources unreadable")
        return _with(source, aggregated_from=sorted(covering))


def _with(source: Source, **changes: Any) -> Source:
    return Source(**{**asdict(source), **changes})


def _covers(rule: RoleRule, check: Check) -> bool:
    return rule_covers(rule, check.verb, check.group, check.resource, check.subresource, check.name)


@dataclass(frozen=True)
class Outcome:
    """A check and the API server's answer."""

    check: Check
    allowed: bool
    reason: str
    source: Source | None

    @property
    def ok(self) -> bool:
        return self.allowed == self.check.expected


def describe_resource(check: Check) -> str:
    """``deployments.apps``, ``pods/exec``, ``configmaps aws-auth``: kubectl's ``resource.group`` notation."""
    text = f"{check.resource}.{check.group}" if check.group else check.resource
    if check.subresource:
        text += f"/{check.subresource}"
    return f"{text} {check.name}" if check.name else text


def _answer(allowed: bool) -> str:
    return "allowed" if allowed else "denied"


def _where(check: Check) -> str:
    return check.namespace or "(cluster)"


def _source_text(outcome: Outcome) -> str:
    if outcome.source is not None:
        return outcome.source.describe()
    return outcome.reason


def surprise(outcome: Outcome, who: str) -> str:
    """One line naming a surprise, its namespace and its source."""
    check = outcome.check
    may = "may" if outcome.allowed else "may not"
    where = f"in namespace {check.namespace}" if check.namespace else "cluster-wide"
    source = _source_text(outcome)
    tail = f": {source}" if source else ""
    return f"SURPRISE: {who} {may} {check.verb} {describe_resource(check)} {where}{tail}"


def render_table(identity: Mapping[str, Any], mode: str, outcomes: Sequence[Outcome]) -> str:
    """The human report: who, one row per check, and a summary line."""
    header = ("result", "expect", "verb", "resource", "namespace", "answer", "source")
    rows = [
        (
            "ok" if o.ok else "SURPRISE",
            _answer(o.check.expected),
            o.check.verb,
            describe_resource(o.check),
            _where(o.check),
            _answer(o.allowed),
            _source_text(o),
        )
        for o in outcomes
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    lines = [
        f"{'CI' if mode == 'self' else 'As'}: {identity['username']} (groups: {', '.join(identity['groups']) or '-'})",
        "",
    ]
    for row in [header, *rows]:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1])
    surprises = sum(1 for o in outcomes if not o.ok)
    allowed = sum(1 for o in outcomes if o.ok and o.allowed)
    denied = sum(1 for o in outcomes if o.ok and not o.allowed)
    verdict = "FAIL" if surprises else "OK"
    lines += ["", f"{verdict}: {len(outcomes)} checks, {allowed} allowed and {denied} denied as expected, "
              f"{surprises} surprise{'' if surprises == 1 else 's'}"]  # fmt: skip
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _check_data(outcome: Outcome) -> dict[str, Any]:
    check = outcome.check
    return {
        "kind": check.kind,
        "verb": check.verb,
        "group": check.group,
        "resource": check.resource,
        "subresource": check.subresource,
        "name": check.name,
        "namespace": check.namespace,
        "expected": _answer(check.expected),
        "allowed": outcome.allowed,
        "ok": outcome.ok,
        "reason": outcome.reason,
        "source": asdict(outcome.source) if outcome.source is not None else None,
    }


def render_json(identity: Mapping[str, Any], mode: str, outcomes: Sequence[Outcome]) -> str:
    """The same report as data; ``surprises`` holds the checks that are not ``ok``."""
    checks = [_check_data(o) for o in outcomes]
    document = {
        "identity": {"username": identity["username"], "groups": list(identity["groups"])},
        "mode": mode,
        "checks": checks,
        "surprises": [c for c in checks if not c["ok"]],
        "ok": all(c["ok"] for c in checks),
    }
    return json.dumps(document, indent=2) + "\n"


# -- the command line ------------------------------------------------------------------------------------------


def role_rules_option(value: str) -> list[RoleRule]:
    """``--role-rules``: a preset, ``@rules.json`` (a list of RoleRule dicts), or ``none``."""
    if value == "none":
        return []
    if value.startswith("@"):
        path = Path(value[1:])
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise argparse.ArgumentTypeError(f"cannot read rules from {str(path)!r}: {error}") from error
        if not isinstance(data, list):
            raise argparse.ArgumentTypeError(f"{str(path)!r}: must hold a JSON list of rules")
        source: str | list[RoleRule] = data
    else:
        source = value
    try:
        return resolve_role_rules(source)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def policy_grants(specs: Sequence[str], namespace: str) -> list[Grant]:
    """A grant per ``--access-policy``; ``ValueError`` for a malformed spec or an unknown policy."""
    grants = []
    for spec in specs:
        name, namespaces = parse_policy_scope(spec, namespace)
        if name not in MANAGED_POLICIES:
            known = ", ".join(sorted(MANAGED_POLICIES))
            raise ValueError(f"{name!r}: unknown access policy{did_you_mean(name, MANAGED_POLICIES)} (known: {known})")
        grants.append(Grant(tuple(MANAGED_POLICIES[name].rules), namespaces, f"access policy {name}"))
    return grants


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Ask the cluster what CI may do in its namespace, and where every permission beyond the "
        "expected rules comes from. Exit 0: as expected; 1: a surprise; 2: bad usage.",
    )
    p.add_argument("--namespace", required=True, help="the namespace CI is meant to deploy to")
    p.add_argument(
        "--role-rules",
        type=role_rules_option,
        default=DEFAULT_ROLE_RULES,
        metavar="PRESET|@rules.json|none",
        help=f"the Role CI is meant to have: a preset ({', '.join(PRESETS)}), a JSON file holding a list of rules "
        f"(snake_case keys), or none (default: {DEFAULT_ROLE_RULES})",
    )
    p.add_argument(
        "--access-policy",
        action="append",
        default=[],
        metavar="NAME[=ns1,ns2|=cluster]",
        help="an EKS access policy associated with CI's access entry: what it grants is expected (default scope: "
        "--namespace); repeatable",
    )
    p.add_argument("--kubeconfig", help="kubeconfig file (default: KUBECONFIG, then ~/.kube/config)")
    p.add_argument("--context", help="kubeconfig context (default: the current one)")
    p.add_argument(
        "--as", dest="as_user", metavar="USER", help="admin mode: ask SubjectAccessReviews for this user instead"
    )
    p.add_argument(
        "--as-group", action="append", default=[], metavar="GROUP", help="with --as: a group of the user; repeatable"
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    return p


class Cluster:
    """The API server, through the official client: reviews and RBAC reads."""

    def __init__(self, kubeconfig: str | None, context: str | None) -> None:
        from kubernetes import client, config

        self.api = config.new_client_from_config(config_file=kubeconfig, context=context)
        self.authn = client.AuthenticationV1Api(self.api)
        self.authz = client.AuthorizationV1Api(self.api)
        self.rbac = client.RbacAuthorizationV1Api(self.api)
        self.models = client

    def _data(self, obj: Any) -> dict[str, Any]:
        data: dict[str, Any] = self.api.sanitize_for_serialization(obj)
        return data

    def whoami(self) -> dict[str, Any]:
        review = self.authn.create_self_subject_review(self.models.V1SelfSubjectReview())
        info = self._data(review).get("status", {}).get("userInfo", {})
        return {"username": info.get("username", ""), "groups": list(info.get("groups") or [])}

    def _attributes(self, check: Check) -> Any:
        return self.models.V1ResourceAttributes(
            verb=check.verb,
            group=check.group,
            resource=check.resource,
            subresource=check.subresource or None,
            name=check.name or None,
            namespace=check.namespace or None,
        )

    def review(self, check: Check, user: str | None, groups: Sequence[str]) -> tuple[bool, str]:
        """The authorizer's answer and reason (with any evaluation error)."""
        m, attributes = self.models, self._attributes(check)
        answer: Any
        if user is None:
            spec = m.V1SelfSubjectAccessReviewSpec(resource_attributes=attributes)
            answer = self.authz.create_self_subject_access_review(m.V1SelfSubjectAccessReview(spec=spec))
        else:
            review = m.V1SubjectAccessReviewSpec(user=user, groups=list(groups), resource_attributes=attributes)
            answer = self.authz.create_subject_access_review(m.V1SubjectAccessReview(spec=review))
        status = self._data(answer).get("status", {})
        reason = str(status.get("reason") or "")
        if status.get("evaluationError"):
            reason = f"{reason} (evaluation error: {status['evaluationError']})".strip()
        return bool(status.get("allowed")), reason

    def _readable(self, call: Callable[[], Any]) -> Any:
        from kubernetes.client.exceptions import ApiException

        try:
            return call()
        except ApiException as error:
            if error.status in (401, 403):
                raise Unreadable(str(error.reason)) from error
            if error.status == 404:
                return None
            raise

    def read_role(self, name: str) -> Mapping[str, Any] | None:
        found = self._readable(lambda: self.rbac.read_cluster_role(name))
        return None if found is None else self._data(found)

    def list_roles(self, selector: str) -> Sequence[Mapping[str, Any]]:
        found = self._readable(lambda: self.rbac.list_cluster_role(label_selector=selector))
        items: list[Mapping[str, Any]] = self._data(found).get("items", []) if found is not None else []
        return items


def run(options: argparse.Namespace, cluster: Cluster) -> tuple[dict[str, Any], str, list[Outcome]]:
    """Identity, mode and every outcome: the cluster's answers to ``probes.build_checks``."""
    grants = [role_grant(options.namespace, options.role_rules), *options.grants]
    checks = build_checks(options.namespace, grants)
    if options.as_user is None:
        identity, mode, user, groups = cluster.whoami(), "self", None, []
    else:
        groups = [*options.as_group, *([] if AUTHENTICATED in options.as_group else [AUTHENTICATED])]
        identity, mode, user = {"username": options.as_user, "groups": groups}, "admin", options.as_user
    attributor = Attributor(cluster.read_role, cluster.list_roles)
    outcomes = []
    for check in checks:
        allowed, reason = cluster.review(check, user, groups)
        source = parse_reason(reason) if allowed else None
        if source is not None:
            source = attributor.attribute(source, check)
        outcomes.append(Outcome(check, allowed, reason, source))
    return identity, mode, outcomes


def main(argv: list[str] | None = None) -> int:
    """``eks-cicd-verify``: 0 every expectation holds, 1 a surprise or no answer, 2 bad usage."""
    p = parser()
    options = p.parse_args(argv)
    if options.as_group and options.as_user is None:
        p.error("--as-group needs --as")
    try:
        options.grants = policy_grants(options.access_policy, options.namespace)
    except ValueError as error:
        p.error(f"--access-policy: {error}")
    try:
        identity, mode, outcomes = run(options, Cluster(options.kubeconfig, options.context))
    except Exception as error:  # the client's errors (config, TLS, HTTP, the exec plugin) share no base class
        print(f"{PROG}: cannot ask the cluster: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    who = identity["username"]
    for outcome in outcomes:
        if not outcome.ok:
            print(surprise(outcome, who), file=sys.stderr)
    report = render_json if options.json else render_table
    sys.stdout.write(report(identity, mode, outcomes))
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
