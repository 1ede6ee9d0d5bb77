"""Defaulting, as the API server does it for v1 and apps/v1."""

from __future__ import annotations

import copy

import pytest

from emukube.manifests import apply_defaults
from emukube.manifests.defaults import default_pull_policy


def test_never_mutates_its_input():
    obj = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
           "spec": {"ports": [{"port": 80}], "sessionAffinity": "ClientIP"}}
    before = copy.deepcopy(obj)
    out = apply_defaults(obj)
    assert obj == before and out is not obj and out["spec"]["ports"][0] is not obj["spec"]["ports"][0]


def test_namespace_defaults_to_default_except_for_namespaces():
    assert apply_defaults({"kind": "ConfigMap", "metadata": {"name": "c"}})["metadata"]["namespace"] == "default"
    assert apply_defaults({"kind": "Pod", "metadata": {"name": "c", "namespace": "x"}})["metadata"]["namespace"] == "x"
    assert "namespace" not in apply_defaults({"kind": "Namespace", "metadata": {"name": "x"}})["metadata"]


def test_service_defaults():
    spec = apply_defaults({"kind": "Service", "metadata": {"name": "s"},
                           "spec": {"ports": [{"port": 80}, {"port": 53, "protocol": "UDP", "targetPort": "dns"}]}}
                          )["spec"]
    assert spec == {"type": "ClusterIP", "sessionAffinity": "None", "internalTrafficPolicy": "Cluster",
                    "ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv4"],
                    "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80},
                              {"port": 53, "protocol": "UDP", "targetPort": "dns"}]}


