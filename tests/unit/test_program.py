"""The Pulumi program (__main__.py) under mocks, with the dev stack's config."""

import json

import pulumi
import pytest
import yaml
from pulumi.runtime import rpc

from testbed.names import ACCOUNT
from tests.support import DEV, ENTRY, EXPORTS, PROJECT, run_program, stack_config


def test_dev_stack_exports(stack, monkeypatch):
    """With Pulumi.dev.yaml the program creates the recipe's names and exports what CI needs, the key as a secret."""
    out = run_program(stack, monkeypatch, stack_config())
    assert set(out) == EXPORTS
    assert out["iamUserName"] == ("my-test-iam-user", False)
    assert out["iamUserArn"][0] == f"arn:aws:iam::{ACCOUNT}:user/my-test-iam-user"
    assert out["principalArn"] == out["iamUserArn"]
    assert out["iamRoleArn"] == (None, False)
    assert out["iamPolicyArn"][0] == f"arn:aws:iam::{ACCOUNT}:policy/EKS_CICD_User_Policy"
    assert out["namespace"][0] == "my-test-ns"
    assert out["roleName"][0] == "my-test-role"
    assert out["kubernetesUsername"][0] == "my-test-user"
    assert out["accessKeyId"] == ("AKIAIOSFODNN7EXAMPLE", False)
    assert out["secretAccessKey"][0] and out["secretAccessKey"][1], "secretAccessKey must be a secret"
    assert yaml.safe_load(out["kubeconfig"][0])["users"][0]["user"]["exec"]["command"] == "aws"
    binding = stack.one("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")
    assert binding.inputs["metadata"]["name"] == "my-test-user-role-binding"
    entry = stack.one(ENTRY).inputs
    assert (entry["key"], entry["username"], entry["groups"]) == ("mapUsers", "my-test-user", ["my-test-role"])


def writer_and_provider_kubeconfigs(stack):
    """The kubeconfig the Kubernetes provider got and the one the aws-auth entry got; both must be secrets."""
    sent = [stack.one("pulumi:providers:kubernetes").inputs["kubeconfig"], stack.one(ENTRY).inputs["kubeconfig"]]
    for value in sent:
        assert rpc.is_rpc_secret(value), "a kubeconfig must reach the engine as a secret"
    return [rpc.unwrap_rpc_secret(value) for value in sent]


def test_default_provider_is_built_from_the_eks_cluster(stack, monkeypatch):
    """Without kubeconfig/kubeContext both get the cluster's exec kubeconfig (`aws eks get-token`, AWS_PROFILE)."""
    run_program(stack, monkeypatch, stack_config({"aws:profile": "ops"}))
    provider_kubeconfig, writer_kubeconfig = writer_and_provider_kubeconfigs(stack)
    assert writer_kubeconfig == provider_kubeconfig
    exec_config = yaml.safe_load(provider_kubeconfig)["users"][0]["user"]["exec"]
    assert exec_config["args"][-4:] == ["--cluster-name", "my-cluster-1", "--output", "json"]
    assert exec_config["env"] == [{"name": "AWS_PROFILE", "value": "ops"}]
    assert stack.one("pulumi:providers:kubernetes").inputs["enableServerSideApply"] == "true"


def test_kube_context_is_resolved_from_the_kubeconfig_files(stack, monkeypatch, tmp_path):
    """kubeContext picks that context of $KUBECONFIG, flattened; the provider and the writer get the same one."""
    (tmp_path / "ca.crt").write_bytes(b"CA")
    (tmp_path / "config").write_text(
        yaml.safe_dump(
            {
                "clusters": [
                    {"name": "prod", "cluster": {"server": "https://prod", "certificate-authority": "ca.crt"}},
                    {"name": "dev", "cluster": {"server": "https://dev"}},
                ],
                "users": [{"name": "admin", "user": {"token": "t0k3n"}}],
                "contexts": [
                    {"name": "admin@prod", "context": {"cluster": "prod", "user": "admin"}},
                    {"name": "admin@dev", "context": {"cluster": "dev", "user": "admin"}},
                ],
                "current-context": "admin@dev",
            }
        )
    )
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "config"))
    run_program(stack, monkeypatch, stack_config({"eks-cicd-access:kubeContext": "admin@prod"}))
    provider_kubeconfig, writer_kubeconfig = writer_and_provider_kubeconfigs(stack)
    assert writer_kubeconfig == provider_kubeconfig
    resolved = yaml.safe_load(provider_kubeconfig)
    assert resolved["current-context"] == "admin@prod"
    assert resolved["clusters"] == [
        {"name": "prod", "cluster": {"server": "https://prod", "certificate-authority-data": "Q0E="}}
    ]
    assert resolved["users"] == [{"name": "admin", "user": {"token": "t0k3n"}}]


def test_kubeconfig_config_provider(stack, monkeypatch):
    """A kubeconfig from config is used as given, by the provider and the writer, as a secret."""
    given = "apiVersion: v1\nkind: Config\n"
    run_program(stack, monkeypatch, stack_config({"eks-cicd-access:kubeconfig": given}))
    assert writer_and_provider_kubeconfigs(stack) == [given, given]


def test_project_defaults_alone(stack, monkeypatch):
    """With only the required keys, Pulumi.yaml's defaults give one IAM user per stack and the component defaults."""
    out = run_program(
        stack,
        monkeypatch,
        stack_config(stack_file={"eks-cicd-access:clusterName": "c1", "eks-cicd-access:namespace": "apps"}),
    )
    assert out["iamUserName"][0] == "eks-cicd-access-dev"
    assert out["kubernetesUsername"][0] == "eks-cicd-access-dev"
    assert out["roleName"][0] == "cicd-access-deployer"
    assert json.loads(stack.one("aws:iam/policy:Policy").inputs["policy"])["Statement"][0]["Resource"].endswith(
        ":cluster/c1"
    )
    assert stack.one("aws:iam/policy:Policy").inputs["name"] == "eks-cicd-access-dev-eks-describe-cluster"


