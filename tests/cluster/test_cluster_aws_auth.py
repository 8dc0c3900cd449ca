"""The aws-auth writer against the real API server: etcd-backed resourceVersion preconditions, real 409s.

``pytest -m cluster tests/cluster/test_cluster_aws_auth.py``. The ``control_plane``
fixture (``testbed/controlplane``) is kube-apiserver v1.37.2 on etcd; every
precondition here is checked by the real ``GuaranteedUpdate`` against etcd's
revision, not by the stand-in of ``testbed/apiserver``. Each test seeds
``kube-system/aws-auth`` with the foreign entries of ``testbed/aws_auth_seed.py``
(node roles, two other teams' users, an account) and puts back what was there
before (nothing, normally), since the control plane is shared by the session.

Who wrote what is read from the API server's audit log: our writer's requests
carry the ``kubernetes`` client's user agent (``OpenAPI-Generator/...``), the
hostile editor's its own (``EDITOR_AGENT``). The engine's side of the dynamic
resource is ``testbed/provider_host.py``'s (the SDK's own provider host servicer, four
worker threads), with the component registered under mocks as in
``tests/unit/test_aws_auth_resource.py``, whose helpers are reused.

``benchmarks/conflicts_cluster.py`` times ``contention`` (below) over repeated runs.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest
import yaml
from kubernetes.client import CoreV1Api, V1ConfigMap
from kubernetes.client.exceptions import ApiException

from eks_cicd_access.aws_auth import resource as aws_auth_resource
from eks_cicd_access.aws_auth.entries import MAP_USERS
from eks_cicd_access.aws_auth.writer import AuthConfigMap, Entry, connect
from testbed.aws_auth_seed import ALICE, MAP_ACCOUNTS, NODE_ROLES, OTHER_USERS, SEED, TEAM_B, user_arn
from testbed.contention import AWS_AUTH_PATH, CONFIGMAPS_PATH, aws_auth_writes, contention, put_aws_auth
from testbed.controlplane.fixture import ApiError, ControlPlane
from testbed.names import ACCOUNT
from testbed.provider_host import HOST_WORKERS
from tests.support import (
    RealApiServer,
    at_once,
    foreign_untouched,
    inputs,
    map_users,
    mapped,
    register,
    register_roles,
    up,
)

#: The user agent of the hostile editor's requests.
EDITOR_AGENT = "hostile-editor/1.0"


# --- the real cluster, shaped as tests/unit/test_aws_auth_resource.py's helpers expect -----------------


# --- a hostile editor: kubectl edit, in a loop ---------------------------------------------------


class HostileEditor:
    """Another client editing aws-auth as ``kubectl edit`` does: read it, change the text of mapUsers, ``replace``
    with the resourceVersion it read; on 409, read again. Its own connection and user agent."""

    def __init__(self, plane: ControlPlane) -> None:
        client = plane.api_client()
        client.user_agent = EDITOR_AGENT
        self.core = CoreV1Api(client)
        self.written: list[tuple[float, str]] = []
        self.refused = 0
        self._lock = threading.Lock()
        self._count = itertools.count()

    def edit_once(self) -> str:
        """Add one entry of its own (bounded retries); its ARN."""
        with self._lock:
            arn = user_arn(f"editor-{next(self._count)}")
        for _ in range(200):
            live: V1ConfigMap = self.core.read_namespaced_config_map("aws-auth", "kube-system")
            data = dict(live.data or {})
            data["mapUsers"] = data.get("mapUsers", "") + f"- userarn: {arn}\n  username: editor\n"
            live.data = data  # metadata.resourceVersion stays what was read: the precondition
            try:
                self.core.replace_namespaced_config_map("aws-auth", "kube-system", live)
            except ApiException as error:
                if error.status != 409:
                    raise
                with self._lock:
                    self.refused += 1
                continue
            with self._lock:
                self.written.append((time.monotonic(), arn))
            return arn
        raise AssertionError("the editor never got its write in")

    @property
    def arns(self) -> list[str]:
        return [arn for _, arn in self.written]

    @contextlib.contextmanager
    def running(self, pause: float = 0.02, limit: int = 150) -> Iterator[None]:
        """Edit in a loop in a thread of its own (at most ``limit`` edits) until the block ends."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.is_set() and len(self.written) < limit:
                self.edit_once()
                stop.wait(pause)

        thread = threading.Thread(target=loop, name="hostile-editor")
        thread.start()
        try:
            deadline = time.monotonic() + 30
            while not self.written and time.monotonic() < deadline:
                time.sleep(0.005)
            yield
        finally:
            stop.set()
            thread.join(timeout=60)

    def between_read_and_write(self, times: int) -> Callable[..., bool]:
        """A stand-in for ``AuthConfigMap._write`` that first makes one edit of the editor's (for the first
        ``times`` writes of an existing aws-auth): our write then carries a resourceVersion that is stale."""
        original = AuthConfigMap._write
        counter = itertools.count()
        lock = threading.Lock()

        def write(writer: AuthConfigMap, live: V1ConfigMap | None, data: dict[str, str]) -> bool:
            with lock:
                n = next(counter)
            if live is not None and n < times:
                self.edit_once()
            return original(writer, live, data)

        return write


