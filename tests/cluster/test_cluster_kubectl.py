"""Least privilege that still works, decided by the real Kubernetes: real kubectl on the real control plane.

The commands, their seeds and checks, the component rendering and the
identities are in ``tests/kubectl_commands.py``; they run against
``testbed/controlplane`` (kube-apiserver v1.37.2 with RBAC, our STS
webhook mapping callers through the real ``aws-auth``, the real deployment
controller and kwok pods). Each command gets a fresh namespace holding the
component's Role and RoleBinding (applied as the admin), and a Deployment
seeded "as if earlier deploys had happened" by the admin through the real
controller. kubectl runs with the component's kubeconfig (only server and CA
swapped), exec'ing the real ``aws eks get-token``; the requests it made are
its audit events (``tests/kubectl_table.py``). The table goes to
the terminal summary.

Every identity (the IAM user, the OIDC role's session, the existing role and
user) is mapped to the same Kubernetes user; another namespace is tried with
the default preset in both client modes, and for the role session and the
existing role and user.

``pytest -m cluster tests/cluster/test_cluster_kubectl.py`` (a few minutes).
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, cast

import pytest
import yaml
from kubernetes.client import AppsV1Api

from testbed.aws_auth_seed import MAP_ACCOUNTS, NODE_ROLES, OTHER_USERS
from testbed.clients import MODES
from testbed.controlplane.fixture import NEVER_READY_IMAGE, ApiError, ControlPlane, KubectlRun
from testbed.provider_host import ProviderHost
from testbed.workload import LAST_APPLIED
from tests.kubectl_commands import (
    DENIED,
    EXPECTED_ENTRY,
    FILES,
    IGNORED_DENIALS,
    KEYS,
    NAMESPACE,
    OTHER_NAMESPACE,
    OTHER_SESSION,
    PROGRESSING,
    REMOVALS,
    REVISION,
    ROLE,
    SCENARIOS,
    SET_IMAGE,
    UNMAPPED,
    Access,
    Job,
    MadeElsewhere,
    Scenario,
    access_for,
    make_in_moto,
    render,
    step,
    without,
)
from tests.kubectl_table import describe, in_namespace, is_resource, publish, requests_text, status
from tests.support import AWS_AUTH, TOKEN_CACHE, UNAUTHORIZED, self_subject_review, wait_for

KINDS = ("role", "user")
#: Jobs at once (each seeds, runs kubectl, deletes its namespace): at most this many Deployments of 3 pods
#: live on the kwok node (it holds 110), and kubectl (and aws) runs at most this many times at once.
WORKERS = 10
OTHER_NAMESPACE_LABEL = "<another>"
#: Runs the AwsAuthEntry provider as the Pulumi engine's dynamic-provider host does.
HOST = ProviderHost()


#: ``set image`` with a key STS no longer knows: the Deployment must stay as it was (as for an unmapped role).
DROPPED = replace(UNMAPPED, name="set image (dropped key)")


# -- the Deployments, as the admin sees them ---------------------------------------------------


class RealDeployments:
    """The commands' seeds and checks (``commands.Deployments``), done on the real control plane as the admin.

    Earlier deploys are writes with kubectl's own field managers: ``kubectl-client-side-apply`` for a
    manifest carrying the last-applied annotation, else a server-side apply as ``kubectl``, so that
    ``apply --server-side`` meets its own fields (a Deployment written by another manager would
    conflict, as it does on a real cluster). Each write waits for the real deployment controller to
    record its revision; a seed waits for the rollout to finish.
    """

    def __init__(self, plane: ControlPlane) -> None:
        self.plane = plane
        self.apps = AppsV1Api(plane.api_client())
        self._manifests: dict[tuple[str, str], dict[str, Any]] = {}

    def _path(self, namespace: str, name: str) -> str:
        return f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}"

    def _write(self, manifest: dict[str, Any], image: str | None = None) -> None:
        meta = manifest["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        obj = copy.deepcopy(manifest)
        if image is not None:
            obj["spec"]["template"]["spec"]["containers"][0]["image"] = image
        client_side = LAST_APPLIED in (meta.get("annotations") or {})
        if client_side and (namespace, name) not in self._manifests:
            self.apps.create_namespaced_deployment(namespace, cast(Any, obj), field_manager="kubectl-client-side-apply")
        elif client_side:
            applied = copy.deepcopy(obj)
            del applied["metadata"]["annotations"]
            obj["metadata"]["annotations"] = {LAST_APPLIED: json.dumps(applied)}
            self.apps.patch_namespaced_deployment(
                name,
                namespace,
                obj,
                field_manager="kubectl-client-side-apply",
                _content_type="application/merge-patch+json",
            )
        else:
            self.apps.patch_namespaced_deployment(
                name, namespace, obj, field_manager="kubectl", force=True, _content_type="application/apply-patch+yaml"
            )
        self._manifests[(namespace, name)] = obj

    def _revision(self, namespace: str, name: str) -> int:
        found = self.get("deployments", namespace, name)
        assert found is not None
        return int(found["metadata"].get("annotations", {}).get(REVISION, 0))

    def _wait_revision(self, namespace: str, name: str, revision: int) -> None:
        wait_for(f"{namespace}/{name} at revision {revision}", lambda: self._revision(namespace, name) == revision)

    def seed_deployment(self, manifest: Mapping[str, Any], *images: str) -> None:
        """Create the Deployment, then roll it through ``images`` (one revision each), then let it finish."""
        namespace, name = manifest["metadata"]["namespace"], manifest["metadata"]["name"]
        self._write(dict(manifest))
        self._wait_revision(namespace, name, 1)
        for revision, image in enumerate(images, 2):
            self._write(self._manifests[(namespace, name)], image)
            self._wait_revision(namespace, name, revision)
        wait_for(f"{namespace}/{name} rolled out", lambda: self._rolled_out(namespace, name))

    def seed_progressing(self, namespace: str, name: str) -> None:
        """Start a rollout that stays in progress: its pods run ``NEVER_READY_IMAGE`` (kwok never makes
        them Ready)."""
        revision = self._revision(namespace, name)
        self._write(self._manifests[(namespace, name)], NEVER_READY_IMAGE)
        self._wait_revision(namespace, name, revision + 1)

    def _rolled_out(self, namespace: str, name: str) -> bool:
        obj = self.get("deployments", namespace, name)
        assert obj is not None
        s = obj.get("status", {})
        counts = {s.get(k) for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas")}
        return counts == {obj["spec"]["replicas"]}

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        """The object once the controller has seen its latest spec (``None`` if it does not exist)."""
        assert resource == "deployments", resource

        def settled() -> tuple[dict[str, Any] | None] | None:
            try:
                obj = self.plane.api("GET", self._path(namespace, name))
            except ApiError as error:
                if error.status == 404:
                    return (None,)
                raise
            seen = obj.get("status", {}).get("observedGeneration", 0) >= obj["metadata"]["generation"]
            return (obj,) if seen else None

        found: tuple[dict[str, Any] | None] = wait_for(f"{namespace}/{name} seen by the controller", settled)
        return found[0]


# -- one command on the real control plane --------------------------------------------------------


@dataclass
class Prepared:
    """A job with its namespaces made: ``namespace`` where the command runs, ``home`` holding the Role."""

    job: Job
    namespace: str
    home: str


@dataclass
class RealOutcome:
    prepared: Prepared
    run: KubectlRun
    #: No other kubectl ran meanwhile: every kubectl request of the window (discovery too) is this one's.
    alone: bool
    effect_error: str = ""

    @property
    def scenario(self) -> Scenario:
        return self.prepared.job.scenario

    @property
    def namespace(self) -> str:
        return self.prepared.namespace

    @property
    def requests(self) -> list[Mapping[str, Any]]:
        """This command's requests: all of the window's if it ran alone, else those in its namespace."""
        return [e for e in self.run.requests if self.alone or in_namespace(e, self.namespace)]

    @property
    def resource_requests(self) -> list[Mapping[str, Any]]:
        return [e for e in self.requests if is_resource(e)]

    @property
    def denials(self) -> list[Mapping[str, Any]]:
        """Requests answered 403 that kubectl does not simply ignore."""
        return [
            e
            for e in self.resource_requests
            if status(e) == 403 and (e.get("verb"), e["objectRef"].get("resource")) not in IGNORED_DENIALS
        ]

    @property
    def works(self) -> bool:
        ended = self.run.returncode == 0 or self.scenario.name == PROGRESSING
        return ended and not self.effect_error and not self.denials

    def requests_text(self) -> str:
        text = requests_text(self.requests, IGNORED_DENIALS, discovery=self.alone)
        return text.replace(self.namespace, NAMESPACE)

    def explain(self) -> str:
        job = self.prepared.job
        return (
            f"{self.scenario.name} [{job.preset}, {job.mode}, -n {self.namespace}] rc={self.run.returncode}\n"
            f"requests: {self.requests_text()}\neffect: {self.effect_error or 'ok'}\n"
            f"stdout: {self.run.stdout}\nstderr: {self.run.stderr[-2000:]}"
        )


def _fresh_namespace(plane: ControlPlane) -> str:
    name = f"ck-{uuid.uuid4().hex[:10]}"
    plane.api("POST", "/api/v1/namespaces", {"metadata": {"name": name}})
    return name


def _grant(plane: ControlPlane, access: Access, namespace: str) -> None:
    """Apply the component's Role and RoleBinding into ``namespace``; wait until RBAC knows them."""
    rbac = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}"
    for kind, objs in (("roles", access.roles), ("rolebindings", access.bindings)):
        for obj in objs:
            obj = copy.deepcopy(obj)
            obj["metadata"]["namespace"] = namespace
            plane.api("POST", f"{rbac}/{kind}", obj)
    rule = access.roles[0]["rules"][0]
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": access.username,
            "resourceAttributes": {
                "namespace": namespace,
                "verb": rule["verbs"][0],
                "group": rule["apiGroups"][0],
                "resource": rule["resources"][0],
            },
        },
    }

    def allowed() -> bool:
        answer = plane.api("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", review)
        return bool(answer["status"].get("allowed"))

    wait_for(f"RBAC allows {access.username} in {namespace}", allowed)


