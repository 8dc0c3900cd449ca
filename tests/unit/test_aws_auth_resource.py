"""AwsAuthEntry's provider, run the way the engine runs it, against the test API server.

Each test builds components under mocks, takes each AwsAuthEntry exactly as
registered (``__provider`` included) and drives it through the SDK's own
dynamic-provider servicer (``testbed/provider_host.py``), with the kubeconfig argument
pointing at the HTTPS test server. Concurrency is real: threads, each with
its own HTTP connection, against one server.
"""

from __future__ import annotations

import threading
import time
from functools import partial
from typing import Any

import pytest
import yaml
from pulumi.output import Unknown
from pulumi.runtime import proto

from eks_cicd_access.aws_auth import resource as aws_auth_resource
from eks_cicd_access.aws_auth import writer as aws_auth_writer
from eks_cicd_access.aws_auth.resource import AwsAuthEntryProvider
from eks_cicd_access.aws_auth.writer import RetryPolicy
from testbed.aws_auth_seed import ALICE, NODE_ROLES, OTHER_USERS, TEAM_B, user_arn
from testbed.names import ACCOUNT
from testbed.provider_host import HOST_WORKERS, CheckFailed, ProviderError, ProviderHost
from tests.support import ApiServer, at_once, foreign_untouched, inputs, map_users, mapped, register, register_roles, up


def conflicts(apiserver: ApiServer) -> int:
    return sum(1 for w in apiserver.writes() if w.endswith("-> 409"))


# --- 1. many instances at once ----------------------------------------------------------------


def test_five_instances_created_at_once_all_land_in_few_writes(stack, apiserver):
    """Five components in one program, created concurrently (four at a time, as the provider host runs them):
    their edits coalesce, so all five entries and every foreign entry are there after at most three writes, with
    mapRoles and mapAccounts byte-identical."""
    names = [f"ci-{i}" for i in range(5)]
    registrations = register(stack, apiserver, names)
    assert len(registrations) == 5
    states = at_once([partial(up, apiserver, r) for r in registrations])
    assert [s.steps for s in states] == [["check", "create"]] * 5
    assert sorted(mapped(apiserver)) == sorted([ALICE, TEAM_B, *map(user_arn, names)])
    foreign_untouched(apiserver)
    writes = len(apiserver.writes())
    RESULTS["1. five concurrent creates"] = (
        f"7/7 entries present; {writes} writes, {conflicts(apiserver)} refused (409)"
    )
    assert writes <= 3


def test_five_separate_writers_from_the_same_stale_read_all_land(stack, apiserver, monkeypatch):
    """Without coalescing (as five processes would write), four writes held until all carry the same
    resourceVersion: three are refused with 409, retried, and all seven entries are there."""
    monkeypatch.setattr(
        aws_auth_resource,
        "_writer",
        lambda props: aws_auth_writer.AuthConfigMap(aws_auth_writer.connect(props["kubeconfig"])),
    )
    names = [f"ci-{i}" for i in range(5)]
    registrations = register(stack, apiserver, names)
    # Hold the first writes until as many as the host runs at once are waiting: each was read
    # before any write went through, so all carry the same resourceVersion. The worst case.
    barrier = threading.Barrier(HOST_WORKERS, timeout=20)
    held = iter(range(HOST_WORKERS))
    lock = threading.Lock()

    def hold(request: Any) -> None:
        with lock:
            first = next(held, None) is not None
        if first:
            barrier.wait()

    apiserver.server.before_configmap_write = hold
    at_once([partial(up, apiserver, r) for r in registrations])
    assert sorted(mapped(apiserver)) == sorted([ALICE, TEAM_B, *map(user_arn, names)])
    foreign_untouched(apiserver)
    RESULTS["1b. five separate writers"] = f"7/7 entries present; {conflicts(apiserver)} writes refused with 409"
    assert conflicts(apiserver) >= HOST_WORKERS - 1, "all but one of the first writes carried a stale version"


