"""The EksCicdAccess resource graph under Pulumi mocks."""

import base64
import json

import dill
import pulumi
import pytest
from pulumi.output import Unknown
from pulumi.runtime import rpc

from eks_cicd_access import EksCicdAccess
from eks_cicd_access.aws_auth.resource import AwsAuthEntryProvider
from eks_cicd_access.cluster import first_field
from eks_cicd_access.component import TYPE_TOKEN
from eks_cicd_access.kubeconfig import build_kubeconfig
from eks_cicd_access.mapping import AUTO_ROUTES, checked_access_entry_cluster, checked_cluster_name, route
from eks_cicd_access.plugin.schema import COMPONENT_SECRET_OUTPUTS
from testbed.names import ACCOUNT, CLUSTER_CA, CLUSTER_ENDPOINT, cluster_arn
from tests.support import ENTRY, OUTPUTS, deploy

USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/my-test-iam-user"

COMMON = {
    ("aws:iam/policy:Policy", "ci-policy"),
    ("aws:iam/user:User", "ci-user"),
    ("aws:iam/userPolicyAttachment:UserPolicyAttachment", "ci-policy-attachment"),
    ("aws:iam/accessKey:AccessKey", "ci-access-key-default"),
    ("kubernetes:core/v1:Namespace", "ci-namespace"),
    ("kubernetes:rbac.authorization.k8s.io/v1:Role", "ci-role"),
    ("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "ci-role-binding"),
}
GRAPHS = {
    "aws-auth": COMMON | {(ENTRY, "ci-aws-auth-entry")},
    "access-entry": COMMON | {("aws:eks/accessEntry:AccessEntry", "ci-access-entry")},
    "none": COMMON,
}


def test_the_type_token_is_fixed(stack):
    """The component's type is part of every child's URN: renaming it would replace every resource of every
    stack, so it is pinned here as a literal."""
    deploy(stack)
    component = stack.one("eks-cicd-access:index:EksCicdAccess")
    assert (
        component.urn == "urn:pulumi:dev::eks-cicd-access::pulumi:pulumi:Stack$eks-cicd-access:index:EksCicdAccess::ci"
    )
    assert TYPE_TOKEN == "eks-cicd-access:index:EksCicdAccess"


def test_key_outputs_are_outputs_even_without_a_key(stack):
    """With no key (or an OIDC identity) the key outputs are Outputs of None, so callers can always apply."""

    def program():
        users = EksCicdAccess("no-key", {"cluster_name": "my-cluster-1", "namespace": "a", "create_access_key": False})
        roles = EksCicdAccess(
            "role",
            {
                "cluster_name": "my-cluster-1",
                "namespace": "b",
                "identity": "github-actions",
                "oidc_subjects": ["repo:a/b:pull_request"],
            },
        )
        for access in (users, roles):
            for name in ("access_key_id", "secret_access_key", "encrypted_secret_access_key", "access_keys"):
                assert isinstance(getattr(access, name), pulumi.Output), name
        return {"id": users.access_key_id, "keys": roles.access_keys}

    assert stack.run(program) == {"id": (None, False), "keys": (None, True)}


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([], None),
        (None, None),
        ([{"other": 1}], None),
        ([{"authentication_mode": "API"}], "API"),
        ([{"authenticationMode": "API"}], "API"),
        ([{"authentication_mode": "API", "authenticationMode": "CONFIG_MAP"}], "API"),
        ([{"authenticationMode": "CONFIG_MAP"}, {"authenticationMode": "API"}], "CONFIG_MAP"),
    ],
)
def test_first_field_reads_either_spelling_of_the_first_item(items, expected):
    """first_field: the first item's field under the first spelling present; None when missing or empty."""
    assert first_field(items, "authentication_mode", "authenticationMode") == expected


@pytest.mark.parametrize("mode", sorted(GRAPHS))
def test_resource_graph_per_identity_mapping(stack, mode):
    """Each mode registers exactly its children, each parented to the component, named <name>-<suffix>."""
    deploy(stack, identity_mapping=mode)
    component = stack.one(TYPE_TOKEN)
    assert component.parent_type == "pulumi:pulumi:Stack"
    children = [r for r in stack.resources if r.type not in (TYPE_TOKEN, "pulumi:providers:kubernetes")]
    assert {(r.type, r.name) for r in children} == GRAPHS[mode]
    for r in children:
        assert r.parent == component.urn, f"{r.name} is not parented to the component"


