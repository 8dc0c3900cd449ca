"""The ``eks-cicd-access`` provider plugin: the component and ``AwsAuthEntry`` for every Pulumi language.

One process serves both resources of the schema (``schema.py``), with one servicer of our own,
:class:`Servicer`, which extends the SDK's ``ProviderServicer``:

- ``eks-cicd-access:index:EksCicdAccess`` through **Construct**: the SDK hands the component its inputs as
  Outputs, as a Python program would, and the component registers its children with the engine itself. It is
  built inside ``served.serving``, so its ``aws-auth`` entry is the plugin's own resource, and as
  :class:`ServedEksCicdAccess`, which registers its outputs by the schema's names.
- ``eks-cicd-access:index:AwsAuthEntry`` through **Check, Diff, Create, Read, Update and Delete**, each a thin
  adapter over ``AwsAuthEntryProvider`` (the logic of the Python path's dynamic resource, called directly), in
  threads of their own.

In a preview (``preview=True``) Create and Update return the planned state and touch nothing. Names on the wire are
the schema's camelCase; messages name the fields as the schema spells them. Why it is built this way (and not on
``pulumi.provider.experimental``): docs/design.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import sys
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import pulumi
import pulumi.dynamic
from google.protobuf import empty_pb2, struct_pb2
from pulumi.provider.provider import ConstructResult, Provider
from pulumi.provider.server import ProviderServicer
from pulumi.runtime import proto, rpc
from pulumi.runtime.proto import provider_pb2_grpc

from ..args import DEFAULTS, EksCicdAccessArgs
from ..aws_auth.entries import AwsAuthError
from ..aws_auth.resource import TYPE_TOKEN as ENTRY_TYPE
from ..aws_auth.resource import AwsAuthEntryProvider
from ..component import OUTPUTS, EksCicdAccess
from ..component import TYPE_TOKEN as COMPONENT_TYPE
from ..sdk_internals import GRPC_CHANNEL_OPTIONS, Unknown, construct_options, provider_resource
from ..served import serving
from ..stack_config import ARGUMENTS, RULE_KEYS, config_spelling, spelt_as_config
from .naming import schema_names
from .schema import VERSION, inputs, schema_json


def component_args(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Construct's camelCase inputs as the component's arguments; a key of no argument is kept as given, so
    that validation names it as the user spelt it.

    An input equal to its schema default counts as not given: the generated SDKs send the defaults themselves
    (a TypeScript program's ``attachPolicy: true`` without ``identity: existing``), and several arguments are
    refused where they do not apply."""
    args = {ARGUMENTS.get(key, key): _integer(key, value) for key, value in inputs.items() if value is not None}
    args = {key: value for key, value in args.items() if not _is_default(key, value)}
    rules = args.get("role_rules")
    if isinstance(rules, list):
        args["role_rules"] = [
            {RULE_KEYS.get(k, k): v for k, v in rule.items()} if isinstance(rule, dict) else rule for rule in rules
        ]
    return args


#: The schema's integer inputs: numbers come over the wire as floats (``7200.0``), so a whole one becomes an int.
INTEGER_INPUTS = frozenset(name for name, spec in inputs(EksCicdAccessArgs)[0].items() if spec.get("type") == "integer")


def _integer(key: str, value: Any) -> Any:
    if key in INTEGER_INPUTS and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _is_default(argument: str, value: Any) -> bool:
    """``value`` is ``argument``'s schema default, of the same type (``1`` is not ``True``)."""
    default = DEFAULTS.get(argument)
    return default is not None and type(value) is type(default) and value == default


class ServedEksCicdAccess(EksCicdAccess):
    """The component as the plugin serves it: its registered outputs by the schema's names, which the engine records
    and other languages read."""

    def register_outputs(self, outputs: pulumi.Inputs) -> None:
        super().register_outputs(schema_names(dict(outputs)))


def component_state(component: EksCicdAccess) -> dict[str, Any]:
    """The component's outputs, by their schema names."""
    return schema_names({output: getattr(component, output) for output in OUTPUTS})


