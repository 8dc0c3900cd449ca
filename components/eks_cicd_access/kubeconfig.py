"""The kubeconfig CI uses to reach the cluster.

It is the exec form that ``aws eks update-kubeconfig`` writes: no token is
stored, ``kubectl`` runs ``aws eks get-token`` with whatever AWS credentials the
environment holds (for CI, the access key this project creates). Keeping the
same shape means a kubeconfig built here and one built by the AWS CLI are
interchangeable.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from collections.abc import Mapping
from typing import Any, NoReturn

import yaml

from .checks import EKS_CLUSTER_NAME_RULE, is_eks_cluster_name

#: The exec API version ``aws eks update-kubeconfig`` writes.
EXEC_API_VERSION = "client.authentication.k8s.io/v1beta1"


def region_from_arn(arn: str) -> str:
    """Return the region field of an ARN (``arn:aws:eks:REGION:ACCOUNT:...``)."""
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn" or not parts[3]:
        raise ValueError(f"cluster ARN {arn!r} is not a regional ARN (arn:PARTITION:eks:REGION:ACCOUNT:cluster/NAME)")
    return parts[3]


def build_kubeconfig(
    *,
    cluster_name: str,
    cluster_arn: str,
    endpoint: str,
    certificate_authority_data: str,
    profile: str | None = None,
) -> str:
    """Return the kubeconfig YAML for one EKS cluster.

    Cluster, user and context are all named by the cluster ARN, and the
    region comes from that ARN, exactly as ``aws eks update-kubeconfig`` does.
    ``profile`` adds ``AWS_PROFILE`` to the exec environment, again as the AWS
    CLI does when it runs under a named profile.
    """
    exec_config: dict[str, Any] = {
        "apiVersion": EXEC_API_VERSION,
        "args": [
            "--region",
            region_from_arn(cluster_arn),
            "eks",
            "get-token",
            "--cluster-name",
            cluster_name,
            "--output",
            "json",
        ],
        "command": "aws",
    }
    if profile:
        exec_config["env"] = [{"name": "AWS_PROFILE", "value": profile}]
    config = {
        "apiVersion": "v1",
        "clusters": [
            {
                "cluster": {"certificate-authority-data": certificate_authority_data, "server": endpoint},
                "name": cluster_arn,
            }
        ],
        "contexts": [{"context": {"cluster": cluster_arn, "user": cluster_arn}, "name": cluster_arn}],
        "current-context": cluster_arn,
        "kind": "Config",
        "preferences": {},
        "users": [{"name": cluster_arn, "user": {"exec": exec_config}}],
    }
    return yaml.safe_dump(config, default_flow_style=False, sort_keys=False)


class KubeconfigError(Exception):
    """The cluster cannot be described into a kubeconfig; the message says why and what to do."""


#: States in which the API server serves requests (``aws eks update-kubeconfig`` accepts the same).
SERVING_STATUSES = ("ACTIVE", "UPDATING")


def region_from_environment(environ: Mapping[str, str]) -> str | None:
    """``AWS_REGION`` (what the AWS CLI v2, the SDKs and GitHub's runners set), else ``AWS_DEFAULT_REGION``
    (the only one botocore reads); ``None`` leaves it to the AWS config file."""
    return environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or None


def fetch_kubeconfig(
    cluster_name: str, region: str | None = None, client: Any = None, environ: Mapping[str, str] | None = None
) -> str:
    """Describe ``cluster_name`` with boto3 and return its kubeconfig.

    Needs only ``eks:DescribeCluster``: the one permission the CI user has. The region is ``region``, else
    ``AWS_REGION``, else ``AWS_DEFAULT_REGION``, else the AWS config.
    """
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

    if not is_eks_cluster_name(cluster_name):
        raise KubeconfigError(f"cluster name {cluster_name!r} is not an EKS cluster name ({EKS_CLUSTER_NAME_RULE})")
    region = region or region_from_environment(os.environ if environ is None else environ)
    try:
        eks = client or boto3.client("eks", region_name=region)
        cluster = eks.describe_cluster(name=cluster_name)["cluster"]
    except NoRegionError as error:
        raise KubeconfigError(
            "no AWS region: pass --region, or set AWS_REGION or AWS_DEFAULT_REGION, or a region in the AWS config"
        ) from error
    except NoCredentialsError as error:
        raise KubeconfigError(
            "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (the stack outputs), "
            "or assume the role (AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE)"
        ) from error
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code == "ResourceNotFoundException":
            raise KubeconfigError(f"cluster {cluster_name!r} not found in this account and region") from error
        if code in ("AccessDeniedException", "AccessDenied") or (status == 403 and "not authorized" in str(error)):
            raise KubeconfigError(
                f"access denied describing cluster {cluster_name!r}: the credentials need eks:DescribeCluster "
                "on it (is this the right key, cluster name and region?)"
            ) from error
        raise KubeconfigError(f"describing cluster {cluster_name!r} failed: {error}") from error
    except BotoCoreError as error:
        raise KubeconfigError(f"describing cluster {cluster_name!r} failed: {error}") from error
    except KeyError as error:
        raise KubeconfigError(f"describing cluster {cluster_name!r} gave no cluster ({error} missing)") from error
    except OSError as error:  # botocore reads some credential files itself, raw: the web identity token
        raise KubeconfigError(_unreadable(error)) from error
    status = cluster.get("status")
    if status not in SERVING_STATUSES:
        raise KubeconfigError(f"cluster {cluster_name!r} is {status}, not ACTIVE: wait for it and retry")
    return build_kubeconfig(
        cluster_name=cluster_name,
        cluster_arn=cluster["arn"],
        endpoint=cluster["endpoint"],
        certificate_authority_data=cluster["certificateAuthority"]["data"],
    )


def _unreadable(error: OSError) -> str:
    """The reason for a file botocore could not read while getting credentials (it lets the ``OSError`` through)."""
    reason = error.strerror or str(error)
    if error.filename is None:
        return f"getting AWS credentials failed: {reason}"
    if error.filename == os.environ.get("AWS_WEB_IDENTITY_TOKEN_FILE"):
        return f"cannot read the web identity token file {error.filename!r} (AWS_WEB_IDENTITY_TOKEN_FILE): {reason}"
    return f"cannot read {error.filename!r} for the AWS credentials: {reason}"


def write_private(path: str, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (0600), whatever mode an existing file had.

    The text goes to a new temporary file in the same directory (created 0600), which then replaces
    ``path`` in one rename: no moment with a half-written or world-readable kubeconfig.
    """
    directory = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(prefix=".kubeconfig-", dir=directory)
    try:
        with os.fdopen(descriptor, "w") as out:  # mkstemp made it 0600, whatever the umask
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line on stderr and exit status 1, like every other failure of the tool."""

    def error(self, message: str) -> NoReturn:
        self.exit(1, f"{self.prog}: {message} (see --help)\n")


def main(argv: list[str] | None = None) -> int:
    """``eks-cicd-kubeconfig``: write the kubeconfig for a cluster (CI side).

    Every failure is one line on stderr and exit status 1.
    """
    parser = _Parser(
        prog="eks-cicd-kubeconfig",
        description="Build the kubeconfig `aws eks update-kubeconfig` would write, using only eks:DescribeCluster.",
    )
    parser.add_argument("--cluster-name", required=True, help="EKS cluster name")
    parser.add_argument(
        "--region", help="AWS region (default: AWS_REGION, then AWS_DEFAULT_REGION, then the AWS config)"
    )
    parser.add_argument(
        "--output", help="file to write, always mode 0600 (replaced in one rename); default: standard output"
    )
    options = parser.parse_args(argv)
    try:
        kubeconfig = fetch_kubeconfig(options.cluster_name, options.region)
    except KubeconfigError as error:
        print(f"eks-cicd-kubeconfig: {error}", file=sys.stderr)
        return 1
    try:  # only what the tool writes itself: any other OSError is not a write error
        if options.output:
            write_private(options.output, kubeconfig)
        else:
            sys.stdout.write(kubeconfig)
            sys.stdout.flush()
    except OSError as error:
        target = repr(options.output) if options.output else "standard output"
        print(f"eks-cicd-kubeconfig: cannot write {target}: {error.strerror or error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
