"""The ``eks-cicd-access`` plugin over gRPC, against the real control plane (``pytest -m cluster``).

The plugin is started as the engine's Python language host starts a ``runtime: python`` plugin:
``python provider/ ENGINE_ADDRESS``, its port read from stdout. Each call is what the engine sends for an
``eks-cicd-access:index:AwsAuthEntry`` (secrets wrapped, unknowns as the sentinel), and each answer is judged by
what ``kube-system/aws-auth`` then holds on the real kube-apiserver, seeded with the node role and another
team's user, and by the audit log's writes. Construct needs the engine's monitor: the languages tier shows it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import pytest
import yaml
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime import proto, rpc
from pulumi.runtime.proto import provider_pb2_grpc

from eks_cicd_access.plugin.schema import VERSION, package_schema
from testbed.controlplane.fixture import ControlPlane
from testbed.engine_stack import REPO, aws_auth_writes, seed_foreign
from testbed.names import MOTO_ACCOUNT

PLUGIN = REPO / "provider"
TYPE = "eks-cicd-access:index:AwsAuthEntry"
#: How long the plugin may take to print its port on a busy machine.
START_TIMEOUT = 60


def urn(name: str, parent: str = "") -> str:
    qualified = f"{parent}${TYPE}" if parent else TYPE
    return f"urn:pulumi:dev::plugin-test::{qualified}::{name}"


@pytest.fixture(scope="module")
def plugin(
    tmp_path_factory: pytest.TempPathFactory, control_plane: ControlPlane
) -> Iterator[provider_pb2_grpc.ResourceProviderStub]:
    """The plugin process, started as the engine starts it, and a client of its gRPC server; killed after. Its
    stderr goes to a file (shown if it fails to start), so that nothing it logs can block it. The control plane
    starts first: its processes must not be forked from a process whose gRPC threads already run."""
    work = tmp_path_factory.mktemp("plugin")
    with (work / "stderr").open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, str(PLUGIN), "127.0.0.1:1"], cwd=work, stdout=subprocess.PIPE, stderr=stderr
        )
    try:
        assert process.stdout is not None
        with ThreadPoolExecutor(1) as reader:
            line = reader.submit(process.stdout.readline).result(timeout=START_TIMEOUT)  # the port, once it listens
        assert line.strip().isdigit(), (line, (work / "stderr").read_text())
        channel = grpc.insecure_channel(f"127.0.0.1:{int(line)}")
        grpc.channel_ready_future(channel).result(timeout=START_TIMEOUT)
        yield provider_pb2_grpc.ResourceProviderStub(channel)
        channel.close()
    finally:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture
def foreign(control_plane: ControlPlane) -> Iterator[dict[str, str]]:
    """aws-auth with the node role and another team's user; deleted after the test (the plane is shared)."""
    yield seed_foreign(control_plane)
    control_plane.request("DELETE", "/api/v1/namespaces/kube-system/configmaps/aws-auth")


def struct(props: dict[str, Any], secret: tuple[str, ...] = ("kubeconfig",)) -> struct_pb2.Struct:
    """Properties as the engine sends them: the kubeconfig (and ``secret``) wrapped as secrets, unknowns as the
    engine's sentinel."""
    wire = {k: rpc.wrap_rpc_secret(v) if k in secret else v for k, v in props.items()}
    found = struct_pb2.Struct()
    found.update(wire)
    return found


def plain(found: struct_pb2.Struct) -> dict[str, Any]:
    """A response's properties: secrets unwrapped (and noted in ``secret``)."""
    values = json_format.MessageToDict(found)
    return {k: v["value"] if isinstance(v, dict) and rpc._special_sig_key in v else v for k, v in values.items()}


def secret_keys(found: struct_pb2.Struct) -> set[str]:
    return {k for k, v in found.items() if isinstance(v, struct_pb2.Struct) and rpc._special_sig_key in v}


def entry(plane: ControlPlane, name: str, **overrides: Any) -> dict[str, Any]:
    return {
        "cluster": "my-cluster-1",
        "key": "mapUsers",
        "arn": f"arn:aws:iam::{MOTO_ACCOUNT}:user/{name}",
        "username": name,
        "groups": [f"{name}-group"],
        "kubeconfig": plane.admin_kubeconfig,
        **overrides,
    }


def users(plane: ControlPlane) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = yaml.safe_load((plane.aws_auth_data() or {}).get("mapUsers") or "[]")
    return found


