"""The kubectl deploy/rollback commands, their seeds and checks, and the identities that run them.

``tests/cluster/test_cluster_kubectl.py`` runs these on the real control plane: a
``Deployments`` (there, the admin's view of the real API server through the
real deployment controller) seeds each command's starting state and checks its
effect. The component runs under mocks; ``render`` collects what kubectl needs
from its registrations: Role, RoleBinding, kubeconfig, the key or session, and
the ``AwsAuthEntry`` to write.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

import boto3
import pulumi
import pytest
import yaml
from moto import mock_aws

from eks_cicd_access.rbac import DEPLOY_ROLLBACK, RoleRule
from testbed.apiserver.authenticator import Principal
from testbed.controlplane.fixture import KubectlRun
from testbed.mocks import EksMocks, RecordingMonitor, Stack
from testbed.names import ACCOUNT, REGION
from testbed.provider_host import from_struct
from testbed.workload import IMAGE, LAST_APPLIED, manifest
from tests.support import ENTRY, RECIPE, deploy

NAMESPACE = RECIPE["namespace"]
OTHER_NAMESPACE = "team-b"
REVISION = "deployment.kubernetes.io/revision"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
#: What kubectl says when ``rollout status --timeout`` gives up.
TIMED_OUT = "timed out waiting for the condition"
#: Denials kubectl expects and ignores: ``apply`` reads the namespace before
#: creating into it and goes on whatever the answer (kubernetes/kubectl#1619).
#: Every command works without it, so the Role does not grant it.
IGNORED_DENIALS = {("get", "namespaces")}


def manifest_file(version: int) -> str:
    """The manifest as CI keeps it in its repository: no namespace, ``-n`` picks it."""
    obj = manifest(version, "")
    del obj["metadata"]["namespace"]
    return yaml.safe_dump(obj, sort_keys=False)


# -- the commands ---------------------------------------------------------------------------


class Deployments(Protocol):
    """Where a command's Deployment is seeded and read back (as the admin)."""

    def seed_deployment(self, manifest: Mapping[str, Any], *images: str) -> None:
        """Create the Deployment, then roll it through ``images`` (one revision each), as if earlier deploys
        had happened."""

    def seed_progressing(self, namespace: str, name: str) -> None:
        """Start a rollout that never finishes."""

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        """The object, or ``None``."""


Seed = Callable[[Deployments, str], None]
Check = Callable[[Deployments, str, KubectlRun], None]


def _nothing(cluster: Deployments, namespace: str) -> None:
    pass


def _deployed(*versions: int, applied: bool = False) -> Seed:
    def seed(cluster: Deployments, namespace: str) -> None:
        cluster.seed_deployment(
            manifest(versions[0], namespace, last_applied=applied), *(IMAGE.format(v) for v in versions[1:])
        )

    return seed


def _progressing(cluster: Deployments, namespace: str) -> None:
    _deployed(1)(cluster, namespace)
    cluster.seed_progressing(namespace, "web")


def _deployment(cluster: Deployments, namespace: str) -> dict[str, Any]:
    obj = cluster.get("deployments", namespace, "web")
    assert obj is not None, f"deployment {namespace}/web does not exist"
    return obj


def _runs(version: int, revision: int, *, annotation: str | None = None) -> Check:
    """The Deployment runs image ``version`` at ``revision`` (and carries ``annotation``)."""

    def check(cluster: Deployments, namespace: str, run: KubectlRun) -> None:
        obj = _deployment(cluster, namespace)
        image = obj["spec"]["template"]["spec"]["containers"][0]["image"]
        assert image == IMAGE.format(version), f"deployment web runs {image}, expected {IMAGE.format(version)}"
        assert obj["metadata"]["annotations"][REVISION] == str(revision), "unexpected revision"
        if annotation:
            found = {**obj["metadata"]["annotations"], **obj["spec"]["template"]["metadata"].get("annotations", {})}
            assert annotation in found, f"deployment web lacks annotation {annotation}"

    return check


def _prints(*texts: str) -> Check:
    def check(cluster: Deployments, namespace: str, run: KubectlRun) -> None:
        for text in texts:
            assert text in run.stdout, f"kubectl did not print {text!r}; stdout: {run.stdout}"

    return check