def test_client_ip_affinity_timeout_defaults_to_three_hours():
    spec = apply_defaults({"kind": "Service", "spec": {"sessionAffinity": "ClientIP", "ports": []}})["spec"]
    assert spec["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}
    # Switched off (or never on): the config goes, as SetDefaults_Service drops it.
    spec = apply_defaults({"kind": "Service", "spec": {**spec, "sessionAffinity": "None"}})["spec"]
    assert "sessionAffinityConfig" not in spec


@pytest.mark.parametrize("stype, etp", [("NodePort", "Cluster"), ("LoadBalancer", "Cluster"), ("ClusterIP", None)])
def test_external_traffic_policy_only_for_externally_reachable_services(stype, etp):
    spec = apply_defaults({"kind": "Service", "spec": {"type": stype, "ports": [{"port": 1}]}})["spec"]
    assert spec.get("externalTrafficPolicy") == etp


def test_external_name_gets_no_internal_traffic_policy():
    spec = apply_defaults({"kind": "Service", "spec": {"type": "ExternalName", "externalName": "a.b"}})["spec"]
    assert "internalTrafficPolicy" not in spec and "ipFamilies" not in spec and "ipFamilyPolicy" not in spec


def test_ip_families_as_a_single_stack_cluster_allocates_them():
    """kubectl describe svc printed "IP Families: <none>"."""
    headless = apply_defaults({"kind": "Service", "spec": {"clusterIP": "None", "selector": {"a": "b"}}})["spec"]
    assert (headless["ipFamilyPolicy"], headless["ipFamilies"]) == ("SingleStack", ["IPv4"])
    alone = apply_defaults({"kind": "Service", "spec": {"clusterIP": "None", "ports": [{"port": 1}]}})["spec"]
    assert alone["ipFamilyPolicy"] == "RequireDualStack" and alone["ipFamilies"] == ["IPv4"]


def test_deployment_defaults():
    spec = apply_defaults({"kind": "Deployment", "spec": {"template": {"spec": {"containers": []}}}})["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
    assert spec["template"]["spec"]["restartPolicy"] == "Always"


def test_recreate_strategy_gets_no_rolling_update():
    spec = apply_defaults({"kind": "Deployment", "spec": {"strategy": {"type": "Recreate"}}})["spec"]
    assert spec["strategy"] == {"type": "Recreate"}


def test_statefulset_and_replicaset_defaults():
    sts = apply_defaults({"kind": "StatefulSet", "spec": {"replicas": 0}})["spec"]
    assert sts["replicas"] == 0 and sts["podManagementPolicy"] == "OrderedReady"
    assert apply_defaults({"kind": "ReplicaSet", "spec": {}})["spec"]["replicas"] == 1


def test_pod_defaults():
    spec = apply_defaults({"kind": "Pod", "spec": {"containers": [
        {"name": "a", "image": "nginx", "ports": [{"containerPort": 80}],
         "livenessProbe": {"httpGet": {"port": 80}, "periodSeconds": 5, "initialDelaySeconds": 0}}]}})["spec"]
    assert spec["restartPolicy"] == "Always" and spec["terminationGracePeriodSeconds"] == 30
    c = spec["containers"][0]
    assert c["imagePullPolicy"] == "Always"
    assert c["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert c["livenessProbe"] == {"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"}, "periodSeconds": 5,
                                  "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3}


def test_pods_and_templates_get_what_clients_read_without_looking():
    """`kubectl debug` read spec.securityContext.runAsUser of the pod and crashed when the API
    server had not defaulted it (as every real one does)."""
    pod = apply_defaults({"kind": "Pod", "spec": {"containers": [{"name": "a", "image": "nginx:1"}],
                                                  "initContainers": [{"name": "i", "image": "busybox:1"}]}})["spec"]
    assert pod["securityContext"] == {} and pod["schedulerName"] == "default-scheduler"
    for c in pod["containers"] + pod["initContainers"]:
        assert (c["terminationMessagePath"], c["terminationMessagePolicy"]) == ("/dev/termination-log", "File")
    # SetDefaults_Pod and the Priority and ServiceAccount admission plugins: pods only
    assert (pod["enableServiceLinks"], pod["priority"], pod["preemptionPolicy"]) == (True, 0, "PreemptLowerPriority")
    assert pod["serviceAccountName"] == pod["serviceAccount"] == "default"
    template = apply_defaults({"kind": "Deployment", "spec": {"template": {"spec": {"containers": [
        {"name": "a", "image": "nginx:1"}]}}}})["spec"]["template"]["spec"]
    assert template["securityContext"] == {} and template["containers"][0]["terminationMessagePolicy"] == "File"
    assert not {"enableServiceLinks", "priority", "serviceAccountName"} & set(template)
    named = apply_defaults({"kind": "Pod", "spec": {"serviceAccount": "app", "enableServiceLinks": False,
                                                    "priorityClassName": "high", "containers": []}})["spec"]
    assert named["serviceAccountName"] == "app" and named["enableServiceLinks"] is False and "priority" not in named


def test_explicit_values_are_kept():
    spec = apply_defaults({"kind": "Pod", "spec": {"restartPolicy": "Never", "containers": [
        {"name": "a", "image": "nginx", "imagePullPolicy": "Never"}]}})["spec"]
    assert spec["restartPolicy"] == "Never" and spec["containers"][0]["imagePullPolicy"] == "Never"


@pytest.mark.parametrize("image, policy", [
    ("nginx", "Always"), ("nginx:latest", "Always"), ("nginx:1.27", "IfNotPresent"),
    ("registry:5000/team/nginx", "Always"), ("registry:5000/team/nginx:2", "IfNotPresent"),
    ("nginx@sha256:abc", "IfNotPresent"), ("nginx:latest@sha256:abc", "Always"),
])
def test_image_pull_policy(image, policy):
    assert default_pull_policy(image) == policy


def test_a_pods_requests_default_to_its_limits_but_a_templates_do_not():
    container = {"name": "a", "image": "x:1", "resources": {"limits": {"cpu": "1", "memory": "64Mi"},
                                                            "requests": {"cpu": "100m"}}}
    pod = apply_defaults({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [container]}})
    assert pod["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "100m", "memory": "64Mi"}
    deploy = apply_defaults({"kind": "Deployment", "metadata": {"name": "d"},
                             "spec": {"template": {"spec": {"containers": [container]}}}})
    assert deploy["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "100m"}


def test_publish_not_ready_addresses_is_written_only_when_true():
    """ServiceSpec's PublishNotReadyAddresses is a Go bool with omitempty: false never shows."""
    def published(value):
        return apply_defaults({"kind": "Service", "spec": {"ports": [], "publishNotReadyAddresses": value}})["spec"]
    assert "publishNotReadyAddresses" not in published(False)
    assert published(True)["publishNotReadyAddresses"] is True
