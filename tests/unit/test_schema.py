"""The plugin's schema is generated from the arguments' definitions, and the plugin's pure adapters.

The schema is the package's contract with every other language: these tests pin that it says what the Python
definitions say (names, types, plainness, defaults, secrets, descriptions), so that neither can drift.
"""

from __future__ import annotations

import ast
import json
import re
import typing
from typing import Any

import pytest
import yaml

from eks_cicd_access import args as args_module
from eks_cicd_access.args import DEFAULTS, IDENTITIES, IDENTITY_MAPPINGS, OUTPUT_ARGUMENTS, EksCicdAccessArgs
from eks_cicd_access.aws_auth.resource import TYPE_TOKEN as ENTRY
from eks_cicd_access.aws_auth.resource import AwsAuthEntryArgs
from eks_cicd_access.component import OUTPUTS
from eks_cicd_access.component import TYPE_TOKEN as COMPONENT
from eks_cicd_access.plugin.naming import _camel_keys
from eks_cicd_access.plugin.schema import VERSION, description, fields, package_schema, shape, token
from eks_cicd_access.plugin.servicer import InvalidInputs, component_args
from eks_cicd_access.resolve import RoleArgs, UserArgs, validate_args
from eks_cicd_access.stack_config import config_key
from tests.support import ROOT

SCHEMA = package_schema()


def resource(token_: str) -> dict[str, Any]:
    found: dict[str, Any] = SCHEMA["resources"][token_]
    return found


def test_the_checked_in_schema_is_the_generators_output():
    """provider/schema.json is, byte for byte, the schema the plugin serves: a change to the arguments or outputs
    shows in review as a change to it (regenerate: venv/bin/python -m testbed.docs)."""
    from testbed.docs import SCHEMA as CHECKED_IN
    from testbed.docs import schema_text

    assert CHECKED_IN.read_text() == schema_text(), "run: venv/bin/python -m testbed.docs"


def test_the_component_inputs_are_the_typeddict_in_camel_case():
    """Every argument of ``EksCicdAccessArgs`` is an input, in order, camelCased; only the two without a default
    are required."""
    inputs = resource(COMPONENT)["inputProperties"]
    assert list(inputs) == [config_key(name) for name in EksCicdAccessArgs.__annotations__]
    assert resource(COMPONENT)["requiredInputs"] == ["clusterName", "namespace"]


def test_only_the_output_arguments_may_be_outputs():
    """The inputs not marked ``plain`` are exactly ``OUTPUT_ARGUMENTS``: what the component lets be an Output."""
    inputs = resource(COMPONENT)["inputProperties"]
    assert {name for name, spec in inputs.items() if not spec.get("plain")} == {config_key(a) for a in OUTPUT_ARGUMENTS}


def test_the_defaults_are_the_ones_validation_applies():
    """Each schema default is ``DEFAULTS``'s, and validation of the minimal arguments applies the same ones."""
    inputs = resource(COMPONENT)["inputProperties"]
    assert {name: spec["default"] for name, spec in inputs.items() if "default" in spec} == {
        config_key(k): v
        for k, v in DEFAULTS.items()
        if k != "role_rules"  # a oneOf: described, not typed
    }
    assert "default" not in inputs["roleRules"] and '`"deploy-rollback"`, default' in inputs["roleRules"]["description"]
    resolved = validate_args("ci", {"cluster_name": "c", "namespace": "team-a"})
    assert resolved.create_namespace is DEFAULTS["create_namespace"]
    assert (resolved.identity, resolved.identity_mapping) == (DEFAULTS["identity"], DEFAULTS["identity_mapping"])
    assert resolved.policy_resource_scope == DEFAULTS["policy_resource_scope"]
    assert isinstance(resolved.principal, UserArgs) and resolved.principal.path == DEFAULTS["iam_user_path"]
    github = validate_args(
        "ci", {"cluster_name": "c", "namespace": "n", "identity": "github-actions", "oidc_subjects": ["repo:a/b:*"]}
    )
    role = github.principal
    assert isinstance(role, RoleArgs)
    assert (role.audience, role.max_session_duration, role.path) == (
        DEFAULTS["oidc_audience"], DEFAULTS["max_session_duration"], DEFAULTS["iam_role_path"])  # fmt: skip


