"""Manifests naming `nginx` and `busybox`, as tutorials and charts do, on a machine no registry
answers: their pulls fail, and the pods run emukube's stand-ins, with an event saying so. The
nginx stand-in is laid out as the official image (port 80, /usr/share/nginx/html, logs on
stdout); busybox's has its tools (sh, wget, nslookup). Kubernetes' own test image, agnhost, runs
the subcommands its e2e tests and docs use: netexec's /dial through a Service (HTTP and UDP), the
docs' liveness example, kind's LoadBalancer and Ingress walk-throughs; serve_hostname, its
forerunner, behind the "Debug Services" walk-through's Service."""

from __future__ import annotations

import json
import subprocess

import httpx
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
    # The new Service answers once its proxy runs, which can come after the rollout on a loaded
    # machine (CI met `Connection refused` at the ClusterIP once): as in the Debug Services test.
    wait_until(lambda: kube("exec", "waiter", "--", "wget", "-qO-", "-T", "2", "http://plain/",
                            check=False).returncode == 0, "the plain Service answering")
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
    nowhere = f"http://{pod}:8080/dial?request=hostname&protocol=http&host=nowhere&port=80&tries=1"
    refused = agnhost("exec", "agnhost-client", "--", "curl", "-s", "-w", " %{http_code}", nowhere).stdout
    assert refused.startswith("host and/or port param are invalid.") and refused.endswith(" 400"), refused


def test_the_docs_liveness_example_is_restarted_when_healthz_fails(agnhost):
    """agnhost liveness answers /healthz with 200 for 10 s, then 500: the kubelet restarts it."""
    wait_until(lambda: agnhost.obj("get", "pod", "liveness-http")["status"]["containerStatuses"][0]["restartCount"] >= 1,
               "liveness-http restarted", timeout=60)
    events = agnhost("get", "events", "--field-selector", "involvedObject.name=liveness-http",
                     "-o", "custom-columns=R:.reason,M:.message", "--no-headers").stdout
    assert "Liveness probe failed: HTTP probe failed with statuscode: 500" in events, events
    assert "Container liveness failed liveness probe, will be restarted" in events, events


def test_the_debug_services_walk_through_with_serve_hostname(agnhost):
    """The Kubernetes docs' "Debug Services" walk-through, its commands as written: three
    serve_hostname pods behind a Service on port 80 (targetPort 9376); each request answers with
    one pod's name."""
    agnhost("create", "deployment", "hostnames", "--image=registry.k8s.io/serve_hostname")
    agnhost("scale", "deployment", "hostnames", "--replicas=3")
    agnhost("expose", "deployment", "hostnames", "--port=80", "--target-port=9376")
    agnhost("rollout", "status", "deployment/hostnames", "--timeout=90s", timeout=120)
    pods = {p.removeprefix("pod/") for p in agnhost.lines("get", "pods", "-l", "app=hostnames", "-o", "name")}
    # The new Service answers once its proxy runs: the walk-through's first curl may come sooner.
    wait_until(lambda: agnhost("exec", "agnhost-client", "--", "wget", "-qO-", "-T", "2", "hostnames",
                               check=False).stdout in pods, "the hostnames Service answering")
    seen = agnhost("exec", "agnhost-client", "--", "sh", "-c",
                   "for i in $(seq 30); do wget -qO- hostnames; echo; done").stdout.split()
    assert len(seen) == 30 and set(seen) == pods, seen


def test_agnhost_names_the_subcommands_it_has(agnhost):
    done = agnhost("exec", "agnhost-client", "--", "/agnhost", "guestbook", check=False)
    assert done.returncode == 1, done
    assert 'unknown command "guestbook"' in done.stderr and "netexec, pause, serve-hostname" in done.stderr, done.stderr
    assert agnhost("logs", "agnhost-client").stdout == "Paused\n"


def _answer(url: str) -> str | None:
    """The body of a 200 from the host; None while the Service's proxy is still starting (a
    LoadBalancer's EXTERNAL-IP is given first, as MetalLB gives it) or answers otherwise."""
    try:
        got = httpx.get(url, timeout=5)
    except httpx.HTTPError:
        return None
    return got.text if got.status_code == 200 else None


