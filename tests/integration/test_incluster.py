"""Pods reach the cluster's API as on Kubernetes: the `kubernetes` Service, its variables in every
pod, a service-account token volume, and client-go's in-cluster configuration (the real kubectl,
run inside a pod with no kubeconfig) working unchanged."""

from __future__ import annotations

import base64
import ipaddress
import json
import re

import pytest
from conftest import HERE, wait_until
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from kubectl_tools import Kube, start_kubectl_pod

MANIFEST = HERE / "manifests" / "incluster.yaml"
TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


# RBAC is enforced for ServiceAccount tokens: shop's pods may read shop and default (test_rbac.py).
READERS = """
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: pods-read, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: ServiceAccount, name: default, namespace: shop}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: shop-reads, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: ServiceAccount, name: default, namespace: shop}]
"""


@pytest.fixture(scope="module")
def kube(cluster, tmp_path_factory) -> Kube:
    k = Kube(cluster.name, tmp_path_factory.mktemp("kube"))
    k("apply", "-f", "-", input=READERS)
    return k


def in_pod(kube: Kube, pod: str, script: str, check: bool = True):
    return kube("exec", "-n", "shop", pod, "--", "sh", "-c", script, check=check, timeout=60)


def web_pod(kube: Kube) -> str:
    return kube.lines("get", "pods", "-n", "shop", "-l", "app=web", "-o", "name")[0].split("/", 1)[1]


def test_the_kubernetes_service_names_the_api_server(kube):
    svc = kube.obj("get", "svc", "kubernetes", "-n", "default")
    ip = svc["spec"]["clusterIP"]
    assert svc["metadata"]["labels"] == {"component": "apiserver", "provider": "kubernetes"}
    assert [(p["name"], p["port"], p["targetPort"]) for p in svc["spec"]["ports"]] == [("https", 443, 6443)]
    # The API server's own address (the controller's, 10.N.0.2), where it serves 443 too.
    assert ipaddress.ip_address(ip).packed[2:] == bytes([0, 2]), ip
    endpoints = kube.obj("get", "endpoints", "kubernetes", "-n", "default")
    (subset,) = endpoints["subsets"]
    assert [a["ip"] for a in subset["addresses"]] == [ip]
    assert subset["ports"] == [{"name": "https", "port": 6443, "protocol": "TCP"}]
    accounts = kube.lines("get", "serviceaccounts", "-A", "-o", "custom-columns=NS:.metadata.namespace,NAME:.metadata.name",
                          "--no-headers")
    for ns in ("default", "kube-system", "shop"):
        assert any(line.split() == [ns, "default"] for line in accounts), accounts


def test_kube_dns_names_the_pods_nameserver(kube):
    """kube-system/kube-dns, where scripts look up a cluster's DNS address: the nameserver of
    every pod, resolvable by name, and named by `kubectl cluster-info` as on kind."""
    svc = kube.obj("get", "svc", "kube-dns", "-n", "kube-system")
    ip = svc["spec"]["clusterIP"]
    assert svc["metadata"]["labels"]["k8s-app"] == "kube-dns"
    assert [(p["name"], p["port"], p["protocol"]) for p in svc["spec"]["ports"]] == [("dns", 53, "UDP"),
                                                                                     ("dns-tcp", 53, "TCP")]
    (subset,) = kube.obj("get", "endpoints", "kube-dns", "-n", "kube-system")["subsets"]
    assert [a["ip"] for a in subset["addresses"]] == [ip]
    pod = web_pod(kube)
    assert f"nameserver {ip}\n" in in_pod(kube, pod, "cat /etc/resolv.conf").stdout
    assert in_pod(kube, pod, "getent hosts kube-dns.kube-system.svc.cluster.local").stdout.split()[0] == ip
    assert re.search(r"CoreDNS is running at https://127\.0\.0\.1:\d+/api/v1/namespaces/kube-system/services/"
                     r"kube-dns:dns/proxy", kube("cluster-info").stdout)


