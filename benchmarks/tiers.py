"""Wall time of each test tier, as docs/performance.md states it: run each tier ``--repeat`` times, print the range.

    venv/bin/python -m benchmarks.tiers [--repeat 3] [--tier fast kubectl cluster engine] [--slowest N]

Each run is ``venv/bin/python -m pytest -q -p no:cacheprovider`` (plus ``-m TIER`` but for the fast tier) in a
fresh process; "pytest" is the time pytest reports, "wall" includes start-up and collection. With ``--slowest N``,
each test's range too, for the N slowest phases of each run (pytest's ``--durations``).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(tier: str, slowest: int = 0) -> tuple[float, float, str, dict[str, float]]:
    """One run of ``tier``: (wall seconds, pytest's seconds, pytest's summary line, the ``slowest`` slowest
    phases' seconds by ``phase test-id``)."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    if tier != "fast":
        command += ["-m", tier]
    if slowest:
        command += [f"--durations={slowest}"]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=3600, check=False)
    wall = time.perf_counter() - started
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-200:]
    if done.returncode != 0:
        raise SystemExit(f"{tier}: pytest failed ({done.returncode}): {summary}")
    found = re.search(r"in ([0-9.]+)s", summary)
    durations = re.finditer(r"^([0-9.]+)s (\w+) +(\S+)$", done.stdout, re.MULTILINE)
    phases = {f"{m[2]} {m[3]}": float(m[1]) for m in durations}
    return wall, float(found[1]) if found else float("nan"), summary, phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tier", nargs="+", default=["fast", "kubectl"])
    parser.add_argument("--slowest", type=int, default=0, metavar="N")
    options = parser.parse_args()
    for tier in options.tier:
        runs = [run(tier, options.slowest) for _ in range(options.repeat)]
        walls, own = [r[0] for r in runs], [r[1] for r in runs]
        print(
            f"{tier}: pytest {min(own):.0f}-{max(own):.0f} s, wall {min(walls):.0f}-{max(walls):.0f} s ({runs[-1][2]})"
        )
        for phase in sorted({p for r in runs for p in r[3]}):
            seen = [r[3][phase] for r in runs if phase in r[3]]
            print(f"  {phase}: {min(seen):.0f}-{max(seen):.0f} s ({len(seen)} of {len(runs)} runs)")


if __name__ == "__main__":
    main()
