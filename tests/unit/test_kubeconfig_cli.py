"""The CI-side kubeconfig tool: against moto's EKS, the real AWS CLI, and botocore's Stubber for EKS's own errors."""

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pulumi
import pytest
from awscli.clidriver import create_clidriver
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import Stubber

from eks_cicd_access import EksCicdAccess
from eks_cicd_access.kubeconfig import KubeconfigError, fetch_kubeconfig, main, region_from_environment, write_private
from testbed.names import REGION


@pytest.fixture
def moto_cluster(moto_eks: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The ACTIVE cluster "my-cluster-1" in moto, described."""
    return moto_eks["my-cluster-1"]


def test_tool_output_equals_the_component_output(stack, moto_cluster):
    """For the same cluster, the CI tool writes exactly the component's kubeconfig output."""
    stack.mocks.cluster = {
        "arn": moto_cluster["arn"],
        "endpoint": moto_cluster["endpoint"],
        "certificateAuthorities": [moto_cluster["certificateAuthority"]],
    }
    args: Any = {"cluster_name": "my-cluster-1", "namespace": "apps"}
    out = stack.run(lambda: {"kubeconfig": EksCicdAccess("ci", args, pulumi.ResourceOptions()).kubeconfig})
    assert fetch_kubeconfig("my-cluster-1", REGION) == out["kubeconfig"][0]


def test_tool_output_equals_what_the_aws_cli_writes(moto_cluster, tmp_path):
    """The real `aws eks update-kubeconfig` (awscli, in process, against the same moto cluster) writes the same
    bytes as the tool."""
    written = tmp_path / "aws-cli-kubeconfig"
    create_clidriver().main(
        ["eks", "update-kubeconfig", "--name", "my-cluster-1", "--region", REGION, "--kubeconfig", str(written)]
    )
    assert written.read_text() == fetch_kubeconfig("my-cluster-1", REGION)


def test_cli_writes_a_private_file(moto_cluster, tmp_path):
    """`--output` writes the kubeconfig readable by its owner only."""
    path = tmp_path / "kubeconfig"
    assert main(["--cluster-name", "my-cluster-1", "--region", REGION, "--output", str(path)]) == 0
    assert moto_cluster["arn"] in path.read_text()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_an_existing_file_ends_up_private_and_replaced(moto_cluster, tmp_path):
    """Writing over an existing 0644 file leaves a 0600 file with the new content, and no temporary file."""
    path = tmp_path / "kubeconfig"
    path.write_text("old and world-readable\n")
    path.chmod(0o644)
    assert main(["--cluster-name", "my-cluster-1", "--region", REGION, "--output", str(path)]) == 0
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert "old and world-readable" not in path.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["kubeconfig"]


def test_the_file_is_renamed_into_place_from_the_same_directory(tmp_path, monkeypatch):
    """The text is first written to a 0600 temporary file next to the target (the same filesystem, so the rename
    is atomic), then renamed over it."""
    renames = []
    real_replace = os.replace

    def replace(source: str, target: str) -> None:
        renames.append((Path(source).parent, stat.S_IMODE(os.stat(source).st_mode), Path(source).read_text(), target))
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace)
    target = tmp_path / "kubeconfig"
    write_private(str(target), "text")
    assert renames == [(tmp_path, 0o600, "text", str(target))]
    assert target.read_text() == "text"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    """If the rename fails, the old file is untouched, the temporary file is removed, and the error propagates."""
    target = tmp_path / "kubeconfig"
    target.write_text("old")

    def replace(source: str, target: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError, match="No space left"):
        write_private(str(target), "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["kubeconfig"]


def test_stdout_mode(moto_cluster, capsys):
    """Without --output the kubeconfig goes to standard output, nothing to standard error."""
    assert main(["--cluster-name", "my-cluster-1", "--region", REGION]) == 0
    captured = capsys.readouterr()
    assert captured.out == fetch_kubeconfig("my-cluster-1", REGION)
    assert captured.err == ""


def test_aws_region_alone_is_honoured(moto_cluster, monkeypatch, capsys):
    """With only AWS_REGION set (as GitHub's runners and the AWS CLI v2 use it), the tool finds the cluster."""
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_REGION", REGION)
    assert main(["--cluster-name", "my-cluster-1"]) == 0
    assert moto_cluster["arn"] in capsys.readouterr().out


@pytest.mark.parametrize(
    ("environ", "region"),
    [
        ({"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-east-1"}, "eu-west-1"),
        ({"AWS_DEFAULT_REGION": "us-east-1"}, "us-east-1"),
        ({"AWS_REGION": "", "AWS_DEFAULT_REGION": "us-east-1"}, "us-east-1"),
        ({}, None),
    ],
)
def test_region_order(environ, region):
    """AWS_REGION first, then AWS_DEFAULT_REGION, else the AWS config decides."""
    assert region_from_environment(environ) == region


def test_no_region_names_every_way_to_set_one(monkeypatch, tmp_path):
    """Without any region the error says how to give one, and names both variables truthfully."""
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(KubeconfigError) as raised:
        fetch_kubeconfig("c", environ={})
    assert str(raised.value) == (
        "no AWS region: pass --region, or set AWS_REGION or AWS_DEFAULT_REGION, or a region in the AWS config"
    )


def test_the_environment_given_wins_over_the_process(moto_cluster, monkeypatch):
    """fetch_kubeconfig reads the region from the environment it is given, not from the process's."""
    monkeypatch.setenv("AWS_REGION", REGION)
    with pytest.raises(KubeconfigError, match="not found in this account and region"):
        fetch_kubeconfig("my-cluster-1", environ={"AWS_REGION": "eu-west-1"})
    assert moto_cluster["arn"] in fetch_kubeconfig("my-cluster-1", environ={"AWS_REGION": REGION})


def test_running_as_a_module_prints_no_warning():
    """`python -m eks_cicd_access.kubeconfig --help` runs clean: no runpy RuntimeWarning (warnings are errors)."""
    command = [sys.executable, "-W", "error", "-m", "eks_cicd_access.kubeconfig", "--help"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.startswith("usage: eks-cicd-kubeconfig")


def test_help_is_true_about_the_region_and_the_file(capsys):
    """--help, in full: where the region comes from, in order, and that --output is always 0600."""
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    assert " ".join(capsys.readouterr().out.split()) == (
        "usage: eks-cicd-kubeconfig [-h] --cluster-name CLUSTER_NAME [--region REGION] [--output OUTPUT] "
        "Build the kubeconfig `aws eks update-kubeconfig` would write, using only eks:DescribeCluster. "
        "options: -h, --help show this help message and exit --cluster-name CLUSTER_NAME EKS cluster name "
        "--region REGION AWS region (default: AWS_REGION, then AWS_DEFAULT_REGION, then the AWS config) "
        "--output OUTPUT file to write, always mode 0600 (replaced in one rename); default: standard output"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--cluster-name", ""],
            "cluster name '' is not an EKS cluster name (1-100 characters of A-Z, a-z, 0-9, "
            "'-' and '_', starting with a letter or digit)",
        ),
        (["--cluster-name=-bad"], "cluster name '-bad' is not an EKS cluster name"),
        (["--cluster-name", "c" * 101], "is not an EKS cluster name"),
        ([], "the following arguments are required: --cluster-name (see --help)"),
        (["--cluster-name", "c", "--bogus"], "unrecognized arguments: --bogus (see --help)"),
    ],
)
def test_every_failure_is_one_line_and_status_1(capsys, args, message):
    """Bad input or a missing argument: one line on stderr, `eks-cicd-kubeconfig: <reason>`, exit status 1."""
    code: int | str | None
    try:
        code = main(args)
    except SystemExit as exited:
        code = exited.code
    assert code == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("eks-cicd-kubeconfig: ")
    assert message in lines[0]


