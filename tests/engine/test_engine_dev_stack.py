"""The dev stack under the real Pulumi engine (``pytest -m engine``), against the real control plane.

The real CLI (``scripts/tools @engine``) runs this repository's program from a copy of its files, as the README's
deploy section does, command for command. The AWS side is the stand-in plugin in front of moto in server mode
(``testbed/aws_standin``: not pulumi-aws, and moto is not AWS); the Kubernetes side is the real
``pulumi-resource-kubernetes`` and our dynamic ``aws-auth`` writer against the real kube-apiserver, whose token
webhook knows the keys moto holds. Each test has its own project, file backend and passphrase; ``aws-auth`` starts
each with the node role and another team's user in it. See ``testbed/engine_stack.py``.
"""

from __future__ import annotations

import contextlib
import json
import shlex
import shutil
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from testbed.controlplane.fixture import ControlPlane, KubectlRun, one_per_request
from testbed.demo import summary
from testbed.docs import block
from testbed.engine_stack import (
    AWS_AUTH,
    NODE_ROLE,
    REPO,
    TEAM_B,
    Engine,
    Project,
    Refusals,
    aws_auth_writes,
    delete_namespace,
    readme_rotation_step,
)
from testbed.names import CLUSTER_NAME
from testbed.workload import IMAGE, manifest
from tests.support import EXPORTS

#: Pulumi.dev.yaml's, the recipe's names.
NAMESPACE = "my-test-ns"
OUR_ENTRY = {
    "userarn": "arn:aws:iam::123456789012:user/my-test-iam-user",
    "username": "my-test-user",
    "groups": ["my-test-role"],
}
#: The program's outputs (tests/unit/test_program.py pins them) that an iam-user stack has; the other two are null,
#: which the engine omits.
IAM_USER_OUTPUTS = EXPORTS - {"iamRoleArn", "encryptedSecretAccessKey"}


def finish(engine: Engine, *stacks: tuple[Project, str]) -> None:
    """Every scenario ends here. A stack that still holds resources must have nothing to change (``preview
    --expect-no-changes``: a no-change ``up`` is a no-op); then each stack is destroyed (it must succeed), the
    namespace it kept deleted, and nothing of them may be left in moto."""
    changes = []
    try:
        for project, _ in stacks:
            if json.loads(project("stack", "ls", "--json").stdout):  # not after `stack rm`
                if project.resources():
                    check = project("preview", "--expect-no-changes", "--diff", ok=None)
                    if check.returncode:
                        changes.append(f"{project.directory.name}: {check.stdout}{check.stderr}")
                project("destroy", "--yes", "--skip-preview")
    finally:
        for _, namespace in stacks:
            delete_namespace(engine.plane, namespace)
    assert changes == [], "the scenario ended with changes to make:\n" + "\n".join(changes)
    leftovers = [u["UserName"] for u in engine.moto.client("iam").list_users()["Users"]]
    assert leftovers == [], f"IAM users left in moto after destroy: {leftovers}"


@pytest.fixture
def made_roles(engine: Engine) -> Iterator[list[str]]:
    """IAM roles a test makes in moto (it appends their names): deleted after the test, and after ``project``'s
    stack is destroyed when the test asks for this fixture first, whatever the test did."""
    names: list[str] = []
    yield names
    iam = engine.moto.client("iam")
    for name in names:
        for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
            iam.detach_role_policy(RoleName=name, PolicyArn=attached["PolicyArn"])
        iam.delete_role(RoleName=name)


@pytest.fixture
def project(engine: Engine, foreign: dict[str, str], tmp_path: Path) -> Iterator[Project]:
    """A fresh copy of the program with the dev stack selected and the admin kubeconfig set; destroyed after the
    test, its namespace deleted, moto checked empty, whatever the test did."""
    found = Project.copy(engine, tmp_path)
    found.create_dev_stack(engine.plane.admin_kubeconfig)
    yield found
    finish(engine, (found, NAMESPACE))


def map_users(plane: ControlPlane) -> list[dict[str, Any]]:
    data = plane.aws_auth_data() or {}
    found: list[dict[str, Any]] = yaml.safe_load(data.get("mapUsers") or "[]")
    return found


def ci_kubectl(engine: Engine, outputs: dict[str, Any], *args: str) -> KubectlRun:
    """Real kubectl as the CI job runs it: the stack's ``kubeconfig`` output and its key, nothing else."""
    credentials = {"AWS_ACCESS_KEY_ID": outputs["accessKeyId"], "AWS_SECRET_ACCESS_KEY": outputs["secretAccessKey"]}
    return engine.plane.kubectl(list(args), kubeconfig=outputs["kubeconfig"], credentials=credentials, timeout=120)


def image_of(plane: ControlPlane, namespace: str = NAMESPACE) -> str:
    deployment = plane.api("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/web")
    image: str = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    return image


def test_the_quick_start_creates_everything_and_a_second_up_changes_nothing(
    engine: Engine, project: Project, foreign: dict[str, str]
) -> None:
    """The README's quick start: ``pulumi preview`` plans the 11 creates, ``pulumi up --yes`` makes them (our entry
    merged beside the foreign ones), a second ``up`` and ``preview --expect-no-changes`` find nothing to do; the
    outputs step gives CI a kubeconfig and the key moto holds, and the destroy step leaves aws-auth as it was."""
    state = Path(project.env["HOME"]) / ".pulumi" / "stacks" / "eks-cicd-access"
    assert [p.name for p in state.glob("dev.json*")], "the stack lives in this project's own ~/.pulumi"
    preview = project("preview")
    for planned in (
        "+  aws:iam:User cicd-access-user create",
        "+  aws:iam:AccessKey cicd-access-access-key-default create",
        "+  aws:iam:Policy cicd-access-policy create",
        "+  aws:iam:UserPolicyAttachment cicd-access-policy-attachment create",
        "+  kubernetes:core/v1:Namespace cicd-access-namespace create",
        "+  kubernetes:rbac.authorization.k8s.io/v1:Role cicd-access-role create",
        "+  kubernetes:rbac.authorization.k8s.io/v1:RoleBinding cicd-access-role-binding create",
        "+  pulumi-python:dynamic/eks-cicd-access:AwsAuthEntry cicd-access-aws-auth-entry create",
    ):
        assert planned in preview.stdout, preview.stdout
    assert "+ 11 to create" in preview.stdout
    assert engine.moto.client("iam").list_users()["Users"] == [], "a preview creates nothing"
    assert engine.plane.aws_auth_data() == foreign
    up = project("up", "--yes")
    assert "+ 11 created" in up.stdout, up.stdout
    assert map_users(engine.plane) == [TEAM_B, OUR_ENTRY]
    assert yaml.safe_load((engine.plane.aws_auth_data() or {})["mapRoles"]) == [NODE_ROLE]
    again = project("up", "--yes")
    assert "11 unchanged" in again.stdout, again.stdout
    project("preview", "--expect-no-changes")
    # 5. what CI is given: the kubeconfig, the key id and (shown on request) the secret
    kubeconfig, key_id, secret = (run.stdout.strip() for run in project.run_readme(block("ci-outputs")))
    assert yaml.safe_load(kubeconfig)["users"][0]["user"]["exec"]["command"] == "aws"
    assert key_id.startswith("AKIA") and engine.moto.secret_of(key_id) == secret
    # 6. and it all goes, but for the namespace, which holds what CI deployed
    (down,) = project.run_readme(block("destroy"))
    assert "- 11 deleted" in down.stdout and "delete[retain]" in down.stdout, down.stdout
    assert engine.plane.api("GET", f"/api/v1/namespaces/{NAMESPACE}")["metadata"]["name"] == NAMESPACE
    assert engine.plane.aws_auth_data() == foreign


