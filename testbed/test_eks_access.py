"""EKS's access-entry API as ``testbed/eks_access.py`` emulates it beside moto, through boto3 and the real AWS CLI.

Every answer is checked against botocore's own EKS service model (the shapes of each operation's output), and
each EKS rule gives EKS's exception name. The emulation is ours, labelled: EKS's control plane is not open source.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.model import Shape

from testbed.clients import BIN
from testbed.docs import block
from testbed.eks_access import ENTRY_IN_USE, AccessApi, ClusterAccess
from testbed.engine_stack import Moto
from testbed.names import MOTO_ACCOUNT

CLUSTER = "access-cluster"
CONFIG_MAP_CLUSTER = "old-cluster"
VIEW = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"


def conforms(shape: Shape, value: Any, where: str = "") -> list[str]:
    """Where ``value`` departs from botocore's ``shape``: members it does not have, wrong types."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{where}: not an object"]
        members = shape.members
        problems = [f"{where}.{k}: not in {shape.name}" for k in value if k not in members]
        return problems + [p for k, v in value.items() if k in members for p in conforms(members[k], v, f"{where}.{k}")]
    if kind == "list":
        if not isinstance(value, list):
            return [f"{where}: not a list"]
        return [p for i, v in enumerate(value) for p in conforms(shape.member, v, f"{where}[{i}]")]
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{where}: not a map"]
        return [p for k, v in value.items() for p in conforms(shape.value, v, f"{where}.{k}")]
    expected = {"string": str, "boolean": bool, "timestamp": (int, float), "integer": int}.get(kind, object)
    if not isinstance(value, expected):  # type: ignore[arg-type]
        return [f"{where}: {value!r} is not a {kind}"]
    if kind == "string" and shape.enum and value not in shape.enum:
        return [f"{where}: {value!r} is not one of {shape.enum}"]
    return []


