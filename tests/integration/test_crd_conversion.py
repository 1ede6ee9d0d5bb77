"""A CRD with two versions converted by a webhook (`spec.conversion.strategy: Webhook`), as an
operator ships one: the webhook server in a pod behind a Service, the CRD naming it with its CA.
Every version is served from what the store holds, converted by the webhook in one review per
request (get, list, watch, create, patch, the status subresource, kubectl and the Python client);
failures come back in kube-apiserver's words."""

from __future__ import annotations

import base64
import json

import pytest
from conftest import HERE, wait_until
from hook_server import HOOK, start_hook
from kubectl_tools import Kube
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from emukube import Cluster, unique_name

MANIFEST = HERE / "manifests" / "conversion.yaml"
V1 = "hostports.v1.conversion.emukube.test"
V2 = "hostports.v2.conversion.emukube.test"


def hostport(name: str, version: str, spec: dict) -> str:
    return json.dumps({"apiVersion": f"conversion.emukube.test/{version}", "kind": "HostPort",
                       "metadata": {"name": name, "namespace": "default"}, "spec": spec})


@pytest.fixture(scope="module")
def kube(engine, tmp_path_factory):
    c = Cluster.up(MANIFEST, name=unique_name("tconv"), timeout=150)
    work = tmp_path_factory.mktemp("conversion")
    try:
        k = Kube(c.name, work)
        ca = start_hook(k, work, ["hook.webhooks.svc"])
        crd = (HOOK / "conversion-crd.yaml").read_text().replace("CA_BUNDLE", base64.b64encode(ca).decode())
        k("apply", "-f", "-", input=crd)
        k("wait", "--for=condition=Established", "crd/hostports.conversion.emukube.test", "--timeout=30s")
        k("apply", "-f", "-", input=hostport("first", "v1", {"hostPort": "localhost:7070"}))
        # The Service's proxy takes up the webhook's endpoints a moment after `rollout status`.
        wait_until(lambda: k("get", V2, "first", check=False).returncode == 0, "the conversion webhook answering",
                   timeout=30)
        yield k
    finally:
        c.down()


def reviews(kube: Kube) -> list[dict]:
    out = kube("logs", "-n", "webhooks", "deploy/hook").stdout
    return [r for r in (json.loads(line) for line in out.splitlines() if line.startswith("{"))
            if r["path"].startswith("/convert")]


def test_an_object_stored_in_v1_is_read_in_v2(kube):
    obj = kube.obj("get", V2, "first")
    assert obj["apiVersion"] == "conversion.emukube.test/v2"
    assert obj["spec"] == {"host": "localhost", "port": "7070"}
    # metadata is the stored object's: the webhook may only change labels and annotations
    assert obj["metadata"]["name"] == "first" and obj["metadata"]["uid"] == kube.obj("get", V1, "first")[
        "metadata"]["uid"]
    assert kube.obj("get", V1, "first")["spec"] == {"hostPort": "localhost:7070"}
    last = reviews(kube)[-1]
    assert last["path"] == "/convert?timeout=30s" and last["desired"] == "conversion.emukube.test/v2", last


def test_an_object_written_in_v2_is_stored_in_v1(kube):
    kube("apply", "-f", "-", input=hostport("second", "v2", {"host": "db", "port": "5432"}))
    assert kube.obj("get", V1, "second")["spec"] == {"hostPort": "db:5432"}
    assert kube.obj("get", V2, "second")["spec"] == {"host": "db", "port": "5432"}
    sent = [r for r in reviews(kube) if r["desired"] == "conversion.emukube.test/v1"]
    assert sent and sent[0]["from"] == ["conversion.emukube.test/v2"], sent
    # kubectl apply again, changed: the patch is made on the v2 view and stored as v1
    kube("apply", "-f", "-", input=hostport("second", "v2", {"host": "db", "port": "6543"}))
    assert kube.obj("get", V1, "second")["spec"] == {"hostPort": "db:6543"}


def test_kubectl_replace_and_delete_in_v2(kube):
    kube("apply", "-f", "-", input=hostport("fifth", "v2", {"host": "a", "port": "1"}))
    obj = kube.obj("get", V2, "fifth")
    obj["spec"]["port"] = "2"
    kube("replace", "-f", "-", input=json.dumps(obj))
    assert kube.obj("get", V1, "fifth")["spec"] == {"hostPort": "a:2"}
    obj["spec"]["port"] = "3"  # the resourceVersion read before the replace: stale
    stale = kube("replace", "-f", "-", input=json.dumps(obj), check=False)
    assert "the object has been modified; please apply your changes to the latest version" in stale.stderr
    assert kube("delete", V2, "fifth").stdout.strip() == 'hostport.conversion.emukube.test "fifth" deleted from default namespace'


