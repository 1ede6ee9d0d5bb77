"""Cluster DNS that follows the cluster: headless answers after scale and readiness flips,
ExternalName type switches, pods finding themselves, partial names, names outside the cluster,
and `emukube dns`. Every query is made from the pod `solo` with the pod's own resolver."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from emukube.plan.types import DnsPlan
from emukube.render.coredns import render_corefile
from emukube.runtime import images
from emukube.runtime.engine import put_files

MANIFEST = Path(__file__).parent / "manifests" / "dns.yaml"
FQDN = "svc.cluster.local"


class Pods:
    """Commands in the cluster's pods straight through the engine (the CLI's `exec` is tested
    elsewhere; a process start per query would make this module slow)."""

    def __init__(self, engine, cluster):
        self.engine, self.cluster = engine, cluster

    def run(self, script: str, pod: str = "solo") -> tuple[int, str]:
        container = self.engine.containers.get(f"{self.cluster.name}_pod_default_{pod}")
        result = container.exec_run(["sh", "-c", script])
        return result.exit_code, result.output.decode(errors="replace")

    def sh(self, script: str, pod: str = "solo") -> str:
        code, out = self.run(script, pod)
        assert code == 0, f"{script!r} in {pod}: exit {code}\n{out}"
        return out

    def dig(self, args: str) -> list[str]:
        """Sorted `dig +short` lines (CoreDNS answers in any order)."""
        return sorted(self.sh(f"dig +short +time=2 +tries=2 {args}").split())

    def ips(self, ready_only: bool = False) -> dict[str, str]:
        """Pod name -> IP, from `emukube get pods -o wide` (ready_only: 1/1 Running only)."""
        rows = [r.split() for r in self.cluster.emukube("get", "pods", "-o", "wide").stdout.splitlines()[1:]]
        return {r[0]: r[5] for r in rows if not ready_only or (r[1] == "1/1" and r[2] == "Running")}

    def ready_ips(self, prefix: str) -> list[str]:
        return sorted(ip for name, ip in self.ips(ready_only=True).items() if name.startswith(prefix))


@pytest.fixture(scope="module")
def pods(engine, cluster) -> Pods:
    return Pods(engine, cluster)


def eventually(probe, want, timeout: float = 90):
    """Poll probe() until it returns want (or want(value) is true); the last value otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if (want(value) if callable(want) else value == want) or time.monotonic() > deadline:
            return value
        time.sleep(0.5)


def headless_matches_ready_pods(pods: Pods, count: int) -> None:
    def both():
        return pods.ready_ips("hl-"), pods.dig(f"hl.default.{FQDN}")

    ready, answer = eventually(both, lambda v: len(v[0]) == count and v[0] == v[1])
    assert len(ready) == count and answer == ready


def test_headless_answers_follow_scale_up_and_down(cluster, pods):
    headless_matches_ready_pods(pods, 2)
    cluster.emukube("scale", "deployment/hl", "--replicas", "3")
    headless_matches_ready_pods(pods, 3)
    srv = pods.dig(f"SRV _http._tcp.hl.default.{FQDN}")
    targets = sorted(word for word in srv if word.endswith("."))
    assert targets == sorted(f"{ip.replace('.', '-')}.hl.default.{FQDN}." for ip in pods.ready_ips("hl-"))
    cluster.emukube("scale", "deployment/hl", "--replicas", "2")
    headless_matches_ready_pods(pods, 2)


def test_readiness_flip_and_publish_not_ready_addresses(pods):
    headless_matches_ready_pods(pods, 2)
    ready = pods.ips(ready_only=True)
    victim = min(name for name in ready if name.startswith("hl-"))
    ip, both = ready[victim], pods.ready_ips("hl-")
    others = [other for other in both if other != ip]
    dashed = ip.replace(".", "-")
    try:
        pods.sh("touch /tmp/not-ready", pod=victim)
        assert eventually(lambda: pods.dig(f"hl.default.{FQDN}"), others) == others
        assert pods.dig(f"{dashed}.hl.default.{FQDN}") == []  # its own name goes too
        assert pods.dig(f"hl-all.default.{FQDN}") == both  # publishNotReadyAddresses
        assert pods.dig(f"{dashed}.hl-all.default.{FQDN}") == [ip]
    finally:
        pods.sh("rm -f /tmp/not-ready", pod=victim)
    assert eventually(lambda: pods.dig(f"hl.default.{FQDN}"), both) == both


FLIP_CLUSTERIP = """apiVersion: v1
kind: Service
metadata: {name: flip}
spec:
  selector: {app: hl}
  ports: [{name: http, port: 80, targetPort: http}]
"""
FLIP_EXTERNAL = """apiVersion: v1
kind: Service
metadata: {name: flip}
spec: {type: ExternalName, externalName: flour.example.com}
"""