def test_role_rules_json_config(stack, monkeypatch):
    """roleRules may be a JSON list of rules spelt as in a Role manifest."""
    rules = [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "patch"], "resourceNames": ["web"]}]
    run_program(stack, monkeypatch, stack_config({"eks-cicd-access:roleRules": json.dumps(rules)}))
    assert stack.one("kubernetes:rbac.authorization.k8s.io/v1:Role").inputs["rules"] == rules


def test_bad_config_fails_with_the_field(stack, monkeypatch):
    """A bad value in stack config is the component's message, alone (a RunError prints no traceback)."""
    with pytest.raises(pulumi.RunError, match=r"^namespace: 'My_NS' is not a DNS-1123 label"):
        run_program(stack, monkeypatch, stack_config({"eks-cicd-access:namespace": "My_NS"}))
    assert stack.resources == []


def test_rotating_keys_from_config(stack, monkeypatch):
    """accessKeys labels the keys; the stack exports the newest as accessKeyId/secretAccessKey and all of them as
    the secret accessKeys."""
    out = run_program(stack, monkeypatch, stack_config({"eks-cicd-access:accessKeys": ["default", "2027-02"]}))
    assert sorted(r.name for r in stack.of_type("aws:iam/accessKey:AccessKey")) == [
        "cicd-access-access-key-2027-02",
        "cicd-access-access-key-default",
    ]
    keys, secret = out["accessKeys"]
    assert secret and list(keys) == ["default", "2027-02"]
    assert out["accessKeyId"][0] == keys["2027-02"]["id"]


def test_an_oidc_stack(stack, monkeypatch):
    """identity github-actions with subjects: a role named <project>-<stack>, exported as iamRoleArn and
    principalArn; no user, and no key outputs."""
    out = run_program(
        stack,
        monkeypatch,
        stack_config(
            {
                "eks-cicd-access:identity": "github-actions",
                "eks-cicd-access:oidcSubjects": ["repo:acme/web:environment:production"],
                "eks-cicd-access:iamUserName": "",
                "eks-cicd-access:maxSessionDuration": 7200,
            }
        ),
    )
    role = f"arn:aws:iam::{ACCOUNT}:role/eks-cicd-access-dev"
    assert (out["iamRoleArn"][0], out["principalArn"][0]) == (role, role)
    assert (out["accessKeyId"][0], out["secretAccessKey"][0], out["iamUserArn"][0]) == (None, None, None)
    assert stack.one("aws:iam/role:Role").inputs["maxSessionDuration"] == 7200
    assert stack.of_type("aws:iam/user:User") == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"eks-cicd-access:oidcSubjects": ["repo:a/b:pull_request"]},
            "oidcSubjects: only with identity 'github-actions' or 'gitlab-ci' (identity is 'iam-user')",
        ),
        (
            {"eks-cicd-access:createOidcProvider": True},
            "createOidcProvider: only with identity 'github-actions' or 'gitlab-ci' (identity is 'iam-user')",
        ),
        (
            {"eks-cicd-access:maxSessionDuration": 7200},
            "maxSessionDuration: only with identity 'github-actions' or 'gitlab-ci' (identity is 'iam-user')",
        ),
        (
            {"eks-cicd-access:iamRoleName": "r"},
            "iamRoleName: only with identity 'github-actions' or 'gitlab-ci' (identity is 'iam-user')",
        ),
        (
            {"eks-cicd-access:identity": "gitlab-ci", "eks-cicd-access:pgpKey": "mQ"},
            "pgpKey: identity 'gitlab-ci' has no IAM user or access key; remove pgpKey",
        ),
        (
            {"eks-cicd-access:identity": "github-actions", "eks-cicd-access:iamUserPath": "/ci/"},
            "iamUserPath: identity 'github-actions' has no IAM user or access key; remove iamUserPath",
        ),
        (
            {"eks-cicd-access:identity": "github-actions", "eks-cicd-access:accessKeys": ["a"]},
            "accessKeys: identity 'github-actions' has no IAM user or access key; remove accessKeys",
        ),
    ],
)
def test_a_key_of_the_other_identity_is_refused(stack, monkeypatch, overrides, message):
    """A config key that the chosen identity does not use is the component's error in the config's spelling,
    not silently ignored, and nothing is registered."""
    config = stack_config(
        stack_file={"eks-cicd-access:clusterName": "c1", "eks-cicd-access:namespace": "apps", **overrides}
    )
    with pytest.raises(pulumi.RunError) as raised:
        run_program(stack, monkeypatch, config)
    assert str(raised.value) == message
    assert stack.resources == []


def test_every_project_key_is_declared_with_type_and_description():
    """Pulumi.yaml declares each key with a type and description; only the required keys lack a default."""
    for key, spec in PROJECT["config"].items():
        assert {"type", "description"} <= set(spec), key
    assert {k for k, v in PROJECT["config"].items() if "default" not in v} == {"clusterName", "namespace"}
    assert PROJECT["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}}


def test_dev_stack_only_sets_declared_keys():
    """Every project key in Pulumi.dev.yaml is declared in Pulumi.yaml (a typo would be silently ignored)."""
    project_keys = {k.split(":", 1)[1] for k in DEV if k.startswith("eks-cicd-access:")}
    assert project_keys <= set(PROJECT["config"])
    assert "aws:region" in DEV
