"""explain, doctor, graph, top and export compose on a real cluster holding the seeds' three
pitfalls (selector mismatch, wrong targetPort, failing readiness) beside healthy Services."""

from __future__ import annotations

import ipaddress
import os
import subprocess
from pathlib import Path

import httpx
import pytest
from conftest import HERE, Cluster, run, wait_until

MANIFEST = HERE / "manifests" / "diagnose.yaml"




@pytest.fixture(scope="module")
def cluster(engine):
    # `up` would wait for the never-ready pod: start without waiting, then wait for what matters.
    c = Cluster(f"t{os.getpid() % 100000}diag")
    try:
        c.emukube("up", str(MANIFEST), "--no-wait", timeout=300)
        wait_until(lambda: (
            c.emukube("explain", "svc/web", check=False).returncode == 0 and
            "statuscode: 503" in c.emukube("explain", "svc/sick", check=False).stdout),
            "web ready and sick's probe failing", timeout=180, every=1.0)
        yield c
    finally:
        run("down", cluster=c.name, check=False)


def test_a_healthy_service_is_one_ok_line(cluster):
    out = cluster.emukube("explain", "svc/web").stdout
    assert "2 of 2 selected pod(s) ready (app=web)" in out
    assert "8080/TCP: open on 2 of 2 pod(s)" in out
    assert "OK: client -> web:80/TCP" in out and "-> 2 ready endpoint(s) -> pod port 8080" in out
    assert "backends see the proxy's address" in out


PITFALLS = {
    "typo": ["PROBLEM: the selector app=wbe matches no pod in namespace default",
             'app is "web", the Service wants "wbe"'],
    "svc/wrongport": ["PROBLEM: nothing listens on targetPort 9376 of port 80/TCP in 2 pod(s)",
                      ":9376: refused; it declares http 8080/TCP", "did you mean targetPort: 8080?"],
    "svc/sick": ["PROBLEM: no selected pod is ready", "HTTP probe failed with statuscode: 503"],
}


@pytest.mark.parametrize("service", PITFALLS)
def test_the_seeds_pitfalls_in_plain_words(cluster, service):
    # The targetPort is tried from inside the cluster; the probe failure comes from the controller.
    result = cluster.emukube("explain", service, check=False)
    assert result.returncode == 1
    for expected in PITFALLS[service]:
        assert expected in result.stdout, result.stdout
    assert "OK:" not in result.stdout


def test_affinity_pitfall_and_emulation_limits(cluster):
    out = cluster.emukube("explain", "svc/web-np").stdout
    assert "WARNING: sessionAffinity: ClientIP with externalTrafficPolicy: Cluster" in out
    assert "one node: the NodePort listens on the host only (127.0.0.1)" in out
    assert "OK: client -> web-np:80/TCP" in out