def test_externalname_cname_and_type_switches(cluster, pods):
    def cname():
        return pods.sh(f"dig +noall +answer CNAME flip.default.{FQDN}").split()

    assert cname()[-2:] == ["CNAME", "flour.example.com."]  # exactly one trailing dot
    cluster.emukube("apply", "-", "--no-wait", input=FLIP_CLUSTERIP)
    ip = cluster.svc_field("flip", 2)
    assert ip.count(".") == 3
    assert eventually(lambda: pods.dig(f"A flip.default.{FQDN}"), [ip]) == [ip]
    assert cname() == []
    assert pods.dig(f"-x {ip}") == [f"flip.default.{FQDN}."]
    cluster.emukube("apply", "-", "--no-wait", input=FLIP_EXTERNAL)
    assert eventually(cname, lambda v: v[-1:] == ["flour.example.com."])[-2:] == ["CNAME", "flour.example.com."]
    # the old ClusterIP's PTR went with it, once CoreDNS's cache lets it go: kubeadm's Corefile
    # caches all but cluster.local, the reverse zones too (for the record's TTL, 5 s here)
    assert eventually(lambda: pods.dig(f"-x {ip}"), [], timeout=20) == []


def test_pods_find_themselves_by_fqdn_in_etc_hosts(pods):
    ips = pods.ips()
    for pod, host, sub in (("st-0", "st-0", "st"), ("st-1", "st-1", "st"), ("solo", "solo-host", "sub")):
        fqdn = f"{host}.{sub}.default.{FQDN}"
        hosts, names = pods.sh("cat /etc/hosts; echo; echo @@; hostname; hostname -f", pod=pod).split("@@")
        assert [ips[pod], fqdn, host] in [line.split() for line in hosts.splitlines()], hosts
        assert names.split() == [host, fqdn]
        assert pods.dig(fqdn) == [ips[pod]]  # and the rest of the cluster finds it by that name


def test_partial_names_and_namespaces_through_the_pod_resolver(cluster, pods):
    def getent(name: str) -> str:
        return pods.sh(f"getent hosts {name}").split()[0]

    api = cluster.svc_field("api", 2)
    for name in ("api", "api.default", "api.default.svc", f"api.default.{FQDN}", "API.Default"):
        assert getent(name) == api, name
    other = getent("api.other")
    assert other != api and getent("api.other.svc") == other
    assert pods.dig("+search api.other") == [other]
    assert pods.run("getent hosts nosuch.default")[0] == 2  # NXDOMAIN through the whole search list


def test_names_outside_the_cluster_resolve_but_never_shadow_it(cluster, engine, pods):
    """A container with network aliases equal to a Service's names (short and full) sits on the
    cluster network: Docker's resolver still answers its own name, never the cluster's names."""
    network = f"emukube-{cluster.name}"
    aliases = ["api", f"api.default.{FQDN}", f"ghost.default.{FQDN}"]
    shadow = engine.containers.run(
        images.resolve(engine, "pause"), name=f"{cluster.name}-shadow", detach=True,
        labels={"emukube.io/cluster": cluster.name}, network=network,
        networking_config={network: engine.api.create_endpoint_config(aliases=aliases)})
    try:
        shadow.reload()
        endpoint = shadow.attrs["NetworkSettings"]["Networks"][network]
        assert set(aliases) <= set(endpoint["Aliases"] or [])
        api = cluster.svc_field("api", 2)
        # names outside cluster.local reach Docker's resolver through CoreDNS ...
        assert pods.sh(f"getent hosts {cluster.name}-shadow").split()[:1] == [endpoint["IPAddress"]]
        # ... which never answers for a cluster name
        assert pods.sh("getent hosts api").split()[0] == api
        assert pods.dig(f"api.default.{FQDN}") == pods.dig(f"+tcp api.default.{FQDN}") == [api]
        assert "status: NXDOMAIN" in pods.sh(f"dig ghost.default.{FQDN}")
        assert pods.dig(f"-x {endpoint['IPAddress']}") == []  # no container-name PTR either
    finally:
        shadow.remove(force=True)


