"""The test API server's own rules: if these are wrong, the kubectl tier proves nothing.

Request attributes, RBAC rule matching, token checks and patch merging are
checked here against what the real API server and STS do, without kubectl.
"""

import copy
import datetime
import json
import os
import subprocess

import pytest
import yaml

from eks_cicd_access.kubeconfig import build_kubeconfig
from tests.apiserver.kubectl import BIN, point_at
from tests.apiserver.merge import apply_merge, strategic_merge_patch
from tests.apiserver.rbac import Attributes, Authorizer, request_attributes, rule_allows
from tests.apiserver.schema import DEPLOYMENT, definitions
from tests.apiserver.token import TokenError, verify_token
from tests.conftest import CLUSTER_CA, CLUSTER_ENDPOINT, cluster_arn

NS = "my-test-ns"
DEPLOYMENTS = f"/apis/apps/v1/namespaces/{NS}/deployments"


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        ("GET", f"{DEPLOYMENTS}/web", "", ("get", "apps", NS, "deployments", "", "web")),
        ("GET", DEPLOYMENTS, "labelSelector=app%3Dweb", ("list", "apps", NS, "deployments", "", "")),
        ("GET", DEPLOYMENTS, "fieldSelector=metadata.name%3Dweb", ("list", "apps", NS, "deployments", "", "web")),
        (
            "GET",
            DEPLOYMENTS,
            "watch=true&fieldSelector=metadata.name%3D%3Dweb",
            ("watch", "apps", NS, "deployments", "", "web"),
        ),
        (
            "GET",
            DEPLOYMENTS,
            "watch=1&fieldSelector=metadata.name%21%3Dweb",
            ("watch", "apps", NS, "deployments", "", ""),
        ),
        (
            "GET",
            f"/apis/apps/v1/watch/namespaces/{NS}/deployments/web",
            "",
            ("watch", "apps", NS, "deployments", "", "web"),
        ),
        ("POST", DEPLOYMENTS, "", ("create", "apps", NS, "deployments", "", "")),
        ("PATCH", f"{DEPLOYMENTS}/web", "", ("patch", "apps", NS, "deployments", "", "web")),
        ("PUT", f"{DEPLOYMENTS}/web/scale", "", ("update", "apps", NS, "deployments", "scale", "web")),
        ("DELETE", f"{DEPLOYMENTS}/web", "", ("delete", "apps", NS, "deployments", "", "web")),
        ("DELETE", DEPLOYMENTS, "", ("deletecollection", "apps", NS, "deployments", "", "")),
        ("GET", f"/api/v1/namespaces/{NS}/secrets", "", ("list", "", NS, "secrets", "", "")),
        ("GET", f"/api/v1/namespaces/{NS}", "", ("get", "", NS, "namespaces", "", NS)),
        ("GET", "/api/v1/namespaces", "", ("list", "", "", "namespaces", "", "")),
    ],
)
def test_request_attributes_follow_the_api_server(method, path, query, expected):
    """Verb, group, namespace, resource, subresource and name are read as the API server's RequestInfoFactory does."""
    a = request_attributes(method, path, query)
    assert a.resource_request
    assert (a.verb, a.api_group, a.namespace, a.resource, a.subresource, a.name) == expected, path


@pytest.mark.parametrize("path", ["/api", "/api/v1", "/apis", "/apis/apps", "/apis/apps/v1", "/version", "/openapi/v3"])
def test_discovery_paths_are_non_resource_requests(path):
    """Discovery, /version and /openapi are non-resource requests, allowed to every authenticated user."""
    a = request_attributes("GET", path, "")
    assert not a.resource_request
    assert Authorizer([], []).authorize("anyone", ["system:authenticated"], a).allowed, path


def _attrs(verb, resource="deployments", name="web", subresource="", group="apps", namespace=NS):
    return Attributes(verb, "/", True, group, namespace, resource, subresource, name)


