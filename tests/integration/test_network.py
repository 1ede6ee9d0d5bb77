"""Issue 18: the corners of kube-proxy and cluster DNS, observed as Kubernetes' e2e network tests
observe them (test/e2e/network/): curl and DNS lookups from pods, objects read back as JSON."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from conftest import HERE, wait_until
from kubectl_tools import Kube

from emukube import Cluster, unique_name

MANIFEST = HERE / "manifests" / "network.yaml"


@pytest.fixture(scope="module")
def kube(cluster, tmp_path_factory) -> Kube:
    return Kube(cluster.name, tmp_path_factory.mktemp("kube"))


def items(kube: Kube, *args: str) -> list[dict]:
    return json.loads(kube("get", *args, "-o", "json").stdout)["items"]


def pod_ip(kube: Kube, name: str) -> str:
    return kube("get", "pod", name, "-o", "jsonpath={.status.podIP}").stdout


def curl(cluster, url: str, pod: str | None = None) -> str:
    """The answer to one request from a pod (a web pod), or "" when there is none within 2 s."""
    return cluster.sh(f"curl -s -m 2 {url}", pod=pod, check=False).stdout.strip()


def test_selectorless_services_reach_hand_written_endpoints_and_slices(cluster, kube):
    ip = pod_ip(kube, "backend")
    selectorless = "".join(f"""
apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec:
  {spec}
  ports: [{{name: http, port: 80, targetPort: 9376}}]
---
apiVersion: v1
kind: Endpoints
metadata: {{name: {name}, labels: {{team: a}}}}
subsets:
  - addresses: [{{ip: {ip}, hostname: primary}}]
    ports: [{{name: http, port: 8080}}]
---""" for name, spec in (("manual", "type: ClusterIP"), ("manual-hl", "clusterIP: None")))
    kube("apply", "-f", "-", input=selectorless + f"""