def test_the_enums_are_the_literals():
    """``identity`` and ``identityMapping`` are enums whose values are the accepted ones."""
    types = SCHEMA["types"]
    values = {name: [v["value"] for v in types[token(name)]["enum"]] for name in ("Identity", "IdentityMapping")}
    assert values == {"Identity": list(IDENTITIES), "IdentityMapping": list(IDENTITY_MAPPINGS)}
    assert list(typing.get_args(args_module.Identity)) == list(IDENTITIES)
    inputs = resource(COMPONENT)["inputProperties"]
    assert inputs["identity"]["$ref"] == f"#/types/{token('Identity')}"
    assert resource(ENTRY)["inputProperties"]["key"]["$ref"] == f"#/types/{token('MapKey')}"


def test_role_rules_are_a_preset_or_typed_rules():
    """``roleRules`` is a plain string or a plain array of ``RoleRule`` objects whose keys are a Role manifest's
    (plain down to the elements, so that no SDK asks for Inputs there)."""
    assert resource(COMPONENT)["inputProperties"]["roleRules"]["oneOf"] == [
        {"type": "string", "plain": True},
        {"type": "array", "items": {"$ref": f"#/types/{token('RoleRule')}", "plain": True}, "plain": True},
    ]
    rule = SCHEMA["types"][token("RoleRule")]
    assert list(rule["properties"]) == ["apiGroups", "resources", "verbs", "resourceNames"]
    assert rule["required"] == ["apiGroups", "resources", "verbs"]


def test_the_outputs_are_the_components_and_the_secrets_are_marked():
    """The component's properties are its annotated outputs (camelCased), the ones it registers (``OUTPUTS``),
    none marked secret (its keys are secret by value: a marked one breaks the Java SDK); both resources' kubeconfig
    inputs and the entry's kubeconfig output are marked."""
    properties = resource(COMPONENT)["properties"]
    assert list(properties) == [config_key(name) for name in OUTPUTS]
    assert [name for name, spec in properties.items() if spec.get("secret")] == []
    assert resource(COMPONENT)["inputProperties"]["kubeconfig"]["secret"] is True
    assert resource(ENTRY)["inputProperties"]["kubeconfig"]["secret"] is True
    assert resource(ENTRY)["properties"]["kubeconfig"]["secret"] is True
    # roleName is optional: null with roleRules "none" (no Role).
    assert set(resource(COMPONENT)["required"]) == {"principalArn", "namespace", "kubernetesUsername", "kubeconfig",
                                                     "identityMapping"}  # fmt: skip


def test_the_entry_resource_is_a_custom_resource_of_its_typeddict():
    """``AwsAuthEntry`` is not a component; its inputs are ``AwsAuthEntryArgs``, all Inputs, ``groups`` optional."""
    entry = resource(ENTRY)
    assert "isComponent" not in entry
    assert list(entry["inputProperties"]) == list(AwsAuthEntryArgs.__annotations__)
    assert not any(spec.get("plain") for spec in entry["inputProperties"].values())
    assert entry["requiredInputs"] == ["cluster", "key", "arn", "username", "kubeconfig"]


def _described(where: str, spec: dict[str, Any]) -> list[str]:
    return [f"{where}.{name}" for name, prop in spec.items() if not prop.get("description", "").strip()]


def _all_properties() -> list[dict[str, Any]]:
    found = []
    for spec in SCHEMA["resources"].values():
        found += [*spec["inputProperties"].values(), *spec["properties"].values()]
    for spec in SCHEMA["types"].values():
        found += list(spec.get("properties", {}).values())
    return found


