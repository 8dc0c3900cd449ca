"""``AwsAuthEntry``: one entry of ``kube-system/aws-auth`` as a Pulumi resource.

Two resources share one provider logic, ``AwsAuthEntryProvider``, a thin
adapter over ``writer``: each operation builds a Kubernetes client from the
``kubeconfig`` input and makes one compare-and-swap edit. It holds no state,
client or connection.

- ``AwsAuthEntry`` is a dynamic resource, for Python programs.
- ``PluginAwsAuthEntry`` is the plugin's custom resource
  ``eks-cicd-access:index:AwsAuthEntry``, for every language; a component
  built by the plugin writes its entry with it.

What each operation does is :data:`OPERATIONS` (the schema's description
too); why two resources, in docs/design.md.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal, NotRequired, TypedDict

import pulumi
import pulumi.dynamic
from pulumi.runtime import rpc

from ..sdk_internals import Unknown
from ..served import served_deployment
from .entries import AWS_AUTH, AwsAuthError, map_key
from .writer import AuthConfigMap, Entry, api_server, connect

#: The plugin's resource type.
TYPE_TOKEN = "eks-cicd-access:index:AwsAuthEntry"
#: What each operation does: the behaviour users rely on, and the schema's description of the resource.
OPERATIONS = """\
- **check** validates the inputs and, when the kubeconfig is known, that the
  live key parses, so a broken ``aws-auth`` fails ``pulumi preview``.
- **create** / **update** put our entry in place; an update whose ARN or key
  changed removes the old principal in the same write (updated in place,
  never replaced, so there is no moment with neither or both mapped).
  A different ``cluster`` is a replacement: create on the new cluster, then
  delete from the old one; the same API server under a new name is an update.
- **diff** compares inputs and also looks at the live entry, so a plain
  ``pulumi up`` restores an entry someone removed or edited by hand.
- **read** (``pulumi refresh``) reports the live entry; a missing entry
  reports the resource as gone.
