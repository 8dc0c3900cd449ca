"""Validated arguments: every argument checked and defaulted, and the principal as one of three kinds.

:func:`validate_args` is pure, so that bad input fails at construction, naming the field and the rule, before any
resource is registered and long before AWS or Kubernetes would reject it half-way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import pulumi

from .access_policies import PolicyAssociation
from .args import (
    DEFAULT_KEY_LABEL,
    DEFAULTS,
    EXISTING_ONLY,
    IDENTITIES,
    IDENTITY_MAPPINGS,
    MAX_ACCESS_KEYS,
    OIDC_ONLY,
    OUTPUT_ARGUMENTS,
    POLICY_RESOURCE_SCOPES,
    USER_ONLY,
    EksCicdAccessArgs,
)
from .arns import PrincipalArn, check_policy_arn, check_principal_arn
from .checks import (
    check_access_policies,
    check_choice,
    check_cluster_name,
    check_iam_name,
    check_iam_path,
    check_iam_policy_name,
    check_iam_user_name,
    check_input,
    check_key_label,
    check_kubernetes_subject,
    check_namespace,
    check_object_name,
    check_tags,
    has_output,
)
from .rbac import PRESETS, RoleRule, resolve_role_rules
from .suggest import did_you_mean
from .trust import (
    GITHUB_ISSUER,
    PLATFORMS,
    TRUST_POLICY_LIMIT,
    Platform,
    check_issuer_url,
    check_subjects,
    provider_arn_issuer,
    trust_policy_size,
)


@dataclass(frozen=True)
class UserArgs:
    """The IAM user identity, validated."""

    name: str
    path: str
    #: One label per access key, oldest first; empty for no key.
    access_keys: list[str]
    pgp_key: str | None
    permissions_boundary: str | None


@dataclass(frozen=True)
class ExistingArgs:
    """An IAM user or role made elsewhere, validated."""

    principal: PrincipalArn
    attach_policy: bool


@dataclass(frozen=True)
class RoleArgs:
    """The OIDC role identity, validated."""

    platform: Platform
    issuer_url: str
    subjects: list[str]
    audience: str
    provider_arn: pulumi.Input[str] | None
    create_provider: bool
    name: str
    path: str
    max_session_duration: int
    permissions_boundary: str | None


@dataclass(frozen=True)
class ResolvedArgs:
    """Every argument with its default applied, after validation."""

    cluster_name: pulumi.Input[str]
    namespace: pulumi.Input[str]
    create_namespace: bool
    identity: str
    #: Who CI is, by ``identity``: the IAM user, the OIDC role, or the existing principal.
    principal: UserArgs | RoleArgs | ExistingArgs
    #: Whether the ``eks:DescribeCluster`` policy is created (always, unless an existing principal opts out).
    create_policy: bool
    iam_policy_name: str
    policy_resource_scope: str
    kubernetes_username: str
    kubernetes_groups: list[str]
    role_name: str
    role_binding_name: str
    #: ``None``: no Role and no RoleBinding (``role_rules="none"``).
    role_rules: list[RoleRule] | None
    identity_mapping: str
    #: The access policies to associate with the access entry (empty: none).
    access_policies: list[PolicyAssociation]
    tags: dict[str, str]
    kubeconfig: pulumi.Input[str] | None


def _defaulted(field: str, args: Mapping[str, Any], derived: str, source: str, check: Callable[[str], str]) -> str:
    """``args[field]`` checked, or its default ``derived`` from ``source``; a bad default names ``source``,
    the field the user actually gave."""
    if field in args:
        return check(args[field])
    try:
        return check(derived)
    except ValueError as error:
        reason = str(error).removeprefix(f"{field}: ")
        raise ValueError(
            f"{source}: the default {field} made from it is invalid ({reason}); change {source} or set {field}"
        ) from None


def _bool(args: Mapping[str, Any], key: str, default: bool | None = None) -> bool:
    """``args[key]``, else ``default``, else the argument's default; a non-bool is refused."""
    value = args.get(key, DEFAULTS[key] if default is None else default)
    if not isinstance(value, bool):
        raise ValueError(f"{key}: must be true or false, got {value!r}")
    return value


