"""ServiceAccount tokens: JWTs signed RS256 with the cluster's sa.key (state/pki/sa.key, made at
`up` as kubeadm makes /etc/kubernetes/pki/sa.key), carrying the claims kube-apiserver's tokens
carry (pkg/serviceaccount/claims.go), and the OpenID discovery documents that publish the key
(`/.well-known/openid-configuration`, `/openid/v1/jwks`), so that a verifier outside the API
server (Vault's JWT auth, an app with a JWT library) can check them as on a real cluster.

The controller mints the tokens it mounts in pods, the API server those `kubectl create token`
asks for; both verify. Tokens an older emukube signed HS256 (with a key derived from the admin
token) are still accepted: pods started before an upgrade keep theirs.

Runs in the cluster's containers: stdlib, plan/ code and `cryptography` (the image's Debian
package), imported only once a token is minted or checked (the API server's start is on
`up`'s critical path)."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import os
import threading
import time
import uuid
from typing import NamedTuple

from ..plan.api_access import MOUNT

ISSUER = "https://kubernetes.default.svc.cluster.local"
KEY_FILE, PUBLIC_FILE = "sa.key", "sa.pub"
# What the kubelet asks for its kube-api-access tokens, and the year kube-apiserver extends
# exactly those to (--service-account-extend-token-expiration, on by default), keeping the
# hour as `warnafter` (WarnOnlyBoundTokenExpirationSeconds, ExpirationExtensionSeconds).
KUBELET_SECONDS = 60 * 60 + 7
EXTENDED_SECONDS = 365 * 24 * 60 * 60
CONFIGURATION_PATH, JWKS_PATH = "/.well-known/openid-configuration", "/openid/v1/jwks"
# A Secret's token (type kubernetes.io/service-account-token), as the token controller still
# makes them: no expiry, no audience, its claims under their legacy names (pkg/serviceaccount/legacy.go).
LEGACY_ISSUER = "kubernetes/serviceaccount"
_LEGACY = "kubernetes.io/serviceaccount/"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int_bytes(n: int) -> bytes:
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


def legacy_key(admin_token: str) -> bytes:
    """The HS256 key emukube signed with before it had an sa.key."""
    return hashlib.sha256(b"emukube serviceaccount tokens\0" + admin_token.encode()).digest()


def new_key_pem() -> bytes:
    """An RSA 2048 key in PKCS#1 PEM, as kubeadm writes sa.key."""
    return new_key_pair()[0]


