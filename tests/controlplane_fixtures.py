"""The ``control_plane`` fixture: one real control plane per test session, started on first use.

Load it from ``tests/conftest.py`` with
``pytest_plugins = ["tests.controlplane_fixtures"]``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from testbed.controlplane.fixture import ControlPlane, find_tools

#: The EKS cluster name tokens are signed for (``aws eks get-token --cluster-name``): the recipe's.
CLUSTER_NAME = "my-cluster-1"


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