def _kubeconfig(value: Any) -> pulumi.Input[str] | None:
    if value is None or isinstance(value, pulumi.Output):
        return value
    if not isinstance(value, str) or not value.strip():
        raise ValueError("kubeconfig: must be a non-empty kubeconfig (YAML) when given")
    return value


def validate_args(name: str, args: Mapping[str, Any]) -> ResolvedArgs:
    """Validate ``args`` and apply defaults; raise ``ValueError`` naming the field.

    Unknown keys are rejected too: a plain dict with a misspelt key would
    otherwise silently fall back to a default.
    """
    if not isinstance(args, Mapping):
        raise ValueError(f"args: must be a dict of EksCicdAccessArgs, got {type(args).__name__}")
    known = EksCicdAccessArgs.__annotations__
    for field in args:
        if field not in known:
            raise ValueError(f"{field}: is not an argument of EksCicdAccess{did_you_mean(str(field), known)}")
    for required in ("cluster_name", "namespace"):
        if args.get(required) is None:
            raise ValueError(f"{required}: is required")
    for field, value in args.items():
        if field not in OUTPUT_ARGUMENTS and has_output(value):
            raise ValueError(
                f"{field}: must be a plain value, not a pulumi.Output: it names or shapes resources, so it must be "
                f"known while the program runs (only {', '.join(sorted(OUTPUT_ARGUMENTS))} may be Outputs)"
            )

    identity = check_choice("identity", args.get("identity", DEFAULTS["identity"]), IDENTITIES)
    principal: UserArgs | RoleArgs | ExistingArgs
    if identity == "iam-user":
        principal = _user_args(name, args)
    elif identity == "existing":
        principal = _existing_args(args)
    else:
        principal = _role_args(name, identity, args)
    principal_name = principal.principal.name if isinstance(principal, ExistingArgs) else principal.name
    role_name = _defaulted("role_name", args, f"{name}-deployer", "name", partial(check_object_name, "role_name"))
    groups = args.get("kubernetes_groups", [])
    if not isinstance(groups, list):
        raise ValueError(f"kubernetes_groups: must be a list of strings, got {type(groups).__name__}")
    allow_system = _bool(args, "allow_system_namespace")

    return ResolvedArgs(
        cluster_name=check_input("cluster_name", args["cluster_name"], check_cluster_name),
        namespace=check_input("namespace", args["namespace"], partial(check_namespace, allow_system=allow_system)),
        create_namespace=_bool(args, "create_namespace"),
        identity=identity,
        principal=principal,
        create_policy=not isinstance(principal, ExistingArgs) or principal.attach_policy,
        iam_policy_name=check_iam_policy_name(args.get("iam_policy_name", f"{principal_name}-eks-describe-cluster")),
        policy_resource_scope=check_choice(
            "policy_resource_scope",
            args.get("policy_resource_scope", DEFAULTS["policy_resource_scope"]),
            POLICY_RESOURCE_SCOPES,
        ),
        kubernetes_username=check_kubernetes_subject(
            "kubernetes_username", args.get("kubernetes_username", principal_name)
        ),
        kubernetes_groups=[check_kubernetes_subject(f"kubernetes_groups[{i}]", g) for i, g in enumerate(groups)],
        role_name=role_name,
        role_binding_name=_defaulted(
            "role_binding_name",
            args,
            f"{role_name}-binding",
            "role_name" if "role_name" in args else "name",
            partial(check_object_name, "role_binding_name"),
        ),
        role_rules=_role_rules(args),
        identity_mapping=_identity_mapping(args),
        access_policies=_access_policies(args, allow_system),
        tags=check_tags(args.get("tags", {})),
        kubeconfig=_kubeconfig(args.get("kubeconfig")),
    )


#: ``role_rules`` that mean no Role and no RoleBinding: ``None`` in Python, ``"none"`` in every language and config.
NO_ROLE = (None, "none")


def _role_rules(args: Mapping[str, Any]) -> list[RoleRule] | None:
    rules = args.get("role_rules", DEFAULTS["role_rules"])
    if rules not in NO_ROLE and not isinstance(rules, str | list | tuple):
        raise ValueError(
            f"role_rules: must be a preset name ({', '.join(sorted(PRESETS))}), a list of rules, or 'none' for no "
            f"Role, got {type(rules).__name__}"
        )
    if rules not in NO_ROLE:
        return resolve_role_rules(rules)
    for field in ("role_name", "role_binding_name"):
        if field in args:
            raise ValueError(
                f"{field}: role_rules is {rules!r}, which creates no Role and no RoleBinding; remove {field}"
            )
    return None


