"""The IAM side proven offline: parliament lints the documents, moto enforces them.

moto 5.2.5 limits, worked around or stated here rather than hidden:

1. It re-signs body-less GET/DELETE requests with its parsed parameters as the
   body, so a valid key gets SignatureDoesNotMatch. ``bodyless_signature_fix``
   restores the empty body for exactly those requests.
2. Its policy check always evaluates against Resource "*", so an allow scoped
   to a cluster ARN is always denied. The allow path is therefore proven with
   the "any" document; for the default, cluster-scoped document moto can only
   show the denials. That the ARN matches DescribeCluster on the right cluster
   is checked by test_policy_resource_is_the_clusters_arn instead.
"""

import json
from collections.abc import Callable
from functools import partial
from typing import Any

import boto3
import parliament
import pulumi
import pytest
from botocore.exceptions import ClientError
from moto import settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.iam.access_control import IAMRequestBase

from eks_cicd_access import EksCicdAccess
from eks_cicd_access.kubeconfig import KubeconfigError, fetch_kubeconfig
from testbed.names import REGION


def component_policy(stack, cluster_arn: str, scope: str) -> str:
    """The exact policy document the component registers for this cluster and scope."""
    stack.mocks.cluster = {"arn": cluster_arn}
    args: Any = {"cluster_name": "my-cluster-1", "namespace": "apps", "policy_resource_scope": scope}
    stack.run(lambda: {"user": EksCicdAccess("ci", args, pulumi.ResourceOptions()).iam_user_arn})
    document: str = stack.one("aws:iam/policy:Policy").inputs["policy"]
    stack.monitor.registrations.clear()
    return document


# --- parliament ------------------------------------------------------------


def test_default_policy_has_no_parliament_findings(stack):
    """The cluster-scoped document passes parliament with no finding at all."""
    document = component_policy(stack, "arn:aws:eks:us-east-1:123412341234:cluster/my-cluster-1", "cluster")
    assert parliament.analyze_policy_string(document).findings == []


def test_any_scope_is_flagged_resource_star(stack):
    """The recipe's "*" document is flagged RESOURCE_STAR for eks:DescribeCluster, and only that."""
    document = component_policy(stack, "arn:aws:eks:us-east-1:123412341234:cluster/my-cluster-1", "any")
    findings = parliament.analyze_policy_string(document).findings
    assert [(f.issue, f.detail) for f in findings] == [("RESOURCE_STAR", ["eks:DescribeCluster"])]


# --- moto ------------------------------------------------------------------


@pytest.fixture
def bodyless_signature_fix(monkeypatch) -> None:
    """Work around moto limit 1 (see module docstring): sign body-less GET/DELETE/HEAD with an empty body."""
    original = IAMRequestBase._create_aws_request

    def create_aws_request(self: Any) -> Any:
        request = original(self)
        if self._method in ("GET", "DELETE", "HEAD") and not self._body:
            request.data = b""
        return request

    monkeypatch.setattr(IAMRequestBase, "_create_aws_request", create_aws_request)


@pytest.fixture
def aws(moto_eks, bodyless_signature_fix) -> dict[str, str]:
    """moto with two ACTIVE clusters; their ARNs by name."""
    return {name: cluster["arn"] for name, cluster in moto_eks.items()}


def ci_session(monkeypatch, policy_document: str | None) -> boto3.session.Session:
    """Create the CI user as the component does (policy, attachment, key), then turn on moto's IAM enforcement."""
    iam = boto3.client("iam", region_name=REGION)
    iam.create_user(UserName="my-test-iam-user")
    if policy_document is not None:
        policy = iam.create_policy(PolicyName="EKS_CICD_User_Policy", PolicyDocument=policy_document)["Policy"]
        iam.attach_user_policy(UserName="my-test-iam-user", PolicyArn=policy["Arn"])
    key = iam.create_access_key(UserName="my-test-iam-user")["AccessKey"]
    monkeypatch.setattr(settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)
    monkeypatch.setattr(ActionAuthenticatorMixin, "request_count", 0)
    return boto3.session.Session(
        aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], region_name=REGION
    )


def denied(call: Callable[[], Any]) -> bool:
    """True if AWS refused the call for lack of permission (not for a bad signature or anything else)."""
    try:
        call()
    except ClientError as error:
        # moto answers rest-json services with an XML error botocore reads as code "403".
        return "is not authorized to perform" in str(error)
    return False


FORBIDDEN: dict[str, Callable[[boto3.session.Session], Any]] = {
    "iam:ListUsers": lambda s: s.client("iam").list_users(),
    "eks:ListClusters": lambda s: s.client("eks").list_clusters(),
    "eks:DeleteCluster": lambda s: s.client("eks").delete_cluster(name="my-cluster-1"),
    "eks:UpdateClusterConfig": lambda s: s.client("eks").update_cluster_config(
        name="my-cluster-1", logging={"clusterLogging": [{"types": ["api"], "enabled": True}]}
    ),
}


def test_any_scope_key_can_describe_and_nothing_else(stack, aws, monkeypatch):
    """With the component's "any" document the key describes the cluster and is denied every other action tried."""
    session = ci_session(monkeypatch, component_policy(stack, aws["my-cluster-1"], "any"))
    assert session.client("eks").describe_cluster(name="my-cluster-1")["cluster"]["arn"] == aws["my-cluster-1"]
    assert [action for action, call in FORBIDDEN.items() if not denied(partial(call, session))] == []


