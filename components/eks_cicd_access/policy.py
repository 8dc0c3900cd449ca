"""The IAM policy document for the CI user.

Built here, in plain Python, rather than with the ``getPolicyDocument`` invoke:
the document is then the same in tests as in ``pulumi up``, and a reviewer can
read it without running anything.
"""

from __future__ import annotations

import json

#: The only action CI needs from AWS: ``DescribeCluster`` returns the endpoint
#: and CA that its kubeconfig is built from. Everything else happens in
#: Kubernetes and is governed by RBAC.
DESCRIBE_CLUSTER_ACTION = "eks:DescribeCluster"


def describe_cluster_policy(resource: str) -> str:
    """Return the policy JSON allowing ``eks:DescribeCluster`` on ``resource``.

    ``resource`` is the cluster's ARN (the default, least privilege) or ``"*"``
    (the recipe's policy, which lets the key describe every cluster in the
    account).
    """
    if not resource:
        raise ValueError("policy resource must be a cluster ARN or '*', got an empty string")
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DescribeClusterForKubeconfig",
                "Effect": "Allow",
                "Action": [DESCRIBE_CLUSTER_ACTION],
                "Resource": resource,
            }
        ],
    }
    return json.dumps(document, indent=2, sort_keys=False)
