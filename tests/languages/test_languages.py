"""The plugin under the real engine, from programs in other languages (``pytest -m languages``).

Each example of ``examples/`` runs with the commands of ``docs/other-languages.md``,
line by line, from a copy of ``examples/`` beside a link to ``provider/`` (so its ``../../provider`` resolves as
in a checkout), against the session's control plane and the AWS stand-in (moto behind a stand-in plugin: no
AWS). TypeScript and Go run under our stand-ins for their language hosts (``testbed/language_hosts``, built by
``scripts/tools`` from the CLI's own code generators: the real hosts are not served here); YAML under the real
``pulumi-language-yaml``. What each must show: ``preview`` writes nothing, ``up`` writes every entry of ours
beside the foreign ones (the node role, another team's user), ``destroy`` removes exactly ours.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from testbed.controlplane.fixture import find_tools
from testbed.engine_stack import (
    NODE_ROLE,
    REPO,
    TEAM_B,
    Engine,
    Project,
    delete_namespace,
    pulumi_cli,
    readme_language_commands,
)
from testbed.names import MOTO_ACCOUNT

#: Java's host is only for its SDK (``test_the_java_sdk_...``), not on the examples' ``PATH``.
EXAMPLE_ROLE = f"arn:aws:iam::{MOTO_ACCOUNT}:role/deployer"
RELEASE_BOT = {"rolearn": f"arn:aws:iam::{MOTO_ACCOUNT}:role/release-bot", "username": "release-bot", "groups": []}


@pytest.fixture(scope="module")
def languages(engine: Engine) -> Engine:
    """The engine tier's world, with the language hosts of this tier on ``PATH`` too."""
    return Engine(find_tools("languages"), engine.moto, engine.plane)


def consumer_env(engine: Engine, root: Path) -> dict[str, str]:
    """The engine's environment plus what npm and go need, their caches the machine's (nothing re-downloaded)."""
    env = engine.env(root)
    tools = [shutil.which(t) for t in ("node", "npm", "go")]
    assert all(tools), f"node, npm and go are needed: {tools}"
    env["PATH"] = os.pathsep.join([env["PATH"], *{str(Path(t).parent) for t in tools if t}])
    go_env = subprocess.run(["go", "env", "-json", "GOMODCACHE", "GOCACHE", "GOPROXY"], capture_output=True,
                            text=True, check=True, timeout=60).stdout  # fmt: skip
    env.update(json.loads(go_env))
    env["GOFLAGS"] = "-mod=mod"
    env["npm_config_cache"] = subprocess.run(["npm", "config", "get", "cache"], capture_output=True, text=True,
                                             check=True, timeout=60).stdout.strip()  # fmt: skip
    return env


def run_readme(project: Project, example: str, plane: Any, *, until: str | None = None) -> dict[str, str]:
    """``docs/other-languages.md``'s commands for ``example``, as written (``--yes`` answers ``up``'s and
    ``destroy``'s prompts), from after ``until`` (default: the start) up to the next ``pulumi preview``, ``up``
    or ``destroy``, run included; the output of each ``pulumi`` command by command line."""
    commands = readme_language_commands(example)
    if until is not None:
        commands = commands[commands.index(until) + 1 :]
    done: dict[str, str] = {}
    for command in commands:
        words = shlex.split(command.replace(" < admin.kubeconfig", ""))
        stdin = plane.admin_kubeconfig if "< admin.kubeconfig" in command else None
        if words[0] == "npm":
            installed = subprocess.run(words, cwd=project.directory, env=project.env, capture_output=True, text=True,
                                       timeout=600, check=False)  # fmt: skip
            assert installed.returncode == 0, installed.stdout + installed.stderr
            continue
        assert words[0] == "pulumi", command
        if words[1:] == ["login", "--local"]:
            words[2:] = [project.backend]  # the CLI's `~` is the user database's: spelt out (testbed/engine_stack.py)
        if words[1] in ("up", "destroy"):
            words.append("--yes")
        done[command] = project(*words[1:], stdin=stdin).stdout
        if words[1] in ("preview", "up", "destroy"):
            break
    return done