def create(stub: Any, name: str, props: dict[str, Any], *, preview: bool = False) -> Any:
    return stub.Create(proto.CreateRequest(urn=urn(name), properties=struct(props), preview=preview), timeout=60)


def test_the_schema_served_is_the_generated_one(plugin: Any) -> None:
    """GetSchema answers ``schema.package_schema()`` and GetPluginInfo the same version."""
    served = plugin.GetSchema(proto.GetSchemaRequest(version=0), timeout=30).schema
    assert json.loads(served) == package_schema()
    assert plugin.GetPluginInfo(empty_pb2.Empty(), timeout=30).version == VERSION


def test_check_names_the_bad_field_and_fills_the_default_groups(plugin: Any, control_plane: ControlPlane) -> None:
    """Check refuses a key that is neither mapUsers nor mapRoles, naming ``key``; a good entry comes back with
    ``groups: []`` when it had none, and its kubeconfig still secret."""
    bad = entry(control_plane, "ci", key="mapAccounts")
    failures = plugin.Check(proto.CheckRequest(urn=urn("e"), news=struct(bad)), timeout=60).failures
    assert [f.property for f in failures] == ["key"], failures
    good = {k: v for k, v in entry(control_plane, "ci").items() if k != "groups"}
    checked = plugin.Check(proto.CheckRequest(urn=urn("e"), news=struct(good)), timeout=60)
    assert list(checked.failures) == []
    assert plain(checked.inputs)["groups"] == [] and "kubeconfig" in secret_keys(checked.inputs)


def test_an_unknown_key_is_checked_once_known_and_secret_inputs_stay_secret(
    plugin: Any, control_plane: ControlPlane, foreign: dict[str, str]
) -> None:
    """In a preview, a ``key`` not yet known passes Check (it is checked once known), and the planned state keeps
    it unknown; an ARN given as a secret comes back secret from Check, a preview's Create and the real Create."""
    unknown = struct({**entry(control_plane, "ci"), "key": rpc.UNKNOWN})
    checked = plugin.Check(proto.CheckRequest(urn=urn("e"), news=unknown), timeout=60)
    assert list(checked.failures) == [] and plain(checked.inputs)["key"] == rpc.UNKNOWN
    planned = plugin.Create(proto.CreateRequest(urn=urn("e"), properties=unknown, preview=True), timeout=60)
    assert plain(planned.properties)["key"] == rpc.UNKNOWN
    assert control_plane.aws_auth_data() == foreign

    hidden = entry(control_plane, "ci")
    secret = ("kubeconfig", "arn")
    checked = plugin.Check(proto.CheckRequest(urn=urn("e"), news=struct(hidden, secret)), timeout=60)
    assert secret_keys(checked.inputs) == set(secret)
    planned = plugin.Create(proto.CreateRequest(urn=urn("e"), properties=struct(hidden, secret), preview=True))
    assert secret_keys(planned.properties) == set(secret)
    made = plugin.Create(proto.CreateRequest(urn=urn("e"), properties=struct(hidden, secret)), timeout=60)
    assert secret_keys(made.properties) == set(secret)
    plugin.Delete(proto.DeleteRequest(urn=urn("e"), id=made.id, properties=made.properties), timeout=60)
    assert control_plane.aws_auth_data() == foreign