def test_an_unwritable_output_is_one_line(moto_cluster, capsys):
    """--output in a directory that does not exist: one line naming the path and the reason, status 1."""
    assert main(["--cluster-name", "my-cluster-1", "--region", REGION, "--output", "/nonexistent/dir/kc"]) == 1
    err = capsys.readouterr().err
    assert err == "eks-cicd-kubeconfig: cannot write '/nonexistent/dir/kc': No such file or directory\n"


def test_an_output_under_a_regular_file_is_a_write_error(moto_cluster, tmp_path, capsys):
    """A real unwritable --output (its directory is a regular file) still gives the write message, status 1."""
    (tmp_path / "file").write_text("")
    output = str(tmp_path / "file" / "kc")
    assert main(["--cluster-name", "my-cluster-1", "--region", REGION, "--output", output]) == 1
    assert capsys.readouterr().err == f"eks-cicd-kubeconfig: cannot write {output!r}: Not a directory\n"


def test_a_failed_write_to_standard_output_names_standard_output(moto_cluster, monkeypatch, capsys):
    """Standard output refusing the kubeconfig (a closed pipe, found when the buffered text is flushed) is one line
    naming standard output, status 1."""

    class ClosedPipe:
        def write(self, text: str) -> int:
            return len(text)

        def flush(self) -> None:
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main(["--cluster-name", "my-cluster-1", "--region", REGION]) == 1
    assert capsys.readouterr().err == "eks-cicd-kubeconfig: cannot write standard output: Broken pipe\n"