def test_two_stacks_running_up_at_once(stack, apiserver):
    """Two stacks (two provider hosts) each create three entries at the same moment: all six land."""
    first = register(stack, apiserver, ["a-1", "a-2", "a-3"])
    second = register(stack, apiserver, ["b-1", "b-2", "b-3"])
    other_host = ProviderHost()
    try:
        at_once(
            [partial(apiserver.host.up, r.urn, inputs(r)) for r in first]
            + [partial(other_host.up, r.urn, inputs(r)) for r in second]
        )
    finally:
        other_host.pool.shutdown()
    names = ["a-1", "a-2", "a-3", "b-1", "b-2", "b-3"]
    assert sorted(mapped(apiserver)) == sorted([ALICE, TEAM_B, *map(user_arn, names)])
    foreign_untouched(apiserver)


# --- 2. a hostile concurrent editor -------------------------------------------------------------


def test_an_editor_writing_between_our_read_and_our_write_loses_nothing(stack, apiserver):
    """Someone edits aws-auth after each of the create's first five reads: each write of ours is refused,
    retried on the new value, and in the end every one of their entries and ours is there."""
    (registration,) = register(stack, apiserver, ["ci"])
    theirs: list[str] = []
    reads = []

    def interfere(request: Any, obj: dict[str, Any]) -> None:
        reads.append(request.user)
        # The first read is check's; the create's reads follow.
        if request.user == "deployer" and len(reads) > 1 and len(theirs) < 5:
            arn = user_arn(f"hostile-{len(theirs)}")
            theirs.append(arn)
            apiserver.server.edit_configmap(
                "kube-system",
                "aws-auth",
                lambda data: {**data, "mapUsers": data["mapUsers"] + f"- userarn: {arn}\n  username: h\n"},
            )

    apiserver.server.after_configmap_read = interfere
    up(apiserver, registration)
    assert mapped(apiserver) == [ALICE, TEAM_B, *theirs, user_arn("ci")]
    foreign_untouched(apiserver)
    assert conflicts(apiserver) == 5
    RESULTS["2. editor between read and write"] = "5 foreign edits kept + ours; 5 retries (6 attempts)"


def test_a_concurrent_editor_thread_and_three_creates(stack, apiserver):
    """A second client makes 40 edits, one every 10 ms (compare-and-swap, like kubectl edit or eksctl), while
    three instances are created: every entry it wrote and all of ours are there.

    (A client that rewrites aws-auth without pause, for longer than our retries last, can starve any optimistic
    writer, ours included: we then stop with the conflict error at the deadline and write nothing.)"""
    registrations = register(stack, apiserver, ["ci-a", "ci-b", "ci-c"])
    editor = aws_auth_writer.AuthConfigMap(
        aws_auth_writer.connect(apiserver.kubeconfig), retry=RetryPolicy(base_delay=0.001)
    )
    written = list[tuple[float, str]]()

    def edit_40_times() -> None:
        for n in range(40):
            arn = user_arn(f"editor-{n}")

            def add(data: Any, arn: str = arn) -> dict[str, str]:
                return {"mapUsers": data["mapUsers"] + f"- userarn: {arn}\n  username: e\n"}

            editor.edit(add)
            written.append((time.monotonic(), arn))
            time.sleep(0.01)

    thread = threading.Thread(target=edit_40_times)
    thread.start()
    try:
        while not written:
            time.sleep(0.005)
        started = time.monotonic()
        at_once([partial(up, apiserver, r) for r in registrations])
        ended = time.monotonic()
    finally:
        thread.join()
    assert any(started < at < ended for at, _ in written), "the editor must have written while we did"
    theirs = [arn for _, arn in written]
    assert len(theirs) == 40
    assert sorted(mapped(apiserver)) == sorted([ALICE, TEAM_B, *theirs, *map(user_arn, ["ci-a", "ci-b", "ci-c"])])
    foreign_untouched(apiserver)


# --- 3 and 4. destroy --------------------------------------------------------------------------