def test_a_list_is_converted_in_one_review(kube):
    kube("apply", "-f", "-", input=hostport("third", "v1", {"hostPort": "cache:6379"}))
    before = len(reviews(kube))
    items = kube.obj("get", V2)["items"]
    assert {i["metadata"]["name"]: i["spec"] for i in items} == {
        "first": {"host": "localhost", "port": "7070"}, "second": {"host": "db", "port": "6543"},
        "third": {"host": "cache", "port": "6379"}}
    assert {i["apiVersion"] for i in items} == {"conversion.emukube.test/v2"}
    new = reviews(kube)[before:]
    assert len(new) == 1 and len(new[0]["from"]) == 3, new
    # kubectl's table reads the same list
    assert [line.split()[0] for line in kube.lines("get", V2)] == ["NAME", "first", "second", "third"]


def test_the_python_client_lists_and_watches_in_v2(kube):
    api = k8s.CustomObjectsApi(k8s_config.new_client_from_config(str(kube.config)))
    listed = api.list_namespaced_custom_object("conversion.emukube.test", "v2", "default", "hostports")
    assert {i["metadata"]["name"]: i["spec"].get("host") for i in listed["items"]} == {
        "first": "localhost", "second": "db", "third": "cache"}
    # a bounded watch: the objects there at its start, each converted
    raw = kube("get", "--raw", "/apis/conversion.emukube.test/v2/namespaces/default/hostports?watch=1"
               "&timeoutSeconds=1").stdout
    events = [json.loads(line) for line in raw.splitlines()]
    assert [(e["type"], e["object"]["spec"].get("host")) for e in events] == [
        ("ADDED", "localhost"), ("ADDED", "db"), ("ADDED", "cache")], events


def test_the_status_subresource_written_in_v2(kube):
    kube("patch", V2, "first", "--subresource=status", "--type=merge", "-p", '{"status": {"ready": true}}')
    assert kube.obj("get", V1, "first")["status"] == {"ready": True}
    assert kube.obj("get", V2, "first")["spec"] == {"host": "localhost", "port": "7070"}


def test_the_storage_version_moves_to_v2(kube):
    patch = [{"op": "replace", "path": "/spec/versions/0/storage", "value": False},
             {"op": "replace", "path": "/spec/versions/1/storage", "value": True}]
    kube("patch", "crd", "hostports.conversion.emukube.test", "--type=json", "-p", json.dumps(patch))
    kube("apply", "-f", "-", input=hostport("fourth", "v1", {"hostPort": "queue:5672"}))
    crd = kube.obj("get", "crd", "hostports.conversion.emukube.test")
    assert crd["status"]["storedVersions"] == ["v1", "v2"]
    before = len(reviews(kube))
    items = kube.obj("get", V1)["items"]
    assert {i["metadata"]["name"]: i["spec"]["hostPort"] for i in items} == {
        "first": "localhost:7070", "second": "db:6543", "third": "cache:6379", "fourth": "queue:5672"}
    # only the object stored in v2 went to the webhook
    assert [r["from"] for r in reviews(kube)[before:]] == [["conversion.emukube.test/v2"]]


def test_a_failed_conversion_is_the_webhooks_message(kube):
    # stored in v2 now: a v1 object the webhook cannot convert is refused, and nothing is stored
    done = kube("apply", "-f", "-", input=hostport("nocolon", "v1", {"hostPort": "nocolon"}), check=False)
    assert done.returncode == 1
    assert done.stderr.strip().endswith(
        "conversion webhook for conversion.emukube.test/v1, Kind=HostPort failed: invalid hostPort value "
        "'nocolon'"), done.stderr
    assert kube("get", V2, "nocolon", check=False).returncode == 1


def test_a_missing_webhook_service_is_the_api_servers_message(kube):
    patch = [{"op": "replace", "path": "/spec/conversion/webhook/clientConfig/service/name", "value": "missing"}]
    kube("patch", "crd", "hostports.conversion.emukube.test", "--type=json", "-p", json.dumps(patch))
    try:
        done = kube("get", V2, "first", check=False)  # stored in v1
        assert done.returncode == 1
        assert done.stderr.strip() == (
            'Error from server: conversion webhook for conversion.emukube.test/v1, Kind=HostPort failed: Post '
            '"https://missing.webhooks.svc:443/convert?timeout=30s": service "missing" not found'), done.stderr
    finally:
        patch[0]["value"] = "hook"
        kube("patch", "crd", "hostports.conversion.emukube.test", "--type=json", "-p", json.dumps(patch))


def test_a_webhook_strategy_needs_its_webhook(kube):
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "things.conversion.emukube.test"},
           "spec": {"group": "conversion.emukube.test", "scope": "Namespaced",
                    "names": {"plural": "things", "kind": "Thing"}, "conversion": {"strategy": "Webhook"},
                    "versions": [{"name": "v1", "served": True, "storage": True,
                                  "schema": {"openAPIV3Schema": {"type": "object"}}}]}}
    done = kube("apply", "-f", "-", input=json.dumps(crd), check=False)
    assert done.returncode == 1
    assert 'The CustomResourceDefinition "things.conversion.emukube.test" is invalid: \n' \
           "* spec.conversion.webhookClientConfig: Required value: required when strategy is set to Webhook\n" \
           "* spec.conversion.conversionReviewVersions: Required value" in done.stderr, done.stderr
