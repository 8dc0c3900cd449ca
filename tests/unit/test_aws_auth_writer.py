"""The compare-and-swap writer on its own: retry bounds, API errors, and interleavings.

The interleaving property drives our writers and other writers through the
test API server's own ConfigMap handling (resourceVersion preconditions), in
process, with a scheduler that decides which writer makes the next request.
Hypothesis draws the schedules; each is replayed deterministically.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from kubernetes.client import V1ConfigMap
from kubernetes.client.exceptions import ApiException
from urllib3 import HTTPSConnectionPool
from urllib3.exceptions import ProtocolError, ReadTimeoutError

from eks_cicd_access.aws_auth import writer as aws_auth_writer
from eks_cicd_access.aws_auth.entries import MAP_ROLES, MAP_USERS, AwsAuthError, MapKey
from eks_cicd_access.aws_auth.writer import (
    DEFAULT_RETRY,
    REQUEST_TIMEOUT,
    AuthConfigMap,
    AwsAuthConflict,
    AwsAuthUnavailable,
    Entry,
    RetryPolicy,
    WriteResult,
    connect,
)
from testbed.apiserver.server import ApiError, Identity, KubeApiServer, Request, request_attributes
from testbed.aws_auth_seed import ADMIN_TOKEN, DEPLOYER, NODE_ROLES
from testbed.names import ACCOUNT

PATH = "/api/v1/namespaces/kube-system/configmaps"


class InProcessApi:
    """The three CoreV1Api calls the writer makes, served by the test server's own handler, without HTTP."""

    def __init__(self, server: KubeApiServer, user: str, before: Callable[[], None] = lambda: None) -> None:
        self.server, self.user, self.before = server, user, before

    def _call(self, method: str, path: str, body: V1ConfigMap | None = None) -> V1ConfigMap:
        self.before()
        record = Request(method, path, {}, "application/json", request_attributes(method, path, ""), user=self.user)
        try:
            _, obj = self.server._configmaps(record, body.to_json().encode() if body is not None else b"")
        except ApiError as error:
            raise ApiException(status=error.code, reason=error.reason, body=json.dumps(error.status())) from None
        found = V1ConfigMap.from_dict(obj)
        assert found is not None
        return found

    def read_namespaced_config_map(self, name: str, namespace: str, **_: Any) -> V1ConfigMap:
        return self._call("GET", f"{PATH}/{name}")

    def replace_namespaced_config_map(self, name: str, namespace: str, body: V1ConfigMap, **_: Any) -> V1ConfigMap:
        return self._call("PUT", f"{PATH}/{name}", body)

    def create_namespaced_config_map(self, namespace: str, body: V1ConfigMap, **_: Any) -> V1ConfigMap:
        return self._call("POST", PATH, body)


def writer(api: Any, **kwargs: Any) -> AuthConfigMap:
    return AuthConfigMap(api, **kwargs)


def user_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:user/{name}"


def aws_auth(server: KubeApiServer) -> dict[str, Any]:
    found = server.configmap("kube-system", "aws-auth")
    assert found is not None
    return found


def offline_server(map_users: str = "") -> KubeApiServer:
    """A test server used in process (never started), holding aws-auth."""
    server = KubeApiServer(cluster_name="c")
    server.seed_configmap("kube-system", "aws-auth", {"mapRoles": NODE_ROLES, "mapUsers": map_users})
    return server


# --- retry bounds --------------------------------------------------------------------------------


@dataclass
class FakeTime:
    """A clock that only moves when the writer sleeps, or by ``per_call`` on each API call."""

    per_call: float = 0.0
    now: float = 0.0
    slept: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now

    def tick(self) -> None:
        self.now += self.per_call


def test_endless_conflicts_stop_at_the_deadline():
    """With the default policy, every write refused: the writer keeps trying until the next backoff would pass
    60 s, then stops with the error, having written nothing."""
    server = offline_server()
    server.refuse_configmap_writes = 10**9
    time = FakeTime()
    cas = writer(InProcessApi(server, "deployer"), sleep=time.sleep, clock=time.clock, rng=lambda: 1.0)
    with pytest.raises(AwsAuthConflict) as raised:
        cas.ensure(Entry(MAP_USERS, user_arn("ci"), "ci"))
    writes = len(time.slept) + 1
    assert str(raised.value) == (
        f"kube-system/aws-auth kept changing while we wrote it: {writes} writes in {sum(time.slept):.1f} s were "
        "refused with 409 Conflict (a newer resourceVersion), and we stop after 60 s. Nothing of ours was "
        "written. Run again once the other writer is done."
    )
    assert DEFAULT_RETRY.deadline == 60.0
    # The longest waits (all jitter at its maximum): 0.05 doubling, capped at 2 s, until the next would reach 60 s.
    assert time.slept[:7] == pytest.approx([0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 2.0])
    assert set(time.slept[6:]) == {2.0}
    assert sum(time.slept) < 60.0 <= sum(time.slept) + 2.0
    assert aws_auth(server)["data"]["mapUsers"] == ""


