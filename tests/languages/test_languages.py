"""The plugin under the real engine, from programs in other languages (``pytest -m languages``).

Each example of ``examples/`` runs with the commands of ``docs/other-languages.md``,
line by line, from a copy of ``examples/`` beside a link to ``provider/`` (so its ``../../provider`` resolves as
in a checkout), against the session's control plane and the AWS stand-in (moto behind a stand-in plugin: no
AWS). TypeScript and Go run under our stand-ins for their language hosts (``testbed/language_hosts``, built by
``scripts/tools`` from the CLI's own code generators: the real hosts are not served here); YAML and Java under
the real ``pulumi-language-yaml`` and ``pulumi-language-java`` (Java's with Maven, its dependencies from Maven
Central). What each must show: ``preview`` writes nothing, ``up`` writes every entry of ours beside the foreign
ones (the node role, another team's user), the component's key outputs are secret in ``stack output`` and in
``stack export`` (the schema does not mark them: they are secret by value), ``destroy`` removes exactly ours.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from collections.abc import Callable, Iterator
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
    python_sdk,
    readme_language_commands,
)
from testbed.names import MOTO_ACCOUNT
from testbed.workload import IMAGE
from testbed.workload import manifest as deployment
from tests.support import wait_for

EXAMPLE_ROLE = f"arn:aws:iam::{MOTO_ACCOUNT}:role/deployer"
RELEASE_BOT = {"rolearn": f"arn:aws:iam::{MOTO_ACCOUNT}:role/release-bot", "username": "release-bot", "groups": []}
#: The component's type, and the signature of a secret value in a stack's state.
COMPONENT = "eks-cicd-access:index:EksCicdAccess"
SECRET_SIG = "4dabf18193072939515e22adb298388d"
#: Team A's component, and the outputs its ``secretAccessKey`` and ``accessKeys`` are exported as.
TEAM_A_KEYS = ("team-a", "teamASecretAccessKey", "teamAAccessKeys")


@pytest.fixture(scope="module")
def languages(engine: Engine) -> Engine:
    """The engine tier's world, with the language hosts of this tier on ``PATH`` too."""
    return Engine(find_tools("languages"), engine.moto, engine.plane)


def consumer_env(engine: Engine, root: Path) -> dict[str, str]:
    """The engine's environment plus what npm, go and Maven need, their caches the machine's (nothing
    re-downloaded)."""
    env = engine.env(root)
    tools = [shutil.which(t) for t in ("node", "npm", "go", "mvn", "java")]
    assert all(tools), f"node, npm, go, mvn and java are needed: {tools}"
    env["PATH"] = os.pathsep.join([env["PATH"], *{str(Path(t).parent) for t in tools if t}])
    go_env = subprocess.run(["go", "env", "-json", "GOMODCACHE", "GOCACHE", "GOPROXY"], capture_output=True,
                            text=True, check=True, timeout=60).stdout  # fmt: skip
    env.update(json.loads(go_env))
    env["GOFLAGS"] = "-mod=mod"
    env["npm_config_cache"] = subprocess.run(["npm", "config", "get", "cache"], capture_output=True, text=True,
                                             check=True, timeout=60).stdout.strip()  # fmt: skip
    # Maven (run by pulumi-language-java) keeps the machine's repository, or the one MAVEN_OPTS names (CI's cold run)
    env["MAVEN_OPTS"] = os.environ.get("MAVEN_OPTS") or f"-Dmaven.repo.local={Path.home() / '.m2' / 'repository'}"
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


