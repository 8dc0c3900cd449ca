"""The Kubernetes side: one namespace, one Role, one RoleBinding to the CI user."""

from __future__ import annotations

from typing import cast

import pulumi
import pulumi_kubernetes as k8s

from .rbac import RoleRule


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


def namespace(name: str, parent: pulumi.Resource, namespace: pulumi.Input[str], create: bool) -> pulumi.Output[str]:
    """``<name>-namespace`` when ``create`` (retained on delete: it holds what CI deployed); its name."""
    if not create:
        return pulumi.Output.from_input(namespace)
    created = k8s.core.v1.Namespace(
        f"{name}-namespace",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=namespace),
        opts=pulumi.ResourceOptions(parent=parent, retain_on_delete=True),
    )
    return created.metadata.apply(_metadata_name)


def role_and_binding(
    name: str,
    parent: pulumi.Resource,
    *,
    namespace: pulumi.Output[str],
    role_name: str,
    role_binding_name: str,
    rules: list[RoleRule],
    username: str,
) -> pulumi.Output[str]:
    """``<name>-role`` with ``rules`` and ``<name>-role-binding`` to the User ``username``; the Role's name."""
    child = pulumi.ResourceOptions(parent=parent)
    role = k8s.rbac.v1.Role(
        f"{name}-role",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=role_name, namespace=namespace),
        rules=[_policy_rule(rule) for rule in rules],
        opts=child,
    )
    k8s.rbac.v1.RoleBinding(
        f"{name}-role-binding",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=role_binding_name, namespace=namespace),
        role_ref=k8s.rbac.v1.RoleRefArgs(
            api_group="rbac.authorization.k8s.io",
            kind="Role",
            name=role.metadata.apply(_metadata_name),
        ),
        subjects=[k8s.rbac.v1.SubjectArgs(api_group="rbac.authorization.k8s.io", kind="User", name=username)],
        opts=child,
    )
    return role.metadata.apply(_metadata_name)
