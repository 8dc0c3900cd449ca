"""Who CI is in AWS: an IAM user with an access key, or an IAM role assumed with an OIDC token."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .args import RoleArgs, UserArgs
from .aws_auth import MAP_ROLES, MAP_USERS, MapKey
from .trust import web_identity_trust_policy


@dataclass(frozen=True)
class Principal:
    """The IAM identity CI authenticates as, as the rest of the component needs it."""

    arn: pulumi.Output[str]
    """The user's or role's ARN (path included): what access entries name."""
    unique_id: pulumi.Output[str]
    """Stable across renames, new when re-created: what an access entry is bound to."""
    map_key: MapKey
    """Where aws-auth maps it: ``mapUsers`` or ``mapRoles``."""
    user: aws.iam.User | None = None
    role: aws.iam.Role | None = None
    access_key_id: pulumi.Output[str | None] | None = None
    secret_access_key: pulumi.Output[str | None] | None = None
    encrypted_secret_access_key: pulumi.Output[str | None] | None = None


def iam_user(
    name: str, parent: pulumi.Resource, user_args: UserArgs, policy: aws.iam.Policy, tags: dict[str, str]
) -> Principal:
    """``<name>-user``, ``<name>-policy-attachment`` and, unless disabled, ``<name>-access-key``."""
    child = pulumi.ResourceOptions(parent=parent)
    user = aws.iam.User(f"{name}-user", name=user_args.name, path=user_args.path, tags=tags, opts=child)
    # Not aws.iam.PolicyAttachment, which takes exclusive ownership of the policy.
    aws.iam.UserPolicyAttachment(f"{name}-policy-attachment", user=user.name, policy_arn=policy.arn, opts=child)
    access_key_id: pulumi.Output[str | None] = pulumi.Output.from_input(None)
    secret_access_key: pulumi.Output[str | None] = pulumi.Output.secret(None)
    encrypted: pulumi.Output[str | None] = pulumi.Output.from_input(None)
    if user_args.create_access_key:
        key = aws.iam.AccessKey(f"{name}-access-key", user=user.name, pgp_key=user_args.pgp_key, opts=child)
        access_key_id = key.id
        secret_access_key = pulumi.Output.secret(key.secret)
        if user_args.pgp_key is not None:
            encrypted = key.encrypted_secret
    return Principal(
        arn=user.arn,
        unique_id=user.unique_id,
        map_key=MAP_USERS,
        user=user,
        access_key_id=access_key_id,
        secret_access_key=secret_access_key,
        encrypted_secret_access_key=encrypted,
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
        description=f"CI jobs ({role_args.platform.identity}) assume this role with their OIDC token.",
        tags=tags,
        opts=child,
    )
    aws.iam.RolePolicyAttachment(f"{name}-role-policy-attachment", role=role.name, policy_arn=policy.arn, opts=child)
    return Principal(arn=role.arn, unique_id=role.unique_id, map_key=MAP_ROLES, role=role)


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
