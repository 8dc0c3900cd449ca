"""The plugin as the real CLI loads it (``pytest -m engine``): ``pulumi package get-schema`` and ``gen-sdk``.

The CLI starts ``provider/`` through the Python language host's ``RunPlugin`` (our stand-in,
``testbed/engine_host``), asks it for its schema, and validates and binds that schema with its own loader: a
schema the loader refuses fails the command, which a deliberately broken plugin shows.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from eks_cicd_access.plugin.schema import package_schema
from testbed.engine_stack import REPO, pulumi_cli, python_sdk

PLUGIN = REPO / "provider"
#: A plugin whose schema gives ``AwsAuthEntry.key`` a type that does not exist.
BROKEN_MAIN = """
import json
from eks_cicd_access.plugin import schema
from eks_cicd_access.plugin import servicer as provider

broken = schema.package_schema()
broken["resources"]["eks-cicd-access:index:AwsAuthEntry"]["inputProperties"]["key"] = {"type": "strnig"}
provider.schema_json = lambda: json.dumps(broken)
provider.main()
"""


def test_the_cli_loads_and_binds_the_plugins_schema(tmp_path: Path) -> None:
    """``pulumi package get-schema ./provider`` starts the plugin as the engine does and prints our schema, which
    its loader validated and bound (it adds only the empty ``config``)."""
    done = pulumi_cli(tmp_path, "package", "get-schema", str(PLUGIN))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {**package_schema(), "config": {}}


def test_a_schema_the_loader_refuses_fails_the_command(tmp_path: Path) -> None:
    """A plugin whose schema has a type that does not exist: ``get-schema`` fails, naming the property (the check
    above can fail)."""
    broken = tmp_path / "broken-provider"
    shutil.copytree(PLUGIN, broken)
    (broken / "__main__.py").write_text(BROKEN_MAIN)
    done = pulumi_cli(tmp_path, "package", "get-schema", str(broken))
    assert done.returncode != 0
    assert "failed to bind schema" in done.stderr
    assert "AwsAuthEntry/inputProperties/key/type" in done.stderr


def test_gen_sdk_python_makes_an_installable_sdk(tmp_path: Path) -> None:
    """``pulumi package gen-sdk ./provider --language python`` writes ``pulumi_eks_cicd_access``, which installs
    with pip and exposes both resources and the enums."""
    target = python_sdk(tmp_path)
    probe = (
        "import pulumi_eks_cicd_access as m; "
        "print(m.EksCicdAccess.__name__, m.AwsAuthEntry.__name__, "
        "m.Identity.GITHUB_ACTIONS.value, m.MapKey.MAP_ROLES.value)"
    )
    imported = subprocess.run([sys.executable, "-c", probe], env={**os.environ, "PYTHONPATH": str(target)},
                              capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert imported.stdout.split() == ["EksCicdAccess", "AwsAuthEntry", "github-actions", "mapRoles"], imported.stderr
