"""API aggregation with the real kubectl: every served group has a Local APIService; an APIService
naming a Service delegates its group to an aggregated API server in a pod (tests/integration/
aggregated/server.py), which kube-apiserver's front proxy reaches with its client certificate and
the requester's identity in X-Remote-User / X-Remote-Group; its availability is checked and
shown in the aggregator's words, and an unavailable one answers 503."""

from __future__ import annotations

import base64
import json

import pytest
from conftest import HERE, wait_until
from kubectl_tools import Kube

from emukube import Cluster, unique_name
from emukube.lifecycle.pki import make_pki

MANIFEST = HERE / "manifests" / "aggregation.yaml"
SERVER = HERE / "aggregated"
NAME = "v1alpha1.wardle.example.com"


def apiservice(ca: bytes, **spec) -> str:
    return json.dumps({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "metadata": {"name": NAME},
                       "spec": {"group": "wardle.example.com", "version": "v1alpha1", "groupPriorityMinimum": 1000,
                                "versionPriority": 15, "caBundle": base64.b64encode(ca).decode(),
                                "service": {"namespace": "wardle", "name": "api"}, **spec}})


def available(kube: Kube) -> str:
    return kube.lines("get", "apiservice", NAME)[1].split(None, 2)[2].rsplit(None, 1)[0]


@pytest.fixture(scope="module")
def kube(engine, tmp_path_factory):
    c = Cluster.up(MANIFEST, name=unique_name("tagg"), timeout=150)
    work = tmp_path_factory.mktemp("aggregation")
    try:
        k = Kube(c.name, work)
        pki = make_pki("wardle", [], ["api.wardle.svc"])
        (work / "tls.crt").write_bytes(pki.server_cert)
        (work / "tls.key").write_bytes(pki.server_key)
        k("apply", "-f", "-", input=apiservice(pki.ca_cert))
        yield k, pki, work
    finally:
        c.down()


def test_every_served_group_has_a_local_apiservice(kube):
    k, _, _ = kube
    wait_until(lambda: "v1.apps" in k("get", "apiservices").stdout, "the Local APIServices", timeout=20)
    rows = {line.split()[0]: line.split()[1:3] for line in k.lines("get", "apiservices")[1:]}
    for name in ("v1.", "v1.apps", "v1.batch", "v1.rbac.authorization.k8s.io", "v1beta1.metrics.k8s.io"):
        assert rows[name] == ["Local", "True"], (name, rows)
    spec = k.obj("get", "apiservice", "v1.apps")["spec"]
    assert (spec["group"], spec["groupPriorityMinimum"], spec["versionPriority"]) == ("apps", 17800, 15)


def test_an_apiservice_without_its_service_is_unavailable(kube):
    k, _, _ = kube
    wait_until(lambda: available(k) == "False (ServiceNotFound)", "ServiceNotFound", timeout=20)
    condition = k.obj("get", "apiservice", NAME)["status"]["conditions"][0]
    assert condition["message"] == 'service/api in "wardle" is not present'
    done = k("get", "flunders.wardle.example.com", check=False)
    assert done.returncode == 1
    assert "the server is currently unable to handle the request" in done.stderr, done.stderr