def test_no_attempt_starts_if_its_backoff_would_pass_the_deadline():
    """The deadline counts the coming backoff: after 6 s of requests a 4 s backoff would reach the 10 s
    deadline, so the writer stops after one write instead of sleeping into it."""
    server = offline_server()
    server.refuse_configmap_writes = 10**9
    time = FakeTime(per_call=3.0)
    policy = RetryPolicy(deadline=10.0, base_delay=4.0, max_delay=4.0)
    cas = writer(
        InProcessApi(server, "deployer", before=time.tick),
        retry=policy,
        sleep=time.sleep,
        clock=time.clock,
        rng=lambda: 1.0,
    )
    with pytest.raises(AwsAuthConflict) as raised:
        cas.ensure(Entry(MAP_USERS, user_arn("ci"), "ci"))
    assert str(raised.value) == (
        "kube-system/aws-auth kept changing while we wrote it: 1 writes in 6.0 s were refused with 409 Conflict "
        "(a newer resourceVersion), and we stop after 10 s. Nothing of ours was written. Run again "
        "once the other writer is done."
    )
    assert time.slept == []


def test_write_results_say_what_happened():
    """attempts, conflicts, wrote and created, for a first write, a no-op, a write after conflicts, a removal,
    and the creation of a missing aws-auth."""
    server = offline_server()
    cas = writer(InProcessApi(server, "deployer"), sleep=lambda s: None)
    entry = Entry(MAP_USERS, user_arn("ci"), "ci")
    assert cas.ensure(entry) == WriteResult(attempts=1, conflicts=0, wrote=True, created=False)
    assert cas.ensure(entry) == WriteResult(attempts=1, conflicts=0, wrote=False, created=False)
    server.refuse_configmap_writes = 2
    assert cas.ensure(Entry(MAP_USERS, user_arn("ci"), "renamed")) == WriteResult(3, 2, wrote=True, created=False)
    assert cas.remove(MAP_USERS, user_arn("ci")) == WriteResult(1, 0, wrote=True, created=False)
    assert cas.remove(MAP_USERS, user_arn("ci")) == WriteResult(1, 0, wrote=False, created=False)
    empty = KubeApiServer(cluster_name="c")
    created = writer(InProcessApi(empty, "deployer")).ensure(entry)
    assert created == WriteResult(attempts=1, conflicts=0, wrote=True, created=True)
    assert aws_auth(empty) == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "aws-auth",
            "namespace": "kube-system",
            "uid": aws_auth(empty)["metadata"]["uid"],
            "creationTimestamp": aws_auth(empty)["metadata"]["creationTimestamp"],
            "resourceVersion": aws_auth(empty)["metadata"]["resourceVersion"],
        },
        "data": {"mapUsers": "- userarn: arn:aws:iam::123412341234:user/ci\n  username: ci\n  groups: []\n"},
    }


def test_replacing_what_is_already_gone_writes_nothing():
    """ensure with ``replacing`` is idempotent: once the old principal is gone and ours is in, no write."""
    server = offline_server()
    cas = writer(InProcessApi(server, "deployer"))
    role = f"arn:aws:iam::{ACCOUNT}:role/web-ci"
    moved = Entry(MAP_ROLES, role, "ci")
    assert cas.ensure(moved, replacing=(MAP_USERS, user_arn("ci"))).wrote is True
    assert cas.ensure(moved, replacing=(MAP_USERS, user_arn("ci"))).wrote is False
    assert cas.ensure(moved, replacing=(MAP_ROLES, f"arn:aws:iam::{ACCOUNT}:role/old-ci")).wrote is False


