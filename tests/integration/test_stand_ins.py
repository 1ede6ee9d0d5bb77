"""Manifests naming `nginx` and `busybox`, as tutorials and charts do, on a machine no registry
answers: their pulls fail, and the pods run emukube's stand-ins, with an event saying so. The
nginx stand-in is laid out as the official image (port 80, /usr/share/nginx/html, logs on
stdout); busybox's has its tools (sh, wget, nslookup)."""

from __future__ import annotations

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