def prepare(cluster: RealDeployments, job: Job) -> Prepared:
    """A fresh namespace (and, for another namespace, a second one holding the Role), seeded."""
    plane = cluster.plane
    namespace = _fresh_namespace(plane)
    home = namespace if job.namespace == NAMESPACE else _fresh_namespace(plane)
    _grant(plane, job.access, home)
    job.scenario.seed(cluster, namespace)
    return Prepared(job, namespace, home)


def run_prepared(cluster: RealDeployments, prepared: Prepared, *, alone: bool) -> RealOutcome:
    """Run the command with the component's kubeconfig pointed at the control plane; check its effect."""
    job, plane = prepared.job, cluster.plane
    run = plane.kubectl(
        ["--namespace", prepared.namespace, *job.scenario.args],
        kubeconfig=plane.ci_kubeconfig(job.access.kubeconfig),
        credentials=job.credentials or job.access.credentials,
        env=MODES[job.mode],
        files=FILES,
    )
    outcome = RealOutcome(prepared, run, alone)
    try:
        job.scenario.check(cluster, prepared.namespace, run)
    except AssertionError as error:
        outcome.effect_error = str(error)
    return outcome


def clean_up(cluster: RealDeployments, prepared: Prepared) -> None:
    """Delete the job's namespaces (their pods with them: the kwok node holds 110 pods)."""
    for namespace in {prepared.namespace, prepared.home}:
        cluster.plane.api("DELETE", f"/api/v1/namespaces/{namespace}")


