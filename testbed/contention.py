"""Writers racing for ``kube-system/aws-auth`` on the real control plane: the seed every race starts from, and
``contention``, N writers adding their own entries at the same moment. The cluster tier asserts on it and
``benchmarks/conflicts_cluster.py`` times it."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import yaml

from eks_cicd_access.aws_auth.entries import MAP_USERS
from eks_cicd_access.aws_auth.writer import AuthConfigMap, AwsAuthConflict, Entry, WriteResult, connect
from testbed.aws_auth_seed import ALICE, NODE_ROLES, OTHER_USERS, SEED, TEAM_B, user_arn
from testbed.controlplane.fixture import ApiError, ControlPlane, describe_event, one_per_request

AWS_AUTH_PATH = "/api/v1/namespaces/kube-system/configmaps/aws-auth"
CONFIGMAPS_PATH = "/api/v1/namespaces/kube-system/configmaps"
#: The user agent of our writer's requests (the official client's default).
OUR_AGENT = "OpenAPI-Generator/"


def put_aws_auth(plane: ControlPlane, data: dict[str, str] | None) -> None:
    """Make ``kube-system/aws-auth`` hold exactly ``data`` (``None``: no aws-auth at all)."""
    with contextlib.suppress(ApiError):
        plane.api("DELETE", AWS_AUTH_PATH)
    if data is not None:
        plane.api("POST", CONFIGMAPS_PATH, {"metadata": {"name": "aws-auth"}, "data": data})


@contextlib.contextmanager
def seeded(plane: ControlPlane, data: dict[str, str] | None = SEED) -> Iterator[None]:
    """aws-auth holds ``data`` for the duration; what was there before (nothing, normally) is put back."""
    before = plane.aws_auth_data()
    put_aws_auth(plane, data)
    try:
        yield
    finally:
        put_aws_auth(plane, before)


def aws_auth_writes(plane: ControlPlane, since: int, agent: str = OUR_AGENT) -> list[str]:
    """The creates and updates of kube-system/aws-auth by ``agent`` logged after ``since``."""
    return [
        describe_event(e)
        for e in one_per_request(plane.audit.events(since))
        if e.get("verb") in ("create", "update")
        and (e.get("objectRef") or {}).get("resource") == "configmaps"
        and (e.get("objectRef") or {}).get("namespace") == "kube-system"
        and (e.get("objectRef") or {}).get("name") == "aws-auth"
        and str(e.get("userAgent", "")).startswith(agent)
    ]


@dataclass
class Contention:
    """What one contention run took."""

    seconds: float
    """Wall time until every writer was done."""
    attempts: list[int]
    """Each writer's attempts (reads of aws-auth), of those that got in."""
    latest: float
    """Seconds until the last writer got in (the deadline is 60 s)."""
    gave_up: int
    """Writers that stopped at the deadline with AwsAuthConflict."""
    complete: bool
    """Every entry there exactly once, the foreign keys byte-identical."""
    writes: list[str]
    """The aws-auth writes the audit log shows, e.g. ``"update configmaps aws-auth -> 409"``."""

    @property
    def ok(self) -> int:
        return sum(1 for w in self.writes if w.endswith("-> 200"))

    @property
    def refused(self) -> int:
        return sum(1 for w in self.writes if w.endswith("-> 409"))


def contention(plane: ControlPlane, writers: int, coalesce: bool) -> Contention:
    """``writers`` writers, each adding its own mapUsers entry to the seeded aws-auth at the same moment (one
    thread and one connection each), coalesced (one process, one kubeconfig) or separate (as N processes)."""
    kubeconfig = plane.admin_kubeconfig
    key = f"contention-{time.monotonic_ns()}" if coalesce else None
    start = threading.Barrier(writers)
    mark = plane.audit.mark()

    def add(i: int) -> tuple[WriteResult | None, float]:
        writer = AuthConfigMap(connect(kubeconfig), coalesce=key)
        start.wait()
        began = time.perf_counter()
        try:
            result: WriteResult | None = writer.ensure(Entry(MAP_USERS, user_arn(f"ci-{i}"), f"ci-{i}"))
        except AwsAuthConflict:
            result = None
        return result, time.perf_counter() - began

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=writers) as pool:
        results = list(pool.map(add, range(writers)))
    elapsed = time.perf_counter() - started
    data = plane.api("GET", AWS_AUTH_PATH)["data"]
    arns = [e["userarn"] for e in yaml.safe_load(data["mapUsers"])]
    complete = (
        sorted(arns) == sorted([ALICE, TEAM_B, *(user_arn(f"ci-{i}") for i in range(writers))])
        and data["mapUsers"].startswith(OTHER_USERS)
        and data["mapRoles"] == NODE_ROLES
        and data.get("mapAccounts") == SEED.get("mapAccounts")
    )
    done = [(r, s) for r, s in results if r is not None]
    return Contention(
        seconds=elapsed,
        attempts=[r.attempts for r, _ in done],
        latest=max((s for _, s in done), default=0.0),
        gave_up=len(results) - len(done),
        complete=complete,
        writes=aws_auth_writes(plane, mark),
    )
