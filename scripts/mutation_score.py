"""Print mutmut's counts and the score over the mutants that are not equivalent.

    python scripts/mutation_score.py STATS.json SURVIVORS.txt EQUIVALENT.txt [MODULE ...]

STATS is ``mutmut export-cicd-stats``'s file, SURVIVORS ``mutmut results``'s output. EQUIVALENT lists one
mutant per line, ``name  # why it changes nothing observable``; blank lines and lines starting with # are
ignored. Listed mutants that no longer survive (or no longer exist) are reported, so the list stays true.
MODULEs (``eks_cicd_access.arns``, globs allowed) restrict the list to the mutants of the modules a partial
run mutated, so the others are not reported as gone.
"""

from __future__ import annotations

import fnmatch
import json
import sys
from pathlib import Path


def equivalents(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, why = line.partition("#")
        if not why.strip():
            raise SystemExit(f"{path}: {name.strip()} needs a reason after '#'")
        found[name.strip()] = why.strip()
    return found


def main() -> None:
    stats = json.loads(Path(sys.argv[1]).read_text())
    survivors = {}
    for line in Path(sys.argv[2]).read_text().splitlines():
        name, _, status = line.strip().rpartition(": ")
        if name:
            survivors[name] = status
    judged = equivalents(Path(sys.argv[3]))
    if modules := sys.argv[4:]:
        judged = {
            name: why
            for name, why in judged.items()
            if any(fnmatch.fnmatchcase(name.rpartition(".")[0], module) for module in modules)
        }
    surviving = {name for name, status in survivors.items() if status == "survived"}
    equivalent = surviving & set(judged)
    killed = int(stats.get("killed", 0)) + int(stats.get("timeout", 0))
    tested = int(stats.get("total", 0)) - int(stats.get("skipped", 0))
    print(json.dumps(stats, sort_keys=True))
    print(f"mutants tested: {tested}, killed (timeouts included): {killed}, raw score {100 * killed / tested:.1f}%")
    print(f"surviving: {len(surviving)}, judged equivalent: {len(equivalent)}")
    score = 100 * killed / (tested - len(equivalent)) if tested > len(equivalent) else 100.0
    print(f"score over the non-equivalent mutants: {score:.1f}%")
    for name in sorted(surviving - equivalent):
        print(f"  not killed: {name}")
    for name in sorted(set(judged) - surviving):
        print(f"  listed as equivalent but not surviving (remove it): {name}")
    for name, status in sorted(survivors.items()):
        if status not in ("survived", "killed", "timeout"):
            print(f"  {status}: {name}")


if __name__ == "__main__":
    main()
