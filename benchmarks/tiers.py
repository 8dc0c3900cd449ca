"""Wall time of each test tier, as docs/performance.md states it: run each tier ``--repeat`` times, print the range.

    venv/bin/python -m benchmarks.tiers [--repeat 3] [--tier fast kubectl cluster engine]

Each run is ``venv/bin/python -m pytest -q -p no:cacheprovider`` (plus ``-m TIER`` but for the fast tier) in a
fresh process; "pytest" is the time pytest reports, "wall" includes start-up and collection.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(tier: str) -> tuple[float, float, str]:
    """One run of ``tier``: (wall seconds, pytest's seconds, pytest's summary line)."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    if tier != "fast":
        command += ["-m", tier]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=3600, check=False)
    wall = time.perf_counter() - started
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-200:]
    if done.returncode != 0:
        raise SystemExit(f"{tier}: pytest failed ({done.returncode}): {summary}")
    found = re.search(r"in ([0-9.]+)s", summary)
    return wall, float(found[1]) if found else float("nan"), summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tier", nargs="+", default=["fast", "kubectl"])
    options = parser.parse_args()
    for tier in options.tier:
        runs = [run(tier) for _ in range(options.repeat)]
        walls, own = [r[0] for r in runs], [r[1] for r in runs]
        print(
            f"{tier}: pytest {min(own):.0f}-{max(own):.0f} s, wall {min(walls):.0f}-{max(walls):.0f} s ({runs[-1][2]})"
        )


if __name__ == "__main__":
    main()