apiVersion: v1
kind: Service
metadata: {{name: sliced}}
spec:
  ports: [{{name: http, port: 80}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: sliced-hand
  labels: {{kubernetes.io/service-name: sliced}}
addressType: IPv4
ports: [{{name: http, port: 8080, protocol: TCP}}]
endpoints: [{{addresses: [{ip}]}}]
""")
    for name in ("manual", "sliced"):
        wait_until(lambda: curl(cluster, f"http://{name}/hostname") == "backend", f"{name} answers from backend")
    found = wait_until(lambda: items(kube, "endpointslices", "-l", "kubernetes.io/service-name=manual"),
                       "the mirrored EndpointSlice")
    (mirror,) = found
    labels = mirror["metadata"]["labels"]
    assert labels["endpointslice.kubernetes.io/managed-by"] == "endpointslicemirroring-controller.k8s.io"
    assert labels["team"] == "a"
    assert mirror["metadata"]["ownerReferences"][0]["kind"] == "Endpoints"
    assert mirror["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    assert [(e["addresses"], e["conditions"]["ready"]) for e in mirror["endpoints"]] == [([ip], True)]
    # The API server's own Endpoints are marked skip-mirror: its slice is its own, not a mirror.
    managers = {s["metadata"]["labels"].get("endpointslice.kubernetes.io/managed-by")
                for s in items(kube, "endpointslices", "-l", "kubernetes.io/service-name=kubernetes")}
    assert "endpointslicemirroring-controller.k8s.io" not in managers
    assert cluster.sh("dig +short +search primary.manual-hl").stdout.strip() == ip
    assert cluster.sh("dig +short +search manual-hl").stdout.strip() == ip
    # Update and delete, as the e2e mirroring test does: the slice follows the Endpoints.
    kube("patch", "endpoints", "manual", "--type=json",
         "-p", '[{"op": "replace", "path": "/subsets/0/ports/0/port", "value": 9999}]')
    wait_until(lambda: [p["port"] for s in items(kube, "endpointslices", "-l", "kubernetes.io/service-name=manual")
                        for p in s["ports"]] == [9999], "the mirrored slice updated")
    kube("delete", "endpoints", "manual")
    wait_until(lambda: not items(kube, "endpointslices", "-l", "kubernetes.io/service-name=manual"),
               "the mirrored slice deleted")
    wait_until(lambda: curl(cluster, "http://manual/hostname") == "", "manual without endpoints")


@pytest.mark.parametrize("label", ["service.kubernetes.io/service-proxy-name", "service.kubernetes.io/headless"])
def test_a_service_labelled_for_another_proxy_takes_no_traffic(cluster, kube, label):
    name = label.rsplit("/", 1)[1].replace("-name", "")
    kube("apply", "-f", "-", input=f"""
apiVersion: v1
kind: Service
metadata: {{name: {name}, labels: {{{label}: other}}}}
spec:
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: http}}]
""")
    ip = kube("get", "svc", name, "-o", "jsonpath={.spec.clusterIP}").stdout
    wait_until(lambda: [e for s in items(kube, "endpointslices", "-l", f"kubernetes.io/service-name={name}")
                        for e in s.get("endpoints") or []], "its endpoints published")  # the EndpointSlice controller does not care
    assert cluster.sh(f"dig +short +search {name}").stdout.strip() == ip  # nor does DNS
    assert curl(cluster, f"http://{ip}/hostname") == ""
    assert curl(cluster, "http://web/hostname").startswith("web-")
    kube("label", "svc", name, f"{label}-")
    wait_until(lambda: curl(cluster, f"http://{ip}/hostname").startswith("web-"), "served once unlabelled")
    kube("label", "svc", name, f"{label}=other")
    wait_until(lambda: curl(cluster, f"http://{ip}/hostname") == "", "not served once labelled again")


def test_pod_a_records_as_kubeadm_configures_coredns(cluster, kube):
    # dns.go's probe: `hostname -i | awk -F. '{print $1"-"$2"-"$3"-"$4".<ns>.pod.cluster.local"}'`.
    ip = pod_ip(kube, "backend")
    name = cluster.sh("hostname -i | awk -F. '{print $1\"-\"$2\"-\"$3\"-\"$4\".default.pod.cluster.local\"}'",
                      pod="backend").stdout.strip()
    assert name == ip.replace(".", "-") + ".default.pod.cluster.local"
    for transport in ("+notcp", "+tcp"):
        assert cluster.sh(f"dig {transport} +short {name} A").stdout.strip() == ip
    assert cluster.sh(f"getent hosts {name}").stdout.split()[0] == ip
    # `pods insecure`: the name spells the answer, whatever the namespace; no NXDOMAIN for AAAA.
    assert cluster.sh("dig +short 10-9-8-7.elsewhere.pod.cluster.local").stdout.strip() == "10.9.8.7"
    assert "status: NOERROR" in cluster.sh(f"dig {name} AAAA").stdout
    assert "status: NXDOMAIN" in cluster.sh("dig 10-9-8-300.default.pod.cluster.local").stdout


def test_dns_policy_and_dns_config_make_the_pods_resolv_conf(cluster, kube, engine):
    # dns.go's "should support configurable pod DNS nameservers" and resolv.conf checks.
    cluster_dns = cluster.sh("cat /etc/resolv.conf").stdout
    dns_ip = next(line.split()[1] for line in cluster_dns.splitlines() if line.startswith("nameserver"))
    pods = {"dns-none": f"""dnsPolicy: None
  dnsConfig:
    nameservers: [{dns_ip}]
    searches: [svc.cluster.local, resolv.conf.local]
    options: [{{name: ndots, value: "2"}}, {{name: edns0}}]""",
            "dns-extra": """dnsConfig:
    searches: [corp.example]
    options: [{name: ndots, value: "2"}]""",
            "dns-default": "dnsPolicy: Default"}
    kube("apply", "-f", "-", input="---".join(f"""
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  {dns}
  containers: [{{name: c, image: "emukube/echo:1.0"}}]
