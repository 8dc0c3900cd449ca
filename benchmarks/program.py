"""How long a program takes to evaluate with many EksCicdAccess instances (under Pulumi mocks).

    venv/bin/python -m benchmarks.program [--instances 100 400] [--repeat 3]

For each count it times, in one process:

- ``component``: N ``EksCicdAccess`` instances, as a program would create them;
- ``flat``: the same child resources, with the same inputs, registered
  directly (no component, no validation, the dynamic provider already
  serialized), as the floor to compare against;

and, separately, what serializing the aws-auth entry's dynamic provider costs
per instance (``pulumi.dynamic`` pickles it with dill for every resource).

The mocks answer ``getCluster`` and any read, and echo inputs, so the script
also runs against older versions of the package (``PYTHONPATH=<old>/components``).
Timings are wall-clock; docs/performance.md gives the figures measured, dated.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor

from eks_cicd_access import EksCicdAccess


class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        outputs = dict(args.inputs)
        if args.resource_id:  # a read (older versions read kube-system/aws-auth)
            return args.resource_id, {"data": {"mapRoles": "- rolearn: arn:aws:iam::1:role/node\n"}}
        name = outputs.get("name", args.name)
        if args.typ == "aws:iam/user:User":
            outputs.update(arn=f"arn:aws:iam::123412341234:user/{name}", uniqueId=f"AIDA{name}")
        elif args.typ == "aws:iam/policy:Policy":
            outputs.update(arn=f"arn:aws:iam::123412341234:policy/{name}")
        elif args.typ == "aws:iam/accessKey:AccessKey":
            outputs.update(secret="secret")
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        name = args.args.get("name", "c")
        return {
            "name": name,
            "arn": f"arn:aws:eks:us-east-1:123412341234:cluster/{name}",
            "endpoint": "https://example.eks.amazonaws.com",
            "certificateAuthorities": [{"data": "Q0E="}],
            "accessConfigs": [{"authenticationMode": "API_AND_CONFIG_MAP"}],
        }, []


class Recorder(MockMonitor):
    """Keeps each registration's type, name and inputs (to replay them flat)."""

    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.registered: list[tuple[str, str, dict[str, Any]]] = []

    def RegisterResource(self, request: Any) -> Any:
        if request.custom:
            self.registered.append((request.type, request.name, rpc.deserialize_properties(request.object)))
        return super().RegisterResource(request)


def args_for(i: int) -> Any:
    return {"cluster_name": "c", "namespace": f"team-{i}", "iam_user_name": f"ci-{i}"}


def run(program: Callable[[], None], monitor: MockMonitor | None = None) -> float:
    """Seconds to evaluate ``program`` until every registration has been answered."""
    mocks = Mocks()
    pulumi.runtime.set_mocks(
        mocks, project="bench", stack="bench", preview=False, monitor=monitor or MockMonitor(mocks)
    )

    @pulumi.runtime.test
    def evaluate() -> None:
        program()

    started = time.perf_counter()
    evaluate()
    return time.perf_counter() - started


def children_of_one_instance() -> list[tuple[str, str, dict[str, Any]]]:
    recorder = Recorder(Mocks())
    run(component_program(1), recorder)
    return recorder.registered


def flat_program(children: list[tuple[str, str, dict[str, Any]]], count: int) -> Callable[[], None]:
    def program() -> None:
        for i in range(count):
            for type_, name, inputs in children:
                pulumi.CustomResource(type_, f"{name}-{i}", dict(inputs))

    return program


def component_program(count: int) -> Callable[[], None]:
    def program() -> None:
        for i in range(count):
            EksCicdAccess(f"ci-{i}", args_for(i))

    return program


def provider_pickling() -> tuple[float, int] | None:
    """Microseconds per serialization of the aws-auth entry's provider, and its size; ``None`` before it existed."""
    try:
        from pulumi.dynamic.dynamic import serialize_provider

        # the name every version has (0.4's aws_auth_entry re-exports it), so older packages are timed too
        from eks_cicd_access.aws_auth_entry import AwsAuthEntryProvider
    except ImportError:
        return None
    provider = AwsAuthEntryProvider()
    rounds = 2000
    started = time.perf_counter()
    for _ in range(rounds):
        serialized = serialize_provider(provider)
    return (time.perf_counter() - started) / rounds * 1e6, len(serialized)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, nargs="+", default=[100, 400])
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    children = children_of_one_instance()
    print(f"children per instance: {len(children)} ({', '.join(sorted({t for t, _, _ in children}))})")
    print(f"{'instances':>9} {'component s':>12} {'flat s':>8} {'ratio':>6} {'ms/instance':>12}")
    for count in options.instances:
        component = statistics.median(run(component_program(count)) for _ in range(options.repeat))
        flat = statistics.median(run(flat_program(children, count)) for _ in range(options.repeat))
        print(f"{count:>9} {component:>12.2f} {flat:>8.2f} {component / flat:>6.2f} {component / count * 1e3:>12.1f}")
    pickling = provider_pickling()
    if pickling is not None:
        micros, size = pickling
        print(f"dynamic provider: {micros:.0f} us and {size} bytes (base64) per instance")


if __name__ == "__main__":
    main()
