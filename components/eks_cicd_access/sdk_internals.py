"""Every name this package uses that the Pulumi SDK does not publish, in one place.

Each is pinned by ``tests/unit/test_sdk_internals.py``, which fails when the SDK renames or reshapes it; CI runs the
fast tier on the lowest and the highest ``pulumi`` the range allows.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.output import Unknown
from pulumi.provider.server import ProviderServicer, _create_provider_resource
from pulumi.runtime import settings
from pulumi.runtime._grpc_settings import _GRPC_CHANNEL_OPTIONS

__all__ = ["GRPC_CHANNEL_OPTIONS", "Unknown", "construct_options", "pending_rpcs", "provider_resource"]

#: The SDK's own gRPC channel options (message size limits), for the plugin's server.
GRPC_CHANNEL_OPTIONS: Any = _GRPC_CHANNEL_OPTIONS


def pending_rpcs() -> object | None:
    """The list of the running program's pending RPCs: under Pulumi mocks, ``pulumi.runtime.test`` starts each test
    with a fresh one, so it tells one program run from the next; ``None`` where the SDK keeps none."""
    manager = getattr(settings.SETTINGS, "rpc_manager", None)
    found: object | None = getattr(manager, "rpcs", None)
    return found


def provider_resource(ref: str) -> pulumi.ProviderResource:
    """The provider resource a Construct request names by reference (``urn::id``)."""
    return _create_provider_resource(ref)


def construct_options(request: Any) -> pulumi.ResourceOptions:
    """The resource options of a Construct request, as the SDK's own Construct builds them."""
    options: pulumi.ResourceOptions = ProviderServicer._construct_options(request)
    return options