def test_without_a_kubeconfig_the_program_reaches_the_cluster_as_the_deployer(
    engine: Engine, foreign: dict[str, str], tmp_path: Path
) -> None:
    """The Quick start's own route, no ``kubeconfig`` set: the Kubernetes provider and the aws-auth writer reach
    the cluster through the endpoint getCluster gives, with ``aws eks get-token`` and the deployer's AWS key (a
    platform admin that aws-auth maps to ``system:masters``), and create everything."""
    iam = engine.moto.client("iam")
    iam.create_user(UserName="platform-admin")
    key = iam.create_access_key(UserName="platform-admin")["AccessKey"]
    admin = {
        "userarn": "arn:aws:iam::123456789012:user/platform-admin",
        "username": "platform-admin",
        "groups": ["system:masters"],
    }
    users = [TEAM_B, admin]
    engine.plane.api(
        "PUT",
        AWS_AUTH,
        {
            "metadata": {"name": "aws-auth", "namespace": "kube-system"},
            "data": {**foreign, "mapUsers": yaml.safe_dump(users)},
        },
    )
    project = Project.copy(engine, tmp_path)
    project.env.update(AWS_ACCESS_KEY_ID=key["AccessKeyId"], AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"])
    mark = engine.plane.audit.mark()
    try:
        project.create_dev_stack(None)
        up = project("up", "--yes")
        assert "+ 11 created" in up.stdout, up.stdout
        assert map_users(engine.plane) == [*users, OUR_ENTRY]
        writers = {
            e["user"]["username"]
            for e in one_per_request(engine.plane.audit.events(mark))
            if (e.get("objectRef") or {}).get("name") == "aws-auth" and e["verb"] == "update"
        }
        assert writers == {"platform-admin"}, "the writer authenticated as the deployer, through the webhook"
        project("destroy", "--yes")
        assert map_users(engine.plane) == users
    finally:
        try:
            project("destroy", "--yes", "--skip-preview")  # while the deployer's key still authenticates
        finally:
            iam.delete_access_key(UserName="platform-admin", AccessKeyId=key["AccessKeyId"])
            iam.delete_user(UserName="platform-admin")
            finish(engine, (project, NAMESPACE))


def test_the_outputs_are_the_readmes_and_the_secrets_stay_secret(engine: Engine, project: Project) -> None:
    """``stack output --json`` has the README's iam-user outputs with the secrets hidden, ``--show-secrets`` gives
    the key moto holds, and ``stack export`` holds neither that secret nor the admin kubeconfig in plaintext."""
    project("up", "--yes")
    hidden = project.outputs()
    assert set(hidden) == IAM_USER_OUTPUTS
    absent = project("stack", "output", "iamRoleArn", ok=False)
    assert "iamRoleArn" in absent.stderr, "a null output is absent, as the README says"
    assert hidden["secretAccessKey"] == "[secret]" and hidden["accessKeys"] == "[secret]"
    shown = project.outputs(secrets=True)
    key = shown["accessKeyId"]
    assert engine.moto.secret_of(key) == shown["secretAccessKey"], "the key is the one moto holds"
    assert shown["accessKeys"] == {"default": {"id": key, "secret": shown["secretAccessKey"], "encrypted_secret": None}}
    assert shown["iamUserArn"] == shown["principalArn"] == OUR_ENTRY["userarn"]
    assert shown["iamPolicyArn"] == "arn:aws:iam::123456789012:policy/EKS_CICD_User_Policy"
    assert (shown["namespace"], shown["roleName"], shown["kubernetesUsername"]) == (
        NAMESPACE,
        "my-test-role",
        "my-test-user",
    )
    kubeconfig = yaml.safe_load(shown["kubeconfig"])
    assert kubeconfig["clusters"][0]["cluster"]["server"] == engine.plane.url
    assert kubeconfig["users"][0]["user"]["exec"]["command"] == "aws"
    exported = project("stack", "export").stdout
    assert shown["secretAccessKey"] not in exported
    admin = yaml.safe_load(engine.plane.admin_kubeconfig)["users"][0]["user"]["client-key-data"]
    assert admin not in exported and admin[:40] not in exported, "the admin kubeconfig is ciphertext"
    assert '"4dabf18193072939515e22adb298388d"' in exported


def test_ci_deploys_and_rolls_back_with_the_exported_key_and_nothing_else(engine: Engine, project: Project) -> None:
    """With the stack's key and kubeconfig, real kubectl sets the image, waits for the rollout and undoes it in
    the namespace; in another namespace the same identity is refused."""
    project("up", "--yes")
    outputs = project.outputs(secrets=True)
    engine.plane.api("POST", f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments", manifest(1, NAMESPACE))
    try:
        assert ci_kubectl(engine, outputs, "-n", NAMESPACE, "rollout", "status", "deployment/web").returncode == 0
        run = ci_kubectl(engine, outputs, "-n", NAMESPACE, "set", "image", "deployment/web", f"app={IMAGE.format(2)}")
        assert run.returncode == 0, run.stderr
        run = ci_kubectl(engine, outputs, "-n", NAMESPACE, "rollout", "status", "deployment/web", "--timeout=90s")
        assert run.returncode == 0 and "successfully rolled out" in run.stdout, run.stderr
        assert image_of(engine.plane) == IMAGE.format(2)
        run = ci_kubectl(engine, outputs, "-n", NAMESPACE, "rollout", "undo", "deployment/web")
        assert run.returncode == 0, run.stderr
        assert image_of(engine.plane) == IMAGE.format(1)
        elsewhere = ci_kubectl(engine, outputs, "-n", "default", "get", "deployments")
        assert elsewhere.returncode != 0 and "forbidden" in elsewhere.stderr.lower(), elsewhere.stderr
        assert [d for d in elsewhere.described() if "deployments" in d] == ["list deployments -> 403"], (
            elsewhere.described()
        )
    finally:
        engine.plane.api("DELETE", f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/web")


@pytest.mark.parametrize("mode", ["API_AND_CONFIG_MAP", "API"])
def test_ci_deploys_through_an_access_entry_that_eks_own_authenticator_reads(
    engine: Engine, project: Project, foreign: dict[str, str], mode: str
) -> None:
    """``identityMapping: access-entry`` on an API_AND_CONFIG_MAP and an API cluster: ``preview`` plans the access
    entry and makes nothing; ``up`` makes one access entry (EKS's API, emulated) and leaves aws-auth as it was, and
    ``refresh`` then finds nothing changed; CI deploys and rolls back through the real aws-iam-authenticator's
    DynamicFile backend and is refused elsewhere; ``destroy`` removes the entry and nothing else."""
    access = engine.moto.access.cluster(CLUSTER_NAME)
    engine.moto.made_in(mode)  # as if the cluster were made so (the ladder is one-way)
    try:
        project("config", "set", "identityMapping", "access-entry")
        planned = project("preview")
        assert "aws:eks:AccessEntry" in planned.stdout and access.entries == {}, planned.stdout
        project("up", "--yes")
        project("refresh", "--yes", "--expect-no-changes")
        outputs = project.outputs(secrets=True)
        (entry,) = access.entries.values()
        assert (entry.principal_arn, entry.username) == (outputs["iamUserArn"], outputs["kubernetesUsername"])
        assert engine.plane.aws_auth_data() == foreign, "the access-entry route wrote aws-auth"
        engine.plane.api("POST", f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments", manifest(1, NAMESPACE))
        run = ci_kubectl(engine, outputs, "-n", NAMESPACE, "set", "image", "deployment/web", f"app={IMAGE.format(2)}")
        assert run.returncode == 0, run.stderr
        assert ci_kubectl(engine, outputs, "-n", NAMESPACE, "rollout", "undo", "deployment/web").returncode == 0
        assert image_of(engine.plane) == IMAGE.format(1)
        elsewhere = ci_kubectl(engine, outputs, "-n", "default", "get", "deployments")
        assert "forbidden" in elsewhere.stderr.lower(), elsewhere.stderr
        project("destroy", "--yes")
        assert access.entries == {}, "destroy left the access entry"
    finally:
        engine.plane.request("DELETE", f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/web")
        engine.moto.made_in("API_AND_CONFIG_MAP")


def test_moving_a_live_stack_to_access_entries_never_refuses_ci(
    engine: Engine, project: Project, foreign: dict[str, str]
) -> None:
    """A live stack switched from aws-auth to an access entry, and back, on an API_AND_CONFIG_MAP cluster: each
    ``up`` makes the new mapping before it removes the old one, so the real authenticator, asked every 0.2 s
    throughout, never refuses CI (0 refusals); afterwards only the new mapping is left."""
    access = engine.moto.access.cluster(CLUSTER_NAME)
    project("up", "--yes")
    outputs = project.outputs(secrets=True)
    token = engine.plane.sign_token(outputs["accessKeyId"], outputs["secretAccessKey"])
    deadline = time.monotonic() + 20
    while engine.plane.authenticate(token) is None:  # the authenticator's watch has our aws-auth entry
        assert time.monotonic() < deadline, "CI is not authenticated after the first up"
        time.sleep(0.2)
    counts = []
    with Refusals(engine.plane, outputs["accessKeyId"], outputs["secretAccessKey"]) as to_entry:
        project("config", "set", "identityMapping", "access-entry")
        project("up", "--yes")
    assert list(access.entries) == [outputs["iamUserArn"]]
    assert engine.plane.aws_auth_data() == foreign, "the aws-auth entry is still there"
    counts.append(("aws-auth -> access-entry", to_entry.asked, to_entry.refused))
    with Refusals(engine.plane, outputs["accessKeyId"], outputs["secretAccessKey"]) as back:
        project("config", "set", "identityMapping", "aws-auth")
        project("up", "--yes")
    assert access.entries == {}
    assert [u["userarn"] for u in map_users(engine.plane)][-1] == outputs["iamUserArn"]
    counts.append(("access-entry -> aws-auth", back.asked, back.refused))
    print("\nmigration, CI refusals while up ran:", "; ".join(f"{w}: {r} of {a}" for w, a, r in counts))
    assert all(a > 0 for _, a, _ in counts), counts
    assert [r for _, _, r in counts] == [0, 0], counts


def admitted_as(engine: Engine, outputs: dict[str, Any], within: float = 20) -> str:
    """The Kubernetes user the real authenticator maps CI's key to, asked straight (no API server cache) until it
    answers; fails after ``within`` seconds of refusals."""
    deadline = time.monotonic() + within
    key = (outputs["accessKeyId"], outputs["secretAccessKey"])
    while (found := engine.plane.authenticate(engine.plane.sign_token(*key))) is None:
        assert time.monotonic() < deadline, "the authenticator does not admit CI's key"
        time.sleep(0.2)
    return found[0]


def deploys_and_rolls_back(engine: Engine, outputs: dict[str, Any]) -> None:
    """CI, with the stack's kubeconfig and key and real kubectl, sets the image and undoes it in its namespace."""
    run = ci_kubectl(engine, outputs, "-n", NAMESPACE, "set", "image", "deployment/web", f"app={IMAGE.format(2)}")
    assert run.returncode == 0, run.stderr
    assert image_of(engine.plane) == IMAGE.format(2)
    run = ci_kubectl(engine, outputs, "-n", NAMESPACE, "rollout", "undo", "deployment/web")
    assert run.returncode == 0, run.stderr
    assert image_of(engine.plane) == IMAGE.format(1)


def test_an_auto_stack_climbs_the_mode_ladder_and_ci_deploys_at_every_step(
    engine: Engine, project: Project, foreign: dict[str, str]
) -> None:
    """The README's mode-ladder commands, in order, on a live stack whose cluster starts in CONFIG_MAP (the AWS CLI
    against the EKS emulation): ``auto`` maps CI by aws-auth; after ``API_AND_CONFIG_MAP`` the next ``up`` moves it
    to an access entry, made before the aws-auth entry goes, with 0 refusals from the real authenticator while that
    ``up`` runs; after ``API`` the last ``up`` changes nothing. CI deploys and rolls back before and after every
    ``up``, and aws-auth keeps every foreign byte throughout."""
    commands = block("mode-ladder")
    assert sum(c == "pulumi up" for c in commands) == 3, commands
    expected = iter([("aws-auth", "CONFIG_MAP"), ("access-entry", "API_AND_CONFIG_MAP"), ("access-entry", "API")])
    access = engine.moto.access.cluster(CLUSTER_NAME)
    engine.moto.made_in("CONFIG_MAP")
    outputs: dict[str, Any] = {}
    ladder: list[str] = []
    try:
        for command in commands:
            words = shlex.split(command)
            if words[0] == "aws":
                engine.moto.aws(*words[1:])
                continue
            if words[1:] != ["up"]:
                project(*words[1:])
                continue
            if outputs:  # CI, as the last up left it, still deploys in the cluster's new mode
                deploys_and_rolls_back(engine, outputs)
            asked = Refusals(engine.plane, outputs["accessKeyId"], outputs["secretAccessKey"]) if outputs else None
            with asked or contextlib.nullcontext():
                up = project("up", "--yes")
            route, mode = next(expected)
            assert access.mode == mode
            refusals = f"{asked.refused} of {asked.asked} refused" if asked else "first up"
            if asked:
                assert asked.asked > 0 and asked.refused == 0, (mode, asked.asked, asked.refused)
            if not outputs:  # the first up made the namespace: the workload CI deploys goes in
                engine.plane.api("POST", f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments", manifest(1, NAMESPACE))
            outputs = project.outputs(secrets=True)
            assert outputs["identityMapping"] == route
            if route == "aws-auth":
                assert access.entries == {}
                assert [u["userarn"] for u in map_users(engine.plane)][-1] == outputs["iamUserArn"]
            else:
                assert [e.principal_arn for e in access.entries.values()] == [outputs["iamUserArn"]]
                assert engine.plane.aws_auth_data() == foreign, "aws-auth is not as it was before us"
            assert admitted_as(engine, outputs) == outputs["kubernetesUsername"]
            deploys_and_rolls_back(engine, outputs)
            ladder.append(f"{mode}: {route} ({refusals}; {summary(up.stdout)})")
        project("destroy", "--yes")
        assert (access.entries, engine.plane.aws_auth_data()) == ({}, foreign)
    finally:
        engine.plane.request("DELETE", f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/web")
        engine.moto.made_in("API_AND_CONFIG_MAP")
    print("\nmode ladder:", "; ".join(ladder))


@pytest.mark.parametrize("mapping", ["aws-auth", "access-entry"])
@pytest.mark.parametrize("identity", ["github-actions, its OIDC provider created", "existing"])
def test_a_role_session_deploys_through_eks_own_authenticator(
    engine: Engine, made_roles: list[str], project: Project, foreign: dict[str, str], identity: str, mapping: str
) -> None:
    """No stored key: a CI job's role session (moto's AssumeRoleWithWebIdentity for the GitHub role, AssumeRole
    for an existing role under path ``/ci/``) signs its token with a session token; the real aws-iam-authenticator
    maps its ``assumed-role`` ARN to the role (aws-auth's path-stripped ``mapRoles`` entry, or the access entry
    bound to the role's unique id), and real kubectl deploys and rolls back, and is refused elsewhere."""
    iam, sts = engine.moto.client("iam"), engine.moto.client("sts")
    if identity == "existing":
        iam.create_role(RoleName="deployer", Path="/ci/", AssumeRolePolicyDocument="{}")
        made_roles.append("deployer")
    try:
        project("config", "rm", "iamUserName")
        for key, value in {**IDENTITIES[identity], "identityMapping": mapping}.items():
            project("config", "set", "--path", key, value)
        project("up", "--yes")
        outputs = project.outputs()
        role = outputs["iamRoleArn"]
        if identity == "existing":
            got = sts.assume_role(RoleArn=role, RoleSessionName="ci-job-7")
        else:
            got = sts.assume_role_with_web_identity(
                RoleArn=role, RoleSessionName="ci-job-7", WebIdentityToken="header.claims.sig"
            )
        session = got["Credentials"]
        assert got["AssumedRoleUser"]["Arn"].endswith(f":assumed-role/{role.rsplit('/', 1)[1]}/ci-job-7")
        token = engine.plane.sign_token(session["AccessKeyId"], session["SecretAccessKey"], session["SessionToken"])
        deadline = time.monotonic() + 20
        while (found := engine.plane.authenticate(token)) is None:
            assert time.monotonic() < deadline, "the role session is not admitted"
            time.sleep(0.2)
        assert found[0] == outputs["kubernetesUsername"]
        credentials = {
            "AWS_ACCESS_KEY_ID": session["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": session["SecretAccessKey"],
            "AWS_SESSION_TOKEN": session["SessionToken"],
        }

        def kubectl(*args: str) -> KubectlRun:
            return engine.plane.kubectl(args, kubeconfig=outputs["kubeconfig"], credentials=credentials, timeout=120)

        engine.plane.api("POST", f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments", manifest(1, NAMESPACE))
        run = kubectl("-n", NAMESPACE, "set", "image", "deployment/web", f"app={IMAGE.format(2)}")
        assert run.returncode == 0, run.stderr
        assert kubectl("-n", NAMESPACE, "rollout", "undo", "deployment/web").returncode == 0
        assert image_of(engine.plane) == IMAGE.format(1)
        assert "forbidden" in kubectl("-n", "default", "get", "deployments").stderr.lower()
        project("destroy", "--yes")
        assert engine.plane.aws_auth_data() == foreign and engine.moto.access.cluster(CLUSTER_NAME).entries == {}
    finally:
        engine.plane.request("DELETE", f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/web")


def test_a_user_made_again_gets_a_new_access_entry_ci_can_use(
    engine: Engine, project: Project, foreign: dict[str, str]
) -> None:
    """The IAM user deleted and made again under the same ARN outside Pulumi (a new unique id, which EKS's entry no
    longer matches): ``up --refresh`` replaces the access entry, deleting it first (EKS allows one per principal:
    made first, it is ResourceInUseException), and CI's new key authenticates through the real authenticator."""
    access = engine.moto.access.cluster(CLUSTER_NAME)
    project("config", "set", "identityMapping", "access-entry")
    project("up", "--yes")
    outputs = project.outputs(secrets=True)
    (before,) = access.entries.values()
    iam = engine.moto.client("iam")
    name = outputs["iamUserName"]
    for key in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    for attached in iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]:
        iam.detach_user_policy(UserName=name, PolicyArn=attached["PolicyArn"])
    iam.delete_user(UserName=name)
    iam.create_user(UserName=name)
    project("up", "--yes", "--refresh")
    (after,) = access.entries.values()
    assert after.principal_arn == before.principal_arn and after.principal_id != before.principal_id
    outputs = project.outputs(secrets=True)
    token = engine.plane.sign_token(outputs["accessKeyId"], outputs["secretAccessKey"])
    deadline = time.monotonic() + 20
    while engine.plane.authenticate(token) is None:
        assert time.monotonic() < deadline, "the re-made user's key is not admitted through its new access entry"
        time.sleep(0.2)
    assert engine.plane.aws_auth_data() == foreign


def test_a_hand_removed_entry_is_drift_that_up_restores(
    engine: Engine, project: Project, foreign: dict[str, str]
) -> None:
    """When someone deletes our aws-auth entry by hand, ``preview --expect-no-changes`` fails showing the entry's
    update, ``up`` writes it back beside the foreign ones, and ``refresh`` then reads it live."""
    project("up", "--yes")
    engine.plane.api("PUT", AWS_AUTH, {"metadata": {"name": "aws-auth", "namespace": "kube-system"}, "data": foreign})
    drift = project("preview", "--expect-no-changes", ok=False)
    assert "~  pulumi-python:dynamic/eks-cicd-access:AwsAuthEntry cicd-access-aws-auth-entry update" in drift.stdout, (
        drift.stdout
    )
    assert "~ 1 to update" in drift.stdout
    restored = project("up", "--yes")
    assert "~ 1 updated" in restored.stdout, restored.stdout
    assert map_users(engine.plane) == [TEAM_B, OUR_ENTRY]
    refresh = project("refresh", "--yes")
    assert "11 unchanged" in refresh.stdout, refresh.stdout
    project("preview", "--expect-no-changes")


def test_refresh_reports_a_hand_edited_entry(engine: Engine, project: Project) -> None:
    """``pulumi refresh`` reads the entry as the cluster holds it: a group added by hand shows as an update of the
    entry's state, and the next ``up`` puts the entry back as declared."""
    project("up", "--yes")
    data = engine.plane.aws_auth_data() or {}
    edited = [
        dict(e, groups=[*e["groups"], "cluster-admins"]) if e == OUR_ENTRY else e for e in map_users(engine.plane)
    ]
    engine.plane.api(
        "PUT",
        AWS_AUTH,
        {
            "metadata": {"name": "aws-auth", "namespace": "kube-system"},
            "data": {**data, "mapUsers": yaml.safe_dump(edited)},
        },
    )
    refresh = project("refresh", "--yes")
    assert "~ 1 updated" in refresh.stdout, refresh.stdout
    entry = next(r for r in project.resources() if r["type"].endswith("AwsAuthEntry"))
    assert entry["outputs"]["groups"] == ["my-test-role", "cluster-admins"]
    project("up", "--yes")
    assert map_users(engine.plane) == [TEAM_B, OUR_ENTRY]


def fails_alone_with(project: Project, message: str) -> None:
    """``pulumi preview`` and ``pulumi up`` both fail with ``message``, alone: no traceback, no SDK wrapping."""
    for command in (("preview",), ("up", "--yes")):
        failed = project(*command, ok=False)
        said = failed.stdout + failed.stderr
        assert message in said, said
        assert "Traceback" not in said and "has risen" not in said, said


def assert_nothing_made(engine: Engine, project: Project, foreign: dict[str, str]) -> None:
    """Nothing of the stack exists: no IAM user in moto, aws-auth as it was, no resource in state."""
    assert engine.moto.client("iam").list_users()["Users"] == []
    assert engine.plane.aws_auth_data() == foreign
    assert project.resources() == []


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "roleRules",
            '[{"apiGroups":["apps"],"resources":["deployments"],"verbs":["get","patch"],"resourceName":["web"]}]',
            "error: roleRules[0]: unknown key 'resourceName'; did you mean 'resourceNames'?",
        ),
        (
            "createNamespace",
            "maybe",
            "error: validating stack config: Stack 'dev' with configuration key 'createNamespace' must be of type "
            "'boolean'",
        ),
        (
            "namespace",
            "Not_A_Label",
            "error: namespace: 'Not_A_Label' is not a DNS-1123 label (1-63 characters of a-z, 0-9 and '-', starting "
            "and ending with a letter or digit)",
        ),
    ],
    ids=["role-rules-typo", "wrong-type", "bad-namespace"],
)
def test_bad_input_fails_the_preview_and_creates_nothing(
    engine: Engine, project: Project, foreign: dict[str, str], key: str, value: str, message: str
) -> None:
    """Bad config fails ``pulumi preview`` and ``pulumi up`` with a non-zero exit and our message alone (no
    traceback; a value of the wrong type is refused by the CLI as Pulumi.yaml declares it); nothing is created in
    moto or in the cluster."""
    project("config", "set", key, value)
    fails_alone_with(project, message)
    assert_nothing_made(engine, project, foreign)


@pytest.mark.parametrize("mapping", ["access-entry", "auto"])
def test_a_reserved_prefix_is_refused_at_preview_not_by_eks_half_way(
    engine: Engine, project: Project, foreign: dict[str, str], mapping: str
) -> None:
    """A Kubernetes username with a prefix EKS reserves (``eks:``) fails ``preview`` and ``up`` with our message
    naming the key, before anything is made: never EKS's InvalidParameterException after the IAM user exists."""
    project("config", "set", "identityMapping", mapping)
    project("config", "set", "kubernetesUsername", "eks:ci")
    fails_alone_with(project, "error: kubernetesUsername: 'eks:ci' starts with the reserved prefix 'eks:'")
    assert_nothing_made(engine, project, foreign)
    assert engine.moto.access.cluster(CLUSTER_NAME).entries == {}


def test_access_entry_mapping_on_a_config_map_cluster_is_refused_before_anything_is_made(
    engine: Engine, project: Project, foreign: dict[str, str]
) -> None:
    """``identityMapping: access-entry`` on a cluster whose authentication mode is ``CONFIG_MAP`` fails the preview
    and the up with our message alone (a check made once getCluster answers, so inside an apply: not wrapped by
    the SDK), and nothing is created."""
    message = (
        "error: identity_mapping='access-entry': cluster 'my-cluster-1' uses authentication mode 'CONFIG_MAP', "
        "which has no access entries. Turn them on with `aws eks update-cluster-config --name my-cluster-1 "
        "--access-config authenticationMode=API_AND_CONFIG_MAP`"
    )
    engine.moto.made_in("CONFIG_MAP")
    try:
        project("config", "set", "identityMapping", "access-entry")
        fails_alone_with(project, message)
    finally:
        engine.moto.made_in("API_AND_CONFIG_MAP")
    assert_nothing_made(engine, project, foreign)


def test_a_stand_in_that_cannot_run_the_program_fails_the_preview_at_once(engine: Engine, tmp_path: Path) -> None:
    """The engine tier's tools without pulumi-language-python-exec (a set that forgot it, as the demo's once did):
    ``pulumi preview`` exits non-zero with the host's message, naming the tool and the set that builds it, well
    within a bound that an idle hang (the old SystemExit in a gRPC handler) would reach."""
    tools = {name: path for name, path in engine.tools.items() if name != "pulumi-language-python-exec"}
    lacking = Project.copy(Engine(tools, engine.moto, engine.plane), tmp_path)
    lacking.create_dev_stack(engine.plane.admin_kubeconfig)
    failed = lacking("preview", ok=False, timeout=120)
    said = failed.stdout + failed.stderr
    assert "pulumi-language-python-exec is not on PATH: `scripts/tools @engine` builds it" in said, said
    assert lacking.resources() == []


def test_a_misspelt_config_key_fails_the_preview_and_creates_nothing(
    engine: Engine, project: Project, foreign: dict[str, str]
) -> None:
    """``pulumi config set identiy github-actions`` (Pulumi takes any key), then ``pulumi preview`` and ``up`` fail
    with the key as typed, the key meant and the command that removes it, and nothing is made; that command then
    clears the way."""
    project("config", "set", "identiy", "github-actions")
    fails_alone_with(
        project,
        "error: identiy: not a config key of eks-cicd-access, so it would be ignored; did you mean 'identity'? "
        "Remove it with `pulumi config rm identiy`, then `pulumi config set identity ...`.",
    )
    assert_nothing_made(engine, project, foreign)
    project("config", "rm", "identiy")
    project("preview")


def test_array_config_is_set_per_element_with_path(engine: Engine, project: Project) -> None:
    """The README's array form: one ``config set --path`` per element works; the plain ``config set KEY '[...]'``
    stores a string, which the CLI refuses at preview because Pulumi.yaml declares an array."""
    project("config", "rm", "iamUserName")
    project("config", "set", "identity", "github-actions")
    project("config", "set", "createOidcProvider", "true")
    project("config", "set", "oidcSubjects", '["repo:acme/web:environment:production"]')
    refused = project("preview", ok=False)
    assert "oidcSubjects" in refused.stdout + refused.stderr and "array" in refused.stdout + refused.stderr, refused
    project("config", "rm", "oidcSubjects")
    project("config", "set", "--path", "oidcSubjects[0]", "repo:acme/web:environment:production")
    project("config", "set", "--path", "oidcSubjects[1]", "repo:acme/web:ref:refs/heads/main")
    project("up", "--yes")
    trust = json.dumps(engine.moto.client("iam").get_role(RoleName="eks-cicd-access-dev")["Role"], default=str)
    assert "repo:acme/web:environment:production" in trust and "repo:acme/web:ref:refs/heads/main" in trust, trust


def test_destroy_leaves_only_foreign_entries_and_keeps_the_namespace(
    engine: Engine, project: Project, foreign: dict[str, str]
) -> None:
    """``pulumi destroy --yes`` removes exactly our entry, the IAM user, its key and the policy; the namespace is
    retained; ``pulumi stack rm`` then succeeds."""
    project("up", "--yes")
    key = project.outputs(secrets=True)["accessKeyId"]
    down = project("destroy", "--yes")
    assert "- 11 deleted" in down.stdout, down.stdout
    assert engine.plane.aws_auth_data() == foreign
    iam = engine.moto.client("iam")
    assert iam.list_users()["Users"] == []
    assert iam.list_policies(Scope="Local")["Policies"] == []
    assert engine.moto.secret_of(key) is None
    kept = engine.plane.api("GET", f"/api/v1/namespaces/{NAMESPACE}")
    assert "deletionTimestamp" not in kept["metadata"] and kept["status"]["phase"] == "Active", kept
    project("stack", "rm", "--yes")
    assert json.loads(project("stack", "ls", "--json").stdout) == []


def works(engine: Engine, outputs: dict[str, Any]) -> bool:
    """The key in ``outputs`` deploys: CI's kubectl lists the namespace's deployments."""
    run = ci_kubectl(engine, outputs, "-n", NAMESPACE, "get", "deployments")
    return run.returncode == 0


def unauthorized(engine: Engine, outputs: dict[str, Any]) -> bool:
    """The key in ``outputs`` gets 401 on every request."""
    run = ci_kubectl(engine, outputs, "-n", NAMESPACE, "get", "deployments")
    codes = {(e.get("responseStatus") or {}).get("code") for e in run.requests}
    return run.returncode != 0 and "You must be logged in" in run.stderr and codes == {401}


@pytest.mark.parametrize("mapping", ["aws-auth", "access-entry"])
def test_the_rotation_runbook_keeps_a_working_key_at_every_step(engine: Engine, project: Project, mapping: str) -> None:
    """The README's "Rotating the key", its commands read from its table, with either mapping: adding a label
    creates a second key and keeps the first, both deploy; dropping the old label deletes that key alone, whose new
    tokens get 401 from the real authenticator; the mapping itself is never touched."""
    project("config", "set", "identityMapping", mapping)
    project("up", "--yes")
    old = project.outputs(secrets=True)
    assert works(engine, old)
    add = readme_rotation_step("add")
    assert add[-1] == "pulumi up" and len(add) == 3, add
    added = project.run_readme(add)[-1]
    assert "+ 1 created" in added.stdout and "replaced" not in added.stdout, added.stdout
    new = project.outputs(secrets=True)
    assert new["accessKeyId"] != old["accessKeyId"] and new["accessKeys"]["default"]["id"] == old["accessKeyId"]
    assert new["accessKeys"]["2027-02"]["id"] == new["accessKeyId"]
    # 2-3. CI moves to the new key; the old one still works meanwhile
    assert works(engine, new) and works(engine, old)
    drop = readme_rotation_step("drop")
    assert drop[-1] == "pulumi up" and len(drop) == 3, drop
    dropped = project.run_readme(drop)[-1]
    assert "- 1 deleted" in dropped.stdout, dropped.stdout
    final = project.outputs(secrets=True)
    assert final["accessKeyId"] == new["accessKeyId"] and set(final["accessKeys"]) == {"2027-02"}
    keys = engine.moto.client("iam").list_access_keys(UserName="my-test-iam-user")["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [new["accessKeyId"]]
    time.sleep(1.1)  # a token of a new second: not one the API server cached while the key lived
    assert unauthorized(engine, old) and works(engine, final)


def test_switching_to_github_actions_moves_the_entry_in_one_write(
    engine: Engine, project: Project, foreign: dict[str, str]
) -> None:
    """``identity: github-actions`` on the same stack: the user goes, the role comes, and our entry moves from
    ``mapUsers`` to ``mapRoles`` in one aws-auth write; the node role keeps its bytes and team B its entry."""
    project("up", "--yes")
    project("config", "rm", "iamUserName")
    project("config", "set", "identity", "github-actions")
    project("config", "set", "--path", "oidcSubjects[0]", "repo:acme/web:environment:production")
    project("config", "set", "createOidcProvider", "true")
    mark = engine.plane.audit.mark()
    project("up", "--yes")
    assert aws_auth_writes(engine.plane, mark) == ["update aws-auth"]
    outputs = project.outputs()
    after = engine.plane.aws_auth_data() or {}
    assert after["mapRoles"].startswith(foreign["mapRoles"]), "the node role's bytes are untouched"
    assert yaml.safe_load(after["mapRoles"]) == [
        NODE_ROLE,
        {"rolearn": outputs["iamRoleArn"], "username": "my-test-user", "groups": ["my-test-role"]},
    ]
    assert yaml.safe_load(after["mapUsers"]) == [TEAM_B]
    iam = engine.moto.client("iam")
    assert iam.list_users()["Users"] == []
    assert iam.get_role(RoleName="eks-cicd-access-dev")["Role"]["Arn"] == outputs["iamRoleArn"]
    assert "accessKeyId" not in outputs and "iamUserArn" not in outputs


def test_an_identity_switch_and_back_keeps_ci_admitted_by_its_access_entry(
    engine: Engine, project: Project, foreign: dict[str, str]
) -> None:
    """With access entries, ``identity: github-actions`` and back to ``iam-user``: the user's entry goes and the
    role's comes (one entry each time, EKS's one-per-principal rule kept), then the user is made again under the
    same ARN with a new unique id, and its entry with it; the new key is admitted by the real authenticator in
    user-id-strict mode, and aws-auth is never written."""
    access = engine.moto.access.cluster(CLUSTER_NAME)
    project("config", "set", "identityMapping", "access-entry")
    project("up", "--yes")
    first = project.outputs(secrets=True)
    (user_entry,) = access.entries.values()
    oidc = {"identity": "github-actions", "oidcSubjects[0]": "repo:acme/web:environment:production",
            "createOidcProvider": "true"}  # fmt: skip
    name = project("config", "get", "iamUserName").stdout.strip()
    project("config", "rm", "iamUserName")
    for key, value in oidc.items():
        project("config", "set", "--path", key, value)
    project("up", "--yes")
    (role_entry,) = access.entries.values()
    assert role_entry.principal_arn == project.outputs()["iamRoleArn"]
    project("config", "rm", "--path", "oidcSubjects")
    project("config", "rm", "createOidcProvider")
    project("config", "set", "identity", "iam-user")
    project("config", "set", "iamUserName", name)
    project("up", "--yes")
    back = project.outputs(secrets=True)
    (again,) = access.entries.values()
    assert again.principal_arn == user_entry.principal_arn == back["iamUserArn"]
    assert back["accessKeyId"] != first["accessKeyId"]
    assert admitted_as(engine, back) == back["kubernetesUsername"]
    assert again.principal_id != user_entry.principal_id, "the user made again has a new unique id"
    assert engine.plane.authenticate(engine.plane.sign_token(first["accessKeyId"], first["secretAccessKey"])) is None
    assert engine.plane.aws_auth_data() == foreign


#: Stack config of each identity, beside Pulumi.dev.yaml's (an IAM user); ``oidc-provider`` and ``role`` are made
#: in moto first, as another stack or a platform team would have.
IDENTITIES: dict[str, dict[str, str]] = {
    "iam-user": {},
    "github-actions, its OIDC provider created": {
        "identity": "github-actions",
        "oidcSubjects[0]": "repo:acme/web:environment:production",
        "createOidcProvider": "true",
    },
    "github-actions, its OIDC provider looked up": {
        "identity": "github-actions",
        "oidcSubjects[0]": "repo:acme/web:environment:production",
    },
    "gitlab-ci, its OIDC provider created": {
        "identity": "gitlab-ci",
        "oidcSubjects[0]": "project_path:acme/web:ref_type:branch:ref:main",
        "createOidcProvider": "true",
    },
    "existing": {"identity": "existing", "principalArn": "arn:aws:iam::123456789012:role/ci/deployer"},
}


@pytest.mark.parametrize("identity", IDENTITIES)
def test_every_identity_has_nothing_to_change_after_up(engine: Engine, project: Project, identity: str) -> None:
    """After ``up``, ``preview --expect-no-changes`` passes for each identity: no input the provider computes (an
    OIDC provider's thumbprintLists) is planned as a change. A stand-in that does not mirror pulumi-aws's
    optional-computed inputs fails it: ``~ oidc-provider``, ``~ iam-role``, ``~ aws-auth-entry``."""
    iam = engine.moto.client("iam")
    made: list[Any] = []
    if identity.endswith("looked up"):
        url = "https://token.actions.githubusercontent.com"
        arn = iam.create_open_id_connect_provider(Url=url, ClientIDList=["sts.amazonaws.com"])
        made.append(
            lambda: iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn["OpenIDConnectProviderArn"])
        )
    if identity == "existing":
        iam.create_role(RoleName="deployer", Path="/ci/", AssumeRolePolicyDocument="{}")
        made.append(lambda: iam.delete_role(RoleName="deployer"))
    try:
        if IDENTITIES[identity]:
            project("config", "rm", "iamUserName")
        for key, value in IDENTITIES[identity].items():
            project("config", "set", "--path", key, value)
        project("up", "--yes")
        project("preview", "--expect-no-changes", "--diff")
        project("destroy", "--yes", "--skip-preview")
    finally:
        for undo in made:
            undo()


HOOKS = REPO / "tests" / "engine" / "hooks"


def interleaved(project: Project, role: str, where: Path, *, blind: bool = False) -> None:
    """Make the stack's first aws-auth write interleave with the other stack's (``tests/engine/hooks``)."""
    project.env["PYTHONPATH"] = str(HOOKS)
    project.env["EKS_CICD_INTERLEAVE"] = f"{role}:{where}"
    if blind:
        project.env["EKS_CICD_INTERLEAVE_BLIND"] = "1"


def two_teams(engine: Engine, root: Path) -> tuple[Project, Project, dict[str, Any]]:
    """The dev stack, and a second team's stack of the same program (its own names and namespace ``shop``)."""
    web = Project.copy(engine, root / "web")
    web.create_dev_stack(engine.plane.admin_kubeconfig)
    shop = Project.copy(engine, root / "shop")
    shop.create_dev_stack(engine.plane.admin_kubeconfig, stack="shop")
    for key, value in {
        "namespace": "shop",
        "iamUserName": "shop-ci",
        "iamPolicyName": "shop-eks-describe",
        "kubernetesUsername": "shop-ci",
        "kubernetesGroups[0]": "shop-deployers",
    }.items():
        shop("config", "set", "--path", key, value)
    entry = {"userarn": "arn:aws:iam::123456789012:user/shop-ci", "username": "shop-ci", "groups": ["shop-deployers"]}
    return web, shop, entry


def test_two_stacks_writing_at_the_same_moment_keep_every_entry(
    engine: Engine, foreign: dict[str, str], tmp_path: Path
) -> None:
    """Two teams' stacks ``pulumi up`` at once, their aws-auth writes forced to interleave (both read, one writes,
    then the other writes what it read): the stale write is refused with 409 and retried, both entries are in,
    the foreign ones intact; destroying one stack leaves the other's entry."""
    web, shop, shop_entry = two_teams(engine, tmp_path)
    interleaved(web, "first", tmp_path)
    interleaved(shop, "second", tmp_path)
    mark = engine.plane.audit.mark()
    try:
        with ThreadPoolExecutor(2) as pool:
            ups = list(pool.map(lambda p: p("up", "--yes"), (web, shop)))
        assert all("+ 11 created" in up.stdout for up in ups), [up.stdout for up in ups]
        assert (tmp_path / "first-ready").exists() and (tmp_path / "second-wrote").exists(), "the writes interleaved"
        refused = [
            e
            for e in one_per_request(engine.plane.audit.events(mark))
            if (e.get("objectRef") or {}).get("name") == "aws-auth" and e["verb"] == "update"
        ]
        users = map_users(engine.plane)
        assert users == [TEAM_B, shop_entry, OUR_ENTRY], users
        assert [(e.get("responseStatus") or {}).get("code") for e in refused] == [200, 409, 200], refused
        assert yaml.safe_load((engine.plane.aws_auth_data() or {})["mapRoles"]) == [NODE_ROLE]
        shop("destroy", "--yes")
        assert map_users(engine.plane) == [TEAM_B, OUR_ENTRY]
    finally:
        finish(engine, (web, NAMESPACE), (shop, "shop"))
    assert engine.plane.aws_auth_data() == foreign


#: The upgrade scenarios check out these commits' program and package, so they are named by commit id.
#: Version 0.1: the last commit with the whole-field ``ConfigMapPatch``.
VERSION_0_1 = "c3b7903"
#: Version 0.2.0: the last commit before the plugin (issue 16).
VERSION_0_2 = "865af23"


def project_of(engine: Engine, root: Path, commit: str) -> Project:
    """A project of ``commit``'s program, run with ``commit``'s package (on ``PYTHONPATH``, before the installed
    one)."""
    old = root / f"at-{commit}"
    old.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", commit, "__main__.py", "Pulumi.yaml", "Pulumi.dev.yaml", "components"],
        capture_output=True,
        check=True,
    )
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
    project = Project.copy(engine, root)
    for file in ("__main__.py", "Pulumi.yaml", "Pulumi.dev.yaml"):
        shutil.copy(old / file, project.directory / file)
    project.env["PYTHONPATH"] = str(old / "components")
    return project


def to_current_code(project: Project) -> None:
    """The project moved to this checkout's program and installed package, its stack config kept."""
    for file in ("__main__.py", "Pulumi.yaml"):
        shutil.copy(REPO / file, project.directory / file)
    project.env.pop("PYTHONPATH", None)


def test_a_stack_made_by_version_0_2_has_nothing_to_change(
    engine: Engine, foreign: dict[str, str], tmp_path: Path
) -> None:
    """The plugin changed nothing for Python programs: a dev stack made by 0.2.0's program and package, previewed
    with the current ones, has no change at all (the same dynamic ``AwsAuthEntry``, inputs and outputs)."""
    project = project_of(engine, tmp_path, VERSION_0_2)
    try:
        project.create_dev_stack(engine.plane.admin_kubeconfig)
        project("up", "--yes")
        to_current_code(project)
        mark = engine.plane.audit.mark()
        project("preview", "--expect-no-changes")
        assert aws_auth_writes(engine.plane, mark) == []
    finally:
        project.env.pop("PYTHONPATH", None)
        finish(engine, (project, NAMESPACE))


def test_a_stack_made_by_version_0_1_upgrades_with_one_up(
    engine: Engine, foreign: dict[str, str], tmp_path: Path
) -> None:
    """A dev stack made by 0.1's program and package moves to the current code with one ``pulumi up``: no IAM resource
    is replaced, the key is the same, our aws-auth entry is in place and the foreign ones are intact."""
    project = project_of(engine, tmp_path, VERSION_0_1)
    try:
        project.create_dev_stack(engine.plane.admin_kubeconfig)
        made = project("up", "--yes")
        assert "ConfigMapPatch" in made.stdout, "0.1's program ran"
        before = project.outputs(secrets=True)
        assert map_users(engine.plane) == [TEAM_B, OUR_ENTRY]
        iam_before = sorted((r["type"], r["id"]) for r in project.resources() if r["type"].startswith("aws:"))
        to_current_code(project)
        mark = engine.plane.audit.mark()
        upgraded = project("up", "--yes")
        assert "replaced" not in upgraded.stdout and "replace" not in upgraded.stdout, upgraded.stdout
        iam_after = sorted((r["type"], r["id"]) for r in project.resources() if r["type"].startswith("aws:"))
        assert iam_after == iam_before, "every IAM resource is the same one"
        # the key answers to its labelled name through an alias, as docs/rotation.md says
        assert any(r["urn"].endswith("::cicd-access-access-key-default") for r in project.resources())
        after = project.outputs(secrets=True)
        assert (after["accessKeyId"], after["secretAccessKey"]) == (before["accessKeyId"], before["secretAccessKey"])
        assert map_users(engine.plane) == [TEAM_B, OUR_ENTRY]
        assert yaml.safe_load((engine.plane.aws_auth_data() or {})["mapRoles"]) == [NODE_ROLE]
        assert aws_auth_writes(engine.plane, mark) == [], "the entry was already in place: nothing written"
        project("preview", "--expect-no-changes")
        project("destroy", "--yes")
        assert engine.plane.aws_auth_data() == foreign
    finally:
        project.env.pop("PYTHONPATH", None)
        finish(engine, (project, NAMESPACE))