def test_destroying_one_of_three_removes_only_its_entry(stack, apiserver):
    """Destroy takes out exactly that instance's entry; deleting again is a success and writes nothing."""
    registrations = register(stack, apiserver, ["ci-a", "ci-b", "ci-c"])
    states = [up(apiserver, r) for r in registrations]
    before = apiserver.aws_auth()["data"]["mapUsers"]
    apiserver.host.destroy(states[1])
    assert mapped(apiserver) == [ALICE, TEAM_B, user_arn("ci-a"), user_arn("ci-c")]
    assert apiserver.aws_auth()["data"]["mapUsers"] == before.replace(
        "- userarn: arn:aws:iam::123412341234:user/ci-b\n  username: ci-b\n  groups: []\n", ""
    )
    foreign_untouched(apiserver)
    version = apiserver.aws_auth()["metadata"]["resourceVersion"]
    apiserver.host.destroy(states[1])
    assert apiserver.aws_auth()["metadata"]["resourceVersion"] == version, "a second delete must write nothing"


def test_delete_when_aws_auth_is_gone_succeeds(stack, apiserver):
    """An aws-auth that no longer exists means our entry is gone too: the delete succeeds."""
    (registration,) = register(stack, apiserver, ["ci"])
    state = up(apiserver, registration)
    with apiserver.server.store.lock:
        del apiserver.server.store.objects[("configmaps", "kube-system", "aws-auth")]
    apiserver.host.destroy(state)
    assert apiserver.server.configmap("kube-system", "aws-auth") is None, "delete must not re-create aws-auth"


def test_deletes_and_creates_racing(stack, apiserver):
    """Two destroys and two creates at once: the survivors and the new ones are mapped, the destroyed are not."""
    old = register(stack, apiserver, ["ci-a", "ci-b", "ci-c"])
    states = [up(apiserver, r) for r in old]
    new = register(stack, apiserver, ["ci-d", "ci-e"])
    at_once(
        [
            partial(apiserver.host.destroy, states[0]),
            partial(up, apiserver, new[0]),
            partial(apiserver.host.destroy, states[1]),
            partial(up, apiserver, new[1]),
        ]
    )
    assert sorted(mapped(apiserver)) == sorted([ALICE, TEAM_B, *map(user_arn, ["ci-c", "ci-d", "ci-e"])])
    foreign_untouched(apiserver)


# --- 5 and 6. drift and idempotence ------------------------------------------------------------


def test_an_entry_removed_by_hand_is_reported_and_restored(stack, apiserver):
    """After someone deletes our entry with kubectl edit, a preview shows an update and `pulumi up` restores it."""
    (registration,) = register(stack, apiserver, ["ci"])
    state = up(apiserver, registration)
    apiserver.server.edit_configmap("kube-system", "aws-auth", lambda data: {**data, "mapUsers": OTHER_USERS})
    assert apiserver.host.preview(registration.urn, inputs(registration), state) == "update"
    assert apiserver.host.refresh(state) is None, "refresh reports the entry gone"
    restored = up(apiserver, registration, state)
    assert restored.steps == ["check", "diff", "update"]
    assert mapped(apiserver) == [ALICE, TEAM_B, user_arn("ci")]
    foreign_untouched(apiserver)


def test_an_entry_edited_by_hand_is_reported_and_restored(stack, apiserver):
    """A hand edit of our entry's groups shows in refresh and diff, and `pulumi up` puts ours back in place."""
    (registration,) = register(stack, apiserver, ["ci"], kubernetes_groups=["deployers"])
    state = up(apiserver, registration)
    apiserver.server.edit_configmap(
        "kube-system",
        "aws-auth",
        lambda data: {**data, "mapUsers": data["mapUsers"].replace("- deployers", "- system:masters")},
    )
    refreshed = apiserver.host.refresh(state)
    assert refreshed is not None and refreshed.outputs["groups"] == ["system:masters"]
    assert refreshed.outputs["username"] == "ci" and refreshed.id == state.id
    assert apiserver.host.preview(registration.urn, inputs(registration), refreshed) == "update"
    up(apiserver, registration, refreshed)
    assert map_users(apiserver)[-1] == {"userarn": user_arn("ci"), "username": "ci", "groups": ["deployers"]}


def test_a_renamed_kubernetes_user_by_hand_shows_in_refresh(stack, apiserver):
    """Refresh reports the live entry's username, so a hand edit of it is seen and undone by `pulumi up`."""
    (registration,) = register(stack, apiserver, ["ci"])
    state = up(apiserver, registration)
    apiserver.server.edit_configmap(
        "kube-system",
        "aws-auth",
        lambda data: {**data, "mapUsers": data["mapUsers"].replace("username: ci", "username: x")},
    )
    refreshed = apiserver.host.refresh(state)
    assert refreshed is not None and refreshed.outputs["username"] == "x"
    assert up(apiserver, registration, refreshed).steps == ["check", "diff", "update"]
    assert map_users(apiserver)[-1]["username"] == "ci"


