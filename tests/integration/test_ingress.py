"""Ingresses as kubectl users meet them: served at the ADDRESS `kubectl get ingress` shows,
routed by host and path as ingress-nginx routes, kept current as Ingresses and Services change,
and refused with the API server's words when written wrong."""

from __future__ import annotations

import socket
import ssl
import subprocess

import httpx
import pytest
from conftest import HERE, run, wait_until
from cryptography import x509
from kubectl_tools import Kube

from emukube import Cluster, unique_name
from emukube.lifecycle.pki import make_pki
from emukube.runtime import engine

MANIFEST = HERE / "manifests" / "ingress.yaml"


@pytest.fixture(scope="module")
def kube(engine, tmp_path_factory):
    c = Cluster.up(MANIFEST, name=unique_name("ting"), timeout=150)
    try:
        yield Kube(c.name, tmp_path_factory.mktemp("kube"))
    finally:
        c.down()


def address(kube: Kube) -> str:
    return wait_until(lambda: kube("get", "ing", "shop", "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}")
                      .stdout.strip(), "the Ingress's ADDRESS")


def get(kube: Kube, host: str, path: str) -> httpx.Response:
    return httpx.get(f"http://{address(kube)}{path}", headers={"Host": host}, timeout=5)


def pods(kube: Kube, app: str) -> set[str]:
    return {p["metadata"]["name"] for p in kube.obj("get", "pods", "-l", f"app={app}")["items"]}


def test_kubectl_shows_the_ingress_and_its_default_class(kube):
    ip = address(kube)
    rows = [line.split() for line in kube.lines("get", "ingress")]
    assert rows[0] == ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]
    assert rows[1][:5] == ["shop", "emukube", "shop.example,api.shop.example,*.stores.example", ip, "80"], rows
    classes = kube.lines("get", "ingressclass")
    assert classes[1].split()[:3] == ["emukube", "emukube.io/ingress", "<none>"], classes
    assert kube.obj("get", "ingressclass", "emukube")["metadata"]["annotations"] == {
        "ingressclass.kubernetes.io/is-default-class": "true"}
    described = kube("describe", "ingress", "shop").stdout
    assert "Scheduled for sync" in described and f"Address:          {ip}" in described, described


def test_requests_are_routed_by_host_and_path(kube):
    front, api = pods(kube, "front"), pods(kube, "api")
    # The storefront answers / (its pods name themselves there); /hostname is the API's, Exact.
    seen = {get(kube, "shop.example", "/").text for _ in range(20)}
    assert seen == front, seen
    assert get(kube, "SHOP.example:80", "/hostname").text in api  # host without port, any case
    assert get(kube, "shop.example", "/hostname/").status_code == 404  # Exact: the front's echo has no such path
    assert get(kube, "api.shop.example", "/hostname").text in api
    # A wildcard matches one DNS label; the backend sees the original host.
    answer = get(kube, "eu.stores.example", "/header?key=X-Forwarded-Host")
    assert answer.status_code == 200 and answer.text == "eu.stores.example", answer.text
    assert get(kube, "a.eu.stores.example", "/header").text == "default backend - 404"
    # No rule for this host: the default backend's 404, as ingress-nginx answers.
    missing = get(kube, "other.example", "/")
    assert (missing.status_code, missing.text) == (404, "default backend - 404")
    # A path whose Service does not exist: 503, until it does. Prefix is element-wise: /clientip/
    # takes /clientip, never /clientipx (the storefront's, whose echo server has no such path).
    assert get(kube, "shop.example", "/clientip/x").status_code == 503
    assert get(kube, "shop.example", "/clientip").status_code == 503
    assert get(kube, "shop.example", "/clientipx").text.startswith("404 page not found")


def test_emukube_explain_walks_the_rules(kube):
    result = run("explain", "ingress/shop", cluster=kube.cluster, check=False)
    assert result.returncode == 1, result.stdout  # the rule to `later`, not made yet
    lines = result.stdout.splitlines()
    assert lines[0] == "Ingress default/shop" and f"  address  {address(kube)}:80, :443" in lines
    assert 'PROBLEM: shop.example/clientip/: service "later" not found: requests get 503' in lines
    assert any(line.startswith("  rule     api.shop.example / (Prefix) -> api:web (10.") for line in lines), lines
    doctor = run("doctor", cluster=kube.cluster, check=False).stdout.splitlines()
    assert "Ingresses" in doctor and any(line.startswith("  FAIL  default/shop: shop.example/clientip/: service "
                                                         '"later" not found') for line in doctor), doctor


def test_changes_to_ingresses_and_services_are_served(kube):
    kube("create", "service", "clusterip", "later", "--tcp=80:8080")
    kube("patch", "service", "later", "-p", '{"spec":{"selector":{"app":"api"}}}')
    wait_until(lambda: get(kube, "shop.example", "/clientip").status_code == 200, "the new Service served")
    patch = ('[{"op":"add","path":"/spec/rules/-","value":{"host":"new.example","http":{"paths":[{"path":"/",'
             '"pathType":"Prefix","backend":{"service":{"name":"front","port":{"number":80}}}}]}}}]')
    kube("patch", "ingress", "shop", "--type=json", "-p", patch)
    wait_until(lambda: get(kube, "new.example", "/").text in pods(kube, "front"), "the added rule served")
    # A second Ingress of the same class joins the same controller and ADDRESS.
    kube("create", "ingress", "second", "--rule=second.example/*=api:8080")
    wait_until(lambda: get(kube, "second.example", "/hostname").text in pods(kube, "api"), "the second Ingress")
    second = kube.obj("get", "ingress", "second")
    assert second["spec"]["ingressClassName"] == "emukube"  # the DefaultIngressClass admission plugin
    assert wait_until(lambda: kube("get", "ing", "second", "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}")
                      .stdout.strip(), "its ADDRESS") == address(kube)
    # An ADDRESS promises the routes: the first request once kubectl sees it is answered by them.
    kube("create", "ingress", "third", "--rule=third.example/*=front:80")
    kube("wait", "--for=jsonpath={.status.loadBalancer.ingress[0].ip}", "ingress/third", "--timeout=60s", timeout=70)
    assert get(kube, "third.example", "/").text in pods(kube, "front")