def entries(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """aws-auth's ``mapRoles`` and ``mapUsers``, parsed."""
    data = engine.plane.aws_auth_data() or {}
    return {key: yaml.safe_load(data.get(key) or "[]") for key in ("mapRoles", "mapUsers")}


def ours(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """The entries after the foreign ones, which must still come first, unchanged."""
    found = entries(engine)
    assert found["mapRoles"][0] == NODE_ROLE and found["mapUsers"][0] == TEAM_B, found
    return {key: found[key][1:] for key in found}


@pytest.fixture
def run_example(languages: Engine, foreign: dict[str, str], tmp_path: Path) -> Iterator[Any]:
    """``run_example(name)``: ``examples/<name>`` copied with a fresh backend, its documented commands run up to and
    including ``pulumi preview`` (which must have written nothing); the project. Destroyed after the test
    whatever happened (the documented ``destroy`` normally did it already), its namespaces deleted."""
    made: list[tuple[Project, list[str]]] = []

    def run(name: str, namespaces: list[str]) -> Project:
        (tmp_path / "examples").mkdir()
        shutil.copytree(REPO / "examples" / name, tmp_path / "examples" / name, symlinks=True)
        (tmp_path / "provider").symlink_to(REPO / "provider", target_is_directory=True)
        env = consumer_env(languages, tmp_path)
        project = Project(tmp_path / "examples" / name, env, Path(env["HOME"]).as_uri())
        made.append((project, namespaces))
        preview = run_readme(project, name, languages.plane)["pulumi preview"]
        assert "eks-cicd-access:index:" in preview, preview
        assert languages.plane.aws_auth_data() == foreign, "the preview wrote aws-auth"
        return project

    yield run
    for project, namespaces in made:
        try:
            project("destroy", "--yes", "--skip-preview", ok=None)
        finally:
            for namespace in namespaces:
                delete_namespace(languages.plane, namespace)


def up_then_destroy(project: Project, example: str, engine: Engine, foreign: dict[str, str]) -> dict[str, Any]:
    """The documented ``pulumi up`` (its summary printed), the stack's outputs, then its ``pulumi destroy``, which
    must leave aws-auth exactly as it was found."""
    up = run_readme(project, example, engine.plane, until="pulumi preview")["pulumi up"]
    print(f"\n{example} up:", up[up.rindex("Resources:") :].strip())
    roles = engine.moto.client("iam").list_roles()["Roles"]
    found = {
        "entries": ours(engine),
        "outputs": project.outputs(),
        "up": up,
        "roles": {r["RoleName"]: r for r in roles},
    }
    down = run_readme(project, example, engine.plane, until="pulumi up")["pulumi destroy"]
    print(f"{example} destroy:", down[down.rindex("Resources:") :].split("\n\n")[0].strip())
    assert engine.plane.aws_auth_data() == foreign
    return found


def test_typescript_two_teams(languages: Engine, run_example: Any, foreign: dict[str, str]) -> None:
    """From TypeScript: ``package add`` generates and links the SDK (compiled by tsc), the program type-checks
    against it; ``up`` maps team A's user and team B's role (its ``maxSessionDuration`` arriving as the number
    given) beside the foreign entries; ``destroy`` removes exactly them."""
    project = run_example("typescript", ["team-a", "team-b"])
    sdk = project.directory / "sdks" / "eks-cicd-access"
    assert (sdk / "bin" / "index.d.ts").exists(), "the SDK's postinstall did not compile it"
    manifest = json.loads((project.directory / "package.json").read_text())
    assert manifest["dependencies"]["@eks-cicd-access/sdk"] == "file:sdks/eks-cicd-access"
    typecheck = subprocess.run(["npx", "tsc", "--noEmit"], cwd=project.directory, env=project.env,
                               capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert typecheck.returncode == 0, typecheck.stdout + typecheck.stderr
    found = up_then_destroy(project, "typescript", languages, foreign)
    assert [u["username"] for u in found["entries"]["mapUsers"]] == ["team-a"]
    assert [r["username"] for r in found["entries"]["mapRoles"]] == ["team-b"]
    assert found["outputs"]["teamAUser"] == "team-a" and found["outputs"]["teamBRoleArn"].endswith(":role/team-b")
    assert found["outputs"]["teamASecretAccessKey"] == "[secret]", "the key must be a secret output"
    assert found["roles"]["team-b"]["MaxSessionDuration"] == 7200, "a number from TypeScript is the integer it was"


def test_typescript_standalone_entry(languages: Engine, run_example: Any, foreign: dict[str, str]) -> None:
    """From TypeScript, one ``AwsAuthEntry`` on a cluster someone else made: exactly that role is mapped, and
    destroy removes exactly it."""
    project = run_example("typescript-entry", [])
    found = up_then_destroy(project, "typescript-entry", languages, foreign)
    assert found["entries"] == {
        "mapRoles": [{"rolearn": EXAMPLE_ROLE, "username": "release-bot", "groups": ["release-bots"]}],
        "mapUsers": [],
    }
    assert found["outputs"]["mapped"] == f"{EXAMPLE_ROLE} -> release-bot"


def test_go_team_and_entry(languages: Engine, run_example: Any, foreign: dict[str, str]) -> None:
    """From Go: ``package add`` generates the SDK and points go.mod at it; the program and the SDK build and
    vet; ``up`` maps the team's role and the entry's beside the foreign ones; ``destroy`` removes exactly them."""
    project = run_example("go", ["team-go"])
    gomod = (project.directory / "go.mod").read_text()
    assert "replace eks-cicd-access.invalid/sdk/go => ./sdks/eks-cicd-access" in gomod, gomod
    vet = subprocess.run(["go", "vet", ".", "eks-cicd-access.invalid/sdk/go/..."], cwd=project.directory,
                         env=project.env, capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    assert vet.returncode == 0, vet.stdout + vet.stderr
    found = up_then_destroy(project, "go", languages, foreign)
    assert sorted(r["username"] for r in found["entries"]["mapRoles"]) == ["deployer", "team-go"]
    assert found["outputs"]["mappedUser"] == "deployer"


def test_yaml_two_teams_and_an_entry(languages: Engine, run_example: Any, foreign: dict[str, str]) -> None:
    """From YAML (the plugin named in ``packages:``): ``up`` maps team A's user, team B's role and the release bot
    beside the foreign entries; ``destroy`` leaves aws-auth exactly as it found it."""
    project = run_example("yaml", ["team-a", "team-b"])
    found = up_then_destroy(project, "yaml", languages, foreign)
    assert [u["username"] for u in found["entries"]["mapUsers"]] == ["team-a"]
    assert sorted(r["username"] for r in found["entries"]["mapRoles"]) == ["release-bot", "team-b"]
    assert RELEASE_BOT in found["entries"]["mapRoles"]
    assert found["outputs"]["teamAUser"] == "team-a" and found["outputs"]["teamBRoleArn"].endswith(":role/team-b")


def failed_yaml_preview(engine: Engine, root: Path, resources: dict[str, Any], *, ok: bool | None = False) -> str:
    """A YAML program of ``resources`` with the plugin: its ``pulumi preview`` must fail (``ok``); what it printed."""
    program = {"name": "bad-input", "runtime": "yaml", "resources": resources,
               "packages": {"eks-cicd-access": str(REPO / "provider")}}  # fmt: skip
    project = Project.make(engine, root, "bad-input", {"Pulumi.yaml": yaml.safe_dump(program)})
    project("login", project.backend)
    project("stack", "init", "dev")
    failed = project("preview", ok=ok)
    return failed.stdout + failed.stderr


def test_two_instances_mapping_one_principal_fail_the_preview(languages: Engine, tmp_path: Path) -> None:
    """Two components of one YAML program that would map the same principal are refused, naming both: served by the
    plugin, the instances of one deployment share their claims as in a Python program (destroying either would
    unmap the other's entry)."""
    same = {"clusterName": "my-cluster-1", "identity": "existing", "principalArn": EXAMPLE_ROLE, "attachPolicy": False,
            "kubeconfig": "x"}  # fmt: skip
    output = failed_yaml_preview(languages, tmp_path, {
        "ci-a": {"type": "eks-cicd-access:EksCicdAccess", "properties": {**same, "namespace": "team-a"}},
        "ci-b": {"type": "eks-cicd-access:EksCicdAccess", "properties": {**same, "namespace": "team-b"}},
    })  # fmt: skip
    assert f"the mapping of '{EXAMPLE_ROLE}' in cluster 'my-cluster-1'" in output, output
    assert "EksCicdAccess 'ci-a'" in output or "EksCicdAccess 'ci-b'" in output, output


def test_bad_input_from_yaml_fails_the_preview_naming_the_field_as_spelt(languages: Engine, tmp_path: Path) -> None:
    """A YAML program asking for ``kube-system``: the preview fails with the component's message in the schema's
    spelling (``allowSystemNamespace``), without a Python traceback, and nothing is registered."""
    output = failed_yaml_preview(languages, tmp_path, {"ci": {
        "type": "eks-cicd-access:EksCicdAccess",
        "properties": {"clusterName": "my-cluster-1", "namespace": "kube-system", "kubeconfig": "x"},
    }})  # fmt: skip
    assert "namespace: 'kube-system' is a system namespace" in output, output
    assert "allowSystemNamespace" in output and "allow_system_namespace" not in output, output
    assert "allowSystemNamespace=true" in output and "True" not in output, output
    assert "Traceback" not in output, output


def test_a_warning_from_yaml_is_in_the_schemas_spelling(languages: Engine, tmp_path: Path) -> None:
    """A rule naming ``deployment`` from YAML: the component's warning names ``roleRules[0].resources``, the
    schema's spelling, never Python's ``role_rules``."""
    rules = [{"apiGroups": ["apps"], "resources": ["deployment"], "verbs": ["get"]}]
    output = failed_yaml_preview(languages, tmp_path, {"ci": {
        "type": "eks-cicd-access:EksCicdAccess",
        "properties": {"clusterName": "my-cluster-1", "namespace": "web", "kubeconfig": "x", "roleRules": rules},
    }}, ok=None)  # fmt: skip
    assert "roleRules[0].resources: 'deployment' is not served by API group 'apps'" in output, output
    assert "role_rules" not in output, output


def test_auto_from_yaml_is_decided_by_the_plugin_at_preview(languages: Engine, tmp_path: Path) -> None:
    """``identityMapping: auto`` served by the plugin: its plain getCluster inside Construct answers (the cluster
    is in API_AND_CONFIG_MAP mode), so the preview plans an access entry and no aws-auth entry."""
    output = failed_yaml_preview(languages, tmp_path, {"ci": {
        "type": "eks-cicd-access:EksCicdAccess",
        "properties": {"clusterName": "my-cluster-1", "namespace": "web", "kubeconfig": "x",
                       "identityMapping": "auto"},
    }}, ok=True)  # fmt: skip
    assert "aws:eks:AccessEntry ci-access-entry create" in output, output
    assert "AwsAuthEntry" not in output, output


def test_yaml_package_add_generates_then_stops_at_link(languages: Engine, tmp_path: Path) -> None:
    """``pulumi package add`` from YAML: the YAML host served here (v1.25.0) generates, then has no ``Link``, which
    is why the YAML example names the plugin under ``packages:`` itself (docs/other-languages.md). A host that
    links makes this fail, and the documented note with it."""
    program = {"name": "yaml-add", "runtime": "yaml", "resources": {}}
    project = Project.make(languages, tmp_path, "yaml-add", {"Pulumi.yaml": yaml.safe_dump(program)})
    added = project("package", "add", str(REPO / "provider"), ok=False)
    assert "Successfully generated an SDK for the eks-cicd-access package" in added.stdout, added.stdout
    assert "linking package: method Link not implemented" in added.stderr, added.stderr


#: A Maven build of the generated Java SDK (pulumi-java writes a Gradle one; Gradle is not installed here), with
#: the dependencies its build.gradle lists and the Java SDK of scripts/tool-versions.
JAVA_POM = """<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.pulumi</groupId>
  <artifactId>eks-cicd-access</artifactId>
  <version>0.0.0</version>
  <properties>
    <maven.compiler.release>11</maven.compiler.release>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
  <dependencies>
    <dependency><groupId>com.google.code.findbugs</groupId><artifactId>jsr305</artifactId><version>3.0.2</version></dependency>
    <dependency><groupId>com.google.code.gson</groupId><artifactId>gson</artifactId><version>2.8.9</version></dependency>
    <dependency><groupId>com.pulumi</groupId><artifactId>pulumi</artifactId><version>{sdk}</version></dependency>
  </dependencies>
  <build><plugins><plugin>
    <groupId>org.apache.maven.plugins</groupId><artifactId>maven-compiler-plugin</artifactId><version>3.13.0</version>
  </plugin></plugins></build>
</project>
"""


def test_the_java_sdk_generates_and_compiles_but_for_one_generator_defect(tmp_path: Path) -> None:
    """``gen-sdk --language java`` (pulumi-language-java, the newest version served) writes the SDK, and Maven
    compiles all of it against the pinned Java SDK but one call: for a component with secret outputs that
    generator emits ``ComponentResourceOptions.additionalSecretOutputs``, which the Java SDK does not have. An
    upstream defect, pinned here: a generator without it makes this fail, and the documented note with it."""
    done = pulumi_cli(tmp_path, "package", "gen-sdk", str(REPO / "provider"), "--language", "java", "--out", "sdk",
                      tier="languages")  # fmt: skip
    assert done.returncode == 0, done.stderr
    sdk = tmp_path / "sdk" / "java"
    assert (sdk / "src/main/java/com/pulumi/ekscicdaccess/AwsAuthEntry.java").exists()
    versions = (REPO / "scripts" / "tool-versions").read_text()
    java_sdk = next(
        line.split("=", 1)[1] for line in versions.splitlines() if line.startswith("PULUMI_JAVA_SDK_VERSION=")
    )
    (sdk / "pom.xml").write_text(JAVA_POM.format(sdk=java_sdk))
    maven = subprocess.run(["mvn", "-q", "-B", "compile"], cwd=sdk, capture_output=True, text=True, timeout=900,
                           check=False)  # fmt: skip
    errors = {line.split(":[", 1)[0].rsplit("/", 1)[-1] for line in maven.stdout.splitlines()
              if line.startswith("[ERROR] /") and ".java:[" in line}  # fmt: skip
    assert maven.returncode != 0 and errors == {"EksCicdAccess.java"}, maven.stdout[-3000:]
    assert "symbol:   method additionalSecretOutputs(java.util.List<java.lang.String>)" in maven.stdout
