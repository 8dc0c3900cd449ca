"""The aws-auth writer under contention against the REAL API server (etcd-backed preconditions, real 409s).

    venv/bin/python -m benchmarks.conflicts_cluster [--writers 5 20 50 100] [--repeat 3]

The sibling of ``benchmarks/conflicts.py`` (the stand-in server): it starts one
control plane (``testbed/controlplane``: etcd, kube-apiserver v1.37.2 and the
rest, binaries from ``scripts/tools``) for the whole run, re-seeds
``kube-system/aws-auth`` (node roles, two other teams' users, an account)
before each run, and runs ``testbed.contention.contention``: N
writers, each adding its own entry at the same moment (one thread and one
connection each), **separate** (no coalescing, as N processes would write) or
**coalesced** (one process, one kubeconfig: what the provider does), with the
default retry policy (60 s deadline, full jitter up to 2 s). Writes are
counted from the API server's audit log.

Columns: whether every entry (and every foreign key, byte-identical) was there
in every run; writers that gave up at the deadline (all runs); wall time
(min-max over the runs); seconds until the last writer got in (max); attempts
per writer (median, max, over all runs); successful and refused (409) writes
(min-max).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from testbed.contention import Contention, contention, seeded
from testbed.controlplane.fixture import ControlPlane, find_tools
from testbed.names import CLUSTER_NAME


def spread(values: list[int] | list[float], fmt: str = "{}") -> str:
    return f"{fmt.format(min(values))}-{fmt.format(max(values))}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, nargs="+", default=[5, 20, 50, 100])
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="conflicts-cluster-") as workdir,
        ControlPlane(find_tools("cluster"), Path(workdir), cluster_name=CLUSTER_NAME) as plane,
    ):
        print(f"kube-apiserver {plane.version()} at {plane.url}", file=sys.stderr)
        print(
            f"{'writers':>7} {'mode':>9} {'all in':>6} {'gave up':>7} {'s: min-max':>11} {'last in':>7} "
            f"{'attempts: median':>16} {'max':>4} {'writes':>7} {'409s':>9}"
        )
        for writers in options.writers:
            for coalesce in (False, True):
                runs: list[Contention] = []
                for _ in range(options.repeat):
                    with seeded(plane):
                        runs.append(contention(plane, writers, coalesce))
                attempts = [a for r in runs for a in r.attempts] or [0]
                print(
                    f"{writers:>7} {'coalesced' if coalesce else 'separate':>9} "
                    f"{all(r.complete for r in runs)!s:>6} {sum(r.gave_up for r in runs):>7} "
                    f"{spread([r.seconds for r in runs], '{:.2f}'):>11} {max(r.latest for r in runs):>7.2f} "
                    f"{statistics.median(attempts):>16.0f} {max(attempts):>4} "
                    f"{spread([r.ok for r in runs]):>7} {spread([r.refused for r in runs]):>9}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