def served_subject(ip: str, host: str) -> str:
    """The subject of the certificate port 443 gives for this SNI name."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection((ip, 443), timeout=5) as raw, context.wrap_socket(raw, server_hostname=host) as tls:
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).subject.rfc4514_string()


def curl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["curl", "-s", "--max-time", "5", *args], capture_output=True, text=True, timeout=10)


def test_tls_from_a_secret_with_the_redirect_to_https(kube, tmp_path):
    ip = address(kube)
    pki = make_pki("shop", [], ["shop.example"])
    (tmp_path / "ca.crt").write_bytes(pki.ca_cert)
    (tmp_path / "tls.crt").write_bytes(pki.server_cert)
    (tmp_path / "tls.key").write_bytes(pki.server_key)
    kube("create", "secret", "tls", "shop-tls", f"--cert={tmp_path / 'tls.crt'}", f"--key={tmp_path / 'tls.key'}")
    kube("patch", "ingress", "shop", "--type=merge", "-p",
         '{"spec":{"tls":[{"hosts":["shop.example"],"secretName":"shop-tls"}]}}')
    assert "   80, 443   " in kube.lines("get", "ingress", "shop")[1]
    resolve = f"shop.example:443:{ip}"
    wait_until(lambda: curl("--resolve", resolve, "--cacert", str(tmp_path / "ca.crt"), "https://shop.example/hostname")
               .stdout in pods(kube, "api"), "HTTPS with the Secret's certificate, verified")
    proto = curl("--resolve", resolve, "--cacert", str(tmp_path / "ca.crt"), "https://shop.example/header?key=X-Forwarded-Proto")
    assert proto.stdout == "https", proto
    # Plain HTTP to a host with a certificate is sent to HTTPS, as ingress-nginx's ssl-redirect does.
    redirect = get(kube, "shop.example", "/hostname?x=1")
    assert redirect.status_code == 308 and redirect.headers["location"] == "https://shop.example/hostname?x=1"
    # Other hosts: still plain HTTP, and the fake certificate on 443.
    assert get(kube, "api.shop.example", "/hostname").status_code == 200
    assert "CN=Kubernetes Ingress Controller Fake Certificate" in served_subject(ip, "api.shop.example")
    assert served_subject(ip, "shop.example") == "CN=kube-apiserver"  # make_pki's serving name


NGINX_ANNOTATED = """
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: rewrite
  annotations: {nginx.ingress.kubernetes.io/rewrite-target: /$2}
spec:
  rules:
  - host: rw.example
    http:
      paths:
      - {path: /api(/|$)(.*), pathType: ImplementationSpecific, backend: {service: {name: api, port: {number: 8080}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: rooted
  annotations: {nginx.ingress.kubernetes.io/app-root: /hostname, nginx.ingress.kubernetes.io/force-ssl-redirect: "true"}
spec:
  rules:
  - host: root.example
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: api, port: {number: 8080}}}}
"""


def test_ingress_nginx_s_rewrite_target_app_root_and_force_ssl_redirect(kube):
    applied = kube("apply", "-f", "-", input=NGINX_ANNOTATED)
    assert "Warning" not in applied.stderr, applied.stderr
    api = pods(kube, "api")
    # The path is a case-insensitive regular expression; the backend gets /$2 of it.
    wait_until(lambda: get(kube, "rw.example", "/api/hostname").text in api, "the rewritten path served")
    assert get(kube, "rw.example", "/API/hostname").text in api
    assert get(kube, "rw.example", "/api/header?key=X-Forwarded-Host").text == "rw.example"
    assert get(kube, "rw.example", "/other").status_code == 404  # the host's rules answer alone
    # force-ssl-redirect sends plain HTTP to HTTPS even without a certificate; app-root sends / on.
    wait_until(lambda: get(kube, "root.example", "/x").status_code == 308, "the forced redirect")
    assert get(kube, "root.example", "/x").headers["location"] == "https://root.example/x"
    ip = address(kube)
    root = curl("-k", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "--resolve", f"root.example:443:{ip}",
                "https://root.example/")
    assert root.stdout == "302 https://root.example/hostname", root
    kube("delete", "ingress", "rewrite", "rooted")


def test_a_wrong_ingress_is_refused_in_the_api_servers_words(kube, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: bad}\nspec:\n  rules:\n"
                   "    - http:\n        paths:\n          - path: api\n            backend: {service: {name: api, "
                   "port: {number: 8080}}}\n")
    result = kube("apply", "-f", str(bad), check=False)
    assert result.returncode == 1
    assert ('The Ingress "bad" is invalid: spec.rules[0].http.paths[0].pathType: Required value: pathType must be '
            "specified") in result.stderr, result.stderr


def test_the_controller_goes_with_the_last_ingress(kube):
    ip = address(kube)
    kube("delete", "ingress", "--all")
    client = engine.connect()
    wait_until(lambda: not [c for c in engine.containers(client, kube.cluster) if c.name.endswith("_ingress")],
               "the Ingress controller's container removed")
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://{ip}/", timeout=2)