class UnansweredWrites(InProcessApi):
    """Reads are served; every write fails the way urllib3 reports a dropped connection."""

    def replace_namespaced_config_map(self, name: str, namespace: str, body: V1ConfigMap, **_: Any) -> V1ConfigMap:
        raise ProtocolError("Connection aborted.", ConnectionResetError(104, "Connection reset by peer"))


def test_an_unanswered_write_says_it_may_have_happened():
    """A connection lost during the write is not retried and says the write may have happened."""
    with pytest.raises(AwsAuthUnavailable) as raised:
        writer(UnansweredWrites(offline_server(), "deployer")).ensure(Entry(MAP_USERS, user_arn("ci"), "ci"))
    assert str(raised.value) == (
        "writing kube-system/aws-auth failed: the API server did not answer (('Connection aborted.', "
        "ConnectionResetError(104, 'Connection reset by peer'))). The write may or may not have happened; "
        "running again is safe."
    )


class UnansweredReads(InProcessApi):
    """Every read times out the way urllib3 reports it."""

    def read_namespaced_config_map(self, name: str, namespace: str, **_: Any) -> V1ConfigMap:
        pool = HTTPSConnectionPool("eks.example", 443)
        raise ReadTimeoutError(pool, "/api/v1/namespaces/kube-system/configmaps/aws-auth", "Read timed out.")


def test_an_unanswered_read_says_nothing_was_written():
    """A read the API server never answers is reported as such, and nothing was written."""
    server = offline_server()
    before = copy.deepcopy(server.store.objects)
    with pytest.raises(AwsAuthUnavailable) as raised:
        writer(UnansweredReads(server, "deployer")).ensure(Entry(MAP_USERS, user_arn("ci"), "ci"))
    assert server.store.objects == before
    assert str(raised.value) == (
        "reading kube-system/aws-auth failed: the API server did not answer (HTTPSConnectionPool(host='eks.example', "
        "port=443): Read timed out.). "
        "Nothing of ours was written."
    )


def test_every_request_has_a_timeout():
    """Each call to the API server carries the request timeout, so a hung server cannot hang `pulumi up`."""
    seen = []

    class Recording(InProcessApi):
        def read_namespaced_config_map(self, name: str, namespace: str, **kwargs: Any) -> Any:
            seen.append(("read", kwargs))
            return super().read_namespaced_config_map(name, namespace)

        def replace_namespaced_config_map(self, name: str, namespace: str, body: Any, **kwargs: Any) -> Any:
            seen.append(("replace", kwargs))
            return super().replace_namespaced_config_map(name, namespace, body)

        def create_namespaced_config_map(self, namespace: str, body: Any, **kwargs: Any) -> Any:
            seen.append(("create", kwargs))
            return super().create_namespaced_config_map(namespace, body)

    writer(Recording(offline_server(), "deployer")).ensure(Entry(MAP_USERS, user_arn("ci"), "ci"))
    writer(Recording(KubeApiServer(cluster_name="c"), "deployer")).ensure(Entry(MAP_USERS, user_arn("ci"), "ci"))
    assert [verb for verb, _ in seen] == ["read", "replace", "read", "create"]
    assert all(kwargs == {"_request_timeout": REQUEST_TIMEOUT} for _, kwargs in seen)
    assert REQUEST_TIMEOUT == (5.0, 15.0)


def test_a_slow_api_server_is_bounded_by_the_deadline():
    """When each request takes 20 s, no attempt starts after 60 s: the writer stops at the deadline, not at 10."""
    server = offline_server()
    server.refuse_configmap_writes = 10**9
    time = FakeTime(per_call=20.0)
    api = InProcessApi(server, "deployer", before=time.tick)
    cas = writer(api, sleep=time.sleep, clock=time.clock, rng=lambda: 0.0)
    with pytest.raises(AwsAuthConflict, match=r"2 writes in 80\.0 s"):
        cas.ensure(Entry(MAP_USERS, user_arn("ci"), "ci"))


@pytest.mark.parametrize("retry", range(1, 12))
def test_backoff_is_full_jitter_up_to_the_ceiling(retry):
    """Each backoff lies anywhere between 0 and min(2 s, 0.05 s doubled per retry)."""
    ceiling = min(2.0, 0.05 * 2 ** (retry - 1))
    assert DEFAULT_RETRY.delay(retry, lambda: 0.0) == 0.0
    assert DEFAULT_RETRY.delay(retry, lambda: 0.5) == pytest.approx(ceiling / 2)
    assert DEFAULT_RETRY.delay(retry, lambda: 1.0) == pytest.approx(ceiling)


