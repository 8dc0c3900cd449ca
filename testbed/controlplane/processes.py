"""Child processes of the control plane: started with a log file, waited on, always stopped.

Each process logs to ``<dir>/<name>.log``. On Linux each child also gets
``PR_SET_PDEATHSIG`` (SIGKILL), so that even a pytest killed with SIGKILL
leaves no orphans behind. (The signal comes when the *thread* that started
the child exits: start the control plane from a thread that outlives it, as
pytest's main thread does.)
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _die_with_parent() -> None:
    """Run in the child before exec: get SIGKILL when the parent thread dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class StartupError(RuntimeError):
    """A control-plane process did not start or become ready in time."""


class Process:
    """One control-plane binary running in the background."""

    def __init__(self, name: str, argv: Sequence[str], log_dir: Path, *, env: Mapping[str, str] | None = None) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.popen = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 30) -> str:
        """The last ``lines`` lines of the process's output."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError as error:
            return f"(no log: {error})"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds; reap the child."""
        if self.running():
            self.popen.terminate()
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)
        self._log.close()

    def describe(self) -> str:
        state = "running" if self.running() else f"exited with {self.popen.returncode}"
        return f"--- {self.name} (pid {self.pid}, {state}; log {self.log_path}) ---\n{self.tail()}"


def wait_until(
    what: str,
    check: Callable[[], bool],
    *,
    timeout: float,
    watch: Sequence[Process] = (),
    interval: float = 0.25,
) -> float:
    """Poll ``check`` until it returns true; return the seconds it took.

    Raise ``StartupError`` (with every watched process's log tail) after
    ``timeout`` seconds, or at once if a watched process exits. Exceptions
    from ``check`` count as "not yet"; the last one is reported.
    """
    started = time.monotonic()
    last = ""
    while True:
        try:
            if check():
                return time.monotonic() - started
        except Exception as error:
            last = f"{type(error).__name__}: {error}"
        dead = [p for p in watch if not p.running()]
        elapsed = time.monotonic() - started
        if dead or elapsed > timeout:
            why = f"{', '.join(p.name for p in dead)} exited" if dead else f"not within {timeout:.0f} s"
            logs = "\n".join(p.describe() for p in watch)
            raise StartupError(f"{what}: {why}" + (f" (last error: {last})" if last else "") + f"\n{logs}")
        time.sleep(interval)


def environment(**extra: str) -> dict[str, str]:
    """A minimal environment for the binaries: PATH and whatever is given (e.g. HOME)."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **extra}
