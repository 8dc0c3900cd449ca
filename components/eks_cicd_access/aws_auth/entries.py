"""Entries of ``kube-system/aws-auth``: the pure part, no I/O.

``mapUsers`` and ``mapRoles`` are single YAML strings that every team shares
(``mapRoles`` also holds the node roles). A new value is always computed from
the live one by editing the text of one entry: every other entry keeps its
exact bytes (layout, quoting, comments) and its place; ours is replaced
where it stands or appended. ``MapKey`` says how entries of one key are
identified, so users and roles share all of this code.

EKS (aws-iam-authenticator) matches ARNs case-insensitively, reads keys such
as ``userarn`` case-insensitively (Go's JSON decoding) and compares role ARNs
without their IAM path. An entry is "ours" by those same rules.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from ..suggest import did_you_mean

#: Where the mapping lives; EKS reads no other name.
AWS_AUTH_NAMESPACE = "kube-system"
AWS_AUTH_NAME = "aws-auth"
AWS_AUTH = f"{AWS_AUTH_NAMESPACE}/{AWS_AUTH_NAME}"

#: Authentication modes of an EKS cluster that still read ``aws-auth``.
CONFIG_MAP_MODES = frozenset({"CONFIG_MAP", "API_AND_CONFIG_MAP"})

_FIX = f"Fix it with `kubectl edit configmap {AWS_AUTH_NAME} -n {AWS_AUTH_NAMESPACE}` and run again."


class AwsAuthError(ValueError):
    """The live ``aws-auth`` cannot be edited safely; nothing is written."""


def strip_role_path(arn: str) -> str:
    """``arn:aws:iam::1:role/ci/deployers/web`` -> ``arn:aws:iam::1:role/web``.

    EKS compares the caller's role without its path (aws-iam-authenticator
    canonicalizes ``assumed-role/NAME/SESSION`` to ``role/NAME``), so a
    ``mapRoles`` entry must name the role that way. Other ARNs are returned
    unchanged.
    """
    prefix, sep, resource = arn.partition(":role/")
    if not sep or ":iam:" not in prefix:
        return arn
    return f"{prefix}:role/{resource.rpartition('/')[2]}"


@dataclass(frozen=True)
class MapKey:
    """One key of ``aws-auth`` that maps IAM principals: its name and the field naming the ARN."""

    name: str
    """The ConfigMap data key, ``mapUsers`` or ``mapRoles``."""
    arn_field: str
    """The entry field holding the principal's ARN, ``userarn`` or ``rolearn``."""
    mapped: Callable[[str], str]
    """The ARN as it must be written (roles lose their path)."""

    def canonical(self, arn: str) -> str:
        """The form EKS compares: as written, case-folded."""
        return self.mapped(arn).lower()

    def arn_of(self, entry: Any) -> str | None:
        """The ARN an entry maps, read as EKS reads it; ``None`` for entries that map no ARN."""
        if not isinstance(entry, dict):
            return None
        for field, value in entry.items():
            if isinstance(field, str) and field.lower() == self.arn_field and isinstance(value, str):
                return value
        return None

    def is_ours(self, entry: Any, arn: str) -> bool:
        """Whether ``entry`` maps the same principal as ``arn`` (by EKS's comparison)."""
        found = self.arn_of(entry)
        return found is not None and self.canonical(found) == self.canonical(arn)

    def entry(self, arn: str, username: str, groups: list[str]) -> dict[str, Any]:
        """The entry mapping ``arn`` to a Kubernetes user and groups."""
        return {self.arn_field: self.mapped(arn), "username": username, "groups": list(groups)}


MAP_USERS = MapKey("mapUsers", "userarn", lambda arn: arn)
MAP_ROLES = MapKey("mapRoles", "rolearn", strip_role_path)
MAP_KEYS: dict[str, MapKey] = {key.name: key for key in (MAP_USERS, MAP_ROLES)}


def map_key(name: str) -> MapKey:
    """The ``MapKey`` called ``name``; ``ValueError`` for any other key."""
    if name not in MAP_KEYS:
        raise ValueError(f"key: {name!r} is not one of {sorted(MAP_KEYS)}{did_you_mean(str(name), MAP_KEYS)}")
    return MAP_KEYS[name]


def check_authentication_mode(cluster_name: str, mode: str | None) -> None:
    """Raise ``AwsAuthError`` when the cluster ignores ``aws-auth``.

    A cluster in ``API`` mode has no ``aws-auth`` (or ignores it): writing an
    entry there would grant nothing and hide the mistake.
    """
    if mode is not None and mode not in CONFIG_MAP_MODES:
        raise AwsAuthError(
            f"identity_mapping='aws-auth': cluster {cluster_name!r} uses authentication mode {mode!r}, "
            f"which does not read {AWS_AUTH}. "
            "Set identity_mapping='access-entry' (config identityMapping: access-entry). Nothing was written."
        )