@pytest.mark.parametrize(
    ("rule", "attrs", "allowed"),
    [
        ({"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]}, _attrs("get"), True),
        ({"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]}, _attrs("list", name=""), False),
        ({"apiGroups": ["extensions"], "resources": ["deployments"], "verbs": ["get"]}, _attrs("get"), False),
        ({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, _attrs("delete"), True),
        (
            {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["patch"]},
            _attrs("patch", subresource="scale"),
            False,
        ),
        (
            {"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["patch"]},
            _attrs("patch", subresource="scale"),
            True,
        ),
        (
            {"apiGroups": ["apps"], "resources": ["*/scale"], "verbs": ["patch"]},
            _attrs("patch", subresource="scale"),
            True,
        ),
        (
            {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"], "resourceNames": ["web"]},
            _attrs("get"),
            True,
        ),
        (
            {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"], "resourceNames": ["api"]},
            _attrs("get"),
            False,
        ),
        # A name-restricted list or watch must name the object with a field selector.
        (
            {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["watch"], "resourceNames": ["web"]},
            _attrs("watch"),
            True,
        ),
        (
            {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["list"], "resourceNames": ["web"]},
            _attrs("list", name=""),
            False,
        ),
        # A create carries no name, so resourceNames can never allow it.
        (
            {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["create"], "resourceNames": ["web"]},
            _attrs("create", name=""),
            False,
        ),
    ],
)
def test_rule_matching_follows_rbac(rule, attrs, allowed):
    """Verbs, apiGroups, resources/subresources, resourceNames and '*' match as RBAC's RuleAllows does."""
    assert rule_allows(rule, attrs) is allowed, f"{rule} vs {attrs.describe()}"


ROLE = {
    "metadata": {"name": "deployer", "namespace": NS},
    "rules": [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]}],
}


def _binding(namespace, subject, kind="Role"):
    return {
        "metadata": {"name": "b", "namespace": namespace},
        "subjects": [subject],
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": "deployer"},
    }


@pytest.mark.parametrize(
    ("binding", "user", "groups", "namespace", "allowed"),
    [
        (_binding(NS, {"kind": "User", "name": "ci"}), "ci", [], NS, True),
        (_binding(NS, {"kind": "User", "name": "ci"}), "someone-else", [], NS, False),
        (_binding(NS, {"kind": "Group", "name": "deployers"}), "ci", ["deployers"], NS, True),
        (_binding(NS, {"kind": "User", "name": "ci"}), "ci", [], "team-b", False),
        (_binding("team-b", {"kind": "User", "name": "ci"}), "ci", [], "team-b", False),
        (_binding(NS, {"kind": "User", "name": "ci"}, kind="ClusterRole"), "ci", [], NS, False),
    ],
)
def test_only_a_binding_in_the_requests_namespace_grants(binding, user, groups, namespace, allowed):
    """A RoleBinding grants its Role's rules to its subjects, in its own namespace only."""
    decision = Authorizer([ROLE], [binding]).authorize(user, groups, _attrs("get", namespace=namespace))
    assert decision.allowed is allowed, decision.reason


KEY, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.fixture(scope="module")
def token():
    """A token made by the real `aws eks get-token` for my-cluster-1."""
    env = {
        "PATH": str(BIN),
        "HOME": "/nonexistent",
        "AWS_ACCESS_KEY_ID": KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_CONFIG_FILE": os.devnull,
    }
    out = subprocess.run(
        [
            str(BIN / "aws"),
            "--region",
            "us-east-1",
            "eks",
            "get-token",
            "--cluster-name",
            "my-cluster-1",
            "--output",
            "json",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)["status"]["token"]


def test_a_get_token_token_verifies_for_its_key_and_cluster(token):
    """The server accepts what `aws eks get-token` signs, and says which key signed it."""
    assert verify_token(token, {KEY: SECRET}, "my-cluster-1") == (KEY, None)


@pytest.mark.parametrize(
    ("secrets", "cluster", "error"),
    [
        ({KEY: "not-the-secret"}, "my-cluster-1", "signature does not match"),
        ({KEY: SECRET}, "other-cluster", "signature does not match"),
        ({"AKIAOTHERKEY": SECRET}, "my-cluster-1", "unknown access key"),
    ],
)
def test_a_token_for_another_key_or_cluster_is_rejected(token, secrets, cluster, error):
    """A token is only good with the secret that signed it, on the cluster it names."""
    with pytest.raises(TokenError, match=error):
        verify_token(token, secrets, cluster)


def test_malformed_and_expired_tokens_are_rejected(token):
    """Bearer tokens that are not k8s-aws-v1, or older than their expiry, are refused."""
    with pytest.raises(TokenError, match="not a k8s-aws-v1"):
        verify_token("eyJhbGciOi.jwt", {KEY: SECRET}, "my-cluster-1")
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=5)
    with pytest.raises(TokenError, match="expired"):
        verify_token(token, {KEY: SECRET}, "my-cluster-1", now=later)


def _deployment(*containers):
    return {"spec": {"template": {"spec": {"containers": [dict(c) for c in containers]}}}}


SCHEMA = definitions()[DEPLOYMENT]


def test_strategic_merge_patches_containers_by_name():
    """`set image`'s patch changes one container, keeps the others, and orders them by $setElementOrder."""
    current = _deployment(
        {"name": "app", "image": "a:1", "ports": [{"containerPort": 80}]}, {"name": "sidecar", "image": "s:1"}
    )
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "app"}],
                    "containers": [{"name": "app", "image": "a:2"}],
                }
            }
        }
    }
    merged = strategic_merge_patch(current, patch, SCHEMA)
    assert merged["spec"]["template"]["spec"]["containers"] == [
        {"name": "sidecar", "image": "s:1"},
        {"name": "app", "image": "a:2", "ports": [{"containerPort": 80}]},
    ]