""" for name, dns in pods.items()))
    kube("wait", "--for=condition=Ready", "pod/dns-none", "pod/dns-extra", "pod/dns-default", "--timeout=90s",
         timeout=120)

    def resolv(pod: str) -> str:
        return kube("exec", pod, "--", "cat", "/etc/resolv.conf").stdout

    assert resolv("dns-none") == (f"nameserver {dns_ip}\nsearch svc.cluster.local resolv.conf.local\n"
                                  "options ndots:2 edns0\n")
    assert kube("exec", "dns-none", "--", "getent", "hosts", "web.default").stdout.split()[1] == \
        "web.default.svc.cluster.local"  # found through its own search list
    assert resolv("dns-extra") == (f"nameserver {dns_ip}\nsearch default.svc.cluster.local svc.cluster.local "
                                   "cluster.local corp.example\noptions ndots:2\n")
    # Default: the node's resolver, as the controller (the node's kubelet) has it; no cluster names.
    node = engine.containers.get(f"{cluster.name}_controller").exec_run("cat /etc/resolv.conf").output.decode()
    nameservers = [line for line in resolv("dns-default").splitlines() if line.startswith("nameserver")]
    assert nameservers == [line for line in node.splitlines() if line.startswith("nameserver")]
    lookup = kube("exec", "dns-default", "--", "getent", "hosts", "web.default.svc.cluster.local", check=False)
    assert lookup.returncode != 0


def test_up_names_services_that_answer_nobody_and_still_succeeds(cluster):
    result = cluster.emukube("up", str(MANIFEST), "--timeout", "120s", timeout=200)
    assert result.returncode == 0
    services = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("services")][-1]
    assert re.match(r"services  \d+/\d+ answering; ", services) and "default/web:" not in services, services
    assert ("default/nobody: no endpoints: the selector app=nothing matches no pod in namespace default "
            "(emukube explain svc/nobody -n default)") in services
    assert "default/wrongport: nothing listens on targetPort 9376 of port 80/TCP in 2 pod(s)" in services


def test_a_commands_own_double_dashes_reach_it(cluster, kube):
    # kubectl passes everything after the first `--` to the container as it is.
    assert kube("exec", "backend", "--", "echo", "a", "--", "b").stdout == "a -- b\n"
    assert cluster.emukube("exec", "backend", "--", "echo", "a", "--", "b").stdout == "a -- b\n"
    out = cluster.emukube("run", "--rm", "dashes", "--image", "emukube/echo:1.0", "--command", "--",
                          "echo", "a", "--", "b", timeout=120).stdout
    assert "a -- b" in out.splitlines(), out


def host_bindings(engine, cluster) -> list[tuple[str, str, str]]:
    """(container, port, host address) of every port the cluster's containers publish."""
    return [(c.name, port, h["HostIp"])
            for c in engine.containers.list(ignore_removed=True, all=True, filters={"label": f"emukube.io/cluster={cluster.name}"})
            for port, hosts in (c.attrs["HostConfig"].get("PortBindings") or {}).items() for h in hosts or []]


def test_node_port_from_a_pod_through_the_nodes_internal_ip(engine, cluster, kube):
    # service.go's NodePort reachability (checkReachabilityFromPod / testReachableHTTP): from an
    # exec pod to every node's InternalIP:nodePort, the addresses read as the e2e framework reads them.
    internal = kube("get", "nodes", "-o",
                    'jsonpath={.items[*].status.addresses[?(@.type=="InternalIP")].address}').stdout.split()
    node_port = kube("get", "svc", "web-np", "-o", "jsonpath={.spec.ports[0].nodePort}").stdout
    gateway = engine.networks.get(f"emukube-{cluster.name}").attrs["IPAM"]["Config"][0]["Gateway"]
    assert len(internal) == 1 and internal[0] != gateway  # the node's own address, not the host's
    for pod in (None, "backend"):
        assert curl(cluster, f"http://{internal[0]}:{node_port}/hostname", pod=pod).startswith("web-")
    assert kube("get", "nodes", "-o", "wide").stdout.split("\n")[1].split()[5] == internal[0]  # INTERNAL-IP
    # Safe by default all the same: the host publishes nothing beyond loopback (not the gateway).
    bindings = host_bindings(engine, cluster)
    assert ("127.0.0.1" in {b[2] for b in bindings if b[0].endswith("web-np")}
            and [b for b in bindings if not b[2].startswith("127.")] == []), bindings
    (node,) = items(kube, "nodes")
    addresses = {a["type"]: a["address"] for a in node["status"]["addresses"]}
    # The host still reaches it at --address, the node's ExternalIP.
    assert addresses["ExternalIP"] == "127.0.0.1"
    assert httpx.get(f"http://127.0.0.1:{node_port}/hostname", timeout=5).text.startswith("web-")
    # The pods' hostIP is the node's InternalIP, as the kubelet reports it.
    assert kube("get", "pod", "backend", "-o", "jsonpath={.status.hostIP}").stdout == addresses["InternalIP"]