# --- coalescing --------------------------------------------------------------------------------


class CountingApi(InProcessApi):
    """The in-process API, counting writes; the first write waits until ``hold`` returns."""

    def __init__(self, server: KubeApiServer, hold: Callable[[], None] = lambda: None) -> None:
        super().__init__(server, "deployer")
        self.hold, self.writes, self.lock = hold, 0, threading.Lock()

    def replace_namespaced_config_map(self, name: str, namespace: str, body: V1ConfigMap, **_: Any) -> V1ConfigMap:
        with self.lock:
            self.writes += 1
            first = self.writes == 1
        if first:
            self.hold()
        return super().replace_namespaced_config_map(name, namespace, body)


def queued(key: str, count: int) -> Callable[[], None]:
    """Wait (bounded) until ``count`` edits of the coalescing group ``key`` are queued behind the write."""

    def wait() -> None:
        group = aws_auth_writer._group(key)
        for _ in range(2000):
            with group.cond:
                if len(group.queue) >= count:
                    return
            threading.Event().wait(0.005)
        raise AssertionError(f"only {len(group.queue)} edits were queued")

    return wait


def test_edits_waiting_behind_a_write_go_in_together():
    """While one write is under way, the four edits that arrive wait and then go in as one write: five entries
    in two writes, every result says it wrote, and the foreign key is untouched."""
    server = offline_server()
    key = "coalesce-five"
    api = CountingApi(server, hold=queued(key, 4))
    names = [f"ci-{i}" for i in range(5)]
    cas = writer(api, coalesce=key, sleep=lambda s: None)
    with ThreadPoolExecutor(max_workers=5) as pool:
        first = pool.submit(cas.ensure, Entry(MAP_USERS, user_arn(names[0]), names[0]))
        while api.writes == 0:
            threading.Event().wait(0.001)
        rest = [pool.submit(cas.ensure, Entry(MAP_USERS, user_arn(n), n)) for n in names[1:]]
        results = [first.result(timeout=20), *(r.result(timeout=20) for r in rest)]
    assert api.writes == 2
    assert all(r.wrote and r.conflicts == 0 for r in results)
    data = aws_auth(server)["data"]
    assert [e["userarn"] for e in yaml.safe_load(data["mapUsers"])] == [user_arn(n) for n in names]
    assert data["mapRoles"] == NODE_ROLES


def test_an_edit_that_cannot_be_applied_fails_alone_in_its_batch():
    """In one coalesced write, an edit that raises gets its error and the others are written."""
    server = offline_server()
    key = "coalesce-bad"
    api = CountingApi(server, hold=queued(key, 2))
    cas = writer(api, coalesce=key, sleep=lambda s: None)

    def broken(_data: Any) -> dict[str, str]:
        raise AwsAuthError("data.mapUsers is not what we can edit")

    with ThreadPoolExecutor(max_workers=3) as pool:
        first = pool.submit(cas.ensure, Entry(MAP_USERS, user_arn("a"), "a"))
        while api.writes == 0:
            threading.Event().wait(0.001)
        bad = pool.submit(cas.edit, broken)
        good = pool.submit(cas.ensure, Entry(MAP_USERS, user_arn("b"), "b"))
        assert first.result(timeout=20).wrote and good.result(timeout=20).wrote
        with pytest.raises(AwsAuthError, match="not what we can edit"):
            bad.result(timeout=20)
    assert api.writes == 2
    assert [e["userarn"] for e in yaml.safe_load(aws_auth(server)["data"]["mapUsers"])] == [
        user_arn("a"),
        user_arn("b"),
    ]


def test_a_failed_write_fails_every_edit_of_its_batch_and_nobody_waits_for_ever():
    """A request that fails for the writer fails the edits it wrote for, each with the error; the next edit
    writes for itself."""
    server = offline_server()
    key = "coalesce-fail"
    ready = queued(key, 2)

    def hold_then_fail() -> None:
        ready()
        raise ApiException(status=500, reason="Internal Server Error", body="")

    api = CountingApi(server, hold=hold_then_fail)
    cas = writer(api, coalesce=key, sleep=lambda s: None)
    with ThreadPoolExecutor(max_workers=3) as pool:
        first = pool.submit(cas.ensure, Entry(MAP_USERS, user_arn("a"), "a"))
        while api.writes == 0:
            threading.Event().wait(0.001)
        waiting = [pool.submit(cas.ensure, Entry(MAP_USERS, user_arn(n), n)) for n in ("b", "c")]
        with pytest.raises(AwsAuthUnavailable, match="500 Internal Server Error"):
            first.result(timeout=20)
        assert all(w.result(timeout=20).wrote for w in waiting)
    assert api.writes == 2


