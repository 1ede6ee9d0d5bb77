"""HorizontalPodAutoscalers, as kubectl users make and watch them: a pod that holds memory
scales its Deployment up, and down again once it let go; `kubectl autoscale` of pods without
CPU requests says why it cannot compute a count."""

from __future__ import annotations

import json
import re

import pytest
from conftest import HERE, wait_until
from kubectl_tools import Kube

from emukube.lifecycle.pki import make_pki

MANIFEST = HERE / "manifests" / "autoscaling.yaml"
ADAPTER = HERE / "metrics_adapter"
HOLD = "((head -c 90M /dev/zero; sleep {seconds}) | tail >/dev/null 2>&1 &); echo holding"


@pytest.fixture(scope="module")
def kube(cluster, tmp_path_factory) -> Kube:
    return Kube(cluster.name, tmp_path_factory.mktemp("kube"))


def replicas(kube: Kube, name: str) -> int:
    return int(kube.obj("get", "deployment", name)["spec"]["replicas"])


def test_memory_held_scales_up_and_letting_go_scales_down(kube):
    # (a metric not read yet is written as {"type": ""}, as kube-controller-manager writes it)
    wait_until(lambda: ((kube.obj("get", "hpa", "mem").get("status") or {}).get("currentMetrics") or [{}])[0].get(
        "resource"), "the autoscaler's first reading", timeout=30)
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


PODS_METRIC = """    - type: Pods
      pods:
        metric: {name: requests_per_second}
        target: {type: AverageValue, averageValue: "10"}
"""
OBJECT_METRIC = """    - type: Object
      object:
        describedObject: {apiVersion: apps/v1, kind: Deployment, name: worker}
        metric: {name: hits}
        target: {type: Value, value: "1"}
"""
WORKER_HPA = """
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: worker}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: worker}
  minReplicas: 1
  maxReplicas: 4
  metrics:
    - type: External
      external:
        metric: {name: jobs}
        target: {type: AverageValue, averageValue: "2"}
{pods}  behavior:
    scaleDown: {stabilizationWindowSeconds: 0}
"""
NOT_SERVED = ("unable to get external metric default/jobs/nil: unable to fetch metrics from external metrics API: "
              "the server could not find the requested resource (get jobs.external.metrics.k8s.io)")


def events_of(kube: Kube, reason: str) -> str:
    return kube("get", "events", "--field-selector", f"involvedObject.name=worker,reason={reason}").stdout