def prepare_all(cluster: RealDeployments, jobs: Sequence[Job]) -> list[Prepared]:
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(lambda job: prepare(cluster, job), jobs))


def one(cluster: RealDeployments, job: Job) -> RealOutcome:
    """Prepare, run (among others) and clean up one job."""
    prepared = prepare(cluster, job)
    try:
        return run_prepared(cluster, prepared, alone=False)
    finally:
        clean_up(cluster, prepared)


# -- the component's identities, mapped in the real aws-auth ----------------------------------------


@dataclass
class Setup:
    plane: ControlPlane
    cluster: RealDeployments
    accesses: dict[str, Access]
    made: dict[str, MadeElsewhere]

    def aws_auth(self) -> dict[str, list[dict[str, Any]]]:
        data = self.plane.api("GET", AWS_AUTH)["data"]
        return {key: yaml.safe_load(data.get(key) or "[]") for key in KEYS}


@pytest.fixture(scope="module")
def setup(control_plane: ControlPlane) -> Iterator[Setup]:
    """Every identity's AwsAuthEntry written to the real aws-auth by the component's own provider (as the
    admin); STS (the webhook) knows their keys. aws-auth and STS are put back as they were afterwards."""
    plane = control_plane
    made = make_in_moto()
    accesses = {
        "deploy-rollback": render("deploy-rollback"),
        "recipe": render("recipe"),
        ROLE: render("deploy-rollback", ROLE),
        **{kind: access_for(made[kind]) for kind in KINDS},
        **{name: render(without(*where)) for name, where in REMOVALS.items()},
    }
    before = plane.aws_auth_data()
    if before is None:
        others = {"mapRoles": NODE_ROLES, "mapUsers": OTHER_USERS, "mapAccounts": MAP_ACCOUNTS}
        body = {"metadata": {"name": "aws-auth"}, "data": others}
        plane.api("POST", "/api/v1/namespaces/kube-system/configmaps", body)
    added: set[str] = set()
    written: set[tuple[str, str]] = set()
    for access in accesses.values():
        urn, inputs = access.entry
        if (inputs["key"], inputs["arn"]) not in written:
            HOST.up(urn, {**inputs, "kubeconfig": plane.admin_kubeconfig})
            written.add((inputs["key"], inputs["arn"]))
        added |= set(access.principals) - set(plane.principals)
        plane.principals.update(access.principals)
    found = Setup(plane, RealDeployments(plane), accesses, made)
    try:
        yield found
    finally:
        for key in added:
            plane.principals.pop(key, None)
        if before is None:
            plane.api("DELETE", AWS_AUTH)
        else:
            now = plane.api("GET", AWS_AUTH).get("data") or {}
            plane.api("PATCH", AWS_AUTH, {"data": {k: before.get(k) for k in {*before, *now}}})


