"""The CI identity can deploy and roll back with the real kubectl, and do nothing more.

The component runs under mocks; its Role, RoleBinding, access key and
kubeconfig then drive the real ``kubectl`` 1.37 (exec ``aws eks get-token``
for the token) against the HTTPS test API server in ``tests/apiserver``,
which authorizes every request with RBAC semantics. Each command starts from
a fresh server whose ``aws-auth`` (node roles, other teams) gets our entry
from the component's own ``AwsAuthEntry`` provider, run as the engine runs
it; the server then authenticates the key through that entry. Each command
runs in both client modes.

Slow tier (about 45 s on 2 cores): ``pytest -m kubectl``. The tables printed at
the end show every command with the requests it made.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pytest
import yaml

from eks_cicd_access.rbac import DEPLOY_ROLLBACK, RoleRule
from tests.apiserver.kubectl import MODES, Run, run_kubectl
from tests.apiserver.rbac import Authorizer
from tests.apiserver.report import KUBECTL_REPORT
from tests.apiserver.server import LAST_APPLIED, REVISION, KubeApiServer, Principal, Request
from tests.conftest import (
    ADMIN_TOKEN,
    DEPLOYER,
    MAP_ACCOUNTS,
    NODE_ROLES,
    OTHER_USERS,
    EksMocks,
    RecordingMonitor,
    Stack,
)
from tests.engine import Engine, from_struct
from tests.test_component import ENTRY, RECIPE, deploy

pytestmark = pytest.mark.kubectl

NAMESPACE = RECIPE["namespace"]
OTHER_NAMESPACE = "team-b"
IMAGE = "registry.example.com/web:{}"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
#: Denials kubectl expects and ignores: ``apply`` reads the namespace before
#: creating into it and goes on whatever the answer (kubernetes/kubectl#1619).
#: Every command works without it, so the Role does not grant it.
IGNORED_DENIALS = {("get", "namespaces")}


def manifest(version: int, namespace: str, *, last_applied: bool = False) -> dict[str, Any]:
    """The Deployment CI ships, at image ``version``."""
    obj: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": namespace, "labels": {"app": "web"}},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [{"name": "app", "image": IMAGE.format(version), "ports": [{"containerPort": 8080}]}]
                },
            },
        },
    }
    if last_applied:
        obj["metadata"]["annotations"] = {LAST_APPLIED: json.dumps(manifest(version, namespace))}
    return obj


def manifest_file(version: int) -> str:
    """The manifest as CI keeps it in its repository: no namespace, ``-n`` picks it."""
    obj = manifest(version, "")
    del obj["metadata"]["namespace"]
    return yaml.safe_dump(obj, sort_keys=False)


# -- the commands ---------------------------------------------------------------------------

Seed = Callable[[KubeApiServer, str], None]
Check = Callable[[KubeApiServer, str, Run], None]


def _nothing(server: KubeApiServer, namespace: str) -> None:
    pass


def _deployed(*versions: int, applied: bool = False) -> Seed:
    def seed(server: KubeApiServer, namespace: str) -> None:
        server.seed_deployment(
            manifest(versions[0], namespace, last_applied=applied), *(IMAGE.format(v) for v in versions[1:])
        )

    return seed


def _progressing(server: KubeApiServer, namespace: str) -> None:
    _deployed(1)(server, namespace)
    server.seed_progressing(namespace, "web", IMAGE.format(2))


def _deployment(server: KubeApiServer, namespace: str) -> dict[str, Any]:
    obj = server.store.get("deployments", namespace, "web")
    assert obj is not None, f"deployment {namespace}/web does not exist"
    return obj


def _runs(version: int, revision: int, *, annotation: str | None = None) -> Check:
    """The Deployment runs image ``version`` at ``revision`` (and carries ``annotation``)."""

    def check(server: KubeApiServer, namespace: str, run: Run) -> None:
        obj = _deployment(server, namespace)
        image = obj["spec"]["template"]["spec"]["containers"][0]["image"]
        assert image == IMAGE.format(version), f"deployment web runs {image}, expected {IMAGE.format(version)}"
        assert obj["metadata"]["annotations"][REVISION] == str(revision), "unexpected revision"
        if annotation:
            found = {**obj["metadata"]["annotations"], **obj["spec"]["template"]["metadata"].get("annotations", {})}
            assert annotation in found, f"deployment web lacks annotation {annotation}"

    return check


def _prints(*texts: str) -> Check:
    def check(server: KubeApiServer, namespace: str, run: Run) -> None:
        for text in texts:
            assert text in run.stdout, f"kubectl did not print {text!r}; stdout: {run.stdout}"

    return check


def _lists_revisions(*revisions: int) -> Check:
    """``rollout history`` printed exactly these revisions."""

    def check(server: KubeApiServer, namespace: str, run: Run) -> None:
        rows = [line.split()[0] for line in run.stdout.splitlines()[2:] if line.strip()]
        assert rows == [str(r) for r in revisions], f"history lists {rows}; stdout: {run.stdout}"

    return check


def _read_only(server: KubeApiServer, namespace: str, run: Run) -> None:
    """A read has no effect on the server to check."""


@dataclass(frozen=True)
class Scenario:
    name: str
    args: tuple[str, ...]
    seed: Seed
    check: Check


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
    Scenario(
        "rollout status (progressing)",
        ("rollout", "status", "deployment/web", "--timeout=4s"),
        _progressing,
        _prints("Waiting for deployment", 'deployment "web" successfully rolled out'),
    ),
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

    def authorizer(self) -> Authorizer:
        return Authorizer(self.roles, self.bindings)

    def open_cluster(self) -> KubeApiServer:
        """A fresh test server whose aws-auth gets our entry from the component's provider."""
        server = KubeApiServer(
            self.authorizer(),
            cluster_name=RECIPE["cluster_name"],
            principals=self.principals,
            tokens={ADMIN_TOKEN: DEPLOYER},
        ).__enter__()
        server.seed_configmap(
            "kube-system", "aws-auth", {"mapRoles": NODE_ROLES, "mapUsers": OTHER_USERS, "mapAccounts": MAP_ACCOUNTS}
        )
        urn, inputs = self.entry
        ENGINE.up(urn, {**inputs, "kubeconfig": server.kubeconfig(ADMIN_TOKEN)})
        return server


