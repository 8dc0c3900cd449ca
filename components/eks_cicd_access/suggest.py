"""The closest valid key to a misspelt one, for a "did you mean" in the message."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice nearest to ``word`` (case-insensitive), or ``None`` when none is near."""
    options = {choice.lower(): choice for choice in choices}
    found = difflib.get_close_matches(word.lower(), list(options), n=1, cutoff=0.6)
    return options[found[0]] if found else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the nearest choice, or ``""``."""
    found = closest(word, choices)
    return f"; did you mean {found!r}?" if found else ""
