"""ServiceAccount tokens: JWTs (HS256) the controller writes into pods and the API server accepts,
with the claims Kubernetes' tokens carry (sub system:serviceaccount:NS:NAME, kubernetes.io).
The signing key derives from the cluster's admin token (state/pki/tokens), which the controller
and the API server both hold, so there is no second secret to keep in step. Stdlib and pure
plan/ code only: this runs in the cluster's containers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time

from ..plan.api_access import MOUNT

ISSUER = "https://kubernetes.default.svc.cluster.local"


def signing_key(admin_token: str) -> bytes:
    return hashlib.sha256(b"emukube serviceaccount tokens\0" + admin_token.encode()).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def mint(key: bytes, namespace: str, name: str, now: float | None = None, audiences: list[str] | None = None,
         expires: int | None = None, uid: str = "") -> str:
    """A token of the ServiceAccount; `expires`: when it stops being accepted (epoch seconds;
    pods' mounted tokens never expire)."""
    issued = int(now if now is not None else time.time())
    header = {"alg": "HS256", "typ": "JWT"}
    account = {"name": name, **({"uid": uid} if uid else {})}
    claims: dict = {"aud": audiences or [ISSUER], "iss": ISSUER, "iat": issued, "nbf": issued,
                    "sub": f"system:serviceaccount:{namespace}:{name}",
                    "kubernetes.io": {"namespace": namespace, "serviceaccount": account}}
    if expires is not None:
        claims["exp"] = expires
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def verify(key: bytes, token: str) -> tuple[str, str] | None:
    """(namespace, name) of a token this cluster signed; None for anything else."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        expected = hmac.new(key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(parts[2])):
            return None
        claims = json.loads(_unb64(parts[1]))
        # Expired, or made only for other audiences (`kubectl create token --audience=vault`).
        if "exp" in claims and time.time() >= claims["exp"] or ISSUER not in (claims.get("aud") or [ISSUER]):
            return None
        account = claims["kubernetes.io"]
        return account["namespace"], account["serviceaccount"]["name"]
    except (ValueError, KeyError, TypeError):
        return None


def _read_pki(state_dir: str) -> tuple[bytes, bytes]:
    """(the cluster's CA certificate, the tokens' signing key), from its PKI in state_dir."""
    pki = os.path.join(state_dir, "pki")
    with open(os.path.join(pki, "ca.crt"), "rb") as f:
        ca = f.read()
    with open(os.path.join(pki, "tokens"), encoding="utf-8") as tokens:
        return ca, signing_key(tokens.read().split()[0])


def minter(state_dir: str):
    """A function (namespace, account, audience or None) -> a token of that ServiceAccount for
    that audience (None: this API server's), as a projected serviceAccountToken holds it."""
    key = _read_pki(state_dir)[1]

    def token(namespace: str, account: str, audience: str | None) -> str:
        return mint(key, namespace, account, audiences=[audience] if audience else None)
    return token


def mount_files(state_dir: str):
    """A function (namespace, account) -> the files of a pod's service-account volume, from the
    cluster's PKI in state_dir (read once)."""
    ca, key = _read_pki(state_dir)

    def files(namespace: str, account: str) -> dict[str, tuple[bytes, int]]:
        return {f"{MOUNT}/token": (mint(key, namespace, account).encode(), 0o644),
                f"{MOUNT}/ca.crt": (ca, 0o644),
                f"{MOUNT}/namespace": (namespace.encode(), 0o644)}
    return files