#: Runs the AwsAuthEntry provider as the Pulumi engine's dynamic-provider host does.
ENGINE = Engine()


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
#: role without its path (tests/test_iam.py shows STS doing so in moto).
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


def render(role_rules: str | list[RoleRule], identity: str = "iam-user", principal_arn: str | None = None) -> Access:
    """Run the component with the recipe's names and ``role_rules``; collect what kubectl needs.

    With identity ``existing`` (``principal_arn``) the principal and its keys are made elsewhere: what STS
    knows of them and the credentials are left empty for the caller to fill in."""
    mocks = EksMocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project="eks-cicd-access", stack="dev", preview=False, monitor=monitor)
    stack = Stack(mocks, monitor)
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


# -- running ----------------------------------------------------------------------------------


@dataclass
class Outcome:
    scenario: Scenario
    preset: str
    mode: str
    namespace: str
    run: Run
    effect_error: str = ""
    credentials: dict[str, str] | None = None

    @property
    def denials(self) -> list[Request]:
        """Requests answered 403 that kubectl does not simply ignore."""
        return [
            r
            for r in self.run.api_requests()
            if r.status == 403 and (r.attributes.verb, r.attributes.resource) not in IGNORED_DENIALS
        ]

    @property
    def works(self) -> bool:
        return self.run.returncode == 0 and not self.effect_error and not self.denials

    def requests_text(self) -> str:
        api = self.run.api_requests()
        parts = []
        for r in api:
            text = r.describe()
            if r.status == 403 and (r.attributes.verb, r.attributes.resource) in IGNORED_DENIALS:
                text += " (ignored by kubectl)"
            parts.append(text)
        other = len(self.run.requests) - len(api)
        return "; ".join(parts) + (f"; +{other} discovery/openapi" if other else "")

    def explain(self) -> str:
        return (
            f"{self.scenario.name} [{self.preset}, {self.mode}, -n {self.namespace}] rc={self.run.returncode}\n"
            f"requests: {self.requests_text()}\neffect: {self.effect_error or 'ok'}\n"
            f"stdout: {self.run.stdout}\nstderr: {self.run.stderr[-2000:]}"
        )