def test_kubernetes_children_use_the_provider_from_opts(stack):
    """Every Kubernetes child goes to the provider passed in opts, never a default provider."""
    deploy(stack)
    provider = stack.one("pulumi:providers:kubernetes")
    kube = [r for r in stack.resources if r.type.startswith("kubernetes:")]
    assert len(kube) == 3
    for r in kube:
        assert r.provider.startswith(provider.urn + "::"), f"{r.name} uses provider {r.provider!r}"
    assert not stack.one(ENTRY).provider.startswith(provider.urn), "the aws-auth entry has its own provider"


@pytest.mark.parametrize(("scope", "resource"), [("cluster", cluster_arn()), ("any", "*")])
def test_policy_document_per_scope(stack, scope, resource):
    """The policy allows only eks:DescribeCluster, on the cluster's ARN or on "*" as asked."""
    deploy(stack, policy_resource_scope=scope)
    policy = stack.one("aws:iam/policy:Policy")
    assert policy.inputs["name"] == "EKS_CICD_User_Policy"
    document = json.loads(policy.inputs["policy"])
    assert [(s["Effect"], s["Action"], s["Resource"]) for s in document["Statement"]] == [
        ("Allow", ["eks:DescribeCluster"], resource)
    ]


def test_user_key_and_non_exclusive_attachment(stack):
    """The user gets the policy through UserPolicyAttachment and one access key, under the given names."""
    out = deploy(stack, iam_user_path="/ci/")
    user = stack.one("aws:iam/user:User")
    assert (user.inputs["name"], user.inputs["path"]) == ("my-test-iam-user", "/ci/")
    attachment = stack.one("aws:iam/userPolicyAttachment:UserPolicyAttachment")
    assert attachment.inputs == {
        "user": "my-test-iam-user",
        "policyArn": f"arn:aws:iam::{ACCOUNT}:policy/EKS_CICD_User_Policy",
    }
    assert stack.of_type("aws:iam/policyAttachment:PolicyAttachment") == []
    assert stack.one("aws:iam/accessKey:AccessKey").inputs["user"] == "my-test-iam-user"
    assert out["iam_user_arn"][0] == f"arn:aws:iam::{ACCOUNT}:user/ci/my-test-iam-user"


def test_secret_key_is_secret(stack):
    """The key outputs the plugin's schema leaves unmarked (``COMPONENT_SECRET_OUTPUTS``) are secret by value, and
    the engine is told to encrypt AccessKey.secret in state."""
    out = deploy(stack)
    assert {name for name, (_, secret) in out.items() if secret} == COMPONENT_SECRET_OUTPUTS
    assert all(out[name][0] for name in COMPONENT_SECRET_OUTPUTS), "the keys must be set"
    assert out["access_key_id"] == ("AKIAIOSFODNN7EXAMPLE", False)
    assert "secret" in stack.one("aws:iam/accessKey:AccessKey").additional_secret_outputs


def test_pgp_key_encrypts_the_secret(stack):
    """With pgp_key the key is created encrypted; the encrypted secret is an output and no plain secret exists."""
    out = deploy(stack, pgp_key="mQENBFexample")
    assert stack.one("aws:iam/accessKey:AccessKey").inputs["pgpKey"] == "mQENBFexample"
    assert out["encrypted_secret_access_key"][0] == "wcBMA-encrypted-AKIAIOSFODNN7EXAMPLE"
    assert out["secret_access_key"][0] is None


def test_no_access_key(stack):
    """create_access_key=False registers no key and exports None for both key outputs."""
    out = deploy(stack, create_access_key=False)
    assert stack.of_type("aws:iam/accessKey:AccessKey") == []
    assert out["access_key_id"][0] is None
    assert out["secret_access_key"][0] is None


def test_tags_on_every_taggable_aws_resource(stack):
    """tags reach the policy, the user and the access entry."""
    deploy(stack, identity_mapping="access-entry", tags={"team": "platform"})
    for type_token in ("aws:iam/policy:Policy", "aws:iam/user:User", "aws:eks/accessEntry:AccessEntry"):
        assert stack.one(type_token).inputs["tags"] == {"team": "platform"}, type_token


def test_namespace_is_created_and_retained(stack):
    """The namespace is created by default and retained on delete (it holds what CI deployed)."""
    out = deploy(stack)
    namespace = stack.one("kubernetes:core/v1:Namespace")
    assert namespace.inputs["metadata"]["name"] == "my-test-ns"
    assert namespace.retain_on_delete, "deleting the namespace would delete every workload in it"
    assert out["namespace"][0] == "my-test-ns"