def uncoalesced(props: dict[str, Any]) -> AuthConfigMap:
    """The provider's writer without coalescing: each edit reads and writes alone, as separate processes do."""
    return AuthConfigMap(connect(props["kubeconfig"]))


def everything_is_in(real: RealApiServer, ours: list[str], theirs: list[str]) -> None:
    """mapUsers holds the two other teams' users (their exact text first), every editor entry and ours, each
    once; mapRoles and mapAccounts are byte-identical to what was seeded."""
    apiserver = real.as_apiserver
    arns = mapped(apiserver)
    assert sorted(arns) == sorted([ALICE, TEAM_B, *theirs, *ours]), "an entry was lost or doubled"
    foreign_untouched(apiserver)


# --- 1. many instances at once, with a hostile editor ---------------------------------------------


@pytest.mark.parametrize("count", [5, 20])
def test_instances_created_at_once_with_an_editor_between_our_reads_and_writes(stack, real, monkeypatch, count):
    """N instances created at once through the provider host, while an editor writes between our read and our
    write and also edits in a loop: every entry (ours, the editor's) is in, foreign keys byte-identical."""
    editor = HostileEditor(real.plane)
    interleaved = 5
    monkeypatch.setattr(AuthConfigMap, "_write", editor.between_read_and_write(interleaved))
    names = [f"ci-{i}" for i in range(count)]
    registrations = register(stack, real.as_apiserver, names)
    with editor.running():
        started = time.monotonic()
        states = at_once([partial(up, real.as_apiserver, r) for r in registrations])
        ended = time.monotonic()
    assert [s.steps for s in states] == [["check", "create"]] * count
    assert any(started < at < ended for at, _ in editor.written[interleaved:]), "the loop edited while we wrote"
    everything_is_in(real, [user_arn(n) for n in names], editor.arns)
    writes = real.writes()
    assert real.conflicts() >= interleaved, f"each write after an editor's edit is refused by etcd: {writes}"
    ok = [w for w in writes if w.endswith("-> 200")]
    # One process, one kubeconfig: the edits waiting together (up to the host's four calls at once, a check
    # among them) coalesce, so fewer successful writes than instances (separate writers make one each).
    assert len(ok) <= count * 3 // 4, writes


@pytest.mark.parametrize("count", [5, 20])
def test_separate_writers_from_the_same_stale_read_all_land(stack, real, monkeypatch, count):
    """Uncoalesced writers (as N processes would write), the first four held until all carry the same
    resourceVersion, with the editor looping: etcd refuses all but one of those writes, and all entries land."""
    monkeypatch.setattr(aws_auth_resource, "_writer", uncoalesced)
    editor = HostileEditor(real.plane)
    barrier = threading.Barrier(HOST_WORKERS, timeout=30)
    original = AuthConfigMap._write
    held = itertools.count()
    lock = threading.Lock()

    def hold(writer: AuthConfigMap, live: V1ConfigMap | None, data: dict[str, str]) -> bool:
        with lock:
            first = next(held) < HOST_WORKERS
        if first:
            barrier.wait()
        return original(writer, live, data)

    monkeypatch.setattr(AuthConfigMap, "_write", hold)
    names = [f"ci-{i}" for i in range(count)]
    registrations = register(stack, real.as_apiserver, names)
    with editor.running():
        at_once([partial(up, real.as_apiserver, r) for r in registrations])
    everything_is_in(real, [user_arn(n) for n in names], editor.arns)
    writes = real.writes()
    assert real.conflicts() >= HOST_WORKERS - 1, f"the held writes carried one resourceVersion: {writes}"
    assert sum(1 for w in writes if w.endswith("-> 200")) == count, "uncoalesced: one successful write each"


