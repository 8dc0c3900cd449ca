"""The README and ``docs/``, as the tests read them: fenced blocks, and the shell blocks marked for a test.

A command a reader is shown is run by a test, which finds it by its marker, never by its prose or heading::

    <!-- test: deploy -->
    ```sh
    pulumi up
    ```

Each marker names one block, in the README or in one file of ``docs/``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Every document a user reads: the README first, then ``docs/`` by name.
DOCUMENTS: list[Path] = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_MARKED = re.compile(r"^ *<!-- test: ([\w-]+) -->\n *```sh\n(.*?)^ *```", re.MULTILINE | re.DOTALL)
_FENCED = re.compile(r"^ *```(\w*)\n(.*?)^ *```", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Block:
    """One fenced block: its document, its language (``sh``, ``python``, ...) and its text, dedented."""

    document: Path
    language: str
    text: str


def _dedent(text: str) -> str:
    lines = text.splitlines()
    indent = min((len(line) - len(line.lstrip(" ")) for line in lines if line.strip()), default=0)
    return "\n".join(line[indent:] for line in lines) + "\n"


def blocks() -> list[Block]:
    """Every fenced block of every document, in order."""
    return [
        Block(path, language, _dedent(text))
        for path in DOCUMENTS
        for language, text in _FENCED.findall(path.read_text())
    ]


def marked() -> dict[str, tuple[Path, list[str]]]:
    """Every marked shell block: marker -> (document, its commands, one per non-blank line). A marker used twice
    is an error."""
    found: dict[str, tuple[Path, list[str]]] = {}
    for path in DOCUMENTS:
        for marker, text in _MARKED.findall(path.read_text()):
            assert marker not in found, f"marker {marker!r} in {found[marker][0].name} and {path.name}"
            found[marker] = (path, [line.strip() for line in text.splitlines() if line.strip()])
    return found


def block(marker: str) -> list[str]:
    """The commands of the shell block marked ``<!-- test: MARKER -->``, in order."""
    found = marked()
    assert marker in found, f"no shell block is marked <!-- test: {marker} --> (markers: {sorted(found)})"
    return found[marker][1]


# --- generated tables ------------------------------------------------------------------------------------------
#
# docs/configuration.md's config and outputs tables are generated, between ``<!-- generated: NAME -->`` and
# ``<!-- end generated -->``, from Pulumi.yaml (the program's keys, types and defaults), the package schema (every
# argument's and output's description, generated in turn from the TypedDict and the annotated outputs) and the
# program's exports. ``python -m testbed.docs`` rewrites them; ``tests/unit/test_readme.py`` fails when they drift.

CONFIGURATION = ROOT / "docs" / "configuration.md"
_GENERATED = re.compile(r"(<!-- generated: ([\w-]+) -->\n)(.*?)(<!-- end generated -->)", re.DOTALL)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def config_table() -> str:
    """The program's stack config: every key Pulumi.yaml declares, then ``aws:region``."""
    import yaml

    from eks_cicd_access.plugin.schema import package_schema

    component = package_schema()["resources"]["eks-cicd-access:index:EksCicdAccess"]
    inputs, required = component["inputProperties"], set(component.get("requiredInputs", []))
    rows = ["| Key | Type | Default | Meaning |", "|---|---|---|---|"]
    for key, spec in yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"].items():
        kind = "array of string" if spec["type"] == "array" else spec["type"]
        if (key in inputs and inputs[key].get("secret")) or key == "kubeconfig":
            kind += " (secret)"
        given = spec.get("default")
        default = "required" if key in required else f"`{json_text(given)}`" if given not in (None, "") else "none"
        meaning = inputs[key]["description"] if key in inputs else spec["description"]
        rows.append(f"| `{key}` | {kind} | {default} | {_cell(meaning)} |")
    rows.append("| `aws:region` | string | none | Region of the cluster (the AWS provider's). |")
    return "\n".join(rows) + "\n"


def json_text(value: object) -> str:
    import json

    return value if isinstance(value, str) else json.dumps(value)


def outputs_table() -> str:
    """The program's stack outputs, in the order it exports them, each described as the schema describes it."""
    from eks_cicd_access.plugin.schema import COMPONENT_SECRET_OUTPUTS, package_schema
    from eks_cicd_access.stack_config import config_key

    properties = package_schema()["resources"]["eks-cicd-access:index:EksCicdAccess"]["properties"]
    secret = {config_key(name) for name in COMPONENT_SECRET_OUTPUTS}
    exports = re.findall(r'pulumi\.export\("(\w+)"', (ROOT / "__main__.py").read_text())
    rows = ["| Stack output | Secret | Meaning |", "|---|---|---|"]
    for name in exports:
        spec = properties[name]
        rows.append(f"| `{name}` | {'**yes**' if name in secret else 'no'} | {_cell(spec['description'])} |")
    return "\n".join(rows) + "\n"


TABLES = {"config": config_table, "outputs": outputs_table}


def with_tables(text: str) -> str:
    """``text`` with every generated table made afresh."""
    return _GENERATED.sub(lambda m: m[1] + TABLES[m[2]]() + m[4], text)


#: The plugin's schema as generated, checked in: what a reviewer reads, and what other languages' SDKs are made from.
SCHEMA = ROOT / "provider" / "schema.json"


def schema_text() -> str:
    """The schema file's text: the plugin's ``GetSchema``, with a final newline."""
    from eks_cicd_access.plugin.schema import schema_json

    return schema_json() + "\n"


if __name__ == "__main__":
    SCHEMA.write_text(schema_text())
    CONFIGURATION.write_text(with_tables(CONFIGURATION.read_text()))
    print(f"rewrote {SCHEMA.relative_to(ROOT)} and the generated tables of {CONFIGURATION.relative_to(ROOT)}")
