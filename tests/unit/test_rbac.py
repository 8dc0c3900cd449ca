"""Role rule presets and custom rules, without mocks."""

import pytest

from eks_cicd_access.rbac import RoleRule, resolve_role_rules


def test_deploy_rollback_preset_is_minimal():
    """The default grants deployments get/list/watch/create/patch and replicasets list, in apps only."""
    assert resolve_role_rules("deploy-rollback") == [
        {"api_groups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list", "watch", "create", "patch"]},
        {"api_groups": ["apps"], "resources": ["replicasets"], "verbs": ["list"]},
    ]


def test_recipe_preset_reproduces_the_recipe_role():
    """The "recipe" preset is the recipe's Role rule for rule."""
    verbs = ["list", "get", "create", "update", "delete", "watch", "patch"]
    assert resolve_role_rules("recipe") == [
        {"api_groups": ["extensions", "apps"], "resources": ["replicasets"], "verbs": verbs},
        {"api_groups": ["extensions", "apps"], "resources": ["deployments"], "verbs": verbs},
    ]


def test_custom_rules_replace_the_preset_and_are_copied():
    """A list of rules is used as given (resourceNames kept), and later edits to it do not leak in."""
    rules: list[RoleRule] = [
        {"api_groups": ["apps"], "resources": ["deployments"], "verbs": ["get"], "resource_names": ["web"]}
    ]
    resolved = resolve_role_rules(rules)
    rules[0]["verbs"].append("delete")
    assert resolved == [
        {"api_groups": ["apps"], "resources": ["deployments"], "verbs": ["get"], "resource_names": ["web"]}
    ]


def test_presets_are_not_shared_mutable_state():
    """Mutating a resolved preset cannot change the preset for the next component."""
    resolve_role_rules("deploy-rollback")[0]["verbs"].append("delete")
    assert "delete" not in resolve_role_rules("deploy-rollback")[0]["verbs"]


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ("admin", r"role_rules: unknown preset 'admin'"),
        ([], r"role_rules: the list is empty"),
        (
            [{"api_groups": ["apps"], "resources": ["deployments"], "verbs": []}],
            r"role_rules\[0\]\.verbs: must be a non-empty",
        ),
        (
            [{"api_groups": ["apps"], "resources": [], "verbs": ["get"]}],
            r"role_rules\[0\]\.resources: must be a non-empty",
        ),
        (
            [{"api_groups": [], "resources": ["pods"], "verbs": ["get"]}],
            r"role_rules\[0\]\.api_groups: must be a non-empty",
        ),
        ([{"resources": ["pods"], "verbs": ["get"]}], r"role_rules\[0\]\.api_groups"),
        (
            [{"api_groups": [""], "resources": ["pods"], "verbs": ["lsit"]}],
            r"role_rules\[0\]\.verbs: unknown verb 'lsit'; did you mean 'list'\?",
        ),
        (
            [{"api_groups": [""], "resources": [""], "verbs": ["get"]}],
            r"role_rules\[0\]\.resources: must not contain an empty",
        ),
        (
            [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}],
            r"role_rules\[0\]: unknown key 'apiGroups'; did you mean 'api_groups'\?",
        ),
        ([{"api_groups": [""], "resources": ["pods"], "verbs": ["get"], "resource_names": [""]}], r"resource_names"),
        (["pods"], r"role_rules\[0\]: must be a mapping"),
    ],
)
def test_bad_rules_name_the_field_and_rule(rules, message):
    """Each malformed rule is a ValueError naming role_rules, the index and what is wrong."""
    with pytest.raises(ValueError, match=message):
        resolve_role_rules(rules)


def test_core_group_empty_string_is_allowed():
    """apiGroups [""] is the core group, not an empty list."""
    assert resolve_role_rules([{"api_groups": [""], "resources": ["pods"], "verbs": ["get"]}])[0]["api_groups"] == [""]
