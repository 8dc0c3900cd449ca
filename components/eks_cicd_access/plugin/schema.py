"""The Pulumi package schema of the ``eks-cicd-access`` plugin, generated from the Python definitions.

One source of truth: every input, output and nested type of the schema is read
from the ``TypedDict`` of the arguments and the annotated outputs, with the
docstring under each field as its description and ``args.DEFAULTS`` as its
default. The annotations are read from the source (they are strings under
``from __future__ import annotations``, which ``typing.get_type_hints`` cannot
evaluate for ``pulumi.Input``), so this module knows the few shapes they take:

- ``NotRequired[X]``: optional; every other ``TypedDict`` field is required.
- ``pulumi.Input[X]``: the field may be an Output; any other input is
  ``plain`` (it names or shapes resources, so it must be known).
- ``pulumi.Output[X]``: an output; ``X | None`` is an optional one.
- ``str``, ``bool``, ``int``, ``list[X]``, ``dict[str, X]``, ``X | Y``
  (``oneOf``), a ``Literal`` alias (an enum type) and a ``TypedDict`` (an
  object type).

Names are camelCase, as in every Pulumi schema (the SDK generators turn them
back into ``snake_case`` for Python); so are the argument names quoted in the
descriptions.
"""

from __future__ import annotations

import ast
import functools
import inspect
import json
import re
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import args as args_module
from .. import component, identity, rbac
from ..aws_auth import resource
from ..stack_config import config_key, config_spelling

PACKAGE = "eks-cicd-access"
#: The component's description in the schema (the class docstring of generated SDKs): what it creates.
COMPONENT_DESCRIPTION = Path(__file__).with_name("EksCicdAccess.md")
#: The plugin's and the schema's version; the Python package's too.
VERSION = "0.3.0"

#: The object types, by their Python (and schema) name.
_OBJECTS: dict[str, type] = {
    "RoleRule": rbac.RoleRule,
    "AccessKey": identity.AccessKey,
    "AccessPolicy": args_module.AccessPolicy,
}
#: The enums, by their Python name: the schema's name, and the ``Literal`` of their values.
_ENUMS: dict[str, tuple[str, Any]] = {
    "Identity": ("Identity", args_module.Identity),
    "IdentityMapping": ("IdentityMapping", args_module.IdentityMapping),
    "PolicyResourceScope": ("PolicyResourceScope", args_module.PolicyResourceScope),
    "AccessScope": ("AccessScope", args_module.AccessScope),
    "MapKeyName": ("MapKey", resource.MapKeyName),
}
#: The custom resource's outputs that the schema marks secret, on top of secret inputs (each SDK then asks the engine
#: for them encrypted, with ``additionalSecretOutputs``).
SECRET_OUTPUTS = {resource.TYPE_TOKEN: {"kubeconfig"}}
#: The component's secret outputs, which the schema does not mark: they are secret by value (the plugin's Construct
#: returns them as secrets, and every SDK keeps a secret it is given; the languages tier checks ``stack output`` and
#: ``stack export`` from each). Marked, pulumi-language-java (v1.13.0) gives the component
#: ``ComponentResourceOptions.additionalSecretOutputs``, which the Java SDK does not have: its SDK would not compile.
COMPONENT_SECRET_OUTPUTS = {"secret_access_key", "access_keys"}
#: Inputs that are secrets: each resource's writer kubeconfig.
SECRET_INPUTS = {"kubeconfig"}


def token(name: str) -> str:
    """The schema token of a type or resource of this package: ``eks-cicd-access:index:<name>``."""
    return f"{PACKAGE}:index:{name}"


@dataclass(frozen=True)
class Field:
    """One field of a ``TypedDict`` or of a class's annotated attributes, as written in the source."""

    name: str
    annotation: ast.expr
    doc: str


