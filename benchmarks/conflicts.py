"""How the aws-auth writer behaves under contention, with the default retry policy, in real time.

    venv/bin/python -m benchmarks.conflicts [--writers 5 20 50 100] [--repeat 3] [--give-up]

Against the HTTPS test API server (``testbed/apiserver``), on loopback:

- **give up** (with ``--give-up``): every write refused with 409; seconds until
  the writer stops (the 60 s deadline) and the writes it tried;
- **contention**: N writers, each adding its own entry at the same moment
  (one thread and one HTTP connection each), either **separate** (no
  coalescing, as N processes would write) or **coalesced** (one process, one
  kubeconfig: what the provider does); wall time until all are in, the
  attempts each needed, the writes made, and whether every entry (and every
  foreign one) is there.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import yaml

from eks_cicd_access.aws_auth.entries import MAP_USERS
from eks_cicd_access.aws_auth.writer import AuthConfigMap, AwsAuthConflict, Entry, WriteResult, connect
from testbed.apiserver.server import KubeApiServer
from testbed.aws_auth_seed import ADMIN_TOKEN, DEPLOYER, NODE_ROLES, OTHER_USERS


def server() -> KubeApiServer:
    api = KubeApiServer(cluster_name="c", tokens={ADMIN_TOKEN: DEPLOYER}).__enter__()
    api.seed_configmap("kube-system", "aws-auth", {"mapRoles": NODE_ROLES, "mapUsers": OTHER_USERS})
    return api


def give_up() -> tuple[float, int]:
    api = server()
    try:
        api.refuse_configmap_writes = 10**9
        writer = AuthConfigMap(connect(api.kubeconfig(ADMIN_TOKEN)))
        started = time.perf_counter()
        with contextlib.suppress(AwsAuthConflict):
            writer.ensure(Entry(MAP_USERS, "arn:aws:iam::1:user/ci", "ci"))
        return time.perf_counter() - started, sum(1 for r in api.requests if r.attributes.verb == "update")
    finally:
        api.__exit__(None, None, None)


def contention(writers: int, coalesce: bool) -> tuple[float, list[int], bool, int]:
    api = server()
    try:
        kubeconfig = api.kubeconfig(ADMIN_TOKEN)
        start = threading.Barrier(writers)

        def add(i: int) -> WriteResult:
            writer = AuthConfigMap(connect(kubeconfig), coalesce=f"bench-{id(api)}" if coalesce else None)
            start.wait()
            return writer.ensure(Entry(MAP_USERS, f"arn:aws:iam::1:user/ci-{i}", f"ci-{i}"))

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=writers) as pool:
            results = list(pool.map(add, range(writers)))
        elapsed = time.perf_counter() - started
        stored = api.configmap("kube-system", "aws-auth")
        assert stored is not None
        arns = {e["userarn"] for e in yaml.safe_load(stored["data"]["mapUsers"])}
        complete = arns >= {f"arn:aws:iam::1:user/ci-{i}" for i in range(writers)} and stored["data"][
            "mapUsers"
        ].startswith(OTHER_USERS)
        writes = sum(1 for r in api.requests if r.attributes.verb == "update")
        return elapsed, [r.attempts for r in results], complete, writes
    finally:
        api.__exit__(None, None, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, nargs="+", default=[5, 20, 50, 100])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--give-up", action="store_true", help="also time the give-up (a minute per repeat)")
    options = parser.parse_args()
    if options.give_up:
        runs = [give_up() for _ in range(options.repeat)]
        seconds = [s for s, _ in runs]
        print(
            f"give up (every write refused): {min(seconds):.2f}-{max(seconds):.2f} s, median "
            f"{statistics.median(seconds):.2f} s; writes tried: {sorted({n for _, n in runs})}"
        )
    print(
        f"{'writers':>7} {'mode':>9} {'all in':>6} {'s: min-max':>11} {'attempts: median':>17} {'max':>4} {'writes':>7}"
    )
    for writers in options.writers:
        for coalesce in (False, True):
            results = [contention(writers, coalesce) for _ in range(options.repeat)]
            attempts = [a for _, each, _, _ in results for a in each]
            seconds = [s for s, _, _, _ in results]
            print(
                f"{writers:>7} {'coalesced' if coalesce else 'separate':>9} {all(r[2] for r in results)!s:>6} "
                f"{f'{min(seconds):.2f}-{max(seconds):.2f}':>11} {statistics.median(attempts):>17.0f} "
                f"{max(attempts):>4} {f'{min(r[3] for r in results)}-{max(r[3] for r in results)}':>7}"
            )


if __name__ == "__main__":
    main()
