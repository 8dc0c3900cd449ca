"""``scripts/demo``: the whole flow on this machine, without AWS, printing each step as it goes.

1. build or reuse the tools (``scripts/tools``: the control plane's and the Pulumi CLI's);
2. start the control plane (``testbed/controlplane``) and moto in server mode, with an ``aws-auth`` that already
   maps the nodes and another team;
3. ``pulumi up`` the dev stack (``Pulumi.dev.yaml``) with the real CLI, the AWS stand-in in front of moto and
   the real Kubernetes provider;
4. deploy an image and roll it back with the key the stack exported, through real kubectl;
5. show that another namespace is refused;
6. ``pulumi destroy``, and show that only the other entries are left in ``aws-auth``;
7. stop everything.

``--identity-mapping`` (``aws-auth``, ``access-entry``, ``auto``) and ``--authentication-mode`` (``CONFIG_MAP``,
``API_AND_CONFIG_MAP``, ``API``) choose the route and the cluster's mode; step 4 says which backend of
aws-iam-authenticator admitted CI. ``--migrate`` adds a step before ``destroy``: CI moves from ``aws-auth`` to an
access entry (the cluster first taken to ``API_AND_CONFIG_MAP`` if it is in ``CONFIG_MAP``), or back, with one
``pulumi up`` while a loop asks the authenticator who CI is every 0.2 s, and the step prints how many times it
said no (a CI request would have had a 401).

Everything runs on 127.0.0.1, in a temporary directory that is removed at the end (``--keep`` keeps it). What is
EKS's own code: aws-iam-authenticator, the token webhook. What is a stand-in: moto is not AWS, the AWS plugin is
ours, not pulumi-aws, STS and EKS's access-entry API are ours (docs/proofs.md, "The real engine").
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from testbed.controlplane.fixture import TOOLS_SCRIPT, ControlPlane, find_tools
from testbed.engine_stack import Engine, Project, Refusals, engine_on_loopback
from testbed.names import CLUSTER_NAME
from testbed.workload import IMAGE, manifest

NAMESPACE = "my-test-ns"
#: The authenticator's backend that reads each route's mapping.
BACKENDS = {"aws-auth": "EKSConfigMap (aws-auth)", "access-entry": "DynamicFile (access entries)"}
#: The mappings each authentication mode lets CI through (the component refuses the others at preview).
ROUTES = {
    "CONFIG_MAP": ("aws-auth", "auto"),
    "API_AND_CONFIG_MAP": ("aws-auth", "access-entry", "auto"),
    "API": ("access-entry", "auto"),
}
#: A cold build of the demo's tools on CI's machine (docs/performance.md).
COLD_TIME = "20-35 minutes"
COLD_DISK = "4 GB of Go module cache and 10 GB of Go build cache"
OTHERS = {
    "mapRoles": yaml.safe_dump(
        [
            {
                "rolearn": "arn:aws:iam::123456789012:role/eks-node",
                "username": "system:node:{{EC2PrivateDNSName}}",
                "groups": ["system:bootstrappers", "system:nodes"],
            }
        ]
    ),
    "mapUsers": yaml.safe_dump(
        [{"userarn": "arn:aws:iam::123456789012:user/team-b-ci", "username": "team-b-ci", "groups": ["team-b"]}]
    ),
}


class DemoFailed(SystemExit):
    """A step did not do what it should: the message says which, and the exit status is 1."""


def step(number: int, text: str) -> float:
    print(f"\n==> {number}. {text}", flush=True)
    return time.monotonic()


def done(started: float, text: str = "") -> None:
    print(f"    ok ({time.monotonic() - started:.1f} s){': ' + text if text else ''}", flush=True)


def check(condition: bool, what: str, detail: Any = "") -> None:
    if not condition:
        raise DemoFailed(f"demo: {what}\n{detail}")


def summary(output: str) -> str:
    """The engine's resource summary (``+ 11 created`` ...): the lines after the last ``Resources:``."""
    lines = [line.strip() for line in output.splitlines()]
    start = max(i for i, line in enumerate(lines) if line == "Resources:")
    counts = []
    for line in lines[start + 1 :]:
        if not line:
            break
        counts.append(line)
    return ", ".join(counts)


