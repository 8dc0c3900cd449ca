"""The identity mapping: which Kubernetes user and groups an IAM principal becomes."""

from __future__ import annotations

from typing import Any, cast

import pulumi
import pulumi_aws as aws

from .access_policies import PolicyAssociation
from .aws_auth.entries import MapKey, check_authentication_mode
from .aws_auth.resource import AwsAuthEntry, MapKeyName, PluginAwsAuthEntry, entry_resource
from .checks import checked_when_known
from .cluster import first_field

#: The routes of ``identity_mapping="auto"``, by the cluster's authentication mode.
AUTO_ROUTES: dict[str, str] = {"CONFIG_MAP": "aws-auth", "API_AND_CONFIG_MAP": "access-entry", "API": "access-entry"}


def route(identity_mapping: str, mode: str | None) -> str:
    """The mapping taken: ``identity_mapping`` itself, or for ``"auto"`` an access entry where the cluster's mode
    includes ``API`` and ``aws-auth`` in ``CONFIG_MAP`` mode (also a cluster that reports no mode: one made before
    access entries existed). An unknown mode is an error, not a guess."""
    if identity_mapping != "auto":
        return identity_mapping
    if mode is None:
        return AUTO_ROUTES["CONFIG_MAP"]
    if mode not in AUTO_ROUTES:
        raise ValueError(
            f"identity_mapping: 'auto' does not know authentication mode {mode!r} "
            f"(one of {sorted(AUTO_ROUTES)}); set 'access-entry' or 'aws-auth'"
        )
    return AUTO_ROUTES[mode]


def check_policies_route(cluster_name: str, mapping: str, mode: str | None) -> None:
    """Access policies need an access entry: refuse ``identity_mapping="auto"`` that took ``aws-auth`` (the
    cluster's mode ``mode``), before anything is registered."""
    if mapping != "access-entry":
        raise ValueError(
            f"access_policies: identity_mapping 'auto' maps CI through {mapping} on cluster {cluster_name!r} "
            f"(authentication mode {mode or 'CONFIG_MAP'!r}), which has no access entry to associate access policies "
            f"with. Turn access entries on with `aws eks update-cluster-config --name {cluster_name} --access-config "
            "authenticationMode=API_AND_CONFIG_MAP`, or remove access_policies. Nothing was written."
        )


def access_policy_associations(
    name: str,
    parent: pulumi.Resource,
    *,
    entry: aws.eks.AccessEntry,
    associations: list[PolicyAssociation],
    namespace: pulumi.Input[str],
) -> list[aws.eks.AccessPolicyAssociation]:
    """``<name>-access-policy-<policy>`` for each association: the managed policy on CI's access entry, scoped to
    its namespaces (the component's ``namespace`` by default) or to the cluster. Each takes the entry's cluster and
    principal, so it waits for the entry (and fails with it)."""
    created = []
    for association in associations:
        if association.scope == "cluster":
            scope = aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster")
        else:
            namespaces: list[pulumi.Input[str]] = (
                list(association.namespaces) if association.namespaces is not None else [namespace]
            )
            scope = aws.eks.AccessPolicyAssociationAccessScopeArgs(type="namespace", namespaces=namespaces)
        created.append(
            aws.eks.AccessPolicyAssociation(
                f"{name}-access-policy-{association.policy}",
                cluster_name=entry.cluster_name,
                principal_arn=entry.principal_arn,
                policy_arn=association.arn,
                access_scope=scope,
                opts=pulumi.ResourceOptions(parent=parent, depends_on=[entry]),
            )
        )
    return created


def checked_cluster_name(cluster_name: str, access_configs: Any) -> str:
    """``cluster_name``, once the cluster's authentication mode is known to read ``aws-auth``.

    ``access_configs`` is ``getCluster``'s nested list: output types keyed in
    snake_case, or plain dicts keyed in camelCase when the SDK leaves the
    nested type unresolved; both are read.
    """
    check_authentication_mode(cluster_name, first_field(access_configs, "authentication_mode", "authenticationMode"))
    return cluster_name


def checked_access_entry_cluster(cluster_name: str, access_configs: Any) -> str:
    """``cluster_name``, once the cluster is known to take access entries (not ``CONFIG_MAP`` mode)."""
    mode = first_field(access_configs, "authentication_mode", "authenticationMode")
    if mode == "CONFIG_MAP":
        raise ValueError(
            f"identity_mapping='access-entry': cluster {cluster_name!r} uses authentication mode 'CONFIG_MAP', "
            "which has no access entries. Turn them on with `aws eks update-cluster-config --name "
            f"{cluster_name} --access-config authenticationMode=API_AND_CONFIG_MAP` (there is no way back to "
            "CONFIG_MAP), or use identity_mapping='aws-auth' (config identityMapping: aws-auth). Nothing was written."
        )
    return cluster_name


def aws_auth_entry(
    name: str,
    parent: pulumi.Resource,
    *,
    cluster: pulumi.Output[Any],
    cluster_name: pulumi.Output[str],
    key: MapKey,
    principal_arn: pulumi.Output[str],
    username: str,
    groups: list[str],
    kubeconfig: pulumi.Input[str],
) -> AwsAuthEntry | PluginAwsAuthEntry:
    """``<name>-aws-auth-entry``: our one entry in ``key`` of ``kube-system/aws-auth`` (a dynamic resource, or the
    plugin's ``AwsAuthEntry`` when the plugin serves the component).

    Its ``cluster`` input waits for the authentication-mode check, so a
    cluster that ignores ``aws-auth`` fails the preview with our message and
    the entry is never registered.
    """
    return entry_resource()(
        f"{name}-aws-auth-entry",
        {
            "cluster": pulumi.Output.all(cluster_name, cluster.access_configs).apply(
                lambda a: checked_when_known(checked_cluster_name, *a)
            ),
            "key": cast(MapKeyName, key.name),
            "arn": principal_arn,
            "username": username,
            "groups": groups,
            "kubeconfig": kubeconfig,
        },
        opts=pulumi.ResourceOptions(parent=parent),
    )


def access_entry(
    name: str,
    parent: pulumi.Resource,
    *,
    cluster: pulumi.Output[Any],
    cluster_name: pulumi.Output[str],
    principal_arn: pulumi.Output[str],
    principal_id: pulumi.Output[str] | None,
    username: str,
    groups: list[str],
    tags: dict[str, str],
) -> aws.eks.AccessEntry:
    """``<name>-access-entry``: an EKS access entry for the principal.

    An access entry is bound to the principal's unique id, not its ARN: a
    principal re-created under the same ARN needs a new entry, hence the
    replacement trigger (none for a principal made elsewhere, whose lifecycle
    is not ours). EKS allows one entry per principal, so a replacement deletes
    the old entry first (made first, the new one is ``ResourceInUseException``).
    Its cluster name waits for the authentication-mode check, so a
    ``CONFIG_MAP`` cluster fails the preview with our message.
    """
    return aws.eks.AccessEntry(
        f"{name}-access-entry",
        cluster_name=pulumi.Output.all(cluster_name, cluster.access_configs).apply(
            lambda a: checked_when_known(checked_access_entry_cluster, *a)
        ),
        principal_arn=principal_arn,
        user_name=username,
        kubernetes_groups=groups,
        type="STANDARD",
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent, replacement_trigger=principal_id, delete_before_replace=True),
    )
