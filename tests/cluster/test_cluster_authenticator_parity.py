"""EKS's own authenticator reads ``aws-auth`` the same before our write, after it, and after our delete.

Our writer keeps every foreign entry's bytes (``tests/unit/test_aws_auth_entries.py``). What matters on a cluster is
what aws-iam-authenticator (v0.7.8, EKS's code, the control plane's token webhook) makes of those bytes. For each
foreign layout people and tools write (block, indented with comments, flow, JSON, quoted keys, anchors, odd key
case, a BOM, node roles with ``{{EC2PrivateDNSName}}`` and ``{{SessionName}}``, a foreign ARN mapped twice), every
foreign principal is asked of the authenticator directly (no API server cache) before our entry goes in, after,
and after it goes out: the answers (username and groups, or a refusal) must be the same, and ours maps to our
user and groups while it is in. The fast tier's stand-in authenticator (``testbed/apiserver/authenticator.py``) must
answer as the real one does, but for username templates, which it does not render.

``pytest -m cluster tests/cluster/test_cluster_authenticator_parity.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from eks_cicd_access.aws_auth.resource import AwsAuthEntryProvider
from testbed.apiserver.authenticator import Principal, Unmapped, map_caller
from testbed.controlplane.fixture import ControlPlane
from testbed.names import MOTO_ACCOUNT

AWS_AUTH = "/api/v1/namespaces/kube-system/configmaps/aws-auth"
OURS: dict[str, Any] = {
    "key": "mapUsers",
    "arn": f"arn:aws:iam::{MOTO_ACCOUNT}:user/ci",
    "username": "ci",
    "groups": ["ci-deployers"],
}


def user(name: str) -> str:
    return f"arn:aws:iam::{MOTO_ACCOUNT}:user/{name}"


def role(name: str) -> str:
    return f"arn:aws:iam::{MOTO_ACCOUNT}:role/{name}"


#: The callers asked about: a name, the ARN STS answers for it (a role's session for roles).
CALLERS = {
    "alice": user("alice"),
    "bob": user("bob"),
    "carol": user("carol"),
    "Dave": user("Dave"),
    "admin-session": f"arn:aws:sts::{MOTO_ACCOUNT}:assumed-role/admin/ops@example.com",
    "node": f"arn:aws:sts::{MOTO_ACCOUNT}:assumed-role/eks-node/i-0123456789abcdef0",
    "deployer-session": f"arn:aws:sts::{MOTO_ACCOUNT}:assumed-role/deployer/gha-42",
}

NODES = (
    f"- rolearn: {role('eks-node')}\n"
    "  username: system:node:{{EC2PrivateDNSName}}\n"
    "  groups:\n  - system:bootstrappers\n  - system:nodes\n"
    f"- rolearn: {role('admin')}\n"
    "  username: admin:{{SessionName}}\n"
    "  groups:\n  - system:masters\n"
)

#: name -> the foreign ``data`` of ``aws-auth``.
LAYOUTS: dict[str, dict[str, str]] = {
    "block, as eksctl writes it": {
        "mapRoles": NODES,
        "mapUsers": f"- groups:\n  - system:masters\n  userarn: {user('alice')}\n  username: alice\n",
    },
    "indented, with comments and a blank line": {
        "mapRoles": "# nodes, do not touch\n" + "".join("  " + line for line in NODES.splitlines(keepends=True)),
        "mapUsers": (
            "# CI users, ask #platform before editing\n"
            f"  - userarn: {user('carol')}   # on-call\n"
            "    username: carol\n"
            "    groups: [ops, 'read-only']\n"
            "\n"
            f"  - {{userarn: '{user('bob')}', username: bob}}\n"
        ),
    },
    "flow": {
        "mapRoles": f"[{{rolearn: '{role('deployer')}', username: deployer, groups: [team-b]}}]",
        "mapUsers": f"[{{userarn: '{user('alice')}', username: alice, groups: [a, b]}}]",
    },
    "JSON": {
        "mapRoles": f'[{{"rolearn": "{role("deployer")}", "username": "deployer", "groups": ["team-b"]}}]',
        "mapUsers": f'[{{"userarn": "{user("bob")}", "username": "bob", "groups": []}}]',
    },
    "quoted keys, as Terraform's yamlencode writes them": {
        "mapUsers": f'- "groups":\n  - "team-b"\n  "userarn": "{user("bob")}"\n  "username": "bob"\n',
    },
    "anchors and aliases": {
        "mapUsers": (
            f"- userarn: {user('alice')}\n  username: alice\n  groups: &ops\n  - ops\n  - read-only\n"
            f"- userarn: {user('bob')}\n  username: bob\n  groups: *ops\n"
        ),
    },
    "odd key case": {
        "mapRoles": f"- RoleArn: {role('deployer')}\n  UserName: deployer\n  Groups:\n  - team-b\n",
        "mapUsers": f"- userARN: {user('carol')}\n  USERNAME: carol\n  groups: [ops]\n",
    },
    "a byte-order mark": {
        "mapUsers": f"\ufeff- userarn: {user('alice')}\n  username: alice\n  groups: [ops]\n",
    },
    "an ARN of another case, and one ARN mapped twice": {
        "mapUsers": (
            f"- userarn: {user('dave').replace('dave', 'Dave')}\n  username: dave-first\n"
            f"- userarn: {user('Dave')}\n  username: dave-second\n  groups: [second]\n"
            f"- userarn: {user('bob').upper().replace('ARN:AWS:IAM', 'arn:aws:iam')}\n  username: bob\n"
        ),
    },
}

#: Callers mapped through a username template. aws-iam-authenticator renders ``{{SessionName}}`` (``@`` becoming
#: ``-``) and refuses ``{{EC2PrivateDNSName}}`` here (it would ask EC2, which is not reachable); the fast tier's
#: stand-in (``testbed/apiserver/authenticator.py``) renders no template.
TEMPLATED = {"admin-session", "node"}

#: Layouts the writer cannot edit in place (anchors and aliases): it writes their entries out again, data kept.
REWRITTEN = {"anchors and aliases"}


@dataclass
class Callers:
    """A key for each caller, known to the STS stand-in, and a fresh token for it on demand."""

    plane: ControlPlane
    keys: dict[str, tuple[str, str, str | None]]

    def token(self, name: str) -> str:
        key, secret, session = self.keys[name]
        return self.plane.sign_token(key, secret, session)

    def answers(self) -> dict[str, Any]:
        """What the authenticator answers for each caller now."""
        return {name: self.plane.authenticate(self.token(name)) for name in self.keys}


@pytest.fixture
def callers(control_plane: ControlPlane) -> Iterator[Callers]:
    """Every caller of ``CALLERS`` and ours, with a key STS knows; forgotten after the test."""
    keys: dict[str, tuple[str, str, str | None]] = {}
    for index, (name, arn) in enumerate({**CALLERS, "ours": OURS["arn"]}.items()):
        key, secret = f"AKIAPARITY{index:010d}", f"parity/{name}/secret"
        session = f"session-{name}" if ":assumed-role/" in arn else None
        keys[name] = (key, secret, session)
        control_plane.principals[key] = Principal(secret, arn, session_token=session)
    yield Callers(control_plane, keys)
    for key, _, _ in keys.values():
        control_plane.principals.pop(key, None)


def _stand_in_answer(data: dict[str, str], arn: str) -> tuple[str, tuple[str, ...]] | None:
    """What the fast tier's stand-in authenticator makes of ``arn`` in ``data``."""
    try:
        found = map_caller(data, arn)
    except Unmapped:
        return None
    return found.username, found.groups


