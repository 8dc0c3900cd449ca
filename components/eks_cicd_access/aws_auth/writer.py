"""Edit ``kube-system/aws-auth`` one entry at a time, with compare-and-swap.

This is eksctl's ``authconfigmap`` approach (read, edit one entry, write back
with ``Update`` carrying the ``resourceVersion`` that was read, so a
concurrent change makes the write fail with 409 Conflict instead of being
overwritten), plus retries with full jitter until a deadline, and the edits
that one process makes of one ``aws-auth`` through one connection coalesced
into one read-merge-write. It imports nothing of Pulumi:
the dynamic provider in ``resource`` is a thin adapter over it, and a
provider plugin could serve the same code.

Each edit is a pure function of the live ``data`` (``entries``); only the
keys it returns changed are written, and every other key goes back exactly as
it was read, in the same request, guarded by the same ``resourceVersion``.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from .entries import (
    AWS_AUTH,
    AWS_AUTH_NAME,
    AWS_AUTH_NAMESPACE,
    AwsAuthError,
    MapKey,
    entries_for,
    parse_entries,
    with_entry,
    without_arn,
)

#: Seconds to wait for the API server to connect and to answer one request.
REQUEST_TIMEOUT = (5.0, 15.0)


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying when every write meets a newer ``resourceVersion``: until a deadline, not a
    count, so that many writers at once all get in (each refusal means that someone else's write went in)."""

    deadline: float = 60.0
    """Seconds after which no new attempt starts (the coming backoff counted)."""
    base_delay: float = 0.05
    """Ceiling of the backoff before the second attempt; doubles each time."""
    max_delay: float = 2.0
    """Largest ceiling of a backoff."""

    def delay(self, retry: int, rng: Callable[[], float]) -> float:
        """Backoff before retry number ``retry`` (1-based): anywhere from 0 to the ceiling ("full jitter"),
        which spreads writers that collided the furthest apart."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (retry - 1))
        return rng() * ceiling


DEFAULT_RETRY = RetryPolicy()


@dataclass(frozen=True)
class Entry:
    """One mapping: an IAM principal to a Kubernetes user and groups, in one key of ``aws-auth``."""

    key: MapKey
    arn: str
    username: str
    groups: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The entry as written into the key (role ARNs without their path)."""
        return self.key.entry(self.arn, self.username, list(self.groups))


@dataclass(frozen=True)
class WriteResult:
    """What one edit took."""

    attempts: int
    """Reads of ``aws-auth`` (one per attempt)."""
    conflicts: int
    """Writes refused with 409 (a newer ``resourceVersion``, or created by someone else first)."""
    wrote: bool
    """Whether a write went through (``False``: the live value already was what we wanted)."""
    created: bool = False
    """Whether ``aws-auth`` did not exist and was created."""


class AwsAuthConflict(AwsAuthError):
    """Every write met a newer ``aws-auth``, until the retry bound; nothing of ours was written."""


class AwsAuthUnavailable(AwsAuthError):
    """The API server refused or did not answer a request (other than a conflict)."""


Edit = Callable[[Mapping[str, str]], dict[str, str]]


@dataclass(eq=False)
class _Ticket:
    """One edit waiting for its write, and what came of it."""

    edit: Edit
    result: WriteResult | None = None
    error: Exception | None = None

    @property
    def done(self) -> bool:
        return self.result is not None or self.error is not None


@dataclass(eq=False)
class _Group:
    """The edits of one ``aws-auth`` through one connection: one writes for all that are waiting."""

    cond: threading.Condition = field(default_factory=threading.Condition)
    queue: list[_Ticket] = field(default_factory=list)
    busy: bool = False


_GROUPS: dict[str, _Group] = {}
_GROUPS_LOCK = threading.Lock()


def _group(key: str) -> _Group:
    with _GROUPS_LOCK:
        return _GROUPS.setdefault(key, _Group())


