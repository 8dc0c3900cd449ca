"""The key rotation runbook, exercised with the real kubectl: both keys of an overlap work, the dropped one gets 401.

Each step renders the component under mocks with that step's ``access_keys``;
STS (the test server) knows exactly the keys the stack then has, from the
component's ``access_keys`` output, as IAM would after ``pulumi up``.
Slow tier: ``pytest -m kubectl``.
"""

from __future__ import annotations

from dataclasses import replace

import pulumi
import pytest

from tests.apiserver.kubectl import run_kubectl
from tests.apiserver.server import Principal
from tests.conftest import EksMocks, RecordingMonitor, Stack
from tests.test_component import deploy
from tests.test_kubectl_rbac import FILES, NAMESPACE, SCENARIOS, Access, render

pytestmark = pytest.mark.kubectl

SET_IMAGE = next(s for s in SCENARIOS if s.name == "set image")


def step(labels: list[str]) -> tuple[Access, dict[str, dict[str, str]]]:
    """The component with these key labels: its objects, and its keys by label."""
    access = render("deploy-rollback")
    mocks = EksMocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project="eks-cicd-access", stack="dev", preview=False, monitor=monitor)
    out = deploy(Stack(mocks, monitor), access_keys=labels)
    keys: dict[str, dict[str, str]] = out["access_keys"][0]
    user_arn = out["iam_user_arn"][0]
    principals = {key["id"]: Principal(key["secret"], user_arn) for key in keys.values()}
    return replace(access, principals=principals), keys


def set_image_with(access: Access, key: dict[str, str]) -> tuple[int, set[str], set[int]]:
    """Run `kubectl set image` with one key: (return code, users the server saw, statuses)."""
    with access.open_cluster() as server:
        SET_IMAGE.seed(server, NAMESPACE)
        run = run_kubectl(
            server,
            access.kubeconfig,
            ["--namespace", NAMESPACE, *SET_IMAGE.args],
            credentials={"AWS_ACCESS_KEY_ID": key["id"], "AWS_SECRET_ACCESS_KEY": key["secret"]},
            files=FILES,
        )
        return run.returncode, {r.user for r in run.requests}, {r.status for r in run.requests}


def test_the_rotation_runbook() -> None:
    """["2026-11"] -> ["2026-11", "2027-02"]: both keys deploy, as the same Kubernetes user -> ["2027-02"]:
    the new key deploys, the old one gets 401 on every request."""
    lines = []
    access, keys = step(["2026-11"])
    old = keys["2026-11"]
    rc, users, _ = set_image_with(access, old)
    assert rc == 0 and users == {access.username}
    lines.append(f"1. ['2026-11']            old key {old['id']}: set image rc={rc} as {sorted(users)}")

    access, keys = step(["2026-11", "2027-02"])
    assert keys["2026-11"] == old, "adding a label keeps the old key"
    new = keys["2027-02"]
    for name, key in (("old", old), ("new", new)):
        rc, users, statuses = set_image_with(access, key)
        assert rc == 0 and users == {access.username} and 401 not in statuses, name
        lines.append(f"2. ['2026-11', '2027-02'] {name} key {key['id']}: set image rc={rc} as {sorted(users)}")

    access, keys = step(["2027-02"])
    assert keys == {"2027-02": new}
    rc, users, statuses = set_image_with(access, new)
    assert rc == 0 and users == {access.username}
    lines.append(f"3. ['2027-02']            new key {new['id']}: set image rc={rc} as {sorted(users)}")
    rc, users, statuses = set_image_with(access, old)
    assert rc != 0 and statuses == {401}
    lines.append(f"3. ['2027-02']            old key {old['id']}: set image rc={rc}, statuses {sorted(statuses)}")
    print("\nrotation runbook:\n" + "\n".join(lines))