def test_writers_without_a_key_or_with_another_key_do_not_wait_for_each_other():
    """Coalescing is only among writers given the same key: others write for themselves."""
    server = offline_server()
    api = CountingApi(server)
    writer(api, sleep=lambda s: None).ensure(Entry(MAP_USERS, user_arn("a"), "a"))
    writer(api, coalesce="one", sleep=lambda s: None).ensure(Entry(MAP_USERS, user_arn("b"), "b"))
    writer(api, coalesce="two", sleep=lambda s: None).ensure(Entry(MAP_USERS, user_arn("c"), "c"))
    assert api.writes == 3


def test_a_write_under_way_on_one_cluster_does_not_hold_up_another_clusters_writer():
    """Writers with different coalescing keys (two clusters) never share a group: while a write on one is held,
    a writer on the other writes its own entry to its own cluster at once, and each cluster holds only its own."""
    one, two = offline_server(), offline_server()
    other_done = threading.Event()

    def hold() -> None:
        other_done.wait(10)

    held = CountingApi(one, hold=hold)
    free = CountingApi(two)
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(
            writer(held, coalesce="cluster-one", sleep=lambda s: None).ensure, Entry(MAP_USERS, user_arn("a"), "a")
        )
        while held.writes == 0:
            threading.Event().wait(0.001)
        second = pool.submit(
            writer(free, coalesce="cluster-two", sleep=lambda s: None).ensure, Entry(MAP_USERS, user_arn("b"), "b")
        )
        assert second.result(timeout=5).wrote, "the other cluster's writer did not wait for the held write"
        other_done.set()
        assert first.result(timeout=20).wrote
    assert (held.writes, free.writes) == (1, 1)
    assert [e["userarn"] for e in yaml.safe_load(aws_auth(one)["data"]["mapUsers"])] == [user_arn("a")]
    assert [e["userarn"] for e in yaml.safe_load(aws_auth(two)["data"]["mapUsers"])] == [user_arn("b")]


# --- API errors ----------------------------------------------------------------------------------


def test_forbidden_is_reported_with_what_the_kubeconfig_needs(apiserver):
    """A 403 names kube-system/aws-auth, the status and the permissions needed; nothing is retried."""
    apiserver.server.tokens["viewer"] = Identity("viewer", ())
    cas = writer(connect(apiserver.server.kubeconfig("viewer")))
    with pytest.raises(AwsAuthUnavailable) as raised:
        cas.ensure(Entry(MAP_USERS, user_arn("ci"), "ci"))
    message = str(raised.value)
    assert message.startswith("reading kube-system/aws-auth failed: 403 Forbidden: configmaps")
    assert "needs get, create and update on configmaps in kube-system" in message
    assert "Nothing of ours was written" in message


def test_a_server_error_on_write_is_not_retried(apiserver):
    """Only 409 is retried: any other refusal of a write stops at once with its status."""
    original = apiserver.server._configmaps

    def fail_writes(record: Request, body: bytes) -> Any:
        if record.attributes.verb == "update":
            raise ApiError(500, "InternalError", "etcdserver: request timed out")
        return original(record, body)

    apiserver.server._configmaps = fail_writes
    with pytest.raises(AwsAuthUnavailable, match=r"writing kube-system/aws-auth failed: 500 .*etcdserver"):
        writer(connect(apiserver.kubeconfig)).ensure(Entry(MAP_USERS, user_arn("ci"), "ci"))
    assert apiserver.writes() == ["update configmaps aws-auth -> 500"], "tried once"


def test_an_unreachable_api_server_is_a_clear_error():
    """No server at the kubeconfig's address: one line saying so, and that nothing was written."""
    with KubeApiServer(cluster_name="c", tokens={ADMIN_TOKEN: DEPLOYER}) as server:
        kubeconfig = server.kubeconfig(ADMIN_TOKEN)
    cas = writer(connect(kubeconfig))
    with pytest.raises(AwsAuthUnavailable, match=r"the API server did not answer.*Nothing of ours was written"):
        cas.ensure(Entry(MAP_USERS, user_arn("ci"), "ci"))