def test_nothing_changed_writes_nothing(stack, apiserver):
    """A second `pulumi up` with the same inputs is a no-op: diff says same and no write reaches the server."""
    (registration,) = register(stack, apiserver, ["ci"])
    state = up(apiserver, registration)
    version = apiserver.aws_auth()["metadata"]["resourceVersion"]
    writes = len(apiserver.writes())
    again = up(apiserver, registration, state)
    assert again.steps == ["check", "diff"]
    assert apiserver.aws_auth()["metadata"]["resourceVersion"] == version
    assert len(apiserver.writes()) == writes


def test_upgrade_from_the_config_map_patch_writes_nothing(stack, apiserver):
    """A stack made with the old ConfigMapPatch already holds our entry (as the patch wrote it): the new
    entry's create finds it in place and writes nothing, so the upgrade loses and changes nothing."""
    # What the ConfigMapPatch of version 0.1.0 wrote: every entry re-serialized, ours appended.
    written_by_the_patch = (
        "- userarn: arn:aws:iam::123412341234:user/alice\n  username: alice\n  groups:\n  - system:masters\n"
        "- userarn: arn:aws:iam::123412341234:user/team-b-ci\n  username: team-b-ci\n  groups:\n  - team-b\n"
        "- userarn: arn:aws:iam::123412341234:user/my-test-iam-user\n  username: my-test-user\n  groups:\n"
        "  - my-test-role\n"
    )
    apiserver.server.edit_configmap("kube-system", "aws-auth", lambda data: {**data, "mapUsers": written_by_the_patch})
    version = apiserver.aws_auth()["metadata"]["resourceVersion"]
    (registration,) = register(
        stack, apiserver, ["my-test-iam-user"], kubernetes_username="my-test-user", kubernetes_groups=["my-test-role"]
    )
    up(apiserver, registration)
    assert apiserver.aws_auth()["metadata"]["resourceVersion"] == version
    assert apiserver.aws_auth()["data"]["mapUsers"] == written_by_the_patch
    assert apiserver.writes() == []


# --- 7. conflict storms -------------------------------------------------------------------------


def test_a_few_conflicts_are_retried(stack, apiserver):
    """Three refused writes in a row are retried; the fourth goes through."""
    (registration,) = register(stack, apiserver, ["ci"])
    apiserver.server.refuse_configmap_writes = 3
    up(apiserver, registration)
    assert [w.rsplit(" ", 1)[-1] for w in apiserver.writes()] == ["409", "409", "409", "200"]
    assert mapped(apiserver)[-1] == user_arn("ci")


def test_endless_conflicts_end_in_a_clear_error_at_the_deadline(stack, apiserver, monkeypatch):
    """When every write is refused, the provider stops at the deadline with an error naming kube-system/aws-auth
    and saying nothing of ours was written; nothing was."""
    monkeypatch.setattr(aws_auth_writer, "DEFAULT_RETRY", RetryPolicy(deadline=0.5, base_delay=0.002, max_delay=0.02))
    (registration,) = register(stack, apiserver, ["ci"])
    before = apiserver.aws_auth()
    apiserver.server.refuse_configmap_writes = 10**9
    started = time.monotonic()
    with pytest.raises(ProviderError) as raised:
        up(apiserver, registration)
    elapsed = time.monotonic() - started
    message = str(raised.value)
    refused = len(apiserver.writes())
    assert f"kube-system/aws-auth kept changing while we wrote it: {refused} writes in " in message
    assert "we stop after 0.5 s. Nothing of ours was written" in message
    assert refused >= 2
    assert apiserver.aws_auth() == before
    assert 0.4 < elapsed < 5


# --- 8. what cannot be merged, and what is missing ---------------------------------------------


