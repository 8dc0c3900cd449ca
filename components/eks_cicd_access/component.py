"""The ``EksCicdAccess`` component resource: it validates, then wires the pieces together."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from .args import EksCicdAccessArgs, ResolvedArgs, validate_args
from .aws_auth import MAP_USERS
from .aws_auth_entry import serving_plugin
from .claims import Claim, claim
from .cluster import authentication_mode, cluster_kubeconfig, lookup_cluster
from .identity import AccessKey, existing_principal, iam_user, oidc_role
from .k8s_objects import namespace, role_and_binding
from .mapping import access_entry, aws_auth_entry, route
from .policy import describe_cluster_policy
from .rbac import broad_rules, unserved_resources
from .stack_config import schema_names, spelt
from .trust import broad_subjects

TYPE_TOKEN = "eks-cicd-access:index:EksCicdAccess"
POLICY_DESCRIPTIONS = {
    "iam-user": "Lets a CI user describe its EKS cluster to build a kubeconfig.",
    "github-actions": "Lets CI jobs describe their EKS cluster to build a kubeconfig.",
    "gitlab-ci": "Lets CI jobs describe their EKS cluster to build a kubeconfig.",
    "existing": "Lets CI describe its EKS cluster to build a kubeconfig.",
}


class EksCicdAccess(pulumi.ComponentResource):
    """CI access to exactly one namespace of an EKS cluster: deploy and roll back, nothing else.

    Children, each named ``<name>-<suffix>``:

    - ``-policy`` (``aws.iam.Policy``): allows only ``eks:DescribeCluster``, on
      this cluster's ARN by default, so CI can build its kubeconfig.
    - The identity, by ``identity``:
      ``"iam-user"``: ``-user`` (``aws.iam.User``), ``-policy-attachment``
      (``aws.iam.UserPolicyAttachment``, not the exclusive
      ``aws.iam.PolicyAttachment``) and one ``-access-key-<label>``
      (``aws.iam.AccessKey``) per label of ``access_keys`` (default one,
      ``default``; none with ``create_access_key=False``). The secrets are
      secret outputs.
      ``"github-actions"`` / ``"gitlab-ci"``: ``-iam-role`` (``aws.iam.Role``)
      that only the platform's OIDC tokens for ``oidc_subjects`` may assume,
      ``-role-policy-attachment`` and, with ``create_oidc_provider``,
      ``-oidc-provider``. No user and no stored key.
    - ``-namespace`` (``kubernetes.core.v1.Namespace``, unless
      ``create_namespace`` is false): retained on delete, because by then it
      holds the workloads CI deployed.
    - ``-role`` / ``-role-binding`` (``kubernetes.rbac.v1``): what the mapped
      Kubernetes user may do, in that namespace only.
    - The identity mapping, by ``identity_mapping``:
      ``"aws-auth"``: ``-aws-auth-entry`` (``AwsAuthEntry``: a dynamic
      resource in a Python program, the plugin's own otherwise) writes our one entry into ``kube-system/aws-auth``
      (``mapUsers`` for a user, ``mapRoles`` for a role, path stripped) with
      compare-and-swap, and removes only that entry on delete.
      ``"access-entry"``: ``-access-entry`` (``aws.eks.AccessEntry``),
      replaced whenever the principal is re-created.
      ``"auto"``: one of these two, by the cluster's authentication mode, read at preview (the
      ``identity_mapping`` output says which).
      ``"none"``: nothing; map the principal yourself.
    """

    iam_user_name: pulumi.Output[str | None]
    """Name of the IAM user CI authenticates as (created, or ``principal_arn``'s); ``None`` for a role."""
    iam_user_arn: pulumi.Output[str | None]
    """ARN of that user; ``None`` for a role."""
    iam_role_arn: pulumi.Output[str | None]
    """ARN of the role CI assumes (with its OIDC token, or ``principal_arn``'s); ``None`` for a user."""
    principal_arn: pulumi.Output[str]
    """The user's or the role's ARN: the principal mapped into the cluster."""
    iam_policy_arn: pulumi.Output[str | None]
    """ARN of the ``eks:DescribeCluster`` policy; ``None`` for an existing principal with ``attach_policy=False``."""
    access_key_id: pulumi.Output[str | None]
    """Access key id of the last label's key (the newest); ``None`` without a key or for an OIDC identity."""
    secret_access_key: pulumi.Output[str | None]
    """Its secret (a secret output); ``None`` with ``pgp_key``, without a key or for an OIDC identity."""
    encrypted_secret_access_key: pulumi.Output[str | None]
    """The secret key encrypted with ``pgp_key`` (base64); ``None`` without ``pgp_key``."""
    access_keys: pulumi.Output[dict[str, AccessKey] | None]
    """Every access key by label: ``{"id", "secret", "encrypted_secret"}`` (a secret); ``None`` without keys.
    ``access_key_id`` and ``secret_access_key`` are the last label's."""
    namespace: pulumi.Output[str]
    """The namespace CI may deploy to."""
    role_name: pulumi.Output[str]
    """Name of the Role bound to the CI user."""
    kubernetes_username: pulumi.Output[str]
    """The Kubernetes user the IAM principal is mapped to."""
    kubeconfig: pulumi.Output[str]
    """Kubeconfig for CI, in the exec form ``aws eks update-kubeconfig`` writes (holds no credentials)."""
    identity_mapping: pulumi.Output[str]
    """The mapping taken: ``aws-auth``, ``access-entry`` or ``none`` (what ``auto`` chose, for ``auto``)."""

    def __init__(self, name: str, args: EksCicdAccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        config = validate_args(name, args)
        super().__init__(TYPE_TOKEN, name, None, opts)
        claim_all(name, self, config)
        for warning in warnings(config):
            pulumi.log.warn(spelt(warning), resource=self)

        cluster = lookup_cluster(self, config.cluster_name)
        cluster_name = pulumi.Output.from_input(config.cluster_name)

        # --- AWS: the one permission CI needs, and who CI is ------------------
        policy = (
            aws.iam.Policy(
                f"{name}-policy",
                name=config.iam_policy_name,
                description=POLICY_DESCRIPTIONS[config.identity],
                policy=cluster.arn.apply(describe_cluster_policy)
                if config.policy_resource_scope == "cluster"
                else describe_cluster_policy("*"),
                tags=config.tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            if config.create_policy
            else None
        )
        if config.user:
            assert policy is not None
            principal = iam_user(name, self, config.user, policy, config.tags)
        elif config.role:
            assert policy is not None
            principal = oidc_role(name, self, config.role, policy, config.tags)
        else:
            assert config.existing is not None
            principal = existing_principal(name, self, config.existing, policy)

        # --- Kubernetes: one namespace, one Role, one RoleBinding --------------
        # Everything in the cluster waits for the checked namespace, so a bad one from an Output fails first.
        checked_namespace = pulumi.Output.from_input(config.namespace)
        ns = namespace(name, self, checked_namespace, config.create_namespace)
        role_name = role_and_binding(
            name,
            self,
            namespace=ns,
            role_name=config.role_name,
            role_binding_name=config.role_binding_name,
            rules=config.role_rules,
            username=config.kubernetes_username,
        )

        # --- Identity mapping: IAM principal -> Kubernetes user ----------------
        ci_kubeconfig = cluster_kubeconfig(cluster, cluster_name)
        mapped_cluster = pulumi.Output.all(cluster_name, checked_namespace).apply(lambda a: a[0])
        # "auto" is decided now, from the cluster as it is: which resource to register cannot wait for an Output.
        # validate_args refuses "auto" with a cluster_name that is an Output, so the name here is plain.
        auto = config.identity_mapping == "auto"
        mode = authentication_mode(self, config.cluster_name) if auto and isinstance(config.cluster_name, str) else None
        mapping = route(config.identity_mapping, mode)
        if mapping == "aws-auth":
            aws_auth_entry(
                name,
                self,
                cluster=cluster,
                cluster_name=mapped_cluster,
                key=principal.map_key,
                principal_arn=principal.arn,
                username=config.kubernetes_username,
                groups=config.kubernetes_groups,
                kubeconfig=config.kubeconfig if config.kubeconfig is not None else ci_kubeconfig,
            )
        elif mapping == "access-entry":
            access_entry(
                name,
                self,
                cluster=cluster,
                cluster_name=mapped_cluster,
                principal_arn=principal.arn,
                principal_id=principal.unique_id,
                username=config.kubernetes_username,
                groups=config.kubernetes_groups,
                tags=config.tags,
            )

        none: pulumi.Output[str | None] = pulumi.Output.from_input(None)
        is_user = principal.map_key is MAP_USERS
        self.iam_user_name = principal.user_name or none
        self.iam_user_arn = principal.arn if is_user else none
        self.iam_role_arn = none if is_user else principal.arn
        self.principal_arn = principal.arn
        self.iam_policy_arn = policy.arn if policy else none
        self.access_key_id = principal.access_key_id or none
        self.secret_access_key = principal.secret_access_key or pulumi.Output.secret(None)
        self.encrypted_secret_access_key = principal.encrypted_secret_access_key or none
        no_keys: pulumi.Output[dict[str, AccessKey] | None] = pulumi.Output.secret(None)
        self.access_keys = principal.access_keys or no_keys
        self.namespace = ns
        self.role_name = role_name
        self.kubernetes_username = pulumi.Output.from_input(config.kubernetes_username)
        self.kubeconfig = ci_kubeconfig
        self.identity_mapping = pulumi.Output.from_input(mapping)
        outputs = {
            "iam_user_name": self.iam_user_name,
            "iam_user_arn": self.iam_user_arn,
            "iam_role_arn": self.iam_role_arn,
            "principal_arn": self.principal_arn,
            "iam_policy_arn": self.iam_policy_arn,
            "access_key_id": self.access_key_id,
            "secret_access_key": self.secret_access_key,
            "encrypted_secret_access_key": self.encrypted_secret_access_key,
            "access_keys": self.access_keys,
            "namespace": self.namespace,
            "role_name": self.role_name,
            "kubernetes_username": self.kubernetes_username,
            "kubeconfig": self.kubeconfig,
            "identity_mapping": self.identity_mapping,
        }
        # Served to another language, the engine records them by the schema's names.
        self.register_outputs(schema_names(outputs) if serving_plugin() else outputs)


def warnings(config: ResolvedArgs) -> list[str]:
    """Valid but doubtful grants, said out loud: resources no built-in group serves, wildcard Role rules, subjects
    that admit any branch."""
    found = unserved_resources(config.role_rules) + broad_rules(config.role_rules)
    if config.role:
        found += broad_subjects(config.role.platform, config.role.subjects)
    return found


def claim_all(name: str, component: pulumi.Resource, config: ResolvedArgs) -> None:
    """Claim, for this program, the IAM names this instance creates and, per cluster, the Kubernetes objects it
    creates and the principal it maps. A claim whose cluster or namespace is an Output is not checked."""
    account = component.get_provider("aws:iam/user:User")
    iam = [Claim(f"IAM user {config.user.name!r}", account)] if config.user else []
    if config.role:
        iam.append(Claim(f"IAM role {config.role.name!r}", account))
    if config.create_policy:
        iam.append(Claim(f"IAM policy {config.iam_policy_name!r}", account))
    claim(name, iam)
    if not isinstance(config.cluster_name, str) or not isinstance(config.namespace, str):
        return
    cluster, ns = (account, config.cluster_name), config.namespace
    where = f"in namespace {ns!r} of cluster {config.cluster_name!r}"
    objects = [
        Claim(f"Role {config.role_name!r} {where}", cluster),
        Claim(f"RoleBinding {config.role_binding_name!r} {where}", cluster),
    ]
    if config.create_namespace:
        objects.append(Claim(f"Namespace {ns!r} of cluster {config.cluster_name!r}", cluster))
    if config.existing and config.identity_mapping != "none":
        objects.append(
            Claim(f"the mapping of {config.existing.principal.arn!r} in cluster {config.cluster_name!r}", cluster)
        )
    claim(name, objects)
