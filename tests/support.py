"""What several test modules share: the recipe and the programs they run, the stand-in API server's handle, and the
cluster tier's kubectl helpers. Fixtures are in the ``conftest.py`` files; doubles and local infrastructure are in
``testbed/``. No test module imports another: what two of them need lives here.
"""

from __future__ import annotations

import copy
import json
import runpy
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pulumi
import pulumi_kubernetes as k8s
import pytest
import yaml
from kubernetes_validate.utils import all_versions

from eks_cicd_access import EksCicdAccess, EksCicdAccessArgs
from eks_cicd_access.kubeconfig import build_kubeconfig
from eks_cicd_access.rbac import RoleRule
from testbed.apiserver.server import KubeApiServer
from testbed.aws_auth_seed import ADMIN_TOKEN, MAP_ACCOUNTS, NODE_ROLES, OTHER_USERS
from testbed.contention import AWS_AUTH_PATH, OUR_AGENT, aws_auth_writes
from testbed.controlplane.fixture import ControlPlane
from testbed.mocks import Registration, Stack
from testbed.names import ACCOUNT, CLUSTER_NAME
from testbed.provider_host import ProviderHost, State, from_struct

ROOT = Path(__file__).resolve().parent.parent
DEV = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
#: Oldest minor checked: EKS's extended support reaches back about this far.
OLDEST = (1, 29)
USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/ci-smoke"
#: How long a controller may take to act on a busy machine.
SETTLE = 90.0


@dataclass
class ApiServer:
    """The stand-in API server (``testbed/apiserver``), its deployer's kubeconfig, and a provider host to run the
    AwsAuthEntry provider with."""

    server: KubeApiServer
    host: ProviderHost

    @property
    def kubeconfig(self) -> str:
        """The deployer's kubeconfig (system:masters), as a program would pass it."""
        return self.server.kubeconfig(ADMIN_TOKEN)

    def aws_auth(self) -> dict[str, Any]:
        """The stored kube-system/aws-auth ConfigMap."""
        found = self.server.configmap("kube-system", "aws-auth")
        assert found is not None, "kube-system/aws-auth does not exist"
        return found

    def writes(self) -> list[str]:
        """The ConfigMap writes the server answered, e.g. ``["update configmaps aws-auth -> 409"]``."""
        return [
            r.describe()
            for r in self.server.requests
            if r.attributes.resource == "configmaps" and r.attributes.verb in ("create", "update")
        ]


RECIPE: dict[str, Any] = {
    "cluster_name": "my-cluster-1",
    "namespace": "my-test-ns",
    "iam_user_name": "my-test-iam-user",
    "iam_policy_name": "EKS_CICD_User_Policy",
    "kubernetes_username": "my-test-user",
    "kubernetes_groups": ["my-test-role"],
    "role_name": "my-test-role",
    "role_binding_name": "my-test-user-role-binding",
}


ENTRY = "pulumi-python:dynamic/eks-cicd-access:AwsAuthEntry"


def deploy(stack, **overrides):
    """Create the component with the recipe's names (an override of None removes one); return its outputs."""

    def program():
        provider = k8s.Provider("cluster", kubeconfig="{}")
        args: Any = {k: v for k, v in {**RECIPE, **overrides}.items() if v is not None}
        access = EksCicdAccess("ci", args, pulumi.ResourceOptions(providers=[provider]))
        return {key: getattr(access, key) for key in OUTPUTS}

    return stack.run(program)


PROJECT = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())


EXPORTS = {
    "accessKeyId",
    "secretAccessKey",
    "encryptedSecretAccessKey",
    "accessKeys",
    "iamUserArn",
    "iamUserName",
    "iamRoleArn",
    "principalArn",
    "iamPolicyArn",
    "namespace",
    "roleName",
    "kubernetesUsername",
    "kubeconfig",
    "identityMapping",
}


def stack_config(overrides=None, stack_file=DEV):
    """Config as the CLI hands it to the program: Pulumi.yaml defaults, then the stack file, as strings."""
    values = {f"eks-cicd-access:{k}": v["default"] for k, v in PROJECT["config"].items() if "default" in v}
    values.update(stack_file)
    values.update(overrides or {})
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}


def run_program(stack, monkeypatch, config):
    """Run __main__.py with ``config``; return its exports as {name: (value, is_secret)}."""
    pulumi.runtime.set_all_config(config)
    exports: dict[str, Any] = {}
    monkeypatch.setattr(pulumi, "export", lambda name, value: exports.__setitem__(name, value))

    def program():
        runpy.run_path(str(ROOT / "__main__.py"))
        return exports

    try:
        return stack.run(program)
    finally:
        pulumi.runtime.set_all_config({})


