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


#: Config keys of one identity only, with the component argument each sets. A key of the other
#: identity set to anything but its Pulumi.yaml default is refused, rather than silently ignored.
USER_KEYS = {"iamUserPath": "iam_user_path", "pgpKey": "pgp_key"}
OIDC_KEYS = {
    "oidcProviderArn": "oidc_provider_arn",
    "gitlabUrl": "gitlab_url",
    "oidcAudience": "oidc_audience",
    "iamRolePath": "iam_role_path",
}
SHARED_KEYS = {
    "iamPolicyName": "iam_policy_name",
    "policyResourceScope": "policy_resource_scope",
    "kubernetesUsername": "kubernetes_username",
    "roleName": "role_name",
    "roleBindingName": "role_binding_name",
    "identityMapping": "identity_mapping",
}
#: Values that mean "not set" (the Pulumi.yaml defaults of the keys above).
UNSET: tuple[Any, ...] = (None, "", "/", [], False)


def component_args() -> EksCicdAccessArgs:
    """Stack config to component arguments; an empty or unset key keeps the component's default."""
    identity = config.get("identity") or "iam-user"
    # IAM names are account-wide: default to one per project and stack.
    default_name = f"{pulumi.get_project()}-{pulumi.get_stack()}"
    args: dict[str, Any] = {"cluster_name": cluster_name, "namespace": config.require("namespace")}
    for key, arg in SHARED_KEYS.items():
        if config.get(key):
            args[arg] = config.get(key)
    own, other = (USER_KEYS, OIDC_KEYS) if identity == "iam-user" else (OIDC_KEYS, USER_KEYS)
    for key, arg in own.items():
        if config.get(key):
            args[arg] = config.get(key)
    if identity == "iam-user":
        args["iam_user_name"] = config.get("iamUserName") or default_name
        if config.get_bool("createAccessKey") is not None:
            args["create_access_key"] = config.get_bool("createAccessKey")
        if config.get_object("accessKeys"):
            args["access_keys"] = config.get_object("accessKeys")
        other_values = {
            **{k: config.get(k) for k in other},
            "iamRoleName": config.get("iamRoleName"),
            "oidcSubjects": config.get_object("oidcSubjects"),
            "createOidcProvider": config.get_bool("createOidcProvider"),
            "maxSessionDuration": None
            if config.get_int("maxSessionDuration") == 3600
            else config.get_int("maxSessionDuration"),
        }
    else:
        args["identity"] = identity
        args["iam_role_name"] = config.get("iamRoleName") or default_name
        args["oidc_subjects"] = config.get_object("oidcSubjects") or []
        if config.get_bool("createOidcProvider"):
            args["create_oidc_provider"] = True
        if config.get_int("maxSessionDuration") is not None:
            args["max_session_duration"] = config.get_int("maxSessionDuration")
        other_values = {
            **{k: config.get(k) for k in other},
            "iamUserName": config.get("iamUserName"),
            "accessKeys": config.get_object("accessKeys"),
        }
    for key, value in other_values.items():
        if value not in UNSET:
            wanted = "github-actions or gitlab-ci" if identity == "iam-user" else "iam-user"
            raise ValueError(f"{key}: is for identity {wanted}, and identity is {identity!r}; unset it")
    groups = config.get_object("kubernetesGroups")
    if groups is not None:
        args["kubernetes_groups"] = groups
    for key, arg in {"createNamespace": "create_namespace", "allowSystemNamespace": "allow_system_namespace"}.items():
        flag = config.get_bool(key)
        if flag is not None:
            args[arg] = flag
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
pulumi.export("accessKeys", access.access_keys)
pulumi.export("iamUserArn", access.iam_user_arn)
pulumi.export("iamUserName", access.iam_user_name)
pulumi.export("iamRoleArn", access.iam_role_arn)
pulumi.export("principalArn", access.principal_arn)
pulumi.export("iamPolicyArn", access.iam_policy_arn)
pulumi.export("namespace", access.namespace)
pulumi.export("roleName", access.role_name)
pulumi.export("kubernetesUsername", access.kubernetes_username)
pulumi.export("kubeconfig", access.kubeconfig)
