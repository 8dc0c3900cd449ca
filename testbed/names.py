"""One name per thing that tests, the testbed and the benchmarks share: the EKS cluster, its region, and the two
AWS accounts.

There are two accounts because there are two AWS doubles. The Pulumi mocks (``testbed/mocks.py``) and the
``aws-auth`` seed answer as :data:`ACCOUNT`; moto, behind the AWS stand-in, the access-entry emulation and the
control plane's STS keys, answers as its own default account, :data:`MOTO_ACCOUNT`.
"""

from __future__ import annotations

from moto.core.models import DEFAULT_ACCOUNT_ID

#: The recipe's cluster: the name tokens are signed for (``aws eks get-token --cluster-name``).
CLUSTER_NAME = "my-cluster-1"
REGION = "us-east-1"
#: The account the Pulumi mocks and the ``aws-auth`` seed answer as.
ACCOUNT = "123412341234"
#: moto's account: the engine and languages tiers' stacks, and the control plane's STS principals.
MOTO_ACCOUNT: str = DEFAULT_ACCOUNT_ID
#: What the mocks' ``aws:eks/getCluster`` answers for the cluster's endpoint and CA (an EKS-shaped endpoint).
CLUSTER_ENDPOINT = "https://0123456789ABCDEF.gr7.us-east-1.eks.amazonaws.com"
CLUSTER_CA = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUMvakNDQWVhZ0F3SUJBZ0lCQURBTkJna3Foa2lHOXcwQkFRc0ZBREFWTVJNd0VRWURWUVFERXdwcmRXSmwKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="  # noqa: E501


def cluster_arn(name: str = CLUSTER_NAME) -> str:
    """The ARN the mocks give an EKS cluster of that name."""
    return f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/{name}"