def new_key_pair() -> tuple[bytes, bytes]:
    """(sa.key, sa.pub): the public half taken from the key made, not from its PEM read back
    (a check of the key that took `up` 40 ms)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return (key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                              serialization.NoEncryption()),
            key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


def public_pem(key_pem: bytes) -> bytes:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(key_pem, password=None)
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _ensure_key_file(pki_dir: str) -> bytes:
    """sa.key, made here for a state volume an older emukube made without one; the API server
    and the controller may both get here first, and a hard link lets only one of them win."""
    path = os.path.join(pki_dir, KEY_FILE)
    if not os.path.exists(path):
        pem = new_key_pem()
        temporary = f"{path}.{os.getpid()}.{threading.get_ident()}"
        with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
            f.write(pem)
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    with open(path, "rb") as f:
        return f.read()


BOUND_KINDS = ("pod", "secret", "node")


class Verified(NamedTuple):
    """A token's account, the objects it is bound to, its id, and the audiences it was
    accepted for."""

    namespace: str
    name: str
    uid: str  # "" in a token mounted in a pod (one serves every pod of the account)
    bound: dict[str, dict]  # {"pod" | "secret" | "node": {"name", "uid"}}
    jti: str
    audiences: list[str]
    secret_token: str = ""  # a Secret's token: the token the Secret must still hold


class Signer:
    """Mints and verifies the cluster's ServiceAccount tokens. pki_dir: where sa.key is (made
    there when missing); None: a key of this process only (the API server's unit tests)."""

    def __init__(self, admin_token: str, pki_dir: str | None):
        self.legacy = legacy_key(admin_token)
        self.pki_dir = pki_dir
        self._lock = threading.Lock()
        self._key = None
        self.kid = ""

    def _private(self):
        with self._lock:
            if self._key is None:
                from cryptography.hazmat.primitives import serialization

                pem = _ensure_key_file(self.pki_dir) if self.pki_dir else new_key_pem()
                self._key = serialization.load_pem_private_key(pem, password=None)
                der = self._key.public_key().public_bytes(serialization.Encoding.DER,
                                                          serialization.PublicFormat.SubjectPublicKeyInfo)
                self.kid = _b64(hashlib.sha256(der).digest())  # keyIDFromPublicKey
            return self._key

    def load(self) -> None:
        """Read (or make) the key now rather than at the first token."""
        self._private()

    def mint(self, namespace: str, name: str, now: float | None = None, audiences: list[str] | None = None,
             seconds: int | None = None, uid: str = "", bound: dict[str, dict] | None = None) -> str:
        """A token of the ServiceAccount valid `seconds` from now; None: a token mounted in a
        pod, which kube-apiserver gives the kubelet for a year, its hour kept as `warnafter` (the
        kube-api-access volume's, and a projected one asking the kubelet's own 3607 s).
        `bound`: the objects it is bound to, {"pod" | "secret" | "node": {"name", "uid"}}."""
        issued = int(now if now is not None else time.time())
        account: dict = {"name": name, **({"uid": uid} if uid else {})}
        private: dict = {"namespace": namespace, "serviceaccount": account, **(bound or {})}
        if seconds is None:
            expires, private["warnafter"] = issued + EXTENDED_SECONDS, issued + KUBELET_SECONDS
        else:
            expires = issued + seconds
        claims = {"aud": audiences or [ISSUER], "exp": expires, "iat": issued, "iss": ISSUER,
                  "jti": str(uuid.uuid4()), "kubernetes.io": private, "nbf": issued,
                  "sub": f"system:serviceaccount:{namespace}:{name}"}
        return self._signed_token(claims)

    def mint_legacy(self, namespace: str, account: str, account_uid: str, secret: str) -> str:
        """The token the token controller writes into a service-account-token Secret."""
        claims = {"iss": LEGACY_ISSUER, _LEGACY + "namespace": namespace, _LEGACY + "secret.name": secret,
                  _LEGACY + "service-account.name": account, _LEGACY + "service-account.uid": account_uid,
                  "sub": f"system:serviceaccount:{namespace}:{account}"}
        return self._signed_token(claims)

    def _signed_token(self, claims: dict) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        key = self._private()  # first: it sets kid
        signing_input = f"{_b64(_compact({'alg': 'RS256', 'kid': self.kid}))}.{_b64(_compact(claims))}"
        return f"{signing_input}.{_b64(key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()))}"

    def verify(self, token: str, audiences: list[str] | None = None) -> Verified | None:
        """What a token this cluster signed says, when it is not expired and made for one of
        `audiences` (None: this API server's); None for anything else."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            header = json.loads(_unb64(parts[0]))
            if not self._signed(header.get("alg"), f"{parts[0]}.{parts[1]}".encode(), _unb64(parts[2])):
                return None
            claims = json.loads(_unb64(parts[1]))
            if claims.get("iss") == LEGACY_ISSUER:
                return _legacy(claims, token, audiences or [ISSUER])
            # Expired, or made only for other audiences (`kubectl create token --audience=vault`).
            wanted = audiences or [ISSUER]
            shared = [a for a in wanted if a in (claims.get("aud") or [ISSUER])]
            if "exp" in claims and time.time() >= claims["exp"] or not shared:
                return None
            private = claims["kubernetes.io"]
            account = private["serviceaccount"]
            bound = {kind: {"name": ref.get("name", ""), "uid": ref.get("uid", "")}
                     for kind in BOUND_KINDS if isinstance(ref := private.get(kind), dict)}
            return Verified(private["namespace"], account["name"], account.get("uid", ""), bound,
                            claims.get("jti", ""), shared)
        except (ValueError, KeyError, TypeError, AttributeError):
            return None

    def _signed(self, alg, signed: bytes, signature: bytes) -> bool:
        if alg == "HS256":
            return hmac.compare_digest(hmac.new(self.legacy, signed, hashlib.sha256).digest(), signature)
        if alg != "RS256":
            return False
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        try:
            self._private().public_key().verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return False
        return True

    @staticmethod
    def openid_configuration(jwks_uri: str) -> dict:
        """The discovery document (pkg/serviceaccount/openidmetadata.go)."""
        return {"issuer": ISSUER, "jwks_uri": jwks_uri, "response_types_supported": ["id_token"],
                "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"]}

    def jwks(self) -> dict:
        numbers = self._private().public_key().public_numbers()
        return {"keys": [{"use": "sig", "kty": "RSA", "kid": self.kid, "alg": "RS256",
                          "n": _b64(_int_bytes(numbers.n)), "e": _b64(_int_bytes(numbers.e))}]}


def _legacy(claims: dict, token: str, wanted: list[str]) -> Verified | None:
    """A Secret's token: for the API server's audience alone (it names none)."""
    if ISSUER not in wanted:
        return None
    return Verified(claims[_LEGACY + "namespace"], claims[_LEGACY + "service-account.name"],
                    claims.get(_LEGACY + "service-account.uid", ""),
                    {"secret": {"name": claims[_LEGACY + "secret.name"], "uid": ""}}, "", [ISSUER], token)


def _compact(value: dict) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


@functools.cache
def _signer(state_dir: str) -> Signer:
    """The controller's one signer (its pods' volumes and their projected tokens share it)."""
    pki = os.path.join(state_dir, "pki")
    with open(os.path.join(pki, "tokens"), encoding="utf-8") as tokens:
        signer = Signer(tokens.read().split()[0], pki)
    threading.Thread(target=signer.load, daemon=True).start()  # before the first pod needs it
    return signer


def minter(state_dir: str):
    """A function (namespace, account, audience or None, seconds) -> a token of that
    ServiceAccount for that audience (None: this API server's), as a projected
    serviceAccountToken holds it: it expires after its expirationSeconds (the kubelet renews it
    before), save the kubelet's own 3607 for the API server, which gets the extended year."""
    signer = _signer(state_dir)

    def token(namespace: str, account: str, audience: str | None, seconds: int) -> str:
        extended = seconds == KUBELET_SECONDS and not audience
        return signer.mint(namespace, account, audiences=[audience] if audience else None,
                           seconds=None if extended else seconds)
    return token


def secret_minter(state_dir: str):
    """(a function (namespace, account, its uid, secret) -> the token the token controller
    writes into a service-account-token Secret, the cluster's CA), from the PKI in state_dir."""
    return _signer(state_dir).mint_legacy, _ca(state_dir)


@functools.cache
def _ca(state_dir: str) -> bytes:
    """The cluster's CA certificate (PEM), read once for the pods' volumes and the token Secrets."""
    with open(os.path.join(state_dir, "pki", "ca.crt"), "rb") as f:
        return f.read()


def mount_files(state_dir: str):
    """A function (namespace, account) -> the files of a pod's service-account volume, from the
    cluster's PKI in state_dir (read once)."""
    signer, ca = _signer(state_dir), _ca(state_dir)

    def files(namespace: str, account: str) -> dict[str, tuple[bytes, int]]:
        return {f"{MOUNT}/token": (signer.mint(namespace, account).encode(), 0o644),
                f"{MOUNT}/ca.crt": (ca, 0o644),
                f"{MOUNT}/namespace": (namespace.encode(), 0o644)}
    return files