# -- running everything ------------------------------------------------------------------------------


#: Which results a job's outcome goes to: (group, preset or identity, mode, command).
Key = tuple[str, str, str, str]


@dataclass
class Results:
    setup: Setup
    outcomes: dict[Key, RealOutcome] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def group(self, name: str) -> dict[Key, RealOutcome]:
        return {k: o for k, o in self.outcomes.items() if k[0] == name}

    def removals(self, removal: str) -> list[RealOutcome]:
        return [o for (g, p, _, _), o in self.outcomes.items() if g == "removal" and p == removal]


def _jobs(accesses: Mapping[str, Access]) -> list[tuple[Key, Job]]:
    """Every job but the default preset's table (run alone) and the removals' second mode."""
    watch_list = next(iter(MODES))
    jobs: list[tuple[Key, Job]] = []

    def add(group: str, preset: str, mode: str, scenario: Scenario, **kw: Any) -> None:
        jobs.append(((group, preset, mode, scenario.name), Job(scenario, preset, accesses[preset], mode, **kw)))

    for mode in MODES:
        for s in SCENARIOS:
            add("allowed", "recipe", mode, s)
            add("other-namespace", "deploy-rollback", mode, s, namespace=OTHER_NAMESPACE)
            add("allowed", ROLE, mode, s)
            for kind in KINDS:
                add("allowed", kind, mode, s)
    for s in SCENARIOS:
        for removal in REMOVALS:
            add("removal", removal, watch_list, s)
        for identity in (ROLE, *KINDS):
            add("other-namespace", identity, watch_list, s, namespace=OTHER_NAMESPACE)
    for s in DENIED:
        add("denied", "deploy-rollback", watch_list, s)
        add("denied", ROLE, watch_list, s)
    return jobs


