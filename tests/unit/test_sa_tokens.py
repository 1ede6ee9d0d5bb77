"""ServiceAccount tokens as kube-apiserver signs them (RS256 with sa.key, its claims), checked
against the published key set with `cryptography` directly rather than with the signer's own
verify; the discovery documents through the real API server app and its RBAC."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from test_apiserver_harness import run

from emukube.apiserver import sa_tokens
from emukube.apiserver.sa_tokens import ISSUER, Signer

ADMIN = "admin-token"


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def decoded(token: str) -> tuple[dict, dict]:
    header, claims, _ = token.split(".")
    return json.loads(_unb64(header)), json.loads(_unb64(claims))


def check_with_jwks(token: str, jwks: dict) -> None:
    """What a verifier outside the cluster does: the key of the token's kid, RS256."""
    header, _ = decoded(token)
    [key] = [k for k in jwks["keys"] if k["kid"] == header["kid"]]
    assert (key["kty"], key["alg"], key["use"], header["alg"]) == ("RSA", "RS256", "sig", "RS256")
    public = rsa.RSAPublicNumbers(int.from_bytes(_unb64(key["e"]), "big"),
                                  int.from_bytes(_unb64(key["n"]), "big")).public_key()
    signed, _, signature = token.rpartition(".")
    public.verify(_unb64(signature), signed.encode(), padding.PKCS1v15(), hashes.SHA256())


@pytest.fixture
def pki_dir(tmp_path):
    (tmp_path / "sa.key").write_bytes(sa_tokens.new_key_pem())
    return str(tmp_path)


def test_a_mounted_token_has_the_kubelets_claims_and_verifies_against_the_key_set(pki_dir):
    signer = Signer(ADMIN, pki_dir)
    now = time.time()
    token = signer.mint("shop", "robot", now=now, uid="u-1")
    check_with_jwks(token, signer.jwks())
    header, claims = decoded(token)
    issued = int(now)
    jti = claims.pop("jti")
    assert jti == str(uuid.UUID(jti))
    assert claims == {"aud": [ISSUER], "exp": issued + 365 * 24 * 3600, "iat": issued, "iss": ISSUER,
                      "kubernetes.io": {"namespace": "shop", "serviceaccount": {"name": "robot", "uid": "u-1"},
                                        "warnafter": issued + 3607},
                      "nbf": issued, "sub": "system:serviceaccount:shop:robot"}
    # keyIDFromPublicKey: the SHA-256 of the public key's DER (PKIX), base64url without padding
    der = serialization.load_pem_private_key((open(f"{pki_dir}/sa.key", "rb").read()), None).public_key() \
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert header == {"alg": "RS256", "kid": _b64(hashlib.sha256(der).digest())}
    assert signer.verify(token)[:3] == ("shop", "robot", "u-1")


def test_a_requested_token_ends_when_asked_and_only_its_audiences_are_this_servers(pki_dir):
    signer = Signer(ADMIN, pki_dir)
    short = signer.mint("shop", "robot", now=time.time() - 601, seconds=600)
    assert decoded(short)[1]["exp"] - decoded(short)[1]["iat"] == 600
    assert "warnafter" not in decoded(short)[1]["kubernetes.io"]
    check_with_jwks(short, signer.jwks())  # still well signed
    assert signer.verify(short) is None  # but expired
    assert signer.verify(signer.mint("shop", "robot", audiences=["vault"])) is None


def test_forged_and_foreign_tokens_are_refused_and_an_older_emukubes_are_kept(pki_dir, tmp_path_factory):
    signer = Signer(ADMIN, pki_dir)
    token = signer.mint("shop", "robot")
    header, claims, signature = token.split(".")
    forged = json.loads(_unb64(claims)) | {"sub": "system:serviceaccount:kube-system:admin"}
    assert signer.verify(f"{header}.{_b64(json.dumps(forged).encode())}.{signature}") is None
    with pytest.raises(InvalidSignature):
        check_with_jwks(f"{header}.{_b64(json.dumps(forged).encode())}.{signature}", signer.jwks())
    other = Signer(ADMIN, str(tmp_path_factory.mktemp("other")))  # another cluster's key
    assert signer.verify(other.mint("shop", "robot")) is None
    none = _b64(json.dumps({"alg": "none"}).encode())
    unsigned = f"{none}.{claims}."
    assert signer.verify(unsigned) is None and signer.verify("not-a-jwt") is None
    # HS256 with the key an older emukube derived from the admin token: pods started before an upgrade
    old_header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    signed = f"{old_header}.{claims}"
    legacy = hmac.new(sa_tokens.legacy_key(ADMIN), signed.encode(), hashlib.sha256).digest()
    assert signer.verify(f"{signed}.{_b64(legacy)}")[:3] == ("shop", "robot", "")
    assert Signer("another-admin-token", pki_dir).verify(f"{signed}.{_b64(legacy)}") is None


def test_a_state_volume_without_a_key_gets_one_and_every_process_the_same(tmp_path):
    first, second = Signer(ADMIN, str(tmp_path)), Signer(ADMIN, str(tmp_path))
    token = first.mint("shop", "robot")
    assert (tmp_path / "sa.key").read_bytes().startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    assert second.verify(token)[:3] == ("shop", "robot", "") and second.jwks() == first.jwks()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sa.key"]  # no temporary left


def test_the_discovery_documents_for_service_accounts_and_not_for_strangers(tmp_path):
    async def body(api):
        config = await api.ok("GET", "/.well-known/openid-configuration", token=api.sa_token("default", "default"))
        assert config == {"issuer": ISSUER, "jwks_uri": "", "response_types_supported": ["id_token"],
                          "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"]}
        status, jwks, resp = await api.req("GET", "/openid/v1/jwks", token=api.sa_token("default", "default"))
        assert status == 200 and resp.headers["Content-Type"] == "application/jwk-set+json"
        assert resp.headers["Cache-Control"] == "public, max-age=3600"
        answer = await api.ok("POST", "/api/v1/namespaces/default/serviceaccounts/default/token",
                              {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}})
        check_with_jwks(answer["status"]["token"], jwks)  # `kubectl create token`'s, verified outside
        assert (await api.req("GET", "/openid/v1/jwks", token=None))[0] == 401
        roles = await api.ok("GET", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/"
                             "system:service-account-issuer-discovery")
        assert roles["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                                      "name": "system:serviceaccounts"}]
    run(tmp_path, body)


def test_a_token_ends_with_its_account(tmp_path):
    """kube-apiserver's validator: the account must exist, and be the one a token names by uid."""
    accounts = "/api/v1/namespaces/default/serviceaccounts"
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}

    async def body(api):
        async def who(token: str) -> int:
            return (await api.req("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", review,
                                  token=token))[0]
        await api.ok("POST", accounts, {"metadata": {"name": "robot"}})
        made = (await api.ok("POST", f"{accounts}/robot/token", {"kind": "TokenRequest", "spec": {}}))["status"]["token"]
        mounted = api.sa_token("default", "robot")  # names no uid, as a mounted one
        assert (await who(made), await who(mounted)) == (201, 201)
        await api.ok("DELETE", f"{accounts}/robot")
        assert (await who(made), await who(mounted)) == (401, 401)
        await api.ok("POST", accounts, {"metadata": {"name": "robot"}})  # another account of that name
        assert (await who(made), await who(mounted)) == (401, 201)
    run(tmp_path, body)
