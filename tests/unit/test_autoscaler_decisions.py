"""The horizontal pod autoscaler's decisions (plan/autoscaling.py), its validation, defaults and
printer, from literal inputs."""

from __future__ import annotations

from emukube.apiserver.printers.autoscaling import autoscaler_cells
from emukube.controllers.autoscaling import conditions_with_times, pod_use, usage_of
from emukube.manifests.defaults import apply_defaults
from emukube.manifests.fielderrors import FieldErrors
from emukube.manifests.validate_autoscaling import validate_autoscaler
from emukube.plan.autoscaling import PodUse, decide

MI = 2**20


def hpa_spec(**over) -> dict:
    spec = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "maxReplicas": 5}
    spec.update(over)
    return apply_defaults({"kind": "HorizontalPodAutoscaler", "apiVersion": "autoscaling/v2",
                           "metadata": {"name": "web"}, "spec": spec})["spec"]


def cpu_pods(*millicores: int, request: float = 0.1) -> list[PodUse]:
    return [PodUse(f"web-{i}", {"cpu": request, "memory": None}, {"cpu": m / 1000, "memory": 1 * MI},
                   {"memory": "app"}) for i, m in enumerate(millicores)]


def test_defaults_are_the_api_servers():
    spec = hpa_spec()
    assert spec["minReplicas"] == 1
    assert spec["metrics"] == [{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": 80}}}]
    assert spec["behavior"]["scaleDown"] == {"stabilizationWindowSeconds": 300, "selectPolicy": "Max", "policies": [
        {"type": "Percent", "value": 100, "periodSeconds": 15}]}
    assert spec["behavior"]["scaleUp"]["policies"][0] == {"type": "Pods", "value": 4, "periodSeconds": 15}


def test_utilization_above_target_scales_up_by_the_ratio():
    spec = hpa_spec(metrics=[{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": 50}}}])
    d = decide(spec, 2, cpu_pods(100, 80), [], now=1000.0)  # 90% of requests against 50%
    assert d.replicas == 4 and d.reason == "cpu resource utilization (percentage of request) above target"
    assert d.current_metrics == [{"type": "Resource", "resource": {"name": "cpu", "current": {
        "averageUtilization": 90, "averageValue": "90m"}}}]
    assert ("ScalingActive", "True", "ValidMetricFound", "the HPA was able to successfully calculate a replica "
            "count from cpu resource utilization (percentage of request)") in d.conditions


def test_within_the_tolerance_nothing_changes():
    spec = hpa_spec(metrics=[{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": 50}}}])
    d = decide(spec, 2, cpu_pods(54, 52), [], now=1000.0)
    assert d.replicas == 2 and d.conditions[0][2] == "ReadyForNewScale"


def test_max_replicas_and_the_scale_up_rate_limit():
    spec = hpa_spec(maxReplicas=10, metrics=[{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": 10}}}])
    d = decide(spec, 1, cpu_pods(100), [], now=1000.0)  # asks for 10: at most 4 more pods or 100%
    assert d.replicas == 5 and d.recommendation == 10
    assert d.conditions[2] == ("ScalingLimited", "True", "ScaleUpLimit",
                               "the desired replica count is increasing faster than the maximum scale rate")
    capped = decide(hpa_spec(maxReplicas=3, metrics=spec["metrics"]), 1, cpu_pods(100), [], now=1000.0)
    assert capped.replicas == 3 and capped.conditions[2][2] == "TooManyReplicas"


def test_scaling_down_waits_out_the_stabilization_window():
    spec = hpa_spec(metrics=[{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": 50}}}])
    history = [(900.0, 4), (990.0, 3)]  # recommendations within the last 300 s
    d = decide(spec, 4, cpu_pods(5, 5, 5, 5), history, now=1000.0)
    assert d.replicas == 4 and d.recommendation == 1 and d.conditions[0][2] == "ScaleDownStabilized"
    later = decide(spec, 4, cpu_pods(5, 5, 5, 5), [(600.0, 4)], now=1000.0)
    assert later.replicas == 1 and later.reason == "All metrics below target"


def test_missing_requests_and_missing_metrics_are_said():
    spec = hpa_spec()
    d = decide(spec, 2, [PodUse("web-0", {"cpu": None}, {"cpu": 0.1}, {"cpu": "app"})], [], now=1.0)
    assert d.replicas == 2 and d.conditions[1] == (
        "ScalingActive", "False", "FailedGetResourceMetric", "the HPA was unable to compute the replica count: "
        "failed to get cpu utilization: missing request for cpu in container app of Pod web-0")
    none = decide(spec, 2, [PodUse("web-0", {"cpu": 0.1}, None)], [], now=1.0)
    assert "no metrics returned from resource metrics API" in none.conditions[1][3]
    assert decide(spec, 0, [], [], now=1.0).conditions[1][2] == "ScalingDisabled"


def test_average_value_of_memory():
    spec = hpa_spec(metrics=[{"type": "Resource", "resource": {"name": "memory", "target": {
        "type": "AverageValue", "averageValue": "30Mi"}}}])
    pods = [PodUse("web-0", {"memory": None}, {"memory": 90 * MI})]
    d = decide(spec, 1, pods, [], now=1.0)
    # NewMilliQuantity(raw, DecimalSI): bytes in decimal, as `kubectl get hpa` shows them
    assert d.replicas == 3 and d.current_metrics[0]["resource"]["current"] == {"averageValue": "94371840"}


def test_the_pods_requests_and_usage_as_the_api_gives_them():
    pod = {"metadata": {"name": "web-0"}, "spec": {"containers": [
        {"name": "a", "resources": {"requests": {"cpu": "100m", "memory": "16Mi"}}},
        {"name": "b", "resources": {"requests": {"cpu": "50m"}}}]}}
    use = pod_use(pod, None)
    assert use.requests == {"cpu": 0.15000000000000002, "memory": None} and use.missing == {"memory": "b"}
    metrics = {"items": [{"metadata": {"name": "web-0"}, "containers": [
        {"usage": {"cpu": "5000000n", "memory": "1Mi"}}, {"usage": {"cpu": "1m", "memory": "1Mi"}}]}]}
    assert usage_of(metrics) == {"web-0": {"cpu": 0.006, "memory": 2 * MI}}


def test_conditions_keep_their_time_while_their_status_stays():
    before = [{"type": "AbleToScale", "status": "True", "lastTransitionTime": "T0"}]
    kept = conditions_with_times([("AbleToScale", "True", "ReadyForNewScale", "m")], before, "T1")
    moved = conditions_with_times([("AbleToScale", "False", "FailedGetScale", "m")], before, "T1")
    assert kept[0]["lastTransitionTime"] == "T0" and moved[0]["lastTransitionTime"] == "T1"


def test_validation_in_the_api_servers_words():
    errs = FieldErrors()
    validate_autoscaler({"spec": {"scaleTargetRef": {"kind": "Deployment"}, "minReplicas": 3, "maxReplicas": 2,
                                  "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                                      "type": "Utilization", "averageUtilization": 0}}}]}}, errs)
    assert errs.items == ["spec.scaleTargetRef.name: Required value",
                          "spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`",
                          "spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater "
                          "than 0"]


def test_kubectls_columns():
    obj = {"metadata": {"name": "web"}, "spec": hpa_spec(minReplicas=2),
           "status": {"currentReplicas": 3, "currentMetrics": [{"type": "Resource", "resource": {
               "name": "cpu", "current": {"averageUtilization": 45, "averageValue": "45m"}}}]}}
    assert autoscaler_cells(obj, 0)[:6] == ["web", "Deployment/web", "cpu: 45%/80%", "2", "5", 3]
    obj["status"] = {}
    assert autoscaler_cells(obj, 0)[2] == "cpu: <unknown>/80%"


def test_a_count_out_of_bounds_is_brought_within_them_before_any_metric():
    spec = hpa_spec(minReplicas=2, maxReplicas=4)
    up = decide(spec, 1, [PodUse("web-0", {"cpu": None}, None)], [], now=1.0)  # no metrics, no requests
    assert (up.replicas, up.reason) == (2, "Current number of replicas below Spec.MinReplicas")
    down = decide(spec, 7, [], [], now=1.0)
    assert (down.replicas, down.reason) == (4, "Current number of replicas above Spec.MaxReplicas")
    assert down.conditions[1][:3] == ("ScalingLimited", "True", "TooManyReplicas")
