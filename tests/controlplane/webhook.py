"""Our STS token authenticator, served to the real kube-apiserver as a TokenReview webhook.

This is where EKS runs aws-iam-authenticator: kube-apiserver POSTs an
``authentication.k8s.io/v1`` TokenReview for each bearer token it does not
know; the webhook checks the ``aws eks get-token`` token's SigV4 signature
with the secrets it was given (``tests/apiserver/token.py``), then maps the
caller ARN through the ``aws-auth`` ConfigMap it reads *from the real API
server* with the admin certificate (``tests/apiserver/authenticator.py``).
An invalid or unmapped token gets ``authenticated: false``, which the API
server answers with 401.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from kubernetes.client import ApiClient, CoreV1Api
from kubernetes.client.exceptions import ApiException

from tests.apiserver.authenticator import Identity, Principal, Unmapped, canonical_arn, map_caller
from tests.apiserver.tls import ServerCert, make_server_cert, serve_https
from tests.apiserver.token import TokenError, verify_token

API_VERSION = "authentication.k8s.io/v1"


@dataclass(frozen=True)
class Review:
    """One TokenReview the webhook answered: who (if anyone) and why not."""

    at: float
    key_id: str | None
    arn: str | None
    identity: Identity | None
    error: str = ""

    @property
    def authenticated(self) -> bool:
        return self.identity is not None


class Rejected(Exception):
    """The token does not authenticate anyone (the message is the TokenReview's ``status.error``)."""


def read_aws_auth(api: ApiClient) -> dict[str, str] | None:
    """``kube-system/aws-auth``'s data as the API server holds it now; ``None`` if it does not exist."""
    try:
        found = CoreV1Api(api).read_namespaced_config_map("aws-auth", "kube-system")
    except ApiException as error:
        if error.status == 404:
            return None
        raise
    data: dict[str, str] = found.data or {}
    return data


@dataclass
class TokenWebhook:
    """An HTTPS TokenReview server on 127.0.0.1. Use as a context manager.

    ``principals`` is what STS knows (access key id -> secret, caller ARN,
    session token); tests add to it while the server runs. ``aws_auth``
    returns the current ``aws-auth`` data (read from the API server).
    """

    cluster_name: str
    aws_auth: Callable[[], Mapping[str, str] | None]
    principals: MutableMapping[str, Principal] = field(default_factory=dict)
    reviews: list[Review] = field(default_factory=list)
    cert: ServerCert = field(default_factory=make_server_cert)
    _httpd: ThreadingHTTPServer | None = None

    def __enter__(self) -> TokenWebhook:
        self._httpd = serve_https(type("Handler", (_Handler,), {"webhook": self}), self.cert)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    @property
    def url(self) -> str:
        assert self._httpd is not None, "the webhook is not started"
        return f"https://127.0.0.1:{self._httpd.server_address[1]}/authenticate"

    def kubeconfig(self) -> dict[str, Any]:
        """The ``--authentication-token-webhook-config-file`` contents (kubeconfig format)."""
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "sts-webhook",
                    "cluster": {"server": self.url, "certificate-authority-data": self.cert.ca_data},
                }
            ],
            "users": [{"name": "kube-apiserver", "user": {}}],
            "contexts": [{"name": "webhook", "context": {"cluster": "sts-webhook", "user": "kube-apiserver"}}],
            "current-context": "webhook",
        }

    def authenticate(self, token: str) -> tuple[Identity, dict[str, list[str]], str]:
        """The identity ``token`` stands for, the ``extra`` aws-iam-authenticator adds, and a uid."""
        # One copy for the whole review; a live view (the engine tier's moto keys) gives one taken at once.
        snapshot = getattr(self.principals, "snapshot", None)
        principals = dict(snapshot() if callable(snapshot) else self.principals)
        try:
            key, session_token = verify_token(token, {k: p.secret for k, p in principals.items()}, self.cluster_name)
        except TokenError as error:
            raise Rejected(f"invalid token: {error}") from None
        principal = principals[key]
        if session_token != principal.session_token:
            raise Rejected(f"invalid token: the session token does not belong to {key}")
        try:
            kind, canonical = canonical_arn(principal.arn)
            identity = map_caller(self.aws_auth(), principal.arn)
        except Unmapped as error:
            raise Rejected(f"{principal.arn}: {error}") from None
        account = principal.arn.split(":")[4]
        extra = {"arn": [principal.arn], "canonicalArn": [canonical], "accessKeyId": [key]}
        if kind == "role" and principal.arn.split(":")[2] == "sts":
            extra["sessionName"] = [principal.arn.rsplit("/", 1)[1]]
        return identity, extra, f"aws-iam-authenticator:{account}:{key}"

    def review(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Answer one TokenReview."""
        spec = body.get("spec") or {}
        token = str(spec.get("token") or "")
        status: dict[str, Any]
        try:
            identity, extra, uid = self.authenticate(token)
        except Rejected as error:
            self.reviews.append(Review(time.time(), None, None, None, str(error)))
            status = {"authenticated": False, "error": str(error)}
        else:
            arn = extra["arn"][0]
            self.reviews.append(Review(time.time(), extra["accessKeyId"][0], arn, identity))
            user = {"username": identity.username, "uid": uid, "groups": list(identity.groups), "extra": extra}
            status = {"authenticated": True, "user": user}
            if spec.get("audiences"):
                status["audiences"] = list(spec["audiences"])
        return {"apiVersion": API_VERSION, "kind": "TokenReview", "status": status}


class _Handler(BaseHTTPRequestHandler):
    webhook: TokenWebhook
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
            answer = self.webhook.review(body if isinstance(body, dict) else {})
            code = 200
        except Exception as error:  # the API server treats a non-200 as an authentication error
            answer, code = {"apiVersion": API_VERSION, "kind": "Status", "message": repr(error)}, 500
        payload = json.dumps(answer).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the reviews are recorded in ``TokenWebhook.reviews``."""
