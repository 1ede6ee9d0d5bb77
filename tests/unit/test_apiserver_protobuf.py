"""Protobuf request bodies (kubectl create's typed clients) and fieldValidation on unknown fields."""

from __future__ import annotations

from protobuf_wire import envelope  # noqa: F401
from protobuf_wire import field_bytes as _len
from protobuf_wire import field_int as _int
from test_apiserver_harness import run

from emukube.apiserver import protobuf

CMS = "/api/v1/namespaces/default/configmaps"
DEPLOYS = "/apis/apps/v1/namespaces/default/deployments"


def configmap_body(name: str) -> bytes:
    meta = _len(1, name.encode()) + _len(2, b"") + _len(3, b"") + _len(11, _len(1, b"app") + _len(2, b"web"))
    meta += _len(8, _int(1, 0) + _int(2, 0))  # a zero creationTimestamp, as Go sends it
    data = _len(2, _len(1, b"k") + _len(2, b"v"))
    return envelope("v1", "ConfigMap", _len(1, meta) + data)


def test_decode_configmap_drops_go_zero_values():
    obj = protobuf.decode(configmap_body("pb"))
    assert obj == {"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "pb", "labels": {"app": "web"}}, "data": {"k": "v"}}


def test_decode_deployment_keeps_zero_replicas_and_int_or_string():
    surge = _int(1, 1) + _int(2, 0) + _len(3, b"25%")  # IntOrString, string form
    strategy = _len(1, b"RollingUpdate") + _len(2, _len(2, surge))
    spec = _int(1, 0) + _len(4, strategy)
    body = envelope("apps/v1", "Deployment", _len(1, _len(1, b"d")) + _len(2, spec))
    obj = protobuf.decode(body)
    assert obj["spec"]["replicas"] == 0
    assert obj["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%"}}


def test_protobuf_create_over_http(tmp_path):
    async def body(api):
        status, made, _ = await api.req("POST", CMS, raw=configmap_body("pb"),
                                        ct="application/vnd.kubernetes.protobuf")
        assert status == 201 and made["data"] == {"k": "v"}
        status, payload, _ = await api.req("POST", CMS, raw=b"k8s\x00\xff\xff", ct="application/vnd.kubernetes.protobuf")
        assert status == 400
    run(tmp_path, body)


def test_field_validation_strict_and_warn(tmp_path):
    async def body(api):
        d = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
             "spec": {"selecter": {}, "replicas": 1, "selector": {"matchLabels": {"a": "b"}},
                      "template": {"metadata": {"labels": {"a": "b"}},
                                   "spec": {"containers": [{"name": "c", "image": "x", "imagePolicy": "y"}]}}}}
        status, payload, _ = await api.req("POST", DEPLOYS + "?fieldValidation=Strict", d)
        assert status == 400 and payload["message"].startswith("strict decoding error: unknown field ")
        assert 'unknown field "spec.selecter"' in payload["message"]
        assert 'unknown field "spec.template.spec.containers[0].imagePolicy"' in payload["message"]
        status, _, resp = await api.req("POST", DEPLOYS + "?fieldValidation=Warn", d)
        assert status == 201
        assert '299 - "unknown field \\"spec.selecter\\""' in resp.headers.getall("Warning")
        status, _, resp = await api.req("POST", CMS + "?fieldValidation=Ignore",
                                        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"},
                                         "bogus": 1})
        assert status == 201 and "Warning" not in resp.headers
    run(tmp_path, body)
