"""Values read from the EKS cluster (``aws.eks.get_cluster_output``)."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from .claims import per_deployment


def lookup_cluster(
    component: pulumi.Resource, cluster_name: pulumi.Input[str]
) -> pulumi.Output[aws.eks.GetClusterResult]:
    """``aws.eks.get_cluster_output`` for ``component``: one ``DescribeCluster`` per cluster and AWS provider per
    program, shared by every instance that reads it (50 instances on one cluster make one call, not 50); served by
    the plugin, one per instance. A name that is an Output is looked up on its own."""
    provider = component.get_provider("aws:eks/getCluster:getCluster")
    if not isinstance(cluster_name, str):
        return aws.eks.get_cluster_output(name=cluster_name, opts=pulumi.InvokeOutputOptions(parent=component))
    held: dict[tuple[object, str], pulumi.Output[aws.eks.GetClusterResult]] = per_deployment(
        "clusters", across_constructs=False
    )
    key = (provider, cluster_name)
    if key not in held:
        # Its provider, not a parent: the lookup must not tie one instance to another.
        held[key] = aws.eks.get_cluster_output(name=cluster_name, opts=pulumi.InvokeOutputOptions(provider=provider))
    return held[key]


def authentication_mode(component: pulumi.Resource, cluster_name: str) -> str | None:
    """The cluster's authentication mode, read now with a plain ``aws.eks.get_cluster`` (``None`` when it reports
    no ``accessConfig``). A plain invoke because the answer decides which resources to register, which an Output
    must not do; it runs at preview too."""
    provider = component.get_provider("aws:eks/getCluster:getCluster")
    found = aws.eks.get_cluster(name=cluster_name, opts=pulumi.InvokeOptions(provider=provider))
    mode = first_field(found.access_configs, "authentication_mode", "authenticationMode")
    return None if mode is None else str(mode)


def first_field(items: Any, *keys: str) -> Any:
    """A field of the first element of a nested invoke result, or ``None``.

    Nested results arrive as output-type dicts keyed in snake_case, or as plain
    dicts keyed in camelCase when the SDK leaves the nested type unresolved;
    ``keys`` lists both spellings.
    """
    if not items:
        return None
    first = items[0]
    return next((first[k] for k in keys if k in first), None)


def cluster_kubeconfig(
    cluster: pulumi.Output[aws.eks.GetClusterResult],
    cluster_name: pulumi.Input[str],
    profile: str | None = None,
) -> pulumi.Output[str]:
    """The exec kubeconfig for ``cluster``, as ``aws eks update-kubeconfig`` writes it."""
    # Imported here, not at the top: the package must not import ``kubeconfig`` on its own, so that
    # ``python -m eks_cicd_access.kubeconfig`` runs it without runpy's "found in sys.modules" warning.
    from .kubeconfig import build_kubeconfig

    return pulumi.Output.all(cluster_name, cluster.arn, cluster.endpoint, cluster.certificate_authorities).apply(
        lambda a: build_kubeconfig(
            cluster_name=a[0],
            cluster_arn=a[1],
            endpoint=a[2],
            certificate_authority_data=first_field(a[3], "data"),
            profile=profile,
        )
    )
