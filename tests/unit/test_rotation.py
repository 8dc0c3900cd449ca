"""Access keys by label: rotation with overlap, and the upgrade that keeps an older stack's key."""

from typing import Any, cast

import pytest

from eks_cicd_access import EksCicdAccess, EksCicdAccessArgs
from testbed.mocks import access_key_of

KEY = "aws:iam/accessKey:AccessKey"
OLD_URN = (
    "urn:pulumi:dev::eks-cicd-access::eks-cicd-access:index:EksCicdAccess$aws:iam/accessKey:AccessKey::ci-access-key"
)
OUTPUTS = ["access_key_id", "secret_access_key", "encrypted_secret_access_key", "access_keys"]


def deploy(stack, **args: Any) -> dict[str, Any]:
    stack.monitor.registrations.clear()

    def program():
        access = EksCicdAccess(
            "ci", cast(EksCicdAccessArgs, {"cluster_name": "my-cluster-1", "namespace": "web", **args})
        )
        return {key: getattr(access, key) for key in OUTPUTS}

    resolved: dict[str, Any] = stack.run(program)
    return resolved


def keys(stack) -> dict[str, list[str]]:
    """Registered access keys: resource name -> the URNs it also answers to (aliases)."""
    return {r.name: r.alias_urns for r in stack.of_type(KEY)}


def test_an_older_stack_keeps_its_key(stack):
    """The default key is registered as ci-access-key-default and answers to the URN the key had before labels
    (ci-access-key), so the engine finds it in an older stack's state and does not replace it."""
    deploy(stack)
    assert keys(stack) == {"ci-access-key-default": [OLD_URN]}
    assert stack.one(KEY).urn != OLD_URN


def test_only_the_default_label_carries_the_alias(stack):
    """Labelled keys are new keys: no alias, so a first label never silently adopts the old key."""
    deploy(stack, access_keys=["2026-11", "2027-02"])
    assert keys(stack) == {"ci-access-key-2026-11": [], "ci-access-key-2027-02": []}


def test_the_rotation_runbook_step_by_step(stack):
    """["default"] -> ["default", "2027-02"] -> ["2027-02"]: adding a label adds exactly one key and keeps the
    other; dropping one removes exactly that key; the outputs always carry the newest key; every key's secret
    stays secret."""
    first = deploy(stack)
    assert set(keys(stack)) == {"ci-access-key-default"}
    default_id, default_secret = access_key_of("ci-access-key-default")
    assert first["access_key_id"] == (default_id, False)
    assert first["secret_access_key"] == (default_secret, True)
    assert first["access_keys"] == (
        {"default": {"id": default_id, "secret": default_secret, "encrypted_secret": None}},
        True,
    )

    overlap = deploy(stack, access_keys=["default", "2027-02"])
    assert set(keys(stack)) == {"ci-access-key-default", "ci-access-key-2027-02"}
    new_id, new_secret = access_key_of("ci-access-key-2027-02")
    assert new_id != default_id
    assert overlap["access_key_id"] == (new_id, False), "the outputs are the last label's key"
    assert overlap["secret_access_key"] == (new_secret, True)
    assert overlap["access_keys"][0] == {
        "default": {"id": default_id, "secret": default_secret, "encrypted_secret": None},
        "2027-02": {"id": new_id, "secret": new_secret, "encrypted_secret": None},
    }
    assert overlap["access_keys"][1], "access_keys must be a secret"

    after = deploy(stack, access_keys=["2027-02"])
    assert set(keys(stack)) == {"ci-access-key-2027-02"}
    assert after["access_key_id"] == (new_id, False)
    assert set(after["access_keys"][0]) == {"2027-02"}


def test_every_key_is_encrypted_with_pgp(stack):
    """With pgp_key each key is created encrypted; the map carries the encrypted secrets and no plain one."""
    out = deploy(stack, access_keys=["a", "b"], pgp_key="mQENBFexample")
    assert {r.inputs["pgpKey"] for r in stack.of_type(KEY)} == {"mQENBFexample"}
    b_id, _ = access_key_of("ci-access-key-b")
    assert out["encrypted_secret_access_key"] == (f"wcBMA-encrypted-{b_id}", False)
    assert out["secret_access_key"][0] is None
    assert {label: (v["secret"], v["encrypted_secret"] is not None) for label, v in out["access_keys"][0].items()} == {
        "a": (None, True),
        "b": (None, True),
    }


def test_no_key_means_no_key_outputs(stack):
    """create_access_key=False: no AccessKey; every key output is None, and still an Output."""
    out = deploy(stack, create_access_key=False)
    assert stack.of_type(KEY) == []
    assert {key: value for key, (value, _) in out.items()} == dict.fromkeys(OUTPUTS)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"create_access_key": False, "access_keys": ["a"]},
            "access_keys: create_access_key=False means no key at all",
        ),
        ({"access_keys": ["a", "b", "c"]}, "access_keys: 3 labels, but IAM allows 2 access keys per user"),
        ({"access_keys": ["a", "a"]}, r"access_keys\[1\]: 'a' is listed twice"),
        (
            {"access_keys": []},
            "access_keys: must list 1 or 2 key labels; for no key at all set create_access_key=False",
        ),
        ({"access_keys": "2026-11"}, "access_keys: must be a list of 1 or 2 key labels, got str"),
        ({"access_keys": ["2026/11"]}, r"access_keys\[0\]: '2026/11' must be 1-32 characters of A-Z"),
        ({"access_keys": ["x" * 33]}, r"access_keys\[0\]: 'x{33}' must be 1-32 characters"),
        ({"access_keys": [""]}, r"access_keys\[0\]: '' must be 1-32 characters"),
        ({"access_keys": [7]}, r"access_keys\[0\]: 7 must be 1-32 characters"),
        ({"create_access_key": False, "pgp_key": "mQ"}, "pgp_key: there is no access key to encrypt"),
        (
            {"identity": "github-actions", "oidc_subjects": ["repo:a/b:pull_request"], "access_keys": ["a"]},
            "access_keys: identity 'github-actions' has no IAM user or access key",
        ),
    ],
)
def test_contradicting_key_arguments_are_refused(stack, args, message):
    """Every contradiction between create_access_key, access_keys, pgp_key and the identity is a ValueError
    naming the field, before anything is registered."""
    with pytest.raises(ValueError, match=message):
        deploy(stack, **args)
    assert stack.resources == []


def test_labels_at_their_length_limit(stack):
    """A label of 32 characters is a valid key label (and resource name)."""
    deploy(stack, access_keys=["x" * 32])
    assert set(keys(stack)) == {"ci-access-key-" + "x" * 32}