def test_emukube_explain_says_what_serves_the_system_services(cluster, kube):
    """kube-dns and kubernetes have no proxy: explain names what holds their addresses, and how
    that differs from Kubernetes, instead of a walk through a proxy that is not there."""
    dns = cluster.emukube("explain", "-n", "kube-system", "svc/kube-dns")
    lines = dns.stdout.splitlines()
    assert lines[0] == "Service kube-system/kube-dns", lines
    ip = kube("get", "svc", "kube-dns", "-n", "kube-system", "-o", "jsonpath={.spec.clusterIP}").stdout
    assert lines[1] == f"  Service    kube-dns {ip}, ports dns 53/UDP, dns-tcp 53/TCP (no selector)"
    assert lines[2] == f"  served by  CoreDNS's own container at {ip} (no proxy)"
    pod = kube.lines("get", "pods", "-n", "kube-system", "-l", "k8s-app=kube-dns", "-o", "name")[0].split("/")[1]
    assert f"  pod        kube-system/{pod} {ip} Ready" in lines
    assert f"OK: client -> kube-dns:53 ({ip}) -> CoreDNS" in lines and "Where the emulation differs here:" in lines
    api = cluster.emukube("explain", "kubernetes").stdout.splitlines()
    assert api[0] == "Service default/kubernetes" and api[-1].startswith("  - the API server is emukube's own container")


def coredns_pods(kube: Kube) -> list[list[str]]:
    """`kubectl get pods -n kube-system -l k8s-app=kube-dns -o wide`'s rows of running pods."""
    return [r.split() for r in kube.lines("get", "pods", "-n", "kube-system", "-l", "k8s-app=kube-dns",
                                          "-o", "wide", "--no-headers") if " Running " in r]


def test_coredns_is_a_deployment_in_kube_system_as_kind_and_the_dns_guide_expect(kube):
    """Kubernetes' "Debugging DNS Resolution" steps (the DNS pod found by its label, at kube-dns's
    address, its logs CoreDNS's) and kind users' scripts: `rollout status deployment/coredns`,
    and `rollout restart` after editing the Corefile, which replaces CoreDNS under a new pod of
    a new ReplicaSet. A deleted pod is replaced too; what cannot be carried out is refused."""
    ip = kube("get", "svc", "kube-dns", "-n", "kube-system", "-o", "jsonpath={.spec.clusterIP}").stdout
    assert "successfully rolled out" in kube("-n", "kube-system", "rollout", "status", "deployment/coredns",
                                             "--timeout=60s").stdout
    (row,) = wait_until(lambda: coredns_pods(kube), "the CoreDNS pod running")
    name = row[0]
    assert re.fullmatch(r"coredns-[a-z0-9]{10}-[a-z0-9]{5}", name) and row[1:2] + row[5:7] == ["1/1", ip, "node-1"]
    pod = kube.obj("get", "pod", name, "-n", "kube-system")
    (owner,) = pod["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"]) == ("ReplicaSet", name.rsplit("-", 1)[0])
    rs = kube.obj("get", "rs", owner["name"], "-n", "kube-system")
    assert rs["metadata"]["ownerReferences"][0]["name"] == "coredns" and owner["uid"] == rs["metadata"]["uid"]
    logs = kube("logs", "-n", "kube-system", "-l", "k8s-app=kube-dns", "--tail=-1").stdout
    # its banner: the server blocks of kubeadm's Corefile (one, .:53), then its version
    assert "\n.:53\nCoreDNS-" in logs, logs[-500:]

    kube("-n", "kube-system", "rollout", "restart", "deployment/coredns")
    kube("-n", "kube-system", "rollout", "status", "deployment/coredns", "--timeout=60s")
    (restarted,) = wait_until(lambda: [r for r in coredns_pods(kube) if r[0] != name], "a new CoreDNS pod")
    assert restarted[0].rsplit("-", 1)[0] != owner["name"] and restarted[5] == ip
    history = [line.split() for line in kube.lines("-n", "kube-system", "rollout", "history", "deployment/coredns")]
    assert [line for line in history if line][-2:] == [["1", "<none>"], ["2", "<none>"]], history
    target = "jsonpath={.endpoints[0].targetRef.name}"
    wait_until(lambda: kube("get", "endpointslice", "kube-dns", "-n", "kube-system", "-o", target).stdout
               == restarted[0], "kube-dns's EndpointSlice naming the new pod")
    assert in_pod(kube, web_pod(kube), "getent hosts kube-dns.kube-system.svc.cluster.local").stdout.split()[0] == ip

    kube("-n", "kube-system", "rollout", "undo", "deployment/coredns")  # the first template, a third revision
    kube("-n", "kube-system", "rollout", "status", "deployment/coredns", "--timeout=60s")
    (undone,) = wait_until(lambda: [r for r in coredns_pods(kube) if r[0] != restarted[0]], "CoreDNS's pod undone")
    assert undone[0].rsplit("-", 1)[0] == owner["name"]

    kube("delete", "pod", "-n", "kube-system", undone[0])
    (replaced,) = wait_until(lambda: [r for r in coredns_pods(kube) if r[0] != undone[0]], "a replaced CoreDNS pod")
    assert replaced[0].rsplit("-", 1)[0] == owner["name"]  # the same ReplicaSet, a new pod
    scaled = kube("-n", "kube-system", "scale", "deployment/coredns", "--replicas=2", check=False)
    assert scaled.returncode == 1 and 'The Deployment "coredns" is invalid: spec.replicas: Invalid value: 2: ' \
        "emukube runs one CoreDNS" in scaled.stderr, scaled.stderr
    deleted = kube("-n", "kube-system", "delete", "deployment", "coredns", check=False)
    assert deleted.returncode == 1 and 'Error from server (Forbidden): deployments.apps "coredns" is forbidden' \
        in deleted.stderr, deleted.stderr
    assert in_pod(kube, web_pod(kube), "getent hosts kube-dns.kube-system.svc.cluster.local").stdout.split()[0] == ip


