"""EKS's authentication modes, as aws-iam-authenticator (EKS's own code) enforces them on the control plane.

EKS feeds the authenticator two sources: ``aws-auth`` (its ``EKSConfigMap`` backend) and access entries (a file
EKS writes from its access-entry API, read by its ``DynamicFile`` backend), and picks the backends of a cluster's
authentication mode through ``dynamicBackendModePath``. These tests set that file and the access-entry file as
EKS would (``ControlPlane.set_authentication_mode``, ``write_access_entries``) and ask the real authenticator:

- ``CONFIG_MAP`` admits ``aws-auth`` principals only, ``API`` access-entry principals only, and
  ``API_AND_CONFIG_MAP`` both, an access entry winning over an ``aws-auth`` entry for the same principal;
- an access entry is bound to the principal's unique id: the same ARN re-created (a new id) is refused;
- an access entry's username with a reserved prefix (``system:``, ``eks:``, ``aws:``, ``amazon:``, ``iam:``)
  is refused;
- a token signed with a wrong secret, or with a key STS no longer knows, is refused.

``pytest -m cluster tests/cluster/test_cluster_authentication_modes.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from testbed.apiserver.authenticator import Principal
from testbed.controlplane.fixture import ControlPlane
from testbed.names import MOTO_ACCOUNT

AWS_AUTH = "/api/v1/namespaces/kube-system/configmaps/aws-auth"
#: name -> (access key id, secret, caller ARN, unique id)
CALLERS = {
    "cm-only": (
        "AKIAMODESCMONLY00001",
        "modes/cm-only",
        f"arn:aws:iam::{MOTO_ACCOUNT}:user/cm-only",
        "AIDAMODESCMONLY00001",
    ),
    "ae-only": (
        "AKIAMODESAEONLY00001",
        "modes/ae-only",
        f"arn:aws:iam::{MOTO_ACCOUNT}:user/ae-only",
        "AIDAMODESAEONLY00001",
    ),
    "both": ("AKIAMODESBOTH0000001", "modes/both", f"arn:aws:iam::{MOTO_ACCOUNT}:user/both", "AIDAMODESBOTH0000001"),
}


def entry(name: str, username: str, groups: tuple[str, ...] = ()) -> dict[str, Any]:
    """An access entry for caller ``name``, as EKS hands it to the authenticator."""
    _, _, arn, user_id = CALLERS[name]
    return {"userarn": arn, "userid": user_id, "username": username, "groups": list(groups)}


def until(what: str, check: Callable[[], bool], timeout: float = 20) -> None:
    """Poll ``check`` until true: the authenticator picks up a file or a watch event within a second or two."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s"
        time.sleep(0.2)


@pytest.fixture
def plane(control_plane: ControlPlane) -> Iterator[ControlPlane]:
    """The shared control plane with the callers known to STS and ``aws-auth`` mapping ``cm-only`` and ``both``;
    afterwards its mode, access entries, STS and ``aws-auth`` as they were."""
    for key, secret, arn, user_id in CALLERS.values():
        control_plane.principals[key] = Principal(secret, arn, user_id=user_id)
    users = "".join(
        f"- userarn: {CALLERS[n][2]}\n  username: {n}-from-aws-auth\n  groups: [from-aws-auth]\n"
        for n in ("cm-only", "both")
    )
    control_plane.request("DELETE", AWS_AUTH)
    body = {"metadata": {"name": "aws-auth", "namespace": "kube-system"}, "data": {"mapUsers": users}}
    control_plane.api("POST", "/api/v1/namespaces/kube-system/configmaps", body)
    mode = control_plane.authentication_mode
    try:
        yield control_plane
    finally:
        control_plane.write_access_entries([])
        control_plane.set_authentication_mode(mode)
        control_plane.request("DELETE", AWS_AUTH)
        for key, _, _, _ in CALLERS.values():
            control_plane.principals.pop(key, None)


