"""`kubectl create token`: the serviceaccounts/token subresource through the real API server app,
and the tokens it gives, accepted, expired or meant for another audience."""

from __future__ import annotations

import time
from unittest import mock

from test_apiserver_harness import TOKEN, pod, run

SA = "/api/v1/namespaces/default/serviceaccounts"


def request(**spec) -> dict:
    return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}


def test_a_token_of_the_account_its_rbac_judges(tmp_path):
    async def body(api):
        await api.ok("POST", SA, {"metadata": {"name": "robot"}})
        answer = await api.ok("POST", f"{SA}/robot/token", request())
        assert answer["kind"] == "TokenRequest" and answer["spec"]["expirationSeconds"] == 3600
        assert answer["spec"]["audiences"] == ["https://kubernetes.default.svc.cluster.local"]
        token = answer["status"]["token"]
        status, review, _ = await api.req("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                                          {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
                                          token=token)
        assert status == 201, review
        assert review["status"]["userInfo"]["username"] == "system:serviceaccount:default:robot"
        status, _, _ = await api.req("GET", "/api/v1/namespaces/default/pods", token=token)
        assert status == 403  # authenticated; RBAC gives a new account nothing
        other = (await api.ok("POST", f"{SA}/robot/token", request(audiences=["vault"])))["status"]["token"]
        assert (await api.req("GET", "/api/v1/namespaces/default/pods", token=other))[0] == 401
        short = (await api.ok("POST", f"{SA}/robot/token", request(expirationSeconds=600)))["status"]["token"]
        with mock.patch("time.time", return_value=time.time() + 601):
            assert (await api.req("GET", "/api/v1/namespaces/default/pods", token=short))[0] == 401
    run(tmp_path, body)


def test_refusals_are_the_api_servers(tmp_path):
    async def body(api):
        await api.ok("POST", SA, {"metadata": {"name": "robot"}})
        status, answer, _ = await api.req("POST", f"{SA}/robot/token", request(expirationSeconds=60))
        assert status == 422 and answer["message"] == (
            'TokenRequest.authentication.k8s.io "robot" is invalid: spec.expirationSeconds: Invalid value: 60: '
            "may not specify a duration less than 10 minutes")
        status, answer, _ = await api.req("POST", f"{SA}/nobody/token", request())
        assert status == 404 and answer["message"] == 'serviceaccounts "nobody" not found'
        status, answer, _ = await api.req("POST", f"{SA}/robot/token",
                                          request(boundObjectRef={"kind": "Pod", "apiVersion": "v1", "name": "p"}))
        assert status == 404 and answer["message"] == 'pods "p" not found'
        resources = await api.ok("GET", "/api/v1")
        assert "serviceaccounts/token" in [r["name"] for r in resources["resources"]]
    run(tmp_path, body)


REVIEWS = "/apis/authentication.k8s.io/v1/tokenreviews"


def review(token: str, *audiences: str) -> dict:
    spec = {"token": token, **({"audiences": list(audiences)} if audiences else {})}
    return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": spec}


def test_a_token_bound_to_a_pod_names_it_and_its_node_and_ends_with_it(tmp_path):
    """`kubectl create token robot --bound-object-kind Pod --bound-object-name p`, as TokenReview
    and `kubectl auth whoami` then see it (pkg/serviceaccount/claims.go's validator)."""
    extra = "authentication.kubernetes.io/"

    async def body(api):
        await api.ok("POST", SA, {"metadata": {"name": "robot"}})
        node = await api.ok("POST", "/api/v1/nodes", {"metadata": {"name": "node-1"}})
        made = await api.ok("POST", "/api/v1/namespaces/default/pods",
                            pod("p", serviceAccountName="robot", nodeName="node-1"))
        ref = {"kind": "Pod", "apiVersion": "v1", "name": "p"}
        token = (await api.ok("POST", f"{SA}/robot/token", request(boundObjectRef=ref)))["status"]["token"]
        user = (await api.ok("POST", REVIEWS, review(token)))["status"]["user"]
        assert user["username"] == "system:serviceaccount:default:robot"
        assert {k: v for k, v in user["extra"].items() if k != extra + "credential-id"} == {
            extra + "pod-name": ["p"], extra + "pod-uid": [made["metadata"]["uid"]],
            extra + "node-name": ["node-1"], extra + "node-uid": [node["metadata"]["uid"]]}
        assert user["extra"][extra + "credential-id"][0].startswith("JTI=")
        await api.ok("DELETE", "/api/v1/namespaces/default/pods/p?gracePeriodSeconds=0")
        assert (await api.ok("POST", REVIEWS, review(token)))["status"].get("authenticated") is None
        assert (await api.req("GET", "/api/v1/namespaces/default/pods", token=token))[0] == 401
        # A pod of another account, and a uid that is no longer the object's, are refused.
        await api.ok("POST", "/api/v1/namespaces/default/pods", pod("q"))
        status, answer, _ = await api.req("POST", f"{SA}/robot/token", request(boundObjectRef={**ref, "name": "q"}))
        assert status == 400 and answer["message"] == \
            'cannot bind token for serviceaccount "robot" to pod running with different serviceaccount name.'
        status, answer, _ = await api.req("POST", f"{SA}/robot/token",
                                          request(boundObjectRef={"kind": "Node", "name": "node-1", "uid": "old"}))
        assert status == 409 and answer["message"] == (
            'Operation cannot be fulfilled on Node "node-1": the UID in the bound object reference (old) does not '
            "match the UID in record. The object might have been deleted and then recreated")
    run(tmp_path, body)


def test_a_review_asks_for_its_own_audiences_as_vault_does(tmp_path):
    async def body(api):
        await api.ok("POST", SA, {"metadata": {"name": "robot"}})
        vaults = (await api.ok("POST", f"{SA}/robot/token", request(audiences=["vault"])))["status"]["token"]
        status = (await api.ok("POST", REVIEWS, review(vaults, "vault", "other")))["status"]
        assert status["authenticated"] is True and status["audiences"] == ["vault"]
        assert (await api.ok("POST", REVIEWS, review(vaults)))["status"].get("authenticated") is None
        # the admin token knows only the API server's audience
        assert (await api.ok("POST", REVIEWS, review(TOKEN, "vault")))["status"].get("authenticated") is None
        assert (await api.ok("POST", REVIEWS, review(TOKEN)))["status"]["audiences"] == [
            "https://kubernetes.default.svc.cluster.local"]
    run(tmp_path, body)