@dataclass(frozen=True)
class Job:
    scenario: Scenario
    preset: str
    access: Access
    mode: str
    namespace: str = NAMESPACE
    #: Credentials other than the access's own (another role's session).
    credentials: dict[str, str] | None = None


def execute(job: Job) -> Outcome:
    """Seed a fresh server, run the command, check its effect."""
    access = job.access
    with access.open_cluster() as server:
        job.scenario.seed(server, job.namespace)
        run = run_kubectl(
            server,
            access.kubeconfig,
            ["--namespace", job.namespace, *job.scenario.args],
            credentials=job.credentials or access.credentials,
            env=MODES[job.mode],
            files=FILES,
        )
        outcome = Outcome(job.scenario, job.preset, job.mode, job.namespace, run, credentials=job.credentials)
        try:
            job.scenario.check(server, job.namespace, run)
        except AssertionError as error:
            outcome.effect_error = str(error)
        return outcome


def run_all(jobs: Sequence[Job]) -> list[Outcome]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(execute, jobs))


@dataclass
class Results:
    accesses: dict[str, Access]
    allowed: dict[tuple[str, str, str], Outcome] = field(default_factory=dict)
    other_namespace: dict[tuple[str, str], Outcome] = field(default_factory=dict)
    denied: dict[str, Outcome] = field(default_factory=dict)
    removals: dict[str, list[Outcome]] = field(default_factory=dict)
    #: The role identity (an assumed-role session): the same commands, and what must stay refused.
    role_allowed: dict[tuple[str, str], Outcome] = field(default_factory=dict)
    role_other_namespace: dict[str, Outcome] = field(default_factory=dict)
    role_denied: dict[str, Outcome] = field(default_factory=dict)
    other_role: Outcome | None = None


@pytest.fixture(scope="module")
def results(request: pytest.FixtureRequest) -> Iterator[Results]:
    """Run every command once per preset, mode and namespace, and once per removed verb."""
    accesses = {
        "deploy-rollback": render("deploy-rollback"),
        "recipe": render("recipe"),
        ROLE: render("deploy-rollback", ROLE),
    }
    accesses.update({name: render(without(*where)) for name, where in REMOVALS.items()})
    results = Results(accesses)
    jobs = [
        Job(s, preset, accesses[preset], mode)
        for preset in ("deploy-rollback", "recipe")
        for mode in MODES
        for s in SCENARIOS
    ]
    jobs += [
        Job(s, "deploy-rollback", accesses["deploy-rollback"], mode, OTHER_NAMESPACE)
        for mode in MODES
        for s in SCENARIOS
    ]
    jobs += [Job(s, "deploy-rollback", accesses["deploy-rollback"], "watch-list") for s in DENIED]
    role = accesses[ROLE]
    jobs += [Job(s, ROLE, role, mode) for mode in MODES for s in SCENARIOS]
    jobs += [Job(s, ROLE, role, "watch-list", OTHER_NAMESPACE) for s in SCENARIOS]
    jobs += [Job(s, ROLE, role, "watch-list") for s in DENIED]
    jobs += [Job(UNMAPPED, ROLE, role, "watch-list", credentials=OTHER_SESSION)]
    # Each removal runs every command in the default mode, and in list+watch only if nothing broke.
    first, second = MODES
    jobs += [Job(s, name, accesses[name], first) for name in REMOVALS for s in SCENARIOS]
    for outcome in run_all(jobs):
        if outcome.preset == ROLE:
            if outcome.credentials is not None:
                results.other_role = outcome
            elif outcome.scenario in DENIED:
                results.role_denied[outcome.scenario.name] = outcome
            elif outcome.namespace == OTHER_NAMESPACE:
                results.role_other_namespace[outcome.scenario.name] = outcome
            else:
                results.role_allowed[(outcome.mode, outcome.scenario.name)] = outcome
        elif outcome.preset in REMOVALS:
            results.removals.setdefault(outcome.preset, []).append(outcome)
        elif outcome.scenario in DENIED:
            results.denied[outcome.scenario.name] = outcome
        elif outcome.namespace == OTHER_NAMESPACE:
            results.other_namespace[(outcome.mode, outcome.scenario.name)] = outcome
        else:
            results.allowed[(outcome.preset, outcome.mode, outcome.scenario.name)] = outcome
    unbroken = [name for name, outcomes in results.removals.items() if all(o.works for o in outcomes)]
    for outcome in run_all([Job(s, name, accesses[name], second) for name in unbroken for s in SCENARIOS]):
        results.removals[outcome.preset].append(outcome)
    request.config.stash[KUBECTL_REPORT] = report(results)
    yield results


