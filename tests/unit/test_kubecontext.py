"""Resolving kubeContext from the operator's kubeconfig files, as kubectl would."""

import os

import pytest
import yaml

from eks_cicd_access.kubecontext import context_kubeconfig, kubeconfig_paths


def write(path, **sections):
    path.write_text(yaml.safe_dump(sections))
    return path


def test_only_the_context_its_cluster_and_user_are_kept(tmp_path):
    """Other contexts, clusters and users of the file are left out; current-context is the one asked for."""
    config = write(
        tmp_path / "config",
        clusters=[{"name": "a", "cluster": {"server": "https://a"}}, {"name": "b", "cluster": {"server": "https://b"}}],
        users=[{"name": "ua", "user": {"token": "1"}}, {"name": "ub", "user": {"token": "2"}}],
        contexts=[
            {"name": "ctx-a", "context": {"cluster": "a", "user": "ua", "namespace": "x"}},
            {"name": "ctx-b", "context": {"cluster": "b", "user": "ub"}},
        ],
    )
    text = context_kubeconfig("ctx-b", [config])
    assert text == (
        "apiVersion: v1\nkind: Config\nclusters:\n- name: b\n  cluster:\n    server: https://b\nusers:\n- name: ub\n"
        "  user:\n    token: '2'\ncontexts:\n- name: ctx-b\n  context:\n    cluster: b\n    user: ub\n"
        "current-context: ctx-b\npreferences: {}\n"
    ), "kubectl's order of keys, not sorted"
    resolved = yaml.safe_load(text)
    assert resolved == {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "b", "cluster": {"server": "https://b"}}],
        "users": [{"name": "ub", "user": {"token": "2"}}],
        "contexts": [{"name": "ctx-b", "context": {"cluster": "b", "user": "ub"}}],
        "current-context": "ctx-b",
        "preferences": {},
    }


def test_the_first_file_to_define_a_name_wins(tmp_path):
    """As kubectl merges KUBECONFIG: a name defined in two files is taken from the first."""
    first = write(tmp_path / "first", clusters=[{"name": "c", "cluster": {"server": "https://first"}}])
    second = write(
        tmp_path / "second",
        clusters=[{"name": "c", "cluster": {"server": "https://second"}}],
        users=[{"name": "u", "user": {"token": "t"}}],
        contexts=[{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
    )
    resolved = yaml.safe_load(context_kubeconfig("ctx", [first, tmp_path / "missing", second]))
    assert resolved["clusters"][0]["cluster"]["server"] == "https://first"


def test_file_references_are_read_in_relative_to_their_file(tmp_path):
    """Certificate and key paths (relative to the kubeconfig's directory) and tokenFile become inline data."""
    (tmp_path / "pki").mkdir()
    for name, data in (("ca.crt", b"CA"), ("me.crt", b"CERT"), ("me.key", b"KEY")):
        (tmp_path / "pki" / name).write_bytes(data)
    (tmp_path / "token").write_text("s3cret\n")
    config = write(
        tmp_path / "config",
        clusters=[{"name": "c", "cluster": {"server": "https://c", "certificate-authority": "pki/ca.crt"}}],
        users=[
            {"name": "cert", "user": {"client-certificate": "pki/me.crt", "client-key": str(tmp_path / "pki/me.key")}},
            {"name": "tok", "user": {"tokenFile": "token"}},
        ],
        contexts=[
            {"name": "with-cert", "context": {"cluster": "c", "user": "cert"}},
            {"name": "with-token", "context": {"cluster": "c", "user": "tok"}},
        ],
    )
    cert = yaml.safe_load(context_kubeconfig("with-cert", [config]))
    assert cert["clusters"][0]["cluster"] == {"server": "https://c", "certificate-authority-data": "Q0E="}
    assert cert["users"][0]["user"] == {"client-certificate-data": "Q0VSVA==", "client-key-data": "S0VZ"}
    assert yaml.safe_load(context_kubeconfig("with-token", [config]))["users"][0]["user"] == {"token": "s3cret"}


def test_an_unknown_context_names_the_field_and_the_files(tmp_path):
    """The error names kubeContext, the files read and the contexts they hold."""
    config = write(tmp_path / "config", contexts=[{"name": "dev", "context": {"cluster": "c", "user": "u"}}])
    with pytest.raises(ValueError, match=rf"kubeContext: context 'prod' is not in {config} \(contexts: dev\)"):
        context_kubeconfig("prod", [config])
    with pytest.raises(ValueError, match="names cluster 'c', which is not in"):
        context_kubeconfig("dev", [config])


def test_kubeconfig_paths_follow_kubectl():
    """KUBECONFIG is a path list; without it, ~/.kube/config."""
    listed = os.pathsep.join(["/a/one", "", "/b/two"])
    assert [str(p) for p in kubeconfig_paths({"KUBECONFIG": listed})] == ["/a/one", "/b/two"]
    assert [str(p) for p in kubeconfig_paths({"HOME": "/home/me"})] == ["/home/me/.kube/config"]


def test_without_home_the_users_home_is_used(monkeypatch, tmp_path):
    """With no KUBECONFIG and no HOME in the environment given, ~/.kube/config of the current user is read."""
    monkeypatch.setattr("pathlib.Path.home", lambda: tmp_path)
    assert kubeconfig_paths({}) == [tmp_path / ".kube" / "config"]


def test_odd_items_are_skipped(tmp_path):
    """Items that are not mappings, or have no name, are ignored like kubectl ignores them."""
    config = write(
        tmp_path / "config",
        clusters=[
            "just-a-string",
            {"cluster": {"server": "https://nameless"}},
            {"name": "c", "cluster": {"server": "https://c"}},
        ],
        users=[{"name": "u", "user": {"token": "t"}}],
        contexts=[{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
    )
    assert yaml.safe_load(context_kubeconfig("ctx", [config]))["clusters"] == [
        {"name": "c", "cluster": {"server": "https://c"}}
    ]


def test_the_error_lists_every_file_and_context(tmp_path):
    """The message names each file read, comma-separated, and the contexts found; or that there was no file."""
    first = write(tmp_path / "a", contexts=[{"name": "b-ctx", "context": {}}, {"name": "a-ctx", "context": {}}])
    second = tmp_path / "missing"
    with pytest.raises(ValueError) as raised:
        context_kubeconfig("prod", [first, second])
    assert str(raised.value) == f"kubeContext: context 'prod' is not in {first}, {second} (contexts: a-ctx, b-ctx)"
    with pytest.raises(ValueError) as raised:
        context_kubeconfig("prod", [])
    assert str(raised.value) == "kubeContext: context 'prod' is not in (no file) (contexts: none)"
