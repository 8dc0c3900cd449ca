"""The dev stack under the real Pulumi engine: the CLI, moto in server mode, the AWS stand-in, the real cluster.

What the engine tier (``pytest -m engine``), ``scripts/demo`` and ``benchmarks/engine.py`` stand on:

- ``Moto``: moto in server mode on a free loopback port, in this process, with the EKS cluster seeded. Its
  ``sts_keys`` is what STS knows: every active access key moto's IAM holds, with its user's ARN. The control
  plane's token webhook is pointed at it, so a key the stack created authenticates, and a deleted key stops.
- ``Project``: a copy of this repository's program (``Pulumi.yaml``, ``Pulumi.dev.yaml``, ``__main__.py``) in a
  temporary directory, with a fresh file backend, ``PULUMI_HOME`` and passphrase; ``project("up", "--yes")``
  runs ``pulumi up --yes --non-interactive`` there as a user would.
- What the engine finds on ``PATH``, all labelled stand-ins but the CLI and the Kubernetes provider: our
  language host (``testbed/engine_host``), the AWS stand-in (``testbed/aws_standin``), the real
  ``pulumi-resource-kubernetes`` and the SDK's dynamic-provider shim, both built by ``scripts/tools``. Nothing
  leaves the machine: no update check, no plugin download, a file backend.

The cluster's endpoint and CA that ``aws:eks/getCluster`` answers are the control plane's (the stand-in's seed),
so the kubeconfig the stack exports reaches it; the program writes with the admin kubeconfig given as the
``kubeconfig`` secret, as a platform engineer's own admin access would.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import yaml
from moto.iam.models import iam_backends
from moto.server import ThreadedMotoServer
from moto.sts.models import sts_backends

from testbed.access_policy_rbac import desired_objects
from testbed.apiserver.authenticator import Principal
from testbed.aws_standin.provider import CLUSTERS, MOTO_URL
from testbed.controlplane.fixture import ControlPlane, find_tools, one_per_request, tool_bin
from testbed.controlplane.processes import free_port
from testbed.docs import block
from testbed.eks_access import AccessApi, ClusterAccess, moto_clusters, moto_principals, serve_on_moto
from testbed.names import CLUSTER_NAME, MOTO_ACCOUNT, REGION

REPO = Path(__file__).resolve().parents[1]
#: The program files a user's checkout has: copied into each project directory.
PROGRAM_FILES = ("Pulumi.yaml", "Pulumi.dev.yaml", "__main__.py")
HOST = REPO / "testbed" / "engine_host"
AWS_STANDIN = REPO / "testbed" / "aws_standin" / "bin"
PASSPHRASE = "engine-tier-test-passphrase"
#: How long one ``pulumi`` command may take (an ``up`` of 50 instances takes minutes on a small machine).
TIMEOUT = float(os.environ.get("EKS_CICD_ENGINE_TIMEOUT", "600"))
AWS_AUTH = "/api/v1/namespaces/kube-system/configmaps/aws-auth"
#: What aws-auth holds before we come (the ``foreign`` fixture): the node role and another team's CI user.
NODE_ROLE = {
    "rolearn": "arn:aws:iam::123456789012:role/eks-node",
    "username": "system:node:{{EC2PrivateDNSName}}",
    "groups": ["system:bootstrappers", "system:nodes"],
}
TEAM_B = {"userarn": "arn:aws:iam::123456789012:user/team-b-ci", "username": "team-b-ci", "groups": ["team-b"]}


def client(service: str, url: str) -> Any:
    """A boto3 client against moto's endpoint."""
    return boto3.client(
        service, endpoint_url=url, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


class StsKeys(MutableMapping[str, Principal]):
    """What STS knows, for the token webhook: every active access key of moto's IAM users (read live, so a key
    the stack deletes stops authenticating), every role session moto's STS gave (``AssumeRole*``: an
    ``assumed-role`` ARN, a session token, the role's unique id), plus what a test adds."""

    def __init__(self) -> None:
        self.added: dict[str, Principal] = {}

    def _moto(self) -> dict[str, Principal]:
        backend = iam_backends[MOTO_ACCOUNT]["global"]
        keys = {
            key.access_key_id: Principal(key.secret_access_key, user.arn, user_id=user.id)
            for user in list(backend.users.values())
            for key in list(user.access_keys)
            if key.status == "Active"
        }
        for session in list(sts_backends[MOTO_ACCOUNT]["aws"].assumed_roles):
            role_id = session.user_id.split(":")[0]  # moto's UserId is ROLEID:SESSION
            keys[session.access_key_id] = Principal(
                session.secret_access_key, session.arn, session_token=session.session_token, user_id=role_id
            )
        return keys

    def snapshot(self) -> dict[str, Principal]:
        """Every key STS knows now, at once (what the webhook copies: a key deleted meanwhile is not half there)."""
        return {**self._moto(), **self.added}

    def __getitem__(self, key: str) -> Principal:
        return self.snapshot()[key]

    def __setitem__(self, key: str, value: Principal) -> None:
        self.added[key] = value

    def __delitem__(self, key: str) -> None:
        del self.added[key]

    def __iter__(self) -> Iterator[str]:
        return iter({**self._moto(), **self.added})

    def __len__(self) -> int:
        return len({**self._moto(), **self.added})


class Moto:
    """moto in server mode on loopback (this process), the EKS cluster seeded. A context manager."""

    def __init__(self) -> None:
        self.port = free_port()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.sts_keys = StsKeys()
        #: EKS's access-entry API, emulated on this server (``testbed/eks_access.py``); ``access.on_change`` hears of
        #: each change (``sync_access_to`` hands them to the control plane's authenticator, as EKS does).
        self.access = AccessApi(moto_principals(MOTO_ACCOUNT), moto_clusters(MOTO_ACCOUNT), account=MOTO_ACCOUNT)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Moto:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request on stderr
        serve_on_moto(self.access)
        self._server.start()
        self.reset()  # moto's backends are this process's: what an earlier module left is not ours
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.reset()
        finally:
            self._server.stop()

    def reset(self) -> None:
        """Empty every moto backend (moto's own ``/moto-api/reset``), and the access entries."""
        urllib.request.urlopen(urllib.request.Request(f"{self.url}/moto-api/reset", method="POST"), timeout=30).close()
        self.access.clusters.clear()

    def made_in(self, mode: str, name: str = CLUSTER_NAME) -> None:
        """The cluster as if created in authentication ``mode``: EKS's answer and the authenticator's backends."""
        self.access.made_in(name, mode)

    def client(self, service: str) -> Any:
        return client(service, self.url)

    def aws(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``aws ARGS``, the real AWS CLI (this Python's), against moto and the EKS emulation; fails unless it
        exits 0."""
        env = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1",
               "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "PATH": "/usr/bin:/bin",
               "AWS_ENDPOINT_URL": self.url}  # fmt: skip
        aws = Path(sys.executable).parent / "aws"
        done = subprocess.run([str(aws), *args], capture_output=True, text=True, env=env, timeout=120, check=False)
        assert done.returncode == 0, f"aws {' '.join(args)}: {done.stderr}"
        return done

    def seed_cluster(self, name: str = CLUSTER_NAME, mode: str = "API_AND_CONFIG_MAP") -> str:
        """An ACTIVE EKS cluster ``name`` in moto (its role made first), in authentication mode ``mode``; its ARN."""
        iam = self.client("iam")
        try:
            role = iam.get_role(RoleName="eks-cluster")["Role"]["Arn"]
        except iam.exceptions.NoSuchEntityException:
            role = iam.create_role(RoleName="eks-cluster", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        eks = self.client("eks")
        if name not in eks.list_clusters()["clusters"]:
            eks.create_cluster(
                name=name,
                roleArn=role,
                resourcesVpcConfig={"subnetIds": ["subnet-0a1b2c3d"]},
                accessConfig={"authenticationMode": mode},
            )
        arn: str = eks.describe_cluster(name=name)["cluster"]["arn"]
        return arn

    def secret_of(self, key_id: str) -> str | None:
        """The secret moto holds for an access key (``None`` if moto has no such key)."""
        found = self.sts_keys._moto().get(key_id)
        return found.secret if found else None


@dataclass
class Engine:
    """What every project of one test run shares: the tools, moto, the control plane and the cluster's seed."""

    tools: dict[str, Path]
    moto: Moto
    plane: ControlPlane

    def env(self, root: Path) -> dict[str, str]:
        """The environment ``pulumi`` runs with: ``HOME`` (where ``pulumi login --local`` keeps the state) and
        ``PULUMI_HOME`` under ``root``, offline."""
        # The tools of this tier's set (scripts/tool-sets) and no other: the CLI, the SDK's shims, the Kubernetes
        # provider, and the language hosts of the languages tier.
        path = [HOST, AWS_STANDIN, tool_bin(self.tools, root / "tools"), Path(sys.executable).parent]
        # The mode is not seeded: the stand-in reads it from DescribeCluster, as the EKS emulation answers it.
        seed = {CLUSTER_NAME: {"endpoint": self.plane.url, "certificateAuthority": self.plane.ca_data}}
        return {
            "PATH": os.pathsep.join([*map(str, path), "/usr/bin", "/bin"]),
            "HOME": str(root),
            "PULUMI": str(self.tools["pulumi"]),
            "PULUMI_HOME": str(root / "pulumi-home"),
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_PYTHON_CMD": sys.executable,
            "EKS_CICD_PYTHON": sys.executable,
            MOTO_URL: self.moto.url,
            CLUSTERS: json.dumps(seed),
            # No AWS credentials of any kind reach the program: it talks to moto only through the stand-in.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }


def sync_access_to(plane: ControlPlane) -> Callable[[str, ClusterAccess], None]:
    """What EKS does inside: hand the access entries and the authentication mode of the control plane's cluster to
    its aws-iam-authenticator (the ``DynamicFile`` backend's file, user-id strict; ``dynamicBackendModePath``), and
    enforce the entries' access policies (here as RBAC, ``testbed/access_policy_rbac.py``: a stand-in)."""

    def changed(name: str, held: ClusterAccess) -> None:
        if name != plane.cluster_name:
            return
        users: list[dict[str, Any]] = []
        roles: list[dict[str, Any]] = []
        for entry in held.entries.values():
            kind, field_ = ("role", "rolearn") if ":role/" in entry.principal_arn else ("user", "userarn")
            mapping = {field_: entry.principal_arn, "userid": entry.principal_id, "username": entry.username,
                       "groups": list(entry.groups)}  # fmt: skip
            (roles if kind == "role" else users).append(mapping)
        plane.write_access_entries(users, roles)
        if plane.authentication_mode != held.mode:
            plane.set_authentication_mode(held.mode)
        # EKS's access-policy authorizer, stood in for by RBAC (ours: testbed/access_policy_rbac.py).
        plane.write_access_policies(desired_objects(held.entries.values()))

    return changed


class Refusals:
    """A loop asking aws-iam-authenticator, straight (no API server cache), who CI's key is, every 0.2 s while it
    runs: how many times it answered and how many of those were refusals (a CI request would get 401)."""

    def __init__(self, plane: ControlPlane, key_id: str, secret: str) -> None:
        self.plane, self.key_id, self.secret = plane, key_id, secret
        self.asked = self.refused = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            found = self.plane.authenticate(self.plane.sign_token(self.key_id, self.secret))
            self.asked += 1
            self.refused += found is None

    def __enter__(self) -> Refusals:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


@contextmanager
def engine_on_loopback(work: Path, tools: Mapping[str, Path] | None = None) -> Iterator[Engine]:
    """A control plane and moto of their own, started in ``work`` and always stopped: for scripts (the demo, the
    benchmark), where the tests use the session's control plane."""
    tools = tools or find_tools("engine")
    plane = ControlPlane(tools, work / "control-plane", cluster_name=CLUSTER_NAME)
    with plane, Moto() as moto:
        moto.access.on_change = sync_access_to(plane)
        moto.seed_cluster(CLUSTER_NAME)
        plane.principals = moto.sts_keys
        yield Engine(dict(tools), moto, plane)


def seed_foreign(plane: ControlPlane) -> dict[str, str]:
    """Put aws-auth as a real cluster has it before we come (``NODE_ROLE``, ``TEAM_B``); its data."""
    data = {"mapRoles": yaml.safe_dump([NODE_ROLE]), "mapUsers": yaml.safe_dump([TEAM_B])}
    body = {"metadata": {"name": "aws-auth", "namespace": "kube-system"}, "data": data}
    if plane.aws_auth_data() is None:
        plane.api("POST", "/api/v1/namespaces/kube-system/configmaps", body)
    else:
        plane.api("PUT", AWS_AUTH, body)
    return data


def aws_auth_writes(plane: ControlPlane, mark: int) -> list[str]:
    """The successful writes of kube-system/aws-auth since ``mark``, from the audit log."""
    return [
        f"{e['verb']} {e['objectRef'].get('name')}"
        for e in one_per_request(plane.audit.events(mark))
        if (e.get("objectRef") or {}).get("resource") == "configmaps"
        and e["objectRef"].get("name") == "aws-auth"
        and e["verb"] in ("create", "update", "patch", "delete")
        and (e.get("responseStatus") or {}).get("code", 500) < 300
    ]


def delete_namespace(plane: ControlPlane, name: str) -> None:
    """Delete a namespace and wait until it is gone (the namespace controller finalizes it): what destroy keeps on
    purpose, removed so that the next test creates it again."""
    code, _ = plane.request("DELETE", f"/api/v1/namespaces/{name}")
    assert code in (200, 202, 404), code
    deadline = time.monotonic() + 120
    while plane.request("GET", f"/api/v1/namespaces/{name}")[0] != 404:
        assert time.monotonic() < deadline, f"namespace {name} was not deleted within 120 s"
        time.sleep(0.5)


class PulumiFailed(AssertionError):
    """A ``pulumi`` command's exit status was not the one expected."""


@dataclass
class Project:
    """A copy of the program, with its own state and ``PULUMI_HOME``; call it to run ``pulumi ARGS``."""

    directory: Path
    env: dict[str, str]
    #: What ``pulumi login --local`` means here: ``file://~`` (the state goes to ``~/.pulumi``), with this
    #: project's ``HOME`` as ``~``.
    backend: str
    log: list[tuple[list[str], float, int]] = field(default_factory=list)
    #: Print each command before running it (``$ pulumi ...``), as ``scripts/demo`` does.
    echo: bool = False

    @classmethod
    def copy(cls, engine: Engine, root: Path, name: str = "project") -> Project:
        """The program's files copied into ``root/name``; ``root`` is its ``HOME``, so its backend is fresh."""
        return cls.make(engine, root, name, {file: (REPO / file).read_text() for file in PROGRAM_FILES})

    @classmethod
    def make(cls, engine: Engine, root: Path, name: str, files: Mapping[str, str]) -> Project:
        """A project of ``files`` (name -> text) in ``root/name``, with ``root`` as its ``HOME``."""
        directory = root / name
        directory.mkdir(parents=True)
        for file, text in files.items():
            (directory / file).write_text(text)
        # Pulumi.yaml's `virtualenv: venv`, which the dynamic-provider shim runs the aws-auth writer with: the
        # virtualenv running the tests (it has requirements.txt), where a user's checkout has its own.
        (directory / "venv").symlink_to(sys.prefix, target_is_directory=True)
        env = engine.env(root)
        return cls(directory, env, Path(env["HOME"]).as_uri())

    def __call__(
        self, *args: str, ok: bool | None = True, timeout: float = TIMEOUT, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``pulumi ARGS --non-interactive``; it must succeed (``ok``), fail (``ok=False``) or either
        (``ok=None``)."""
        started = time.monotonic()
        command = [self.env["PULUMI"], *args, "--non-interactive"]
        if self.echo:
            print(f"    $ pulumi {shlex.join(args)}{' < (stdin)' if stdin is not None else ''}", flush=True)
        # Its own process group: on a timeout the language host, the program and the plugins go with it.
        with subprocess.Popen(
            command,
            cwd=self.directory,
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        ) as process:
            try:
                stdout, stderr = process.communicate(stdin, timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.communicate()
                raise
        done = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
        self.log.append((list(args), time.monotonic() - started, done.returncode))
        if ok is not None and (done.returncode == 0) is not ok:
            raise PulumiFailed(f"pulumi {' '.join(args)}: exit {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done

    def outputs(self, *, secrets: bool = False) -> dict[str, Any]:
        """``pulumi stack output --json`` (``--show-secrets`` with ``secrets``)."""
        found: dict[str, Any] = json.loads(
            self("stack", "output", "--json", *(["--show-secrets"] if secrets else [])).stdout
        )
        return found

    def state(self) -> dict[str, Any]:
        """``pulumi stack export``, decoded."""
        found: dict[str, Any] = json.loads(self("stack", "export").stdout)
        return found

    def resources(self) -> list[Mapping[str, Any]]:
        """The resources of the stack's state, but the stack itself."""
        return [r for r in self.state()["deployment"].get("resources") or [] if r["type"] != "pulumi:pulumi:Stack"]

    def run_readme(self, commands: list[str]) -> list[subprocess.CompletedProcess[str]]:
        """Run the README's ``pulumi`` commands as written; ``up`` and ``destroy`` with ``--yes``, their prompt's
        answer."""
        done = []
        for command in commands:
            words = shlex.split(command)
            assert words[0] == "pulumi", command
            done.append(self(*words[1:], *(["--yes"] if words[1:] in (["up"], ["destroy"]) else [])))
        return done

    def create_dev_stack(self, kubeconfig: str | None, stack: str = "dev") -> None:
        """The README's deploy block, command for command, up to its ``pulumi up`` (which the test runs itself,
        with ``--yes``: the answer to its prompt). Its config is ``Pulumi.dev.yaml`` (copied for another stack
        name), plus ``kubeconfig``, an admin's, set as the README's admin-kubeconfig block sets it (``None``: not
        set, the program reaches the cluster through its EKS endpoint as whoever runs it)."""
        if stack != "dev":
            shutil.copy(self.directory / "Pulumi.dev.yaml", self.directory / f"Pulumi.{stack}.yaml")
        for command in block("deploy"):
            words = shlex.split(command)
            if words[0] == "export":
                name = words[1].partition("=")[0]
                assert name in self.env, f"the README exports {name}, which the engine tier does not set"
                continue
            assert words[0] == "pulumi", command
            if words[1:] == ["up"]:
                break
            if words[1:] == ["login", "--local"]:
                # `--local` is `file://~`, and the CLI takes `~` from the user database, not from HOME: spelt
                # out, so that the state stays in this project's home.
                words[2:] = [self.backend]
            if words[1:3] == ["stack", "init"]:
                words[3] = stack
            self(*words[1:])
        else:
            raise AssertionError("the README's deploy block has no `pulumi up`")
        if kubeconfig is not None:
            (line,) = block("admin-kubeconfig")
            command, _, _ = line.partition(" < ")
            self(*shlex.split(command)[1:], stdin=kubeconfig)


def readme_rotation_step(step: str) -> list[str]:
    """The commands of a step of the rotation runbook (``docs/rotation.md``): ``add`` or ``drop``."""
    return block(f"rotation-{step}")


#: The examples of the languages tier, by the name the README's "... only" comments use for them.
LANGUAGE_NAMES = {"typescript": "TypeScript", "typescript-entry": "TypeScript", "go": "Go", "yaml": "YAML",
                  "java": "Java"}  # fmt: skip


def readme_language_commands(example: str) -> list[str]:
    """The commands of ``docs/other-languages.md``'s block that apply to ``examples/<example>``, in order, without
    the ``cd``: a line ending in ``# A and B only`` is for those alone (``the entry`` is ``typescript-entry``)."""
    found = []
    for line in block("languages"):
        command, _, comment = line.partition("  # ")
        if comment:
            assert comment.endswith(" only"), line
            names = {n.strip() for n in comment.removesuffix(" only").replace(" and ", ",").split(",")}
            if LANGUAGE_NAMES[example] not in names and not (example == "typescript-entry" and "the entry" in names):
                continue
        found.append(command.strip())
    assert found[0] == "cd examples/typescript", found[0]
    return found[1:]


def pulumi_cli(root: Path, *args: str, tier: str = "engine") -> subprocess.CompletedProcess[str]:
    """``pulumi ARGS`` in ``root`` (its home too), with no stack: the CLI, our Python host first on ``PATH``, then
    the tools of the tier's set (scripts/tool-sets) and no other."""
    found = find_tools(tier)
    dirs = [HOST, tool_bin(found, root / "tools")]
    env = {
        "PATH": os.pathsep.join([*map(str, dirs), str(Path(sys.executable).parent), "/usr/bin", "/bin"]),
        "HOME": str(root),
        "PULUMI_HOME": str(root / "pulumi-home"),
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "EKS_CICD_PYTHON": sys.executable,
    }
    command = [str(found["pulumi"]), *args]
    return subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=300, check=False)


def python_sdk(root: Path, tier: str = "engine") -> Path:
    """``pulumi package gen-sdk ./provider --language python`` in ``root``, then that SDK pip-installed (no
    dependencies: the running virtualenv has them) into ``root/site``; that directory, for ``PYTHONPATH``."""
    done = pulumi_cli(root, "package", "gen-sdk", str(REPO / "provider"), "--language", "python", "--out", "sdk",
                      tier=tier)  # fmt: skip
    assert done.returncode == 0, done.stderr
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(root / "site"),
           str(root / "sdk" / "python")]  # fmt: skip
    installed = subprocess.run(pip, cwd=root, capture_output=True, text=True, timeout=300, check=False)
    assert installed.returncode == 0, installed.stderr
    return root / "site"