@pytest.mark.parametrize("kubeconfig", ["", "- a list", "apiVersion: v1\nkind: Config\n"])
def test_a_kubeconfig_that_is_not_one_names_the_field(kubeconfig):
    """connect refuses what cannot reach a cluster, naming kubeconfig."""
    with pytest.raises(ValueError, match="kubeconfig: cannot be used to reach the cluster"):
        connect(kubeconfig)


def test_a_kubeconfig_that_is_a_list_says_so():
    """The exact message for YAML that is not a mapping."""
    with pytest.raises(ValueError) as raised:
        connect("- a list")
    assert str(raised.value) == (
        "kubeconfig: cannot be used to reach the cluster (not a YAML mapping). Nothing was written."
    )


def test_moving_a_principal_between_keys_is_one_write(apiserver):
    """A user replaced by a role: the mapUsers entry goes and the mapRoles entry comes, in the same write."""
    cas = writer(connect(apiserver.kubeconfig))
    cas.ensure(Entry(MAP_USERS, user_arn("ci"), "ci"))
    writes = len(apiserver.writes())
    role = f"arn:aws:iam::{ACCOUNT}:role/ci/web-ci"
    cas.ensure(Entry(MAP_ROLES, role, "ci"), replacing=(MAP_USERS, user_arn("ci")))
    data = apiserver.aws_auth()["data"]
    assert len(apiserver.writes()) == writes + 1
    assert user_arn("ci") not in data["mapUsers"]
    assert data["mapRoles"] == NODE_ROLES + yaml.safe_dump(
        [{"rolearn": f"arn:aws:iam::{ACCOUNT}:role/web-ci", "username": "ci", "groups": []}], sort_keys=False
    )


# --- 10. interleavings ---------------------------------------------------------------------------


class Turnstile:
    """Lets one writer thread at a time make its next request, in an order drawn by hypothesis.

    A turn is given only when every live writer is waiting at its next
    request, so the run depends on the schedule alone. After the schedule,
    the lowest-numbered waiting writer goes, which lets every loop finish.
    """

    def __init__(self, writers: int, order: list[int]) -> None:
        self.cond = threading.Condition()
        self.order = list(order)
        self.live = set(range(writers))
        self.waiting: set[int] = set()
        self.current: int | None = None

    def turn(self, me: int) -> None:
        with self.cond:
            if self.current == me:
                self.current = None
            self.waiting.add(me)
            self.cond.notify_all()
            while self.current != me:
                if self.current is None and self.waiting == self.live:
                    self._pick()
                    continue
                self.cond.wait(timeout=10)
            self.waiting.discard(me)

    def done(self, me: int) -> None:
        with self.cond:
            self.live.discard(me)
            if self.current == me:
                self.current = None
            self.cond.notify_all()

    def _pick(self) -> None:
        while self.order:
            candidate = self.order.pop(0)
            if candidate in self.waiting:
                self.current = candidate
                break
        else:
            self.current = min(self.waiting)
        self.cond.notify_all()


def foreign_edit(api: InProcessApi, key: MapKey, change: Callable[[str], str]) -> None:
    """Another tool's compare-and-swap edit of one key (read, change the text, update; retry on 409)."""
    while True:
        live = api.read_namespaced_config_map("aws-auth", "kube-system")
        live.data = {**(live.data or {}), key.name: change((live.data or {}).get(key.name, ""))}
        try:
            api.replace_namespaced_config_map("aws-auth", "kube-system", live)
            return
        except ApiException as error:
            assert error.status == 409
            continue


SEEDS = range(3)


