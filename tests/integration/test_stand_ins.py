"""Manifests naming `nginx` and `busybox`, as tutorials and charts do, on a machine no registry
answers: their pulls fail, and the pods run emukube's stand-ins, with an event saying so. The
nginx stand-in is laid out as the official image (port 80, /usr/share/nginx/html, logs on
stdout); busybox's has its tools (sh, wget, nslookup). Kubernetes' own test image, agnhost, runs
the subcommands its e2e tests and docs use: netexec's /dial through a Service (HTTP and UDP), the
docs' liveness example, and serve-hostname behind the "Debug Services" walk-through's Service."""

from __future__ import annotations

import json
import subprocess

import pytest
from conftest import HERE, wait_until
from kubectl_tools import HELM, Kube

MANIFEST = HERE / "manifests" / "stand_ins.yaml"


@pytest.fixture(scope="module")
def kube(cluster, tmp_path_factory) -> Kube:
    return Kube(cluster.name, tmp_path_factory.mktemp("kube"))


def test_nginx_serves_a_configmap_mounted_where_the_official_image_keeps_its_pages(kube):
    page = kube("exec", "waiter", "--", "wget", "-qO-", "http://web/").stdout
    assert page == "hello from a ConfigMap\n"
    logs = wait_until(lambda: kube("logs", "deploy/web").stdout, "nginx's access log on stdout")
    assert '"GET / HTTP/1.1" 200' in logs, logs


def test_the_pods_events_name_the_stand_in(kube):
    events = kube("get", "events", "--field-selector", "reason=Pulled", "-o",
                  "custom-columns=OBJ:.involvedObject.name,MSG:.message", "--no-headers").stdout
    web = [line for line in events.splitlines() if line.startswith("web-")]
    assert web and 'Container image "nginx:1.27" could not be pulled' in web[0], events
    assert "emukube/nginx-standin:" in web[0], events
    waiter = [line for line in events.splitlines() if line.startswith("waiter ")]
    assert any('"busybox:1.36" could not be pulled' in line for line in waiter), events
    assert kube("logs", "waiter", "-c", "wait-for-web").returncode == 0


def test_kubectl_create_deployment_nginx_shows_the_default_page(kube):
    kube("create", "deployment", "plain", "--image=nginx", "--port=80")
    kube("expose", "deployment", "plain", "--port=80")
    kube("rollout", "status", "deployment/plain", "--timeout=90s", timeout=120)
    page = kube("run", "probe", "--rm", "-i", "--restart=Never", "--image=busybox", "--",
                "wget", "-qO-", "http://plain/", timeout=120).stdout
    assert "<title>Welcome to nginx!</title>" in page, page


def test_helm_creates_chart_installs_and_passes_its_test_unchanged(kube, tmp_path):
    """`helm create`'s chart names nginx (its appVersion tag) and its test pod busybox's wget."""
    def helm(*args: str) -> str:
        done = subprocess.run([HELM, *args], capture_output=True, text=True, env=kube.env, timeout=200)
        assert done.returncode == 0, f"helm {' '.join(args)}: {done.stdout}{done.stderr}"
        return done.stdout

    helm("create", str(tmp_path / "site"))
    assert "STATUS: deployed" in helm("install", "demo", str(tmp_path / "site"), "--wait", "--timeout", "120s")
    tested = helm("test", "demo", "--logs", "--timeout", "90s")
    assert "Phase:          Succeeded" in tested and "Connecting to demo-site:80" in tested, tested


@pytest.mark.parametrize("image", ["alpine:3.20", "debian:bookworm-slim"])
def test_a_shell_image_runs_the_base_stand_in(kube, image):
    name = "sh-" + image.split(":")[0]
    kube("run", name, f"--image={image}", "--restart=Never", "--", "sh", "-c", "nslookup kubernetes.default >/dev/null && echo resolved")
    kube("wait", "--for=jsonpath={.status.phase}=Succeeded", f"pod/{name}", "--timeout=90s", timeout=120)
    assert kube("logs", name).stdout == "resolved\n"


AGNHOST = HERE / "manifests" / "agnhost.yaml"


