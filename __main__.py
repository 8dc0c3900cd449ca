"""CI access to one EKS namespace: reads stack config, builds the Kubernetes
provider, creates an ``EksCicdAccess`` and exports what CI needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import yaml

from eks_cicd_access import EksCicdAccess, EksCicdAccessArgs, cluster_kubeconfig, context_kubeconfig, validate_args
from eks_cicd_access.resolve import writes_kubernetes
from eks_cicd_access.stack_config import (
    ARGUMENTS,
    ConfigError,
    config_keys,
    config_spelling,
    from_json,
    role_rules_from_config,
    spelt_as_config,
    unknown_config_keys,
)

NAME = "cicd-access"
config = pulumi.Config()
cluster_name = config.require("clusterName")


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


#: Keys of this program only; every other key of Pulumi.yaml is an argument of the component, in camelCase.
PROGRAM_KEYS = ("kubeContext", "kubeconfig")
#: Pulumi.yaml's declarations: each key's type, and the default that means "not set".
DECLARED: dict[str, Any] = yaml.safe_load((Path(__file__).parent / "Pulumi.yaml").read_text())["config"]


def config_value(key: str) -> Any:
    """The key's value by its declared type, or None when unset or left at its Pulumi.yaml default."""
    declared = DECLARED[key]
    kind = declared["type"]
    if kind == "boolean":
        value: Any = config.get_bool(key)
    elif kind == "integer":
        value = config.get_int(key)
    else:
        text = config.get(key)
        value = from_json(key, text) if kind == "array" and text is not None else text
    if key == "roleRules" and value:
        value = role_rules_from_config(value)
    elif key in ("tags", "accessPolicies") and value:
        value = from_json(key, value)
    return None if value == declared.get("default") or value is None else value


def component_args() -> EksCicdAccessArgs:
    """Stack config to component arguments; a key left at its default keeps the component's default. The
    component judges every value, and refuses the keys of another identity."""
    args: dict[str, Any] = {
        ARGUMENTS[key]: value
        for key in DECLARED
        if key not in PROGRAM_KEYS and (value := config_value(key)) is not None
    }
    args["cluster_name"], args["namespace"] = cluster_name, config.require("namespace")
    # IAM names are account-wide: default to one per project and stack.
    default_name = f"{pulumi.get_project()}-{pulumi.get_stack()}"
    identity = args.get("identity", "iam-user")
    if identity == "iam-user":
        args.setdefault("iam_user_name", default_name)
    elif identity != "existing":
        args.setdefault("iam_role_name", default_name)
    return cast(EksCicdAccessArgs, args)


# A misspelt key would be ignored (Pulumi passes undeclared keys through): refused, before anything is registered.
if unknown := unknown_config_keys(config_keys(), pulumi.get_project(), DECLARED):
    raise pulumi.RunError("\n".join(unknown))
try:
    arguments = component_args()
    resolved = validate_args(NAME, arguments)
except ConfigError as error:
    raise pulumi.RunError(str(error)) from None
except ValueError as error:
    raise pulumi.RunError(config_spelling(str(error))) from None

# With roleRules "none", createNamespace false and access policies on an access entry, nothing goes to the
# Kubernetes API: no provider and no kubeconfig, for a cluster whose API this machine cannot reach.
options = pulumi.ResourceOptions()
if writes_kubernetes(resolved):
    kubeconfig = cluster_access()
    provider = k8s.Provider("cluster", kubeconfig=kubeconfig, enable_server_side_apply=True)
    arguments = cast(EksCicdAccessArgs, {**arguments, "kubeconfig": kubeconfig})
    options = pulumi.ResourceOptions(providers=[provider])
with spelt_as_config():  # its warnings name the config's keys, as the errors above do
    access = EksCicdAccess(NAME, arguments, opts=options)

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
pulumi.export("identityMapping", access.identity_mapping)