def test_the_aggregated_server_answers_for_its_group(kube):
    k, _, work = kube
    wait_until(lambda: "requestheader-client-ca-file" in k(
        "get", "configmap", "-n", "kube-system", "extension-apiserver-authentication", "-o", "json").stdout,
        "the front-proxy CA published", timeout=20)
    data = k.obj("get", "configmap", "-n", "kube-system", "extension-apiserver-authentication")["data"]
    assert json.loads(data["requestheader-allowed-names"]) == ["front-proxy-client"]
    assert json.loads(data["requestheader-username-headers"]) == ["X-Remote-User"]
    (work / "ca.crt").write_text(data["requestheader-client-ca-file"])
    k("create", "configmap", "front-proxy-ca", "-n", "wardle", f"--from-file={work / 'ca.crt'}")
    k("create", "secret", "tls", "wardle-tls", "-n", "wardle", f"--cert={work / 'tls.crt'}",
      f"--key={work / 'tls.key'}")
    k("create", "configmap", "wardle-program", "-n", "wardle", f"--from-file={SERVER / 'server.py'}")
    k("apply", "-f", str(SERVER / "deploy.yaml"))
    k("rollout", "status", "-n", "wardle", "deploy/api", "--timeout=90s", timeout=120)
    wait_until(lambda: available(k) == "True", "the APIService available", timeout=30)
    assert k.lines("get", "apiservice", NAME)[1].split()[1] == "wardle/api"
    condition = k.obj("get", "apiservice", NAME)["status"]["conditions"][0]
    assert (condition["reason"], condition["message"]) == ("Passed", "all checks passed")
    listed = k.obj("get", "flunders", "-n", "default")["items"]
    assert [f["metadata"]["name"] for f in listed] == ["hello"]
    annotations = listed[0]["metadata"]["annotations"]
    assert annotations["wardle.example.com/asked-by"] == "kubernetes-admin"
    assert set(annotations["wardle.example.com/groups"].split(",")) >= {"system:masters", "system:authenticated"}
    assert "flunders" in k("api-resources", "--api-group=wardle.example.com").stdout
    assert k("get", "fl", "hello", "-o", "jsonpath={.spec.reference}").stdout == "emukube"


def test_a_watch_streams_through(kube):
    k, _, _ = kube
    raw = k("get", "--raw", "/apis/wardle.example.com/v1alpha1/namespaces/default/flunders?watch=1").stdout
    assert [json.loads(line)["type"] for line in raw.splitlines()] == ["ADDED"]


def test_the_api_server_authorizes_before_it_delegates(kube):
    k, _, _ = kube
    done = k("get", "flunders", "-n", "default", "--as=jane", check=False)
    assert 'User "jane" cannot list resource "flunders" in API group "wardle.example.com" in the namespace ' \
           '"default"' in done.stderr, done.stderr
    k("create", "clusterrole", "flunder-reader", "--verb=get,list", "--resource=flunders.wardle.example.com")
    k("create", "clusterrolebinding", "jane-reads", "--clusterrole=flunder-reader", "--user=jane")
    wait_until(lambda: k("get", "flunders", "-n", "default", "--as=jane", "--as-group=devs", check=False)
               .returncode == 0, "jane allowed", timeout=20)
    got = k.obj("get", "flunder", "hello", "-n", "default", "--as=jane", "--as-group=devs")
    assert got["metadata"]["annotations"]["wardle.example.com/asked-by"] == "jane"
    assert "devs" in got["metadata"]["annotations"]["wardle.example.com/groups"].split(",")


def test_no_endpoints_makes_it_unavailable_and_deleting_it_removes_the_group(kube):
    k, _, _ = kube
    k("scale", "deploy/api", "-n", "wardle", "--replicas=0")
    wait_until(lambda: available(k) == "False (MissingEndpoints)", "MissingEndpoints", timeout=30)
    done = k("get", "flunders", "-n", "default", check=False)
    assert "Error from server (ServiceUnavailable): the server is currently unable to handle the request" \
        in done.stderr, done.stderr
    k("delete", "apiservice", NAME)
    wait_until(lambda: "wardle.example.com" not in k("api-versions").stdout, "the group gone", timeout=20)


def test_an_apiservice_is_validated(kube):
    k, pki, _ = kube
    bad = json.loads(apiservice(pki.ca_cert, versionPriority=0, insecureSkipTLSVerify=True))
    bad["metadata"]["name"] = "wrong.example.com"
    done = k("apply", "-f", "-", input=json.dumps(bad), check=False)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        'The APIService "wrong.example.com" is invalid: \n'
        '* metadata.name: Invalid value: "wrong.example.com": must be `spec.version+"."+spec.group`: '
        '"v1alpha1.wardle.example.com"\n'
        "* spec.versionPriority: Invalid value: 0: must be positive and less than 1000\n"
        "* spec.insecureSkipTLSVerify: Invalid value: true: may not be true if caBundle is present"), done.stderr