@pytest.fixture(scope="module")
def results(setup: Setup, request: pytest.FixtureRequest) -> Iterator[Results]:
    """Each command once per preset, identity and client mode, in our namespace and another; once per removed
    verb; the default preset's commands alone (their whole request list)."""
    cluster, accesses = setup.cluster, setup.accesses
    results = Results(setup)
    started = time.monotonic()
    default = [
        (("allowed", "deploy-rollback", mode, s.name), Job(s, "deploy-rollback", accesses["deploy-rollback"], mode))
        for mode in MODES
        for s in SCENARIOS
    ]
    unmapped = (("unmapped", ROLE, "watch-list", UNMAPPED.name), Job(UNMAPPED, ROLE, accesses[ROLE], "watch-list"))
    unmapped = (unmapped[0], replace(unmapped[1], credentials=OTHER_SESSION))
    others = _jobs(accesses)
    # The default preset's commands and the unmapped session, one at a time: every request is theirs.
    # (Seeded a dozen at a time: every Deployment's pods take room on the kwok node.)
    for batch in (default[: len(SCENARIOS)], [*default[len(SCENARIOS) :], unmapped]):
        for (key, _), prepared in zip(batch, prepare_all(cluster, [job for _, job in batch]), strict=True):
            results.outcomes[key] = run_prepared(cluster, prepared, alone=True)
            clean_up(cluster, prepared)
    results.seconds["alone"] = time.monotonic() - started

    # The rest at once, each in its namespace.
    mark = time.monotonic()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for key, outcome in zip([k for k, _ in others], pool.map(lambda kj: one(cluster, kj[1]), others), strict=True):
            results.outcomes[key] = outcome
        # Each removal ran in the default client mode; those that broke nothing run again in the other.
        second = list(MODES)[1]
        unbroken = [r for r in REMOVALS if all(o.works for o in results.removals(r))]
        again = [(("removal", r, second, s.name), Job(s, r, accesses[r], second)) for r in unbroken for s in SCENARIOS]
        for key, outcome in zip([k for k, _ in again], pool.map(lambda kj: one(cluster, kj[1]), again), strict=True):
            results.outcomes[key] = outcome
    results.seconds["together"] = time.monotonic() - mark
    publish(request.config, report(results))
    yield results


def report(results: Results) -> list[str]:
    """The real tables: command -> requests (from the audit log) -> allowed/denied; and what each removed verb
    breaks."""
    lines = [f"timings: {', '.join(f'{k} {v:.0f} s' for k, v in results.seconds.items())}"]
    for preset in ("deploy-rollback", "recipe", ROLE, *KINDS):
        for mode in MODES:
            lines += ["", f"{preset!r}, client mode {mode}, namespace {NAMESPACE}:"]
            for s in SCENARIOS:
                o = results.outcomes[("allowed", preset, mode, s.name)]
                lines.append(f"  {s.name:31} {'allowed' if o.works else 'FAILED':8} {o.requests_text()}")
    lines += ["", "denied / refused:"]
    for (group, preset, mode, name), o in results.outcomes.items():
        if group in ("denied", "other-namespace", "unmapped"):
            where = f" -n {OTHER_NAMESPACE_LABEL}" if group == "other-namespace" else ""
            verdict = "denied" if o.run.returncode and o.denials else "NOT DENIED"
            if group == "unmapped":
                verdict = "refused" if o.run.returncode and {status(e) for e in o.requests} == {401} else "NOT REFUSED"
            lines.append(f"  {preset:16} {name + where:40} {verdict:10} [{mode}] {o.requests_text()}")
    lines += ["", "each verb of the default preset removed in turn -> commands that break (real RBAC):"]
    for removal in REMOVALS:
        lines.append(f"  without {removal}:")
        broken = [o for o in results.removals(removal) if not o.works]
        for o in broken:
            cause = ", ".join(describe(e) for e in o.denials) or f"rc={o.run.returncode} {o.effect_error}"
            lines.append(f"    {o.scenario.name:31} [{o.prepared.job.mode}] {cause}")
        if not broken:
            lines.append("    NOTHING BREAKS")
    return lines