@pytest.mark.parametrize(
    ("map_users", "message"),
    [
        ("- userarn: [broken\n", "data.mapUsers is not valid YAML"),
        ("userarn: arn:aws:iam::1:user/a\n", "data.mapUsers must be a YAML list"),
    ],
)
def test_a_malformed_map_users_fails_the_preview_and_writes_nothing(stack, apiserver, map_users, message):
    """In a preview (the user's ARN still unknown) check reads aws-auth and fails naming the fix; create
    refuses too, and nothing is written."""
    apiserver.server.edit_configmap("kube-system", "aws-auth", lambda data: {**data, "mapUsers": map_users})
    stack.start_preview()
    (previewed,) = register(stack, apiserver, ["ci"])
    with pytest.raises(CheckFailed) as raised:
        apiserver.host.preview(previewed.urn, inputs(previewed))
    ((prop, reason),) = raised.value.failures
    assert prop == "key"
    assert message in reason and "kubectl edit configmap aws-auth -n kube-system" in reason
    assert "Nothing was written" in reason
    stack.mocks.preview = False
    (registration,) = register(stack, apiserver, ["ci"])
    with pytest.raises(ProviderError, match=message):
        apiserver.host.create(registration.urn, inputs(registration))
    assert apiserver.aws_auth()["data"]["mapUsers"] == map_users
    assert apiserver.writes() == []


def test_a_preview_of_a_healthy_cluster_passes(stack, apiserver):
    """With the ARN unknown, check still reads aws-auth and passes; the preview plans a create."""
    stack.start_preview()
    (previewed,) = register(stack, apiserver, ["ci"])
    assert apiserver.host.preview(previewed.urn, inputs(previewed)) == "create"
    assert apiserver.writes() == []


def test_a_missing_aws_auth_is_created_with_only_our_entry(stack, apiserver):
    """A cluster without aws-auth gets one holding just our entry (a create that fails if someone beat us)."""
    with apiserver.server.store.lock:
        del apiserver.server.store.objects[("configmaps", "kube-system", "aws-auth")]
    (registration,) = register(stack, apiserver, ["ci"])
    up(apiserver, registration)
    assert apiserver.aws_auth()["data"] == {
        "mapUsers": "- userarn: arn:aws:iam::123412341234:user/ci\n  username: ci\n  groups: []\n"
    }
    assert apiserver.writes() == ["create configmaps -> 201"]


def test_a_missing_aws_auth_created_by_someone_else_first(stack, apiserver):
    """If another writer creates aws-auth between our 404 and our create, ours gets 409 and is merged in."""
    with apiserver.server.store.lock:
        del apiserver.server.store.objects[("configmaps", "kube-system", "aws-auth")]
    (registration,) = register(stack, apiserver, ["ci"])
    original = apiserver.server._configmaps

    def create_first(record: Any, body: bytes) -> Any:
        if record.attributes.verb == "create" and apiserver.server.configmap("kube-system", "aws-auth") is None:
            apiserver.server.seed_configmap("kube-system", "aws-auth", {"mapRoles": NODE_ROLES})
        return original(record, body)

    apiserver.server._configmaps = create_first
    up(apiserver, registration)
    assert apiserver.writes() == ["create configmaps -> 409", "update configmaps aws-auth -> 200"]
    assert apiserver.aws_auth()["data"]["mapRoles"] == NODE_ROLES
    assert mapped(apiserver) == [user_arn("ci")]


# --- 9. renamed user ----------------------------------------------------------------------------


def test_a_renamed_user_ends_with_only_the_new_arn(stack, apiserver):
    """Renaming the IAM user updates the entry in place: the new ARN is mapped and the old one removed,
    in one write, where the old entry stood."""
    (old,) = register(stack, apiserver, ["ci"], iam_user_name="ci-old")
    state = up(apiserver, old)
    apiserver.server.edit_configmap(
        "kube-system", "aws-auth", lambda data: {**data, "mapUsers": data["mapUsers"] + "- userarn: x\n"}
    )
    writes = len(apiserver.writes())
    (new,) = register(stack, apiserver, ["ci"], iam_user_name="ci-new")
    assert apiserver.host.preview(new.urn, inputs(new), state) == "update"
    updated = up(apiserver, new, state)
    assert updated.steps == ["check", "diff", "update"]
    assert mapped(apiserver)[:3] == [ALICE, TEAM_B, user_arn("ci-new")]
    assert user_arn("ci-old") not in mapped(apiserver)
    assert len(apiserver.writes()) == writes + 1
    apiserver.host.destroy(updated)
    assert [e for e in map_users(apiserver) if isinstance(e, dict)][:2] == yaml.safe_load(OTHER_USERS)
    assert user_arn("ci-new") not in mapped(apiserver)