def test_every_pod_gets_the_api_servers_variables_and_a_token(kube):
    ip = kube("get", "svc", "kubernetes", "-n", "default", "-o", "jsonpath={.spec.clusterIP}").stdout
    env = dict(line.split("=", 1) for line in in_pod(kube, web_pod(kube), "env").stdout.splitlines() if "=" in line)
    assert env["KUBERNETES_SERVICE_HOST"] == ip and env["KUBERNETES_SERVICE_PORT"] == "443"
    assert env["KUBERNETES_SERVICE_PORT_HTTPS"] == "443" and env["KUBERNETES_PORT_443_TCP"] == f"tcp://{ip}:443"
    assert in_pod(kube, web_pod(kube), f"cat {TOKEN_DIR}/namespace").stdout == "shop"
    # enableServiceLinks: false drops other Services' variables, never the API server's (kubelet).
    sealed = in_pod(kube, "sealed", "env; ls /var/run/secrets 2>&1", check=False).stdout
    assert f"KUBERNETES_SERVICE_HOST={ip}" in sealed and "WEB_SERVICE_HOST" not in sealed
    assert "No such file" in sealed  # automountServiceAccountToken: false


def test_the_token_reaches_the_api_through_the_service_with_tls_verified(kube):
    script = (f"curl -sS -m 10 --cacert {TOKEN_DIR}/ca.crt -H \"Authorization: Bearer $(cat {TOKEN_DIR}/token)\" "
              "https://kubernetes.default.svc/api/v1/namespaces/shop/pods")
    pods = json.loads(in_pod(kube, web_pod(kube), script).stdout)
    assert {p["metadata"]["name"] for p in pods["items"]} >= {web_pod(kube), "sealed"}
    refused = in_pod(kube, web_pod(kube), f"curl -sS -m 10 --cacert {TOKEN_DIR}/ca.crt "
                                          "-H 'Authorization: Bearer not-a-token' https://kubernetes.default.svc/api").stdout
    assert json.loads(refused)["code"] == 401
    # A token of the right shape signed with another key is refused too.
    token = in_pod(kube, web_pod(kube), f"cat {TOKEN_DIR}/token").stdout
    head, claims, _ = token.split(".")
    forged = f"{head}.{claims}.{'A' * 43}"
    refused = in_pod(kube, web_pod(kube), f"curl -sS -m 10 --cacert {TOKEN_DIR}/ca.crt "
                                          f"-H 'Authorization: Bearer {forged}' https://kubernetes.default.svc/api").stdout
    assert json.loads(refused)["code"] == 401


