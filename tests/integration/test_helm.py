"""The real Helm 4 against emukube's API: the chart `helm create` makes, and a chart with a
ConfigMap, a Secret, a StatefulSet and a post-install hook; install --wait, `helm test`, upgrade
(server-side apply, Helm 4's default, and Helm 3's three-way patches), history, rollback, status,
uninstall, with releases stored as Secrets as Helm stores them."""

from __future__ import annotations

import re
import subprocess

import httpx
import pytest
import yaml
from conftest import HERE, wait_until
from kubectl_tools import HELM, Kube

MANIFEST = HERE / "manifests" / "incluster.yaml"  # any small cluster: the charts bring the rest
CHARTS = HERE / "charts"
# `helm create`'s chart runs nginx on the Service's port; no image can be pulled here.
ECHO = ["--set", "image.repository=emukube/echo", "--set", "image.tag=1.0", "--set", "service.port=8080"]
# Its test pod's busybox (wget): the echo image has a busybox wget.
UP_ARGS = ("--image-map", "busybox=emukube/echo:1.0")


@pytest.fixture(scope="module")
def kube(cluster, tmp_path_factory) -> Kube:
    return Kube(cluster.name, tmp_path_factory.mktemp("kube"))


def helm(kube: Kube, *args: str, check: bool = True, timeout: float = 150) -> subprocess.CompletedProcess:
    result = subprocess.run([HELM, *args], capture_output=True, text=True, env=kube.env, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def created_chart(kube, tmp_path_factory):
    where = tmp_path_factory.mktemp("charts")
    helm(kube, "create", str(where / "web"))
    return where / "web"


def ready_replicas(kube: Kube, name: str) -> str:
    return kube("get", "deployment", name, "-o", "jsonpath={.status.readyReplicas}/{.spec.replicas}").stdout


def test_install_upgrade_rollback_uninstall_the_created_chart(kube, created_chart):
    out = helm(kube, "install", "shop", str(created_chart), *ECHO, "--wait", "--timeout", "120s").stdout
    assert "STATUS: deployed" in out and "REVISION: 1" in out, out
    assert ready_replicas(kube, "shop-web") == "1/1"
    pod = kube.lines("get", "pods", "-l", "app.kubernetes.io/instance=shop", "-o", "name")[0]
    # `--wait` waits for the pod's readiness, which comes once its Service's proxy carries it.
    answer = kube("exec", pod, "--", "curl", "-s", "-m", "5", "http://shop-web:8080/hostname").stdout
    assert answer == pod.split("/")[1]
    # `helm test`: the chart's test hook pod wgets the Service and must succeed.
    tested = helm(kube, "test", "shop", "--logs", "--timeout", "60s").stdout
    assert re.search(r"TEST SUITE:\s+shop-web-test-connection\n.*\n.*\nPhase:\s+Succeeded", tested), tested
    assert "Connecting to shop-web:8080" in tested and "'index.html' saved" in tested, tested
    listed = helm(kube, "list", "-o", "yaml").stdout
    (release,) = yaml.safe_load(listed)
    assert (release["name"], release["status"], release["revision"]) == ("shop", "deployed", "1")

    helm(kube, "upgrade", "shop", str(created_chart), "--reuse-values", "--set", "replicaCount=3",
         "--wait", "--timeout", "120s")
    assert ready_replicas(kube, "shop-web") == "3/3"
    helm(kube, "rollback", "shop", "1", "--wait", "--timeout", "120s")
    assert ready_replicas(kube, "shop-web") == "1/1"
    assert "DESCRIPTION: Rollback to 1" in helm(kube, "status", "shop").stdout
    # Helm 3's way: three-way strategic-merge patches instead of server-side apply.
    helm(kube, "upgrade", "shop", str(created_chart), "--reuse-values", "--set", "replicaCount=2",
         "--server-side=false", "--wait", "--timeout", "120s")
    assert ready_replicas(kube, "shop-web") == "2/2"
    history = helm(kube, "history", "shop").stdout.splitlines()
    assert [line.split()[0] for line in history[1:]] == ["1", "2", "3", "4"], history
    stored = kube.lines("get", "secrets", "-l", "owner=helm,name=shop", "-o", "name")
    assert stored == [f"secret/sh.helm.release.v1.shop.v{n}" for n in (1, 2, 3, 4)], stored

    helm(kube, "uninstall", "shop", "--wait", "--timeout", "120s")
    assert kube("get", "deployment,service,serviceaccount", "-l", "app.kubernetes.io/instance=shop",
                "-o", "name").stdout == ""
    assert kube("get", "secrets", "-l", "owner=helm,name=shop", "-o", "name").stdout == ""
    assert helm(kube, "list", "-q").stdout.strip() == ""


def test_the_created_charts_ingress_is_served(kube, created_chart):
    helm(kube, "install", "front", str(created_chart), *ECHO, "--set", "ingress.enabled=true", "--wait",
         "--timeout", "120s")
    ingress = kube.obj("get", "ingress", "front-web")
    assert ingress["spec"]["ingressClassName"] == "emukube"  # the chart names none: the default class
    address = wait_until(lambda: kube("get", "ingress", "front-web", "-o",
                                      "jsonpath={.status.loadBalancer.ingress[0].ip}").stdout, "its ADDRESS")
    pod = kube.lines("get", "pods", "-l", "app.kubernetes.io/instance=front", "-o", "name")[0].split("/")[1]
    # The chart's host, path / as ImplementationSpecific; the port is the Service's by number.
    answer = wait_until(lambda: httpx.get(f"http://{address}/hostname", headers={"Host": "chart-example.local"},
                                          timeout=5).text, "the chart's Ingress answering", timeout=30)
    assert answer == pod
    helm(kube, "uninstall", "front", "--wait", "--timeout", "120s")
    assert kube("get", "ingress", "-o", "name").stdout == ""


def test_a_stateful_chart_with_config_secret_and_hook(kube):
    out = helm(kube, "install", "db", str(CHARTS / "stateful"), "--wait", "--timeout", "120s").stdout
    assert "STATUS: deployed" in out, out
    # The hook ran to completion after the install, then Helm deleted it (hook-succeeded).
    wait_until(lambda: kube("get", "pod", "db-migrate", check=False).returncode == 1, "the hook pod deleted")
    assert kube("get", "statefulset", "db-db", "-o", "jsonpath={.status.readyReplicas}").stdout == "2"
    env = kube("exec", "db-db-1", "--", "sh", "-c", "echo $GREETING $PASSWORD").stdout.split()
    assert env == ["hello", "s3cret"]
    reader = "--as=system:serviceaccount:default:db-reader"  # the chart's Role, bound to its account
    assert kube("auth", "can-i", "get", "configmap/db-config", reader).stdout.strip() == "yes"
    assert kube("auth", "can-i", "get", "configmap/other", reader, check=False).stdout.strip() == "no"
    # Helm's upgrade changes the ConfigMap; a rollout restart picks it up, as on Kubernetes.
    helm(kube, "upgrade", "db", str(CHARTS / "stateful"), "--set", "greeting=bonjour", "--wait", "--timeout", "120s")
    assert kube("get", "configmap", "db-config", "-o", "jsonpath={.data.greeting}").stdout == "bonjour"
    assert kube("get", "secret", "db-secret", "-o", "jsonpath={.data.password}").stdout == "czNjcmV0"  # folded
    helm(kube, "uninstall", "db", "--wait", "--timeout", "120s")
    assert kube("get", "statefulset,service,configmap,secret,serviceaccount,role,rolebinding", "-l", "app!=none",
                "-o", "name").stdout.count("db-") == 0


def test_a_node_agent_chart_waits_for_its_daemonset(kube):
    out = helm(kube, "install", "ops", str(CHARTS / "agent"), "--wait", "--timeout", "120s").stdout
    assert "STATUS: deployed" in out, out
    ds = kube.obj("get", "daemonset", "ops-agent")
    assert ds["status"]["numberReady"] == ds["status"]["desiredNumberScheduled"] >= 1, ds["status"]
    pod = kube.obj("get", "pods", "-l", "app=ops-agent")["items"][0]
    assert pod["spec"]["priority"] == 500000
    wait_until(lambda: '"count/daemonsets.apps":"1"' in kube("get", "quota", "ops-pods", "-o",
                                                              "jsonpath={.status.used}").stdout,
               "the quota counting the DaemonSet", timeout=30)
    helm(kube, "uninstall", "ops", "--wait", "--timeout", "120s")
    wait_until(lambda: not kube.obj("get", "pods", "-l", "app=ops-agent")["items"], "the agent's pods gone",
               timeout=60)
    assert kube("get", "priorityclass", "ops-agents", check=False).returncode == 1