def test_existing_namespace_is_adopted(stack):
    """create_namespace=False registers no Namespace; Role and RoleBinding still go to that namespace."""
    deploy(stack, create_namespace=False)
    assert stack.of_type("kubernetes:core/v1:Namespace") == []
    assert stack.one("kubernetes:rbac.authorization.k8s.io/v1:Role").inputs["metadata"]["namespace"] == "my-test-ns"


def test_role_and_binding_depend_on_the_namespace(stack):
    """Role and RoleBinding wait for the namespace they live in."""
    deploy(stack)
    namespace = stack.one("kubernetes:core/v1:Namespace")
    for type_token in (
        "kubernetes:rbac.authorization.k8s.io/v1:Role",
        "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
    ):
        assert namespace.urn in stack.one(type_token).dependencies, type_token


@pytest.mark.parametrize(
    ("preset", "expected"),
    [
        (
            "deploy-rollback",
            [
                {
                    "apiGroups": ["apps"],
                    "resources": ["deployments"],
                    "verbs": ["get", "list", "watch", "create", "patch"],
                },
                {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": ["list"]},
            ],
        ),
        (
            "recipe",
            [
                {
                    "apiGroups": ["extensions", "apps"],
                    "resources": [resource],
                    "verbs": ["list", "get", "create", "update", "delete", "watch", "patch"],
                }
                for resource in ("replicasets", "deployments")
            ],
        ),
    ],
)
def test_role_rules_per_preset(stack, preset, expected):
    """The Role in the namespace carries exactly the preset's rules."""
    deploy(stack, role_rules=preset)
    role = stack.one("kubernetes:rbac.authorization.k8s.io/v1:Role")
    assert role.inputs["metadata"] == {"name": "my-test-role", "namespace": "my-test-ns"}
    assert role.inputs["rules"] == expected


def test_custom_rules_reach_the_role(stack):
    """A list of rules replaces the preset, resourceNames included."""
    rules = [
        {"api_groups": ["apps"], "resources": ["deployments"], "verbs": ["get", "patch"], "resource_names": ["web"]}
    ]
    deploy(stack, role_rules=rules)
    assert stack.one("kubernetes:rbac.authorization.k8s.io/v1:Role").inputs["rules"] == [
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "patch"], "resourceNames": ["web"]}
    ]


def test_role_binding_binds_the_mapped_user_to_the_role(stack):
    """The RoleBinding's only subject is the User the IAM user maps to, and its roleRef is our Role."""
    out = deploy(stack)
    binding = stack.one("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")
    assert binding.inputs["metadata"] == {"name": "my-test-user-role-binding", "namespace": "my-test-ns"}
    assert binding.inputs["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "my-test-user"}
    ]
    assert binding.inputs["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "my-test-role",
    }
    assert (out["kubernetes_username"][0], out["role_name"][0]) == ("my-test-user", "my-test-role")


# --- aws-auth ----------------------------------------------------------------


def test_aws_auth_entry_maps_the_user(stack):
    """One AwsAuthEntry holds exactly our mapUsers entry's fields; nothing reads or patches aws-auth as a whole."""
    deploy(stack)
    entry = stack.one(ENTRY)
    assert entry.name == "ci-aws-auth-entry"
    assert {k: v for k, v in entry.inputs.items() if k not in ("kubeconfig", "__provider")} == {
        "cluster": "my-cluster-1",
        "key": "mapUsers",
        "arn": USER_ARN,
        "username": "my-test-user",
        "groups": ["my-test-role"],
    }
    assert not entry.retain_on_delete, "deleting the entry removes only our entry, so it is not retained"
    assert stack.of_type("kubernetes:core/v1:ConfigMap") == []
    assert stack.of_type("kubernetes:core/v1:ConfigMapPatch") == []


def test_aws_auth_entry_waits_for_the_user(stack):
    """The entry depends on the IAM user whose ARN it maps."""
    deploy(stack)
    assert stack.one("aws:iam/user:User").urn in stack.one(ENTRY).dependencies


def test_writer_kubeconfig_defaults_to_the_clusters_exec_kubeconfig_as_a_secret(stack):
    """Without a kubeconfig argument the writer gets the cluster's exec kubeconfig, sent and stored as a secret."""
    out = deploy(stack)
    entry = stack.one(ENTRY)
    sent = entry.inputs["kubeconfig"]
    assert rpc.is_rpc_secret(sent), "the kubeconfig must reach the engine as a secret"
    assert rpc.unwrap_rpc_secret(sent) == out["kubeconfig"][0]
    assert "kubeconfig" in entry.additional_secret_outputs


