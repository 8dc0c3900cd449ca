"""CI access to one EKS namespace: reads stack config, builds the Kubernetes
provider, creates an ``EksCicdAccess`` and exports what CI needs."""

from __future__ import annotations

import json
from typing import Any, cast

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from eks_cicd_access import EksCicdAccess, EksCicdAccessArgs, RoleRule, cluster_kubeconfig, context_kubeconfig

config = pulumi.Config()
cluster_name = config.require("clusterName")


def role_rules_from_config(value: str) -> str | list[RoleRule]:
    """``roleRules`` is a preset name, or a JSON list of rules spelt as in a Role manifest."""
    if not value.lstrip().startswith("["):
        return value
    rules: list[RoleRule] = []
    for rule in json.loads(value):
        converted: RoleRule = {
            "api_groups": rule.get("apiGroups"),
            "resources": rule.get("resources"),
            "verbs": rule.get("verbs"),
        }
        if "resourceNames" in rule:
            converted["resource_names"] = rule["resourceNames"]
        rules.append(converted)
    return rules


def cluster_access() -> pulumi.Output[str]:
    """The kubeconfig the Kubernetes objects and the aws-auth entry are written with (a secret).

    ``kubeconfig`` when set; else the ``kubeContext`` context of your kubeconfig
    files, flattened; else one built from the EKS cluster itself,
    authenticating as whoever runs ``pulumi up``. Never the ambient context.
    """
    kubeconfig = config.get("kubeconfig")
    kube_context = config.get("kubeContext")
    if kubeconfig:
        return pulumi.Output.secret(kubeconfig)
    if kube_context:
        return pulumi.Output.secret(context_kubeconfig(kube_context))
    cluster = aws.eks.get_cluster_output(name=cluster_name)
    return pulumi.Output.secret(cluster_kubeconfig(cluster, cluster_name, profile=pulumi.Config("aws").get("profile")))


def component_args() -> EksCicdAccessArgs:
    """Stack config to component arguments; an empty or unset key keeps the component's default."""
    args: dict[str, Any] = {
        "cluster_name": cluster_name,
        "namespace": config.require("namespace"),
        # IAM names are account-wide: default to one per project and stack.
        "iam_user_name": config.get("iamUserName") or f"{pulumi.get_project()}-{pulumi.get_stack()}",
    }
    optional_strings = {
        "iamUserPath": "iam_user_path",
        "iamPolicyName": "iam_policy_name",
        "policyResourceScope": "policy_resource_scope",
        "kubernetesUsername": "kubernetes_username",
        "roleName": "role_name",
        "roleBindingName": "role_binding_name",
        "identityMapping": "identity_mapping",
        "pgpKey": "pgp_key",
    }
    for key, arg in optional_strings.items():
        value = config.get(key)
        if value:
            args[arg] = value
    for key, arg in {"createNamespace": "create_namespace", "createAccessKey": "create_access_key"}.items():
        flag = config.get_bool(key)
        if flag is not None:
            args[arg] = flag
    groups = config.get_object("kubernetesGroups")
    if groups is not None:
        args["kubernetes_groups"] = groups
    rules = config.get("roleRules")
    if rules:
        args["role_rules"] = role_rules_from_config(rules)
    return cast(EksCicdAccessArgs, args)  # validated by the component


kubeconfig = cluster_access()
provider = k8s.Provider("cluster", kubeconfig=kubeconfig, enable_server_side_apply=True)
access = EksCicdAccess(
    "cicd-access",
    {**component_args(), "kubeconfig": kubeconfig},
    opts=pulumi.ResourceOptions(providers=[provider]),
)

pulumi.export("accessKeyId", access.access_key_id)
pulumi.export("secretAccessKey", access.secret_access_key)
pulumi.export("encryptedSecretAccessKey", access.encrypted_secret_access_key)
pulumi.export("iamUserArn", access.iam_user_arn)
pulumi.export("iamUserName", access.iam_user_name)
pulumi.export("iamPolicyArn", access.iam_policy_arn)
pulumi.export("namespace", access.namespace)
pulumi.export("roleName", access.role_name)
pulumi.export("kubernetesUsername", access.kubernetes_username)
pulumi.export("kubeconfig", access.kubeconfig)