@pytest.fixture
def assumed_role(monkeypatch, tmp_path: Path) -> Path:
    """Only a web identity role to take credentials from (no keys, profile, config or metadata), in a fresh boto3
    session (the default one keeps the credentials it resolved first); returns a path with no file at it."""
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ROLE_ARN", "arn:aws:iam::123412341234:role/ci")
    return tmp_path / "token"


def test_a_missing_web_identity_token_is_named_not_taken_for_a_write_error(assumed_role, monkeypatch, capsys):
    """AWS_WEB_IDENTITY_TOKEN_FILE naming no file (botocore's raw OSError): one line naming the token file and
    its variable, status 1, and no "cannot write"."""
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(assumed_role))
    assert main(["--cluster-name", "c", "--region", REGION]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"eks-cicd-kubeconfig: cannot read the web identity token file {str(assumed_role)!r} "
        "(AWS_WEB_IDENTITY_TOKEN_FILE): No such file or directory\n"
    )


def test_a_token_path_that_is_a_directory_is_a_kubeconfig_error(assumed_role, monkeypatch):
    """fetch_kubeconfig turns any unreadable token file into its own error with the reason, not a raw OSError."""
    assumed_role.mkdir()
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(assumed_role))
    with pytest.raises(KubeconfigError) as raised:
        fetch_kubeconfig("c", REGION)
    assert str(raised.value) == (
        f"cannot read the web identity token file {str(assumed_role)!r} (AWS_WEB_IDENTITY_TOKEN_FILE): Is a directory"
    )


def test_a_token_file_named_by_the_profile_is_named(assumed_role, monkeypatch, tmp_path):
    """A missing web_identity_token_file from the AWS config (not the variable) is named as the file it is."""
    monkeypatch.delenv("AWS_ROLE_ARN")
    config = tmp_path / "config"
    config.write_text(
        f"[profile ci]\nrole_arn = arn:aws:iam::123412341234:role/ci\nweb_identity_token_file = {assumed_role}\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_PROFILE", "ci")
    with pytest.raises(KubeconfigError) as raised:
        fetch_kubeconfig("c", REGION)
    assert str(raised.value) == f"cannot read {str(assumed_role)!r} for the AWS credentials: No such file or directory"


def test_an_os_error_without_a_file_is_a_kubeconfig_error():
    """An OSError naming no file, from under the client, is still the tool's one-line error."""

    class Client:
        def describe_cluster(self, **_: Any) -> None:
            raise OSError(5, "Input/output error")

    with pytest.raises(KubeconfigError) as raised:
        fetch_kubeconfig("c", client=Client())
    assert str(raised.value) == "getting AWS credentials failed: Input/output error"


# --- EKS's own answers, through botocore's Stubber --------------------------------------------


@pytest.fixture
def stubbed() -> Any:
    client = boto3.client("eks", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="y")
    with Stubber(client) as stubber:
        yield client, stubber


def cluster_description(status: str) -> dict[str, Any]:
    return {
        "cluster": {
            "name": "c",
            "arn": f"arn:aws:eks:{REGION}:123412341234:cluster/c",
            "endpoint": "https://c.eks",
            "certificateAuthority": {"data": "Q0E="},
            "status": status,
        }
    }


DENIED = (
    "access denied describing cluster 'c': the credentials need eks:DescribeCluster on it (is this the right key, "
    "cluster name and region?)"
)


def failed(code: str, message: str = "") -> str:
    """The generic reason: botocore's own text of the error."""
    botocore = f"An error occurred ({code}) when calling the DescribeCluster operation: {message}"
    return f"describing cluster 'c' failed: {botocore}"