def until(what: str, check: Callable[[], bool], timeout: float = 10) -> None:
    """Poll ``check`` until true (the authenticator's watch has delivered the change)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s"
        time.sleep(0.1)


@pytest.mark.parametrize("layout", LAYOUTS, ids=list(LAYOUTS))
def test_every_foreign_principal_maps_the_same_through_our_write_and_delete(
    control_plane: ControlPlane, callers: Callers, layout: str
) -> None:
    """Through our write and our delete, the real authenticator maps every foreign principal of the layout exactly
    as before (or refuses it as before), and maps ours to our user and groups while our entry is in."""
    control_plane.request("DELETE", AWS_AUTH)
    body = {"metadata": {"name": "aws-auth", "namespace": "kube-system"}, "data": LAYOUTS[layout]}
    control_plane.api("POST", "/api/v1/namespaces/kube-system/configmaps", body)
    try:
        until("the seeded aws-auth watched", lambda: control_plane.authenticate(callers.token("ours")) is None)
        before = callers.answers()
        assert before.pop("ours") is None
        assert any(before.values()), f"{layout}: the authenticator maps none of the foreign principals: {before}"
        stand_in = {name: _stand_in_answer(LAYOUTS[layout], arn) for name, arn in CALLERS.items()}
        assert {n: a for n, a in stand_in.items() if n not in TEMPLATED} == {
            n: a for n, a in before.items() if n not in TEMPLATED
        }, f"{layout}: testbed/apiserver/authenticator.py maps otherwise than aws-iam-authenticator"

        props = {"cluster": control_plane.cluster_name, **OURS, "kubeconfig": control_plane.admin_kubeconfig}
        entries = AwsAuthEntryProvider()
        created = entries.create(props)
        until("our entry watched", lambda: control_plane.authenticate(callers.token("ours")) is not None)
        during = callers.answers()
        assert during.pop("ours") == (OURS["username"], tuple(OURS["groups"]))
        assert during == before, f"{layout}: our write changed how the authenticator maps a foreign principal"

        entries.delete(created.id, created.outs or props)
        until("our delete watched", lambda: control_plane.authenticate(callers.token("ours")) is None)
        after = callers.answers()
        assert after.pop("ours") is None
        assert after == before, f"{layout}: our delete changed how the authenticator maps a foreign principal"
        left = control_plane.aws_auth_data() or {}
        if layout in REWRITTEN:  # re-serialized, as the README says: the same entries, not the same bytes
            assert {k: yaml.safe_load(v) for k, v in left.items()} == {
                k: yaml.safe_load(v) for k, v in LAYOUTS[layout].items()
            }
        else:
            assert left == LAYOUTS[layout], "the foreign bytes changed"
    finally:
        control_plane.request("DELETE", AWS_AUTH)