def parse_entries(key: MapKey, text: str | None) -> list[Any]:
    """Parse the live value of ``key``; absent, blank or ``null`` means no entries.

    Raises ``AwsAuthError`` when it is not a YAML list, so a broken ConfigMap
    is reported rather than overwritten.
    """
    if text is None or not text.strip():
        return []
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise AwsAuthError(
            f"{AWS_AUTH} data.{key.name} is not valid YAML ({error}). {_FIX} Nothing was written."
        ) from error
    if parsed is None:
        return []
    if not isinstance(parsed, list):
        raise AwsAuthError(
            f"{AWS_AUTH} data.{key.name} must be a YAML list of "
            f"{{{key.arn_field}, username, groups}} entries, got {type(parsed).__name__}. {_FIX} Nothing was written."
        )
    return parsed


def entries_for(key: MapKey, text: str | None, arn: str) -> list[dict[str, Any]]:
    """The live entries of ``key`` that map ``arn``, in order."""
    return [entry for entry in parse_entries(key, text) if key.is_ours(entry, arn)]


def with_entry(key: MapKey, text: str | None, entry: dict[str, Any], replacing: Sequence[str] = ()) -> str:
    """Return ``text`` with ``entry`` in it and every other entry kept byte for byte.

    - The first entry for our ARN (or for an ARN in ``replacing``: the one an
      earlier version of ours mapped) is replaced where it stands; later ones
      are removed (EKS would use only one of them).
    - With no such entry, ours is appended after the last entry.
    - If the live value already holds exactly our entry, once, and nothing of
      ``replacing``, ``text`` itself is returned: nothing needs writing.
    """
    arns = [entry[key.arn_field], *replacing]

    def ours_(e: Any) -> bool:
        return any(key.is_ours(e, arn) for arn in arns)

    entries = parse_entries(key, text)
    ours = [i for i, e in enumerate(entries) if ours_(e)]
    if text is not None and len(ours) == 1 and entries[ours[0]] == entry:
        return text
    wanted = [e for e in entries if not ours_(e)]
    wanted.insert(ours[0] if ours else len(wanted), entry)  # everything before ours[0] is kept
    return _edit(text, entries, wanted, lambda layout: layout.upsert(ours, entry))


def without_arn(key: MapKey, text: str | None, arn: str) -> str | None:
    """Return ``text`` without any entry for ``arn``; every other entry kept byte for byte.

    ``text`` itself is returned when it holds no such entry (``None`` stays ``None``).
    """
    entries = parse_entries(key, text)
    ours = [i for i, e in enumerate(entries) if key.is_ours(e, arn)]
    if not ours:
        return text
    wanted = [e for e in entries if not key.is_ours(e, arn)]
    return _edit(text, entries, wanted, lambda layout: layout.remove(ours))


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True  # write repeated entries out, never as anchors and aliases


def dump_entries(entries: list[Any]) -> str:
    """Serialize entries the way this project writes a new value (block style, stable key order)."""
    return yaml.dump(entries, Dumper=_Dumper, default_flow_style=False, sort_keys=False, allow_unicode=True)


def _edit(text: str | None, entries: list[Any], wanted: list[Any], splice: Callable[[_Layout], str]) -> str:
    """Edit ``text`` in place with ``splice``; fall back to a fresh serialization if that cannot be done.

    The spliced text is parsed again and must give exactly ``wanted``. A value
    that cannot be edited in place (anchors and aliases, an unusual layout)
    is re-serialized instead: every entry keeps its data, not its layout.
    """
    if text is None or not entries:
        prefix = _comments_only(text)
        return prefix + dump_entries(wanted) if wanted else (text or "")
    layout = _Layout.of(text)
    if layout is not None:
        edited = splice(layout)
        try:
            if yaml.safe_load(edited) == wanted or (not wanted and not yaml.safe_load(edited)):
                return edited
        except yaml.YAMLError:
            pass
    return dump_entries(wanted)


def _comments_only(text: str | None) -> str:
    """``text`` if it holds comments and nothing else (kept above a new list), else ``""``."""
    if not text:
        return ""
    lines = [line.strip() for line in text.splitlines()]
    if not all(not line or line.startswith("#") for line in lines) or not any(lines):
        return ""
    return text if text.endswith("\n") else text + "\n"


