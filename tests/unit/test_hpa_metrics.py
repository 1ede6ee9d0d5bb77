"""The horizontal pod autoscaler's Pods, Object, External and ContainerResource metrics
(plan/hpa_metrics.py), its words when an API does not answer, and kubectl's TARGETS column, from
literal inputs."""

from __future__ import annotations

from emukube.apiserver.printers.autoscaling import targets
from emukube.manifests.defaults import apply_defaults
from emukube.plan.autoscaling import PodUse, Reading, decide
from emukube.plan.hpa_metrics import go_selector

NO_CUSTOM = "unable to fetch metrics from custom metrics API: no custom metrics API (custom.metrics.k8s.io) registered"


def spec_with(*metrics: dict, **over) -> dict:
    spec = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "maxReplicas": 10,
            "metrics": list(metrics), "behavior": {"scaleDown": {"stabilizationWindowSeconds": 0}}, **over}
    return apply_defaults({"kind": "HorizontalPodAutoscaler", "apiVersion": "autoscaling/v2",
                           "metadata": {"name": "web"}, "spec": spec})["spec"]


def pods(n: int, phase: str = "Running") -> list[PodUse]:
    return [PodUse(f"web-{i}", {"cpu": 0.1}, {"cpu": 0.05}, phase=phase) for i in range(n)]


PODS_METRIC = {"type": "Pods", "pods": {"metric": {"name": "requests"}, "target": {
    "type": "AverageValue", "averageValue": "200m"}}}


def test_a_pods_metric_is_averaged_over_the_pods_that_have_it():
    d = decide(spec_with(PODS_METRIC), 2, pods(2), [], 1.0, {0: Reading({"web-0": 300, "web-1": 500})})
    assert d.replicas == 4 and d.reason == "pods metric requests above target"
    assert d.current_metrics == [{"type": "Pods", "pods": {"metric": {"name": "requests"},
                                                           "current": {"averageValue": "400m"}}}]
    # a pod without a value counts as using nothing on the way up (400m over 3 pods: 1.33x)
    assert decide(spec_with(PODS_METRIC), 3, pods(3), [], 1.0, {0: Reading({"web-0": 300, "web-1": 500})}).replicas == 4
    # within the 10% tolerance: as it is
    assert decide(spec_with(PODS_METRIC), 2, pods(2), [], 1.0, {0: Reading({"web-0": 210, "web-1": 200})}).replicas == 2


def test_no_adapter_is_said_in_the_controllers_words():
    d = decide(spec_with(PODS_METRIC), 2, pods(2), [], 1.0, {0: Reading(error=NO_CUSTOM)})
    assert d.replicas == 2 and d.current_metrics == [{"type": ""}]
    assert d.conditions[1] == ("ScalingActive", "False", "FailedGetPodsMetric", "the HPA was unable to compute the "
                               f"replica count: unable to get metric requests: {NO_CUSTOM}")
    assert d.events == [("FailedGetPodsMetric", f"unable to get metric requests: {NO_CUSTOM}"),
                        ("FailedComputeMetricsReplicas", "invalid metrics (1 invalid out of 1), first error is: "
                         f"failed to get pods metric value: unable to get metric requests: {NO_CUSTOM}")]


def test_a_metric_that_fails_beside_one_that_answers_does_not_stop_scaling():
    cpu = {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 25}}}
    d = decide(spec_with(cpu, PODS_METRIC), 2, pods(2), [], 1.0, {1: Reading(error=NO_CUSTOM)})
    assert d.replicas == 4 and [e[0] for e in d.events] == ["FailedGetPodsMetric"]
    assert d.current_metrics[1] == {"type": ""}


def test_external_metrics_per_pod_and_in_total():
    queue = {"type": "External", "external": {"metric": {"name": "queue", "selector": {"matchLabels": {"q": "jobs"}}},
                                              "target": {"type": "AverageValue", "averageValue": "10"}}}
    d = decide(spec_with(queue), 1, pods(1), [], 1.0, {0: Reading({"0": 20_000, "1": 10_000})})
    assert d.replicas == 3 and d.reason == "external metric queue(&LabelSelector{MatchLabels:map[string]string" \
                                           "{q: jobs,},MatchExpressions:[]LabelSelectorRequirement{},}) above target"
    assert d.current_metrics[0]["external"]["current"] == {"averageValue": "30"}
    total = {"type": "External", "external": {"metric": {"name": "queue"}, "target": {"type": "Value", "value": "10"}}}
    d = decide(spec_with(total), 2, pods(2), [], 1.0, {0: Reading({"0": 30_000})})  # 3x the value: 3x the ready pods
    assert d.replicas == 6 and d.current_metrics[0]["external"]["current"] == {"value": "30"}
    gone = "unable to fetch metrics from external metrics API: the server could not find the requested resource " \
           "(get queue.external.metrics.k8s.io)"
    d = decide(spec_with(total), 2, pods(2), [], 1.0, {0: Reading(error=gone)}, namespace="shop")
    assert d.conditions[1][2:] == ("FailedGetExternalMetric", "the HPA was unable to compute the replica count: "
                                   f"unable to get external metric shop/queue/nil: {gone}")
    assert d.events[1][1].startswith("invalid metrics (1 invalid out of 1), first error is: failed to get queue "
                                     "external metric value: failed to get external metric queue: unable to get ")


