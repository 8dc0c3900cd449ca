"""One ``getCluster`` (EKS ``DescribeCluster``) per cluster and AWS provider per program, however many instances."""

from typing import Any

import pulumi
import pulumi_aws as aws
import yaml

from eks_cicd_access import EksCicdAccess
from testbed.mocks import EksMocks
from testbed.names import ACCOUNT, REGION


def cluster_calls(stack: Any) -> list[tuple[str, str | None]]:
    """Each getCluster call of the program: the cluster's name and the provider it went through."""
    return [
        (call.args["name"], call.provider)
        for call in stack.mocks.calls
        if call.token == "aws:eks/getCluster:getCluster"
    ]


def test_instances_on_one_cluster_share_one_lookup(stack: Any) -> None:
    """Five instances on one cluster make one getCluster call, and each still gets that cluster's kubeconfig."""

    def program() -> dict[str, Any]:
        made = [EksCicdAccess(f"ci-{i}", {"cluster_name": "c1", "namespace": f"team-{i}"}) for i in range(5)]
        return {f"k{i}": access.kubeconfig for i, access in enumerate(made)}

    out = stack.run(program)
    assert [name for name, _ in cluster_calls(stack)] == ["c1"]
    names = [yaml.safe_load(value)["clusters"][0]["name"] for value, _secret in out.values()]
    assert names == [f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/c1"] * 5


def test_each_cluster_and_each_aws_provider_is_looked_up_once(stack: Any) -> None:
    """Two clusters are two lookups; the same cluster through another AWS provider (another account or region) is
    another lookup, made through that provider; repeats of either are shared."""

    def program() -> dict[str, Any]:
        other = aws.Provider("other-account", region="eu-west-1")
        via_other = pulumi.ResourceOptions(providers=[other])
        made = [
            EksCicdAccess("a", {"cluster_name": "c1", "namespace": "a"}),
            EksCicdAccess("b", {"cluster_name": "c2", "namespace": "b"}),
            EksCicdAccess("c", {"cluster_name": "c1", "namespace": "c"}),
            EksCicdAccess("d", {"cluster_name": "c1", "namespace": "d", "iam_user_name": "d"}, via_other),
            EksCicdAccess("e", {"cluster_name": "c1", "namespace": "e", "iam_user_name": "e"}, via_other),
        ]
        return {access._name: access.kubeconfig for access in made}

    stack.run(program)
    calls = cluster_calls(stack)
    assert sorted(name for name, _ in calls) == ["c1", "c1", "c2"]
    providers = [provider for name, provider in calls if name == "c1"]
    assert len(set(providers)) == 2 and any(p and "other-account" in p for p in providers), providers


def test_separate_programs_look_up_again(stack: Any) -> None:
    """The shared lookup belongs to one program run: the next run asks the cluster again."""
    for _ in range(2):
        stack.run(lambda: {"k": EksCicdAccess("a", {"cluster_name": "c1", "namespace": "web"}).kubeconfig})
    assert [name for name, _ in cluster_calls(stack)] == ["c1", "c1"]


def test_a_suite_with_one_set_mocks_looks_up_and_claims_afresh_in_each_test() -> None:
    """A downstream suite that calls ``set_mocks`` once and runs many ``@pulumi.runtime.test`` functions: each test
    is its own program, so each asks the cluster again (no answer from an earlier test) and claims afresh (the same
    namespace in the next test is no duplicate)."""
    mocks = EksMocks()
    pulumi.runtime.set_mocks(mocks, project="downstream", stack="test", preview=False)

    @pulumi.runtime.test
    def first() -> Any:
        return EksCicdAccess("a", {"cluster_name": "c1", "namespace": "web", "iam_user_name": "a"}).kubeconfig

    @pulumi.runtime.test
    def second() -> Any:
        return EksCicdAccess("b", {"cluster_name": "c1", "namespace": "web", "iam_user_name": "b"}).kubeconfig

    first()
    second()
    assert [c.args["name"] for c in mocks.calls if c.token == "aws:eks/getCluster:getCluster"] == ["c1", "c1"]
