"""The plugin's names for what the component registers and returns: the schema's (camelCase)."""

from __future__ import annotations

from typing import Any

from ..stack_config import config_key


def schema_names(outputs: dict[str, Any]) -> dict[str, Any]:
    """The component's outputs by their schema names (camelCase, ``accessKeys``' entries too), as the plugin
    registers and returns them."""
    named = {config_key(name): value for name, value in outputs.items()}
    if "accessKeys" in named:
        named["accessKeys"] = named["accessKeys"].apply(_camel_keys)
    return named


def _camel_keys(value: Any) -> Any:
    """``{"label": {"encrypted_secret": ...}}`` -> ``{"label": {"encryptedSecret": ...}}`` (the ``AccessKey`` type)."""
    if not isinstance(value, dict):
        return value
    return {label: {config_key(k): v for k, v in key.items()} for label, key in value.items()}
