"""IAM's evaluation of a trust policy, by a maintained evaluator: @cloud-copilot/iam-simulate.

It is a Node library (test-only; AGPL-3.0; never shipped with the package),
installed by ``npm ci --prefix tests/iam_simulate`` (``.ci/run`` does this).
``evaluate`` runs ``tests/iam_simulate/evaluate.mjs`` once for a batch of
requests.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testbed.names import ACCOUNT

HERE = Path(__file__).resolve().parent / "iam_simulate"


@dataclass(frozen=True)
class Token:
    """An OIDC token presented to ``AssumeRoleWithWebIdentity``: who issued it (the IAM provider it maps
    to) and its claims, as the condition keys STS sets (``<issuer>:sub``, ``<issuer>:aud``)."""

    provider_arn: str
    claims: dict[str, str] = field(default_factory=dict)


def evaluate(policy: str | dict[str, Any], role_arn: str, tokens: list[Token]) -> tuple[list[str], list[Any]]:
    """``(results, validation errors)``: one of Allowed/ImplicitlyDenied/ExplicitlyDenied per token."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not installed: the trust-policy evaluator needs Node.js")
    if not (HERE / "node_modules" / "@cloud-copilot" / "iam-simulate").is_dir():
        raise RuntimeError(f"the trust-policy evaluator is not installed: run `npm ci --prefix {HERE}`")
    payload = {
        "policy": json.loads(policy) if isinstance(policy, str) else policy,
        "requests": [
            {
                "principal": token.provider_arn,
                "action": "sts:AssumeRoleWithWebIdentity",
                "role": role_arn,
                "account": ACCOUNT,
                "context": token.claims,
            }
            for token in tokens
        ],
    }
    done = subprocess.run(
        [node, str(HERE / "evaluate.mjs")], input=json.dumps(payload), capture_output=True, text=True, timeout=60
    )
    if done.returncode != 0:
        raise RuntimeError(f"the evaluator failed: {done.stderr}")
    answer = json.loads(done.stdout)
    return list(answer["results"]), list(answer["validation"])