def test_every_write_after_an_editors_edit_is_refused_and_retried(stack, real, monkeypatch):
    """An editor writing between each of one create's first five reads and its writes: etcd refuses exactly
    those five writes (409 Conflict), the sixth attempt goes in, and all five of the editor's entries stay."""
    editor = HostileEditor(real.plane)
    monkeypatch.setattr(AuthConfigMap, "_write", editor.between_read_and_write(5))
    (registration,) = register(stack, real.as_apiserver, ["ci"])
    up(real.as_apiserver, registration)
    assert real.writes() == ["update configmaps aws-auth -> 409"] * 5 + ["update configmaps aws-auth -> 200"]
    assert mapped(real.as_apiserver) == [ALICE, TEAM_B, *editor.arns, user_arn("ci")]
    foreign_untouched(real.as_apiserver)


# --- 2. scale: 5 to 100 writers at once (times are the benchmark's) ------------------------------


@pytest.mark.parametrize(
    ("writers", "coalesce"),
    [
        # 100 separate writers (100 processes at once) are beyond what the 60 s deadline holds on a small, loaded
        # machine: see docs/performance.md and benchmarks/conflicts_cluster.py.
        *(pytest.param(n, False, id=f"{n}-separate") for n in (5, 20, 50)),
        *(pytest.param(n, True, id=f"{n}-coalesced") for n in (5, 20, 50, 100)),
    ],
)
def test_many_writers_at_once_all_get_in(real, writers, coalesce):
    """5 to 50 separate writers and 5 to 100 coalesced ones at once all get in before the deadline (none gives
    up), each exactly once, foreign keys byte-identical; coalesced writers share their writes."""
    run = contention(real.plane, writers, coalesce)
    assert run.gave_up == 0, f"{run.gave_up} of {writers} writers stopped at the deadline ({run.refused} refused)"
    assert run.complete, "an entry was lost, doubled, or a foreign key changed"
    if coalesce:
        assert run.ok < writers, f"coalesced writers wrote one by one: {run.writes}"
    else:
        assert run.ok == writers, run.writes


# --- 3. the single-entry edits, read back from the API server -----------------------------------


def test_a_second_up_writes_nothing_and_keeps_the_resource_version(stack, real):
    """A no-op ensure (a second `pulumi up`, or the writer called again) writes nothing: etcd's
    resourceVersion of aws-auth is unchanged."""
    (registration,) = register(stack, real.as_apiserver, ["ci"])
    state = up(real.as_apiserver, registration)
    version, mark = real.version(), real.plane.audit.mark()
    assert up(real.as_apiserver, registration, state).steps == ["check", "diff"]
    result = AuthConfigMap(connect(real.kubeconfig)).ensure(Entry(MAP_USERS, user_arn("ci"), "ci"))
    assert (result.wrote, result.attempts) == (False, 1)
    assert real.version() == version
    assert aws_auth_writes(real.plane, mark) == []


def test_a_rename_is_one_write_in_place(stack, real):
    """Another ARN for the same instance (a renamed IAM user) is one update: the new entry stands where the old
    one stood, the old is gone, the foreign entries keep their bytes."""
    (old,) = register(stack, real.as_apiserver, ["ci"], iam_user_name="ci-old", kubernetes_username="ci")
    state = up(real.as_apiserver, old)
    real.plane.api(
        "PATCH", AWS_AUTH_PATH, {"data": {"mapUsers": real.aws_auth()["data"]["mapUsers"] + "- userarn: x\n"}}
    )
    mark = real.plane.audit.mark()
    (new,) = register(stack, real.as_apiserver, ["ci"], iam_user_name="ci-new", kubernetes_username="ci")
    assert up(real.as_apiserver, new, state).steps == ["check", "diff", "update"]
    assert aws_auth_writes(real.plane, mark) == ["update configmaps aws-auth -> 200"]
    assert real.aws_auth()["data"]["mapUsers"] == (
        OTHER_USERS + f"- userarn: {user_arn('ci-new')}\n  username: ci\n  groups: []\n- userarn: x\n"
    )
    foreign_untouched(real.as_apiserver)


def test_delete_removes_only_ours(stack, real):
    """Destroying one of three instances takes out exactly its entry's text; a second delete writes nothing."""
    registrations = register(stack, real.as_apiserver, ["ci-a", "ci-b", "ci-c"])
    states = [up(real.as_apiserver, r) for r in registrations]
    before = real.aws_auth()["data"]["mapUsers"]
    real.host.destroy(states[1])
    assert real.aws_auth()["data"]["mapUsers"] == before.replace(
        f"- userarn: {user_arn('ci-b')}\n  username: ci-b\n  groups: []\n", ""
    )
    assert mapped(real.as_apiserver) == [ALICE, TEAM_B, user_arn("ci-a"), user_arn("ci-c")]
    foreign_untouched(real.as_apiserver)
    version, mark = real.version(), real.plane.audit.mark()
    real.host.destroy(states[1])
    assert real.version() == version and aws_auth_writes(real.plane, mark) == []
    for state in (states[0], states[2]):
        real.host.destroy(state)
    assert real.aws_auth()["data"] == SEED, "after every destroy, aws-auth is byte for byte what it was"