def _apply_in(kube: Kube, namespace: str, manifest: str) -> None:
    kube("create", "namespace", namespace)
    kube("-n", namespace, "apply", "-f", str(HERE / "manifests" / manifest))
    kube("-n", namespace, "wait", "--for=condition=Ready", "pod", "--all", "--timeout=90s", timeout=120)


def test_kinds_loadbalancer_example_answers_at_the_external_ip(kube):
    """kind's LoadBalancer walk-through: curl EXTERNAL-IP:5678 reaches either pod."""
    _apply_in(kube, "kind-lb", "kind_loadbalancer.yaml")
    ip = wait_until(lambda: kube("-n", "kind-lb", "get", "svc", "foo-service", "-o",
                                 "jsonpath={.status.loadBalancer.ingress[0].ip}").stdout, "an EXTERNAL-IP")
    wait_until(lambda: _answer(f"http://{ip}:5678"), "the LoadBalancer answering", timeout=30)
    seen = [_answer(f"http://{ip}:5678") for _ in range(10)]
    assert set(seen) == {"foo-app", "bar-app"}, seen


def test_kinds_ingress_example_rewrites_to_either_service(kube):
    """kind's Ingress walk-through: /foo/hostname and /bar/hostname at the Ingress's ADDRESS."""
    _apply_in(kube, "kind-ing", "kind_ingress.yaml")
    ip = wait_until(lambda: kube("-n", "kind-ing", "get", "ingress", "example-ingress", "-o",
                                 "jsonpath={.status.loadBalancer.ingress[0].ip}").stdout, "the Ingress's ADDRESS")
    for app in ("foo", "bar"):
        url = f"http://{ip}/{app}/hostname"
        assert wait_until(lambda: _answer(url), f"/{app}/hostname answering", timeout=30) == f"{app}-app"


ACCESS_NGINX = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: access-nginx}
spec:
  podSelector: {matchLabels: {app: nginx}}
  ingress:
  - from: [{podSelector: {matchLabels: {access: "true"}}}]
"""


def test_the_network_policy_tutorial_with_busybox_wget_timeouts(kube):
    """Kubernetes' "Declare Network Policy" tutorial, its commands as written: busybox's
    `wget --spider --timeout=1 nginx` (Debian's busybox lacks the option: the stand-in's wget
    adds it) answers until a policy admits only pods labelled access=true, then times out."""
    ns = ("-n", "np-tutorial")
    kube("create", "namespace", "np-tutorial")
    kube(*ns, "create", "deployment", "nginx", "--image=nginx")
    kube(*ns, "expose", "deployment", "nginx", "--port=80")
    kube(*ns, "rollout", "status", "deployment/nginx", "--timeout=90s", timeout=120)

    def spider(*labels: str, option: str = "--timeout=1") -> str:
        done = kube(*ns, "run", "busybox", "--rm", "-i", "--restart=Never", "--image=busybox:1.28", *labels,
                    "--", "wget", "--spider", *option.split(), "nginx", check=False, timeout=120)
        return done.stdout + done.stderr

    assert "remote file exists" in wait_until(lambda: "remote file exists" in (out := spider()) and out,
                                              "nginx answering busybox", timeout=60)
    kube(*ns, "apply", "-f", "-", input=ACCESS_NGINX)
    blocked = wait_until(lambda: "download timed out" in (out := spider()) and out,
                         "the policy keeping busybox out", timeout=60)
    assert "wget: download timed out" in blocked and "Segmentation fault" not in blocked, blocked
    allowed = spider("--labels=access=true", option="-T 1")
    assert "remote file exists" in allowed, allowed


def test_the_hello_minikube_tutorial_answers_with_the_time(kube):
    """Kubernetes' "Hello Minikube" tutorial: agnhost's netexec behind a LoadBalancer Service,
    whose root answers with the time ("NOW: ..."), as the tutorial shows."""
    kube("create", "deployment", "hello-node", "--image=registry.k8s.io/e2e-test-images/agnhost:2.39",
         "--", "/agnhost", "netexec", "--http-port=8080")
    kube("expose", "deployment", "hello-node", "--type=LoadBalancer", "--port=8080")
    kube("rollout", "status", "deployment/hello-node", "--timeout=90s", timeout=120)
    ip = wait_until(lambda: kube("get", "svc", "hello-node", "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}").stdout,
                    "an EXTERNAL-IP")
    assert wait_until(lambda: _answer(f"http://{ip}:8080/"), "hello-node answering", timeout=30).startswith("NOW: ")