def test_writer_kubeconfig_argument_is_used_as_given(stack):
    """A kubeconfig argument (plain or Output) is what the writer gets, still as a secret."""
    given = "apiVersion: v1\nkind: Config\n"
    for value in (given, pulumi.Output.from_input(given)):
        stack.monitor.registrations.clear()
        deploy(stack, kubeconfig=value)
        sent = stack.one(ENTRY).inputs["kubeconfig"]
        assert rpc.is_rpc_secret(sent) and rpc.unwrap_rpc_secret(sent) == given


def test_the_provider_is_pickled_small_and_by_reference(stack):
    """__provider is the provider class by reference (no client, no captured state): small, and by the name every
    stack since 0.1 holds, whatever module the class lives in."""
    deploy(stack)
    serialized = stack.one(ENTRY).inputs["__provider"]
    assert not rpc.is_rpc_secret(serialized), "it captures nothing secret"
    assert len(serialized) < 200
    provider = dill.loads(base64.b64decode(serialized))
    assert type(provider) is AwsAuthEntryProvider
    assert vars(provider) == {}
    assert b"\x8c\x1eeks_cicd_access.aws_auth_entry\x94\x8c\x14AwsAuthEntryProvider" in base64.b64decode(serialized)


def test_preview_registers_the_entry_with_the_arn_unknown(stack):
    """In a preview the user's ARN is not known yet; the entry is still registered, so its check runs."""
    stack.start_preview()
    deploy(stack)
    entry = stack.one(ENTRY)
    assert isinstance(entry.inputs["arn"], Unknown), "the ARN is unknown in a preview"
    assert entry.inputs["key"] == "mapUsers"


def test_api_authentication_mode_registers_no_entry(stack):
    """A cluster in API mode fails with our message alone (a RunError: no SDK wrapping, no traceback under the
    engine), and no aws-auth entry is registered."""
    stack.mocks.authentication_mode = "API"
    with pytest.raises(
        pulumi.RunError,
        match=r"^identity_mapping='aws-auth': cluster 'my-cluster-1' uses authentication mode 'API'.*"
        r"identity_mapping='access-entry'",
    ):
        deploy(stack)
    assert stack.of_type(ENTRY) == []


@pytest.mark.parametrize("spelling", ["authenticationMode", "authentication_mode"])
def test_api_mode_is_refused_in_either_spelling(spelling):
    """getCluster's nested result may arrive keyed either way (output type or plain dict); API mode fails in both."""
    with pytest.raises(ValueError, match="authentication mode 'API'"):
        checked_cluster_name("c", [{spelling: "API"}])
    assert checked_cluster_name("c", [{spelling: "CONFIG_MAP"}]) == "c"
    assert checked_cluster_name("c", []) == "c", "no access config (older clusters): aws-auth is read"


def test_api_mode_fails_the_preview(stack):
    """The mode check runs in the preview, so an API-mode cluster fails before anything is created."""
    stack.start_preview()
    stack.mocks.authentication_mode = "API"
    with pytest.raises(pulumi.RunError, match="authentication mode 'API'"):
        deploy(stack)


# --- access entry ----------------------------------------------------------


def test_access_entry_on_a_config_map_cluster_fails_the_preview(stack):
    """identity_mapping='access-entry' on a CONFIG_MAP cluster fails already in preview, naming the field, the
    mode and the command that turns access entries on; no access entry is registered."""
    stack.start_preview()
    stack.mocks.authentication_mode = "CONFIG_MAP"
    with pytest.raises(pulumi.RunError) as raised:
        deploy(stack, identity_mapping="access-entry")
    message = str(raised.value)
    assert message.startswith("identity_mapping='access-entry'"), "the message alone, not wrapped by the SDK"
    assert "identity_mapping='access-entry': cluster 'my-cluster-1' uses authentication mode 'CONFIG_MAP'" in message
    assert (
        "aws eks update-cluster-config --name my-cluster-1 --access-config authenticationMode=API_AND_CONFIG_MAP"
        in (message)
    )
    assert stack.of_type("aws:eks/accessEntry:AccessEntry") == []


@pytest.mark.parametrize("mode", ["API", "API_AND_CONFIG_MAP", None])
def test_access_entries_are_taken_by_api_modes(mode):
    """API and API_AND_CONFIG_MAP clusters (and a cluster that reports no mode) take access entries."""
    configs = [] if mode is None else [{"authenticationMode": mode}]
    assert checked_access_entry_cluster("c", configs) == "c"