class InvalidInputs(pulumi.RunError):
    """Bad component input: ``field`` as the schema spells it, and the message. A ``RunError``, so that the SDK's
    Construct passes it through untouched."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class EksCicdAccessProvider(Provider):
    """Construct of ``EksCicdAccess``: the Python component, built in this process."""

    def __init__(self) -> None:
        super().__init__(VERSION, schema_json())

    def construct(
        self, name: str, resource_type: str, inputs: pulumi.Inputs, options: pulumi.ResourceOptions | None = None
    ) -> ConstructResult:
        if resource_type != COMPONENT_TYPE:
            raise ValueError(f"unknown resource type {resource_type!r}")
        args: EksCicdAccessArgs = component_args(inputs)  # type: ignore[assignment]  # validated next
        try:
            component = ServedEksCicdAccess(name, args, options)
        except ValueError as error:
            message = config_spelling(str(error))
            raise InvalidInputs(message.split(":", 1)[0], message) from None
        return ConstructResult(urn=component.urn, state=component_state(component))


def _plain_inputs(struct: struct_pb2.Struct) -> tuple[dict[str, Any], set[str]]:
    """A request's properties as plain values (unknowns as ``Unknown``), and the names of those that were secret."""
    props = rpc.deserialize_properties(struct, keep_unknowns=True)
    secret = {k for k, v in props.items() if rpc.is_rpc_secret(v)}
    return {k: rpc.unwrap_rpc_secret(v) if k in secret else v for k, v in props.items()}, secret


def _wire(value: Any) -> Any:
    """``value`` with each ``Unknown`` as the engine's unknown sentinel (a preview's planned state)."""
    if isinstance(value, Unknown):
        return rpc.UNKNOWN
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    return value


async def _struct(props: Mapping[str, Any], secret: set[str]) -> struct_pb2.Struct:
    """Properties for the engine: the kubeconfig and whatever came in secret stay secret (the engine leaves that
    to a provider that accepts secrets)."""
    keep = secret | {"kubeconfig"}
    marked = {k: rpc.wrap_rpc_secret(v) if k in keep and v is not None else v for k, v in props.items()}
    return await rpc.serialize_properties(_wire(marked), {})


#: The threads of the ``AwsAuthEntry`` calls, apart from the event loop's default executor. That one runs the SDK's
#: blocking RPCs of each Construct, and a RegisterResource of a component's own ``AwsAuthEntry`` child holds its
#: thread until the engine has had our Check, Diff and Create for it: on a shared pool, those could wait behind it
#: for a free thread for ever (a small shared pool hangs a YAML preview now and then; a pool of one, every time).
_ENTRY_CALLS = ThreadPoolExecutor(max_workers=16, thread_name_prefix="aws-auth-entry")


async def _call(context: Any, fn: Callable[..., Any], *args: Any) -> Any:
    """A blocking provider call in a thread of its own pool (the engine runs independent operations in parallel);
    the writer's own errors go to the engine as their message alone."""
    call = functools.partial(contextvars.copy_context().run, fn, *args)
    try:
        return await asyncio.get_running_loop().run_in_executor(_ENTRY_CALLS, call)
    except AwsAuthError as error:
        await context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(error))


def _check_entry_type(urn: str) -> None:
    """``urn`` is an ``AwsAuthEntry`` (its qualified type ends with ours: ``Parent$...$Type``)."""
    if urn.split("::")[2].split("$")[-1] != ENTRY_TYPE:
        raise ValueError(f"{urn}: not a resource of this provider (it serves {ENTRY_TYPE})")


