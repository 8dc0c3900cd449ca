"""The CI-side kubeconfig tool against moto's EKS."""

import os
import stat
from typing import Any

import pulumi
import pytest

from eks_cicd_access import EksCicdAccess
from eks_cicd_access.kubeconfig import KubeconfigError, fetch_kubeconfig, main
from tests.conftest import REGION


@pytest.fixture
def moto_cluster(moto_eks: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The ACTIVE cluster "my-cluster-1" in moto, described."""
    return moto_eks["my-cluster-1"]


def test_tool_output_equals_the_component_output(stack, moto_cluster):
    """For the same cluster, the CI tool writes exactly the component's kubeconfig output."""
    stack.mocks.cluster = {
        "arn": moto_cluster["arn"],
        "endpoint": moto_cluster["endpoint"],
        "certificateAuthorities": [moto_cluster["certificateAuthority"]],
    }
    args: Any = {"cluster_name": "my-cluster-1", "namespace": "apps"}
    out = stack.run(lambda: {"kubeconfig": EksCicdAccess("ci", args, pulumi.ResourceOptions()).kubeconfig})
    assert fetch_kubeconfig("my-cluster-1", REGION) == out["kubeconfig"][0]


def test_cli_writes_a_private_file(moto_cluster, tmp_path):
    """`--output` writes the kubeconfig readable by its owner only."""
    path = tmp_path / "kubeconfig"
    assert main(["--cluster-name", "my-cluster-1", "--region", REGION, "--output", str(path)]) == 0
    assert moto_cluster["arn"] in path.read_text()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_missing_cluster_is_a_clear_error(moto_cluster, capsys):
    """A wrong cluster name says "not found" and exits non-zero."""
    assert main(["--cluster-name", "no-such-cluster", "--region", REGION]) == 1
    assert "cluster 'no-such-cluster' not found" in capsys.readouterr().err


class FakeEks:
    """Stands in for a boto3 EKS client where moto cannot reach a state (a cluster not yet ACTIVE)."""

    def __init__(self, status: str) -> None:
        self.status = status

    def describe_cluster(self, name: str) -> dict[str, Any]:
        return {"cluster": {"name": name, "status": self.status, "arn": "arn:aws:eks:us-east-1:1:cluster/c"}}


@pytest.mark.parametrize("status", ["CREATING", "DELETING", "FAILED", "PENDING"])
def test_cluster_not_active_is_a_clear_error(status):
    """A cluster that is not serving is reported by status, not turned into a broken kubeconfig."""
    with pytest.raises(KubeconfigError, match=f"is {status}, not ACTIVE"):
        fetch_kubeconfig("c", REGION, client=FakeEks(status))


def test_no_credentials_is_a_clear_error(monkeypatch, tmp_path):
    """Without credentials the tool names the variables to set."""
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(KubeconfigError, match="no AWS credentials"):
        fetch_kubeconfig("c", REGION)