def test_strategic_merge_deletes_by_directive_and_null():
    """$patch: delete removes a list element; null removes a field; lists without a merge key are replaced."""
    current = _deployment({"name": "app", "image": "a:1", "args": ["x", "y"]}, {"name": "sidecar", "image": "s:1"})
    current["metadata"] = {"annotations": {"keep": "1", "drop": "2"}}
    patch = {
        "metadata": {"annotations": {"drop": None}},
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "sidecar", "$patch": "delete"}, {"name": "app", "args": ["z"]}]}
            }
        },
    }
    merged = strategic_merge_patch(copy.deepcopy(current), patch, SCHEMA)
    assert merged["metadata"]["annotations"] == {"keep": "1"}
    assert merged["spec"]["template"]["spec"]["containers"] == [{"name": "app", "image": "a:1", "args": ["z"]}]


def test_server_side_apply_merges_list_maps_by_key():
    """An apply configuration merges containers by name instead of replacing the list."""
    current = _deployment({"name": "app", "image": "a:1"}, {"name": "sidecar", "image": "s:1"})
    merged = apply_merge(current, _deployment({"name": "app", "image": "a:2"}), SCHEMA)
    assert merged["spec"]["template"]["spec"]["containers"] == [
        {"name": "app", "image": "a:2"},
        {"name": "sidecar", "image": "s:1"},
    ]


def test_kubectl_gets_the_components_kubeconfig_with_only_the_address_swapped():
    """point_at changes the cluster's server and CA and nothing else (names, context, exec stanza)."""
    original = build_kubeconfig(
        cluster_name="my-cluster-1",
        cluster_arn=cluster_arn(),
        endpoint=CLUSTER_ENDPOINT,
        certificate_authority_data=CLUSTER_CA,
    )
    pointed = yaml.safe_load(point_at(original, "https://127.0.0.1:6443", "Q0E="))
    expected = yaml.safe_load(original)
    expected["clusters"][0]["cluster"] = {"certificate-authority-data": "Q0E=", "server": "https://127.0.0.1:6443"}
    assert pointed == expected