def _access_policies(args: Mapping[str, Any], allow_system: bool) -> list[PolicyAssociation]:
    if "access_policies" not in args:
        return []
    policies = check_access_policies(args["access_policies"], allow_system)
    mapping = args.get("identity_mapping", DEFAULTS["identity_mapping"])
    if mapping not in ("access-entry", "auto"):
        raise ValueError(
            f"access_policies: EKS associates access policies with an access entry, and identity_mapping is "
            f"{mapping!r}, which makes none; set identity_mapping='access-entry' (or 'auto' on a cluster whose "
            "authentication mode includes API), or remove access_policies"
        )
    return policies


def writes_kubernetes(config: ResolvedArgs) -> bool:
    """Whether the component may send anything to the Kubernetes API: a namespace, a Role and RoleBinding, or an
    ``aws-auth`` entry (``"auto"`` may take one, unless access policies hold it to an access entry). When not, it
    needs no Kubernetes provider and no kubeconfig: the route for a cluster whose API the deployer cannot reach."""
    maybe_aws_auth = config.identity_mapping == "aws-auth" or (
        config.identity_mapping == "auto" and not config.access_policies
    )
    return config.create_namespace or config.role_rules is not None or maybe_aws_auth


def _identity_mapping(args: Mapping[str, Any]) -> str:
    mapping = check_choice(
        "identity_mapping", args.get("identity_mapping", DEFAULTS["identity_mapping"]), IDENTITY_MAPPINGS
    )
    if mapping == "auto" and not isinstance(args["cluster_name"], str):
        raise ValueError(
            "identity_mapping: 'auto' needs cluster_name as a plain string, not an Output: the route is read from "
            "the cluster before anything is created. Set 'access-entry' or 'aws-auth' instead."
        )
    return mapping


def _refuse_existing_only(identity: str, args: Mapping[str, Any]) -> None:
    for field in EXISTING_ONLY:
        if field in args:
            raise ValueError(
                f"{field}: only with identity 'existing' (identity is {identity!r}, which creates the principal; "
                "its ARN is the principal_arn output)"
            )


def _boundary(args: Mapping[str, Any]) -> str | None:
    value = args.get("permissions_boundary")
    return None if value is None else check_policy_arn("permissions_boundary", value)


def _existing_args(args: Mapping[str, Any]) -> ExistingArgs:
    """An existing principal's arguments; whatever would create a user, role or key is refused here."""
    for field in (*USER_ONLY, *OIDC_ONLY, "create_access_key", "permissions_boundary"):
        if field in args:
            raise ValueError(
                f"{field}: identity 'existing' creates no IAM user, role or key (principal_arn was made elsewhere); "
                f"remove {field}"
            )
    principal = check_principal_arn(args.get("principal_arn"))
    attach = _bool(args, "attach_policy")
    if not attach:
        for field in ("iam_policy_name", "policy_resource_scope"):
            if field in args:
                raise ValueError(f"{field}: attach_policy=False creates no policy; remove {field}")
    return ExistingArgs(principal=principal, attach_policy=attach)


def _user_args(name: str, args: Mapping[str, Any]) -> UserArgs:
    """The IAM user's arguments; OIDC arguments are refused here."""
    _refuse_existing_only("iam-user", args)
    for field in OIDC_ONLY:
        if field in args:
            raise ValueError(f"{field}: only with identity 'github-actions' or 'gitlab-ci' (identity is 'iam-user')")
    pgp_key = args.get("pgp_key")
    if pgp_key is not None and (not isinstance(pgp_key, str) or not pgp_key.strip()):
        raise ValueError("pgp_key: must be a non-empty string when given")
    labels = _access_keys(args)
    if pgp_key is not None and not labels:
        raise ValueError("pgp_key: there is no access key to encrypt (create_access_key is false); remove pgp_key")
    return UserArgs(
        name=_defaulted("iam_user_name", args, name, "name", check_iam_user_name),
        path=check_iam_path("iam_user_path", args.get("iam_user_path", DEFAULTS["iam_user_path"])),
        access_keys=labels,
        pgp_key=pgp_key,
        permissions_boundary=_boundary(args),
    )