class Servicer(ProviderServicer):
    """The SDK's Construct servicer, with the CRUD calls of ``AwsAuthEntry`` and our schema."""

    entries = AwsAuthEntryProvider()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: One provider object per reference and deployment: instances given the same provider share their claims,
        #: as in a Python program.
        self._providers: dict[tuple[str, str], pulumi.ProviderResource] = {}

    async def Construct(self, request: proto.ConstructRequest, context: Any) -> proto.ConstructResponse:
        deployment = f"{request.monitorEndpoint}/{request.project}/{request.stack}"
        try:
            with serving(deployment), spelt_as_config():
                return await super().Construct(request, context)
        except pulumi.RunError as error:
            # Bad input, now or once an Output is known: the engine shows an INVALID_ARGUMENT's details alone,
            # here the message in the schema's spelling.
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, config_spelling(str(error)))
            raise

    def _construct_options(self, request: proto.ConstructRequest) -> pulumi.ResourceOptions:  # type: ignore[override]
        options = construct_options(request)
        deployment = f"{request.monitorEndpoint}/{request.project}/{request.stack}"
        options.providers = {package: self._provider(deployment, ref) for package, ref in request.providers.items()}
        return options

    def _provider(self, deployment: str, ref: str) -> pulumi.ProviderResource:
        found = self._providers.get((deployment, ref))
        if found is None:
            found = self._providers[deployment, ref] = provider_resource(ref)
        return found

    async def CheckConfig(self, request: proto.CheckRequest, context: Any) -> proto.CheckResponse:
        return proto.CheckResponse(inputs=request.news)

    async def DiffConfig(self, request: proto.DiffRequest, context: Any) -> proto.DiffResponse:
        return proto.DiffResponse(changes=proto.DiffResponse.DIFF_NONE)

    async def Configure(self, request: Any, context: Any) -> proto.ConfigureResponse:
        return proto.ConfigureResponse(
            acceptSecrets=True, acceptResources=True, acceptOutputs=True, supportsPreview=True
        )

    async def Check(self, request: proto.CheckRequest, context: Any) -> proto.CheckResponse:
        _check_entry_type(request.urn)
        news, secret = _plain_inputs(request.news)
        result: pulumi.dynamic.CheckResult = await _call(context, self.entries.check, {}, news)
        failures = [proto.CheckFailure(property=f.property, reason=f.reason) for f in result.failures]
        return proto.CheckResponse(inputs=await _struct({"groups": [], **news}, secret), failures=failures)

    async def Diff(self, request: proto.DiffRequest, context: Any) -> proto.DiffResponse:
        _check_entry_type(request.urn)
        (olds, _), (news, _) = _plain_inputs(request.olds), _plain_inputs(request.news)
        result: pulumi.dynamic.DiffResult = await _call(context, self.entries.diff, request.id, olds, news)
        changed = sorted(k for k in news.keys() | olds.keys() if olds.get(k) != news.get(k))
        if result.changes and not changed:
            changed = ["username", "groups"]  # the live entry drifted from ours: what the update writes back
        return proto.DiffResponse(
            changes=proto.DiffResponse.DIFF_SOME if result.changes else proto.DiffResponse.DIFF_NONE,
            replaces=result.replaces or [],
            diffs=changed if result.changes else [],
            deleteBeforeReplace=False,
        )

    async def Create(self, request: proto.CreateRequest, context: Any) -> proto.CreateResponse:
        _check_entry_type(request.urn)
        props, secret = _plain_inputs(request.properties)
        if request.preview:
            return proto.CreateResponse(id="", properties=await _struct(props, secret))
        result: pulumi.dynamic.CreateResult = await _call(context, self.entries.create, props)
        return proto.CreateResponse(id=result.id, properties=await _struct(result.outs or {}, secret))

    async def Update(self, request: proto.UpdateRequest, context: Any) -> proto.UpdateResponse:
        _check_entry_type(request.urn)
        (olds, _), (news, secret) = _plain_inputs(request.olds), _plain_inputs(request.news)
        if request.preview:
            return proto.UpdateResponse(properties=await _struct(news, secret))
        result: pulumi.dynamic.UpdateResult = await _call(context, self.entries.update, request.id, olds, news)
        return proto.UpdateResponse(properties=await _struct(result.outs or {}, secret))

    async def Delete(self, request: proto.DeleteRequest, context: Any) -> empty_pb2.Empty:
        _check_entry_type(request.urn)
        await _call(context, self.entries.delete, request.id, _plain_inputs(request.properties)[0])
        return empty_pb2.Empty()

    async def Read(self, request: proto.ReadRequest, context: Any) -> proto.ReadResponse:
        _check_entry_type(request.urn)
        props, secret = _plain_inputs(request.properties)
        if not props:
            props, secret = _plain_inputs(request.inputs)
        if not props.get("kubeconfig"):
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                "AwsAuthEntry cannot be imported by id alone: declare it with its inputs, and `pulumi up` adopts "
                "an entry that is already in aws-auth",
            )
        result: pulumi.dynamic.ReadResult = await _call(context, self.entries.read, request.id, props)
        if not result.id:
            return proto.ReadResponse(id="")
        outs = await _struct(result.outs or {}, secret)
        return proto.ReadResponse(id=result.id, properties=outs, inputs=outs)


async def serve(engine_address: str) -> None:
    """Serve the plugin on a loopback port, printed on stdout as the engine expects, until stopped."""
    server = grpc.aio.server(options=GRPC_CHANNEL_OPTIONS)
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(
        Servicer(EksCicdAccessProvider(), [], engine_address=engine_address), server
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(port, flush=True)
    await server.wait_for_termination()


def main(argv: list[str] | None = None) -> None:
    """The plugin's entry point: ``<plugin> [--tracing ENDPOINT] [flags] ENGINE_ADDRESS``, as the engine starts every
    plugin (the engine's address comes last)."""
    argv = sys.argv[1:] if argv is None else argv
    engine = next((a for a in reversed(argv) if not a.startswith("-")), "")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(engine))
