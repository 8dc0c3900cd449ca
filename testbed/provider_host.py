"""The engine's side of a dynamic resource, in-process: stands in for the Pulumi engine and the provider host
process it starts for a dynamic resource.

The Pulumi CLI runs a dynamic resource's provider in a host process: the
SDK's ``pulumi/dynamic/__main__.py``, a gRPC servicer that deserializes the
provider from the ``__provider`` input (base64 dill) and calls its
check/diff/create/update/delete/read. Here that very servicer class is loaded
(its module minus the final ``main()`` call) and called with protobuf
requests built from what the component registered under mocks, on worker
threads as the gRPC server would. The engine's part is kept to what it does
for a dynamic provider: strip secrets (the host does not accept them), run
check, then create, or diff and update/replace; delete and read with the
stored outputs.
"""

from __future__ import annotations

import ast
import asyncio
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi.dynamic
from google.protobuf import struct_pb2
from pulumi.runtime import proto, rpc


def _load_servicer() -> Any:
    """``DynamicResourceProviderServicer`` from the installed SDK's dynamic provider host."""
    path = Path(pulumi.dynamic.__file__).with_name("__main__.py")
    tree = ast.parse(path.read_text())
    tree.body = [
        node
        for node in tree.body
        if not (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
            and node.value.func.id == "main"
        )
    ]
    namespace: dict[str, Any] = {"__name__": "pulumi_dynamic_host"}
    exec(compile(tree, str(path), "exec"), namespace)
    return namespace["DynamicResourceProviderServicer"]


Servicer = _load_servicer()
#: Worker threads of the host's gRPC server (``ThreadPoolExecutor(max_workers=4)`` in its ``main()``):
#: at most this many provider calls of one stack run at once.
HOST_WORKERS = 4


class ProviderError(Exception):
    """A provider call failed; the message is what the engine would print (the host's traceback)."""


class CheckFailed(Exception):
    """``check`` returned failures: the engine stops the preview or update with these."""

    def __init__(self, failures: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{prop}: {reason}" for prop, reason in failures))
        self.failures = failures


class _Context:
    """The bits of a gRPC servicer context the host uses."""

    def abort(self, code: Any, details: str) -> None:
        raise ProviderError(details)

    def set_code(self, code: Any) -> None:
        pass

    def set_details(self, details: str) -> None:
        pass


def to_struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    """Python values to the wire form (unknowns stay the unknown sentinel)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(dict(values), {}))
    finally:
        loop.close()


def from_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    return dict(rpc.deserialize_properties(struct, keep_unknowns=True))


def strip_secrets(value: Any) -> Any:
    """What the engine sends a provider that does not accept secrets: the plain values."""
    if rpc.is_rpc_secret(value):
        return strip_secrets(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: strip_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [strip_secrets(v) for v in value]
    return value


@dataclass
class State:
    """One dynamic resource in the stack's state."""

    urn: str
    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    #: The steps that made this state, e.g. ["check", "diff", "update"].
    steps: list[str] = field(default_factory=list)


class ProviderHost:
    """Drives the servicer through the lifecycle of dynamic resources."""

    def __init__(self) -> None:
        self.servicer = Servicer()
        self.pool = ThreadPoolExecutor(max_workers=HOST_WORKERS)

    def _call(self, method: str, request: Any) -> Any:
        # A pool thread starts with a fresh context, as in the host: the settings the
        # host configures there do not leak into the test's mocked Pulumi runtime.
        return self.pool.submit(getattr(self.servicer, method), request, _Context()).result()

    # -- single calls ------------------------------------------------------------------------

    def check(self, urn: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
        response = self._call(
            "Check", proto.CheckRequest(urn=urn, olds=to_struct(strip_secrets(olds)), news=to_struct(news))
        )
        failures = [(f.property, f.reason) for f in response.failures]
        if failures:
            raise CheckFailed(failures)
        return from_struct(response.inputs)

    def diff(self, state: State, news: Mapping[str, Any]) -> Any:
        return self._call(
            "Diff",
            proto.DiffRequest(id=state.id, urn=state.urn, olds=to_struct(state.outputs), news=to_struct(news)),
        )

    def create(self, urn: str, inputs: Mapping[str, Any]) -> State:
        response = self._call("Create", proto.CreateRequest(urn=urn, properties=to_struct(inputs)))
        return State(urn, response.id, dict(inputs), from_struct(response.properties), ["create"])

    def update(self, state: State, news: Mapping[str, Any]) -> State:
        response = self._call(
            "Update",
            proto.UpdateRequest(id=state.id, urn=state.urn, olds=to_struct(state.outputs), news=to_struct(news)),
        )
        return State(state.urn, state.id, dict(news), from_struct(response.properties), ["update"])

    def delete(self, state: State) -> None:
        self._call("Delete", proto.DeleteRequest(id=state.id, urn=state.urn, properties=to_struct(state.outputs)))

    # -- what `pulumi up`, `preview`, `refresh` and `destroy` do with one resource ------------

    def preview(self, urn: str, registered: Mapping[str, Any], state: State | None = None) -> str:
        """Check, and diff when the resource exists: ``"create"``, ``"same"``, ``"update"`` or ``"replace"``."""
        news = self.check(urn, state.inputs if state else {}, strip_secrets(registered))
        if state is None:
            return "create"
        return _step(self.diff(state, news), state.inputs, news)

    def up(self, urn: str, registered: Mapping[str, Any], state: State | None = None) -> State:
        """Bring the resource to ``registered`` (the inputs the program sent)."""
        news = self.check(urn, state.inputs if state else {}, strip_secrets(registered))
        if state is None:
            created = self.create(urn, news)
            created.steps = ["check", "create"]
            return created
        step = _step(self.diff(state, news), state.inputs, news)
        if step == "same":
            return State(state.urn, state.id, news, state.outputs, ["check", "diff"])
        if step == "replace":
            created = self.create(urn, news)  # create before delete, the default
            self.delete(state)
            created.steps = ["check", "diff", "create", "delete"]
            return created
        if step == "delete-replace":
            self.delete(state)
            created = self.create(urn, news)
            created.steps = ["check", "diff", "delete", "create"]
            return created
        updated = self.update(state, news)
        updated.steps = ["check", "diff", "update"]
        return updated

    def refresh(self, state: State) -> State | None:
        """``pulumi refresh``: the live state, or ``None`` when the provider reports it gone."""
        response = self._call(
            "Read",
            proto.ReadRequest(
                id=state.id, urn=state.urn, properties=to_struct(state.outputs), inputs=to_struct(state.inputs)
            ),
        )
        if not response.id:
            return None
        return State(state.urn, response.id, state.inputs, from_struct(response.properties), ["read"])

    def destroy(self, state: State) -> None:
        self.delete(state)


def _step(response: Any, old_inputs: Mapping[str, Any], new_inputs: Mapping[str, Any]) -> str:
    """What the engine does with a provider's diff. DIFF_UNKNOWN (the provider did not say) makes it compare
    the old and new inputs itself (its "legacy diff"), so a provider that sees drift must say DIFF_SOME."""
    if list(response.replaces):
        return "delete-replace" if response.deleteBeforeReplace else "replace"
    if response.changes == proto.DiffResponse.DIFF_NONE:
        return "same"
    if response.changes == proto.DiffResponse.DIFF_UNKNOWN:
        return "update" if dict(old_inputs) != dict(new_inputs) else "same"
    return "update"
