"""HorizontalPodAutoscalers, as kubectl users make and watch them: a pod that holds memory
scales its Deployment up, and down again once it let go; `kubectl autoscale` of pods without
CPU requests says why it cannot compute a count."""

from __future__ import annotations

import re

import pytest
from conftest import HERE, wait_until
from kubectl_tools import Kube

MANIFEST = HERE / "manifests" / "autoscaling.yaml"
HOLD = "((head -c 90M /dev/zero; sleep {seconds}) | tail >/dev/null 2>&1 &); echo holding"


@pytest.fixture(scope="module")
def kube(cluster, tmp_path_factory) -> Kube:
    return Kube(cluster.name, tmp_path_factory.mktemp("kube"))


def replicas(kube: Kube, name: str) -> int:
    return int(kube.obj("get", "deployment", name)["spec"]["replicas"])


def test_memory_held_scales_up_and_letting_go_scales_down(kube):
    wait_until(lambda: (kube.obj("get", "hpa", "mem").get("status") or {}).get("currentMetrics"),
               "the autoscaler's first reading", timeout=30)
    row = kube.lines("get", "hpa", "mem")[1]
    assert re.match(r"mem\s+Deployment/mem\s+memory: \d+(Ki|Mi|k)?/30Mi\s+1\s+3\s+1\s", row), row
    assert replicas(kube, "mem") == 1
    # 90Mi held in one pod for a bounded time: 3x the target average, so 3 pods (maxReplicas)
    kube("exec", "deploy/mem", "--", "sh", "-c", HOLD.format(seconds=40), timeout=30)
    wait_until(lambda: replicas(kube, "mem") == 3, "scaled up to 3", timeout=45)
    events = kube("get", "events", "--field-selector", "involvedObject.name=mem,reason=SuccessfulRescale").stdout
    assert "New size: 3; reason: memory resource above target" in events, events
    text = kube("describe", "hpa", "mem").stdout
    assert re.search(r"resource memory on pods:\s+\d+(Ki|Mi|k)? / 30Mi", text), text
    # once the memory is let go, the next reading scales down (no stabilization window set)
    wait_until(lambda: replicas(kube, "mem") == 1, "scaled down to 1", timeout=90)
    assert "New size: 1; reason: All metrics below target" in kube("describe", "hpa", "mem").stdout


def test_kubectl_autoscale_without_cpu_requests_says_why(kube):
    out = kube("autoscale", "deployment", "web", "--cpu=50%", "--min=1", "--max=4")
    assert out.stdout.strip() == "horizontalpodautoscaler.autoscaling/web autoscaled", out
    hpa = kube.obj("get", "hpa", "web")
    assert hpa["apiVersion"] == "autoscaling/v2" and hpa["spec"]["behavior"]["scaleDown"][
        "stabilizationWindowSeconds"] == 300  # the API server's defaults
    wait_until(lambda: "FailedGetResourceMetric" in kube("describe", "hpa", "web").stdout, "the reason told",
               timeout=30)
    text = kube("describe", "hpa", "web").stdout
    assert re.search(r"ScalingActive\s+False\s+FailedGetResourceMetric\s+the HPA was unable to compute the replica "
                     r"count: failed to get cpu utilization: missing request for cpu in container echo of Pod web-",
                     text), text
    assert re.search(r"web\s+Deployment/web\s+cpu: <unknown>/50%\s+1\s+4\s+1\s", kube.lines("get", "hpa")[2]), \
        kube.lines("get", "hpa")
    assert replicas(kube, "web") == 1
