"""The cluster tier: every test in this folder runs against the real control plane (``pytest -m cluster``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import yaml

from testbed.apiserver.authenticator import Principal
from testbed.contention import seeded
from testbed.controlplane.fixture import ControlPlane, KubectlRun
from testbed.names import ACCOUNT
from testbed.provider_host import ProviderHost
from tests.support import (
    AWS_AUTH,
    CI_MAP_ROLES,
    CI_MAP_USERS,
    SESSION,
    STRANGER,
    USER,
    USER_ARN,
    RealApiServer,
    ci_kubeconfig,
    tier_marker,
)

pytest_collection_modifyitems = tier_marker(__file__, "cluster")


@pytest.fixture(scope="module")
def ci(control_plane: ControlPlane) -> Iterator[Callable[..., KubectlRun]]:
    """kubectl as CI runs it: the component's exec kubeconfig, pointed at the control plane; aws-auth maps
    USER and the role; STS knows USER, SESSION and STRANGER."""
    principals = control_plane.principals
    principals[USER["AWS_ACCESS_KEY_ID"]] = Principal(USER["AWS_SECRET_ACCESS_KEY"], USER_ARN)
    principals[SESSION["AWS_ACCESS_KEY_ID"]] = Principal(
        SESSION["AWS_SECRET_ACCESS_KEY"],
        f"arn:aws:sts::{ACCOUNT}:assumed-role/ci-smoke-role/job-42",
        SESSION["AWS_SESSION_TOKEN"],
    )
    principals[STRANGER["AWS_ACCESS_KEY_ID"]] = Principal(
        STRANGER["AWS_SECRET_ACCESS_KEY"], f"arn:aws:iam::{ACCOUNT}:user/nobody"
    )
    data = {"mapUsers": yaml.safe_dump(CI_MAP_USERS), "mapRoles": yaml.safe_dump(CI_MAP_ROLES)}
    control_plane.api(
        "POST", "/api/v1/namespaces/kube-system/configmaps", {"metadata": {"name": "aws-auth"}, "data": data}
    )
    kubeconfig = ci_kubeconfig(control_plane)

    def run(*args: str, credentials: dict[str, str] = USER, config: str = kubeconfig) -> KubectlRun:
        return control_plane.kubectl(list(args), kubeconfig=config, credentials=credentials)

    yield run
    control_plane.api("DELETE", AWS_AUTH)
    for key in (USER, SESSION, STRANGER):
        principals.pop(key["AWS_ACCESS_KEY_ID"], None)


@pytest.fixture
def real(control_plane: ControlPlane) -> Iterator[RealApiServer]:
    """aws-auth seeded with node roles, two other teams' users and an account; the provider host."""
    host = ProviderHost()
    try:
        with seeded(control_plane):
            yield RealApiServer(control_plane, host, control_plane.audit.mark())
    finally:
        host.pool.shutdown(wait=True)