def test_a_missing_aws_auth_is_created_with_only_our_entry(stack, real):
    """With no aws-auth, the create makes one (201) holding only our entry."""
    put_aws_auth(real.plane, None)
    mark = real.plane.audit.mark()
    (registration,) = register(stack, real.as_apiserver, ["ci"])
    up(real.as_apiserver, registration)
    assert aws_auth_writes(real.plane, mark) == ["create configmaps aws-auth -> 201"]
    assert real.aws_auth()["data"] == {"mapUsers": f"- userarn: {user_arn('ci')}\n  username: ci\n  groups: []\n"}


def test_a_missing_aws_auth_created_by_someone_else_first(stack, real, monkeypatch):
    """Someone creates aws-auth between our 404 and our create: the real server answers 409 AlreadyExists, we
    read again and merge into theirs, keeping their node roles byte-identical."""
    put_aws_auth(real.plane, None)
    original = AuthConfigMap._write

    def create_first(writer: AuthConfigMap, live: V1ConfigMap | None, data: dict[str, str]) -> bool:
        if live is None:
            with contextlib.suppress(ApiError):
                real.plane.api(
                    "POST", CONFIGMAPS_PATH, {"metadata": {"name": "aws-auth"}, "data": {"mapRoles": NODE_ROLES}}
                )
        return original(writer, live, data)

    monkeypatch.setattr(AuthConfigMap, "_write", create_first)
    mark = real.plane.audit.mark()
    (registration,) = register(stack, real.as_apiserver, ["ci"])
    up(real.as_apiserver, registration)
    assert aws_auth_writes(real.plane, mark) == [
        "create configmaps aws-auth -> 409",
        "update configmaps aws-auth -> 200",
    ]
    assert real.aws_auth()["data"]["mapRoles"] == NODE_ROLES
    assert mapped(real.as_apiserver) == [user_arn("ci")]


def test_a_role_is_mapped_and_node_roles_keep_every_byte(stack, real):
    """A role's entry is appended to mapRoles; the node roles before it are byte-identical as the API server
    returns them, mapUsers untouched; destroy gives back exactly the node roles."""
    (registration,) = register_roles(stack, real.as_apiserver, ["web-ci"])
    state = up(real.as_apiserver, registration)
    data = real.aws_auth()["data"]
    assert data["mapRoles"] == NODE_ROLES + f"- rolearn: arn:aws:iam::{ACCOUNT}:role/web-ci\n" + (
        "  username: web-ci\n  groups: []\n"
    )
    assert (data["mapUsers"], data["mapAccounts"]) == (OTHER_USERS, MAP_ACCOUNTS)
    real.host.destroy(state)
    assert real.aws_auth()["data"] == SEED


def test_foreign_bytes_survive_every_edit(stack, real):
    """Through create, hand edit, restore, rename and destroy, the foreign keys' bytes as the API server
    stores them are exactly the seeded ones (read back raw, and through kubectl)."""
    (registration,) = register(stack, real.as_apiserver, ["ci"], kubernetes_groups=["deployers"])
    state = up(real.as_apiserver, registration)
    real.plane.api(
        "PATCH",
        AWS_AUTH_PATH,
        {"data": {"mapUsers": real.aws_auth()["data"]["mapUsers"].replace("- deployers", "- system:masters")}},
    )
    restored = up(real.as_apiserver, registration, state)
    assert restored.steps == ["check", "diff", "update"]
    assert map_users(real.as_apiserver)[-1] == {"userarn": user_arn("ci"), "username": "ci", "groups": ["deployers"]}
    (renamed,) = register(stack, real.as_apiserver, ["ci"], iam_user_name="ci-2", kubernetes_groups=["deployers"])
    moved = up(real.as_apiserver, renamed, restored)
    shown = yaml.safe_load(
        real.plane.kubectl(["get", "configmap", "aws-auth", "-n", "kube-system", "-o", "yaml"]).stdout
    )
    for data in (real.aws_auth()["data"], shown["data"]):
        assert (data["mapRoles"], data["mapAccounts"]) == (NODE_ROLES, MAP_ACCOUNTS)
        assert data["mapUsers"].startswith(OTHER_USERS)
    real.host.destroy(moved)
    assert real.aws_auth()["data"] == SEED
    assert real.host.preview(renamed.urn, inputs(renamed)) == "create"