# -- the claims ------------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["deploy-rollback", "recipe"])
@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_every_deploy_and_rollback_command_works(results: Results, preset: str, mode: str, scenario: Scenario) -> None:
    """Under each preset and client mode, real RBAC lets every deploy/rollback command through, with its effect."""
    outcome = results.outcomes[("allowed", preset, mode, scenario.name)]
    assert outcome.works, outcome.explain()


def test_every_request_is_the_mapped_ci_user(results: Results) -> None:
    """Each request is authenticated (none 401) as the aws-auth user of the CI key's IAM user, and RBAC allows
    the command's resource requests by the component's RoleBinding, nothing else."""
    access = results.setup.accesses["deploy-rollback"]
    outcomes = [
        o for (g, p, _, _), o in results.outcomes.items() if g == "allowed" and p in ("deploy-rollback", "recipe")
    ]
    requests = [e for o in outcomes for e in o.requests]
    assert {e["user"]["username"] for e in requests} == {access.username}
    assert {e["user"]["extra"]["arn"][0] for e in requests} == {p.arn for p in access.principals.values()}
    assert 401 not in {status(e) for e in requests}
    binding = access.bindings[0]["metadata"]["name"]
    reasons = {
        (e.get("annotations") or {}).get("authorization.k8s.io/reason", "").split(" of ")[0]
        for o in outcomes
        for e in o.resource_requests
        if status(e) != 403
    }
    assert reasons == {f'RBAC: allowed by RoleBinding "{binding}/{o.prepared.home}"' for o in outcomes}


@pytest.mark.parametrize("removal", list(REMOVALS))
def test_each_verb_of_the_default_preset_is_needed(results: Results, removal: str) -> None:
    """Removing any single verb from the default Role makes real RBAC refuse a request some command needs."""
    outcomes = results.removals(removal)
    broken = [o for o in outcomes if not o.works]
    assert broken, f"without {removal} every command still works: the verb is not needed"
    verb, resource = removal.split()[1], removal.split()[0]
    assert any((e["verb"], e["objectRef"]["resource"]) == (verb, resource) for o in broken for e in o.denials), (
        f"without {removal} commands broke, but not on a {verb} {resource} refused: {[o.explain() for o in broken]}"
    )


def test_a_watch_list_needs_watch_alone(results: Results) -> None:
    """Without ``list`` on deployments, kubectl 1.37's default watch-list mode still runs every command (the real
    server authorizes a watch-list with ``watch``); only list+watch mode's ``rollout status`` breaks."""
    broken = [o for o in results.removals("deployments list") if not o.works]
    assert broken, "without deployments list nothing broke"
    assert {(o.prepared.job.mode, o.scenario.name) for o in broken} == {
        ("list+watch", "rollout status"),
        ("list+watch", PROGRESSING),
    }


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_another_namespace_is_denied(results: Results, mode: str, scenario: Scenario) -> None:
    """The same commands in a namespace without the Role fail: every resource request there is answered 403."""
    outcome = results.outcomes[("other-namespace", "deploy-rollback", mode, scenario.name)]
    assert outcome.run.returncode != 0, outcome.explain()
    assert outcome.denials, f"no request was denied: {outcome.explain()}"
    assert {status(e) for e in outcome.resource_requests} == {403}, f"a request was served: {outcome.explain()}"


@pytest.mark.parametrize("identity", ["deploy-rollback", ROLE])
@pytest.mark.parametrize("scenario", DENIED, ids=lambda s: s.name)
def test_commands_outside_the_role_are_denied(results: Results, identity: str, scenario: Scenario) -> None:
    """Reading secrets or pods and deleting the Deployment are forbidden by real RBAC, and change nothing."""
    outcome = results.outcomes[("denied", identity, "watch-list", scenario.name)]
    assert outcome.run.returncode != 0, outcome.explain()
    assert outcome.denials and "Forbidden" in outcome.run.stderr, outcome.explain()
    assert not outcome.effect_error, f"the denied command changed something: {outcome.explain()}"