@functools.cache
def fields(cls: type) -> list[Field]:
    """The annotated fields of ``cls`` in source order, each with the docstring under it (required)."""
    tree = ast.parse(inspect.getsource(cls).strip())
    body = tree.body[0]
    assert isinstance(body, ast.ClassDef)
    found: list[Field] = []
    for node, after in zip(body.body, [*body.body[1:], None], strict=True):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            if not (isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)):
                raise ValueError(f"{cls.__name__}.{node.target.id}: has no docstring (the schema needs a description)")
            found.append(Field(node.target.id, node.annotation, inspect.cleandoc(str(after.value.value))))
    return found


#: Python's constants, as every other language (and JSON) spells them.
_CONSTANTS = {"True": "true", "False": "false", "None": "null"}


def description(doc: str) -> str:
    """A docstring as a schema description: Markdown code spans, argument names as the schema spells them, and
    ``True``/``False``/``None`` as ``true``/``false``/``null``."""
    text = re.sub(r":(?:class|func|meth|attr):`~?(?:[\w.]+\.)?(\w+)`", r"`\1`", doc)
    text = re.sub(r"``(True|False|None)``", lambda m: f"`{_CONSTANTS[m.group(1)]}`", text)
    text = re.sub(r"=(True|False)\b", lambda m: f"={_CONSTANTS[m.group(1)]}", text)
    text = text.replace("``", "`")
    return config_spelling(text)


@dataclass(frozen=True)
class Shape:
    """A field's schema type, and what its annotation says about it."""

    spec: dict[str, Any]
    optional: bool = False
    plain: bool = True


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    raise ValueError(f"unsupported annotation {ast.unparse(node)!r}")


def shape(node: ast.expr) -> Shape:
    """The schema type of one annotation (see the module docstring for the shapes it knows)."""
    if isinstance(node, ast.Subscript):
        outer, inner = _name(node.value), node.slice
        if outer == "NotRequired":
            return Shape(shape(inner).spec, optional=True, plain=shape(inner).plain)
        if outer in ("pulumi.Input", "pulumi.Output"):
            found = shape(inner)
            return Shape(found.spec, optional=found.optional, plain=False)
        if outer == "list":
            return Shape({"type": "array", "items": shape(inner).spec})
        if outer == "dict" and isinstance(inner, ast.Tuple) and _name(inner.elts[0]) == "str":
            return Shape({"type": "object", "additionalProperties": shape(inner.elts[1]).spec})
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        members: list[ast.expr] = []
        _union(node, members)
        optional = any(isinstance(m, ast.Constant) and m.value is None for m in members)
        specs = [shape(m).spec for m in members if not (isinstance(m, ast.Constant) and m.value is None)]
        return Shape(specs[0] if len(specs) == 1 else {"oneOf": specs}, optional=optional)
    if isinstance(node, ast.Name):
        primitive = {"str": "string", "bool": "boolean", "int": "integer"}.get(node.id)
        if primitive:
            return Shape({"type": primitive})
        if node.id in _ENUMS:
            return Shape({"type": "string", "$ref": f"#/types/{token(_ENUMS[node.id][0])}"})
        if node.id in _OBJECTS:
            return Shape({"$ref": f"#/types/{token(node.id)}"})
    raise ValueError(f"unsupported annotation {ast.unparse(node)!r}")


def _union(node: ast.expr, into: list[ast.expr]) -> None:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        _union(node.left, into)
        _union(node.right, into)
    else:
        into.append(node)


def _property(field: Field, found: Shape, *, secret: bool, default: Any = None) -> dict[str, Any]:
    spec = {**found.spec, "description": description(field.doc)}
    # A default only where the schema types it: not on a oneOf (roleRules: its description says it), which the
    # Java generator cannot type either.
    if default is not None and "oneOf" not in spec:
        spec["default"] = default
    if secret:
        spec["secret"] = True
    return spec


