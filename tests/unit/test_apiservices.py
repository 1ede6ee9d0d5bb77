"""APIServices (apiserver/aggregation.py, aggregated_proxy.py, printers/apiregistration.py,
manifests/validate_apiregistration.py) from literal objects: validation and printing as
kube-aggregator 0.35 words them, the availability controller's checks of a Service and its
endpoints, and the identity headers the front proxy sends."""

from __future__ import annotations

from emukube.apiserver import aggregation
from emukube.apiserver.aggregated_proxy import auth_headers
from emukube.apiserver.printers.apiregistration import apiservice_cells
from emukube.manifests.validate import validate_object

REMOTE = {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
          "metadata": {"name": "v1beta1.custom.metrics.k8s.io"},
          "spec": {"group": "custom.metrics.k8s.io", "version": "v1beta1", "groupPriorityMinimum": 100,
                   "versionPriority": 100, "insecureSkipTLSVerify": True,
                   "service": {"namespace": "monitoring", "name": "adapter", "port": 443}}}
SERVICE = {"spec": {"type": "ClusterIP", "clusterIP": "10.96.0.7", "ports": [{"name": "https", "port": 443}]}}


def slice_of(ready: bool, port_name: str = "https") -> dict:
    return {"endpoints": [{"addresses": ["10.96.1.1"], "conditions": {"ready": ready}}],
            "ports": [{"name": port_name, "port": 6443}]}


def test_a_valid_apiservice_and_the_api_servers_refusals():
    assert validate_object(REMOTE) == []
    local = {**REMOTE, "spec": {"group": "custom.metrics.k8s.io", "version": "v1beta1", "groupPriorityMinimum": 100,
                                "versionPriority": 100, "caBundle": "YWJj", "insecureSkipTLSVerify": True}}
    assert validate_object(local) == [
        'spec.caBundle: Invalid value: "3 bytes": local APIServices may not have a caBundle',
        "spec.insecureSkipTLSVerify: Invalid value: true: local APIServices may not have insecureSkipTLSVerify"]
    bad = {**REMOTE, "metadata": {"name": "v1.other"},
           "spec": {"group": "", "version": "v2", "groupPriorityMinimum": 30000, "versionPriority": 0,
                    "service": {"namespace": "", "name": "x", "port": 70000}}}
    assert validate_object(bad) == [
        'metadata.name: Invalid value: "v1.other": must be `spec.version+"."+spec.group`: "v2."',
        "spec.group: Required value: only v1 may have an empty group and it better be legacy kube",
        "spec.groupPriorityMinimum: Invalid value: 30000: must be positive and less than 20000",
        "spec.versionPriority: Invalid value: 0: must be positive and less than 1000",
        "spec.service.namespace: Required value",
        "spec.service.port: Invalid value: 70000: port is not valid: must be between 1 and 65535, inclusive"]


def test_printed_as_kubectl_prints_it():
    now = 1_000_000.0
    local = aggregation.local_apiservice("apps", "v1", (17800, 15))
    assert apiservice_cells(local, now)[:3] == ["v1.apps", "Local", "True"]
    down = aggregation.set_available(REMOTE, "False", "MissingEndpoints", "...")
    assert down is not None and apiservice_cells(down, now)[:3] == [
        "v1beta1.custom.metrics.k8s.io", "monitoring/adapter", "False (MissingEndpoints)"]
    assert apiservice_cells(REMOTE, now)[2] == "Unknown"


def test_the_checks_before_discovery_in_the_controllers_words():
    assert aggregation.endpoint_problem(REMOTE, None, []) == (
        "False", "ServiceNotFound", 'service/adapter in "monitoring" is not present')
    other_port = {"spec": {"clusterIP": "10.96.0.7", "ports": [{"port": 8443}]}}
    assert aggregation.endpoint_problem(REMOTE, other_port, []) == (
        "False", "ServicePortError", 'service/adapter in "monitoring" is not listening on port 443')
    assert aggregation.endpoint_problem(REMOTE, SERVICE, []) == (
        "False", "EndpointsNotFound", 'cannot find endpointslices for service/adapter in "monitoring"')
    assert aggregation.endpoint_problem(REMOTE, SERVICE, [slice_of(False)]) == (
        "False", "MissingEndpoints",
        'endpointslices for service/adapter in "monitoring" have no addresses with port name "https"')
    assert aggregation.endpoint_problem(REMOTE, SERVICE, [slice_of(True, "other")])[1] == "MissingEndpoints"
    assert aggregation.endpoint_problem(REMOTE, SERVICE, [slice_of(True)]) is None
    external = {"spec": {"type": "ExternalName", "externalName": "adapter.example"}}
    assert aggregation.endpoint_problem(REMOTE, external, []) is None


def test_a_condition_keeps_its_transition_time_until_its_status_changes():
    first = aggregation.set_available(REMOTE, "False", "ServiceNotFound", "gone")
    assert first is not None
    assert aggregation.set_available(first, "False", "ServiceNotFound", "gone") is None
    again = aggregation.set_available({**first}, "False", "MissingEndpoints", "none")
    assert again is not None
    assert again["status"]["conditions"][0]["lastTransitionTime"] == \
        first["status"]["conditions"][0]["lastTransitionTime"]


def test_the_requester_travels_in_the_request_header_authenticators_headers():
    headers = auth_headers({"username": "jane", "groups": ["devs", "system:authenticated"],
                            "extra": {"scopes.example.com/x": ["a", "b"]}})
    assert headers.getall("X-Remote-User") == ["jane"]
    assert headers.getall("X-Remote-Group") == ["devs", "system:authenticated"]
    assert headers.getall("X-Remote-Extra-scopes.example.com%2Fx") == ["a", "b"]


def test_local_apiservices_for_what_is_served():
    served = aggregation.served_versions()
    assert served[("apps", "v1")] == ((17800, 15), False)
    assert served[("", "v1")] == ((18000, 1), False)
    assert ("metrics.k8s.io", "v1beta1") in served
    obj = aggregation.local_apiservice("", "v1", (18000, 1))
    assert obj["metadata"] == {"name": "v1.", "labels": {"kube-aggregator.kubernetes.io/automanaged": "onstart"}}
    assert aggregation.is_local(obj) and not aggregation.is_local(REMOTE)