def test_an_object_metric_scales_by_the_ready_pods():
    hits = {"type": "Object", "object": {"describedObject": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                                                             "name": "shop"},
                                         "metric": {"name": "hits"}, "target": {"type": "Value", "value": "1"}}}
    ready = pods(3)
    ready[2].ready = False
    d = decide(spec_with(hits), 3, ready, [], 1.0, {0: Reading({"": 2000})})
    assert d.replicas == 4 and d.reason == "Ingress metric hits above target"  # 2x of the 2 ready pods
    failing = decide(spec_with(hits), 3, ready, [], 1.0, {0: Reading(error="boom")}, namespace="shop")
    assert failing.events[0] == ("FailedGetObjectMetric", "unable to get metric hits: Ingress on shop shop/boom")


def test_a_container_resource_metric_reads_that_container_alone():
    metric = {"type": "ContainerResource", "containerResource": {
        "name": "cpu", "container": "app", "target": {"type": "Utilization", "averageUtilization": 50}}}
    use = [PodUse(f"web-{i}", {"cpu": 0.2}, {"cpu": 0.3}, container_requests={"app": {"cpu": 0.1}, "log": {"cpu": 0.1}},
                  container_usage={"app": {"cpu": 0.15}, "log": {"cpu": 0.15}}) for i in range(2)]
    d = decide(spec_with(metric), 2, use, [], 1.0)
    assert d.replicas == 6 and d.reason == "cpu container resource utilization (percentage of request) above target"
    assert d.current_metrics[0] == {"type": "ContainerResource", "containerResource": {
        "name": "cpu", "container": "app", "current": {"averageUtilization": 150, "averageValue": "150m"}}}
    use[1].container_usage = {"log": {"cpu": 0.1}}
    d = decide(spec_with(metric), 2, use, [], 1.0, namespace="shop")
    assert d.conditions[1][2:] == ("FailedGetContainerResourceMetric", "the HPA was unable to compute the replica "
                                   "count: failed to get cpu utilization: unable to get metrics for resource cpu: "
                                   "failed to get container metrics: container app not present in metrics for pod "
                                   "shop/web-1")


def test_selectors_as_go_prints_them():
    assert go_selector(None) == "nil"
    assert go_selector({"matchExpressions": [{"key": "q", "operator": "In", "values": ["a", "b"]}]}) == \
        "&LabelSelector{MatchLabels:map[string]string{},MatchExpressions:[]LabelSelectorRequirement{" \
        "LabelSelectorRequirement{Key:q,Operator:In,Values:[a b],},},}"


def test_kubectls_targets_column_for_every_type():
    spec = spec_with(PODS_METRIC,
                     {"type": "External", "external": {"metric": {"name": "q"}, "target": {
                         "type": "AverageValue", "averageValue": "10"}}},
                     {"type": "Object", "object": {"describedObject": {"kind": "Service", "name": "web"},
                                                   "metric": {"name": "hits"}, "target": {"type": "Value",
                                                                                          "value": "5"}}})
    status = {"currentMetrics": [{"type": "Pods", "pods": {"metric": {"name": "requests"},
                                                           "current": {"averageValue": "400m"}}}, {"type": ""}]}
    assert targets(spec, status) == "400m/200m, <unknown>/10 (avg) + 1 more..."
    assert targets({"metrics": spec["metrics"][2:]}, {}) == "<unknown>/5"


def test_a_metric_that_fails_stops_a_scale_down_the_others_ask_for():
    cpu = {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 90}}}
    d = decide(spec_with(cpu, PODS_METRIC), 4, pods(4), [], 1.0, {1: Reading(error=NO_CUSTOM)})
    assert d.replicas == 4 and d.conditions[1][2] == "FailedGetPodsMetric"
    assert d.events[-1][1].startswith("invalid metrics (1 invalid out of 2), first error is: failed to get pods ")


def test_a_pod_without_the_request_is_never_counted_as_requesting_nothing():
    cpu = {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}
    d = decide(spec_with(cpu), 1, [PodUse("web-0", {"cpu": None}, {"cpu": 0.1})], [], 1.0)
    assert d.conditions[1][3].endswith("failed to get cpu utilization: missing request for cpu in container  of Pod "
                                       "web-0")