@dataclass
class Emulated:
    api: AccessApi
    moto: Moto
    eks: Any
    changes: list[tuple[str, str, int]] = field(default_factory=list)
    #: operation name -> what in its raw answers departs from botocore's model
    departures: dict[str, list[str]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def emulated() -> Iterator[Emulated]:
    """moto's server with the emulation on it (``Moto.access``), two clusters (API_AND_CONFIG_MAP and CONFIG_MAP), a
    user and a role; every raw EKS answer checked against botocore's model."""
    found: list[tuple[str, str, int]] = []

    def changed(name: str, held: ClusterAccess) -> None:
        found.append((name, held.mode, len(held.entries)))

    with Moto() as moto:
        moto.access.on_change = changed
        eks = moto.client("eks")
        emulated = Emulated(moto.access, moto, eks, found)

        def check(http_response: Any, operation_model: Any, **_: Any) -> None:
            body = http_response.content
            if http_response.status_code < 300 and body and operation_model.output_shape is not None:
                problems = conforms(operation_model.output_shape, json.loads(body), operation_model.name)
                emulated.departures.setdefault(operation_model.name, []).extend(problems)

        eks.meta.events.register("after-call.eks", lambda http_response, model, **_: check(http_response, model))
        iam = moto.client("iam")
        role = iam.create_role(RoleName="eks-cluster", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        vpc = {"subnetIds": ["subnet-0a1b2c3d"]}
        eks.create_cluster(name=CLUSTER, roleArn=role, resourcesVpcConfig=vpc,
                           accessConfig={"authenticationMode": "API_AND_CONFIG_MAP"})  # fmt: skip
        eks.create_cluster(name=CONFIG_MAP_CLUSTER, roleArn=role, resourcesVpcConfig=vpc)
        iam.create_user(UserName="ci")
        iam.create_role(RoleName="deployer", Path="/ci/", AssumeRolePolicyDocument="{}")
        yield emulated


#: The real AWS CLI's environment: dummy keys, no configuration of the machine's.
CLI_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "x",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "AWS_DEFAULT_REGION": "us-east-1",
    "PATH": "/usr/bin:/bin",
}


def aws_cli(emulated: Emulated, *args: str) -> Any:
    """``aws ARGS`` (the real AWS CLI) against moto's server with the emulation; its JSON answer."""
    done = subprocess.run([str(BIN / "aws"), *args, "--endpoint-url", emulated.moto.url, "--output", "json"],
                          capture_output=True, text=True, timeout=60, env=CLI_ENV, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def arn(kind: str, name: str) -> str:
    return f"arn:aws:iam::{MOTO_ACCOUNT}:{kind}/{name}"


def code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


@pytest.fixture
def eks(emulated: Emulated) -> Iterator[Any]:
    """The EKS client; every access entry removed afterwards, and every answer of the test conforming to the model."""
    emulated.departures.clear()
    yield emulated.eks
    for name in (CLUSTER,):
        for principal in list(emulated.api.cluster(name).entries):
            emulated.api.delete(name, principal)
    assert not any(emulated.departures.values()), emulated.departures


def test_an_entry_is_created_described_listed_updated_and_deleted(emulated: Emulated, eks: Any) -> None:
    """The lifecycle of a user's entry through boto3: its default username is the user's ARN, its ARN names the
    cluster, its groups change in place, and each change reaches ``on_change`` (the authenticator's file)."""
    before = len(emulated.changes)
    made = eks.create_access_entry(clusterName=CLUSTER, principalArn=arn("user", "ci"), kubernetesGroups=["deployers"])
    entry = made["accessEntry"]
    assert (entry["username"], entry["kubernetesGroups"], entry["type"]) == (
        arn("user", "ci"),
        ["deployers"],
        "STANDARD",
    )
    assert entry["accessEntryArn"].startswith(
        f"arn:aws:eks:us-east-1:{MOTO_ACCOUNT}:access-entry/{CLUSTER}/user/{MOTO_ACCOUNT}/ci/"
    )
    assert eks.list_access_entries(clusterName=CLUSTER)["accessEntries"] == [arn("user", "ci")]
    updated = eks.update_access_entry(clusterName=CLUSTER, principalArn=arn("user", "ci"), kubernetesGroups=["ops"])
    assert updated["accessEntry"]["kubernetesGroups"] == ["ops"]
    described = eks.describe_access_entry(clusterName=CLUSTER, principalArn=arn("user", "ci"))["accessEntry"]
    assert described["kubernetesGroups"] == ["ops"] and described["accessEntryArn"] == entry["accessEntryArn"]
    eks.delete_access_entry(clusterName=CLUSTER, principalArn=arn("user", "ci"))
    assert eks.list_access_entries(clusterName=CLUSTER)["accessEntries"] == []
    assert emulated.changes[before:] == [(CLUSTER, "API_AND_CONFIG_MAP", n) for n in (1, 1, 0)]


def test_a_role_entry_without_a_username_maps_the_roles_sessions(eks: Any) -> None:
    """A role's entry made without a username gets EKS's default: the role's assumed-role ARN, with the session name
    as a template, the role's path left out."""
    made = eks.create_access_entry(clusterName=CLUSTER, principalArn=arn("role", "ci/deployer"))
    assert made["accessEntry"]["username"] == f"arn:aws:sts::{MOTO_ACCOUNT}:assumed-role/deployer/{{{{SessionName}}}}"


def test_the_entry_binds_the_principals_unique_id(emulated: Emulated, eks: Any) -> None:
    """An entry keeps the unique id its principal had when it was made (what the authenticator's file carries)."""
    eks.create_access_entry(clusterName=CLUSTER, principalArn=arn("user", "ci"))
    user_id = emulated.moto.client("iam").get_user(UserName="ci")["User"]["UserId"]
    assert emulated.api.cluster(CLUSTER).entries[arn("user", "ci")].principal_id == user_id


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ({"principalArn": arn("user", "nobody")}, "InvalidParameterException"),
        ({"principalArn": arn("user", "ci"), "username": "system:ci"}, "InvalidParameterException"),
        ({"principalArn": arn("user", "ci"), "username": "eks:ci"}, "InvalidParameterException"),
        ({"principalArn": arn("user", "ci"), "kubernetesGroups": ["system:masters"]}, "InvalidParameterException"),
        ({"principalArn": arn("user", "ci"), "kubernetesGroups": ["aws:x"]}, "InvalidParameterException"),
        ({"principalArn": arn("role", "ci/deployer"), "type": "EC2_LINUX", "kubernetesGroups": ["ops"]},
         "InvalidParameterException"),
        ({"principalArn": arn("user", "ci"), "clusterName": "no-such-cluster"}, "ResourceNotFoundException"),
        ({"principalArn": arn("user", "ci"), "clusterName": CONFIG_MAP_CLUSTER}, "InvalidRequestException"),
        ({"principalArn": f"arn:aws:sts::{MOTO_ACCOUNT}:assumed-role/deployer/s"}, "InvalidParameterException"),
    ],
)  # fmt: skip
def test_a_create_eks_refuses_is_refused_with_its_exception(eks: Any, call: dict[str, Any], expected: str) -> None:
    """A principal IAM does not have, a reserved username or group prefix, groups on a non-STANDARD entry, an
    unknown cluster and a CONFIG_MAP cluster are each refused with EKS's exception, and nothing is made."""
    with pytest.raises(ClientError) as refused:
        eks.create_access_entry(**{"clusterName": CLUSTER, **call})
    assert code(refused) == expected, refused.value
    assert eks.list_access_entries(clusterName=CLUSTER)["accessEntries"] == []