def _still_waiting(cluster: Deployments, namespace: str, run: KubectlRun) -> None:
    """``rollout status`` printed its progress and gave up at ``--timeout``: the rollout never finishes."""
    _prints("Waiting for deployment")(cluster, namespace, run)
    assert TIMED_OUT in run.stderr, f"rollout status did not time out; stderr: {run.stderr}"


def _lists_revisions(*revisions: int) -> Check:
    """``rollout history`` printed exactly these revisions."""

    def check(cluster: Deployments, namespace: str, run: KubectlRun) -> None:
        rows = [line.split()[0] for line in run.stdout.splitlines()[2:] if line.strip()]
        assert rows == [str(r) for r in revisions], f"history lists {rows}; stdout: {run.stdout}"

    return check


def _read_only(cluster: Deployments, namespace: str, run: KubectlRun) -> None:
    """A read has no effect on the server to check."""


@dataclass(frozen=True)
class Scenario:
    name: str
    args: tuple[str, ...]
    seed: Seed
    check: Check


PROGRESSING = "rollout status (progressing)"
SCENARIOS = [
    Scenario("apply -f (create)", ("apply", "-f", "web-1.yaml"), _nothing, _runs(1, 1, annotation=LAST_APPLIED)),
    Scenario("apply -f (update)", ("apply", "-f", "web-2.yaml"), _deployed(1, applied=True), _runs(2, 2)),
    Scenario("apply --server-side (create)", ("apply", "--server-side", "-f", "web-1.yaml"), _nothing, _runs(1, 1)),
    Scenario("apply --server-side (update)", ("apply", "--server-side", "-f", "web-2.yaml"), _deployed(1), _runs(2, 2)),
    Scenario("set image", ("set", "image", "deployment/web", f"app={IMAGE.format(2)}"), _deployed(1), _runs(2, 2)),
    Scenario(
        "rollout status",
        ("rollout", "status", "deployment/web", "--timeout=4s"),
        _deployed(1),
        _prints('deployment "web" successfully rolled out'),
    ),
    Scenario(PROGRESSING, ("rollout", "status", "deployment/web", "--timeout=4s"), _progressing, _still_waiting),
    Scenario("rollout history", ("rollout", "history", "deployment/web"), _deployed(1, 2), _lists_revisions(1, 2)),
    Scenario("rollout undo", ("rollout", "undo", "deployment/web"), _deployed(1, 2), _runs(1, 3)),
    Scenario(
        "rollout undo --to-revision=1",
        ("rollout", "undo", "deployment/web", "--to-revision=1"),
        _deployed(1, 2, 3),
        _runs(1, 4),
    ),
    Scenario(
        "rollout restart", ("rollout", "restart", "deployment/web"), _deployed(1), _runs(1, 2, annotation=RESTARTED_AT)
    ),
]
SET_IMAGE = next(s for s in SCENARIOS if s.name == "set image")
DENIED = [
    Scenario("get secrets", ("get", "secrets"), _nothing, _read_only),
    Scenario("get pods", ("get", "pods"), _nothing, _read_only),
    Scenario("delete deployment", ("delete", "deployment", "web"), _deployed(1), _runs(1, 1)),
]
FILES = {"web-1.yaml": manifest_file(1), "web-2.yaml": manifest_file(2)}
#: Another role's session tries to set the image: nothing may change.
UNMAPPED = Scenario(
    "set image (another role)", ("set", "image", "deployment/web", f"app={IMAGE.format(2)}"), _deployed(1), _runs(1, 1)
)


# -- what the component renders -------------------------------------------------------------


@dataclass
class Access:
    """The component's objects, as registered under mocks, for one ``role_rules`` value."""

    roles: list[dict[str, Any]]
    bindings: list[dict[str, Any]]
    #: What STS knows: the CI key and the IAM user it belongs to.
    principals: dict[str, Principal]
    credentials: dict[str, str]
    kubeconfig: str
    username: str
    #: The AwsAuthEntry as registered: its URN and inputs.
    entry: tuple[str, dict[str, Any]]