def report(results: Results) -> list[str]:
    """The tables: command -> requests -> allowed/denied, and what each removed verb breaks."""
    lines = []
    for (preset, mode, name), outcome in results.allowed.items():
        if name == SCENARIOS[0].name:
            lines += ["", f"preset {preset!r}, client mode {mode}, namespace {NAMESPACE}:"]
        verdict = "allowed" if outcome.works else "FAILED"
        lines.append(f"  {name:31} {verdict:8} {outcome.requests_text()}")
    lines += ["", f"denied (preset 'deploy-rollback', namespace {NAMESPACE} unless shown):"]
    for name, outcome in results.denied.items():
        lines.append(f"  {name:31} {'denied' if outcome.denials else 'NOT DENIED':8} {outcome.requests_text()}")
    for (mode, name), outcome in results.other_namespace.items():
        verdict = "denied" if outcome.denials and outcome.run.returncode else "NOT DENIED"
        lines.append(f"  {name + ' -n ' + OTHER_NAMESPACE:31} {verdict:8} [{mode}] {outcome.requests_text()}")
    lines += ["", f"identity {ROLE!r}: an assumed-role session, mapped through mapRoles (path stripped):"]
    for (mode, name), outcome in results.role_allowed.items():
        lines.append(f"  {name:31} {'allowed' if outcome.works else 'FAILED':8} [{mode}] {outcome.requests_text()}")
    for name, outcome in results.role_denied.items():
        lines.append(f"  {name:31} {'denied' if outcome.denials else 'NOT DENIED':8} {outcome.requests_text()}")
    for name, outcome in results.role_other_namespace.items():
        verdict = "denied" if outcome.denials and outcome.run.returncode else "NOT DENIED"
        lines.append(f"  {name + ' -n ' + OTHER_NAMESPACE:31} {verdict:8} {outcome.requests_text()}")
    if results.other_role is not None:
        statuses = sorted({r.status for r in results.other_role.run.requests})
        lines.append(
            f"  {'another role set image':31} {'refused' if results.other_role.run.returncode else 'NOT':8} {statuses}"
        )
    lines += ["", "each verb of the default preset removed in turn -> commands that break:"]
    for removal, outcomes in results.removals.items():
        broken = [o for o in outcomes if not o.works]
        lines.append(f"  without {removal}:")
        for o in broken:
            cause = ", ".join(r.describe() for r in o.denials) or f"rc={o.run.returncode}"
            lines.append(f"    {o.scenario.name:31} [{o.mode}] {cause}")
        if not broken:
            lines.append("    NOTHING BREAKS")
    return lines


# -- the claims ------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["deploy-rollback", "recipe"])
@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_every_deploy_and_rollback_command_works(results: Results, preset: str, mode: str, scenario: Scenario) -> None:
    """Under each preset and client mode, every deploy/rollback command succeeds and has its effect."""
    outcome = results.allowed[(preset, mode, scenario.name)]
    assert outcome.works, outcome.explain()


