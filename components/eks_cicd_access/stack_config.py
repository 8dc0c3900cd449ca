"""Stack config in, component arguments out: the spelling of the program's config, and nothing else.

Config keys are the arguments' names in camelCase (``roleRules`` is
``role_rules``), and rules in ``roleRules`` are spelt as in a Role manifest
(``apiGroups``). These pure functions translate keys and parse JSON; what the
values may be is judged by the component's own validation, whose messages
:func:`config_spelling` then puts back into the config's spelling.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .args import EksCicdAccessArgs
from .rbac import RoleRule
from .suggest import did_you_mean


class ConfigError(ValueError):
    """Stack config that cannot become component arguments; the message names the key as the config spells it."""


def config_key(name: str) -> str:
    """An argument's or rule key's config spelling: ``role_binding_name`` -> ``roleBindingName``."""
    head, *rest = name.split("_")
    return head + "".join(word.capitalize() for word in rest)


#: Config spelling -> argument, for each argument and each rule key.
ARGUMENTS = {config_key(name): name for name in EksCicdAccessArgs.__annotations__}
RULE_KEYS = {config_key(name): name for name in RoleRule.__annotations__}
_SPELLINGS = {name: key for key, name in (ARGUMENTS | RULE_KEYS).items() if key != name}
_SNAKE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")


def config_spelling(message: str) -> str:
    """A component message with every argument and rule key in the config's spelling."""
    return _SNAKE.sub(lambda m: _SPELLINGS.get(m.group(), m.group()), message)


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


def from_json(key: str, text: str) -> Any:
    """A JSON config value; invalid JSON is an error naming ``key`` and the position."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(
            f"{key}: is not valid JSON ({error.msg} at line {error.lineno} column {error.colno}): {text!r}"
        ) from None


def role_rules_from_config(text: str) -> str | list[Any]:
    """``roleRules``: a preset name, or a JSON list of rules spelt as in a Role manifest.

    Each rule must be an object whose keys are ``apiGroups``, ``resources``,
    ``verbs`` and ``resourceNames``: another key (a typo such as
    ``resourceName``, which would silently widen the Role if dropped) is an
    error naming the rule, the key as typed, and the closest valid key.
    """
    if not text.lstrip().startswith("["):
        return text
    rules = from_json("roleRules", text)
    converted: list[Any] = []
    for index, rule in enumerate(rules):
        where = f"roleRules[{index}]"
        if not isinstance(rule, dict):
            raise ConfigError(
                f"{where}: must be an object with apiGroups, resources and verbs, got {type(rule).__name__} {rule!r}"
            )
        for key in rule:
            if key not in RULE_KEYS:
                raise ConfigError(
                    f"{where}: unknown key {key!r}{did_you_mean(key, RULE_KEYS)} (allowed: {', '.join(RULE_KEYS)})"
                )
        converted.append({RULE_KEYS[key]: value for key, value in rule.items()})
    return converted
