"""ARNs given by the user: an existing principal to map, and a permissions boundary."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

_PARTITION = r"aws(?:-[a-z]+)*"
_NAME = r"[A-Za-z0-9+=,.@_-]"
_PRINCIPAL = re.compile(
    rf"^arn:{_PARTITION}:iam::[0-9]{{12}}:(?P<kind>user|role)(?P<path>/(?:[\x21-\x7e]+/)?)(?P<name>{_NAME}{{1,64}})$"
)
_IAM_RESOURCE = re.compile(rf"^arn:{_PARTITION}:iam::(?:[0-9]{{12}}|aws):(?P<type>[a-z-]+)/")
_STS = re.compile(rf"^arn:(?P<partition>{_PARTITION}):sts::(?P<account>[0-9]{{12}}):(?P<type>[a-z-]+)/(?P<name>[^/]+)")
_POLICY = re.compile(rf"^arn:{_PARTITION}:iam::(?:[0-9]{{12}}|aws):policy/(?:[\x21-\x7e]+/)?{_NAME}{{1,128}}$")
_PRINCIPAL_SHAPES = "arn:aws:iam::ACCOUNT:user/NAME or arn:aws:iam::ACCOUNT:role/PATH/NAME"


@dataclass(frozen=True)
class PrincipalArn:
    """An IAM user or role ARN, taken apart."""

    arn: str
    kind: Literal["user", "role"]
    #: ``/`` or ``/a/b/``.
    path: str
    name: str


def check_principal_arn(value: object) -> PrincipalArn:
    """``principal_arn``: the ARN of an IAM user or role (not an STS session, group, policy or other resource)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(
            "principal_arn: is required with identity 'existing': the ARN of an IAM user or role made elsewhere, "
            "e.g. 'arn:aws:iam::123456789012:role/ci-deployer'"
        )
    match = _PRINCIPAL.fullmatch(value)
    if match:
        kind: Literal["user", "role"] = "user" if match["kind"] == "user" else "role"
        return PrincipalArn(arn=value, kind=kind, path=match["path"], name=match["name"])
    sts = _STS.match(value)
    if sts:
        way_out = "give an IAM user or role ARN"
        if sts["type"] == "assumed-role":
            role = f"arn:{sts['partition']}:iam::{sts['account']}:role/{sts['name']}"
            way_out = f"give the role's ARN, e.g. {role!r} (with its path, if it has one)"
        raise ValueError(
            f"principal_arn: {value!r} is an STS ARN ({sts['type']}), which names one session, not a principal; "
            f"{way_out}"
        )
    resource = _IAM_RESOURCE.match(value)
    if resource and resource["type"] not in ("user", "role"):
        raise ValueError(
            f"principal_arn: {value!r} names an IAM {resource['type']}, but only an IAM user or role can "
            f"authenticate to EKS ({_PRINCIPAL_SHAPES})"
        )
    raise ValueError(f"principal_arn: {value!r} is not an IAM user or role ARN ({_PRINCIPAL_SHAPES})")


def check_policy_arn(field: str, value: object) -> str:
    """An IAM managed policy ARN: the customer's (``arn:aws:iam::ACCOUNT:policy/...``) or AWS's (``::aws:``)."""
    if not isinstance(value, str) or not _POLICY.fullmatch(value):
        raise ValueError(
            f"{field}: {value!r} is not an IAM policy ARN (arn:aws:iam::ACCOUNT:policy/NAME, or "
            "arn:aws:iam::aws:policy/NAME for an AWS managed policy)"
        )
    return value
