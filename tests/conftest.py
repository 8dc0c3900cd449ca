"""Fixtures every tier shares: fresh Pulumi mocks for each test (``testbed/mocks.py``), moto with two EKS clusters,
the stand-in API server (``apiserver``), the real control plane (``control_plane``, one per session, started on first
use), and the engine tier's world (``engine``, ``foreign``).

Constants and helpers that several test modules share are in ``tests/support.py``; each tier's folder has a
``conftest.py`` that gives its tests the tier's marker.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from typing import Any

import boto3
import hypothesis
import pulumi
import pytest
from moto import mock_aws
from pulumi.runtime.sync_await import _ensure_event_loop

from testbed.apiserver.server import KubeApiServer
from testbed.aws_auth_seed import ADMIN_TOKEN, DEPLOYER, MAP_ACCOUNTS, NODE_ROLES, OTHER_USERS
from testbed.controlplane.fixture import ControlPlane, find_tools
from testbed.mocks import EksMocks, RecordingMonitor, Stack
from testbed.names import CLUSTER_NAME, REGION
from testbed.provider_host import ProviderHost
from tests.support import ApiServer

# No timed tests: Hypothesis's per-example deadline (200 ms) would fail examples on a loaded machine.
hypothesis.settings.register_profile("eks-cicd-access", deadline=None)
hypothesis.settings.load_profile("eks-cicd-access")


@pytest.fixture
def moto_eks(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, dict[str, Any]]]:
    """moto with two ACTIVE EKS clusters, "my-cluster-1" and "other-cluster"; yields their descriptions by name."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="eks-cluster", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        eks = boto3.client("eks", region_name=REGION)
        for name in ("my-cluster-1", "other-cluster"):
            eks.create_cluster(name=name, roleArn=role, resourcesVpcConfig={"subnetIds": []})
        yield {name: eks.describe_cluster(name=name)["cluster"] for name in ("my-cluster-1", "other-cluster")}


@pytest.fixture
def apiserver() -> Iterator[ApiServer]:
    """A test API server with aws-auth holding node roles, two other teams' users and an account."""
    with KubeApiServer(cluster_name=CLUSTER_NAME, tokens={ADMIN_TOKEN: DEPLOYER}) as server:
        server.seed_configmap(
            "kube-system", "aws-auth", {"mapRoles": NODE_ROLES, "mapUsers": OTHER_USERS, "mapAccounts": MAP_ACCOUNTS}
        )
        host = ProviderHost()
        try:
            yield ApiServer(server, host)
        finally:
            host.pool.shutdown(wait=True)


@pytest.fixture(autouse=True)
def stack() -> Iterator[Stack]:
    """Fresh mocks and monitor for every test."""
    mocks = EksMocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project="eks-cicd-access", stack="dev", preview=False, monitor=monitor)
    yield Stack(mocks, monitor)


@pytest.fixture(autouse=True, scope="session")
def quiet_unretrieved_futures() -> None:
    """Keep the error-path tests' leftovers out of the test output.

    A run that fails on purpose leaves Output futures whose exception nobody
    awaits; asyncio would print each one (with its traceback) when it is
    garbage collected, often after pytest's summary. Those are dropped here;
    any other loop error still goes to the default handler.
    """
    loop = _ensure_event_loop()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") != "Future exception was never retrieved":
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--record-golden", action="store_true", help="rewrite tests/golden/*.json from the current code (on purpose)"
    )


@pytest.fixture(scope="module")
def engine(control_plane: Any) -> Iterator[Any]:
    """The engine tier's world (``testbed/engine_stack.py``): the CLI and the Kubernetes provider built by
    ``scripts/tools``, moto in server mode with the cluster seeded, and the session's control plane, whose token
    webhook reads moto's keys for the module."""
    from testbed.controlplane.fixture import find_tools
    from testbed.engine_stack import Engine, Moto, sync_access_to
    from testbed.names import CLUSTER_NAME

    tools = find_tools("engine")
    with Moto() as moto:
        moto.access.on_change = sync_access_to(control_plane)
        moto.seed_cluster(CLUSTER_NAME)
        before, mode = control_plane.principals, control_plane.authentication_mode
        control_plane.principals = moto.sts_keys
        try:
            yield Engine(tools, moto, control_plane)
        finally:
            control_plane.principals = before
            control_plane.write_access_entries([])
            control_plane.write_access_policies([])
            control_plane.set_authentication_mode(mode)


@pytest.fixture
def foreign(engine: Any) -> dict[str, str]:
    """aws-auth as a real cluster has it before we come: the node role and another team's CI user."""
    from testbed.engine_stack import seed_foreign

    return seed_foreign(engine.plane)


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    """etcd, kube-apiserver (STS token webhook, audit log), controllers, scheduler and kwok with a Ready node.

    Its work directory (certificates, ``logs/*.log``, ``audit.log``) stays in
    pytest's temporary directory (the last three runs are kept).
    """
    tools = find_tools("cluster")
    with ControlPlane(tools, tmp_path_factory.mktemp("control-plane"), cluster_name=CLUSTER_NAME) as plane:
        steps = ", ".join(f"{step} {seconds:.1f} s" for step, seconds in plane.timings.items())
        print(f"\ncontrol plane at {plane.url} ({plane.workdir}): {steps}", file=sys.stderr)
        yield plane