def test_one_entry_per_principal(eks: Any) -> None:
    """A second entry for the same principal is ResourceInUseException (a replacement must delete first)."""
    eks.create_access_entry(clusterName=CLUSTER, principalArn=arn("user", "ci"))
    with pytest.raises(ClientError) as refused:
        eks.create_access_entry(clusterName=CLUSTER, principalArn=arn("user", "ci"), username="again")
    assert code(refused) == "ResourceInUseException"
    assert refused.value.response["Error"]["Message"] == ENTRY_IN_USE


def test_a_missing_entry_is_not_found(eks: Any) -> None:
    """Describe, update and delete of an entry that does not exist are ResourceNotFoundException."""
    principal = {"clusterName": CLUSTER, "principalArn": arn("user", "ci")}
    for call in (eks.describe_access_entry, eks.delete_access_entry, eks.update_access_entry):
        with pytest.raises(ClientError) as refused:
            call(**principal)
        assert code(refused) == "ResourceNotFoundException"


def test_access_policies_are_associated_listed_and_disassociated(eks: Any) -> None:
    """A managed policy is associated with a namespace scope, listed, filtered on, and disassociated; an unknown
    policy and a namespace scope without namespaces are refused."""
    principal = {"clusterName": CLUSTER, "principalArn": arn("user", "ci")}
    eks.create_access_entry(**principal)
    assert VIEW in [p["arn"] for p in eks.list_access_policies()["accessPolicies"]]
    scope = {"type": "namespace", "namespaces": ["team-a"]}
    associated = eks.associate_access_policy(**principal, policyArn=VIEW, accessScope=scope)
    assert associated["associatedAccessPolicy"]["accessScope"] == scope
    listed = eks.list_associated_access_policies(**principal)["associatedAccessPolicies"]
    assert [(p["policyArn"], p["accessScope"]) for p in listed] == [(VIEW, scope)]
    assert eks.list_access_entries(clusterName=CLUSTER, associatedPolicyArn=VIEW)["accessEntries"] == [
        principal["principalArn"]
    ]
    for bad, expected in [
        ({"policyArn": VIEW.replace("View", "Nothing"), "accessScope": scope}, "ResourceNotFoundException"),
        ({"policyArn": VIEW, "accessScope": {"type": "namespace"}}, "InvalidParameterException"),
    ]:
        with pytest.raises(ClientError) as refused:
            eks.associate_access_policy(**principal, **bad)
        assert code(refused) == expected
    eks.disassociate_access_policy(**principal, policyArn=VIEW)
    assert eks.list_associated_access_policies(**principal)["associatedAccessPolicies"] == []


def test_the_authentication_mode_moves_one_way(emulated: Emulated, eks: Any) -> None:
    """DescribeCluster shows accessConfig; UpdateClusterConfig moves CONFIG_MAP to API_AND_CONFIG_MAP to API, one
    step at a time, and refuses a skipped step, a step back and a step in place, with EKS's message."""
    name = "ladder"
    role = arn("role", "eks-cluster")
    eks.create_cluster(name=name, roleArn=role, resourcesVpcConfig={"subnetIds": ["subnet-0a1b2c3d"]})

    def mode() -> str:
        return str(eks.describe_cluster(name=name)["cluster"]["accessConfig"]["authenticationMode"])

    assert mode() == "CONFIG_MAP"
    for wanted, allowed in [
        ("API", False),
        ("CONFIG_MAP", False),
        ("API_AND_CONFIG_MAP", True),
        ("CONFIG_MAP", False),
        ("API_AND_CONFIG_MAP", False),
        ("API", True),
        ("API_AND_CONFIG_MAP", False),
    ]:
        before = mode()
        if allowed:
            update = eks.update_cluster_config(name=name, accessConfig={"authenticationMode": wanted})["update"]
            assert (update["type"], update["status"]) == ("AccessConfigUpdate", "Successful")
        else:
            with pytest.raises(ClientError) as refused:
                eks.update_cluster_config(name=name, accessConfig={"authenticationMode": wanted})
            assert code(refused) == "InvalidParameterException"
            assert (
                refused.value.response["Error"]["Message"]
                == f"Unsupported authentication mode update from {before} to {wanted}"
            )
        assert mode() == (wanted if allowed else before)
    assert emulated.changes[-2:] == [(name, "API_AND_CONFIG_MAP", 0), (name, "API", 0)]