def test_every_property_has_a_description_without_python_markup():
    """Every input, output and type property is described, in Markdown (no RST double backticks, no
    ``snake_case`` argument names, no Python ``True``/``False``/``None``)."""
    missing = []
    for name, spec in SCHEMA["resources"].items():
        missing += _described(name, spec["inputProperties"]) + _described(name, spec["properties"])
    for name, spec in SCHEMA["types"].items():
        missing += _described(name, spec.get("properties", {}))
    assert missing == []
    text = json.dumps(SCHEMA)
    assert "``" not in text
    everything = [*_all_properties(), *SCHEMA["resources"].values(), *SCHEMA["types"].values()]
    described = json.dumps([spec.get("description", "") for spec in everything])
    assert not re.findall(r"\b(?:True|False|None)\b", described), "Python constants in a description"
    assert not [a for a in EksCicdAccessArgs.__annotations__ if "_" in a and f"`{a}`" in text]


def test_a_field_without_a_docstring_is_refused():
    """The generator refuses to emit an undescribed field (a schema input with no description)."""

    class Bare(typing.TypedDict):
        name: str

    with pytest.raises(ValueError, match=r"Bare\.name: has no docstring"):
        fields(Bare)


@pytest.mark.parametrize(
    ("annotation", "spec", "optional", "plain"),
    [
        ("str", {"type": "string"}, False, True),
        ("NotRequired[bool]", {"type": "boolean"}, True, True),
        ("NotRequired[pulumi.Input[str]]", {"type": "string"}, True, False),
        ("pulumi.Output[str | None]", {"type": "string"}, True, False),
        ("list[str]", {"type": "array", "items": {"type": "string"}}, False, True),
        ("dict[str, str]", {"type": "object", "additionalProperties": {"type": "string"}}, False, True),
        ("str | int", {"oneOf": [{"type": "string"}, {"type": "integer"}]}, False, True),
    ],
)
def test_the_annotation_shapes(annotation: str, spec: dict[str, Any], optional: bool, plain: bool):
    """Each annotation shape the arguments use becomes the schema type, optionality and plainness it means."""
    found = shape(ast.parse(annotation, mode="eval").body)
    assert (found.spec, found.optional, found.plain) == (spec, optional, plain)


def test_an_unknown_annotation_is_refused():
    """A type the generator does not know is an error, not a silently untyped property."""
    with pytest.raises(ValueError, match="unsupported annotation 'set\\[str\\]'"):
        shape(ast.parse("set[str]", mode="eval").body)


def test_descriptions_are_markdown_in_the_schemas_spelling():
    """RST roles and double backticks become Markdown code; argument names their camelCase."""
    assert description(":class:`~eks_cicd_access.EksCicdAccess` with ``role_binding_name``") == (
        "`EksCicdAccess` with `roleBindingName`"
    )
    assert description("Default ``True``; ``None`` without it; ``attach_policy=False``") == (
        "Default `true`; `null` without it; `attachPolicy=false`"
    )


def test_construct_inputs_become_the_components_arguments():
    """Construct's camelCase inputs (rule keys too) become the snake_case arguments; tag keys are left alone; an
    unknown key is kept as the user spelt it, for validation to name."""
    rules = [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]}]
    assert component_args(
        {"clusterName": "c", "roleRules": rules, "tags": {"team_name": "a"}, "nameSpace": "x", "pgpKey": None}
    ) == {
        "cluster_name": "c",
        "role_rules": [{"api_groups": ["apps"], "resources": ["deployments"], "verbs": ["get"]}],
        "tags": {"team_name": "a"},
        "nameSpace": "x",
    }


def test_an_input_equal_to_its_default_counts_as_not_given():
    """The SDKs send the schema's defaults: ``attachPolicy: true`` and ``createAccessKey: true`` with a role are
    dropped (the component would refuse them there), while a non-default value stays."""
    sent = {"clusterName": "c", "attachPolicy": True, "createAccessKey": True, "identity": "iam-user"}
    assert component_args({**sent, "maxSessionDuration": 7200}) == {"cluster_name": "c", "max_session_duration": 7200}
    assert component_args({"maxSessionDuration": 3600.0, "createNamespace": 1}) == {"create_namespace": 1}