def plain(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` marked plain, with its elements: a plain list of strings is ``string[]``, not ``Input<string>[]``,
    in every SDK."""
    found = {**spec, "plain": True}
    for key in ("items", "additionalProperties"):
        if key in found:
            found[key] = plain(found[key])
    if "oneOf" in found:
        found["oneOf"] = [plain(member) for member in found["oneOf"]]
    return found


def inputs(cls: type, defaults: dict[str, Any] | None = None) -> tuple[dict[str, Any], list[str]]:
    """``inputProperties`` and ``requiredInputs`` of a ``TypedDict`` of arguments."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for field in fields(cls):
        found = shape(field.annotation)
        name = config_key(field.name)
        spec = _property(field, found, secret=field.name in SECRET_INPUTS, default=(defaults or {}).get(field.name))
        if found.plain:
            spec = plain(spec)
        properties[name] = spec
        if not found.optional:
            required.append(name)
    return properties, required


def outputs(cls: type, secret: set[str]) -> tuple[dict[str, Any], list[str]]:
    """``properties`` and ``required`` of a resource's annotated outputs."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for field in fields(cls):
        found = shape(field.annotation)
        properties[config_key(field.name)] = _property(field, found, secret=field.name in secret)
        if not found.optional:
            required.append(config_key(field.name))
    return properties, required


def _object_type(cls: type) -> dict[str, Any]:
    properties, required = inputs(cls)
    for spec in properties.values():
        spec.pop("plain", None)
    return {"type": "object", "description": description(inspect.getdoc(cls) or ""), "properties": properties,
            "required": required}  # fmt: skip


def _enum_type(alias: Any) -> dict[str, Any]:
    values = typing.get_args(alias)
    return {
        "type": "string",
        "description": f"One of {', '.join(repr(v) for v in values)}.",
        "enum": [{"name": re.sub(r"(?:^|-)(\w)", lambda m: m.group(1).upper(), v), "value": v} for v in values],
    }


def package_schema() -> dict[str, Any]:
    """The whole package schema, as ``pulumi package get-schema`` shows it."""
    component_inputs, component_required = inputs(args_module.EksCicdAccessArgs, args_module.DEFAULTS)
    component_outputs, component_outputs_required = outputs(component.EksCicdAccess, set())
    entry_inputs, entry_required = inputs(resource.AwsAuthEntryArgs)
    entry_outputs, entry_outputs_required = outputs(resource.AwsAuthEntryOutputs, SECRET_OUTPUTS[resource.TYPE_TOKEN])
    return {
        "name": PACKAGE,
        "displayName": "EKS CI/CD access",
        "version": VERSION,
        "description": "Give a CI system deploy-and-rollback access to exactly one namespace of an EKS cluster.",
        "keywords": ["pulumi", "aws", "eks", "kubernetes", "ci", "category/cloud", "kind/component"],
        "license": "Apache-2.0",
        "language": {
            "nodejs": {"packageName": "@eks-cicd-access/sdk", "dependencies": {}},
            "go": {
                "importBasePath": "eks-cicd-access.invalid/sdk/go/ekscicdaccess",
                "generateResourceContainerTypes": True,
                # Go's code generator marks an object type an input only when a property reaches it through an
                # Input or directly plain, not through a plain array (``accessPolicies``), and then names the
                # undefined ``AccessPolicyArgs``: generate every type's input form.
                "generateExtraInputTypes": True,
            },
            "python": {"packageName": "pulumi_eks_cicd_access"},
        },
        "types": {
            **{token(name): _object_type(cls) for name, cls in _OBJECTS.items()},
            **{token(name): _enum_type(alias) for name, alias in _ENUMS.values()},
        },
        "resources": {
            component.TYPE_TOKEN: {
                "isComponent": True,
                "description": description(COMPONENT_DESCRIPTION.read_text().strip()),
                "inputProperties": component_inputs,
                "requiredInputs": component_required,
                "properties": component_outputs,
                "required": component_outputs_required,
            },
            resource.TYPE_TOKEN: {
                "description": description(inspect.getdoc(resource.PluginAwsAuthEntry) or "")
                + "\n\n"
                + description(resource.OPERATIONS),
                "inputProperties": entry_inputs,
                "requiredInputs": entry_required,
                "properties": entry_outputs,
                "required": entry_outputs_required,
            },
        },
    }


def schema_json() -> str:
    """The schema as the plugin serves it (``GetSchema``)."""
    return json.dumps(package_schema(), indent=2, sort_keys=False)
