"""Who a request is, as EKS decides it: a static token, or an STS-signed token mapped through ``aws-auth``.

Only the fast tier's stand-in API server (``testbed/apiserver/server.py``) uses this: the real control plane runs
the real aws-iam-authenticator (``testbed/controlplane``). This is the test server's own reading of it, written from
its source (``pkg/arn``, ``pkg/config``, ``pkg/mapper/configmap``), not from
this project's code: the caller ARN that STS would return is canonicalized
(``assumed-role/NAME/SESSION`` becomes ``role/NAME``, no path), then matched
case-insensitively against ``mapUsers[].userarn`` (users) or
``mapRoles[].rolearn`` (roles) of the ``aws-auth`` the server holds. Keys of
an entry are matched case-insensitively, as Go's JSON decoding does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml


@dataclass(frozen=True)
class Identity:
    """A Kubernetes user and its groups."""

    username: str
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Principal:
    """What STS knows of an access key: its secret and the caller ARN ``GetCallerIdentity`` returns."""

    secret: str
    arn: str
    #: Temporary credentials (``ASIA...`` keys from ``AssumeRole*``) carry a session token.
    session_token: str | None = None
    #: The principal's unique id (a user's ``AIDA...``, a role's ``AROA...``), if known: what STS's ``UserId`` gives.
    user_id: str | None = None


class Unmapped(Exception):
    """The caller is authentic but ``aws-auth`` maps it to nobody."""


def canonical_arn(arn: str) -> tuple[str, str]:
    """``(kind, canonical ARN)`` for a caller ARN, as ``arn.Canonicalize`` computes it."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise Unmapped(f"arn {arn!r} is invalid")
    partition, service, account, resource = parts[1], parts[2], parts[4], parts[5]
    kind, _, rest = resource.partition("/")
    if service == "sts" and kind == "assumed-role":
        pieces = rest.split("/")
        if len(pieces) < 2:
            raise Unmapped(f"assumed-role arn {arn!r} does not have a role")
        return "role", f"arn:{partition}:iam::{account}:role/{'/'.join(pieces[:-1])}"
    if service == "iam" and kind in ("user", "role"):
        return kind, arn
    raise Unmapped(f"arn {arn!r} is not a user or role")


def _field(entry: Mapping[str, Any], name: str) -> Any:
    for key, value in entry.items():
        if isinstance(key, str) and key.lower() == name:
            return value
    return None


def _entries(text: str | None) -> list[Mapping[str, Any]]:
    if not text or not text.strip():
        return []
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError:
        return []
    return [e for e in parsed if isinstance(e, dict)] if isinstance(parsed, list) else []


def map_caller(aws_auth: Mapping[str, str] | None, caller_arn: str) -> Identity:
    """The Kubernetes identity ``aws-auth`` gives ``caller_arn``; ``Unmapped`` if none."""
    kind, canonical = canonical_arn(caller_arn)
    key, field = ("mapUsers", "userarn") if kind == "user" else ("mapRoles", "rolearn")
    # The authenticator keeps entries in a map keyed by the lower-cased ARN: the last one wins.
    found: Mapping[str, Any] | None = None
    for entry in _entries((aws_auth or {}).get(key)):
        arn = _field(entry, field)
        if isinstance(arn, str) and arn.lower() == canonical.lower():
            found = entry
    if found is None:
        raise Unmapped(f"{canonical} is not in aws-auth {key}")
    username = _field(found, "username")
    groups = _field(found, "groups") or []
    if not isinstance(username, str) or not username:
        raise Unmapped(f"the {key} entry for {canonical} has no username")
    return Identity(username, tuple(str(g) for g in groups))