def test_access_entry_maps_the_user_and_follows_its_identity(stack):
    """The access entry maps the user's ARN to the username and groups, and is replaced when the user's id changes."""
    deploy(stack, identity_mapping="access-entry")
    entry = stack.one("aws:eks/accessEntry:AccessEntry")
    assert entry.inputs["clusterName"] == "my-cluster-1"
    assert entry.inputs["principalArn"] == USER_ARN
    assert entry.inputs["userName"] == "my-test-user"
    assert entry.inputs["kubernetesGroups"] == ["my-test-role"]
    assert entry.inputs["type"] == "STANDARD"
    assert entry.replacement_trigger == "AIDAMY-TEST-IAM-USER", "must be the user's unique id"
    assert stack.of_type(ENTRY) == []


def test_none_mapping_touches_no_identity_store(stack):
    """identity_mapping="none" neither reads nor writes aws-auth and creates no access entry."""
    deploy(stack, identity_mapping="none")
    for type_token in (ENTRY, "aws:eks/accessEntry:AccessEntry"):
        assert stack.of_type(type_token) == [], type_token


@pytest.mark.parametrize(
    ("mode", "taken"),
    [("CONFIG_MAP", "aws-auth"), ("API_AND_CONFIG_MAP", "access-entry"), ("API", "access-entry"), (None, "aws-auth")],
)
def test_auto_maps_by_the_clusters_authentication_mode(stack, mode, taken):
    """identity_mapping="auto" registers an access entry where the cluster's mode includes API and an aws-auth
    entry in CONFIG_MAP mode (or with no mode reported), never both, and says which in ``identity_mapping``."""
    stack.mocks.authentication_mode = mode
    out = deploy(stack, identity_mapping="auto")
    made = {t: len(stack.of_type(t)) for t in (ENTRY, "aws:eks/accessEntry:AccessEntry")}
    assert made == {ENTRY: taken == "aws-auth", "aws:eks/accessEntry:AccessEntry": taken == "access-entry"}
    assert out["identity_mapping"][0] == taken


def test_auto_decides_in_the_preview(stack):
    """The route of "auto" is read from getCluster during a preview too, so the preview shows the resource the
    update will make."""
    stack.start_preview()
    stack.mocks.authentication_mode = "API"
    deploy(stack, identity_mapping="auto")
    assert len(stack.of_type("aws:eks/accessEntry:AccessEntry")) == 1
    assert stack.of_type(ENTRY) == []


def test_an_explicit_mapping_is_its_own_route(stack):
    """A mapping other than "auto" is taken as given and reported so; getCluster's mode does not change it."""
    assert [route(m, "API") for m in ("aws-auth", "access-entry", "none")] == ["aws-auth", "access-entry", "none"]
    assert set(AUTO_ROUTES) == {"CONFIG_MAP", "API_AND_CONFIG_MAP", "API"}
    assert deploy(stack, identity_mapping="none")["identity_mapping"][0] == "none"


def test_auto_refuses_a_mode_it_does_not_know():
    """A mode EKS may add later is an error naming the field and the mode, not a guess between the routes."""
    with pytest.raises(ValueError, match=r"^identity_mapping: 'auto' does not know authentication mode 'NEW'"):
        route("auto", "NEW")


def test_auto_needs_a_plain_cluster_name(stack):
    """ "auto" decides which resource to register, so a cluster_name that is an Output is refused, naming both
    fields, before anything is registered."""
    with pytest.raises(ValueError, match=r"^identity_mapping: 'auto' needs cluster_name as a plain string"):
        deploy(stack, identity_mapping="auto", cluster_name=pulumi.Output.from_input("my-cluster-1"))
    assert stack.of_type("aws:iam/user:User") == []


# --- outputs ---------------------------------------------------------------


def test_kubeconfig_output_is_built_from_the_cluster(stack):
    """kubeconfig is the exec kubeconfig for the cluster's ARN, endpoint and CA."""
    out = deploy(stack)
    expected = build_kubeconfig(
        cluster_name="my-cluster-1",
        cluster_arn=cluster_arn(),
        endpoint=CLUSTER_ENDPOINT,
        certificate_authority_data=CLUSTER_CA,
    )
    assert out["kubeconfig"] == (expected, False)


def test_all_outputs_are_registered(stack):
    """register_outputs lists every output attribute (None values are not sent: pgp and OIDC runs cover the rest)."""
    registered: set[str] = set()
    oidc = {"identity": "github-actions", "oidc_subjects": ["repo:a/b:pull_request"], "iam_user_name": None}
    for extra in ({}, {"pgp_key": "mQENBFexample"}, oidc):
        deploy(stack, **extra)
        component = stack.one(TYPE_TOKEN)
        registered |= set(stack.monitor.registered_outputs[component.urn])
        stack.monitor.registrations.clear()
    assert registered == set(OUTPUTS)