@pytest.fixture(scope="module")
def agnhost(kube) -> Kube:
    kube("apply", "-f", str(AGNHOST))
    kube("rollout", "status", "deployment/netexec", "--timeout=90s", timeout=120)
    kube("wait", "--for=condition=Ready", "pod/agnhost-client", "--timeout=90s", timeout=120)
    return kube


def _dial(kube: Kube, protocol: str, port: int, tries: int) -> dict:
    """What a netexec pod's /dial answers for `tries` requests to the netexec Service, asked
    from the client pod, as Kubernetes' e2e tests ask (test/e2e/framework/network)."""
    pod = kube.lines("get", "pods", "-l", "app=netexec", "-o", "jsonpath={.items[0].status.podIP}")[0]
    url = f"http://{pod}:8080/dial?request=hostname&protocol={protocol}&host=netexec&port={port}&tries={tries}"
    return json.loads(kube("exec", "agnhost-client", "--", "curl", "-s", url).stdout)


@pytest.mark.parametrize("protocol,port", [("http", 80), ("udp", 90)])
def test_agnhost_netexec_pods_answer_dial_through_their_service(agnhost, protocol, port):
    pods = set(agnhost.lines("get", "pods", "-l", "app=netexec", "-o", "name"))
    pods = {p.removeprefix("pod/") for p in pods}
    answered = _dial(agnhost, protocol, port, 40)
    assert set(answered) == {"responses"} and len(answered["responses"]) == 40, answered
    assert set(answered["responses"]) == pods, answered  # e2e's "all backends answer"


def test_agnhost_netexec_says_what_a_failed_dial_met(agnhost):
    pod = agnhost.lines("get", "pods", "-l", "app=netexec", "-o", "jsonpath={.items[0].status.podIP}")[0]
    url = f"http://{pod}:8080/dial?request=hostname&protocol=http&host=netexec&port=81&tries=1"
    answered = json.loads(agnhost("exec", "agnhost-client", "--", "curl", "-s", url).stdout)
    assert list(answered) == ["errors"] and "connect" in answered["errors"][0], answered


def test_the_docs_liveness_example_is_restarted_when_healthz_fails(agnhost):
    """agnhost liveness answers /healthz with 200 for 10 s, then 500: the kubelet restarts it."""
    wait_until(lambda: agnhost.obj("get", "pod", "liveness-http")["status"]["containerStatuses"][0]["restartCount"] >= 1,
               "liveness-http restarted", timeout=60)
    events = agnhost("get", "events", "--field-selector", "involvedObject.name=liveness-http",
                     "-o", "custom-columns=R:.reason,M:.message", "--no-headers").stdout
    assert "Liveness probe failed: HTTP probe failed with statuscode: 500" in events, events
    assert "Container liveness failed liveness probe, will be restarted" in events, events


def test_debug_services_hostnames_with_agnhost_serve_hostname(agnhost):
    """The Kubernetes docs' "Debug Services" walk-through: three serve-hostname pods behind a
    Service on port 80 (targetPort 9376); each request answers with one pod's name."""
    agnhost("create", "deployment", "hostnames", "--image=registry.k8s.io/e2e-test-images/agnhost:2.53",
            "--replicas=3", "--", "/agnhost", "serve-hostname")
    agnhost("expose", "deployment", "hostnames", "--port=80", "--target-port=9376")
    agnhost("rollout", "status", "deployment/hostnames", "--timeout=90s", timeout=120)
    pods = {p.removeprefix("pod/") for p in agnhost.lines("get", "pods", "-l", "app=hostnames", "-o", "name")}
    seen = agnhost("exec", "agnhost-client", "--", "sh", "-c",
                   "for i in $(seq 30); do wget -qO- hostnames; echo; done").stdout.split()
    assert len(seen) == 30 and set(seen) == pods, seen


def test_agnhost_names_the_subcommands_it_has(agnhost):
    done = agnhost("exec", "agnhost-client", "--", "/agnhost", "guestbook", check=False)
    assert done.returncode == 1, done
    assert 'unknown command "guestbook"' in done.stderr and "netexec, pause, serve-hostname" in done.stderr, done.stderr
    assert agnhost("logs", "agnhost-client").stdout == "Paused\n"