def test_emukube_dns_command(cluster):
    api = cluster.svc_field("api", 2)
    assert cluster.emukube("dns", "api").stdout.split() == [f"api.default.{FQDN}.", "5", "IN", "A", api]
    srv = cluster.emukube("dns", "_http._tcp.api", "SRV", "--tcp").stdout.split()
    assert srv[-5:] == ["SRV", "0", "100", "80", f"api.default.{FQDN}."]
    assert cluster.emukube("dns", api, "PTR").stdout.split()[-2:] == ["PTR", f"api.default.{FQDN}."]
    assert cluster.emukube("dns", "flip", "CNAME").stdout.split()[-2:] == ["CNAME", "flour.example.com."]
    other = cluster.emukube("dns", "api", "-n", "other").stdout.split()
    assert other[0] == f"api.other.{FQDN}." and other[-1] != api
    missing = cluster.emukube("dns", "nosuch", check=False)
    assert missing.returncode == 1 and "NXDOMAIN" in missing.stderr and missing.stdout == ""
    bad = cluster.emukube("dns", "api", "BOGUS", check=False)
    assert bad.returncode == 2 and 'unknown record type "BOGUS"' in bad.stderr
    assert "Traceback" not in bad.stderr


def test_a_new_controller_applies_a_changed_corefile(cluster, engine, pods):
    """What an emukube upgrade does: CoreDNS runs a Corefile (here an older one without the
    reverse zone) other than the one the new controller renders; the new one is applied at once."""
    api = cluster.svc_field("api", 2)
    name = [f"api.default.{FQDN}."]
    old = render_corefile(DnsPlan((), serial=1)).encode()  # no reverse zones
    put_files(engine.containers.get(f"{cluster.name}_controller"), {"dns/Corefile": (old, 0o644)})
    engine.containers.get(f"{cluster.name}_dns").kill(signal="SIGUSR1")
    # PTR queries now leave the cluster's zones: Docker's resolver names the proxy container
    assert eventually(lambda: pods.dig(f"-x {api}"), lambda v: v != name) != name
    cluster.emukube("scale", "statefulset/st", "--replicas", "3")  # a new controller
    assert eventually(lambda: pods.dig(f"-x {api}"), name) == name
    assert len(eventually(lambda: pods.dig(f"st-2.st.default.{FQDN}"), lambda v: len(v) == 1)) == 1


def test_the_coredns_configmap_is_kubeadms_and_the_docs_edits_apply(cluster, pods, tmp_path):
    """Kubernetes' "Debugging DNS Resolution" and "Customizing DNS Service": kube-system/coredns
    holds kubeadm's Corefile; `log` added shows each query in `kubectl logs -l k8s-app=kube-dns`;
    `hosts`, `rewrite` and a stub domain answer; a Corefile CoreDNS refuses is logged and the last
    good one keeps serving."""
    from kubectl_tools import Kube

    kube = Kube(cluster.name, tmp_path)
    original = kube("-n", "kube-system", "get", "configmap", "coredns", "-o", "jsonpath={.data.Corefile}").stdout
    assert "    kubernetes cluster.local in-addr.arpa ip6.arpa {\n       pods insecure\n" in original, original
    assert "    forward . /etc/resolv.conf {" in original and original.rstrip().endswith("loadbalance\n}"), original

    def corefile(text: str) -> None:
        (tmp_path / "Corefile").write_text(text)
        made = kube("-n", "kube-system", "create", "configmap", "coredns", f"--from-file=Corefile={tmp_path}/Corefile",
                    "--dry-run=client", "-o", "yaml").stdout
        kube("apply", "-f", "-", input=made)

    api = cluster.svc_field("api", 2)
    edited = original.replace("    errors\n", "    log\n    errors\n    hosts {\n       10.1.2.3 legacy.example.com\n"
                              "       fallthrough\n    }\n    rewrite name api.example.com api.default.svc.cluster.local\n")
    try:
        corefile(edited + "stub.test:53 {\n    errors\n    forward . 10.96.0.10\n}\n")
        assert eventually(lambda: pods.dig("legacy.example.com"), ["10.1.2.3"]) == ["10.1.2.3"]
        assert pods.dig("api.example.com") == [api]
        assert pods.dig(f"api.default.{FQDN}") == [api]  # the cluster's names still answer
        logs = kube("logs", "-n", "kube-system", "-l", "k8s-app=kube-dns", "--tail=50").stdout
        assert f'"A IN api.default.{FQDN}. udp' in logs and "NOERROR" in logs, logs
        corefile(edited.replace("    log\n", "    logg\n"))
        refused = eventually(lambda: kube("logs", "-n", "kube-system", "-l", "k8s-app=kube-dns", "--tail=50").stdout,
                             lambda v: "Unknown directive 'logg'" in v)
        assert "Unknown directive 'logg'" in refused, refused
        assert pods.dig("legacy.example.com") == ["10.1.2.3"] and pods.dig(f"api.default.{FQDN}") == [api]
    finally:
        corefile(original)
    assert eventually(lambda: pods.dig("legacy.example.com"), []) == []
