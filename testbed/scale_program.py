"""The program ``benchmarks/engine.py`` times under the real engine: N instances on one cluster, two ways.

Config (``eks-cicd-bench:``): ``instances`` (N), ``mode`` and the secret ``kubeconfig``.

- ``component``: N ``EksCicdAccess``, as a user's program makes them;
- ``flat``: the same resources with the same inputs (user, policy, attachment, key, namespace, Role, RoleBinding,
  aws-auth entry), registered directly with one shared cluster lookup: no component, no validation. The floor.
- ``flat-parented``: ``flat``, with each instance's resources under an empty ``ComponentResource``: what one
  component resource costs the engine, without this package's code.

It is copied into a project directory as ``__main__.py``; the package must be importable (the virtualenv).
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from eks_cicd_access import EksCicdAccess
from eks_cicd_access.aws_auth.resource import AwsAuthEntry
from eks_cicd_access.component import POLICY_DESCRIPTIONS
from eks_cicd_access.policy import describe_cluster_policy
from eks_cicd_access.rbac import DEPLOY_ROLLBACK

CLUSTER = "my-cluster-1"
ROLE = "cicd-access-deployer"


def component(i: int, kubeconfig: pulumi.Output[str], provider: k8s.Provider) -> pulumi.Output[str]:
    access = EksCicdAccess(
        f"ci-{i}",
        {"cluster_name": CLUSTER, "namespace": f"team-{i}", "iam_user_name": f"ci-{i}", "kubeconfig": kubeconfig},
        opts=pulumi.ResourceOptions(providers=[provider]),
    )
    return access.access_key_id.apply(str)


def flat(
    i: int,
    kubeconfig: pulumi.Output[str],
    provider: k8s.Provider,
    cluster: pulumi.Output[aws.eks.GetClusterResult],
    parent: pulumi.Resource | None = None,
) -> pulumi.Output[str]:
    name = f"ci-{i}"
    on_cluster = pulumi.ResourceOptions(provider=provider, parent=parent)
    on_aws = pulumi.ResourceOptions(parent=parent)
    policy = aws.iam.Policy(
        f"{name}-policy",
        name=f"{name}-eks-describe-cluster",
        description=POLICY_DESCRIPTIONS["iam-user"],
        policy=cluster.arn.apply(describe_cluster_policy),
        tags={},
        opts=on_aws,
    )
    user = aws.iam.User(f"{name}-user", name=name, path="/", tags={}, opts=on_aws)
    aws.iam.UserPolicyAttachment(f"{name}-policy-attachment", user=user.name, policy_arn=policy.arn, opts=on_aws)
    key = aws.iam.AccessKey(f"{name}-access-key-default", user=user.name, opts=on_aws)
    namespace = k8s.core.v1.Namespace(
        f"{name}-namespace",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=f"team-{i}"),
        opts=pulumi.ResourceOptions(provider=provider, retain_on_delete=True, parent=parent),
    )
    role = k8s.rbac.v1.Role(
        f"{name}-role",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=ROLE, namespace=namespace.metadata.name),
        rules=[
            k8s.rbac.v1.PolicyRuleArgs(
                api_groups=rule["api_groups"],
                resources=rule["resources"],
                verbs=rule["verbs"],
                resource_names=rule.get("resource_names"),
            )
            for rule in DEPLOY_ROLLBACK
        ],
        opts=on_cluster,
    )
    k8s.rbac.v1.RoleBinding(
        f"{name}-role-binding",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=f"{ROLE}-binding", namespace=namespace.metadata.name),
        role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="Role", name=role.metadata.name),
        subjects=[k8s.rbac.v1.SubjectArgs(api_group="rbac.authorization.k8s.io", kind="User", name=name)],
        opts=on_cluster,
    )
    AwsAuthEntry(
        f"{name}-aws-auth-entry",
        {
            "cluster": CLUSTER,
            "key": "mapUsers",
            "arn": user.arn,
            "username": name,
            "groups": [],
            "kubeconfig": kubeconfig,
        },
    )
    return key.id


config = pulumi.Config()
count = config.require_int("instances")
mode = config.require("mode")
kubeconfig = config.require_secret("kubeconfig")
provider = k8s.Provider("cluster", kubeconfig=kubeconfig, enable_server_side_apply=True)
if mode == "component":
    keys = [component(i, kubeconfig, provider) for i in range(count)]
elif mode == "flat":
    cluster = aws.eks.get_cluster_output(name=CLUSTER)
    keys = [flat(i, kubeconfig, provider, cluster) for i in range(count)]
elif mode == "flat-parented":  # flat, each instance's resources under an empty component: the engine's cost of one
    cluster = aws.eks.get_cluster_output(name=CLUSTER)
    groups = [pulumi.ComponentResource("eks-cicd-bench:index:Group", f"ci-{i}") for i in range(count)]
    keys = [flat(i, kubeconfig, provider, cluster, groups[i]) for i in range(count)]
    for group in groups:
        group.register_outputs({})
else:
    raise pulumi.RunError(f"mode: {mode!r} is not 'component', 'flat' or 'flat-parented'")
pulumi.export("accessKeyIds", pulumi.Output.all(*keys))
