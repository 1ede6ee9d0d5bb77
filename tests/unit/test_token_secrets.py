"""Secrets of type kubernetes.io/service-account-token: what their type requires (the API server's
words), the token controller's decisions from literal inputs, and the token itself (legacy
claims, RS256 with the cluster's key) accepted by the API server while the Secret holds it."""

from __future__ import annotations

import base64

from test_apiserver_harness import run
from test_sa_tokens import check_with_jwks, decoded

from emukube.apiserver.app import SIGNER
from emukube.apiserver.sa_tokens import LEGACY_ISSUER
from emukube.controllers.token_secrets import decide, filled
from emukube.manifests.validate import validate_object

CA = b"-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n"
SECRETS = "/api/v1/namespaces/default/secrets"
SA = "/api/v1/namespaces/default/serviceaccounts"


def b64(data: bytes | str) -> str:
    return base64.b64encode(data if isinstance(data, bytes) else data.encode()).decode()


def token_secret(name: str = "robot-token", account: str | None = "robot", ns: str = "default", **more) -> dict:
    annotations = {"kubernetes.io/service-account.name": account} if account else {}
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
            "metadata": {"name": name, "namespace": ns, "uid": f"uid-{name}", "annotations": annotations}, **more}


def account(name: str = "robot", uid: str = "sa-1", ns: str = "default") -> dict:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": ns, "uid": uid}}


def test_each_secret_type_requires_its_keys_in_the_api_servers_words():
    def problems(kind: str, **fields) -> list[str]:
        return validate_object({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "type": kind, **fields})

    assert problems("kubernetes.io/service-account-token") == [
        "metadata.annotations[kubernetes.io/service-account.name]: Required value"]
    assert problems("kubernetes.io/tls", data={"tls.crt": b64("c")}) == ["data[tls.key]: Required value"]
    assert problems("kubernetes.io/tls", stringData={"tls.crt": "c", "tls.key": "k"}) == []
    assert problems("kubernetes.io/basic-auth") == ["data[username]: Required value", "data[password]: Required value"]
    assert problems("kubernetes.io/basic-auth", stringData={"password": ""}) == []
    assert problems("kubernetes.io/ssh-auth") == ["data[ssh-privatekey]: Required value"]
    assert problems("kubernetes.io/dockerconfigjson", stringData={".dockerconfigjson": "nope"}) == [
        'data[.dockerconfigjson]: Invalid value: "<secret contents redacted>": '
        "invalid character 'o' in literal null (expecting 'u')"]
    assert problems("kubernetes.io/dockercfg", data={".dockercfg": b64("[]")}) == [
        'data[.dockercfg]: Invalid value: "<secret contents redacted>": '
        "json: cannot unmarshal array into Go value of type map[string]interface {}"]
    assert problems("kubernetes.io/dockerconfigjson", stringData={".dockerconfigjson": '{"auths": {}}'}) == []
    assert problems("Opaque") == [] and problems("example.com/mine") == []


def test_the_controller_fills_what_lacks_its_token_and_removes_what_lost_its_account():
    filled_one = {"data": {"token": b64("t"), "ca.crt": b64(CA), "namespace": b64("default")}}
    secrets = [token_secret("new"), token_secret("done", **filled_one), token_secret("stale-ca", data={
        **filled_one["data"], "ca.crt": b64("old")}), token_secret("orphan", account="ghost"),
        {**token_secret("replaced"), "metadata": {**token_secret("replaced")["metadata"], "annotations": {
            "kubernetes.io/service-account.name": "robot", "kubernetes.io/service-account.uid": "sa-0"}}},
        {**token_secret("opaque"), "type": "Opaque"}]
    verdicts = [(verdict, s["metadata"]["name"]) for verdict, s, _ in decide(secrets, [account()], CA)]
    assert verdicts == [("fill", "new"), ("fill", "stale-ca"), ("orphaned", "orphan"), ("orphaned", "replaced")]
    minted: list[tuple] = []
    made = filled(token_secret("new"), account(), CA, lambda *args: minted.append(args) or "jwt")
    assert minted == [("default", "robot", "sa-1", "new")]
    assert made["metadata"]["annotations"] == {"kubernetes.io/service-account.name": "robot",
                                               "kubernetes.io/service-account.uid": "sa-1"}
    assert made["data"] == {"ca.crt": b64(CA), "namespace": b64("default"), "token": b64("jwt")}
    kept = filled(token_secret("stale-ca", data={**filled_one["data"], "ca.crt": b64("old")}), account(), CA,
                  lambda *args: "never")
    assert kept["data"]["token"] == b64("t") and kept["data"]["ca.crt"] == b64(CA)


def test_a_secrets_token_is_the_accounts_while_the_secret_holds_it(tmp_path):
    async def body(api):
        made = await api.ok("POST", SA, {"metadata": {"name": "robot"}})
        signer = api.app[SIGNER]
        token = signer.mint_legacy("default", "robot", made["metadata"]["uid"], "robot-token")
        check_with_jwks(token, signer.jwks())
        assert decoded(token)[1] == {
            "iss": LEGACY_ISSUER, "kubernetes.io/serviceaccount/namespace": "default",
            "kubernetes.io/serviceaccount/secret.name": "robot-token",
            "kubernetes.io/serviceaccount/service-account.name": "robot",
            "kubernetes.io/serviceaccount/service-account.uid": made["metadata"]["uid"],
            "sub": "system:serviceaccount:default:robot"}
        whoami = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
        review = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
        assert (await api.req("POST", whoami, review, token=token))[0] == 401  # no Secret holds it yet
        await api.ok("POST", SECRETS, {**token_secret(), "data": {"token": b64(token)}})
        status, answer, _ = await api.req("POST", whoami, review, token=token)
        assert status == 201 and answer["status"]["userInfo"]["username"] == "system:serviceaccount:default:robot"
        # A Secret holding another token: this one is not the Secret's copy.
        other = signer.mint_legacy("default", "robot", made["metadata"]["uid"], "spare-2")
        await api.ok("POST", SECRETS, {**token_secret("spare-2"), "data": {"token": b64("forged")}})
        assert (await api.req("POST", whoami, review, token=other))[0] == 401
        tokens = "/apis/authentication.k8s.io/v1/tokenreviews"
        vault = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                 "spec": {"token": token, "audiences": ["vault"]}}
        assert (await api.ok("POST", tokens, vault))["status"].get("authenticated") is not True  # no audience
        await api.ok("DELETE", f"{SECRETS}/robot-token")
        assert (await api.req("POST", whoami, review, token=token))[0] == 401
        status, answer, _ = await api.req("POST", SECRETS, token_secret(account=None))
        assert status == 422 and answer["message"] == ('Secret "robot-token" is invalid: metadata.annotations'
                                                       '[kubernetes.io/service-account.name]: Required value')
    run(tmp_path, body)
