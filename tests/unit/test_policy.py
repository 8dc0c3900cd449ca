"""The IAM policy document, built without mocks."""

import json

import pytest

from eks_cicd_access.policy import describe_cluster_policy

ARN = "arn:aws:eks:us-east-1:123412341234:cluster/my-cluster-1"


def test_cluster_scope_allows_only_describe_cluster_on_that_cluster():
    """The default document grants eks:DescribeCluster on one cluster ARN and nothing else."""
    document = json.loads(describe_cluster_policy(ARN))
    assert document["Version"] == "2012-10-17"
    assert document["Statement"] == [
        {"Sid": "DescribeClusterForKubeconfig", "Effect": "Allow", "Action": ["eks:DescribeCluster"], "Resource": ARN}
    ]


def test_any_scope_is_the_recipe_policy():
    """Scope "any" reproduces the recipe: the same action on Resource "*"."""
    document = json.loads(describe_cluster_policy("*"))
    (statement,) = document["Statement"]
    assert (statement["Action"], statement["Resource"], statement["Effect"]) == (["eks:DescribeCluster"], "*", "Allow")


def test_empty_resource_is_refused():
    """An empty Resource would make AWS reject the policy at apply time; refuse it now."""
    with pytest.raises(ValueError) as raised:
        describe_cluster_policy("")
    assert str(raised.value) == "policy resource must be a cluster ARN or '*', got an empty string"
