"""The kubeconfig CI uses to reach the cluster.

It is the exec form that ``aws eks update-kubeconfig`` writes: no token is
stored, ``kubectl`` runs ``aws eks get-token`` with whatever AWS credentials the
environment holds (for CI, the access key this project creates). Keeping the
same shape means a kubeconfig built here and one built by the AWS CLI are
interchangeable.
"""

from __future__ import annotations

from typing import Any

import yaml

#: The exec API version ``aws eks update-kubeconfig`` writes.
EXEC_API_VERSION = "client.authentication.k8s.io/v1beta1"


def region_from_arn(arn: str) -> str:
    """Return the region field of an ARN (``arn:aws:eks:REGION:ACCOUNT:...``)."""
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn" or not parts[3]:
        raise ValueError(f"cluster ARN {arn!r} is not a regional ARN (arn:PARTITION:eks:REGION:ACCOUNT:cluster/NAME)")
    return parts[3]


def build_kubeconfig(
    *,
    cluster_name: str,
    cluster_arn: str,
    endpoint: str,
    certificate_authority_data: str,
    profile: str | None = None,
) -> str:
    """Return the kubeconfig YAML for one EKS cluster.

    Cluster, user and context are all named by the cluster ARN, and the
    region comes from that ARN, exactly as ``aws eks update-kubeconfig`` does.
    ``profile`` adds ``AWS_PROFILE`` to the exec environment, again as the AWS
    CLI does when it runs under a named profile.
    """
    exec_config: dict[str, Any] = {
        "apiVersion": EXEC_API_VERSION,
        "args": [
            "--region",
            region_from_arn(cluster_arn),
            "eks",
            "get-token",
            "--cluster-name",
            cluster_name,
            "--output",
            "json",
        ],
        "command": "aws",
    }
    if profile:
        exec_config["env"] = [{"name": "AWS_PROFILE", "value": profile}]
    config = {
        "apiVersion": "v1",
        "clusters": [
            {
                "cluster": {"certificate-authority-data": certificate_authority_data, "server": endpoint},
                "name": cluster_arn,
            }
        ],
        "contexts": [{"context": {"cluster": cluster_arn, "user": cluster_arn}, "name": cluster_arn}],
        "current-context": cluster_arn,
        "kind": "Config",
        "preferences": {},
        "users": [{"name": cluster_arn, "user": {"exec": exec_config}}],
    }
    return yaml.safe_dump(config, default_flow_style=False, sort_keys=False)