def test_another_cluster_replaces_the_entry(stack, apiserver):
    """A different cluster name behind another API server is a replacement, created there before it is deleted
    here (not deleted first)."""
    (registration,) = register(stack, apiserver, ["ci"])
    state = up(apiserver, registration)
    config = yaml.safe_load(apiserver.kubeconfig)
    for entry in config["clusters"]:
        entry["cluster"]["server"] = "https://127.0.0.1:1"
    elsewhere = yaml.safe_dump(config)
    moved = {**inputs(registration), "cluster": "my-cluster-2", "kubeconfig": elsewhere}
    response = apiserver.host.diff(state, moved)
    assert list(response.replaces) == ["cluster"]
    assert response.changes == proto.DiffResponse.DIFF_SOME and not response.deleteBeforeReplace


def test_a_new_cluster_name_on_the_same_api_server_is_an_update_that_keeps_the_entry(stack, apiserver):
    """Renaming the cluster while the kubeconfig reaches the same API server moves nothing: an update, not a
    replacement, whose "delete the old one" would remove the entry just written (every entry for the ARN)."""
    (registration,) = register(stack, apiserver, ["ci"])
    state = up(apiserver, registration)
    renamed = {**inputs(registration), "cluster": "my-cluster-renamed"}
    response = apiserver.host.diff(state, renamed)
    assert list(response.replaces) == [] and response.changes == proto.DiffResponse.DIFF_SOME
    assert apiserver.host.up(registration.urn, renamed, state).steps == ["check", "diff", "update"]
    assert user_arn("ci") in mapped(apiserver)


def test_a_new_kubeconfig_alone_is_stored_without_writing(stack, apiserver):
    """A different kubeconfig (a rotated deployer token) is an update that writes nothing to aws-auth but keeps
    the new kubeconfig in state, for the next update or the delete."""
    (registration,) = register(stack, apiserver, ["ci"])
    state = up(apiserver, registration)
    apiserver.server.tokens["rotated-token"] = apiserver.server.tokens["deployer-token"]
    rotated = {**inputs(registration), "kubeconfig": apiserver.server.kubeconfig("rotated-token")}
    writes = len(apiserver.writes())
    assert apiserver.host.preview(registration.urn, rotated, state) == "update"
    updated = apiserver.host.up(registration.urn, rotated, state)
    assert updated.steps == ["check", "diff", "update"]
    assert updated.outputs["kubeconfig"] == apiserver.server.kubeconfig("rotated-token")
    assert len(apiserver.writes()) == writes


# --- the adapter itself -------------------------------------------------------------------------


def test_the_provider_takes_secret_wrapped_inputs_too(stack, apiserver):
    """Called with inputs still wrapped in the engine's secret marker (as the mocks record them), it works."""
    (registration,) = register(stack, apiserver, ["ci"])
    provider = AwsAuthEntryProvider()
    created = provider.create(dict(registration.inputs))
    assert created.outs is not None and created.outs["kubeconfig"] == apiserver.kubeconfig
    assert mapped(apiserver)[-1] == user_arn("ci")


def test_a_bad_kubeconfig_is_a_check_failure(stack, apiserver):
    """A kubeconfig that is not one fails check with a message naming kubeconfig, before anything is written."""
    (registration,) = register(stack, apiserver, ["ci"])
    with pytest.raises(CheckFailed, match="kubeconfig: cannot be used to reach the cluster"):
        apiserver.host.check(registration.urn, {}, {**inputs(registration), "kubeconfig": "- not a config"})


def test_a_forbidden_kubeconfig_says_what_it_needs(stack, apiserver):
    """A kubeconfig whose user may not read aws-auth gets a 403 message that names the permissions needed."""
    (registration,) = register(stack, apiserver, ["ci"])
    apiserver.server.tokens["nobody"] = apiserver.server.tokens["deployer-token"].__class__("nobody", ())
    with pytest.raises(CheckFailed, match=r"403 Forbidden.*needs get, create and update on configmaps"):
        apiserver.host.check(
            registration.urn, {}, {**inputs(registration), "kubeconfig": apiserver.server.kubeconfig("nobody")}
        )


