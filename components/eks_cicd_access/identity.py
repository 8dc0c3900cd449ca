"""Who CI is in AWS: an IAM user with an access key, or an IAM role assumed with an OIDC token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

import pulumi
import pulumi_aws as aws

from .args import DEFAULT_KEY_LABEL
from .aws_auth.entries import MAP_ROLES, MAP_USERS, MapKey
from .resolve import ExistingArgs, RoleArgs, UserArgs
from .trust import web_identity_trust_policy


class AccessKey(TypedDict):
    """One access key of the ``access_keys`` output."""

    id: str
    """The access key id."""
    secret: str | None
    """The secret access key; ``None`` with ``pgp_key``."""
    encrypted_secret: str | None
    """The secret encrypted with ``pgp_key`` (base64); ``None`` without it."""


@dataclass(frozen=True)
class Principal:
    """The IAM identity CI authenticates as, as the rest of the component needs it."""

    arn: pulumi.Output[str]
    """The user's or role's ARN (path included): what access entries name."""
    unique_id: pulumi.Output[str] | None
    """Stable across renames, new when re-created: what an access entry is bound to. ``None`` for a principal
    made elsewhere, whose lifecycle is not ours."""
    map_key: MapKey
    """Where aws-auth maps it: ``mapUsers`` or ``mapRoles``."""
    #: The user's name, when the principal is a user (the ``iam_user_name`` output).
    user_name: pulumi.Output[str] | None = None
    access_key_id: pulumi.Output[str | None] | None = None
    secret_access_key: pulumi.Output[str | None] | None = None
    encrypted_secret_access_key: pulumi.Output[str | None] | None = None
    access_keys: pulumi.Output[dict[str, AccessKey]] | None = None


def iam_user(
    name: str, parent: pulumi.Resource, user_args: UserArgs, policy: aws.iam.Policy, tags: dict[str, str]
) -> Principal:
    """``<name>-user``, ``<name>-policy-attachment`` and one ``<name>-access-key-<label>`` per key label."""
    child = pulumi.ResourceOptions(parent=parent)
    user = aws.iam.User(
        f"{name}-user",
        name=user_args.name,
        path=user_args.path,
        permissions_boundary=user_args.permissions_boundary,
        tags=tags,
        opts=child,
    )
    # Not aws.iam.PolicyAttachment, which takes exclusive ownership of the policy.
    aws.iam.UserPolicyAttachment(f"{name}-policy-attachment", user=user.name, policy_arn=policy.arn, opts=child)
    keys = {label: access_key(name, parent, user, label, user_args.pgp_key) for label in user_args.access_keys}
    newest = keys[user_args.access_keys[-1]] if keys else None
    return Principal(
        arn=user.arn,
        unique_id=user.unique_id,
        map_key=MAP_USERS,
        user_name=user.name,
        access_key_id=newest.id if newest else None,
        secret_access_key=pulumi.Output.secret(newest.secret) if newest else None,
        encrypted_secret_access_key=newest.encrypted_secret if newest else None,
        access_keys=pulumi.Output.secret(_key_map(keys)) if keys else None,
    )


def access_key(
    name: str, parent: pulumi.Resource, user: aws.iam.User, label: str, pgp_key: str | None
) -> aws.iam.AccessKey:
    """``<name>-access-key-<label>``. The default label's key also answers to ``<name>-access-key``, its
    name before keys had labels, so a stack made then keeps its key instead of replacing it."""
    aliases = [pulumi.Alias(name=f"{name}-access-key")] if label == DEFAULT_KEY_LABEL else None
    return aws.iam.AccessKey(
        f"{name}-access-key-{label}",
        user=user.name,
        pgp_key=pgp_key,
        opts=pulumi.ResourceOptions(parent=parent, aliases=aliases),
    )


def _key_map(keys: dict[str, aws.iam.AccessKey]) -> pulumi.Output[dict[str, AccessKey]]:
    """``{label: {"id", "secret", "encrypted_secret"}}`` for every key. AWS returns the secret in the clear
    or, with a PGP key, only encrypted: the other one is None."""
    return pulumi.Output.all(
        **{
            label: pulumi.Output.all(id=key.id, secret=key.secret, encrypted_secret=key.encrypted_secret).apply(
                lambda k: AccessKey(id=k["id"], secret=k["secret"], encrypted_secret=k["encrypted_secret"])
            )
            for label, key in keys.items()
        }
    )


def oidc_role(
    name: str, parent: pulumi.Resource, role_args: RoleArgs, policy: aws.iam.Policy, tags: dict[str, str]
) -> Principal:
    """``<name>-iam-role`` trusting only the CI platform's tokens for ``role_args.subjects``, and
    ``<name>-role-policy-attachment``; ``<name>-oidc-provider`` when asked to create it."""
    child = pulumi.ResourceOptions(parent=parent)
    if role_args.create_provider:
        provider = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc-provider",
            url=role_args.issuer_url,
            client_id_lists=[role_args.audience],
            # No thumbprint: IAM trusts GitHub's and GitLab's certificates through its own CAs.
            tags=tags,
            opts=child,
        )
        provider_arn: pulumi.Output[str] = provider.arn
    elif role_args.provider_arn is not None:
        provider_arn = pulumi.Output.from_input(role_args.provider_arn)
    else:
        provider_arn = pulumi.Output.from_input(existing_provider_arn(role_args, parent))
    role = aws.iam.Role(
        f"{name}-iam-role",
        name=role_args.name,
        path=role_args.path,
        assume_role_policy=provider_arn.apply(
            lambda arn: web_identity_trust_policy(arn, role_args.issuer_url, role_args.audience, role_args.subjects)
        ),
        max_session_duration=role_args.max_session_duration,
        permissions_boundary=role_args.permissions_boundary,
        description=f"CI jobs ({role_args.platform.identity}) assume this role with their OIDC token.",
        tags=tags,
        opts=child,
    )
    aws.iam.RolePolicyAttachment(f"{name}-role-policy-attachment", role=role.name, policy_arn=policy.arn, opts=child)
    return Principal(arn=role.arn, unique_id=role.unique_id, map_key=MAP_ROLES)


def existing_provider_arn(role_args: RoleArgs, parent: pulumi.Resource) -> str:
    """The account's IAM OIDC provider for the issuer, looked up by URL now (so a missing one fails the
    preview before anything is created); a clear error if there is none, or if it rejects our audience.

    The direct form of the invoke is used on purpose: its failure can be caught and explained, where a
    failed ``..._output`` invoke fails the program with the raw AWS message.
    """
    url = role_args.issuer_url
    try:
        found = aws.iam.get_open_id_connect_provider(url=url, opts=pulumi.InvokeOptions(parent=parent))
    except Exception as error:
        raise ValueError(
            f"oidc_provider_arn: this AWS account has no IAM OIDC provider for {url} ({error}). "
            "Create it once per account: set create_oidc_provider=True in one stack (config "
            f"createOidcProvider: true), or run `aws iam create-open-id-connect-provider --url {url} "
            f"--client-id-list {role_args.audience}`; or pass oidc_provider_arn."
        ) from None
    if role_args.audience not in (found.client_id_lists or []):
        raise ValueError(
            f"oidc_audience: the IAM OIDC provider {found.arn} does not accept audience "
            f"{role_args.audience!r} (it lists {found.client_id_lists}); add it with `aws iam "
            f"add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn {found.arn} "
            f"--client-id {role_args.audience}`"
        )
    return str(found.arn)


def existing_principal(
    name: str, parent: pulumi.Resource, existing: ExistingArgs, policy: aws.iam.Policy | None
) -> Principal:
    """The IAM user or role ``principal_arn``, made elsewhere: nothing is created for it but, with ``policy``,
    ``<name>-policy-attachment`` for a user or ``<name>-role-policy-attachment`` for a role (never exclusive)."""
    principal = existing.principal
    arn = pulumi.Output.from_input(principal.arn)
    if policy is not None:
        child = pulumi.ResourceOptions(parent=parent)
        if principal.kind == "user":
            aws.iam.UserPolicyAttachment(
                f"{name}-policy-attachment", user=principal.name, policy_arn=policy.arn, opts=child
            )
        else:
            aws.iam.RolePolicyAttachment(
                f"{name}-role-policy-attachment", role=principal.name, policy_arn=policy.arn, opts=child
            )
    is_user = principal.kind == "user"
    return Principal(
        arn=arn,
        unique_id=None,
        map_key=MAP_USERS if is_user else MAP_ROLES,
        user_name=pulumi.Output.from_input(principal.name) if is_user else None,
    )