def answer(plane: ControlPlane, name: str) -> tuple[str, tuple[str, ...]] | None:
    key, secret, _, _ = CALLERS[name]
    return plane.authenticate(plane.sign_token(key, secret))


def answers(plane: ControlPlane) -> dict[str, str | None]:
    """Each caller's username as the authenticator maps it now (``None``: refused)."""
    return {name: (found[0] if (found := answer(plane, name)) else None) for name in CALLERS}


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("CONFIG_MAP", {"cm-only": "cm-only-from-aws-auth", "ae-only": None, "both": "both-from-aws-auth"}),
        ("API_AND_CONFIG_MAP", {"cm-only": "cm-only-from-aws-auth", "ae-only": "ae-only", "both": "both"}),
        ("API", {"cm-only": None, "ae-only": "ae-only", "both": "both"}),
    ],
)
def test_each_mode_admits_the_principals_of_its_sources_only(
    plane: ControlPlane, mode: str, expected: dict[str, str | None]
) -> None:
    """CONFIG_MAP maps from aws-auth only, API from access entries only, API_AND_CONFIG_MAP from both with the
    access entry winning for a principal in both."""
    plane.write_access_entries([entry("ae-only", "ae-only"), entry("both", "both", ("from-access-entry",))])
    plane.set_authentication_mode(mode)
    until(f"{mode}: {expected}", lambda: answers(plane) == expected)


def test_an_access_entry_is_bound_to_the_principals_unique_id(plane: ControlPlane) -> None:
    """An access entry admits the principal whose unique id it was made with; the same ARN re-created (a new unique
    id) is refused, and so is a principal of another ARN given that id."""
    plane.set_authentication_mode("API")
    plane.write_access_entries([entry("ae-only", "ae-only", ("deployers",))])
    until("the entry admits its principal", lambda: answer(plane, "ae-only") == ("ae-only", ("deployers",)))
    key, secret, arn, _ = CALLERS["ae-only"]
    plane.principals[key] = Principal(secret, arn, user_id="AIDAMODESRECREATED01")
    assert answer(plane, "ae-only") is None, "a principal re-created under the same ARN must not be admitted"
    plane.principals[key] = Principal(secret, f"arn:aws:iam::{MOTO_ACCOUNT}:user/other", user_id=CALLERS["ae-only"][3])
    assert answer(plane, "ae-only") is None, "the unique id of the entry under another ARN must not be admitted"


@pytest.mark.parametrize("prefix", ["system:", "eks:", "aws:", "amazon:", "iam:"])
def test_an_access_entry_username_with_a_reserved_prefix_is_refused(plane: ControlPlane, prefix: str) -> None:
    """The authenticator refuses an access entry whose username starts with a reserved prefix, and admits the same
    entry without it."""
    plane.set_authentication_mode("API")
    plane.write_access_entries([entry("ae-only", "ae-only"), entry("both", f"{prefix}ci")])
    until("the entries loaded", lambda: answer(plane, "ae-only") is not None)
    assert answer(plane, "both") is None, f"an access entry's username {prefix}ci was admitted"


def test_a_wrong_secret_and_a_deleted_key_are_refused(plane: ControlPlane) -> None:
    """The real authenticator admits a mapped caller only with a token STS verifies: one signed with a wrong secret
    is refused, and so is one signed with a key STS no longer knows (deleted), in every mode."""
    key, secret, _, _ = CALLERS["cm-only"]
    until("the mapped caller admitted", lambda: answer(plane, "cm-only") is not None)
    assert plane.authenticate(plane.sign_token(key, secret + "-wrong")) is None, "a wrong secret was admitted"
    assert "signature does not match" in plane.sts.calls[-1].error
    del plane.principals[key]
    assert plane.authenticate(plane.sign_token(key, secret)) is None, "a deleted key was admitted"
    assert "unknown access key" in plane.sts.calls[-1].error