#: The role identity: github-actions, the role under an IAM path (which aws-auth must not carry).
ROLE = "github-actions"
ROLE_ARGS: dict[str, Any] = {
    "identity": ROLE,
    "oidc_subjects": ["repo:acme/web:environment:production"],
    "iam_role_name": "web-ci",
    "iam_role_path": "/ci/deployers/",
    "iam_user_name": None,
}
#: What AssumeRoleWithWebIdentity hands the job: temporary credentials whose caller ARN names the
#: role without its path (tests/unit/test_iam.py shows STS doing so in moto).
SESSION = {
    "AWS_ACCESS_KEY_ID": "ASIAWEBCIDEPLOY42XYZ",
    "AWS_SECRET_ACCESS_KEY": "session/secret/for/web-ci/EXAMPLE",
    "AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2VjEXAMPLE-session-token",
}
#: Another role's session, which STS knows too but aws-auth does not map.
OTHER_SESSION = {
    "AWS_ACCESS_KEY_ID": "ASIAOTHERROLE42XYZAB",
    "AWS_SECRET_ACCESS_KEY": "session/secret/for/other/EXAMPLE",
    "AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2VjOTHER-session-token",
}


def _mocked_stack() -> Stack:
    mocks = EksMocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project="eks-cicd-access", stack="dev", preview=False, monitor=monitor)
    return Stack(mocks, monitor)


