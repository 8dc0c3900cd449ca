"""The kubeconfig builder, without mocks."""

import pytest
import yaml

from eks_cicd_access.kubeconfig import build_kubeconfig, region_from_arn

ARN = "arn:aws:eks:eu-west-1:123412341234:cluster/prod"


def build(**extra):
    return yaml.safe_load(
        build_kubeconfig(
            cluster_name="prod",
            cluster_arn=ARN,
            endpoint="https://example.eks",
            certificate_authority_data="Q0E=",
            **extra,
        )
    )


def test_exec_form_matches_aws_eks_update_kubeconfig():
    """Names are the cluster ARN and kubectl runs `aws --region R eks get-token --cluster-name N --output json`."""
    config = build()
    assert config["current-context"] == ARN
    assert config["clusters"] == [
        {"cluster": {"certificate-authority-data": "Q0E=", "server": "https://example.eks"}, "name": ARN}
    ]
    assert config["contexts"] == [{"context": {"cluster": ARN, "user": ARN}, "name": ARN}]
    (user,) = config["users"]
    assert user["name"] == ARN
    assert user["user"]["exec"] == {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "args": ["--region", "eu-west-1", "eks", "get-token", "--cluster-name", "prod", "--output", "json"],
        "command": "aws",
    }


#: What `aws eks update-kubeconfig --name prod --region eu-west-1` writes (AWS CLI 1.46) for that cluster.
WRITTEN_BY_THE_AWS_CLI = """\
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: Q0E=
    server: https://example.eks
  name: arn:aws:eks:eu-west-1:123412341234:cluster/prod
contexts:
- context:
    cluster: arn:aws:eks:eu-west-1:123412341234:cluster/prod
    user: arn:aws:eks:eu-west-1:123412341234:cluster/prod
  name: arn:aws:eks:eu-west-1:123412341234:cluster/prod
current-context: arn:aws:eks:eu-west-1:123412341234:cluster/prod
kind: Config
preferences: {}
users:
- name: arn:aws:eks:eu-west-1:123412341234:cluster/prod
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      args:
      - --region
      - eu-west-1
      - eks
      - get-token
      - --cluster-name
      - prod
      - --output
      - json
      command: aws
"""


def test_the_document_is_what_the_aws_cli_writes_byte_for_byte():
    """Every key, apiVersion v1, kind Config, preferences, the exec stanza: the AWS CLI's file, byte for byte.
    (tests/unit/test_kubeconfig_cli.py also runs the real `aws eks update-kubeconfig` against moto.)"""
    text = build_kubeconfig(
        cluster_name="prod", cluster_arn=ARN, endpoint="https://example.eks", certificate_authority_data="Q0E="
    )
    assert text == WRITTEN_BY_THE_AWS_CLI


def test_profile_goes_into_exec_env():
    """A named AWS profile is passed to `aws eks get-token` as AWS_PROFILE, as the AWS CLI does."""
    assert build(profile="ops")["users"][0]["user"]["exec"]["env"] == [{"name": "AWS_PROFILE", "value": "ops"}]


def test_no_credentials_in_kubeconfig():
    """The kubeconfig holds no token or key: authentication happens at kubectl run time."""
    user = build()["users"][0]["user"]
    assert set(user) == {"exec"}


def test_region_from_arn_rejects_non_arn():
    """A value that is not a regional ARN is an error naming the expected form."""
    assert region_from_arn(ARN) == "eu-west-1"
    for bad in ("my-cluster", "arn:aws:eks", "xarn:aws:eks:eu-west-1:1:cluster/c", "arn:aws:eks::1:cluster/c"):
        with pytest.raises(ValueError) as raised:
            region_from_arn(bad)
        assert str(raised.value) == (
            f"cluster ARN {bad!r} is not a regional ARN (arn:PARTITION:eks:REGION:ACCOUNT:cluster/NAME)"
        )