def _access_keys(args: Mapping[str, Any]) -> list[str]:
    """The access key labels, oldest first: ``access_keys``, or one default key, or none."""
    create = _bool(args, "create_access_key")
    labels = args.get("access_keys")
    if labels is None:
        return [DEFAULT_KEY_LABEL] if create else []
    if not create:
        raise ValueError(
            "access_keys: create_access_key=False means no key at all; remove one of access_keys and create_access_key"
        )
    if not isinstance(labels, list):
        raise ValueError(f"access_keys: must be a list of 1 or 2 key labels, got {type(labels).__name__}")
    if not labels:
        raise ValueError("access_keys: must list 1 or 2 key labels; for no key at all set create_access_key=False")
    if len(labels) > MAX_ACCESS_KEYS:
        raise ValueError(
            f"access_keys: {len(labels)} labels, but IAM allows {MAX_ACCESS_KEYS} access keys per user "
            "(two only while rotating); drop the oldest"
        )
    for i, label in enumerate(labels):
        check_key_label(f"access_keys[{i}]", label)
        if label in labels[:i]:
            raise ValueError(f"access_keys[{i}]: {label!r} is listed twice")
    return list(labels)


def _role_args(name: str, identity: str, args: Mapping[str, Any]) -> RoleArgs:
    """The OIDC role's arguments; an IAM user's are refused here (there is no user and no key)."""
    _refuse_existing_only(identity, args)
    for field in USER_ONLY:
        if field in args:
            raise ValueError(f"{field}: identity {identity!r} has no IAM user or access key; remove {field}")
    if _bool(args, "create_access_key", False):
        raise ValueError(f"create_access_key: identity {identity!r} has no IAM user or access key; remove it")
    platform = PLATFORMS[identity]
    if identity == "github-actions" and "gitlab_url" in args:
        raise ValueError("gitlab_url: only with identity 'gitlab-ci'")
    issuer = (
        GITHUB_ISSUER
        if identity == "github-actions"
        else check_issuer_url("gitlab_url", args.get("gitlab_url", DEFAULTS["gitlab_url"]))
    )
    audience = args.get("oidc_audience", DEFAULTS["oidc_audience"])
    if not isinstance(audience, str) or not audience.strip():
        raise ValueError("oidc_audience: must be a non-empty string")
    subjects = check_subjects(platform, args.get("oidc_subjects"))
    create_provider = _bool(args, "create_oidc_provider")
    provider_arn = args.get("oidc_provider_arn")
    if provider_arn is not None and create_provider:
        raise ValueError("oidc_provider_arn: give an existing provider's ARN or create_oidc_provider=True, not both")
    if isinstance(provider_arn, str):
        found = provider_arn_issuer(provider_arn)
        if found.lower() != issuer.lower():
            raise ValueError(f"oidc_provider_arn: {provider_arn!r} is the provider for {found}, not for {issuer}")
    elif provider_arn is not None and not isinstance(provider_arn, pulumi.Output):
        raise ValueError(f"oidc_provider_arn: must be a string or an Output, got {type(provider_arn).__name__}")
    size = trust_policy_size(issuer, audience, subjects)
    if size > TRUST_POLICY_LIMIT:
        raise ValueError(
            f"oidc_subjects: the trust policy would be about {size} characters, over IAM's default limit of "
            f"{TRUST_POLICY_LIMIT}; list fewer subjects, or one with a wildcard after the repository or project"
        )
    duration = args.get("max_session_duration", DEFAULTS["max_session_duration"])
    if isinstance(duration, bool) or not isinstance(duration, int) or not 3600 <= duration <= 43200:
        raise ValueError(f"max_session_duration: {duration!r} must be whole seconds from 3600 to 43200")
    return RoleArgs(
        platform=platform,
        issuer_url=issuer,
        subjects=subjects,
        audience=audience,
        provider_arn=provider_arn,
        create_provider=create_provider,
        name=_defaulted("iam_role_name", args, name, "name", partial(check_iam_name, "iam_role_name")),
        path=check_iam_path("iam_role_path", args.get("iam_role_path", DEFAULTS["iam_role_path"])),
        max_session_duration=duration,
        permissions_boundary=_boundary(args),
    )
