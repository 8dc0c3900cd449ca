"""The Kubernetes objects the component registers are valid for every EKS-supported Kubernetes version.

kubernetes-validate's Python API is used in strict mode (unknown fields fail);
its CLI exits 0 on an unknown apiVersion, the API raises.
"""

import kubernetes_validate
import pytest
import yaml

from testbed.aws_auth_seed import NODE_ROLES
from tests.support import VERSIONS, rendered_objects


def test_versions_cover_the_supported_range():
    """At least 1.29 through the newest schema the package ships are checked."""
    assert VERSIONS[0].startswith("1.29")
    assert len(VERSIONS) >= 9, VERSIONS


@pytest.mark.parametrize("preset", ["deploy-rollback", "recipe"])
def test_objects_are_valid_in_every_version(stack, apiserver, preset):
    """Each rendered object validates strictly against every Kubernetes version's schema."""
    objects = rendered_objects(stack, apiserver, role_rules=preset)
    assert [o["kind"] for o in objects] == ["Namespace", "Role", "RoleBinding", "ConfigMap"]
    failures = []
    for version in VERSIONS:
        for obj in objects:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                failures.append(f"{version} {obj['kind']}/{obj['metadata']['name']}: {error.message}")
    assert failures == []


def test_aws_auth_keeps_map_roles(stack, apiserver):
    """The written aws-auth still holds the node roles untouched, and our user last."""
    aws_auth = rendered_objects(stack, apiserver)[-1]
    assert aws_auth["data"]["mapRoles"] == NODE_ROLES
    assert yaml.safe_load(aws_auth["data"]["mapUsers"])[-1]["username"] == "ci"


def test_validator_rejects_what_it_should(stack, apiserver):
    """The check can fail: an unknown field, or an unknown apiVersion, is refused in strict mode."""
    role = rendered_objects(stack, apiserver)[1]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate({**role, "rulez": []}, VERSIONS[-1], strict=True)
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        kubernetes_validate.validate({**role, "apiVersion": "rbac.authorization.k8s.io/v9"}, VERSIONS[-1], strict=True)