def test_unknown_service_is_api_wording_without_traceback(cluster):
    result = cluster.emukube("explain", "svc/nope", check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == 'Error from server (NotFound): services "nope" not found'


def test_doctor_checks_the_cluster_and_every_service(cluster):
    result = cluster.emukube("doctor", check=False)
    assert result.returncode == 1
    out = result.stdout
    for line in ("  ok    engine: Docker", "  ok    images:", "  ok    DNS: CoreDNS at", "  ok    host ports: 3 bound",
                 "  FAIL  controller: running, not converged", "  ok    default/web: client -> web:80/TCP",
                 "  ok    default/web-headless: web-headless (headless) -> DNS A records for 2 ready pod(s)",
                 "  FAIL  default/typo: the selector app=wbe", "  FAIL  default/wrongport: nothing listens",
                 "  FAIL  default/sick: no selected pod is ready"):
        assert line in out, line


def test_graph_prints_mermaid_and_draws_svg_and_png(cluster, tmp_path: Path):
    text = cluster.emukube("graph").stdout
    assert text.startswith("graph TD\n")
    assert 'svc_default_web["web (ClusterIP)<br/>ClusterIP 10.' in text
    assert "client -->|DNS lookup| dns" in text
    assert "svc_default_sick -.->|not ready| pod_default_sick_" in text
    cluster.emukube("graph", "--output", str(tmp_path / "c.svg"))
    cluster.emukube("graph", "--output", str(tmp_path / "c.png"))
    assert "<svg" in (tmp_path / "c.svg").read_text() and "web&#45;headless" in (tmp_path / "c.svg").read_text()
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_top_counts_connections_per_service_and_pod(cluster):
    before = top_connections(cluster)
    pod = cluster.pods("web-")[0]
    cluster.sh("for i in $(seq 12); do curl -s -m 3 -o /dev/null http://web/hostname; done; "
               "for i in $(seq 5); do echo hostname | nc -u -w 1 web 81 >/dev/null; done", pod=pod)
    after = top_connections(cluster)
    assert after[("web", "TCP")] - before.get(("web", "TCP"), 0) >= 12
    assert after[("web", "UDP")] - before.get(("web", "UDP"), 0) == 5
    pods = cluster.emukube("top", "pods").stdout.splitlines()
    assert pods[0].split() == ["POD", "SERVICE", "PROTOCOL", "ACTIVE", "CONNECTIONS", "SHARE"]
    web_rows = [line.split() for line in pods[1:] if line.split()[1:3] == ["web", "UDP"]]
    assert sum(int(r[4]) for r in web_rows) == after[("web", "UDP")]
    assert {r[0] for r in web_rows} <= set(cluster.pods("web-"))


def top_connections(cluster) -> dict:
    lines = cluster.emukube("top", "services").stdout.splitlines()
    assert lines[0].split() == ["SERVICE", "PROTOCOL", "ACTIVE", "CONNECTIONS", "BYTES-IN", "BYTES-OUT"]
    return {(r[0], r[1]): int(r[3]) for r in (line.split() for line in lines[1:])}


def test_up_prints_plain_progress_lines_when_not_on_a_terminal(cluster):
    result = cluster.emukube("up", str(MANIFEST), "--timeout", "3s", check=False)
    assert result.returncode == 1  # sick never becomes ready
    assert "deployment/web unchanged" in result.stdout
    lines = result.stderr.splitlines()
    assert any(line.startswith(f"network   emukube-{cluster.name} 10.") for line in lines), lines
    assert any(line.startswith("images    emukube/") for line in lines), lines
    assert any(line.startswith("DNS       CoreDNS running at 10.") for line in lines), lines
    assert "\x1b[" not in result.stderr  # no live display without a terminal


def free_subnet(engine) -> str:
    """A /16 of emukube's series no network uses, from the top (clusters are given the lowest)."""
    taken = [ipaddress.ip_network(cfg["Subnet"]) for n in engine.networks.list()
             for cfg in (n.attrs.get("IPAM") or {}).get("Config") or [] if ":" not in cfg.get("Subnet", ":")]
    for second in range(127, 96, -1):
        candidate = ipaddress.ip_network(f"10.{second}.0.0/16")
        if not any(candidate.overlaps(t) for t in taken):
            return str(candidate)
    raise AssertionError("no free subnet for the exported project")


def test_export_compose_runs_with_docker_compose(cluster, engine, tmp_path: Path):
    subnet = free_subnet(engine)
    lb_ip = f"127.0.{100 + int(subnet.split('.')[1]) - 96}.1"
    text = cluster.emukube("export", "compose", "--subnet", subnet, "--address", "127.0.0.2").stdout
    assert text.startswith("# Docker Compose file exported by emukube")
    assert "No controller: no self-healing" in text
    compose_file = tmp_path / "compose.yaml"
    compose_file.write_text(text)
    project = f"{cluster.name}x"
    compose = ["docker", "compose", "-p", project, "-f", str(compose_file)]
    web_pods = set(cluster.pods("web-"))
    node_port = cluster.svc_field("web-np", 4).split(":")[1].split("/")[0]
    try:
        up = subprocess.run([*compose, "up", "-d"], capture_output=True, text=True, timeout=300)
        assert up.returncode == 0, up.stderr
        # From the host: the NodePort on the chosen address, the LoadBalancer on its moved address.
        for url in (f"http://127.0.0.2:{node_port}/hostname", f"http://{lb_ip}/hostname"):
            answer = wait_until(lambda: _get(url), url, timeout=90, every=1.0)
            assert answer in web_pods
        # Inside: a pod curls the Service by name through the exported CoreDNS and proxy.
        inside = subprocess.run([*compose, "exec", "-T", f"pod_default_{sorted(web_pods)[0]}", "curl", "-s",
                                 "-m", "5", "http://web.default.svc.cluster.local/hostname"],
                                capture_output=True, text=True, timeout=60)
        assert inside.stdout in web_pods, inside
        # Nothing answers for the broken Service there either: no controller, same endpoints.
        typo = subprocess.run([*compose, "exec", "-T", f"pod_default_{sorted(web_pods)[0]}", "curl", "-s",
                               "-m", "5", "http://typo/"], capture_output=True, text=True, timeout=60)
        assert typo.returncode != 0
    finally:
        subprocess.run([*compose, "down", "-v", "--timeout", "2"], capture_output=True, timeout=180)
    assert not engine.containers.list(ignore_removed=True, all=True, filters={"label": f"com.docker.compose.project={project}"})


def _get(url: str) -> str:
    try:
        return httpx.get(url, timeout=3).text
    except httpx.HTTPError:
        return ""