def test_the_aws_cli_reaches_it(emulated: Emulated, eks: Any) -> None:
    """The real AWS CLI lists the access entries (``aws eks list-access-entries``)."""
    eks.create_access_entry(clusterName=CLUSTER, principalArn=arn("user", "ci"))
    listed = aws_cli(emulated, "eks", "list-access-entries", "--cluster-name", CLUSTER)
    assert listed["accessEntries"] == [arn("user", "ci")]


def test_a_config_map_cluster_keeps_its_creator_admin(emulated: Emulated, eks: Any) -> None:
    """CreateCluster refuses CONFIG_MAP without the creator's admin permissions, as EKS does, and makes nothing."""
    with pytest.raises(ClientError) as refused:
        eks.create_cluster(name="no-admin", roleArn=arn("role", "eks-cluster"),
                           resourcesVpcConfig={"subnetIds": ["subnet-0a1b2c3d"]},
                           accessConfig={"authenticationMode": "CONFIG_MAP",
                                         "bootstrapClusterCreatorAdminPermissions": False})  # fmt: skip
    assert code(refused) == "InvalidParameterException"
    assert "no-admin" not in eks.list_clusters()["clusters"]


def test_the_readmes_mode_ladder_aws_commands_run_against_it(emulated: Emulated) -> None:
    """The AWS CLI lines of the README's mode-ladder block, in order, with the real AWS CLI (the ``pulumi`` lines
    are the engine tier's): ``describe-cluster`` shows CONFIG_MAP, each ``update-cluster-config`` moves the mode one
    step, ``wait cluster-active`` returns, ``list-access-entries`` answers."""
    name = "my-cluster-1"
    emulated.eks.create_cluster(name=name, roleArn=arn("role", "eks-cluster"),
                                resourcesVpcConfig={"subnetIds": ["subnet-0a1b2c3d"]})  # fmt: skip
    lines = [shlex.split(line) for line in block("mode-ladder") if line.startswith("aws ")]
    assert [words[2] for words in lines] == ["describe-cluster", "update-cluster-config", "wait",
                                             "list-access-entries", "update-cluster-config", "wait"]  # fmt: skip
    modes = []
    try:
        for words in lines:
            if words[1:3] == ["eks", "wait"]:
                done = subprocess.run([str(BIN / "aws"), *words[1:], "--endpoint-url", emulated.moto.url],
                                      capture_output=True, text=True, timeout=60, env=CLI_ENV, check=False)  # fmt: skip
                assert done.returncode == 0, done.stderr
                continue
            answer = aws_cli(emulated, *words[1:])
            if words[2] == "describe-cluster":
                assert answer == {"authenticationMode": "CONFIG_MAP", "bootstrapClusterCreatorAdminPermissions": True}
            elif words[2] == "update-cluster-config":
                assert answer["update"]["type"] == "AccessConfigUpdate"
                modes.append(emulated.eks.describe_cluster(name=name)["cluster"]["accessConfig"]["authenticationMode"])
            else:
                assert answer == {"accessEntries": []}
        assert modes == ["API_AND_CONFIG_MAP", "API"]
    finally:
        emulated.eks.delete_cluster(name=name)


def test_the_component_refuses_every_prefix_eks_refuses() -> None:
    """Every username and group prefix EKS refuses is refused by the component's own validation too, before
    anything is created (so EKS never refuses one half-way through an ``up``)."""
    from eks_cicd_access.args import RESERVED_PREFIXES as COMPONENT
    from testbed.eks_access import RESERVED_PREFIXES as EKS

    assert set(EKS) <= set(COMPONENT)