def test_every_request_is_authenticated_as_the_mapped_ci_user(results: Results) -> None:
    """Each request carries the CI key's k8s-aws-v1 token and maps to the aws-auth username."""
    username = results.accesses["deploy-rollback"].username
    outcomes = list(results.allowed.values())
    users = {r.user for o in outcomes for r in o.run.requests}
    statuses = {r.status for o in outcomes for r in o.run.requests}
    assert users == {username}, f"requests were made as {users}, expected only {username}"
    assert 401 not in statuses, "a request was not authenticated"


@pytest.mark.parametrize("removal", list(REMOVALS))
def test_each_verb_of_the_default_preset_is_needed(results: Results, removal: str) -> None:
    """Removing any single verb from the default Role breaks at least one command."""
    outcomes = results.removals[removal]
    assert any(not o.works for o in outcomes), f"without {removal} every command still works: the verb is not needed"


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_another_namespace_is_denied(results: Results, mode: str, scenario: Scenario) -> None:
    """The same commands against another team's namespace fail: every request there is answered 403."""
    outcome = results.other_namespace[(mode, scenario.name)]
    assert outcome.run.returncode != 0, outcome.explain()
    assert outcome.denials, f"no request was denied: {outcome.explain()}"
    assert all(r.status == 403 for r in outcome.run.api_requests()), f"a request was served: {outcome.explain()}"


@pytest.mark.parametrize("scenario", DENIED, ids=lambda s: s.name)
def test_commands_outside_the_role_are_denied(results: Results, scenario: Scenario) -> None:
    """Reading secrets or pods and deleting the Deployment are forbidden under the default preset."""
    outcome = results.denied[scenario.name]
    assert outcome.run.returncode != 0, outcome.explain()
    assert outcome.denials and "Forbidden" in outcome.run.stderr, outcome.explain()
    assert not outcome.effect_error, f"the denied command changed something: {outcome.explain()}"


# -- the role identity: an assumed-role session --------------------------------------------------


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_the_role_session_runs_every_command(results: Results, mode: str, scenario: Scenario) -> None:
    """With identity github-actions, the job's assumed-role session (aws eks get-token with AWS_SESSION_TOKEN)
    runs every deploy/rollback command in both client modes, with its effect."""
    outcome = results.role_allowed[(mode, scenario.name)]
    assert outcome.works, outcome.explain()


def test_the_role_session_is_the_mapped_user(results: Results) -> None:
    """Every request of the session is authenticated as the role's mapped Kubernetes user (through the
    path-stripped mapRoles entry the provider wrote), none is 401."""
    outcomes = list(results.role_allowed.values())
    assert {r.user for o in outcomes for r in o.run.requests} == {results.accesses[ROLE].username}
    assert 401 not in {r.status for o in outcomes for r in o.run.requests}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_the_role_session_is_denied_in_another_namespace(results: Results, scenario: Scenario) -> None:
    """The same commands in another team's namespace are all answered 403 for the role too."""
    outcome = results.role_other_namespace[scenario.name]
    assert outcome.run.returncode != 0, outcome.explain()
    assert all(r.status == 403 for r in outcome.run.api_requests()), outcome.explain()


@pytest.mark.parametrize("scenario", DENIED, ids=lambda s: s.name)
def test_the_role_session_is_denied_outside_the_role(results: Results, scenario: Scenario) -> None:
    """Secrets, pods and delete stay forbidden for the role's session."""
    outcome = results.role_denied[scenario.name]
    assert outcome.run.returncode != 0 and outcome.denials, outcome.explain()
    assert not outcome.effect_error, outcome.explain()


def test_a_session_of_another_role_is_refused(results: Results) -> None:
    """A session of a role that aws-auth does not map gets 401 on every request, and changes nothing."""
    outcome = results.other_role
    assert outcome is not None
    assert outcome.run.returncode != 0, outcome.explain()
    statuses = {r.status for r in outcome.run.requests}
    assert statuses == {401}, outcome.explain()
    assert not outcome.effect_error, outcome.explain()
