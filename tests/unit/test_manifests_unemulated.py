"""Fields emukube accepts without acting on them: one warning per field, never an exception."""

from __future__ import annotations

import pytest

from emukube.manifests.load import Doc
from emukube.manifests.unemulated import unemulated_fields, without_helm_hooks


def deployment(name: str, pod_spec: dict, **spec) -> Doc:
    return Doc("chart.yaml", 0, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
                                 "spec": {"template": {"spec": pod_spec}, **spec}})


def test_one_warning_per_field_naming_every_object_that_sets_it():
    pod = {"serviceAccountName": "app", "affinity": {"nodeAffinity": {}, "podAntiAffinity": {"x": 1}},
           "tolerations": [{"key": "x"}],
           "securityContext": {"sysctls": [{"name": "a"}]},
           "containers": [{"name": "c", "image": "i", "resources": {"requests": {"cpu": "1"}, "limits": {"cpu": "1"}},
                           "securityContext": {"runAsNonRoot": True, "readOnlyRootFilesystem": True,
                                               "capabilities": {"drop": ["ALL"]}}}]}
    warnings = unemulated_fields([deployment("a", pod), deployment("b", pod, minReadySeconds=5)])
    assert warnings == [
        "pod securityContext.sysctls: not emulated (Docker's defaults apply); ignored in deployment/a, deployment/b",
        "pod spec affinity.podAntiAffinity: not emulated (pods are placed by nodeSelector, required nodeAffinity, "
        "nodeName and taints only); ignored in deployment/a, deployment/b",
        "container resources.requests: not emulated (nothing is reserved, autoscalers read them; limits do apply); ignored in deployment/a, deployment/b",
        "container securityContext.readOnlyRootFilesystem: not emulated (Docker's defaults apply); ignored in deployment/a, deployment/b",
        "Deployment spec.minReadySeconds: not emulated (a pod counts as available once ready); ignored in deployment/b",
    ]


def test_what_is_emulated_or_default_gives_no_warning():
    pod = {"dnsPolicy": "ClusterFirst", "nodeSelector": {"disk": "ssd"},
           "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}, "fsGroup": 2000,
                               "fsGroupChangePolicy": "OnRootMismatch"},
           "volumes": [{"name": "t", "emptyDir": {}}, {"name": "c", "configMap": {"name": "x"}}],
           "containers": [{"name": "c", "image": "i", "resources": {"limits": {"memory": "1Gi"}, "requests": {}},
                           "securityContext": {"privileged": False, "runAsUser": 1000}}]}
    svc = Doc("s.yaml", 1, {"kind": "Service", "metadata": {"name": "s", "annotations": {"prometheus.io/scrape": "true"}},
                            "spec": {"type": "LoadBalancer", "externalTrafficPolicy": "Local"}})
    custom_dns = {"dnsPolicy": "None", "dnsConfig": {"nameservers": ["1.1.1.1"]},
                  "containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 80, "hostPort": 8080}]}]}
    assert unemulated_fields([deployment("a", pod), deployment("b", custom_dns), svc]) == []


@pytest.mark.parametrize("junk", [None, 3, "text", [], [1, "x"], {"containers": "no"}, {"securityContext": [1]}])
def test_malformed_values_never_raise(junk):
    docs = [Doc("x", 0, {"kind": "Pod", "metadata": junk, "spec": junk}), deployment("d", junk, template=junk),
            Doc("x", 1, {"kind": "Service", "metadata": {"annotations": junk}, "spec": junk}), Doc("x", 2, junk)]
    assert isinstance(unemulated_fields(docs), list)
    assert isinstance(without_helm_hooks(docs)[1], list)


def test_helm_hooks_are_skipped_with_a_warning():
    hook = Doc("<stdin>", 4, {"kind": "Pod", "metadata": {"name": "t", "annotations": {"helm.sh/hook": "test"}}})
    plain = deployment("a", {})
    kept, warnings = without_helm_hooks([hook, plain])
    assert kept == [plain]
    assert warnings == ['<stdin> (document 5): skipping Pod "t": a Helm hook (helm.sh/hook: test), run by Helm, not installed']


def test_values_that_ask_for_the_default_get_no_warning():
    """As `kubectl get -o yaml` prints every pod: applying such an export warns of nothing."""
    exported = {"schedulerName": "default-scheduler", "preemptionPolicy": "PreemptLowerPriority",
                "containers": [{"name": "c", "image": "i", "terminationMessagePath": "/dev/termination-log",
                                "terminationMessagePolicy": "File"}]}
    assert unemulated_fields([deployment("a", exported)]) == []
    other = {"schedulerName": "volcano", "containers": [{"name": "c", "image": "i",
                                                         "terminationMessagePolicy": "FallbackToLogsOnError"}]}
    assert [w.split(":")[0] for w in unemulated_fields([deployment("b", other)])] == [
        "pod spec schedulerName", "container terminationMessagePolicy"]
