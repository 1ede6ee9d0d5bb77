"""`kubectl create token`: the serviceaccounts/token subresource through the real API server app,
and the tokens it gives, accepted, expired or meant for another audience."""

from __future__ import annotations

import time
from unittest import mock

from test_apiserver_harness import run

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
