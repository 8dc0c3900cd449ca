"""Values read from the EKS cluster (``aws.eks.get_cluster_output``)."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws


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