def kubectl(plane: ControlPlane, outputs: dict[str, Any], *args: str) -> tuple[int, str]:
    """CI's kubectl: the exported kubeconfig and key only. Prints the command and its answer."""
    print(f"    $ kubectl {' '.join(args)}", flush=True)
    credentials = {"AWS_ACCESS_KEY_ID": outputs["accessKeyId"], "AWS_SECRET_ACCESS_KEY": outputs["secretAccessKey"]}
    run = plane.kubectl(list(args), kubeconfig=outputs["kubeconfig"], credentials=credentials, timeout=120)
    for line in (run.stdout + run.stderr).strip().splitlines()[-3:]:
        print(f"      {line}", flush=True)
    return run.returncode, run.stdout + run.stderr


def prerequisites() -> str:
    """What the first step needs, said before it starts: which tools are missing, and what building them takes."""
    missing = subprocess.run(
        [str(TOOLS_SCRIPT), "--missing", "@demo"], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    if not missing:
        return "every tool is built already (scripts/tools @demo): seconds"
    go = shutil.which("go")
    version = subprocess.run([go, "version"], capture_output=True, text=True, check=False).stdout.strip() if go else ""
    return (
        f"to build from source through the Go module proxy: {', '.join(missing)}.\n"
        f"    Needs Go ({version or 'not found: install Go first'}), network access to the Go module proxy, about "
        f"{COLD_DISK}, and {COLD_TIME} on a 2-core machine (docs: cold-path figures); once built, the demo takes "
        "under a minute. Progress follows, a line per tool and every 30 s."
    )


def resource_counts(project: Project) -> str:
    """What the engine's count is made of: the component's children by type, then the rest of the stack's state."""
    resources = project.state()["deployment"]["resources"]
    component = next(r["urn"] for r in resources if r["type"] == "eks-cicd-access:index:EksCicdAccess")
    children = Counter(r["type"] for r in resources if r.get("parent") == component)
    # Default providers (the engine's own, named default*) are not in the engine's count.
    others = [
        r["type"]
        for r in resources
        if r.get("parent") != component
        and not (r["type"].startswith("pulumi:providers:") and r["urn"].rsplit("::", 1)[-1].startswith("default"))
    ]
    lines = [f"      {n} x {kind}" for kind, n in sorted(children.items())]
    return (
        f"    {sum(children.values())} children of the component:\n" + "\n".join(lines) + f"\n    and {len(others)} "
        f"more: {', '.join(others)} (the stack itself, the program's Kubernetes provider, the component)"
    )


def migrate(engine: Engine, project: Project, outputs: dict[str, Any], mapping: str, mode: str) -> str:
    """Move CI to the other mapping with one ``pulumi up``, asking the authenticator every 0.2 s meanwhile; what
    happened. ``auto`` moves by the cluster's mode alone; the others by their config."""
    plane, moto = engine.plane, engine.moto
    route = outputs["identityMapping"]
    if mode == "CONFIG_MAP":
        print(f"    $ aws eks update-cluster-config --name {CLUSTER_NAME} "
              "--access-config authenticationMode=API_AND_CONFIG_MAP", flush=True)  # fmt: skip
        moto.client("eks").update_cluster_config(
            name=CLUSTER_NAME, accessConfig={"authenticationMode": "API_AND_CONFIG_MAP"}
        )
    target = "access-entry" if route == "aws-auth" else "aws-auth"
    if mapping != "auto":
        project("config", "set", "identityMapping", target)
    with Refusals(plane, outputs["accessKeyId"], outputs["secretAccessKey"]) as asked:
        up = project("up", "--yes")
    moved = project.outputs()["identityMapping"]
    check(moved == target, f"CI is mapped by {moved}, not {target}", up.stdout)
    check(asked.asked > 0, "the authenticator was never asked")
    check(asked.refused == 0, f"CI was refused {asked.refused} times in {asked.asked} while up ran", up.stdout)
    changes = summary(up.stdout)
    return f"{route} -> {target}: CI refused {asked.refused} times in {asked.asked} asks while up ran ({changes})"


def demo(work: Path, mapping: str = "aws-auth", mode: str = "API_AND_CONFIG_MAP", migrating: bool = False) -> None:
    started = step(1, "build or reuse the tools (scripts/tools @demo, the set named in scripts/tool-sets)")
    print(f"    {prerequisites()}", flush=True)
    tools = find_tools("demo", progress=True)
    done(started, ", ".join(f"{name} {path.parent.parent.name}" for name, path in tools.items()))

    started = step(2, f"start the control plane and moto (127.0.0.1 only), the cluster in {mode} mode")
    with engine_on_loopback(work, tools) as engine:
        plane, moto = engine.plane, engine.moto
        # As if the cluster had been made in that mode (EKS's modes only move forward).
        moto.made_in(mode)
        plane.api(
            "POST",
            "/api/v1/namespaces/kube-system/configmaps",
            {"metadata": {"name": "aws-auth"}, "data": OTHERS},
        )
        done(started, f"kube-apiserver {plane.version()} at {plane.url}, moto at {moto.url}; aws-auth maps the nodes")

        started = step(3, f"pulumi up the dev stack (Pulumi.dev.yaml: the recipe's names), mapped by {mapping}")
        project = Project.copy(engine, work)
        project.echo = True
        print("    (the README's deploy steps; the kubeconfig set is the control plane's admin one)", flush=True)
        project.create_dev_stack(plane.admin_kubeconfig)
        if mapping != "aws-auth":
            project("config", "set", "identityMapping", mapping)
        up = project("up", "--yes")
        outputs = project.outputs(secrets=True)
        route = outputs["identityMapping"]
        if route == "aws-auth":
            users = yaml.safe_load((plane.aws_auth_data() or {}).get("mapUsers") or "[]")
            check(any(u.get("userarn") == outputs["iamUserArn"] for u in users), "our aws-auth entry is missing", users)
        else:
            entries = list(moto.access.cluster(CLUSTER_NAME).entries)
            check(entries == [outputs["iamUserArn"]], "our access entry is missing", entries)
            check(plane.aws_auth_data() == OTHERS, "aws-auth was written", plane.aws_auth_data())
        print(f"    {summary(up.stdout)}, of which:\n{resource_counts(project)}", flush=True)
        done(started, f"CI's key {outputs['accessKeyId']}, user {outputs['kubernetesUsername']}")

        started = step(4, f"deploy an image and roll it back as CI, with the exported key ({NAMESPACE})")
        plane.api("POST", f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments", manifest(1, NAMESPACE))
        for args in (
            ("-n", NAMESPACE, "set", "image", "deployment/web", f"app={IMAGE.format(2)}"),
            ("-n", NAMESPACE, "rollout", "status", "deployment/web", "--timeout=90s"),
            ("-n", NAMESPACE, "rollout", "undo", "deployment/web"),
            ("-n", NAMESPACE, "rollout", "status", "deployment/web", "--timeout=90s"),
        ):
            code, text = kubectl(plane, outputs, *args)
            check(code == 0, f"kubectl {' '.join(args)} failed", text)
        done(started, f"CI admitted by aws-iam-authenticator's {BACKENDS[route]} backend (in {mode} mode)")

        started = step(5, "another namespace is refused")
        code, text = kubectl(plane, outputs, "-n", "kube-system", "get", "deployments")
        check(code != 0 and "forbidden" in text.lower(), "kube-system was not refused", text)
        done(started, "refused")

        number = 6
        if migrating:
            started = step(number, f"move CI off {route} with one pulumi up, asking the authenticator meanwhile")
            done(started, migrate(engine, project, outputs, mapping, mode))
            number += 1
        started = step(number, "pulumi destroy")
        down = project("destroy", "--yes")
        check(plane.aws_auth_data() == OTHERS, "aws-auth is not what it was", plane.aws_auth_data())
        done(started, f"{summary(down.stdout)}; aws-auth holds only the nodes and team-b, byte for byte")
        started = step(number + 1, "stop everything")
    done(started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/demo", description=__doc__.split("\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, state, certificates)")
    parser.add_argument("--identity-mapping", choices=["aws-auth", "access-entry", "auto"], default="aws-auth")
    parser.add_argument("--authentication-mode", choices=list(ROUTES), default="API_AND_CONFIG_MAP")
    parser.add_argument("--migrate", action="store_true", help="move CI to the other mapping before destroy")
    args = parser.parse_args(argv)
    if args.migrate and args.authentication_mode == "API":
        parser.error("--migrate: an API cluster reads no aws-auth, so there is nothing to move from or to")
    if args.identity_mapping not in ROUTES[args.authentication_mode]:
        parser.error(
            f"--identity-mapping {args.identity_mapping} does not work on a cluster in {args.authentication_mode} "
            f"mode: use {' or '.join(ROUTES[args.authentication_mode])}"
        )
    work = Path(tempfile.mkdtemp(prefix="eks-cicd-demo-"))
    try:
        demo(work, args.identity_mapping, args.authentication_mode, args.migrate)
    finally:
        if args.keep:
            print(f"\nkept {work}", flush=True)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print("\ndemo: the whole flow ran", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