def test_a_session_of_another_role_is_refused(results: Results) -> None:
    """A session of a role aws-auth does not map gets 401 on every request, and changes nothing."""
    outcome = results.outcomes[("unmapped", ROLE, "watch-list", UNMAPPED.name)]
    assert outcome.run.returncode != 0 and UNAUTHORIZED in outcome.run.stderr, outcome.explain()
    assert outcome.requests and {status(e) for e in outcome.requests} == {401}, outcome.explain()
    assert not outcome.effect_error, outcome.explain()


# -- the role session and the existing principals ---------------------------------------------------


@pytest.mark.parametrize("identity", [ROLE, *KINDS])
@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_every_identity_runs_every_command(results: Results, identity: str, mode: str, scenario: Scenario) -> None:
    """The OIDC role's session (github-actions) and the existing role and user run each command, in both modes."""
    outcome = results.outcomes[("allowed", identity, mode, scenario.name)]
    assert outcome.works, outcome.explain()


def _callers(results: Results, identity: str) -> set[tuple[str, str, str]]:
    """(username, caller ARN, canonical ARN) of every request the identity's commands made."""
    outcomes = [o for (g, p, _, _), o in results.outcomes.items() if g == "allowed" and p == identity]
    requests = [e for o in outcomes for e in o.requests]
    assert requests and 401 not in {status(e) for e in requests}
    return {
        (e["user"]["username"], e["user"]["extra"]["arn"][0], e["user"]["extra"]["canonicalArn"][0]) for e in requests
    }


def test_the_role_session_maps_through_the_path_stripped_entry(results: Results) -> None:
    """The job's assumed-role session is the mapped user through the real aws-auth's mapRoles entry, which names
    the role without its IAM path (/ci/deployers/) as EKS compares it."""
    access = results.setup.accesses[ROLE]
    ((username, caller, canonical),) = _callers(results, ROLE)
    assert (username, caller) == (access.username, next(iter(access.principals.values())).arn)
    role_name = caller.split("/")[1]
    assert canonical == f"arn:aws:iam::{caller.split(':')[4]}:role/{role_name}"
    entries = [e for e in results.setup.aws_auth()["mapRoles"] if e["rolearn"].endswith(f"/{role_name}")]
    assert [(e["rolearn"], e["username"]) for e in entries] == [(canonical, access.username)], entries


@pytest.mark.parametrize("kind", KINDS)
def test_every_request_is_the_existing_principals_mapped_user(results: Results, kind: str) -> None:
    """identity existing: the role is in the real mapRoles without its path, the user in mapUsers with it; every
    request is that user, none 401."""
    made, access = results.setup.made[kind], results.setup.accesses[kind]
    key, arns = EXPECTED_ENTRY[kind]
    assert _callers(results, kind) == {(access.username, made.caller, arns[0])}
    entries = [e for e in results.setup.aws_auth()[key] if e[KEYS[key]].lower() in (made.arn.lower(), arns[0].lower())]
    assert [(e[KEYS[key]], e["username"]) for e in entries] == [(arns[0], access.username)], entries


@pytest.mark.parametrize("identity", [ROLE, *KINDS])
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_the_role_session_and_existing_principals_are_denied_in_another_namespace(
    results: Results, identity: str, scenario: Scenario
) -> None:
    """The OIDC role's session and the existing role and user: the same commands in a namespace without the Role
    fail, every resource request there answered 403."""
    outcome = results.outcomes[("other-namespace", identity, "watch-list", scenario.name)]
    assert outcome.run.returncode != 0, outcome.explain()
    assert outcome.denials, f"no request was denied: {outcome.explain()}"
    assert {status(e) for e in outcome.resource_requests} == {403}, f"a request was served: {outcome.explain()}"


def test_commands_run_alone_have_all_their_requests_in_their_namespace(results: Results) -> None:
    """The premise of running commands at once: every resource request of a command run alone names its
    namespace, so the namespace filter keeps all of a concurrent command's resource requests."""
    alone = [o for o in results.outcomes.values() if o.alone and o.resource_requests]
    assert len(alone) == 2 * len(SCENARIOS)
    strays = [describe(e) for o in alone for e in o.resource_requests if not in_namespace(e, o.namespace)]
    assert not strays, strays


