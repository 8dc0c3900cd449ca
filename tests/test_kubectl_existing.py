"""identity='existing' with the real kubectl: a role and a user made elsewhere deploy and roll back, here only.

moto plays IAM and STS. The role (under the IAM path ``/ci/deployers/``) and
the user (under ``/legacy/``, with an access key of its own) are created there
directly, not by the component; the role is assumed with ``sts:AssumeRole``,
and ``GetCallerIdentity`` with each credential gives the caller ARN the test
server's STS then answers with. The component, given only the ARN
(``identity="existing"``), renders its Role, RoleBinding, kubeconfig and
``AwsAuthEntry``; the provider writes the role into ``mapRoles`` without its
path, the user into ``mapUsers`` as it is. The commands and their checks are
those of tests/test_kubectl_rbac.py.

Slow tier: ``pytest -m kubectl``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from tests.apiserver.kubectl import MODES
from tests.apiserver.server import Principal
from tests.conftest import ACCOUNT, REGION
from tests.test_kubectl_rbac import (
    NAMESPACE,
    OTHER_NAMESPACE,
    SCENARIOS,
    Access,
    Job,
    Outcome,
    Scenario,
    render,
    run_all,
)

pytestmark = pytest.mark.kubectl

ROLE_PATH = "/ci/deployers/"
ROLE_NAME = "web-deployer"
USER_PATH = "/legacy/"
USER_NAME = "legacy-ci"
SESSION_NAME = "deploy-42"
KINDS = ("role", "user")
OTHER_MODE = next(iter(MODES))
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
    """The role (assumed once) and the user (with its own key), created directly in moto's IAM."""
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
    """The component mapping ``made`` (identity existing); the test server's STS knows its credentials."""
    access = render("deploy-rollback", "existing", made.arn)
    key = made.credentials["AWS_ACCESS_KEY_ID"]
    principal = Principal(
        made.credentials["AWS_SECRET_ACCESS_KEY"], made.caller, made.credentials.get("AWS_SESSION_TOKEN")
    )
    return replace(access, principals={key: principal}, credentials=made.credentials)


@dataclass
class Results:
    made: dict[str, MadeElsewhere]
    accesses: dict[str, Access]
    #: The aws-auth key and entry the provider wrote, by kind.
    entries: dict[str, tuple[str, list[dict[str, Any]]]] = field(default_factory=dict)
    allowed: dict[tuple[str, str, str], Outcome] = field(default_factory=dict)
    other_namespace: dict[tuple[str, str, str], Outcome] = field(default_factory=dict)


def written_entry(access: Access) -> tuple[str, list[dict[str, Any]]]:
    """The aws-auth key and entries naming the component's Kubernetes user, as the provider wrote them."""
    with access.open_cluster() as server:
        found = server.configmap("kube-system", "aws-auth")
    assert found is not None, "kube-system/aws-auth does not exist"
    for key in ("mapRoles", "mapUsers"):
        entries = [e for e in yaml.safe_load(found["data"].get(key) or "[]") if e.get("username") == access.username]
        if entries:
            return key, entries
    return "", []


@pytest.fixture(scope="module")
def results() -> Iterator[Results]:
    """Every command, in both client modes, in our namespace and in another, for the role and for the user."""
    made = make_in_moto()
    accesses = {kind: access_for(made[kind]) for kind in KINDS}
    results = Results(made, accesses)
    results.entries = {kind: written_entry(accesses[kind]) for kind in KINDS}
    jobs = [Job(s, kind, accesses[kind], mode) for kind in KINDS for mode in MODES for s in SCENARIOS]
    # Another namespace in the default client mode, as for the role identity in tests/test_kubectl_rbac.py.
    jobs += [Job(s, kind, accesses[kind], OTHER_MODE, OTHER_NAMESPACE) for kind in KINDS for s in SCENARIOS]
    for outcome in run_all(jobs):
        where = results.allowed if outcome.namespace == NAMESPACE else results.other_namespace
        where[(outcome.preset, outcome.mode, outcome.scenario.name)] = outcome
    print(table(results))
    yield results


def table(results: Results) -> str:
    """What each command returned, for the role and the user: shown with ``pytest -s``."""
    lines = []
    for kind in KINDS:
        made, (key, entry) = results.made[kind], results.entries[kind]
        lines += ["", f"existing {kind} {made.arn} (caller {made.caller}), aws-auth {key}: {entry}"]
        for (k, mode, name), outcome in [*results.allowed.items(), *results.other_namespace.items()]:
            if k == kind:
                verdict = "allowed" if outcome.works else ("denied" if outcome.denials else "FAILED")
                statuses = sorted({r.status for r in outcome.run.requests})
                lines.append(
                    f"  {name:29} -n {outcome.namespace:10} [{mode}] {verdict} rc={outcome.run.returncode} {statuses}"
                )
    return "\n".join(lines)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_an_existing_principal_runs_every_command(results: Results, kind: str, mode: str, scenario: Scenario) -> None:
    """A role (path /ci/deployers/) or user made in IAM, mapped by identity existing, runs each command, with effect."""
    outcome = results.allowed[(kind, mode, scenario.name)]
    assert outcome.works, outcome.explain()


@pytest.mark.parametrize("kind", KINDS)
def test_every_request_is_the_existing_principals_mapped_user(results: Results, kind: str) -> None:
    """The role is in mapRoles without its path, the user in mapUsers with it; every request is that user, none 401."""
    outcomes = [o for (k, _, _), o in results.allowed.items() if k == kind]
    key, entries = results.entries[kind]
    assert (key, [e[KEYS[key]] for e in entries]) == EXPECTED_ENTRY[kind], f"aws-auth {key}: {entries}"
    assert {r.user for o in outcomes for r in o.run.requests} == {results.accesses[kind].username}
    assert 401 not in {r.status for o in outcomes for r in o.run.requests}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_an_existing_principal_is_denied_in_another_namespace(results: Results, kind: str, scenario: Scenario) -> None:
    """The same commands in another team's namespace fail for the existing principal: every request there is 403."""
    outcome = results.other_namespace[(kind, OTHER_MODE, scenario.name)]
    assert outcome.run.returncode != 0, outcome.explain()
    assert outcome.denials, outcome.explain()
    assert all(r.status == 403 for r in outcome.run.api_requests()), outcome.explain()
