"""The ``EksCicdAccess`` component resource."""

from __future__ import annotations

from typing import cast

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from .args import EksCicdAccessArgs, validate_args
from .aws_auth import MAP_USERS
from .cluster import cluster_kubeconfig
from .mapping import access_entry, aws_auth_entry
from .policy import describe_cluster_policy
from .rbac import RoleRule

TYPE_TOKEN = "eks-cicd-access:index:EksCicdAccess"


def _metadata_name(meta: k8s.meta.v1.outputs.ObjectMeta) -> str:
    # The SDK types the name Optional; every object here is created with one.
    return cast(str, meta.name)


def _policy_rule(rule: RoleRule) -> k8s.rbac.v1.PolicyRuleArgs:
    return k8s.rbac.v1.PolicyRuleArgs(
        api_groups=rule["api_groups"],
        resources=rule["resources"],
        verbs=rule["verbs"],
        resource_names=rule.get("resource_names"),
    )


class EksCicdAccess(pulumi.ComponentResource):
    """CI access to exactly one namespace of an EKS cluster: deploy and roll back, nothing else.

    Children, each named ``<name>-<suffix>``:

    - ``-policy`` (``aws.iam.Policy``): allows only ``eks:DescribeCluster``, on
      this cluster's ARN by default, so CI can build its kubeconfig.
    - ``-user`` (``aws.iam.User``): the identity CI authenticates as.
    - ``-policy-attachment`` (``aws.iam.UserPolicyAttachment``): attaches the
      policy without taking exclusive ownership of it, as
      ``aws.iam.PolicyAttachment`` would.
    - ``-access-key`` (``aws.iam.AccessKey``, unless ``create_access_key`` is
      false): the credentials CI stores; the secret is a secret output.
    - ``-namespace`` (``kubernetes.core.v1.Namespace``, unless
      ``create_namespace`` is false): retained on delete, because by then it
      holds the workloads CI deployed.
    - ``-role`` / ``-role-binding`` (``kubernetes.rbac.v1``): what the mapped
      Kubernetes user may do, in that namespace only.
    - The identity mapping, by ``identity_mapping``:
      ``"aws-auth"``: ``-aws-auth-entry`` (``AwsAuthEntry``, a dynamic
      resource) writes our one entry into ``kube-system/aws-auth`` with
      compare-and-swap, and removes only that entry on delete.
      ``"access-entry"``: ``-access-entry`` (``aws.eks.AccessEntry``),
      replaced whenever the IAM user is re-created.
      ``"none"``: nothing; map the user yourself.
    """

    iam_user_name: pulumi.Output[str]
    """Name of the IAM user CI authenticates as."""
    iam_user_arn: pulumi.Output[str]
    """ARN of that user: the principal mapped into the cluster."""
    iam_policy_arn: pulumi.Output[str]
    """ARN of the ``eks:DescribeCluster`` policy."""
    access_key_id: pulumi.Output[str | None]
    """Access key id for CI; ``None`` when ``create_access_key`` is false."""
    secret_access_key: pulumi.Output[str | None]
    """Secret access key for CI (a secret); ``None`` with ``pgp_key`` or without a key."""
    encrypted_secret_access_key: pulumi.Output[str | None]
    """The secret key encrypted with ``pgp_key`` (base64); ``None`` without ``pgp_key``."""
    namespace: pulumi.Output[str]
    """The namespace CI may deploy to."""
    role_name: pulumi.Output[str]
    """Name of the Role bound to the CI user."""
    kubernetes_username: pulumi.Output[str]
    """The Kubernetes user the IAM user is mapped to."""
    kubeconfig: pulumi.Output[str]
    """Kubeconfig for CI, in the exec form ``aws eks update-kubeconfig`` writes (holds no credentials)."""

    def __init__(self, name: str, args: EksCicdAccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        config = validate_args(name, args)
        super().__init__(TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        cluster = aws.eks.get_cluster_output(name=config.cluster_name, opts=pulumi.InvokeOutputOptions(parent=self))
        cluster_name = pulumi.Output.from_input(config.cluster_name)

        # --- AWS: the identity and the one permission it needs -------------
        policy_document = (
            cluster.arn.apply(describe_cluster_policy)
            if config.policy_resource_scope == "cluster"
            else describe_cluster_policy("*")
        )
        policy = aws.iam.Policy(
            f"{name}-policy",
            name=config.iam_policy_name,
            description="Lets a CI user describe its EKS cluster to build a kubeconfig.",
            policy=policy_document,
            tags=config.tags,
            opts=child,
        )
        user = aws.iam.User(
            f"{name}-user",
            name=config.iam_user_name,
            path=config.iam_user_path,
            tags=config.tags,
            opts=child,
        )
        aws.iam.UserPolicyAttachment(f"{name}-policy-attachment", user=user.name, policy_arn=policy.arn, opts=child)

        access_key_id: pulumi.Output[str | None] = pulumi.Output.from_input(None)
        secret_access_key: pulumi.Output[str | None] = pulumi.Output.secret(None)
        encrypted_secret: pulumi.Output[str | None] = pulumi.Output.from_input(None)
        if config.create_access_key:
            key = aws.iam.AccessKey(
                f"{name}-access-key",
                user=user.name,
                pgp_key=config.pgp_key,
                opts=child,
            )
            access_key_id = key.id
            secret_access_key = pulumi.Output.secret(key.secret)
            if config.pgp_key is not None:
                encrypted_secret = key.encrypted_secret

        # --- Kubernetes: one namespace, one Role, one RoleBinding ------------
        if config.create_namespace:
            ns = k8s.core.v1.Namespace(
                f"{name}-namespace",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=config.namespace),
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
            )
            namespace: pulumi.Output[str] = ns.metadata.apply(_metadata_name)
        else:
            namespace = pulumi.Output.from_input(config.namespace)

        role = k8s.rbac.v1.Role(
            f"{name}-role",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=config.role_name, namespace=namespace),
            rules=[_policy_rule(rule) for rule in config.role_rules],
            opts=child,
        )
        k8s.rbac.v1.RoleBinding(
            f"{name}-role-binding",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=config.role_binding_name, namespace=namespace),
            role_ref=k8s.rbac.v1.RoleRefArgs(
                api_group="rbac.authorization.k8s.io",
                kind="Role",
                name=role.metadata.apply(_metadata_name),
            ),
            subjects=[
                k8s.rbac.v1.SubjectArgs(
                    api_group="rbac.authorization.k8s.io",
                    kind="User",
                    name=config.kubernetes_username,
                )
            ],
            opts=child,
        )

        # --- Identity mapping: IAM user -> Kubernetes user -------------------
        ci_kubeconfig = cluster_kubeconfig(cluster, cluster_name)
        if config.identity_mapping == "aws-auth":
            aws_auth_entry(
                name,
                self,
                cluster=cluster,
                cluster_name=cluster_name,
                key=MAP_USERS,
                principal_arn=user.arn,
                username=config.kubernetes_username,
                groups=config.kubernetes_groups,
                kubeconfig=config.kubeconfig if config.kubeconfig is not None else ci_kubeconfig,
            )
        elif config.identity_mapping == "access-entry":
            access_entry(
                name,
                self,
                cluster_name=config.cluster_name,
                principal_arn=user.arn,
                principal_id=user.unique_id,
                username=config.kubernetes_username,
                groups=config.kubernetes_groups,
                tags=config.tags,
            )

        self.iam_user_name = user.name
        self.iam_user_arn = user.arn
        self.iam_policy_arn = policy.arn
        self.access_key_id = access_key_id
        self.secret_access_key = secret_access_key
        self.encrypted_secret_access_key = encrypted_secret
        self.namespace = namespace
        self.role_name = role.metadata.apply(_metadata_name)
        self.kubernetes_username = pulumi.Output.from_input(config.kubernetes_username)
        self.kubeconfig = ci_kubeconfig
        self.register_outputs(
            {
                "iam_user_name": self.iam_user_name,
                "iam_user_arn": self.iam_user_arn,
                "iam_policy_arn": self.iam_policy_arn,
                "access_key_id": self.access_key_id,
                "secret_access_key": self.secret_access_key,
                "encrypted_secret_access_key": self.encrypted_secret_access_key,
                "namespace": self.namespace,
                "role_name": self.role_name,
                "kubernetes_username": self.kubernetes_username,
                "kubeconfig": self.kubeconfig,
            }
        )
