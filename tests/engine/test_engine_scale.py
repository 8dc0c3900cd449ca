"""What many instances cost the cluster under the real engine (``pytest -m engine``): counts, not timings.

``benchmarks/engine.py`` measures, for its README table, what this checks with three instances on a fresh stack,
as N ``EksCicdAccess`` and as the same resources registered flat: at most one ``aws-auth`` write per entry on create
(edits that arrive while a write is under way go in with the next one, so fewer is right), none on a no-op ``up``,
and one ``DescribeCluster`` per program run whatever N (an ``up`` runs the program twice: its preview, then the
update). Every entry is written and the foreign ones are intact (``measure`` asserts both).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from testbed.engine_stack import Engine
from testbed.scale import measure


@pytest.mark.parametrize("mode", ["component", "flat"])
def test_three_instances_write_once_each_and_look_the_cluster_up_once(
    engine: Engine, tmp_path: Path, mode: str
) -> None:
    """Three instances on one cluster: 1-3 aws-auth writes on create (never more than one per entry), 0 on a no-op
    up, and one getCluster per program run, as many as the flat floor."""
    run = measure(engine, tmp_path, mode, 3)
    assert 1 <= run.writes <= 3, run
    assert run.noop_writes == 0, run
    assert (run.describe, run.noop_describe) == (2, 2)