def test_a_terminating_pod_keeps_serving_while_no_pod_is_ready(cluster, kube):
    # service.go's "should fallback to terminating endpoints when there are no ready endpoints":
    # the pod keeps serving 60 s after SIGTERM (the echo app's SHUTDOWN_DELAY), without a probe.
    kube("apply", "-f", "-", input="""
apiVersion: v1
kind: Pod
metadata: {name: lingers, labels: {app: lingers}}
spec:
  terminationGracePeriodSeconds: 90
  containers:
    - name: echo
      image: emukube/echo:1.0
      env: [{name: SHUTDOWN_DELAY, value: "60"}]
      ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: lingers}
spec:
  selector: {app: lingers}
  ports: [{port: 80, targetPort: 8080}]
""")
    wait_until(lambda: curl(cluster, "http://lingers/hostname") == "lingers", "lingers answers")
    kube("delete", "pod", "lingers", "--wait=false")

    def conditions():
        found = [e["conditions"] for s in items(kube, "endpointslices", "-l", "kubernetes.io/service-name=lingers")
                 for e in s.get("endpoints") or []]
        return found if found and found[0].get("terminating") else None

    assert wait_until(conditions, "the endpoint terminating") == [{"ready": False, "serving": True, "terminating": True}]
    assert curl(cluster, "http://lingers/hostname") == "lingers"
    assert curl(cluster, "http://lingers/hostname") == "lingers"


def test_a_host_port_opens_on_the_pods_node(engine, cluster, kube):
    # hostport.go: the pod answers at its node's address and hostPort, from the host and from pods.
    kube("apply", "-f", "-", input="""
apiVersion: v1
kind: Pod
metadata: {name: hostport}
spec:
  containers:
    - name: echo
      image: emukube/echo:1.0
      ports: [{containerPort: 8080, hostPort: 31888}]
""")
    kube("wait", "--for=condition=Ready", "pod/hostport", "--timeout=90s", timeout=120)
    host_ip = kube("get", "pod", "hostport", "-o", "jsonpath={.status.hostIP}").stdout
    assert httpx.get("http://127.0.0.1:31888/hostname", timeout=5).text == "hostport"
    # From pods at the node's INTERNAL-IP (its node proxy), while the host has it on loopback only.
    assert curl(cluster, f"http://{host_ip}:31888/hostname") == "hostport"
    assert {b[2] for b in host_bindings(engine, cluster) if b[0].endswith("_hostport")} == {"127.0.0.1"}


def test_internal_traffic_policy_local_keeps_pods_on_their_node(engine):
    # service.go's "should respect internalTrafficPolicy=Local Pod to Pod": a pod on the
    # endpoint's node reaches it; one on another node does not (dropped), unless the policy is Cluster.
    c = Cluster.up(HERE / "manifests" / "network-local.yaml", name=unique_name("tnl"), nodes=2, timeout=150)
    try:
        def ask(pod: str, service: str) -> str:
            return c.exec(pod, f"curl -s -m 2 http://{service}/hostname").stdout.strip()

        assert ask("client-1", "local") == "endpoint"
        assert ask("client-2", "local") == ""
        assert ask("client-2", "everywhere") == "endpoint"
        # kube-proxy drops it (a timeout); HAProxy's silent-drop resets it on the one bridge.
        assert c.exec("client-2", "curl -s -m 2 http://local/hostname; echo $?").stdout.split()[-1] != "0"
        assert ask("client-1", "everywhere") == "endpoint"
        # UDP alike (the echo app answers "hostname" on 8081): no answer on the other node.
        assert c.exec("client-1", "printf hostname | nc -u -w2 local 90").stdout.strip() == "endpoint"
        assert c.exec("client-2", "printf hostname | nc -u -w2 local 90").stdout.strip() == ""
    finally:
        c.down()
