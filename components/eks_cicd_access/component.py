"""The ``EksCicdAccess`` component resource: it validates, then wires the pieces together."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from .access_policies import MANAGED_POLICIES
from .args import EksCicdAccessArgs
from .aws_auth.entries import MAP_USERS
from .claims import Claim, claim
from .cluster import authentication_mode, cluster_kubeconfig, lookup_cluster
from .identity import AccessKey, existing_principal, iam_user, oidc_role
from .k8s_objects import namespace, role_and_binding
from .mapping import access_entry, access_policy_associations, aws_auth_entry, check_policies_route, route
from .policy import describe_cluster_policy
from .rbac import broad_rules, secret_readers, unserved_resources
from .resolve import ExistingArgs, ResolvedArgs, RoleArgs, UserArgs, validate_args
from .stack_config import spelt
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

    Its children, each named ``<name>-<suffix>``, are listed in docs/configuration.md ("Every resource it creates").
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
    role_name: pulumi.Output[str | None]
    """Name of the Role bound to the CI user; ``None`` with ``role_rules="none"`` (no Role)."""
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

        # "auto" is decided now, from the cluster as it is: which resource to register cannot wait for an Output.
        # validate_args refuses "auto" with a cluster_name that is an Output, so the name here is plain. It is decided
        # before any resource is registered, so that access policies on an aws-auth route are refused first.
        auto = config.identity_mapping == "auto"
        mode = authentication_mode(self, config.cluster_name) if auto and isinstance(config.cluster_name, str) else None
        mapping = route(config.identity_mapping, mode)
        if config.access_policies and isinstance(config.cluster_name, str):
            check_policies_route(config.cluster_name, mapping, mode)

        cluster = lookup_cluster(self, config.cluster_name)
        cluster_name = pulumi.Output.from_input(config.cluster_name)

        # --- AWS: the one permission CI needs, and who CI is ------------------
        def describe_policy() -> aws.iam.Policy:
            return aws.iam.Policy(
                f"{name}-policy",
                name=config.iam_policy_name,
                description=POLICY_DESCRIPTIONS[config.identity],
                policy=cluster.arn.apply(describe_cluster_policy)
                if config.policy_resource_scope == "cluster"
                else describe_cluster_policy("*"),
                tags=config.tags,
                opts=pulumi.ResourceOptions(parent=self),
            )

        policy: aws.iam.Policy | None
        match config.principal:
            case UserArgs() as user:
                policy = describe_policy()
                principal = iam_user(name, self, user, policy, config.tags)
            case RoleArgs() as role:
                policy = describe_policy()
                principal = oidc_role(name, self, role, policy, config.tags)
            case ExistingArgs() as existing:
                policy = describe_policy() if existing.attach_policy else None
                principal = existing_principal(name, self, existing, policy)

        # --- Kubernetes: one namespace, one Role, one RoleBinding --------------
        # Everything in the cluster waits for the checked namespace, so a bad one from an Output fails first.
        checked_namespace = pulumi.Output.from_input(config.namespace)
        ns = namespace(name, self, checked_namespace, config.create_namespace)
        # role_rules "none": no Role, no RoleBinding (with create_namespace=False, nothing in Kubernetes at all).
        none: pulumi.Output[str | None] = pulumi.Output.from_input(None)
        role_name: pulumi.Output[str | None] = none
        if config.role_rules is not None:
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
            entry = access_entry(
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
            access_policy_associations(
                name, self, entry=entry, associations=config.access_policies, namespace=checked_namespace
            )

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
        self.register_outputs({output: getattr(self, output) for output in OUTPUTS})


#: The component's outputs: its attributes annotated ``pulumi.Output``, in order (the schema's too).
OUTPUTS: tuple[str, ...] = tuple(
    name for name, annotation in EksCicdAccess.__annotations__.items() if str(annotation).startswith("pulumi.Output[")
)


def warnings(config: ResolvedArgs) -> list[str]:
    """Valid but doubtful grants, said out loud: resources no built-in group serves, wildcard Role rules, reading
    Secrets, subjects that admit any branch."""
    rules = config.role_rules or []
    found = unserved_resources(rules) + broad_rules(rules) + secret_readers(rules)
    if isinstance(config.principal, RoleArgs):
        found += broad_subjects(config.principal.platform, config.principal.subjects)
    return found + broad_policies(config)


NO_SECRETS = "views, with no Secrets, exec or impersonation"


def broad_policies(config: ResolvedArgs) -> list[str]:
    """What each access policy asked for grants beyond deploying, said plainly: Secrets, exec, impersonation, a
    cluster scope (docs/access-policies.md)."""
    found = []
    for index, association in enumerate(config.access_policies):
        policy = MANAGED_POLICIES[association.policy]
        grants = [
            what
            for what, granted in (
                ("reads Secrets", policy.reads_secrets),
                ("may exec into pods", policy.exec),
                ("may impersonate service accounts", policy.impersonation),
            )
            if granted
        ]
        where = "in every namespace (scope 'cluster')" if association.scope == "cluster" else "in its namespaces"
        if grants or association.scope == "cluster":
            found.append(
                f"access_policies[{index}]: {policy.name} {where}: {', '.join(grants) or NO_SECRETS} "
                "(see docs/access-policies.md)"
            )
    return found


def claim_all(name: str, component: pulumi.Resource, config: ResolvedArgs) -> None:
    """Claim, for this program, the IAM names this instance creates and, per cluster, the Kubernetes objects it
    creates and the principal it maps. A claim whose cluster or namespace is an Output is not checked."""
    account = component.get_provider("aws:iam/user:User")
    iam = []
    match config.principal:
        case UserArgs(name=user):
            iam.append(Claim(f"IAM user {user!r}", account))
        case RoleArgs(name=role):
            iam.append(Claim(f"IAM role {role!r}", account))
    if config.create_policy:
        iam.append(Claim(f"IAM policy {config.iam_policy_name!r}", account))
    claim(name, iam)
    if not isinstance(config.cluster_name, str) or not isinstance(config.namespace, str):
        return
    cluster, ns = (account, config.cluster_name), config.namespace
    where = f"in namespace {ns!r} of cluster {config.cluster_name!r}"
    objects = []
    if config.role_rules is not None:
        objects += [
            Claim(f"Role {config.role_name!r} {where}", cluster),
            Claim(f"RoleBinding {config.role_binding_name!r} {where}", cluster),
        ]
    if config.create_namespace:
        objects.append(Claim(f"Namespace {ns!r} of cluster {config.cluster_name!r}", cluster))
    if isinstance(config.principal, ExistingArgs) and config.identity_mapping != "none":
        arn = config.principal.principal.arn
        objects.append(Claim(f"the mapping of {arn!r} in cluster {config.cluster_name!r}", cluster))
    claim(name, objects)