VERSIONS = sorted(
    {v for v in all_versions() if tuple(int(p) for p in v.split(".")[:2]) >= OLDEST},
    key=lambda v: tuple(int(p) for p in v.split(".")),
)


def rendered_objects(stack, apiserver, **overrides: Any) -> list[dict[str, Any]]:
    """Namespace, Role, RoleBinding, and aws-auth as it stands once the entry's provider has written it."""
    args: Any = {
        "cluster_name": "my-cluster-1",
        "namespace": "my-test-ns",
        "kubernetes_groups": ["my-test-role"],
        "kubeconfig": apiserver.kubeconfig,
        **overrides,
    }
    stack.run(lambda: {"ns": EksCicdAccess("ci", args, pulumi.ResourceOptions()).namespace})
    objects = [
        stack.one(type_token).inputs
        for type_token in (
            "kubernetes:core/v1:Namespace",
            "kubernetes:rbac.authorization.k8s.io/v1:Role",
            "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
        )
    ]
    entry = stack.one(ENTRY)
    apiserver.host.up(entry.urn, from_struct(entry.raw))
    return [*objects, apiserver.aws_auth()]


#: Keys STS "knows" (registered with the webhook): a user's, an assumed-role session's, an unmapped user's.
USER = {"AWS_ACCESS_KEY_ID": "AKIASMOKETESTUSER001", "AWS_SECRET_ACCESS_KEY": "smoke/user/secret/EXAMPLE"}


#: aws-auth's entries for the smoke user and role (the ``ci`` fixture writes them).
CI_MAP_USERS = [{"userarn": USER_ARN, "username": "ci-smoke", "groups": ["ci-smoke-group"]}]


#: What kubectl says on a 401.
UNAUTHORIZED = "error: You must be logged in to the server"


#: kube-apiserver caches each successful token authentication this long (TokenSuccessCacheTTL, no flag).
TOKEN_CACHE = 10.0


def wait_for(what: str, check: Callable[[], Any], timeout: float = SETTLE) -> Any:
    """Poll ``check`` until it returns something truthy (bounded); return it."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.25)


def ci_kubeconfig(control_plane: ControlPlane, cluster_name: str = CLUSTER_NAME) -> str:
    """The component's kubeconfig for ``cluster_name`` (exec ``aws eks get-token``), pointed at the control plane."""
    component = build_kubeconfig(
        cluster_name=cluster_name,
        cluster_arn=f"arn:aws:eks:us-east-1:{ACCOUNT}:cluster/{cluster_name}",
        endpoint="https://0123456789ABCDEF.gr7.us-east-1.eks.amazonaws.com",
        certificate_authority_data="bm90IHRoaXMgY2x1c3Rlcidz",
    )
    return control_plane.ci_kubeconfig(component)


AWS_AUTH = "/api/v1/namespaces/kube-system/configmaps/aws-auth"


def self_subject_review(control_plane: ControlPlane, token: str) -> dict[str, Any]:
    """Who the API server takes ``token`` for (``kubectl auth whoami``)."""
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    return control_plane.api("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", review, token=token)


def register(stack: Stack, apiserver: ApiServer, names: list[str], **overrides: Any) -> list[Registration]:
    """One program with an EksCicdAccess per name (user ``name``, namespace ``name``; an override of None
    removes an argument); their entries."""

    def program() -> None:
        for name in names:
            args: Any = {
                "cluster_name": "my-cluster-1",
                "namespace": name,
                "iam_user_name": name,
                "kubeconfig": apiserver.kubeconfig,
                **overrides,
            }
            EksCicdAccess(name, cast(EksCicdAccessArgs, {k: v for k, v in args.items() if v is not None}))

    stack.monitor.registrations.clear()
    stack.run(program)
    by_name = {r.name: r for r in stack.of_type(ENTRY)}
    return [by_name[f"{name}-aws-auth-entry"] for name in names]


def inputs(registration: Registration) -> dict[str, Any]:
    """The entry's inputs as the engine holds them (unknowns kept)."""
    return from_struct(registration.raw)


def up(apiserver: ApiServer, registration: Registration, state: State | None = None) -> State:
    return apiserver.host.up(registration.urn, inputs(registration), state)


def at_once(jobs: Sequence[Callable[[], Any]]) -> list[Any]:
    """Run ``jobs`` in threads of their own, released together; their results, in order."""
    start = threading.Barrier(len(jobs))

    def run(job: Callable[[], Any]) -> Any:
        start.wait()
        return job()

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(run, jobs))


def map_users(apiserver: ApiServer) -> list[dict[str, Any]]:
    return list(yaml.safe_load(apiserver.aws_auth()["data"]["mapUsers"]) or [])


def mapped(apiserver: ApiServer) -> list[str]:
    """The ARNs mapUsers maps, in order."""
    return [e["userarn"] for e in map_users(apiserver)]