def render(role_rules: str | list[RoleRule], identity: str = "iam-user", principal_arn: str | None = None) -> Access:
    """Run the component with the recipe's names and ``role_rules``; collect what kubectl needs.

    With identity ``existing`` (``principal_arn``) the principal and its keys are made elsewhere: what STS
    knows of them and the credentials are left empty for the caller to fill in."""
    stack = _mocked_stack()
    extra = ROLE_ARGS if identity == ROLE else {}
    if identity == "existing":
        extra = {"identity": identity, "principal_arn": principal_arn, "iam_user_name": None}
    out = {key: value for key, (value, _) in deploy(stack, role_rules=role_rules, **extra).items()}
    entry = stack.one(ENTRY)
    if identity == ROLE:
        # The chain EKS follows: session key -> assumed-role ARN (STS) -> role, path stripped ->
        # aws-auth mapRoles entry -> Kubernetes user.
        account = out["iam_role_arn"].split(":")[4]
        caller = f"arn:aws:sts::{account}:assumed-role/{ROLE_ARGS['iam_role_name']}/deploy-42"
        other = f"arn:aws:sts::{account}:assumed-role/other-ci/deploy-7"
        principals = {
            SESSION["AWS_ACCESS_KEY_ID"]: Principal(
                SESSION["AWS_SECRET_ACCESS_KEY"], caller, SESSION["AWS_SESSION_TOKEN"]
            ),
            OTHER_SESSION["AWS_ACCESS_KEY_ID"]: Principal(
                OTHER_SESSION["AWS_SECRET_ACCESS_KEY"], other, OTHER_SESSION["AWS_SESSION_TOKEN"]
            ),
        }
        credentials = dict(SESSION)
    elif identity == "existing":
        principals, credentials = {}, {}
    else:
        # The chain EKS follows: access key -> IAM user (STS) -> aws-auth mapUsers entry -> Kubernetes user.
        key, secret = out["access_key_id"], out["secret_access_key"]
        principals = {key: Principal(secret, out["iam_user_arn"])}
        credentials = {"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret}
    return Access(
        roles=[stack.one("kubernetes:rbac.authorization.k8s.io/v1:Role").inputs],
        bindings=[stack.one("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding").inputs],
        principals=principals,
        credentials=credentials,
        kubeconfig=out["kubeconfig"],
        username=out["kubernetes_username"],
        entry=(entry.urn, from_struct(entry.raw)),
    )


def without(rule_index: int, verb: str) -> list[RoleRule]:
    """The default preset minus one verb (a rule left with no verbs is dropped)."""
    rules = copy.deepcopy(DEPLOY_ROLLBACK)
    rules[rule_index]["verbs"].remove(verb)
    return [r for r in rules if r["verbs"]]


#: Each verb of the default preset, named ``resource verb``.
REMOVALS = {
    f"{rule['resources'][0]} {verb}": (index, verb)
    for index, rule in enumerate(DEPLOY_ROLLBACK)
    for verb in rule["verbs"]
}


@dataclass(frozen=True)
class Job:
    scenario: Scenario
    preset: str
    access: Access
    mode: str
    namespace: str = NAMESPACE
    #: Credentials other than the access's own (another role's session, an older key).
    credentials: dict[str, str] | None = None


# -- key rotation -----------------------------------------------------------------------------


def step(labels: list[str]) -> tuple[Access, dict[str, dict[str, str]]]:
    """The component with these key labels: its objects, and its keys by label (STS knows them all)."""
    access = render("deploy-rollback")
    out = deploy(_mocked_stack(), access_keys=labels)
    keys: dict[str, dict[str, str]] = out["access_keys"][0]
    user_arn = out["iam_user_arn"][0]
    principals = {key["id"]: Principal(key["secret"], user_arn) for key in keys.values()}
    return replace(access, principals=principals), keys


# -- principals made elsewhere (identity existing) ----------------------------------------------

ROLE_PATH = "/ci/deployers/"
ROLE_NAME = "web-deployer"
USER_PATH = "/legacy/"
USER_NAME = "legacy-ci"
SESSION_NAME = "deploy-42"
KEYS = {"mapRoles": "rolearn", "mapUsers": "userarn"}
#: What aws-auth must hold: the role without its path (EKS compares it so), the user as IAM names it.
EXPECTED_ENTRY = {
    "role": ("mapRoles", [f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}"]),
    "user": ("mapUsers", [f"arn:aws:iam::{ACCOUNT}:user{USER_PATH}{USER_NAME}"]),
}


@dataclass(frozen=True)
class MadeElsewhere:
    """A principal as IAM and STS (moto) know it."""

    #: The IAM ARN, path included: what ``principal_arn`` is given.
    arn: str
    #: What ``GetCallerIdentity`` returns for ``credentials``.
    caller: str
    #: The AWS variables of the CI job: the user's key, or the role's session.
    credentials: dict[str, str]


def caller_of(credentials: dict[str, str]) -> str:
    sts = boto3.client(
        "sts",
        region_name=REGION,
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=credentials.get("AWS_SESSION_TOKEN"),
    )
    arn: str = sts.get_caller_identity()["Arn"]
    return arn


def make_in_moto() -> dict[str, MadeElsewhere]:
    """The role (path ``/ci/deployers/``, assumed once) and the user (path ``/legacy/``, with its own key),
    created directly in moto's IAM, not by the component."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.setenv("MOTO_ACCOUNT_ID", ACCOUNT)
        env.delenv("AWS_PROFILE", raising=False)
        with mock_aws():
            iam = boto3.client("iam", region_name=REGION)
            trust = {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
            role_arn = iam.create_role(RoleName=ROLE_NAME, Path=ROLE_PATH, AssumeRolePolicyDocument=json.dumps(trust))[
                "Role"
            ]["Arn"]
            session = boto3.client("sts", region_name=REGION).assume_role(
                RoleArn=role_arn, RoleSessionName=SESSION_NAME
            )["Credentials"]
            role_credentials = {
                "AWS_ACCESS_KEY_ID": session["AccessKeyId"],
                "AWS_SECRET_ACCESS_KEY": session["SecretAccessKey"],
                "AWS_SESSION_TOKEN": session["SessionToken"],
            }
            user_arn = iam.create_user(UserName=USER_NAME, Path=USER_PATH)["User"]["Arn"]
            key = iam.create_access_key(UserName=USER_NAME)["AccessKey"]
            user_credentials = {
                "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
                "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
            }
            made = {
                "role": MadeElsewhere(role_arn, caller_of(role_credentials), role_credentials),
                "user": MadeElsewhere(user_arn, caller_of(user_credentials), user_credentials),
            }
    assert made["role"].arn == f"arn:aws:iam::{ACCOUNT}:role{ROLE_PATH}{ROLE_NAME}"
    assert made["role"].caller == f"arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE_NAME}/{SESSION_NAME}", (
        "STS drops the path"
    )
    assert made["user"].arn == made["user"].caller == f"arn:aws:iam::{ACCOUNT}:user{USER_PATH}{USER_NAME}"
    return made


def access_for(made: MadeElsewhere) -> Access:
    """The component mapping ``made`` (identity existing); STS (the webhook) knows its credentials."""
    access = render("deploy-rollback", "existing", made.arn)
    key = made.credentials["AWS_ACCESS_KEY_ID"]
    principal = Principal(
        made.credentials["AWS_SECRET_ACCESS_KEY"], made.caller, made.credentials.get("AWS_SESSION_TOKEN")
    )
    return replace(access, principals={key: principal}, credentials=made.credentials)