@dataclass(frozen=True)
class _Layout:
    """Where each top-level entry of a YAML list stands in its text."""

    text: str
    flow: bool
    #: Block style: from the start of the line of the entry's ``-`` to the end
    #: of the line its content ends on. Flow style: the entry node itself.
    spans: list[tuple[int, int]]
    #: Block style: the whitespace before the first ``-``.
    indent: str

    @classmethod
    def of(cls, text: str) -> _Layout | None:
        """The layout of ``text``, or ``None`` when it cannot be edited in place."""
        try:
            tokens = list(yaml.scan(text, Loader=yaml.SafeLoader))
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            return None
        if not isinstance(root, yaml.SequenceNode) or any(
            isinstance(t, yaml.AnchorToken | yaml.AliasToken | yaml.TagToken) for t in tokens
        ):
            return None
        if root.flow_style:
            spans = [(n.start_mark.index, n.end_mark.index) for n in root.value]
            return cls(text, True, spans, "")
        dashes = _top_level_dashes(tokens)
        if len(dashes) != len(root.value):
            return None
        spans = []
        for dash, node in zip(dashes, root.value, strict=True):
            line = text.rfind("\n", 0, dash) + 1
            start = line if not text[line:dash].strip() else dash
            spans.append((start, _end_of_line(text, _content_end(node))))
        first_line = text.rfind("\n", 0, dashes[0]) + 1
        indent = text[first_line : dashes[0]] if not text[first_line : dashes[0]].strip() else ""
        return cls(text, False, spans, indent)

    def _block(self, entry: dict[str, Any]) -> str:
        return "".join(self.indent + line for line in dump_entries([entry]).splitlines(keepends=True))

    def upsert(self, ours: list[int], entry: dict[str, Any]) -> str:
        """Replace the first of ``ours`` with ``entry`` and remove the rest; or append ``entry``."""
        if ours:
            start, end = self.spans[ours[0]]
            new = json.dumps(entry) if self.flow else self._block(entry)
            return _apply(self.text, [(start, end, new), *self._cuts(ours[1:])])
        if self.flow:  # never empty: an empty list is written afresh (_edit)
            at = self.spans[-1][1]
            return _apply(self.text, [(at, at, ", " + json.dumps(entry))])
        at = self.spans[-1][1]
        glue = "" if self.text[at - 1] == "\n" else "\n"
        return _apply(self.text, [(at, at, glue + self._block(entry))])

    def remove(self, ours: list[int]) -> str:
        """Remove the entries at ``ours``."""
        return _apply(self.text, self._cuts(ours))

    def _cuts(self, indexes: list[int]) -> list[tuple[int, int, str]]:
        """Edits removing the entries at ``indexes``; in flow style each takes one separating comma along."""
        if not self.flow:
            return [(*self.spans[i], "") for i in indexes]
        keep = [i for i in range(len(self.spans)) if i not in indexes]
        cuts = []
        for i in indexes:
            start, end = self.spans[i]
            later = [k for k in keep if k > i]
            earlier = [k for k in keep if k < i]
            if later:
                end = self.spans[later[0]][0]
            elif earlier:
                start = self.spans[earlier[-1]][1]
            cuts.append((start, end, ""))
        return cuts


def _apply(text: str, edits: list[tuple[int, int, str]]) -> str:
    """``text`` with each ``(start, end, new)`` edit made; overlapping removals merge."""
    merged: list[tuple[int, int, str]] = []
    for start, end, new in sorted(edits):
        if merged and not new and not merged[-1][2] and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]), "")
        else:
            merged.append((start, end, new))
    out, at = [], 0
    for start, end, new in merged:
        out.append(text[at:start])
        out.append(new)
        at = max(at, end)
    out.append(text[at:])
    return "".join(out)


def _top_level_dashes(tokens: list[Any]) -> list[int]:
    """Positions of the ``-`` indicators of the root block sequence."""
    depth, dashes = 0, []
    for token in tokens:
        if isinstance(
            token,
            yaml.BlockSequenceStartToken
            | yaml.BlockMappingStartToken
            | yaml.FlowSequenceStartToken
            | yaml.FlowMappingStartToken,
        ):
            depth += 1
        elif isinstance(token, yaml.BlockEndToken | yaml.FlowSequenceEndToken | yaml.FlowMappingEndToken):
            depth -= 1
        elif isinstance(token, yaml.BlockEntryToken) and depth == 1:
            dashes.append(token.start_mark.index)
    return dashes


def _content_end(node: yaml.Node) -> int:
    """Where a node's own text ends: block collections end at their last child, not at the next token."""
    if isinstance(node, yaml.MappingNode) and not node.flow_style and node.value:
        return _content_end(node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and not node.flow_style and node.value:
        return _content_end(node.value[-1])
    return int(node.end_mark.index)


def _end_of_line(text: str, index: int) -> int:
    """The position just after the line break that ends the line holding ``index - 1``."""
    if index > 0 and text[index - 1] == "\n":
        return index
    newline = text.find("\n", index)
    return len(text) if newline < 0 else newline + 1