class AuthConfigMap:
    """``kube-system/aws-auth`` on one cluster, edited with compare-and-swap.

    ``api`` is a ``kubernetes.client.CoreV1Api``; ``retry`` defaults to
    ``DEFAULT_RETRY``; ``sleep``, ``clock`` and ``rng`` are there for tests.
    Writers of one process given the same ``coalesce`` key (the same cluster
    and credentials: the provider uses a digest of the kubeconfig) share their
    writes: while one read-merge-write is under way, the edits that arrive wait
    and then go in together, in one write.
    """

    def __init__(
        self,
        api: client.CoreV1Api,
        *,
        coalesce: str | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.api = api
        self.coalesce = coalesce
        self.retry = retry or DEFAULT_RETRY
        self.sleep = sleep
        self.clock = clock
        self.rng = rng

    # -- reads -------------------------------------------------------------------------------

    def read(self) -> client.V1ConfigMap | None:
        """The live ``aws-auth``; ``None`` when it does not exist."""
        try:
            return self.api.read_namespaced_config_map(
                AWS_AUTH_NAME, AWS_AUTH_NAMESPACE, _request_timeout=REQUEST_TIMEOUT
            )
        except ApiException as error:
            if error.status == 404:
                return None
            raise _unavailable("reading", error) from None
        except Exception as error:  # urllib3 connection errors and timeouts
            raise _unreachable("reading", error) from error

    def data(self) -> dict[str, str]:
        """The live ``data`` (empty when ``aws-auth`` does not exist)."""
        live = self.read()
        return dict(live.data or {}) if live is not None else {}

    def check(self, key: MapKey) -> None:
        """Raise ``AwsAuthError`` if ``key`` cannot be edited safely (it is not a YAML list)."""
        parse_entries(key, self.data().get(key.name))

    def entries(self, key: MapKey, arn: str) -> list[dict[str, Any]]:
        """The live entries of ``key`` mapping ``arn`` (normally none or one)."""
        return entries_for(key, self.data().get(key.name), arn)

    # -- edits -------------------------------------------------------------------------------

    def ensure(self, entry: Entry, *, replacing: tuple[MapKey, str] | None = None) -> WriteResult:
        """Put ``entry`` in place, and in the same write remove the principal ``replacing`` names.

        ``replacing`` is the ``(key, arn)`` an earlier version of the entry
        mapped (a renamed user, a user replaced by a role). In the same key,
        the old entry is replaced where it stands.
        """

        def edit(data: Mapping[str, str]) -> dict[str, str]:
            changed: dict[str, str] = {}
            same_key: list[str] = []
            if replacing is not None:
                old_key, old_arn = replacing
                if old_key == entry.key:
                    same_key.append(old_arn)
                else:
                    text = without_arn(old_key, data.get(old_key.name), old_arn)
                    if text is not None and text is not data.get(old_key.name):
                        changed[old_key.name] = text
            current = data.get(entry.key.name)
            text = with_entry(entry.key, current, entry.as_dict(), replacing=same_key)
            if text is not current:
                changed[entry.key.name] = text
            return changed

        return self.edit(edit)

    def remove(self, key: MapKey, arn: str) -> WriteResult:
        """Remove every entry of ``key`` mapping ``arn``, and nothing else. Already gone is a success."""

        def edit(data: Mapping[str, str]) -> dict[str, str]:
            current = data.get(key.name)
            text = without_arn(key, current, arn)
            return {} if text is current or text is None else {key.name: text}

        return self.edit(edit)

    def edit(self, edit: Edit) -> WriteResult:
        """Read, apply ``edit``, write back guarded by the ``resourceVersion`` read; retry on 409.

        ``edit`` returns only the keys it changes; an empty result means the
        live value is already right and nothing is written. It may raise
        ``AwsAuthError`` (a key that does not parse): nothing of it is written then.
        A missing ``aws-auth`` is created holding only what the edits return.
        """
        ticket = _Ticket(edit)
        if self.coalesce is None:
            self._write_all([ticket])
        else:
            group = _group(self.coalesce)
            with group.cond:
                group.queue.append(ticket)
                while group.busy and not ticket.done:
                    group.cond.wait()
                batch: list[_Ticket] = []
                if not ticket.done:  # no write under way: this one writes for every edit waiting
                    batch, group.queue, group.busy = group.queue, [], True
            if batch:
                try:
                    self._write_all(batch)
                finally:
                    with group.cond:
                        group.busy = False
                        group.cond.notify_all()
        if ticket.error is not None:
            raise ticket.error
        assert ticket.result is not None
        return ticket.result

    def _write_all(self, tickets: list[_Ticket]) -> None:
        """``_write_batch``, and whatever it raised given to every ticket left without a result, so that no
        waiting writer waits for ever."""
        try:
            self._write_batch(tickets)
        except Exception as error:
            for ticket in tickets:
                if not ticket.done:
                    ticket.error = error

    def _write_batch(self, tickets: list[_Ticket]) -> None:
        """One read-merge-write loop for ``tickets``' edits, applied in order; each ticket gets its result or
        its error (an edit that raises fails alone; a request that fails, or the deadline, fails them all)."""
        started = self.clock()
        conflicts = attempt = 0
        pending = list(tickets)
        try:
            while pending:
                attempt += 1
                live = self.read()
                data = dict(live.data or {}) if live is not None else {}
                merged, changed = dict(data), {}
                for ticket in list(pending):
                    try:
                        changes = ticket.edit(merged)
                    except AwsAuthError as error:
                        ticket.error = error
                        pending.remove(ticket)
                        continue
                    merged.update(changes)
                    changed[ticket] = bool(changes)
                if not any(changed.values()):
                    for ticket in pending:
                        ticket.result = WriteResult(attempt, conflicts, wrote=False)
                    return
                if self._write(live, merged):
                    for ticket in pending:
                        wrote = changed[ticket]
                        ticket.result = WriteResult(attempt, conflicts, wrote=wrote, created=wrote and live is None)
                    return
                conflicts += 1
                elapsed = self.clock() - started
                backoff = self.retry.delay(attempt, self.rng)
                if elapsed + backoff >= self.retry.deadline:
                    raise AwsAuthConflict(
                        f"{AWS_AUTH} kept changing while we wrote it: {conflicts} writes in {elapsed:.1f} s were "
                        f"refused with 409 Conflict (a newer resourceVersion), and we stop after "
                        f"{self.retry.deadline:g} s. Nothing of ours was written. Run again once the other "
                        "writer is done."
                    )
                self.sleep(backoff)
        except AwsAuthError as error:
            for ticket in pending:
                ticket.error = error

    def _write(self, live: client.V1ConfigMap | None, data: dict[str, str]) -> bool:
        """Write ``data``; ``False`` on 409 (someone else wrote first)."""
        try:
            if live is None:
                body = client.V1ConfigMap(
                    api_version="v1",
                    kind="ConfigMap",
                    metadata=client.V1ObjectMeta(name=AWS_AUTH_NAME, namespace=AWS_AUTH_NAMESPACE),
                    data=data,
                )
                self.api.create_namespaced_config_map(AWS_AUTH_NAMESPACE, body, _request_timeout=REQUEST_TIMEOUT)
            else:
                # The object as read, so every other field and key goes back unchanged; its
                # metadata.resourceVersion makes the API server refuse the write with 409
                # if anything changed since.
                live.data = data
                self.api.replace_namespaced_config_map(
                    AWS_AUTH_NAME, AWS_AUTH_NAMESPACE, live, _request_timeout=REQUEST_TIMEOUT
                )
        except ApiException as error:
            if error.status == 409:
                return False
            raise _unavailable("writing", error) from None
        except Exception as error:
            raise _unreachable("writing", error, maybe_written=True) from error
        return True


def api_server(kubeconfig: object) -> str | None:
    """The API server URL of ``kubeconfig``'s current context, read without running its credentials; ``None``
    when it has none."""
    try:
        parsed: Any = yaml.safe_load(kubeconfig) if isinstance(kubeconfig, str) else None
        context = next(c["context"] for c in parsed["contexts"] if c["name"] == parsed["current-context"])
        server = next(c["cluster"]["server"] for c in parsed["clusters"] if c["name"] == context["cluster"])
    except (yaml.YAMLError, KeyError, TypeError, StopIteration):
        return None
    return server if isinstance(server, str) else None


def connect(kubeconfig: str) -> client.CoreV1Api:
    """A ``CoreV1Api`` for the current context of ``kubeconfig`` (a YAML string).

    Exec credentials (``aws eks get-token``) are run by the client itself.
    """
    try:
        parsed = yaml.safe_load(kubeconfig)
        if not isinstance(parsed, dict):
            raise ValueError("not a YAML mapping")
        api_client = config.new_client_from_config_dict(parsed)
    except Exception as error:
        raise AwsAuthError(f"kubeconfig: cannot be used to reach the cluster ({error}). Nothing was written.") from None
    return client.CoreV1Api(api_client)


def _status_reason(error: ApiException) -> str:
    """``403 Forbidden: <the API server's message>``; the raw body when it sent no Status; nothing more without one."""
    body = error.body or ""
    try:
        message = json.loads(body)["message"]
    except (TypeError, ValueError, KeyError):
        message = body
    return f"{error.status} {error.reason}" + (f": {message}" if message else "")


def _unavailable(doing: str, error: ApiException) -> AwsAuthUnavailable:
    hint = (
        " The kubeconfig's identity needs get, create and update on configmaps in kube-system."
        if error.status in (401, 403)
        else ""
    )
    return AwsAuthUnavailable(f"{doing} {AWS_AUTH} failed: {_status_reason(error)}.{hint} Nothing of ours was written.")


def _unreachable(doing: str, error: Exception, *, maybe_written: bool = False) -> AwsAuthUnavailable:
    outcome = (
        "The write may or may not have happened; running again is safe."
        if maybe_written
        else "Nothing of ours was written."
    )
    return AwsAuthUnavailable(f"{doing} {AWS_AUTH} failed: the API server did not answer ({error}). {outcome}")
