"""Real-engine performance: ``pulumi preview`` and ``pulumi up`` of N instances on one cluster, component vs flat.

    venv/bin/python -m benchmarks.engine [--instances 1 10 50] [--repeat 3]

For each N and each way of registering them (``testbed/scale_program.py``: N ``EksCicdAccess``, or the same
resources registered flat), on a fresh project and backend each repeat, with the real Pulumi CLI, the AWS stand-in in
front of moto (server mode) and the real control plane (``testbed/engine_stack.py``), it measures:

- the wall time of ``pulumi preview``, of the creating ``pulumi up --yes``, and of a second, no-op ``up``;
- per ``up``: the ``aws-auth`` reads and writes (from the API server's audit log) and the ``DescribeCluster``
  calls (``aws:eks/getCluster``, logged by the stand-in; an ``up`` runs the program twice, for its preview and
  for the update);
- that every entry is written and the foreign ones are intact, and then destroys the stack.

It prints the median and the range of each figure; docs/performance.md has its output, dated. The
cluster lives for the whole run; moto and the control plane are in-process or on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from collections.abc import Sequence
from pathlib import Path

from testbed.engine_stack import engine_on_loopback
from testbed.scale import measure


def spread(values: Sequence[float], unit: str = "s") -> str:
    """``median (min-max)``."""
    if unit == "s":
        return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"
    low, high = int(min(values)), int(max(values))
    return str(low) if low == high else f"{low}-{high}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--modes", nargs="+", default=["component", "flat"], help="also: flat-parented")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="eks-cicd-bench-") as tmp, engine_on_loopback(Path(tmp)) as engine:
        print(
            "| N | way | preview s | up s | no-op up s | aws-auth reads / writes per up | no-op writes "
            "| DescribeCluster per up (no-op) |"
        )
        print("|---|---|---|---|---|---|---|---|")
        medians: dict[tuple[int, str], float] = {}
        for count in options.instances:
            for mode in options.modes:
                runs = [measure(engine, Path(tmp) / f"{mode}-{count}-{i}", mode, count) for i in range(options.repeat)]
                medians[count, mode] = statistics.median(r.up for r in runs)
                print(
                    f"| {count} | {mode} | {spread([r.preview for r in runs])} | {spread([r.up for r in runs])} "
                    f"| {spread([r.noop for r in runs])} "
                    f"| {spread([r.reads for r in runs], '')} / {spread([r.writes for r in runs], '')} "
                    f"| {spread([r.noop_writes for r in runs], '')} "
                    f"| {spread([r.describe for r in runs], '')} ({spread([r.noop_describe for r in runs], '')}) |",
                    flush=True,
                )
        for count in options.instances:
            for mode in options.modes:
                if mode != "flat" and "flat" in options.modes:
                    ratio = medians[count, mode] / medians[count, "flat"]
                    print(f"N = {count}: {mode} / flat (median up) = {ratio:.2f}")


if __name__ == "__main__":
    main()