@pytest.mark.parametrize(
    ("code", "status", "text", "message"),
    [
        ("AccessDeniedException", 403, "", DENIED),
        ("AccessDenied", 403, "", DENIED),
        ("", 403, "User: arn:aws:iam::123412341234:user/ci is not authorized to perform: eks:DescribeCluster", DENIED),
        ("ResourceNotFoundException", 404, "", "cluster 'c' not found in this account and region"),
        (
            "UnrecognizedClientException",
            403,
            "The security token included in the request is invalid.",
            failed("UnrecognizedClientException", "The security token included in the request is invalid."),
        ),
        ("ServiceUnavailableException", 503, "", failed("ServiceUnavailableException")),
        ("ThrottlingException", 400, "Rate exceeded", failed("ThrottlingException", "Rate exceeded")),
    ],
)
def test_ekss_error_codes(stubbed, code, status, text, message):
    """Real EKS answers AccessDeniedException (moto a bare 403); each answer gets its own one-line reason."""
    client, stubber = stubbed
    stubber.add_client_error("describe_cluster", service_error_code=code, service_message=text, http_status_code=status)
    with pytest.raises(KubeconfigError) as raised:
        fetch_kubeconfig("c", client=client)
    assert str(raised.value) == message


def test_an_error_without_a_body_is_still_one_line():
    """A ClientError carrying no error body or metadata gives the generic reason, not an AttributeError."""

    class Client:
        def describe_cluster(self, **_: Any) -> None:
            raise ClientError({}, "DescribeCluster")

    with pytest.raises(KubeconfigError) as raised:
        fetch_kubeconfig("c", client=Client())
    assert str(raised.value) == failed("Unknown", "Unknown")


def test_an_answer_without_a_cluster_is_one_line():
    """A DescribeCluster answer without "cluster" is reported as such, not as a KeyError."""

    class Client:
        def describe_cluster(self, **_: Any) -> dict[str, Any]:
            return {}

    with pytest.raises(KubeconfigError) as raised:
        fetch_kubeconfig("c", client=Client())
    assert str(raised.value) == "describing cluster 'c' gave no cluster ('cluster' missing)"


def test_a_connection_failure_is_a_reason_not_a_traceback(stubbed):
    """A BotoCoreError (no route to EKS) becomes the tool's error."""
    client, _ = stubbed

    def fail(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url="https://eks.us-east-1.amazonaws.com")

    client.describe_cluster = fail
    with pytest.raises(KubeconfigError, match="describing cluster 'c' failed: Could not connect to the endpoint URL"):
        fetch_kubeconfig("c", client=client)


@pytest.mark.parametrize("status", ["ACTIVE", "UPDATING"])
def test_serving_statuses_are_accepted(stubbed, status):
    """ACTIVE and UPDATING clusters serve requests: both give a kubeconfig, as the AWS CLI does."""
    client, stubber = stubbed
    stubber.add_response("describe_cluster", cluster_description(status), {"name": "c"})
    assert "https://c.eks" in fetch_kubeconfig("c", client=client)


@pytest.mark.parametrize("status", ["CREATING", "DELETING", "FAILED", "PENDING"])
def test_cluster_not_serving_is_a_clear_error(stubbed, status):
    """A cluster that is not serving is reported by status, not turned into a broken kubeconfig."""
    client, stubber = stubbed
    stubber.add_response("describe_cluster", cluster_description(status), {"name": "c"})
    with pytest.raises(KubeconfigError, match=f"is {status}, not ACTIVE"):
        fetch_kubeconfig("c", client=client)


def test_missing_cluster_is_a_clear_error(moto_cluster, capsys):
    """A wrong cluster name says "not found" and exits 1."""
    assert main(["--cluster-name", "no-such-cluster", "--region", REGION]) == 1
    assert "cluster 'no-such-cluster' not found" in capsys.readouterr().err


def test_no_credentials_is_a_clear_error(monkeypatch, tmp_path: Path):
    """Without credentials the tool names what to set, for a key and for a role."""
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ROLE_ARN"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(KubeconfigError) as raised:
        fetch_kubeconfig("c", REGION)
    assert str(raised.value) == (
        "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (the stack outputs), or assume the role "
        "(AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE)"
    )


def test_an_os_error_without_a_reason_keeps_its_text():
    """An OSError botocore lets through with no strerror (raised with a bare message) is reported with that
    message, as the one-line reason."""

    class Failing:
        def describe_cluster(self, name):
            raise OSError("credential process crashed")

    with pytest.raises(KubeconfigError) as raised:
        fetch_kubeconfig("my-cluster-1", REGION, client=Failing())
    assert str(raised.value) == "getting AWS credentials failed: credential process crashed"