def _payload(token: str) -> dict:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def _signed_by(token: str, jwks: dict) -> bool:
    """As a verifier outside the API server checks it: the published key of the token's kid."""
    def raw(text: str) -> bytes:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    head, claims, signature = token.split(".")
    key = {k["kid"]: k for k in jwks["keys"]}[json.loads(raw(head))["kid"]]
    public = rsa.RSAPublicNumbers(int.from_bytes(raw(key["e"]), "big"), int.from_bytes(raw(key["n"]), "big"))
    try:
        public.public_key().verify(raw(signature), f"{head}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def test_tokens_verify_against_the_keys_the_issuer_publishes(kube):
    """OIDC discovery, as Vault's JWT auth or an app's JWT library use it: the configuration, then
    the key set at the address it names (from a pod, TLS verified), then a pod's token checked."""
    pod = web_pod(kube)
    curl = f"curl -sS -m 10 --cacert {TOKEN_DIR}/ca.crt -H \"Authorization: Bearer $(cat {TOKEN_DIR}/token)\" "
    config = json.loads(in_pod(kube, pod, curl + "https://kubernetes.default.svc/.well-known/openid-configuration").stdout)
    assert config["issuer"] == "https://kubernetes.default.svc.cluster.local"
    assert config["id_token_signing_alg_values_supported"] == ["RS256"]
    jwks = json.loads(in_pod(kube, pod, curl + config["jwks_uri"]).stdout)
    assert jwks == json.loads(kube("get", "--raw", "/openid/v1/jwks").stdout)
    token = in_pod(kube, pod, f"cat {TOKEN_DIR}/token").stdout
    assert _signed_by(token, jwks)
    claims = _payload(token)
    assert claims["sub"] == "system:serviceaccount:shop:default" and claims["aud"] == [config["issuer"]]
    assert claims["exp"] - claims["iat"] == 365 * 24 * 3600  # the kubelet's tokens' year, warned after the hour
    assert claims["kubernetes.io"]["warnafter"] - claims["iat"] == 3607
    made = kube("create", "token", "default", "-n", "shop", "--duration=10m").stdout.strip()
    assert _signed_by(made, jwks) and _payload(made)["exp"] - _payload(made)["iat"] == 600
    assert not _signed_by(made.rsplit(".", 1)[0] + "." + token.rsplit(".", 1)[1], jwks)
    # Bound to the pod: the token names it, and `kubectl auth whoami` shows it in the user's extra.
    bound = kube("create", "token", "default", "-n", "shop", "--bound-object-kind", "Pod",
                 "--bound-object-name", pod).stdout.strip()
    assert _payload(bound)["kubernetes.io"]["pod"]["name"] == pod and _signed_by(bound, jwks)
    whoami = json.loads(kube("auth", "whoami", "--token", bound, "-o", "json").stdout)["status"]["userInfo"]
    assert whoami["extra"]["authentication.kubernetes.io/pod-name"] == [pod]
    assert whoami["extra"]["authentication.kubernetes.io/credential-id"] == [f"JTI={_payload(bound)['jti']}"]


def test_kubectl_in_a_pod_uses_in_cluster_config(kube):
    """client-go's rest.InClusterConfig: KUBERNETES_SERVICE_HOST/PORT and the token volume."""
    start_kubectl_pod(kube, "shop")
    out = in_pod(kube, "kubectl", "/opt/kubectl get pods -n shop -o name && "
                                  "/opt/kubectl get svc kubernetes -n default -o name").stdout
    assert "pod/sealed" in out and "pod/kubectl" in out and "service/kubernetes" in out, out


def test_what_the_api_server_keeps_outlives_up_and_scale(cluster, kube):
    cluster.emukube("up", str(MANIFEST), "--timeout", "150s", timeout=300)
    cluster.emukube("scale", "deployment/web", "--replicas", "2", "-n", "shop", timeout=200)
    assert kube("get", "svc", "kubernetes", "-n", "default", "-o", "name").stdout.strip() == "service/kubernetes"
    assert kube("get", "sa", "default", "-n", "shop", "-o", "name").stdout.strip() == "serviceaccount/default"
    wait_until(lambda: len(kube.lines("get", "pods", "-n", "shop", "-l", "app=web", "-o", "name")) == 2,
               "two web pods")
    names = kube("get", "ns", "-o", "name").stdout.split()
    kube("create", "namespace", "later")
    wait_until(lambda: kube("get", "sa", "default", "-n", "later", check=False).returncode == 0,
               "a default ServiceAccount in a new namespace")
    assert "namespace/later" not in names


GHOSTLY = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: ghostly, namespace: shop}
spec:
  selector: {matchLabels: {app: ghostly}}
  template:
    metadata: {labels: {app: ghostly}}
    spec:
      serviceAccountName: ghost
      containers: [{name: c, image: emukube/echo:1.0}]