#: Numbers for the README and the closing note, printed at the end of the run.
RESULTS: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def report_results(request: pytest.FixtureRequest) -> Any:
    yield
    if RESULTS:
        print("\naws-auth writer:", "; ".join(f"{k}: {v}" for k, v in RESULTS.items()))


# --- roles in mapRoles: the node roles are the lock-out risk -------------------------------------

EKSCTL_NODE_ROLES = (
    "- groups:\n"
    "  - system:bootstrappers\n"
    "  - system:nodes\n"
    "  rolearn: arn:aws:iam::123412341234:role/eksctl-prod-nodegroup-ng-1-NodeInstanceRole-1A2B3C\n"
    "  username: system:node:{{EC2PrivateDNSName}}\n"
    "- groups:\n"
    "  - system:bootstrappers\n"
    "  - system:nodes\n"
    "  - system:node-proxier\n"
    "  rolearn: arn:aws:iam::123412341234:role/AmazonEKSFargatePodExecutionRole\n"
    "  username: system:node:{{SessionName}}\n"
)


def map_roles(apiserver: ApiServer) -> str:
    return str(apiserver.aws_auth()["data"]["mapRoles"])


@pytest.mark.parametrize("node_roles", [NODE_ROLES, EKSCTL_NODE_ROLES], ids=["hand-written", "eksctl"])
def test_a_role_is_mapped_without_its_path_and_node_roles_keep_every_byte(stack, apiserver, node_roles):
    """The role's entry goes to mapRoles without its IAM path; the node roles before it are byte-identical,
    mapUsers is untouched; destroy gives back exactly the node roles."""
    apiserver.server.edit_configmap("kube-system", "aws-auth", lambda data: {**data, "mapRoles": node_roles})
    (registration,) = register_roles(stack, apiserver, ["web-ci"])
    state = up(apiserver, registration)
    assert map_roles(apiserver) == node_roles + (
        f"- rolearn: arn:aws:iam::{ACCOUNT}:role/web-ci\n  username: web-ci\n  groups: []\n"
    )
    assert apiserver.aws_auth()["data"]["mapUsers"] == OTHER_USERS
    apiserver.host.destroy(state)
    assert map_roles(apiserver) == node_roles


def test_roles_created_while_node_groups_are_added(stack, apiserver):
    """Three CI roles created while eksctl adds three node groups (compare-and-swap each): every node role,
    old and new, is there with its exact text, and all three CI roles."""
    registrations = register_roles(stack, apiserver, ["ci-a", "ci-b", "ci-c"])
    editor = aws_auth_writer.AuthConfigMap(aws_auth_writer.connect(apiserver.kubeconfig))
    node_groups = [
        f"- rolearn: arn:aws:iam::{ACCOUNT}:role/nodegroup-{i}\n  username: system:node:{{{{EC2PrivateDNSName}}}}\n"
        "  groups:\n  - system:bootstrappers\n  - system:nodes\n"
        for i in range(3)
    ]

    def add_node_group(text: str) -> None:
        editor.edit(lambda data: {"mapRoles": data["mapRoles"] + text})

    at_once([partial(up, apiserver, r) for r in registrations] + [partial(add_node_group, t) for t in node_groups])
    text = map_roles(apiserver)
    assert text.startswith(NODE_ROLES)
    for node_group in node_groups:
        assert node_group in text
    roles = [e["rolearn"] for e in yaml.safe_load(text)]
    assert sorted(roles) == sorted(
        [
            f"arn:aws:iam::{ACCOUNT}:role/eks-node-group-role",
            *(f"arn:aws:iam::{ACCOUNT}:role/nodegroup-{i}" for i in range(3)),
            *(f"arn:aws:iam::{ACCOUNT}:role/{n}" for n in ("ci-a", "ci-b", "ci-c")),
        ]
    )
    assert apiserver.aws_auth()["data"]["mapUsers"] == OTHER_USERS


