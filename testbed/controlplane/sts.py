"""STS on loopback, for the real aws-iam-authenticator: test infrastructure of ours, not AWS's code.

aws-iam-authenticator (EKS's own code, the control plane's token webhook) checks a token by sending its presigned
``GetCallerIdentity`` URL to STS (``GET https://sts[.REGION].amazonaws.com/?Action=GetCallerIdentity&...``, with
the signed header ``x-k8s-aws-id``) and reading the caller from STS's JSON answer. It cannot be pointed anywhere
else: it accepts STS host names only, and uses Go's default transport. So it runs with ``HTTPS_PROXY`` naming
this proxy and ``SSL_CERT_FILE`` holding this proxy's CA, and the proxy:

- accepts ``CONNECT`` to an STS host only (any other host gets 403: nothing leaves loopback);
- terminates TLS there with a certificate for that host, issued by its own CA;
- answers as STS does. It checks the SigV4 signature with the secret of the key that signed it
  (``testbed/apiserver/token.py``: what STS does, and moto does not), over the ``x-k8s-aws-id`` header as the
  authenticator sent it, so a token for another cluster, a deleted key or a wrong secret fails. Then it gives the
  caller's ARN, account and unique id (``UserId``; a role session's is ``ROLEID:SESSION``), or STS's error.

``principals`` is what STS knows (access key id -> ``Principal``); tests add to it while it runs, and the engine
tier points it at moto's IAM (``StsKeys``). ``calls`` records each answer.
"""

from __future__ import annotations

import base64
import hashlib
import json
import ssl
import threading
import time
import uuid
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from testbed.apiserver.authenticator import Principal
from testbed.apiserver.tls import server_context
from testbed.apiserver.token import PREFIX, TokenError, verify_token
from testbed.controlplane.pki import CertificateAuthority


def is_sts_host(host: str) -> bool:
    """``sts.amazonaws.com`` or ``sts.REGION.amazonaws.com``: the hosts the authenticator itself accepts (aws)."""
    labels = host.lower().split(".")
    return labels[0] == "sts" and labels[-2:] == ["amazonaws", "com"] and len(labels) in (3, 4)


def unique_id(principal: Principal) -> str:
    """The ``UserId`` STS gives ``principal``: its own (``Principal.user_id``), or one made from its ARN in STS's
    form (``AIDA...`` for a user, ``AROA...:SESSION`` for a role session)."""
    arn = principal.arn
    made = base64.b32encode(hashlib.sha256(arn.split("/")[0 if ":user/" in arn else 1].encode()).digest()).decode()
    if ":assumed-role/" in arn:
        role_id = principal.user_id or "AROA" + made[:17]
        return f"{role_id}:{arn.rsplit('/', 1)[1]}"
    return principal.user_id or "AIDA" + made[:17]


@dataclass(frozen=True)
class Call:
    """One ``GetCallerIdentity`` the stand-in answered: the caller's ARN, or why not."""

    at: float
    key_id: str | None
    arn: str | None
    error: str = ""


@dataclass
class StsStandIn:
    """The proxy on 127.0.0.1, a context manager. ``proxy_url`` goes in ``HTTPS_PROXY``, ``ca_file`` in
    ``SSL_CERT_FILE``."""

    workdir: Path
    principals: MutableMapping[str, Principal] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    _ca: CertificateAuthority = field(default_factory=lambda: CertificateAuthority("sts-stand-in-ca"))
    _contexts: dict[str, ssl.SSLContext] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _httpd: ThreadingHTTPServer | None = None

    def __enter__(self) -> StsStandIn:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.ca_file.write_bytes(self._ca.pair.cert_pem)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), type("Proxy", (_Proxy,), {"sts": self}))
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    @property
    def ca_file(self) -> Path:
        return self.workdir / "sts-ca.pem"

    @property
    def proxy_url(self) -> str:
        assert self._httpd is not None, "the STS stand-in is not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def context(self, host: str) -> ssl.SSLContext:
        """A TLS server context with a certificate for ``host`` (made once per host)."""
        with self._lock:
            found = self._contexts.get(host)
            if found is None:
                pair = self._ca.issue(host, dns_names=[host], server=True)
                found = self._contexts[host] = server_context(pair.cert_pem, pair.key_pem)
            return found

    def get_caller_identity(self, host: str, path: str, cluster_id: str) -> tuple[int, dict[str, Any]]:
        """STS's answer to the presigned ``GET https://HOST PATH`` sent with ``x-k8s-aws-id: CLUSTER_ID``."""
        url = f"https://{host}{path}"
        token = PREFIX + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
        snapshot = getattr(self.principals, "snapshot", None)
        principals = dict(snapshot() if callable(snapshot) else self.principals)
        try:
            key, session_token = verify_token(token, {k: p.secret for k, p in principals.items()}, cluster_id)
            principal = principals[key]
            if session_token != principal.session_token:
                raise TokenError(f"the session token does not belong to {key}")
        except TokenError as error:
            self.calls.append(Call(time.time(), None, None, str(error)))
            return 403, {"Error": {"Code": "SignatureDoesNotMatch", "Message": str(error), "Type": "Sender"}}
        self.calls.append(Call(time.time(), key, principal.arn))
        result = {"Account": principal.arn.split(":")[4], "Arn": principal.arn, "UserId": unique_id(principal)}
        return 200, {
            "GetCallerIdentityResponse": {
                "GetCallerIdentityResult": result,
                "ResponseMetadata": {"RequestId": str(uuid.uuid4())},
            }
        }


class _Proxy(BaseHTTPRequestHandler):
    """``CONNECT`` to an STS host: TLS there, then STS answers on the tunnel."""

    sts: StsStandIn
    protocol_version = "HTTP/1.1"

    def do_CONNECT(self) -> None:
        host, _, port = self.path.rpartition(":")
        if not is_sts_host(host) or port != "443":
            self.send_error(403, f"the STS stand-in tunnels to STS only, not {self.path}")
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        self.close_connection = True
        try:
            tunnel = self.sts.context(host).wrap_socket(self.connection, server_side=True)
        except (ssl.SSLError, OSError):
            return
        _Sts(tunnel, self.client_address, self.server, sts=self.sts, host=host)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the answers are in ``StsStandIn.calls``."""


class _Sts(BaseHTTPRequestHandler):
    """STS inside the tunnel: ``GetCallerIdentity``, in JSON as the authenticator asks (``Accept``)."""

    protocol_version = "HTTP/1.1"

    def __init__(self, *args: Any, sts: StsStandIn, host: str) -> None:
        self.sts, self.host = sts, host
        super().__init__(*args)

    def do_GET(self) -> None:
        code, answer = self.sts.get_caller_identity(self.host, self.path, self.headers.get("x-k8s-aws-id", ""))
        payload = json.dumps(answer).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the answers are in ``StsStandIn.calls``."""
