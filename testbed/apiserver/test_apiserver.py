"""The stand-in's own rules that the real control plane shares: if these are wrong, the writer's quick checks and
the control plane's token webhook prove nothing.

Token checks (``testbed/apiserver/token.py``, served by the webhook too) against
what the real ``aws eks get-token`` signs; the kubeconfig swap every slow tier
uses. What the stand-in answers is compared with the real API server in
``tests/cluster/test_cluster_standin_parity.py``.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess

import pytest
import yaml

from eks_cicd_access.kubeconfig import build_kubeconfig
from testbed.apiserver.token import TokenError, verify_token
from testbed.clients import BIN, point_at
from testbed.names import CLUSTER_CA, CLUSTER_ENDPOINT, cluster_arn

KEY, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.fixture(scope="module")
def token():
    """A token made by the real `aws eks get-token` for my-cluster-1."""
    env = {
        "PATH": str(BIN),
        "HOME": "/nonexistent",
        "AWS_ACCESS_KEY_ID": KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_CONFIG_FILE": os.devnull,
    }
    out = subprocess.run(
        [
            str(BIN / "aws"),
            "--region",
            "us-east-1",
            "eks",
            "get-token",
            "--cluster-name",
            "my-cluster-1",
            "--output",
            "json",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)["status"]["token"]


def test_a_get_token_token_verifies_for_its_key_and_cluster(token):
    """The server accepts what `aws eks get-token` signs, and says which key signed it."""
    assert verify_token(token, {KEY: SECRET}, "my-cluster-1") == (KEY, None)


@pytest.mark.parametrize(
    ("secrets", "cluster", "error"),
    [
        ({KEY: "not-the-secret"}, "my-cluster-1", "signature does not match"),
        ({KEY: SECRET}, "other-cluster", "signature does not match"),
        ({"AKIAOTHERKEY": SECRET}, "my-cluster-1", "unknown access key"),
    ],
)
def test_a_token_for_another_key_or_cluster_is_rejected(token, secrets, cluster, error):
    """A token is only good with the secret that signed it, on the cluster it names."""
    with pytest.raises(TokenError, match=error):
        verify_token(token, secrets, cluster)


def test_malformed_and_expired_tokens_are_rejected(token):
    """Bearer tokens that are not k8s-aws-v1, or older than their expiry, are refused."""
    with pytest.raises(TokenError, match="not a k8s-aws-v1"):
        verify_token("eyJhbGciOi.jwt", {KEY: SECRET}, "my-cluster-1")
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=5)
    with pytest.raises(TokenError, match="expired"):
        verify_token(token, {KEY: SECRET}, "my-cluster-1", now=later)


def test_kubectl_gets_the_components_kubeconfig_with_only_the_address_swapped():
    """point_at changes the cluster's server and CA and nothing else (names, context, exec stanza)."""
    original = build_kubeconfig(
        cluster_name="my-cluster-1",
        cluster_arn=cluster_arn(),
        endpoint=CLUSTER_ENDPOINT,
        certificate_authority_data=CLUSTER_CA,
    )
    pointed = yaml.safe_load(point_at(original, "https://127.0.0.1:6443", "Q0E="))
    expected = yaml.safe_load(original)
    expected["clusters"][0]["cluster"] = {"certificate-authority-data": "Q0E=", "server": "https://127.0.0.1:6443"}
    assert pointed == expected