def test_moving_from_a_user_to_a_role_is_one_write(stack, apiserver):
    """Switching an instance from iam-user to github-actions updates its entry in place: in one write the
    mapUsers entry goes and the mapRoles entry comes; the node roles and other users keep their bytes."""
    (as_user,) = register(stack, apiserver, ["web-ci"])
    state = up(apiserver, as_user)
    writes = len(apiserver.writes())
    (as_role,) = register_roles(stack, apiserver, ["web-ci"], path="/")
    assert apiserver.host.preview(as_role.urn, inputs(as_role), state) == "update"
    up(apiserver, as_role, state)
    assert len(apiserver.writes()) == writes + 1
    assert apiserver.aws_auth()["data"]["mapUsers"] == OTHER_USERS
    assert map_roles(apiserver) == NODE_ROLES + (
        f"- rolearn: arn:aws:iam::{ACCOUNT}:role/web-ci\n  username: web-ci\n  groups: []\n"
    )


@pytest.mark.parametrize(
    ("change", "failures"),
    [
        ({"username": ""}, [("username", "username: must be a non-empty string")]),
        ({"arn": 7}, [("arn", "arn: must be a non-empty string")]),
        (
            {"cluster": "", "kubeconfig": ""},
            [
                ("cluster", "cluster: must be a non-empty string"),
                ("kubeconfig", "kubeconfig: must be a non-empty string"),
            ],
        ),
        ({"groups": "deployers"}, [("groups", "groups: must be a list of strings")]),
        ({"groups": ["ok", 3]}, [("groups", "groups: must be a list of strings")]),
        ({"key": "mapAccounts"}, [("key", "key: 'mapAccounts' is not one of ['mapRoles', 'mapUsers']")]),
    ],
)
def test_check_names_each_bad_input_and_reads_nothing(stack, apiserver, change, failures):
    """Inputs the component would never send (a hand-edited state, another program) fail check, each naming
    its property; with any failure, aws-auth is not even read."""
    (registration,) = register(stack, apiserver, ["ci"])
    reads = len(apiserver.server.requests)
    with pytest.raises(CheckFailed) as raised:
        apiserver.host.check(registration.urn, {}, {**inputs(registration), **change})
    assert raised.value.failures == failures
    assert len(apiserver.server.requests) == reads


def test_check_with_a_missing_key_input_names_key(stack, apiserver):
    """No key at all is reported as a bad key, not a crash."""
    (registration,) = register(stack, apiserver, ["ci"])
    without_key = {k: v for k, v in inputs(registration).items() if k != "key"}
    with pytest.raises(CheckFailed) as raised:
        apiserver.host.check(registration.urn, {}, without_key)
    assert raised.value.failures == [("key", "key: '' is not one of ['mapRoles', 'mapUsers']")]


def test_check_accepts_an_entry_without_groups(stack, apiserver):
    """groups is optional (no groups is an empty list): its absence is not a failure."""
    (registration,) = register(stack, apiserver, ["ci"])
    without_groups = {k: v for k, v in inputs(registration).items() if k != "groups"}
    assert "groups" not in apiserver.host.check(registration.urn, {}, without_groups)


def test_check_waits_for_an_unknown_kubeconfig(stack, apiserver):
    """In a preview where the kubeconfig is not known yet, check accepts and does not try to reach a cluster."""
    (registration,) = register(stack, apiserver, ["ci"])
    reads = len(apiserver.server.requests)
    checked = apiserver.host.check(registration.urn, {}, {**inputs(registration), "kubeconfig": Unknown()})
    assert isinstance(checked["kubeconfig"], Unknown)
    assert len(apiserver.server.requests) == reads


def test_check_accepts_groups_not_known_yet(stack, apiserver):
    """In a preview, groups computed from another resource (wholly or partly unknown) are not called a bad list."""
    (registration,) = register(stack, apiserver, ["ci"])
    checked = apiserver.host.check(registration.urn, {}, {**inputs(registration), "groups": Unknown()})
    assert isinstance(checked["groups"], Unknown)
    checked = apiserver.host.check(registration.urn, {}, {**inputs(registration), "groups": ["deployers", Unknown()]})
    assert checked["groups"][0] == "deployers" and isinstance(checked["groups"][1], Unknown)
