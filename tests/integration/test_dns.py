"""Cluster DNS that follows the cluster: headless answers after scale and readiness flips,
ExternalName type switches, pods finding themselves, partial names, names outside the cluster,
and `emukube dns`. Every query is made from the pod `solo` with the pod's own resolver."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from emukube import images
from emukube.render.coredns import render_corefile
from emukube.plan.types import DnsPlan
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


def test_headless_answers_follow_scale_up_and_down(cluster):
    headless_matches_ready_pods(cluster, 2)
    cluster.emukube("scale", "deployment/hl", "--replicas", "3")
    headless_matches_ready_pods(cluster, 3)
    srv = dig(cluster, f"SRV _http._tcp.hl.default.{FQDN}")
    targets = sorted(line for line in srv if line.endswith("."))
    assert targets == sorted(f"{ip.replace('.', '-')}.hl.default.{FQDN}." for ip in ready_ips(cluster, "hl-"))
    cluster.emukube("scale", "deployment/hl", "--replicas", "2")
    headless_matches_ready_pods(cluster, 2)


def test_readiness_flip_and_publish_not_ready_addresses(cluster):
    headless_matches_ready_pods(cluster, 2)
    victim = cluster.pods("hl-")[0]
    ip = pod_ip(cluster, victim)
    both = sorted(ready_ips(cluster, "hl-"))
    others = [i for i in both if i != ip]
    dashed = f"{ip.replace('.', '-')}"
    try:
        sh(cluster, "touch /tmp/not-ready", pod=victim)
        assert eventually(lambda: dig(cluster, f"hl.default.{FQDN}"), others) == others
        assert dig(cluster, f"{dashed}.hl.default.{FQDN}") == []  # its own name goes too
        assert dig(cluster, f"hl-all.default.{FQDN}") == both  # publishNotReadyAddresses
        assert dig(cluster, f"{dashed}.hl-all.default.{FQDN}") == [ip]
    finally:
        sh(cluster, "rm -f /tmp/not-ready", pod=victim)
    assert eventually(lambda: dig(cluster, f"hl.default.{FQDN}"), both) == both


def test_externalname_cname_and_type_switches(cluster):
    def cname_answer():
        return sh(cluster, f"dig +noall +answer CNAME flip.default.{FQDN}").split()

    answer = cname_answer()
    assert answer[-2:] == ["CNAME", "flour.example.com."]  # exactly one trailing dot
    clusterip = ("apiVersion: v1\nkind: Service\nmetadata: {name: flip}\nspec:\n  selector: {app: hl}\n"
                 "  ports: [{name: http, port: 80, targetPort: http}]\n")
    cluster.emukube("apply", "-", "--no-wait", input=clusterip)
    ip = cluster.svc_field("flip", 2)
    assert ip.count(".") == 3
    assert eventually(lambda: dig(cluster, f"A flip.default.{FQDN}"), [ip]) == [ip]
    assert cname_answer() == []
    assert dig(cluster, f"-x {ip}") == [f"flip.default.{FQDN}."]
    external = "apiVersion: v1\nkind: Service\nmetadata: {name: flip}\nspec:\n  type: ExternalName\n  externalName: flour.example.com\n"
    cluster.emukube("apply", "-", "--no-wait", input=external)
    assert eventually(cname_answer, lambda v: v[-1:] == ["flour.example.com."])[-2:] == ["CNAME", "flour.example.com."]
    assert dig(cluster, f"-x {ip}") == []  # the old ClusterIP's PTR is gone with it


def test_pods_find_themselves_by_fqdn_in_etc_hosts(cluster):
    for pod, host, sub in (("st-0", "st-0", "st"), ("st-1", "st-1", "st"), ("solo", "solo-host", "sub")):
        ip = pod_ip(cluster, pod)
        fqdn = f"{host}.{sub}.default.{FQDN}"
        hosts = [line.split() for line in sh(cluster, "cat /etc/hosts", pod=pod).splitlines()]
        assert [ip, fqdn, host] in hosts, hosts
        assert sh(cluster, "hostname", pod=pod).strip() == host
        assert sh(cluster, "hostname -f", pod=pod).strip() == fqdn
        # and the rest of the cluster finds it by the same name
        assert dig(cluster, fqdn) == [ip]


def test_partial_names_and_namespaces_through_the_pod_resolver(cluster):
    def getent(name: str) -> str:
        return sh(cluster, f"getent hosts {name}").split()[0]

    api = cluster.svc_field("api", 2)
    for name in ("api", "api.default", "api.default.svc", f"api.default.{FQDN}", "API.Default"):
        assert getent(name) == api, name
    other = getent("api.other")
    assert other != api and getent("api.other.svc") == other
    assert dig(cluster, "+search api.other") == [other]
    result = cluster.sh("getent hosts nosuch.default", pod="solo", check=False)
    assert result.returncode == 2  # NXDOMAIN through the whole search list


def test_names_outside_the_cluster_resolve_but_never_shadow_it(cluster, engine):
    """A container with a network alias equal to a Service name (short and full) sits on the
    cluster network: Docker's resolver still answers its own name, never the cluster's names."""
    network = f"emukube-{cluster.name}"
    aliases = ["api", f"api.default.{FQDN}", f"ghost.default.{FQDN}"]
    shadow = engine.containers.run(
        images.resolve(engine, "pause"), name=f"{cluster.name}-shadow", detach=True,
        labels={"emukube.io/cluster": cluster.name}, network=network,
        networking_config={network: engine.api.create_endpoint_config(aliases=aliases)})
    try:
        shadow.reload()
        assert set(aliases) <= set(shadow.attrs["NetworkSettings"]["Networks"][network]["Aliases"] or [])
        shadow_ip = shadow.attrs["NetworkSettings"]["Networks"][network]["IPAddress"]
        api = cluster.svc_field("api", 2)
        # Docker's resolver answers names outside cluster.local (forwarded by CoreDNS) ...
        outside = sh(cluster, f"getent hosts {cluster.name}-shadow").split()
        assert outside[:1] == [shadow_ip]
        # ... but never a cluster name
        assert sh(cluster, "getent hosts api").split()[0] == api
        assert dig(cluster, f"api.default.{FQDN}") == [api]
        assert dig(cluster, f"+tcp api.default.{FQDN}") == [api]
        status = sh(cluster, f"dig ghost.default.{FQDN} | grep status:")
        assert "NXDOMAIN" in status
        assert dig(cluster, f"-x {shadow_ip}") == []  # no container-name PTR either
    finally:
        shadow.remove(force=True)


def test_emukube_dns_command(cluster):
    api = cluster.svc_field("api", 2)
    out = cluster.emukube("dns", "api").stdout.split()
    assert out == [f"api.default.{FQDN}.", "5", "IN", "A", api]
    srv = cluster.emukube("dns", "_http._tcp.api", "SRV", "--tcp").stdout.split()
    assert srv[-5:] == ["SRV", "0", "100", "80", f"api.default.{FQDN}."]
    ptr = cluster.emukube("dns", api, "PTR").stdout.split()
    assert ptr[-2:] == ["PTR", f"api.default.{FQDN}."]
    cname = cluster.emukube("dns", "flip", "CNAME").stdout.split()
    assert cname[-2:] == ["CNAME", "flour.example.com."]
    other = cluster.emukube("dns", "api", "-n", "other").stdout.split()
    assert other[0] == f"api.other.{FQDN}." and other[-1] != api
    missing = cluster.emukube("dns", "nosuch", check=False)
    assert missing.returncode == 1 and "NXDOMAIN" in missing.stderr and missing.stdout == ""
    bad = cluster.emukube("dns", "api", "BOGUS", check=False)
    assert bad.returncode == 2 and 'unknown record type "BOGUS"' in bad.stderr
    assert "Traceback" not in bad.stderr


def test_a_new_controller_applies_a_changed_corefile(cluster, engine):
    """What an emukube upgrade does: the Corefile CoreDNS runs (here an older one without the
    reverse zone) differs from the one the new controller renders; it is applied at once."""
    api = cluster.svc_field("api", 2)
    dns = engine.containers.get(f"{cluster.name}_dns")
    old = render_corefile(DnsPlan((), serial=1)).encode()  # no reverse zones
    put_files(engine.containers.get(f"{cluster.name}_controller"), {"dns/Corefile": (old, 0o644)})
    dns.kill(signal="SIGUSR1")
    # PTR queries now leave cluster.local's zones: Docker's resolver names the proxy container
    assert eventually(lambda: dig(cluster, f"-x {api}"), lambda v: v != [f"api.default.{FQDN}."]) != [
        f"api.default.{FQDN}."]
    cluster.emukube("scale", "statefulset/st", "--replicas", "3")  # a new controller
    assert eventually(lambda: dig(cluster, f"-x {api}"), [f"api.default.{FQDN}."]) == [f"api.default.{FQDN}."]
    assert len(eventually(lambda: dig(cluster, f"st-2.st.default.{FQDN}"), lambda v: len(v) == 1)) == 1
