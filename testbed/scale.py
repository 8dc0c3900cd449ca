"""N instances of the component on one cluster under the real engine: what ``benchmarks/engine.py`` times and
``tests/engine/test_engine_scale.py`` counts (aws-auth reads and writes, DescribeCluster calls) on a fresh stack."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from testbed.aws_standin.provider import CALLS
from testbed.controlplane.fixture import ControlPlane, one_per_request
from testbed.engine_stack import Engine, Project

PROGRAM = Path(__file__).with_name("scale_program.py")
PULUMI_YAML = """name: eks-cicd-bench
runtime:
  name: python
  options:
    toolchain: pip
    virtualenv: venv
"""
FOREIGN = {
    "mapRoles": yaml.safe_dump(
        [
            {
                "rolearn": "arn:aws:iam::123456789012:role/eks-node",
                "username": "system:node:{{EC2PrivateDNSName}}",
                "groups": ["system:bootstrappers", "system:nodes"],
            }
        ]
    ),
    "mapUsers": yaml.safe_dump([{"userarn": "arn:aws:iam::123456789012:user/other", "username": "other"}]),
}
AWS_AUTH = "/api/v1/namespaces/kube-system/configmaps/aws-auth"
WRITES = ("create", "update", "patch", "delete")


@dataclass
class Run:
    """One repeat of one (mode, N): seconds and counts."""

    preview: float
    up: float
    noop: float
    reads: int
    writes: int
    noop_writes: int
    describe: int
    noop_describe: int


def aws_auth_requests(plane: ControlPlane, mark: int) -> tuple[int, int]:
    """The successful reads and writes of kube-system/aws-auth since ``mark`` (one per request)."""
    reads = writes = 0
    for event in one_per_request(plane.audit.events(mark)):
        ref = event.get("objectRef") or {}
        if ref.get("resource") != "configmaps" or ref.get("name") != "aws-auth":
            continue
        if (event.get("responseStatus") or {}).get("code", 500) >= 300:
            continue
        if event["verb"] in WRITES:
            writes += 1
        elif event["verb"] == "get":
            reads += 1
    return reads, writes


def describe_calls(path: Path) -> int:
    """The getCluster invokes the stand-in logged, and empty the log."""
    if not path.exists():
        return 0
    found = sum('"aws:eks/getCluster:getCluster"' in line for line in path.read_text().splitlines())
    path.unlink()
    return found


def reset_aws_auth(plane: ControlPlane) -> None:
    body = {"metadata": {"name": "aws-auth", "namespace": "kube-system"}, "data": FOREIGN}
    if plane.aws_auth_data() is None:
        plane.api("POST", "/api/v1/namespaces/kube-system/configmaps", body)
    else:
        plane.api("PUT", AWS_AUTH, body)


def project_for(engine: Engine, root: Path, mode: str, count: int) -> Project:
    """A fresh project of the benchmark program, its stack ``bench`` configured for ``mode`` and ``count``."""
    project = Project.make(engine, root, "bench", {"Pulumi.yaml": PULUMI_YAML, "__main__.py": PROGRAM.read_text()})
    project.env[CALLS] = str(root / "calls.jsonl")
    project("login", project.backend)
    project("stack", "select", "--create", "bench")
    project("config", "set", "aws:region", "us-east-1")
    project("config", "set", "instances", str(count))
    project("config", "set", "mode", mode)
    project("config", "set", "--secret", "kubeconfig", stdin=engine.plane.admin_kubeconfig)
    return project


def timed(call: Callable[[], Any]) -> float:
    started = time.monotonic()
    call()
    return time.monotonic() - started


def measure(engine: Engine, root: Path, mode: str, count: int) -> Run:
    """One fresh stack of ``count`` instances: preview, up, no-op up (each timed and counted), checked, destroyed."""
    plane = engine.plane
    reset_aws_auth(plane)
    project = project_for(engine, root, mode, count)
    calls = Path(project.env[CALLS])
    try:
        preview = timed(lambda: project("preview"))
        describe_calls(calls)
        mark = plane.audit.mark()
        up = timed(lambda: project("up", "--yes", "--parallel", "16"))
        reads, writes = aws_auth_requests(plane, mark)
        describe = describe_calls(calls)
        users = yaml.safe_load((plane.aws_auth_data() or {}).get("mapUsers") or "[]")
        ours = {u["userarn"] for u in users if u.get("userarn", "").endswith(tuple(f"/ci-{i}" for i in range(count)))}
        assert len(ours) == count, f"{mode} {count}: {len(ours)} entries written"
        assert yaml.safe_load(FOREIGN["mapUsers"])[0] in users, "the foreign user entry is gone"
        mark = plane.audit.mark()
        noop = timed(lambda: project("up", "--yes", "--parallel", "16"))
        _, noop_writes = aws_auth_requests(plane, mark)
        noop_describe = describe_calls(calls)
    finally:
        project("destroy", "--yes", "--skip-preview", "--parallel", "16", ok=None)
    assert plane.aws_auth_data() == FOREIGN, "destroy left aws-auth otherwise than it was"
    return Run(preview, up, noop, reads, writes, noop_writes, describe, noop_describe)