def principal(key: MapKey, name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:{'user' if key is MAP_USERS else 'role'}/{name}"


def seed_text(key: MapKey, arn: str) -> str:
    return f"- {key.arn_field}: {arn}  # kept\n  username: {arn.rsplit('/', 1)[-1]}\n"


@st.composite
def scenarios(draw: Any) -> dict[str, Any]:
    """Our instances (create, or create then delete) and foreign writers (add one, or remove a seeded one)."""
    ours = draw(st.lists(st.sampled_from(["create", "create-delete"]), min_size=1, max_size=3))
    foreign = draw(
        st.lists(st.one_of(st.just(("add", None)), st.tuples(st.just("remove"), st.sampled_from(SEEDS))), max_size=3)
    )
    writers = len(ours) + len(foreign)
    order = draw(st.lists(st.integers(0, writers - 1), max_size=40))
    return {"ours": ours, "foreign": foreign, "order": order}


@pytest.mark.parametrize("key", [MAP_USERS, MAP_ROLES], ids=["mapUsers", "mapRoles"])
@settings(max_examples=40, deadline=None)
@given(scenario=scenarios())
def test_any_interleaving_ends_with_what_every_writer_meant(key, scenario):
    """Whatever order the requests of our writers and other writers interleave in, the final key is exactly
    the seeded entries, plus foreign adds, minus foreign removes, plus each instance of ours that was created
    and not deleted; every surviving foreign entry keeps its bytes; the other key is untouched."""
    seeded = [principal(key, f"seed-{i}") for i in SEEDS]
    other = "mapRoles" if key is MAP_USERS else "mapUsers"
    server = KubeApiServer(cluster_name="c")
    server.seed_configmap(
        "kube-system", "aws-auth", {key.name: "".join(seed_text(key, arn) for arn in seeded), other: NODE_ROLES}
    )
    ours, foreign = scenario["ours"], scenario["foreign"]
    turnstile = Turnstile(len(ours) + len(foreign), scenario["order"])
    errors: list[BaseException] = []

    def our_writer(me: int, plan: str) -> None:
        api = InProcessApi(server, "deployer", before=lambda: turnstile.turn(me))
        cas = writer(api, retry=RetryPolicy(deadline=1e9), sleep=lambda s: None)
        cas.ensure(Entry(key, principal(key, f"ci-{me}"), f"ci-{me}", ("deployers",)))
        if plan == "create-delete":
            cas.remove(key, principal(key, f"ci-{me}"))

    def foreign_writer(me: int, action: tuple[str, int | None]) -> None:
        api = InProcessApi(server, "someone", before=lambda: turnstile.turn(me))
        kind, seed = action
        if kind == "add":
            foreign_edit(api, key, lambda text: text + seed_text(key, principal(key, f"other-{me}")))
        else:
            assert seed is not None
            foreign_edit(api, key, lambda text: text.replace(seed_text(key, seeded[seed]), ""))

    def run(me: int, work: Callable[[], None]) -> None:
        try:
            work()
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            turnstile.done(me)

    jobs = [(i, lambda i=i, p=plan: our_writer(i, p)) for i, plan in enumerate(ours)]
    jobs += [
        (len(ours) + j, lambda j=j, a=action: foreign_writer(len(ours) + j, a)) for j, action in enumerate(foreign)
    ]
    threads = [threading.Thread(target=run, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors

    removed = {seeded[seed] for kind, seed in foreign if kind == "remove" and seed is not None}
    expected_foreign = [arn for arn in seeded if arn not in removed]
    expected_foreign += [
        principal(key, f"other-{len(ours) + j}") for j, (kind, _) in enumerate(foreign) if kind == "add"
    ]
    expected_ours = [principal(key, f"ci-{i}") for i, plan in enumerate(ours) if plan == "create"]
    data = aws_auth(server)["data"]
    final = [key.arn_of(e) for e in yaml.safe_load(data[key.name]) or []]
    assert sorted(a or "" for a in final) == sorted(expected_foreign + expected_ours)
    for arn in expected_foreign:
        assert seed_text(key, arn) in data[key.name], f"{arn}'s entry lost its bytes"
    assert data[other] == NODE_ROLES


@pytest.fixture(autouse=True)
def _no_leftover_threads() -> Iterator[None]:
    before = threading.active_count()
    yield
    assert threading.active_count() <= before + 8, "writer threads were left running"


@pytest.mark.parametrize("coalesce", [None, "coalesce-unexpected"])
def test_an_unexpected_error_reaches_the_writer_and_nothing_is_written(coalesce):
    """An exception the write loop does not expect (a bug in an edit, say) is raised to the writer as it is, alone
    or coalesced, instead of a missing result; aws-auth is untouched."""
    server = offline_server()
    before = copy.deepcopy(server.store.objects)

    def broken(data: Mapping[str, str]) -> dict[str, str]:
        raise RuntimeError("a bug in an edit")

    with pytest.raises(RuntimeError, match="a bug in an edit"):
        writer(InProcessApi(server, "deployer"), coalesce=coalesce).edit(broken)
    assert server.store.objects == before
