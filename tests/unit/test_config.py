"""Stack config is as strict as the component: every key translated, nothing dropped, errors in the config's
spelling, and nothing registered when config is wrong."""

import json

import pulumi
import pytest

from eks_cicd_access import EksCicdAccessArgs
from eks_cicd_access.rbac import RoleRule
from eks_cicd_access.stack_config import (
    ARGUMENTS,
    RULE_KEYS,
    ConfigError,
    config_key,
    config_spelling,
    from_json,
    role_rules_from_config,
    unknown_config_keys,
)
from tests.support import PROJECT, run_program, stack_config

RULE = {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "patch"], "resourceNames": ["web"]}
ALLOWED = "(allowed: apiGroups, resources, verbs, resourceNames)"


@pytest.mark.parametrize(
    ("key", "closest"),
    [
        ("resourceName", "resourceNames"),
        ("resource_names", "resourceNames"),
        ("verb", "verbs"),
        ("Verbs", "verbs"),
        ("apiGroup", "apiGroups"),
    ],
)
def test_a_misspelt_rule_key_is_refused_and_nothing_is_registered(stack, monkeypatch, key, closest):
    """A misspelt rule key is an error naming roleRules[0], the key as typed and the closest valid key; before, it
    was dropped and the Role granted its verbs on every object."""
    rules = json.dumps([{key if k == closest else k: v for k, v in RULE.items()}])
    with pytest.raises(pulumi.RunError) as raised:
        run_program(stack, monkeypatch, stack_config({"eks-cicd-access:roleRules": rules}))
    assert str(raised.value) == f"roleRules[0]: unknown key {key!r}; did you mean {closest!r}? {ALLOWED}"
    assert stack.resources == []


@pytest.mark.parametrize(
    ("key", "meant"),
    [("identiy", "identity"), ("rolerules", "roleRules"), ("identityMaping", "identityMapping"),
     ("namspace", "namespace"), ("zzz", None)],
)  # fmt: skip
def test_an_undeclared_key_is_refused_with_the_key_meant_and_nothing_is_registered(stack, monkeypatch, key, meant):
    """A key of the project that Pulumi.yaml does not declare would be ignored (``identiy: github-actions`` would
    deploy an IAM user and a stored key): refused, naming the key as typed, the closest declared key and the
    command that removes it, before anything is registered. Other namespaces' keys are not ours to judge."""
    config = stack_config({f"eks-cicd-access:{key}": "github-actions", "aws:region": "us-east-1"})
    with pytest.raises(pulumi.RunError) as raised:
        run_program(stack, monkeypatch, config)
    if meant:
        assert str(raised.value) == (
            f"{key}: not a config key of eks-cicd-access, so it would be ignored; did you mean {meant!r}? Remove it "
            f"with `pulumi config rm {key}`, then `pulumi config set {meant} ...`."
        )
    else:
        assert str(raised.value) == (
            f"{key}: not a config key of eks-cicd-access, so it would be ignored. Remove it with "
            f"`pulumi config rm {key}`."
        )
    assert stack.resources == []


def test_every_undeclared_key_is_named_at_once():
    """Two typos, two lines, in key order; declared keys and other namespaces pass."""
    keys = {"p:identiy", "p:identity", "p:namspace", "aws:region", "kubernetes:context"}
    assert [line.split(":")[0] for line in unknown_config_keys(keys, "p", ["identity", "namespace"])] == [
        "identiy",
        "namspace",
    ]


def test_warnings_from_config_name_the_configs_keys(stack, monkeypatch):
    """A warning about stack config speaks the config's spelling (roleRules[0], not role_rules[0]), as its errors
    do; the same component used from Python speaks Python's (tests/unit/test_warnings.py)."""
    said: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, resource=None, **_: said.append(message))
    rules = json.dumps([{"apiGroups": ["apps"], "resources": ["deployment"], "verbs": ["*"]}])
    run_program(stack, monkeypatch, stack_config({"eks-cicd-access:roleRules": rules}))
    assert [message.split(" ")[0] for message in said] == ["roleRules[0].resources:", "roleRules[0]:"]
    assert all("role_rules" not in message and "True" not in message for message in said), said


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            '[{"apiGroups": ["apps"]',
            "roleRules: is not valid JSON (Expecting ',' delimiter at line 1 column 24): '[{\"apiGroups\": [\"apps\"]'",
        ),
        ('["get"]', "roleRules[0]: must be an object with apiGroups, resources and verbs, got str 'get'"),
        (
            '[{"apiGroups": ["apps"], "resources": ["deployments"]}]',
            "roleRules[0].verbs: must be a non-empty list of strings",
        ),
        (
            '[{"apiGroups": "apps", "resources": ["deployments"], "verbs": ["get"]}]',
            "roleRules[0].apiGroups: must be a non-empty list of strings",
        ),
        ("[]", "roleRules: the list is empty; the Role would grant nothing"),
        (
            "admin",
            "roleRules: unknown preset 'admin' (presets: app, deploy-rollback, helm, helm-secrets, recipe; a list of "
            "rules; or 'none')",
        ),
    ],
)
def test_malformed_rules_are_refused_in_the_configs_spelling(stack, monkeypatch, value, message):
    """Invalid JSON names roleRules and the position; a non-object names the rule; the component's own rules judge
    the values, reported as roleRules[i].apiGroups, not role_rules[i].api_groups."""
    with pytest.raises(pulumi.RunError) as raised:
        run_program(stack, monkeypatch, stack_config({"eks-cicd-access:roleRules": value}))
    assert str(raised.value) == message
    assert stack.resources == []


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("kubernetesGroups", '"team"', "kubernetesGroups: must be a list of strings, got str"),
        (
            "kubernetesGroups",
            "[team",
            "kubernetesGroups: is not valid JSON (Expecting value at line 1 column 2): '[team'",
        ),
        ("oidcSubjects", '{"a": 1}', None),
        ("accessKeys", '"2026-11"', "accessKeys: must be a list of 1 or 2 key labels, got str"),
        ("tags", '["team"]', "tags: must be a mapping of strings to strings"),
        (
            "tags",
            "{team: web}",
            "tags: is not valid JSON (Expecting property name enclosed in double quotes at line 1 "
            "column 2): '{team: web}'",
        ),
        ("tags", '{"team": 1}', "tags: must be a mapping of strings to strings"),
        ("principalArn", "arn:aws:iam::123412341234:role/x", None),
    ],
)
def test_structured_keys_of_the_wrong_shape_are_one_line_errors(stack, monkeypatch, key, value, message):
    """A wrong shape in kubernetesGroups, oidcSubjects, accessKeys or tags is one line naming the key, never a
    traceback from inside the SDK; keys of another identity are refused by the component."""
    with pytest.raises(pulumi.RunError) as raised:
        run_program(stack, monkeypatch, stack_config({f"eks-cicd-access:{key}": value}))
    if message is None:  # a key of another identity: the component says so
        assert str(raised.value).startswith(f"{key}: only with identity ")
    else:
        assert str(raised.value) == message
    assert "\n" not in str(raised.value)
    assert stack.resources == []