def test_cluster_scope_key_is_denied_everything_else(stack, aws, monkeypatch):
    """With the default, cluster-scoped document every action but DescribeCluster is denied (moto limit 2)."""
    session = ci_session(monkeypatch, component_policy(stack, aws["my-cluster-1"], "cluster"))
    assert [action for action, call in FORBIDDEN.items() if not denied(partial(call, session))] == []


def test_policy_resource_is_the_clusters_arn(stack, aws):
    """The default document names exactly the ARN DescribeCluster returns for our cluster (what IAM matches on)."""
    document = json.loads(component_policy(stack, aws["my-cluster-1"], "cluster"))
    assert document["Statement"][0]["Resource"] == aws["my-cluster-1"]
    assert aws["other-cluster"] not in json.dumps(document)


def test_kubeconfig_tool_with_the_ci_key(stack, aws, monkeypatch):
    """The CI tool builds the kubeconfig with the CI key alone."""
    session = ci_session(monkeypatch, component_policy(stack, aws["my-cluster-1"], "any"))
    assert aws["my-cluster-1"] in fetch_kubeconfig("my-cluster-1", client=session.client("eks"))


def test_kubeconfig_tool_reports_denied_access(aws, monkeypatch):
    """A key without eks:DescribeCluster gets an error naming the missing permission."""
    session = ci_session(monkeypatch, None)
    with pytest.raises(KubeconfigError, match=r"access denied.*eks:DescribeCluster"):
        fetch_kubeconfig("my-cluster-1", client=session.client("eks"))


# --- keyless: the OIDC role ---------------------------------------------------------------------


def component_role(stack, cluster_arn: str, scope: str) -> tuple[str, str, str]:
    """The trust policy, the role path and the DescribeCluster policy the component registers for a
    github-actions identity."""
    stack.mocks.cluster = {"arn": cluster_arn}
    args: Any = {
        "cluster_name": "my-cluster-1",
        "namespace": "apps",
        "policy_resource_scope": scope,
        "identity": "github-actions",
        "oidc_subjects": ["repo:acme/web:environment:production"],
        "iam_role_name": "web-ci",
        "iam_role_path": "/ci/",
        "create_oidc_provider": True,
    }
    stack.run(lambda: {"role": EksCicdAccess("web-ci", args, pulumi.ResourceOptions()).iam_role_arn})
    role = stack.one("aws:iam/role:Role").inputs
    policy: str = stack.one("aws:iam/policy:Policy").inputs["policy"]
    stack.monitor.registrations.clear()
    return role["assumeRolePolicy"], role["path"], policy


def ci_role_session(monkeypatch, trust: str, path: str, policy_document: str) -> tuple[boto3.session.Session, str]:
    """Create the provider, the role and its policy as the component does; assume the role with a token
    (moto does not check the token); then turn on IAM enforcement. Returns the session and the caller ARN."""
    iam = boto3.client("iam", region_name=REGION)
    iam.create_open_id_connect_provider(
        Url="https://token.actions.githubusercontent.com", ClientIDList=["sts.amazonaws.com"]
    )
    role = iam.create_role(RoleName="web-ci", Path=path, AssumeRolePolicyDocument=trust)["Role"]
    policy = iam.create_policy(PolicyName="web-ci-eks-describe-cluster", PolicyDocument=policy_document)["Policy"]
    iam.attach_role_policy(RoleName="web-ci", PolicyArn=policy["Arn"])
    sts = boto3.client("sts", region_name=REGION)
    assumed = sts.assume_role_with_web_identity(
        RoleArn=role["Arn"], RoleSessionName="deploy-42", WebIdentityToken="header.claims.signature"
    )
    credentials = assumed["Credentials"]
    monkeypatch.setattr(settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)
    monkeypatch.setattr(ActionAuthenticatorMixin, "request_count", 0)
    session = boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=REGION,
    )
    return session, assumed["AssumedRoleUser"]["Arn"]


def test_the_role_session_can_describe_and_nothing_else(stack, aws, monkeypatch):
    """Temporary credentials from AssumeRoleWithWebIdentity on the component's role (the "any" document)
    describe the cluster and are denied what the user's key is denied. moto does not check the token's
    signature or the trust policy's conditions: tests/unit/test_trust_semantics.py covers those."""
    trust, path, policy = component_role(stack, aws["my-cluster-1"], "any")
    session, caller = ci_role_session(monkeypatch, trust, path, policy)
    account = session.client("sts").get_caller_identity()["Account"]
    assert caller == f"arn:aws:sts::{account}:assumed-role/web-ci/deploy-42", "STS names the role without its path"
    assert session.client("sts").get_caller_identity()["Arn"] == caller
    assert session.client("eks").describe_cluster(name="my-cluster-1")["cluster"]["arn"] == aws["my-cluster-1"]
    assert [action for action, call in FORBIDDEN.items() if not denied(partial(call, session))] == []


def test_the_cluster_scoped_role_session_is_denied_everything_else(stack, aws, monkeypatch):
    """With the default, cluster-scoped document every action tried but DescribeCluster is denied (moto limit 2)."""
    trust, path, policy = component_role(stack, aws["my-cluster-1"], "cluster")
    session, _ = ci_role_session(monkeypatch, trust, path, policy)
    assert [action for action, call in FORBIDDEN.items() if not denied(partial(call, session))] == []


def test_the_role_policy_is_the_users_policy(stack, aws):
    """The role gets the same DescribeCluster document as the user (so parliament's verdict carries over),
    and parliament finds nothing in it."""
    _, _, role_policy = component_role(stack, aws["my-cluster-1"], "cluster")
    assert role_policy == component_policy(stack, aws["my-cluster-1"], "cluster")
    assert parliament.analyze_policy_string(role_policy).findings == []
