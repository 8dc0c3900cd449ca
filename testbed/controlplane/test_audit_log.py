"""The control plane's audit-log reader returns whole events only, whatever the API server was writing then."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from testbed.controlplane.fixture import AuditLog

LINES = [json.dumps({"n": n, "user": {"username": "u"}}) + "\n" for n in range(3)]


def test_a_mark_inside_a_line_drops_that_earlier_event(tmp_path: Path) -> None:
    """A mark taken while an event's line was half written: that event came before the mark and is not returned."""
    path = tmp_path / "audit.log"
    path.write_text(LINES[0] + LINES[1][:10])
    log = AuditLog(path)
    mark = log.mark()
    with path.open("a") as out:
        out.write(LINES[1][10:] + LINES[2])
    assert [e["n"] for e in log.events(mark, settle=0.05)] == [2]


def test_a_line_being_written_at_the_end_is_waited_for(tmp_path: Path) -> None:
    """The log stopped growing inside a line (the rest still to come): the reader waits for the rest of it."""
    path = tmp_path / "audit.log"
    path.write_text(LINES[0] + LINES[1][:10])

    def finish() -> None:
        time.sleep(0.4)
        with path.open("a") as out:
            out.write(LINES[1][10:])

    writer = threading.Thread(target=finish)
    writer.start()
    try:
        assert [e["n"] for e in AuditLog(path).events(0, settle=0.05)] == [0, 1]
    finally:
        writer.join()
