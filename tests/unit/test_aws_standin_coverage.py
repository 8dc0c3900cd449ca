"""The AWS stand-in (``testbed/aws_standin``) serves everything the component uses: whatever the identity and the
mapping, each AWS type it registers and each invoke it calls is one the stand-in answers, so the engine tier never
meets a type it cannot create."""

from __future__ import annotations

from typing import Any

import pytest

from testbed.aws_standin.kinds import KINDS
from testbed.aws_standin.provider import INVOKES
from testbed.mocks import Stack
from testbed.names import ACCOUNT
from tests.support import deploy


@pytest.mark.parametrize(
    "args",
    [
        {},
        {
            "identity": "github-actions",
            "oidc_subjects": ["repo:acme/web:environment:production"],
            "iam_user_name": None,
        },
        {"identity": "existing", "principal_arn": f"arn:aws:iam::{ACCOUNT}:role/ci/web", "iam_user_name": None},
        {"identity_mapping": "access-entry"},
        {
            "identity_mapping": "access-entry",
            "role_rules": "none",
            "role_name": None,
            "role_binding_name": None,
            "create_namespace": False,
            "access_policies": [
                {"policy": "AmazonEKSViewPolicy"},
                {"policy": "AmazonEKSEditPolicy", "scope": "cluster"},
            ],
        },
    ],
    ids=["iam-user", "github-actions", "existing", "access-entry", "access-policies"],
)
def test_every_type_and_invoke_the_component_uses_is_served(stack: Stack, args: dict[str, Any]) -> None:
    """Whatever identity and mapping, the component registers only AWS types the stand-in serves and calls only its
    invokes."""
    deploy(stack, **args)
    registered = {r.type for r in stack.resources if r.type.startswith("aws:")}
    assert registered and registered <= set(KINDS)
    called = {call.token for call in stack.mocks.calls}
    assert called and called <= INVOKES
