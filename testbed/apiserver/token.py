"""Check ``aws eks get-token`` tokens the way EKS does: by the STS signature.

A token is ``k8s-aws-v1.`` + base64url(presigned STS ``GetCallerIdentity``
URL). The URL signs the ``x-k8s-aws-id`` header, the cluster name, so a token
for one cluster is useless on another. EKS forwards the URL to STS, which
checks the signature; here it is recomputed with the known secret key
(SigV4, query-string form).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import parse_qsl, quote, urlsplit

PREFIX = "k8s-aws-v1."
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class TokenError(ValueError):
    """The token is malformed, expired, or not signed by a known key for this cluster."""


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def verify_token(
    token: str, secrets: Mapping[str, str], cluster_name: str, now: datetime.datetime | None = None
) -> tuple[str, str | None]:
    """Return the access key id that signed ``token`` for ``cluster_name``, and the session token
    it carries (temporary credentials; ``None`` for a user's key); raise ``TokenError`` otherwise."""
    if not token.startswith(PREFIX):
        raise TokenError(f"not a {PREFIX} token")
    encoded = token[len(PREFIX) :]
    try:
        url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (ValueError, UnicodeDecodeError) as error:
        raise TokenError(f"token is not base64url: {error}") from None
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    host = parts.hostname or ""
    if not (host.startswith("sts.") and host.endswith(".amazonaws.com")) or parts.path not in ("", "/"):
        raise TokenError(f"not an STS URL: {host}{parts.path}")
    if params.get("Action") != "GetCallerIdentity":
        raise TokenError(f"presigns {params.get('Action')}, not GetCallerIdentity")
    signed_headers = params.get("X-Amz-SignedHeaders", "")
    if signed_headers != "host;x-k8s-aws-id":
        raise TokenError(f"signed headers are {signed_headers!r}; the cluster name must be signed")
    try:
        key_id, date, region, service, _ = params["X-Amz-Credential"].split("/")
        stamp = datetime.datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)
        expires = int(params["X-Amz-Expires"])
        signature = params["X-Amz-Signature"]
    except (KeyError, ValueError) as error:
        raise TokenError(f"incomplete presigned URL: {error}") from None
    if key_id not in secrets:
        raise TokenError(f"unknown access key {key_id}")
    current = now or datetime.datetime.now(datetime.UTC)
    if not stamp - datetime.timedelta(minutes=5) <= current <= stamp + datetime.timedelta(seconds=expires):
        raise TokenError("token expired")
    query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(params.items()) if k != "X-Amz-Signature"
    )
    canonical = "\n".join(
        ["GET", "/", query, f"host:{host}\nx-k8s-aws-id:{cluster_name}\n", signed_headers, _EMPTY_SHA256]
    )
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", params["X-Amz-Date"], scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secrets[key_id]}".encode(), date), region), service), "aws4_request")
    if not hmac.compare_digest(hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest(), signature):
        raise TokenError(f"signature does not match: not signed by {key_id}'s secret for cluster {cluster_name!r}")
    return key_id, params.get("X-Amz-Security-Token")
