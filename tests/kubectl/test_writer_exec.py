"""The aws-auth writer with its default kubeconfig: exec ``aws eks get-token``, as in a real ``pulumi up``.

Slow tier (it runs the real AWS CLI): ``pytest -m kubectl``.
"""

from __future__ import annotations

import os

import yaml

from eks_cicd_access import EksCicdAccess
from testbed.apiserver.server import KubeApiServer, Principal
from testbed.aws_auth_seed import MAP_ACCOUNTS, NODE_ROLES, OTHER_USERS
from testbed.clients import BIN, point_at
from testbed.names import ACCOUNT, CLUSTER_NAME
from testbed.provider_host import ProviderHost, from_struct, strip_secrets
from tests.support import ENTRY

#: The deployer's own key: STS says it is alice, whom aws-auth maps into system:masters.
DEPLOYER_KEY, DEPLOYER_SECRET = "AKIADEPLOYEREXAMPLE", "deployer/secret/EXAMPLEKEY"


def test_the_default_kubeconfig_writes_as_the_deployer(stack, monkeypatch, tmp_path):
    """With no kubeconfig argument, the provider's client execs `aws eks get-token` with the deployer's
    credentials; the server authenticates that token through aws-auth and the entry is written."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": DEPLOYER_KEY,
        "AWS_SECRET_ACCESS_KEY": DEPLOYER_SECRET,
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    alice = f"arn:aws:iam::{ACCOUNT}:user/alice"
    stack.run(lambda: {"k": EksCicdAccess("ci", {"cluster_name": CLUSTER_NAME, "namespace": "web"}).kubeconfig})
    entry = stack.one(ENTRY)
    inputs = strip_secrets(from_struct(entry.raw))
    exec_config = yaml.safe_load(inputs["kubeconfig"])["users"][0]["user"]["exec"]
    assert exec_config["command"] == "aws" and "get-token" in exec_config["args"]

    with KubeApiServer(
        cluster_name=CLUSTER_NAME, principals={DEPLOYER_KEY: Principal(DEPLOYER_SECRET, alice)}
    ) as server:
        server.seed_configmap(
            "kube-system", "aws-auth", {"mapRoles": NODE_ROLES, "mapUsers": OTHER_USERS, "mapAccounts": MAP_ACCOUNTS}
        )
        host = ProviderHost()
        try:
            pointed = point_at(inputs["kubeconfig"], server.url, server.ca_data)
            host.up(entry.urn, {**inputs, "kubeconfig": pointed})
        finally:
            host.pool.shutdown()
        configmap_requests = [r for r in server.requests if r.attributes.resource == "configmaps"]
        assert {r.user for r in configmap_requests} == {"alice"}
        assert [r.describe() for r in configmap_requests][-1] == "update configmaps aws-auth -> 200"
        aws_auth = server.configmap("kube-system", "aws-auth")
        assert aws_auth is not None
        written = yaml.safe_load(aws_auth["data"]["mapUsers"])
        assert written[-1] == {"userarn": f"arn:aws:iam::{ACCOUNT}:user/ci", "username": "ci", "groups": []}