"""
QUIET = """
apiVersion: v1
kind: ServiceAccount
metadata: {name: ghost, namespace: shop}
automountServiceAccountToken: false
"""


def test_pods_are_admitted_as_the_service_account_plugin_says(kube):
    """A missing account refuses the pod (its ReplicaSet says FailedCreate until the account
    exists); an account that opts out of automounting gives its pods no token."""
    refused = kube("run", "nosa", "-n", "shop", "--image=emukube/echo:1.0",
                   '--overrides={"spec": {"serviceAccountName": "nobody"}}', check=False)
    assert refused.returncode == 1 and refused.stderr.strip() == (
        'Error from server (Forbidden): pods "nosa" is forbidden: error looking up service account shop/nobody: '
        'serviceaccount "nobody" not found')
    kube("apply", "-f", "-", input=GHOSTLY)
    words = 'is forbidden: error looking up service account shop/ghost: serviceaccount "ghost" not found'
    wait_until(lambda: words in kube("get", "events", "-n", "shop", "--field-selector", "reason=FailedCreate",
                                     "-o", "jsonpath={.items[*].message}").stdout, "FailedCreate for the account")
    assert kube.lines("get", "pods", "-n", "shop", "-l", "app=ghostly", "-o", "name") == []
    kube("apply", "-f", "-", input=QUIET)
    kube("rollout", "status", "deployment/ghostly", "-n", "shop", "--timeout=90s", timeout=120)
    pod = kube.lines("get", "pods", "-n", "shop", "-l", "app=ghostly", "-o", "name")[0]
    assert "kube-api-access" not in kube("get", "-n", "shop", pod, "-o", "jsonpath={.spec.volumes}").stdout
    assert in_pod(kube, pod.split("/")[1], f"ls {TOKEN_DIR}", check=False).returncode != 0
    kube("run", "chatty", "-n", "shop", "--image=emukube/echo:1.0",
         '--overrides={"spec": {"serviceAccountName": "ghost", "automountServiceAccountToken": true}}')
    kube("wait", "--for=condition=Ready", "pod/chatty", "-n", "shop", "--timeout=60s", timeout=90)
    assert in_pod(kube, "chatty", f"cat {TOKEN_DIR}/namespace").stdout == "shop"
    kube("delete", "deployment/ghostly", "pod/chatty", "-n", "shop", "--wait=false")


def test_a_deleted_default_account_is_made_again(kube):
    kube("create", "namespace", "accounts")
    first = kube.obj("get", "sa", "default", "-n", "accounts")["metadata"]["uid"]
    kube("delete", "sa", "default", "-n", "accounts")
    again = kube.obj("get", "sa", "default", "-n", "accounts")["metadata"]["uid"]
    assert again != first
    kube("run", "p", "-n", "accounts", "--image=emukube/echo:1.0")
    ca = kube.obj("get", "cm", "kube-root-ca.crt", "-n", "accounts")["data"]
    kube("delete", "cm", "kube-root-ca.crt", "-n", "accounts")
    assert kube.obj("get", "cm", "kube-root-ca.crt", "-n", "accounts")["data"] == ca