def test_whole_numbers_from_the_wire_are_integers():
    """Numbers come over gRPC as floats: a whole one for an integer input is an int (``maxSessionDuration: 7200`` from
    TypeScript is 7200), anything else is left for validation to refuse."""
    assert component_args({"maxSessionDuration": 7200.0}) == {"max_session_duration": 7200}
    assert type(component_args({"maxSessionDuration": 7200.0})["max_session_duration"]) is int
    assert component_args({"maxSessionDuration": 7200.5, "namespace": 1.0}) == {
        "max_session_duration": 7200.5, "namespace": 1.0}  # fmt: skip


def test_access_keys_go_out_as_the_access_key_type():
    """The ``accessKeys`` output's entries carry the ``AccessKey`` type's camelCase names."""
    assert _camel_keys({"default": {"id": "AKIA", "secret": None, "encrypted_secret": "x"}}) == {
        "default": {"id": "AKIA", "secret": None, "encryptedSecret": "x"}
    }
    assert _camel_keys(None) is None


def test_bad_construct_input_is_named_as_the_schema_spells_it():
    """A validation error from Construct names the field in camelCase, and so does its message."""
    from eks_cicd_access.plugin import servicer as provider

    with pytest.raises(InvalidInputs) as raised:
        provider.EksCicdAccessProvider().construct(
            "ci", COMPONENT, {"clusterName": "c", "namespace": "team-a", "roleBindingName": "a/b"}
        )
    assert raised.value.field == "roleBindingName"
    assert str(raised.value).startswith("roleBindingName: 'a/b' must be")


def test_the_versions_agree():
    """The schema's, the plugin's and the Python package's versions are one."""
    project = (ROOT / "pyproject.toml").read_text()
    assert f'version = "{VERSION}"' in project
    assert SCHEMA["version"] == VERSION


def test_the_program_config_is_typed_as_the_schema():
    """Pulumi.yaml's config keys are schema inputs of the same type (the program and the plugin take one set of
    arguments); config spells the structured ones, ``roleRules``, ``tags`` and ``accessPolicies``, as text (a preset or
    JSON)."""
    inputs = resource(COMPONENT)["inputProperties"]
    config = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    as_text = {"roleRules", "tags", "accessPolicies"}
    program_only = {"kubeContext", "kubeconfig"}  # the program's own (tests/unit/test_config.py)
    for key, spec in config.items():
        if key in program_only:
            continue
        expected = "string" if key in as_text else inputs[key]["type"]
        assert spec["type"] == expected, key


def test_the_docs_table_names_the_schemas_resources_and_entry_inputs():
    """docs/other-languages.md's table of the plugin's resources names both tokens, and the entry's row every input
    of the schema, in order: the text cannot drift from the schema."""
    text = (ROOT / "docs" / "other-languages.md").read_text()
    rows = {line.split("|")[1].strip().strip("`"): line for line in text.splitlines() if line.startswith("| `eks-")}
    assert set(rows) == set(SCHEMA["resources"])
    named = re.findall(r"`(\w+)`", rows[ENTRY].split("|")[3])
    assert [n for n in named if n in resource(ENTRY)["inputProperties"]] == list(resource(ENTRY)["inputProperties"])


def test_an_entry_call_runs_while_every_thread_of_the_sdk_waits_on_the_engine() -> None:
    """The plugin's AwsAuthEntry calls never queue behind the SDK's blocking RPCs: with the event loop's default
    executor (where a Construct's RegisterResource waits for the engine, which waits for our Check) held by a
    blocked thread, a Check still completes (on a shared pool it would wait for ever: the YAML preview's hang)."""
    import asyncio
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from eks_cicd_access.plugin.servicer import _call

    async def with_the_default_executor_blocked() -> str:
        loop = asyncio.get_running_loop()
        loop.set_default_executor(ThreadPoolExecutor(max_workers=1))
        engine_answers = threading.Event()
        register_resource = loop.run_in_executor(None, engine_answers.wait)  # the SDK's RPC, holding the only thread
        try:
            return str(await asyncio.wait_for(_call(None, lambda: "checked"), timeout=30))
        finally:
            engine_answers.set()
            await register_resource

    assert asyncio.run(with_the_default_executor_blocked()) == "checked"
