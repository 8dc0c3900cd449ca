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
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import pulumi

from .args import EksCicdAccessArgs
from .rbac import RoleRule
from .suggest import closest, did_you_mean


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
_CONSTANT = re.compile(r"(?<![\w'])(True|False|None)\b")
_CONSTANTS = {"True": "true", "False": "false", "None": "null"}


def config_spelling(message: str) -> str:
    """A component message as stack config and the schema spell it: every argument and rule key in camelCase, and
    Python's ``True``/``False``/``None`` as ``true``/``false``/``null``."""
    message = _SNAKE.sub(lambda m: _SPELLINGS.get(m.group(), m.group()), message)
    return _CONSTANT.sub(lambda m: _CONSTANTS[m.group()], message)


#: How the component's warnings are spelt where they are shown: as raised (Python's), unless a caller says otherwise.
_SPELLING: ContextVar[Callable[[str], str]] = ContextVar("eks_cicd_access_spelling", default=str)


@contextmanager
def spelt_as_config() -> Iterator[None]:
    """Within this block, the component's warnings are in the config's and schema's spelling
    (:func:`config_spelling`): for stack config (the program) and other languages (the plugin)."""
    token = _SPELLING.set(config_spelling)
    try:
        yield
    finally:
        _SPELLING.reset(token)


def spelt(message: str) -> str:
    """``message`` in the spelling of the surface it is shown on (see :func:`spelt_as_config`)."""
    return _SPELLING.get()(message)


def unknown_config_keys(keys: Iterable[str], project: str, declared: Iterable[str]) -> list[str]:
    """An error for each key of ``project``'s namespace (``project:key``) that ``declared`` (Pulumi.yaml's
    ``config``) lacks: Pulumi passes undeclared keys through, so ``identiy`` would silently leave ``identity`` at its
    default. Keys of other namespaces (``aws:region``) are theirs to judge."""
    declared = list(declared)
    errors = []
    for key in sorted(keys):
        namespace, _, name = key.partition(":")
        if namespace == project and name not in declared:
            meant = closest(name, declared)
            errors.append(
                f"{name}: not a config key of {project}, so it would be ignored"
                + (f"; did you mean {meant!r}?" if meant else ".")
                + f" Remove it with `pulumi config rm {name}`"
                + (f", then `pulumi config set {meant} ...`." if meant else ".")
            )
    return errors


def config_keys() -> set[str]:
    """Every config key the program was given (``project:key``): from the engine (``PULUMI_CONFIG``) and from
    ``pulumi.runtime.set_all_config`` (tests, automation)."""
    return set(pulumi.runtime.get_config_env()) | set(pulumi.runtime.config.CONFIG.get())


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
