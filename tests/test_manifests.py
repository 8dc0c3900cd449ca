"""The Kubernetes objects the component registers are valid for every EKS-supported Kubernetes version.

kubernetes-validate's Python API is used in strict mode (unknown fields fail);
its CLI exits 0 on an unknown apiVersion, the API raises.
"""

from typing import Any

import kubernetes_validate
import pulumi
import pytest
import yaml
from kubernetes_validate.utils import all_versions

from eks_cicd_access import EksCicdAccess
from testbed.aws_auth_seed import NODE_ROLES
from tests.engine import from_struct
from tests.test_component import ENTRY

#: Oldest minor checked: EKS's extended support reaches back about this far.
OLDEST = (1, 29)
VERSIONS = sorted(
    {v for v in all_versions() if tuple(int(p) for p in v.split(".")[:2]) >= OLDEST},
    key=lambda v: tuple(int(p) for p in v.split(".")),
)


def rendered_objects(stack, cluster, **overrides: Any) -> list[dict[str, Any]]:
    """Namespace, Role, RoleBinding, and aws-auth as it stands once the entry's provider has written it."""
    args: Any = {
        "cluster_name": "my-cluster-1",
        "namespace": "my-test-ns",
        "kubernetes_groups": ["my-test-role"],
        "kubeconfig": cluster.kubeconfig,
        **overrides,
    }
    stack.run(lambda: {"ns": EksCicdAccess("ci", args, pulumi.ResourceOptions()).namespace})
    objects = [
        stack.one(type_token).inputs
        for type_token in (
            "kubernetes:core/v1:Namespace",
            "kubernetes:rbac.authorization.k8s.io/v1:Role",
            "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
        )
    ]
    entry = stack.one(ENTRY)
    cluster.engine.up(entry.urn, from_struct(entry.raw))
    return [*objects, cluster.aws_auth()]


def test_versions_cover_the_supported_range():
    """At least 1.29 through the newest schema the package ships are checked."""
    assert VERSIONS[0].startswith("1.29")
    assert len(VERSIONS) >= 9, VERSIONS


@pytest.mark.parametrize("preset", ["deploy-rollback", "recipe"])
def test_objects_are_valid_in_every_version(stack, cluster, preset):
    """Each rendered object validates strictly against every Kubernetes version's schema."""
    objects = rendered_objects(stack, cluster, role_rules=preset)
    assert [o["kind"] for o in objects] == ["Namespace", "Role", "RoleBinding", "ConfigMap"]
    failures = []
    for version in VERSIONS:
        for obj in objects:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                failures.append(f"{version} {obj['kind']}/{obj['metadata']['name']}: {error.message}")
    assert failures == []


def test_aws_auth_keeps_map_roles(stack, cluster):
    """The written aws-auth still holds the node roles untouched, and our user last."""
    aws_auth = rendered_objects(stack, cluster)[-1]
    assert aws_auth["data"]["mapRoles"] == NODE_ROLES
    assert yaml.safe_load(aws_auth["data"]["mapUsers"])[-1]["username"] == "ci"


def test_validator_rejects_what_it_should(stack, cluster):
    """The check can fail: an unknown field, or an unknown apiVersion, is refused in strict mode."""
    role = rendered_objects(stack, cluster)[1]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate({**role, "rulez": []}, VERSIONS[-1], strict=True)
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        kubernetes_validate.validate({**role, "apiVersion": "rbac.authorization.k8s.io/v9"}, VERSIONS[-1], strict=True)