def up_then_destroy(
    project: Project,
    example: str,
    engine: Engine,
    foreign: dict[str, str],
    keys: tuple[str, str, str] | None = None,
    while_up: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """The documented ``pulumi up`` (its summary printed), the stack's outputs, then its ``pulumi destroy``, which
    must leave aws-auth exactly as it was found. With ``keys`` (the component's name, and the outputs its
    ``secretAccessKey`` and ``accessKeys`` are exported as), those must stay secret (``keys_stay_secret``);
    ``while_up`` is called with the outputs, secrets shown, before the destroy."""
    up = run_readme(project, example, engine.plane, until="pulumi preview")["pulumi up"]
    print(f"\n{example} up:", up[up.rindex("Resources:") :].strip())
    roles = engine.moto.client("iam").list_roles()["Roles"]
    shown = keys_stay_secret(project, *keys) if keys else project.outputs(secrets=True)
    if while_up:
        while_up(shown)
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


def keys_stay_secret(project: Project, component: str, key: str, keys: str) -> dict[str, Any]:
    """The component ``component``'s key, exported as ``key``, and its keys by label, as ``keys``: ``[secret]`` in
    ``stack output --json``; with ``--show-secrets``, the key and the map holding it; in ``stack export``, the
    key's plaintext nowhere, and the component's own ``secretAccessKey`` and ``accessKeys`` encrypted. The stack's
    outputs with their secrets shown."""
    hidden = project.outputs()
    assert (hidden[key], hidden[keys]) == ("[secret]", "[secret]"), hidden
    shown = project.outputs(secrets=True)
    assert shown[key] and [k["secret"] for k in shown[keys].values()] == [shown[key]], shown
    exported = project("stack", "export").stdout
    assert shown[key] not in exported, "the key is in the state in plaintext"
    [state] = [r for r in json.loads(exported)["deployment"]["resources"]
               if r["type"] == COMPONENT and r["urn"].endswith(f"::{component}")]  # fmt: skip
    for name in ("secretAccessKey", "accessKeys"):
        assert SECRET_SIG in state["outputs"][name], f"{component}'s {name} is not a secret in the state"
    return shown


def test_typescript_two_teams(languages: Engine, run_example: Any, foreign: dict[str, str]) -> None:
    """From TypeScript: ``package add`` generates and links the SDK (compiled by tsc), the program type-checks
    against it; ``up`` maps team A's user and team B's role (its ``maxSessionDuration`` arriving as the number
    given) beside the foreign entries, team A's keys staying secret; ``destroy`` removes exactly them."""
    project = run_example("typescript", ["team-a", "team-b"])
    sdk = project.directory / "sdks" / "eks-cicd-access"
    assert (sdk / "bin" / "index.d.ts").exists(), "the SDK's postinstall did not compile it"
    manifest = json.loads((project.directory / "package.json").read_text())
    assert manifest["dependencies"]["@eks-cicd-access/sdk"] == "file:sdks/eks-cicd-access"
    typecheck = subprocess.run(["npx", "tsc", "--noEmit"], cwd=project.directory, env=project.env,
                               capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert typecheck.returncode == 0, typecheck.stdout + typecheck.stderr
    found = up_then_destroy(project, "typescript", languages, foreign, TEAM_A_KEYS)
    assert [u["username"] for u in found["entries"]["mapUsers"]] == ["team-a"]
    assert [r["username"] for r in found["entries"]["mapRoles"]] == ["team-b"]
    assert found["outputs"]["teamAUser"] == "team-a" and found["outputs"]["teamBRoleArn"].endswith(":role/team-b")
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


def test_go_two_teams_and_an_entry(languages: Engine, run_example: Any, foreign: dict[str, str]) -> None:
    """From Go: ``package add`` generates the SDK and points go.mod at it; the program and the SDK build and
    vet; ``up`` maps one team's role, the other's user and the entry's role beside the foreign ones, the user's
    keys stay secret; ``destroy`` removes exactly them."""
    project = run_example("go", ["team-go", "team-go-user"])
    gomod = (project.directory / "go.mod").read_text()
    assert "replace eks-cicd-access.invalid/sdk/go => ./sdks/eks-cicd-access" in gomod, gomod
    vet = subprocess.run(["go", "vet", ".", "eks-cicd-access.invalid/sdk/go/..."], cwd=project.directory,
                         env=project.env, capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    assert vet.returncode == 0, vet.stdout + vet.stderr
    keys = ("team-go-user", "userSecretAccessKey", "userAccessKeys")
    found = up_then_destroy(project, "go", languages, foreign, keys)
    assert sorted(r["username"] for r in found["entries"]["mapRoles"]) == ["deployer", "team-go"]
    assert [u["username"] for u in found["entries"]["mapUsers"]] == ["team-go-user"]
    assert found["outputs"]["mappedUser"] == "deployer"


def test_yaml_two_teams_and_an_entry(languages: Engine, run_example: Any, foreign: dict[str, str]) -> None:
    """From YAML (the plugin named in ``packages:``): ``up`` maps team A's user, team B's role and the release bot
    beside the foreign entries, team A's keys staying secret; ``destroy`` leaves aws-auth exactly as it found it."""
    project = run_example("yaml", ["team-a", "team-b"])
    found = up_then_destroy(project, "yaml", languages, foreign, TEAM_A_KEYS)
    assert [u["username"] for u in found["entries"]["mapUsers"]] == ["team-a"]
    assert sorted(r["username"] for r in found["entries"]["mapRoles"]) == ["release-bot", "team-b"]
    assert RELEASE_BOT in found["entries"]["mapRoles"]
    assert found["outputs"]["teamAUser"] == "team-a" and found["outputs"]["teamBRoleArn"].endswith(":role/team-b")


#: A Python program of the plugin's generated Python SDK (``pulumi_eks_cicd_access``): a remote component, as a
#: program in any other language has it, not the package's own ``EksCicdAccess``.
PYTHON_SDK_PROGRAM = """
import pulumi
import pulumi_eks_cicd_access as access

config = pulumi.Config()
team = access.EksCicdAccess("team-py", cluster_name=config.require("clusterName"), namespace="team-py",
                            kubeconfig=config.require_secret("kubeconfig"))
pulumi.export("secretAccessKey", team.secret_access_key)
pulumi.export("accessKeys", team.access_keys)
"""


def test_python_sdk_keeps_the_keys_secret(languages: Engine, foreign: dict[str, str], tmp_path: Path) -> None:
    """From the generated Python SDK (``gen-sdk --language python``, pip-installed): ``up`` maps the team's user
    beside the foreign entries and its keys stay secret though the schema does not mark them; ``destroy`` leaves
    aws-auth exactly as it found it."""
    site = python_sdk(tmp_path, tier="languages")
    manifest = {"name": "team-py", "runtime": "python", "packages": {"eks-cicd-access": str(REPO / "provider")}}
    project = Project.make(languages, tmp_path, "team-py", {"Pulumi.yaml": yaml.safe_dump(manifest),
                                                            "__main__.py": PYTHON_SDK_PROGRAM})  # fmt: skip
    project.env["PYTHONPATH"] = str(site)
    project("login", project.backend)
    project("stack", "init", "dev")
    project("config", "set", "aws:region", "us-east-1")
    project("config", "set", "clusterName", "my-cluster-1")
    for key in ("kubeconfig", "kubernetes:kubeconfig"):
        project("config", "set", "--secret", key, stdin=languages.plane.admin_kubeconfig)
    try:
        up = project("up", "--yes").stdout
        print("\npython sdk up:", up[up.rindex("Resources:") :].strip())
        assert [u["username"] for u in ours(languages)["mapUsers"]] == ["team-py"]
        keys_stay_secret(project, "team-py", "secretAccessKey", "accessKeys")
        down = project("destroy", "--yes").stdout
        print("python sdk destroy:", down[down.rindex("Resources:") :].split("\n\n")[0].strip())
        assert languages.plane.aws_auth_data() == foreign
    finally:
        project("destroy", "--yes", "--skip-preview", ok=None)
        delete_namespace(languages.plane, "team-py")


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


def ci_deploys_and_rolls_back(engine: Engine, outputs: dict[str, Any], namespace: str) -> None:
    """Team A's CI, with the stack's kubeconfig and key and nothing else, through real kubectl: sets the image of
    a Deployment in ``namespace``, undoes it, and is refused in ``default``."""
    credentials = {"AWS_ACCESS_KEY_ID": outputs["teamAAccessKeyId"],
                   "AWS_SECRET_ACCESS_KEY": outputs["teamASecretAccessKey"]}  # fmt: skip

    def kubectl(*args: str) -> Any:
        return engine.plane.kubectl(args, kubeconfig=outputs["teamAKubeconfig"], credentials=credentials, timeout=120)

    def image() -> str:
        found = engine.plane.api("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/web")
        return str(found["spec"]["template"]["spec"]["containers"][0]["image"])

    engine.plane.api("POST", f"/apis/apps/v1/namespaces/{namespace}/deployments", deployment(1, namespace))
    try:
        # The authenticator reads aws-auth through a watch: CI is admitted once it has the entry.
        wait_for("CI admitted", lambda: kubectl("-n", namespace, "get", "deployment", "web").returncode == 0, 30)
        run = kubectl("-n", namespace, "set", "image", "deployment/web", f"app={IMAGE.format(2)}")
        assert run.returncode == 0 and image() == IMAGE.format(2), run.stderr
        run = kubectl("-n", namespace, "rollout", "undo", "deployment/web")
        assert run.returncode == 0 and image() == IMAGE.format(1), run.stderr
        elsewhere = kubectl("-n", "default", "get", "deployments")
        assert elsewhere.returncode != 0 and "forbidden" in elsewhere.stderr.lower(), elsewhere.stderr
    finally:
        engine.plane.api("DELETE", f"/apis/apps/v1/namespaces/{namespace}/deployments/web")


def test_java_two_teams_and_an_entry(languages: Engine, run_example: Any, foreign: dict[str, str]) -> None:
    """From Java, under the real pulumi-language-java and Maven: ``gen-sdk`` writes the SDK, which compiles with no
    edit beside the program against the pinned ``com.pulumi:pulumi`` (tests/unit/test_repository.py); ``up`` maps
    team A's user, team B's role and the entry beside the foreign ones, team A's keys stay secret, and its key
    deploys and rolls back through real kubectl in its namespace alone; ``destroy`` leaves aws-auth exactly as it
    found it."""
    project = run_example("java", ["team-a", "team-b"])
    sdk = project.directory / "sdks" / "eks-cicd-access" / "java" / "src" / "main" / "java" / "com" / "pulumi"
    assert (sdk / "ekscicdaccess" / "EksCicdAccess.java").exists(), "no SDK where pom.xml reads it"
    found = up_then_destroy(project, "java", languages, foreign, TEAM_A_KEYS,
                            while_up=lambda shown: ci_deploys_and_rolls_back(languages, shown, "team-a"))  # fmt: skip
    assert [u["username"] for u in found["entries"]["mapUsers"]] == ["team-a"]
    assert sorted(r["username"] for r in found["entries"]["mapRoles"]) == ["release-bot", "team-b"]
    entry = {"rolearn": EXAMPLE_ROLE, "username": "release-bot", "groups": ["release-bots"]}
    assert entry in found["entries"]["mapRoles"]
    assert found["outputs"]["teamAUser"] == "team-a" and found["outputs"]["teamBRoleArn"].endswith(":role/team-b")
    assert found["outputs"]["mappedUser"] == "release-bot"