def test_the_lifecycle_touches_only_our_entry_and_nothing_in_a_preview(
    plugin: Any, control_plane: ControlPlane, foreign: dict[str, str]
) -> None:
    """Create, Diff, Update, Read and Delete of one entry, as the engine calls them: a preview's Create and Update
    write nothing; the real ones write our entry beside the foreign ones; Diff sees a hand edit; Read of a removed
    entry reports it gone; Delete leaves aws-auth as it was."""
    plane = control_plane
    props = entry(plane, "ci")
    mark = plane.audit.mark()
    planned = create(plugin, "e", props, preview=True)
    assert planned.id == "" and plain(planned.properties)["username"] == "ci"
    assert plane.aws_auth_data() == foreign and aws_auth_writes(plane, mark) == []

    made = create(plugin, "e", props)
    assert made.id == f"kube-system/aws-auth/mapUsers/{props['arn']}"
    assert secret_keys(made.properties) == {"kubeconfig"}
    assert users(plane)[-1] == {"userarn": props["arn"], "username": "ci", "groups": ["ci-group"]}
    assert users(plane)[:-1] == yaml.safe_load(foreign["mapUsers"])

    def diff(olds: dict[str, Any], news: dict[str, Any]) -> Any:
        request = proto.DiffRequest(urn=urn("e"), id=made.id, olds=struct(olds), news=struct(news))
        return plugin.Diff(request, timeout=60)

    assert diff(props, props).changes == proto.DiffResponse.DIFF_NONE
    renamed = {**props, "username": "ci-2"}
    changed = diff(props, renamed)
    assert (changed.changes, list(changed.diffs), list(changed.replaces)) == (
        proto.DiffResponse.DIFF_SOME,
        ["username"],
        [],
    )
    assert list(diff(props, {**props, "cluster": "renamed"}).replaces) == []  # the same API server: an update
    elsewhere = yaml.safe_load(props["kubeconfig"])
    for found in elsewhere["clusters"]:
        found["cluster"]["server"] = "https://127.0.0.1:1"
    moved = diff(props, {**props, "cluster": "other", "kubeconfig": yaml.safe_dump(elsewhere)})
    assert list(moved.replaces) == ["cluster"]

    mark = plane.audit.mark()
    request = proto.UpdateRequest(urn=urn("e"), id=made.id, olds=struct(props), news=struct(renamed), preview=True)
    assert plain(plugin.Update(request, timeout=60).properties)["username"] == "ci-2"
    assert aws_auth_writes(plane, mark) == [] and users(plane)[-1]["username"] == "ci"
    request = proto.UpdateRequest(urn=urn("e"), id=made.id, olds=struct(props), news=struct(renamed))
    plugin.Update(request, timeout=60)
    assert users(plane)[-1]["username"] == "ci-2" and len(users(plane)) == 2

    # By hand, someone drops our entry: Diff with unchanged inputs sees it, Read reports the resource gone.
    data = {**(plane.aws_auth_data() or {}), "mapUsers": foreign["mapUsers"]}
    plane.api("PUT", "/api/v1/namespaces/kube-system/configmaps/aws-auth", {
        "metadata": {"name": "aws-auth", "namespace": "kube-system"}, "data": data})  # fmt: skip
    assert diff(renamed, renamed).changes == proto.DiffResponse.DIFF_SOME
    read = plugin.Read(proto.ReadRequest(urn=urn("e"), id=made.id, properties=struct(renamed)), timeout=60)
    assert read.id == ""
    create(plugin, "e", renamed)
    read = plugin.Read(proto.ReadRequest(urn=urn("e"), id=made.id, properties=struct(renamed)), timeout=60)
    assert read.id == made.id and plain(read.properties)["groups"] == ["ci-group"]

    plugin.Delete(proto.DeleteRequest(urn=urn("e"), id=made.id, properties=struct(renamed)), timeout=60)
    assert plane.aws_auth_data() == foreign


def test_five_entries_created_at_once_through_the_plugin_lose_nothing(
    plugin: Any, control_plane: ControlPlane, foreign: dict[str, str]
) -> None:
    """Five Create calls at once (the engine's parallel creates, one plugin process): all five entries land beside
    the foreign ones, in no more aws-auth writes than entries; then five Deletes at once leave aws-auth as it was.
    The write counts are printed (the writes of one process coalesce)."""
    plane = control_plane
    names = [f"team-{i}-ci" for i in range(5)]
    mark = plane.audit.mark()
    with ThreadPoolExecutor(len(names)) as pool:
        made = list(pool.map(lambda n: create(plugin, n, entry(plane, n)), names))
    writes = aws_auth_writes(plane, mark)
    assert 1 <= len(writes) <= len(names), writes
    assert sorted(u["username"] for u in users(plane)[1:]) == names
    assert users(plane)[0] == yaml.safe_load(foreign["mapUsers"])[0]
    assert (plane.aws_auth_data() or {})["mapRoles"] == foreign["mapRoles"]
    print(f"\n5 creates at once: {len(writes)} aws-auth writes")

    mark = plane.audit.mark()

    def delete(name: str, made: Any) -> None:
        request = proto.DeleteRequest(urn=urn(name), id=made.id, properties=struct(entry(plane, name)))
        plugin.Delete(request, timeout=60)

    with ThreadPoolExecutor(len(names)) as pool:
        list(pool.map(delete, names, made))
    print(f"5 deletes at once: {len(aws_auth_writes(plane, mark))} aws-auth writes")
    assert plane.aws_auth_data() == foreign