def test_an_existing_principal_and_tags_from_config(stack, monkeypatch):
    """identity existing + principalArn maps that role; tags reach the AWS resources; no user or key is made."""
    arn = "arn:aws:iam::123412341234:role/ci/deployers/web-deployer"
    out = run_program(
        stack,
        monkeypatch,
        stack_config(
            {
                "eks-cicd-access:identity": "existing",
                "eks-cicd-access:principalArn": arn,
                "eks-cicd-access:iamUserName": "",
                "eks-cicd-access:tags": '{"team": "web"}',
            }
        ),
    )
    assert out["principalArn"] == (arn, False) and out["iamRoleArn"] == (arn, False)
    assert stack.of_type("aws:iam/user:User") == [] and stack.of_type("aws:iam/accessKey:AccessKey") == []
    assert stack.one("aws:iam/policy:Policy").inputs["tags"] == {"team": "web"}


def test_the_permissions_boundary_from_config(stack, monkeypatch):
    """permissionsBoundary lands on the created user."""
    boundary = "arn:aws:iam::123412341234:policy/ci-boundary"
    run_program(stack, monkeypatch, stack_config({"eks-cicd-access:permissionsBoundary": boundary}))
    assert stack.one("aws:iam/user:User").inputs["permissionsBoundary"] == boundary


def test_every_config_key_is_an_argument_in_camel_case():
    """Pulumi.yaml's keys are the component's arguments in camelCase (plus the program's two), and every argument
    but the kubeconfig the program builds is a key: the names cannot drift apart."""
    program_only = {"kubeContext", "kubeconfig"}
    assert set(PROJECT["config"]) - program_only == set(ARGUMENTS) - {"kubeconfig"}
    assert ARGUMENTS["roleBindingName"] == "role_binding_name"
    assert RULE_KEYS == {
        "apiGroups": "api_groups",
        "resources": "resources",
        "verbs": "verbs",
        "resourceNames": "resource_names",
    }
    assert set(RULE_KEYS.values()) == set(RoleRule.__annotations__)
    assert set(ARGUMENTS.values()) == set(EksCicdAccessArgs.__annotations__)


def test_the_config_spelling_of_component_messages():
    """Argument and rule names in a message become the config's, and Python's constants the config's; other words,
    values and single words stay."""
    assert config_key("iam_user_name") == "iamUserName" and config_key("namespace") == "namespace"
    assert config_spelling("role_rules[0].api_groups: x; set allow_system_namespace=True") == (
        "roleRules[0].apiGroups: x; set allowSystemNamespace=true"
    )
    assert config_spelling("attach_policy=False creates no policy; None, 'True'") == (
        "attachPolicy=false creates no policy; null, 'True'"
    )
    assert config_spelling("namespace: 'my_ns' is bad; not_an_argument") == "namespace: 'my_ns' is bad; not_an_argument"


def test_rules_translate_to_the_components_spelling():
    """A rule in manifest spelling becomes the component's, key for key; a preset name stays a name."""
    assert role_rules_from_config(json.dumps([RULE])) == [
        {"api_groups": ["apps"], "resources": ["deployments"], "verbs": ["get", "patch"], "resource_names": ["web"]}
    ]
    assert role_rules_from_config("recipe") == "recipe"
    padded = role_rules_from_config("  " + json.dumps([RULE]))  # leading blanks
    assert isinstance(padded, list) and padded[0]["api_groups"] == ["apps"]
    with pytest.raises(ConfigError, match=r"^kubernetesGroups: is not valid JSON"):
        from_json("kubernetesGroups", "")