# -- the rotation runbook ------------------------------------------------------------------------


def test_the_rotation_runbook(setup: Setup, request: pytest.FixtureRequest) -> None:
    """["2026-11"] -> ["2026-11", "2027-02"]: both keys deploy as the same user -> ["2027-02"]: the new key
    deploys; the old key's new tokens get 401 at once, its last token only until the API server's 10 s cache ends."""
    plane, cluster = setup.plane, setup.cluster
    sts = plane.principals
    saved = dict(sts)
    known: set[str] = set()
    lines: list[str] = []

    def stack_has(access: Access) -> None:
        """STS knows exactly the keys the stack has, as IAM would after `pulumi up`."""
        for key_id in known:
            sts.pop(key_id, None)
        known.clear()
        known.update(access.principals)
        sts.update(access.principals)

    def set_image(access: Access, label: str, key: Mapping[str, str], scenario: Scenario = SET_IMAGE) -> RealOutcome:
        credentials = {"AWS_ACCESS_KEY_ID": key["id"], "AWS_SECRET_ACCESS_KEY": key["secret"]}
        prepared = prepare(cluster, Job(scenario, label, access, "watch-list", credentials=credentials))
        try:
            outcome = run_prepared(cluster, prepared, alone=True)
        finally:
            clean_up(cluster, prepared)
        users = sorted({e["user"].get("username", "") for e in outcome.requests})
        lines.append(f"{label} key {key['id']}: rc={outcome.run.returncode} as {users}: {outcome.requests_text()}")
        return outcome

    def as_user(outcome: RealOutcome, access: Access) -> bool:
        return outcome.works and {e["user"]["username"] for e in outcome.requests} == {access.username}

    try:
        access, keys = step(["2026-11"])
        old = keys["2026-11"]
        stack_has(access)
        first = set_image(access, "1. ['2026-11']            old", old)
        assert as_user(first, access), first.explain()

        access, keys = step(["2026-11", "2027-02"])
        assert keys["2026-11"] == old, "adding a label keeps the old key"
        new = keys["2027-02"]
        stack_has(access)
        for name, key in (("old", old), ("new", new)):
            both = set_image(access, f"2. ['2026-11', '2027-02'] {name}", key)
            assert as_user(both, access), both.explain()
        last_token = plane.get_token({"AWS_ACCESS_KEY_ID": old["id"], "AWS_SECRET_ACCESS_KEY": old["secret"]})
        assert self_subject_review(plane, last_token)["status"]["userInfo"]["username"] == access.username
        accepted_at = time.monotonic()

        access, keys = step(["2027-02"])
        assert keys == {"2027-02": new}
        stack_has(access)
        if time.monotonic() - accepted_at < TOKEN_CACHE - 3:
            who = self_subject_review(plane, last_token)["status"]["userInfo"]["username"]
            lines.append(f"3. old key dropped; its last token {time.monotonic() - accepted_at:.1f} s on: {who}")
            assert who == access.username, "the API server keeps a token it accepted (10 s cache)"
        time.sleep(max(0.0, 1.2 - (time.monotonic() - accepted_at)))  # the next token is of another second
        third = set_image(access, "3. ['2027-02']            new", new)
        assert as_user(third, access), third.explain()
        dropped = set_image(access, "3. ['2027-02']            old", old, DROPPED)
        assert dropped.run.returncode != 0 and UNAUTHORIZED in dropped.run.stderr, dropped.explain()
        assert dropped.requests and {status(e) for e in dropped.requests} == {401}, dropped.explain()
        assert not dropped.effect_error, dropped.explain()

        def last_token_refused() -> bool:
            try:
                self_subject_review(plane, last_token)
            except ApiError as error:
                assert error.status == 401, error
                return True
            return False

        wait_for("the old key's last token refused", last_token_refused, timeout=TOKEN_CACHE + 5)
        lines.append(f"3. old key's last token refused {time.monotonic() - accepted_at:.1f} s after it was accepted")
    finally:
        sts.clear()
        sts.update(saved)
        publish(request.config, ["", "rotation runbook (real control plane):", *(f"  {line}" for line in lines)])
