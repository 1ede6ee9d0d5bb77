"""`helm template ... | emukube up -`: a chart's whole output on stdin, with fields emukube does
not emulate and a Helm hook. One warning for each, never a crash, and the app runs as its
ServiceAccount, which its Role and RoleBinding (applied as kubectl applies them) allow."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections import Counter

import pytest
from conftest import HERE, Cluster, run, wait_until

FIXTURE = HERE / "manifests" / "helm-shop.yaml"  # written like `helm template shop ./shop` output
IMAGES = ("ghcr.io/acme/shop:1.4.2=emukube/echo:1.0", "docker.io/library/postgres:16.3=emukube/echo:1.0")
APPLIED_KINDS = ["ServiceAccount", "Role", "RoleBinding"]
IGNORED_FIELDS = ["imagePullSecrets", "affinity", "topologySpreadConstraints",
                  "securityContext.readOnlyRootFilesystem",
                  "resources.requests", "loadBalancerSourceRanges", "load-balancer annotations",
                  "minReadySeconds", "terminationMessagePolicy", "NetworkPolicy", "Ingress controller annotations"]


@pytest.fixture(scope="module")
def chart(engine):
    name = f"t{os.getpid() % 100000}helm"
    image_map = [arg for pair in IMAGES for arg in ("--image-map", pair)]
    try:
        result = run("up", "-", "--timeout", "200s", *image_map, cluster=name, input=FIXTURE.read_text(),
                     timeout=300, check=False)
        yield Cluster(name), result
    finally:
        run("down", cluster=name, check=False)


def test_the_chart_comes_up_with_one_warning_per_skipped_document_and_ignored_field(chart):
    _, result = chart
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    for kind in APPLIED_KINDS:
        assert not any(f" {kind} " in w for w in warnings), (kind, warnings)
    hook = [w for w in warnings if "shop-test-connection" in w]
    assert len(hook) == 1 and "helm.sh/hook: test" in hook[0]
    for field in IGNORED_FIELDS:
        assert sum(field in w for w in warnings) == 1, (field, warnings)
    # One line per field however many objects set it, each object named.
    requests = next(w for w in warnings if "resources.requests" in w)
    assert "deployment/shop" in requests and "statefulset/shop-db" in requests
    assert all(n == 1 for n in Counter(warnings).values())
    # What emukube does emulate is not reported as ignored.
    for emulated in ("capabilities", "seccompProfile", "readinessProbe", "limits", "envFrom", "serviceAccountName",
                     "runAsNonRoot", "runAsUser", "persistentVolumeClaimRetentionPolicy", "fsGroup",
                     "PodDisruptionBudget", "HorizontalPodAutoscaler", "priorityClassName", "PriorityClass",
                     "downwardAPI", "resourceFieldRef"):
        assert not any(re.search(rf"\b{emulated}\b", w.split(": not emulated")[0]) for w in warnings), emulated


def test_the_app_runs_with_its_config_secret_and_database(chart):
    cluster, _ = chart
    pods = cluster.pods()
    assert len([p for p in pods if p.startswith("shop-") and p != "shop-db-0"]) == 2
    assert "shop-db-0" in pods and "worker" in " ".join(pods)
    assert "shop-test-connection" not in pods  # a Helm hook: not installed
    # The chart's PriorityClass gives its web pods their priority (nothing is preempted).
    listed = json.loads(cluster.emukube("get", "pods", "-o", "json").stdout)["items"]
    priorities = [p["spec"].get("priority") for p in listed]
    assert priorities.count(100000) == 2, priorities
    env = {name: cluster.emukube("curl", f"svc/shop/env?name={name}").stdout
           for name in ("LOG_LEVEL", "DB_PASSWORD", "DB_HOST", "MEMORY_LIMIT")}
    assert env == {"LOG_LEVEL": "info", "DB_PASSWORD": "pizza", "DB_HOST": "shop-db-0.shop-db",
                   "MEMORY_LIMIT": str(256 * 2**20)}
    db = cluster.emukube("curl", "svc/shop-db:5432/hostname")
    assert db.stdout == "shop-db-0" and "headless" in db.stderr
    lb = cluster.svc_field("shop", 3)
    assert lb.startswith("127.") and cluster.svc_field("shop", 1) == "LoadBalancer"
    # Its Ingress (class nginx: emukube's controller stands in) answers at its ADDRESS, on 443 with
    # the fake certificate, as its TLS Secret (cert-manager's) never comes here.
    address = wait_until(lambda: cluster.emukube("kubectl", "--", "get", "ingress", "shop", "-o",
                                                 "jsonpath={.status.loadBalancer.ingress[0].ip}").stdout,
                         "the Ingress's ADDRESS")
    answer = subprocess.run(["curl", "-sk", "--max-time", "5", "--resolve", f"shop.example.com:443:{address}",
                             "https://shop.example.com/hostname"], capture_output=True, text=True, timeout=10)
    assert answer.stdout.startswith("shop-") and answer.stdout != "shop-db-0", answer


def test_the_pods_run_as_the_charts_account_with_what_its_role_grants(chart):
    cluster, result = chart
    assert "serviceaccount/shop created" in result.stdout and "rolebinding/shop created" \
        in result.stdout, result.stdout
    listed = json.loads(cluster.emukube("get", "pods", "-o", "json").stdout)["items"]
    assert {p["spec"]["serviceAccountName"] for p in listed if p["metadata"]["name"].startswith("shop-")} == {"shop"}
    kubectl = ("kubectl", "--", "auth", "can-i", "--as=system:serviceaccount:default:shop")
    assert cluster.emukube(*kubectl, "watch", "configmaps").stdout.strip() == "yes"
    assert cluster.emukube(*kubectl, "list", "secrets", check=False).stdout.strip() == "no"
    again = run("up", "-", "--image-map", IMAGES[0], "--image-map", IMAGES[1], cluster=cluster.name,
                input=FIXTURE.read_text(), timeout=300)
    assert "role/shop unchanged" in again.stdout, again.stdout
    assert "serviceaccount/shop unchanged" in again.stdout


def test_the_charts_autoscaler_keeps_its_minimum(chart):
    """The chart's HorizontalPodAutoscaler (cpu, minReplicas 2) reads the pods' requests and usage;
    idle, it asks for one pod and keeps the two its minimum says."""
    cluster, _ = chart
    wait_until(lambda: "cpu: " in cluster.emukube("get", "hpa", "shop").stdout and
               "<unknown>" not in cluster.emukube("get", "hpa", "shop").stdout, "the autoscaler's reading", timeout=60)
    row = cluster.emukube("get", "hpa", "shop").stdout.splitlines()[1]
    assert re.match(r"shop\s+Deployment/shop\s+cpu: \d+%/80%\s+2\s+10\s+2\s", row), row
    assert len([p for p in cluster.pods() if p.startswith("shop-") and p != "shop-db-0"]) == 2