- **delete** removes every entry for our ARN and nothing else."""
#: Where an entry is written: users, or roles (and the nodes' roles).
MapKeyName = Literal["mapUsers", "mapRoles"]

#: The inputs that decide what is written; the kubeconfig only says where.
ENTRY_INPUTS = ("key", "arn", "username", "groups")


class AwsAuthEntryArgs(TypedDict):
    """Inputs of :class:`AwsAuthEntry`."""

    cluster: pulumi.Input[str]
    """Name of the cluster; a new name replaces the resource (the entry moves clusters)."""
    key: pulumi.Input[MapKeyName]
    """``"mapUsers"`` for an IAM user or ``"mapRoles"`` for a role."""
    arn: pulumi.Input[str]
    """The IAM user or role ARN (a role's path is stripped when written)."""
    username: pulumi.Input[str]
    """The Kubernetes user it maps to."""
    groups: NotRequired[pulumi.Input[list[str]]]
    """The Kubernetes groups it maps to. Default ``[]``."""
    kubeconfig: pulumi.Input[str]
    """Kubeconfig (YAML) whose current context may get, create and update ``kube-system`` configmaps."""


def _plain(value: Any) -> Any:
    """``value`` with the engine's secret markers removed (the provider needs the values)."""
    if rpc.is_rpc_secret(value):
        return _plain(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _known(*values: Any) -> bool:
    """None of ``values`` is unknown (a preview before the value is computed; the host hands the
    provider ``Unknown`` objects then)."""
    return not any(isinstance(v, Unknown) or (isinstance(v, list) and not _known(*v)) for v in values)


def _entry(props: dict[str, Any]) -> Entry:
    return Entry(map_key(props["key"]), props["arn"], props["username"], tuple(props.get("groups") or ()))


def _writer(props: dict[str, Any]) -> AuthConfigMap:
    # Entries written through the same kubeconfig (one cluster, one identity) share their writes.
    kubeconfig = props["kubeconfig"]
    return AuthConfigMap(connect(kubeconfig), coalesce=hashlib.sha256(kubeconfig.encode()).hexdigest())


def _outputs(props: dict[str, Any]) -> dict[str, Any]:
    return {k: props[k] for k in ("cluster", *ENTRY_INPUTS, "kubeconfig") if k in props}


class AwsAuthEntryProvider(pulumi.dynamic.ResourceProvider):
    """The provider of :class:`AwsAuthEntry`; see the module docstring."""

    # It captures nothing: no credentials, no client. (The kubeconfig is an input.)
    serialize_as_secret_always = False

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.CheckResult:
        props = _plain(news)
        failures = []
        for name in ("cluster", "arn", "username", "kubeconfig"):
            value = props.get(name)
            if _known(value) and (not isinstance(value, str) or not value):
                failures.append(pulumi.dynamic.CheckFailure(name, f"{name}: must be a non-empty string"))
        groups = props.get("groups", [])
        if _known(groups) and (not isinstance(groups, list) or not all(isinstance(g, str) for g in groups)):
            failures.append(pulumi.dynamic.CheckFailure("groups", "groups: must be a list of strings"))
        if not _known(props.get("key")):
            return pulumi.dynamic.CheckResult(news, failures)  # a preview: checked once known
        try:
            key = map_key(props.get("key", ""))
        except ValueError as error:
            failures.append(pulumi.dynamic.CheckFailure("key", str(error)))
        else:
            if not failures and _known(props["kubeconfig"]):
                try:
                    _writer(props).check(key)
                except AwsAuthError as error:
                    failures.append(pulumi.dynamic.CheckFailure("key", str(error)))
        return pulumi.dynamic.CheckResult(news, failures)

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        props = _plain(props)
        entry = _entry(props)
        _writer(props).ensure(entry)
        return pulumi.dynamic.CreateResult(
            f"{AWS_AUTH}/{entry.key.name}/{entry.key.mapped(entry.arn)}", _outputs(props)
        )

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
        olds, news = _plain(olds), _plain(news)
        if olds.get("cluster") != news.get("cluster"):
            if not _known(news.get("kubeconfig")) or api_server(olds.get("kubeconfig")) != api_server(
                news.get("kubeconfig")
            ):
                # Create on the new cluster, then delete from the old one (the engine's default order).
                return pulumi.dynamic.DiffResult(changes=True, replaces=["cluster"])
            # The same API server under a new name: nothing moves. A replacement would create our entry, then
            # delete "the old one", which is the same entry.
            return pulumi.dynamic.DiffResult(changes=True)
        # A new kubeconfig changes nothing in aws-auth, but is stored for the next update or delete. An
        # unknown input (a preview) never equals the old value, so it counts as changed here too.
        if any(olds.get(k) != news.get(k) for k in (*ENTRY_INPUTS, "kubeconfig")):
            return pulumi.dynamic.DiffResult(changes=True)
        # Inputs are unchanged: is the live entry still exactly ours (no hand edit, not removed)?
        entry = _entry(news)
        live = _writer(news).entries(entry.key, entry.arn)
        return pulumi.dynamic.DiffResult(changes=live != [entry.as_dict()])

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        olds, news = _plain(olds), _plain(news)
        _writer(news).ensure(_entry(news), replacing=(map_key(olds["key"]), olds["arn"]))
        return pulumi.dynamic.UpdateResult(_outputs(news))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        props = _plain(props)
        _writer(props).remove(map_key(props["key"]), props["arn"])

    def read(self, id_: str, props: dict[str, Any]) -> pulumi.dynamic.ReadResult:
        props = _plain(props)
        entry = _entry(props)
        live = _writer(props).entries(entry.key, entry.arn)
        if not live:
            return pulumi.dynamic.ReadResult(None, {})
        return pulumi.dynamic.ReadResult(
            id_, {**_outputs(props), "username": live[0].get("username"), "groups": live[0].get("groups") or []}
        )


class AwsAuthEntryOutputs:
    """The outputs of both entry resources."""

    cluster: pulumi.Output[str]
    """Name of the cluster."""
    key: pulumi.Output[MapKeyName]
    """``"mapUsers"`` or ``"mapRoles"``."""
    arn: pulumi.Output[str]
    """The mapped IAM principal."""
    username: pulumi.Output[str]
    """The Kubernetes user."""
    groups: pulumi.Output[list[str]]
    """The Kubernetes groups."""
    kubeconfig: pulumi.Output[str]
    """The kubeconfig the entry is written with (a secret)."""


#: Pulumi state holds this provider pickled by reference, ``module.class``. Since 0.1 that reference has been
#: ``eks_cicd_access.aws_auth_entry.AwsAuthEntryProvider`` (that module re-exports the class); keeping it means no
#: stack's ``__provider`` input changes when the code moves, and every stack, old or new, can still be destroyed.
AwsAuthEntryProvider.__module__ = "eks_cicd_access.aws_auth_entry"


def _secret_kubeconfig(
    args: AwsAuthEntryArgs, opts: pulumi.ResourceOptions | None
) -> tuple[dict[str, Any], pulumi.ResourceOptions]:
    secret = pulumi.ResourceOptions(additional_secret_outputs=["kubeconfig"])
    props = {"groups": [], **args, "kubeconfig": pulumi.Output.secret(args["kubeconfig"])}
    return props, pulumi.ResourceOptions.merge(opts, secret)


class AwsAuthEntry(AwsAuthEntryOutputs, pulumi.dynamic.Resource, module="eks-cicd-access", name="AwsAuthEntry"):
    """One entry of ``kube-system/aws-auth``, written with compare-and-swap (see the module docstring)."""

    def __init__(self, name: str, args: AwsAuthEntryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        props, opts = _secret_kubeconfig(args, opts)
        super().__init__(AwsAuthEntryProvider(), name, props, opts)


class PluginAwsAuthEntry(AwsAuthEntryOutputs, pulumi.CustomResource):
    """``eks-cicd-access:index:AwsAuthEntry``: the same entry, written by the ``eks-cicd-access`` plugin."""

    def __init__(self, name: str, args: AwsAuthEntryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        props, opts = _secret_kubeconfig(args, opts)
        super().__init__(TYPE_TOKEN, name, props, opts)


def entry_resource() -> type[AwsAuthEntry] | type[PluginAwsAuthEntry]:
    """The class the component writes its entry with: the plugin's own resource when the plugin builds the
    component (no dynamic provider can run in a component served to another language), else ``AwsAuthEntry``."""
    return AwsAuthEntry if served_deployment() is None else PluginAwsAuthEntry