def foreign_untouched(apiserver: ApiServer, map_users_prefix: str = OTHER_USERS) -> None:
    """Node roles and accounts are byte-identical; the other teams' users keep their exact text."""
    data = apiserver.aws_auth()["data"]
    assert data["mapRoles"] == NODE_ROLES
    assert data["mapAccounts"] == MAP_ACCOUNTS
    assert data["mapUsers"].startswith(map_users_prefix)


def register_roles(stack: Stack, apiserver: ApiServer, names: list[str], path: str = "/ci/") -> list[Registration]:
    """Components with the github-actions identity (role ``name`` under ``path``)."""
    return register(
        stack,
        apiserver,
        names,
        identity="github-actions",
        oidc_subjects=["repo:acme/web:environment:production"],
        iam_role_path=path,
        iam_user_name=None,
    )


OUTPUTS = [
    "iam_user_name",
    "iam_user_arn",
    "iam_role_arn",
    "principal_arn",
    "iam_policy_arn",
    "access_key_id",
    "secret_access_key",
    "encrypted_secret_access_key",
    "access_keys",
    "namespace",
    "role_name",
    "kubernetes_username",
    "kubeconfig",
    "identity_mapping",
]


ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/ci-smoke-role"


SESSION = {
    "AWS_ACCESS_KEY_ID": "ASIASMOKETESTROLE001",
    "AWS_SECRET_ACCESS_KEY": "smoke/role/secret/EXAMPLE",
    "AWS_SESSION_TOKEN": "IQoJb3JpZ2luSMOKE-session-token",
}


STRANGER = {"AWS_ACCESS_KEY_ID": "AKIASMOKETESTNOBODY1", "AWS_SECRET_ACCESS_KEY": "smoke/nobody/secret/EXAMPLE"}


CI_MAP_ROLES = [{"rolearn": ROLE_ARN, "username": "ci-smoke-role", "groups": ["ci-smoke-group"]}]


def tier_marker(conftest: str, marker: str) -> Callable[[list[pytest.Item]], None]:
    """The ``pytest_collection_modifyitems`` hook for a tier's ``conftest.py``: every test under that folder gets the
    tier's marker, before ``-m`` selects (``tryfirst``), so the folder decides the tier."""
    folder = Path(conftest).resolve().parent

    @pytest.hookimpl(tryfirst=True)
    def mark(items: list[pytest.Item]) -> None:
        for item in items:
            if folder in item.path.resolve().parents:
                item.add_marker(getattr(pytest.mark, marker))

    return mark


@dataclass
class RealApiServer:
    """The real API server, with the methods the helpers above use of ``ApiServer`` (``kubeconfig``, ``host``,
    ``aws_auth``, ``writes``)."""

    plane: ControlPlane
    host: ProviderHost
    #: Audit log position from which ``writes`` counts.
    mark: int = 0

    @property
    def kubeconfig(self) -> str:
        """The admin's kubeconfig (client certificate, system:masters), as the program passes it."""
        return self.plane.admin_kubeconfig

    def aws_auth(self) -> dict[str, Any]:
        """kube-system/aws-auth as the API server returns it now."""
        return self.plane.api("GET", AWS_AUTH_PATH)

    def version(self) -> str:
        return str(self.aws_auth()["metadata"]["resourceVersion"])

    def writes(self, agent: str = OUR_AGENT) -> list[str]:
        """aws-auth writes by ``agent`` since ``mark`` (audit log), e.g. ``"update configmaps aws-auth -> 409"``."""
        return aws_auth_writes(self.plane, self.mark, agent)

    def conflicts(self, agent: str = OUR_AGENT) -> int:
        return sum(1 for w in self.writes(agent) if w.endswith("-> 409"))

    @property
    def as_apiserver(self) -> ApiServer:
        """Itself, for helpers typed with the stand-in's ``ApiServer`` (they use ``kubeconfig``, ``host``,
        ``aws_auth``)."""
        return cast(ApiServer, self)


def without_verb(preset: Sequence[RoleRule], resource: str, verb: str) -> list[RoleRule]:
    """``preset``'s rules with ``verb`` removed from ``resource`` only (a rule left with no verbs is dropped): the
    Role of a "each verb is needed" proof."""
    rules: list[RoleRule] = []
    for rule in copy.deepcopy(list(preset)):
        if resource in rule["resources"] and verb in rule["verbs"]:
            others = [r for r in rule["resources"] if r != resource]
            if others:
                rules.append({**rule, "resources": others, "verbs": list(rule["verbs"])})
            rule["resources"], rule["verbs"] = [resource], [v for v in rule["verbs"] if v != verb]
        if rule["verbs"]:
            rules.append(rule)
    return rules