def test_external_metrics_come_from_the_adapter_registered_for_them(kube, tmp_path):
    kube("apply", "-f", "-", input=WORKER_HPA.replace("{pods}", PODS_METRIC))
    # no adapter yet: the controller's own words, for both metrics, and the count kept
    wait_until(lambda: "FailedComputeMetricsReplicas" in events_of(kube, "FailedComputeMetricsReplicas"),
               "the metrics said to be invalid", timeout=30)
    text = kube("describe", "hpa", "worker").stdout
    assert re.search(r"ScalingActive\s+False\s+FailedGetExternalMetric\s+the HPA was unable to compute the replica "
                     r"count: " + re.escape(NOT_SERVED), text), text
    assert NOT_SERVED in events_of(kube, "FailedGetExternalMetric")
    assert "unable to get metric requests_per_second: unable to fetch metrics from custom metrics API: no custom " \
           "metrics API (custom.metrics.k8s.io) registered" in events_of(kube, "FailedGetPodsMetric")
    assert "invalid metrics (2 invalid out of 2), first error is: failed to get jobs external metric value: failed " \
           "to get jobs external metric: " + NOT_SERVED in events_of(kube, "FailedComputeMetricsReplicas")
    assert kube.lines("get", "hpa", "worker")[1].split()[2:4] == ["<unknown>/2", "(avg),"]
    # Without the Pods metric no adapter serves (while one fails, the controller never scales down);
    # an adapter in a pod, registered as the APIService of external.metrics.k8s.io: 6 jobs for 2 a pod
    kube("apply", "-f", "-", input=WORKER_HPA.replace("{pods}", ""))
    pki = make_pki("adapter", [], ["adapter.metrics.svc"])
    (tmp_path / "tls.crt").write_bytes(pki.server_cert)
    (tmp_path / "tls.key").write_bytes(pki.server_key)
    kube("create", "secret", "tls", "adapter-tls", "-n", "metrics", f"--cert={tmp_path / 'tls.crt'}",
         f"--key={tmp_path / 'tls.key'}")
    kube("create", "configmap", "adapter-program", "-n", "metrics", f"--from-file={ADAPTER / 'server.py'}")
    kube("create", "configmap", "metric-values", "-n", "metrics", "--from-literal=jobs=6")
    kube("apply", "-f", str(ADAPTER / "deploy.yaml"))
    wait_until(lambda: replicas(kube, "worker") == 3, "scaled up to 3 by the jobs waiting", timeout=90)
    # the event and the status are written just after the scale: looked for until there
    wait_until(lambda: "New size: 3; reason: external metric jobs(nil) above target" in events_of(
        kube, "SuccessfulRescale"), "the rescale told", timeout=30)
    wait_until(lambda: kube.obj("get", "hpa", "worker")["status"]["currentMetrics"][0].get("external", {}).get(
        "metric") == {"name": "jobs"}, "the external metric in the status", timeout=30)
    # (read once the Deployment's status counts its 3 pods: a sync or two)
    wait_until(lambda: kube.lines("get", "hpa", "worker")[1].split()[2:4] == ["2/2", "(avg)"], "6 jobs over 3 pods",
               timeout=60)
    # the jobs done: back to one pod (no stabilization window)
    values = kube("create", "configmap", "metric-values", "-n", "metrics", "--from-literal=jobs=0",
                  "--dry-run=client", "-o", "yaml").stdout
    kube("replace", "-f", "-", input=values)
    wait_until(lambda: replicas(kube, "worker") == 1, "scaled down to 1", timeout=90)
    wait_until(lambda: "New size: 1; reason: All metrics below target" in events_of(kube, "SuccessfulRescale"),
               "the scale-down told", timeout=30)
    # A Pods metric from custom.metrics.k8s.io (found by discovery): 30 requests a second where 10 are wanted
    running = [p["metadata"]["name"] for p in kube.obj("get", "pods", "-l", "app=worker")["items"]
               if not p["metadata"].get("deletionTimestamp")]  # not the two being stopped
    values = kube("create", "configmap", "metric-values", "-n", "metrics", "--from-literal=jobs=0",
                  f"--from-literal=requests_per_second={json.dumps({pod: '30' for pod in running})}",
                  "--from-literal=hits=1", "--dry-run=client", "-o", "yaml").stdout
    kube("replace", "-f", "-", input=values)
    kube("apply", "-f", "-", input=WORKER_HPA.replace("{pods}", PODS_METRIC + OBJECT_METRIC).replace(
        'averageValue: "2"', 'averageValue: "100"'))
    wait_until(lambda: replicas(kube, "worker") == 3, "scaled up to 3 by the pods' metric", timeout=90)
    wait_until(lambda: "New size: 3; reason: pods metric requests_per_second above target" in events_of(
        kube, "SuccessfulRescale"), "the rescale by the pods' metric told", timeout=30)
    wait_until(lambda: "0/100 (avg), 30/10 + 1 more..." in kube.lines("get", "hpa", "worker")[1],
               "the status of the sync that scaled", timeout=30)
    current = kube.obj("get", "hpa", "worker")["status"]["currentMetrics"]
    assert current[2] == {"type": "Object", "object": {  # an object's metric, the Deployment's own "hits"
        "describedObject": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "worker"},
        "metric": {"name": "hits"}, "current": {"value": "1"}}}, current
