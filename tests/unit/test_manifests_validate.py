"""Validation: one test per rule, asserting the API server's wording."""

from __future__ import annotations

import copy
import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emukube.manifests import Doc, ManifestError, load_and_validate, split_supported, validate, validate_node_ports
from emukube.manifests.defaults import default_pod_spec

DNS1035 = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
           "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
           "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
DNS1123_LABEL = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
                 "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used "
                 "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
DNS1123_SUBDOMAIN = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
                     "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
                     "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
PORT_RANGE = "must be between 1 and 65535, inclusive"
HINT = "(pass --allow-privileged to allow it)"


def service(spec=None, name="web", **meta):
    spec = {"ports": [{"port": 80}]} if spec is None else spec
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, **meta}, "spec": spec}


def pod(spec=None, name="p", **container):
    c = {"name": "app", "image": "nginx:1.27", **container}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [c], **(spec or {})}}


def deployment(name="web", kind="Deployment", selector=None, labels=None, **spec):
    body = {"selector": {"matchLabels": {"app": "web"}} if selector is None else selector,
            "template": {"metadata": {"labels": {"app": "web"} if labels is None else labels},
                         "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}
    body.update(spec)
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name}, "spec": body}


def errors(*objs, allow_privileged=False) -> list[str]:
    docs = [Doc("m.yaml", i, o) for i, o in enumerate(objs)]
    return [p.message for p in validate(docs, allow_privileged=allow_privileged)]


def svc_errors(spec, name="web") -> list[str]:
    prefix = f'The Service "{name}" is invalid: '
    out = errors(service(spec, name))
    assert all(m.startswith(prefix) for m in out), out
    return [m[len(prefix):] for m in out]


def pod_errors(obj, allow_privileged=False) -> list[str]:
    out = errors(obj, allow_privileged=allow_privileged)
    return [m.split(" is invalid: ", 1)[1] for m in out]


# -- valid input ------------------------------------------------------------------------

def test_valid_objects_have_no_problems():
    objs = [service(), service({"clusterIP": "None", "selector": {"app": "db"}}, name="db"),
            service({"type": "ExternalName", "externalName": "example.com."}, name="ext"),
            service({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080, "name": "http"},
                                                   {"port": 53, "protocol": "UDP", "name": "dns"}]}, name="np"),
            pod(), deployment(), deployment(kind="ReplicaSet"), deployment(kind="StatefulSet", serviceName="db"),
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}},
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "team-a"},
             "data": {"a.conf": "x"}},
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "aGk="},
             "stringData": {"p": "plain"}}]
    assert errors(*objs) == []


# -- Service rules ----------------------------------------------------------------------

@pytest.mark.parametrize("spec, expected", [
    pytest.param({}, "spec.ports: Required value", id="ports-required"),
    pytest.param({"ports": [{"port": 80}, {"port": 81, "name": "b"}]}, "spec.ports[0].name: Required value",
                 id="multi-port-names-required"),
    pytest.param({"ports": [{"port": 80, "name": "HTTP"}]},
                 'spec.ports[0].name: Invalid value: "HTTP": ' + DNS1123_LABEL, id="port-name-dns-label"),
    pytest.param({"ports": [{"port": 80, "name": "http"}, {"port": 81, "name": "http"}]},
                 'spec.ports[1].name: Duplicate value: "http"', id="port-name-unique"),
    pytest.param({"ports": [{"port": 80, "name": "a"}, {"port": 80, "name": "b"}]},
                 'spec.ports[1]: Duplicate value: core.ServicePort{Name:"", Protocol:"TCP", '
                 'AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, '
                 'NodePort:0}',
                 id="protocol-port-unique"),
    pytest.param({"ports": [{"port": 0}]}, f"spec.ports[0].port: Invalid value: 0: {PORT_RANGE}", id="port-zero"),
    pytest.param({"ports": [{"port": 65536}]}, f"spec.ports[0].port: Invalid value: 65536: {PORT_RANGE}",
                 id="port-too-big"),
    pytest.param({"ports": [{"port": 80, "protocol": "HTTP"}]},
                 'spec.ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"',
                 id="protocol"),
    pytest.param({"ports": [{"port": 80, "targetPort": 70000}]},
                 f"spec.ports[0].targetPort: Invalid value: 70000: {PORT_RANGE}", id="target-port-range"),
    pytest.param({"ports": [{"port": 80, "targetPort": "http_port"}]},
                 'spec.ports[0].targetPort: Invalid value: "http_port": must contain only alpha-numeric characters '
                 "(a-z, 0-9), and hyphens (-)", id="target-port-name-chars"),
    pytest.param({"ports": [{"port": 80, "targetPort": "a-very-long-port-name"}]},
                 'spec.ports[0].targetPort: Invalid value: "a-very-long-port-name": must be no more than 15 characters',
                 id="target-port-name-length"),
    pytest.param({"ports": [{"port": 80, "targetPort": "8080"}]},
                 'spec.ports[0].targetPort: Invalid value: "8080": must contain at least one letter (a-z)',
                 id="target-port-quoted-number"),
    pytest.param({"ports": [{"port": 80, "targetPort": "a--b"}]},
                 'spec.ports[0].targetPort: Invalid value: "a--b": must not contain consecutive hyphens',
                 id="target-port-double-hyphen"),
    pytest.param({"ports": [{"port": 80, "targetPort": "-ab"}]},
                 'spec.ports[0].targetPort: Invalid value: "-ab": must not begin or end with a hyphen',
                 id="target-port-hyphen-edge"),
    pytest.param({"ports": [{"port": 80, "targetPort": "ab-"}]},
                 'spec.ports[0].targetPort: Invalid value: "ab-": must not begin or end with a hyphen',
                 id="target-port-trailing-hyphen"),
    pytest.param({"ports": [{"port": 80, "name": "a"}, {"port": 81}]}, "spec.ports[1].name: Required value",
                 id="second-port-name-required"),
    pytest.param({"ports": [{"port": 80, "nodePort": 30080}]},
                 "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'",
                 id="node-port-on-cluster-ip"),
    pytest.param({"type": "LoadBalancer", "ports": [{"port": 80, "nodePort": 32768}]},
                 "spec.ports[0].nodePort: Invalid value: 32768: provided port is not in the valid range. "
                 "The range of valid ports is 30000-32767", id="node-port-range-load-balancer"),
    pytest.param({"type": "NodePort", "ports": [{"port": 80}], "allocateLoadBalancerNodePorts": False},
                 "spec.allocateLoadBalancerNodePorts: Forbidden: may only be used when `type` is 'LoadBalancer'",
                 id="allocate-node-ports-without-load-balancer"),
    # The API server really names this field with a capital L.
    pytest.param({"ports": [{"port": 80}], "loadBalancerSourceRanges": ["10.0.0.0/8"]},
                 "spec.LoadBalancerSourceRanges: Forbidden: may only be used when `type` is 'LoadBalancer'",
                 id="source-ranges-without-load-balancer"),
    pytest.param({"type": "NodePort", "ports": [{"port": 80, "nodePort": 8080}]},
                 "spec.ports[0].nodePort: Invalid value: 8080: provided port is not in the valid range. "
                 "The range of valid ports is 30000-32767", id="node-port-range"),
    pytest.param({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080, "name": "a"},
                                                {"port": 81, "nodePort": 30080, "name": "b"}]},
                 "spec.ports[1].nodePort: Duplicate value: 30080", id="node-port-unique-in-service"),
    pytest.param({"type": "NodePort", "clusterIP": "None", "ports": [{"port": 80}]},
                 "spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for NodePort services",
                 id="headless-node-port"),
    pytest.param({"type": "LoadBalancer", "clusterIP": "None", "ports": [{"port": 80}]},
                 "spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for LoadBalancer services",
                 id="headless-load-balancer"),
    pytest.param({"type": "ExternalName"}, "spec.externalName: Required value", id="external-name-required"),
    pytest.param({"type": "ExternalName", "externalName": "Foo_Bar.com"},
                 'spec.externalName: Invalid value: "Foo_Bar.com": ' + DNS1123_SUBDOMAIN, id="external-name-dns"),
    pytest.param({"type": "ExternalName", "externalName": "a.com", "clusterIP": "10.0.0.5"},
                 "spec.clusterIPs: Forbidden: may not be set for ExternalName services", id="external-name-cluster-ip"),
    pytest.param({"type": "ExternalName", "externalName": "a.com", "clusterIPs": ["10.0.0.5"]},
                 "spec.clusterIPs: Forbidden: may not be set for ExternalName services", id="external-name-cluster-ips"),
    pytest.param({"type": "ExternalName", "externalName": "a.com", "clusterIP": "None"},
                 "spec.clusterIPs: Forbidden: may not be set for ExternalName services", id="external-name-headless"),
    pytest.param({"type": "ExternalName", "externalName": "Db.example.com."},
                 'spec.externalName: Invalid value: "Db.example.com": ' + DNS1123_SUBDOMAIN,
                 id="external-name-dns-trailing-dot"),
    pytest.param({"ports": [{"port": 80}], "sessionAffinity": "Sticky"},
                 'spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", "None"',
                 id="session-affinity"),
    pytest.param({"ports": [{"port": 80}], "sessionAffinity": "ClientIP",
                  "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 0}}},
                 "spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 0: must be greater than 0 and "
                 "less than 86400", id="affinity-timeout-zero"),
    pytest.param({"ports": [{"port": 80}], "sessionAffinity": "ClientIP",
                  "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 86401}}},
                 "spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 86401: must be greater than 0 "
                 "and less than 86400", id="affinity-timeout-too-long"),
    pytest.param({"ports": [{"port": 80}], "type": "Headless"},
                 'spec.type: Unsupported value: "Headless": supported values: "ClusterIP", "ExternalName", '
                 '"LoadBalancer", "NodePort"', id="type"),
    pytest.param({"ports": [{"port": 80}], "clusterIP": "10.0.0.300"},
                 'spec.clusterIPs[0]: Invalid value: "10.0.0.300": must be a valid IP address, '
                 "(e.g. 10.9.8.7 or 2001:db8::ffff)", id="cluster-ip-invalid"),
    pytest.param({"ports": [{"port": 80}], "clusterIP": "fd00::10"},
                 'spec.clusterIPs[0]: Invalid value: "fd00::10": emukube emulates IPv4 cluster IPs only',
                 id="cluster-ip-v6"),
    pytest.param({"ports": [{"port": 80}], "externalTrafficPolicy": "Local"},
                 'spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible '
                 "services", id="external-traffic-policy-cluster-ip"),
    pytest.param({"ports": [{"port": 80}], "type": "NodePort", "externalTrafficPolicy": "Global"},
                 'spec.externalTrafficPolicy: Unsupported value: "Global": supported values: "Cluster", "Local"',
                 id="external-traffic-policy-value"),
    pytest.param({"ports": [{"port": 80}], "internalTrafficPolicy": "Nearby"},
                 'spec.internalTrafficPolicy: Unsupported value: "Nearby": supported values: "Cluster", "Local"',
                 id="internal-traffic-policy"),
    pytest.param({"ports": [{"port": 80}], "selector": {"app": "a b"}},
                 'spec.selector: Invalid value: "a b": a valid label must be an empty string or consist of '
                 "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character "
                 "(e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is "
                 "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')", id="selector-labels"),
    pytest.param({"ports": [{"port": "80"}]}, 'spec.ports[0].port: Invalid value: "80": must be an integer',
                 id="port-wrong-type"),
    pytest.param({"ports": {"port": 80}}, 'spec.ports: Invalid value: "{...}": must be a list',
                 id="ports-wrong-type"),
])
def test_service_rule(spec, expected):
    assert svc_errors(spec) == [expected]


def test_service_name_is_a_dns1035_label():
    assert svc_errors({"ports": [{"port": 80}]}, name="1web") == [
        'metadata.name: Invalid value: "1web": ' + DNS1035]


def test_headless_and_external_name_services_need_no_ports():
    assert svc_errors({"clusterIP": "None"}) == []
    assert svc_errors({"type": "ExternalName", "externalName": "db.example.com"}) == []


def test_same_port_with_two_protocols_is_fine():
    assert svc_errors({"ports": [{"port": 53, "name": "a"}, {"port": 53, "protocol": "UDP", "name": "b"}]}) == []


def test_external_name_may_end_with_a_dot():
    assert svc_errors({"type": "ExternalName", "externalName": "example.com."}) == []


def test_affinity_timeout_of_one_day_is_fine():
    assert svc_errors({"ports": [{"port": 80}], "sessionAffinity": "ClientIP",
                       "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 86400}}}) == []


def test_node_port_used_twice_in_the_input_is_already_allocated():
    a = service({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}, name="a")
    b = service({"type": "LoadBalancer", "ports": [{"port": 81, "nodePort": 30080}]}, name="b")
    assert errors(a, b) == ['The Service "b" is invalid: spec.ports[0].nodePort: Invalid value: 30080: '
                            "provided port is already allocated"]


def test_validate_node_ports_against_a_running_cluster():
    docs = [Doc("m.yaml", 0, service({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080},
                                                                     {"port": 81, "nodePort": 30081}]}))]
    problems = validate_node_ports(docs, {30080: "default/other", 30081: "default/web"})
    assert [str(p) for p in problems] == ['m.yaml (document 1): The Service "web" is invalid: spec.ports[0].nodePort: '
                                          "Invalid value: 30080: provided port is already allocated"]
    assert validate_node_ports(docs, {30080: "default/web"}) == []


def test_validate_node_ports_does_not_change_the_callers_map():
    allocated = {30001: "x/y"}
    validate_node_ports([Doc("m", 0, service({"type": "NodePort", "ports": [{"port": 1, "nodePort": 30002}]}))],
                        allocated)
    assert allocated == {30001: "x/y"}


# -- every object -----------------------------------------------------------------------

def test_api_version_and_kind_are_required():
    assert errors({"metadata": {"name": "x"}}) == ['The object "x" is invalid: apiVersion: Required value',
                                                   'The object "x" is invalid: kind: Required value']
    assert errors({"kind": "Pod", "metadata": {"name": "x"}, "spec": {"containers": [{"name": "a", "image": "b"}]}}
                  ) == ['The Pod "x" is invalid: apiVersion: Required value']


def test_metadata_name_is_required():
    obj = service()
    del obj["metadata"]["name"]
    assert errors(obj) == ['The Service "" is invalid: metadata.name: Required value: name or generateName is required']


def test_wrong_api_version_for_a_known_kind():
    obj = deployment()
    obj["apiVersion"] = "extensions/v1beta1"
    assert errors(obj) == ['no matches for kind "Deployment" in version "extensions/v1beta1" '
                           "(emukube reads Deployment as apps/v1)"]


@pytest.mark.parametrize("name, message", [
    ("../etc/passwd", DNS1123_SUBDOMAIN),
    ("a/b", DNS1123_SUBDOMAIN),
    ("a..b", DNS1123_SUBDOMAIN),
    ("wéb", DNS1123_SUBDOMAIN),
    ("Web", DNS1123_SUBDOMAIN),
    ("-web", DNS1123_SUBDOMAIN),
    ("web\n", DNS1123_SUBDOMAIN),
    ("a" * 254, "must be no more than 253 characters"),
])
def test_hostile_object_names_are_refused(name, message):
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}
    out = errors(obj)
    assert len(out) == 1 and out[0].endswith(message), out
    assert "\n" not in out[0]


def test_names_print_safely():
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x\x1b[2J"}}
    assert errors(obj)[0].startswith('The ConfigMap "x\\x1b[2J" is invalid: metadata.name: Invalid value: "x\\x1b[2J"')


def test_lone_surrogates_become_replacement_characters_and_control_characters_are_escaped():
    text = json.dumps({"apiVersion": "v1", "kind": "ConfigMap\ud800List", "metadata": {"name": "x"}, "items": 3})
    text += json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a\ud800\u0007"}})
    with pytest.raises(ManifestError) as exc:
        load_and_validate(["-"], io.StringIO(text))
    assert [str(p) for p in exc.value.problems] == [
        "<stdin> (document 1): ConfigMap\ufffdList: items: must be a list, not a number",
        '<stdin> (document 2): The ConfigMap "a\ufffd\\a" is invalid: metadata.name: Invalid value: '
        '"a\ufffd\\a": ' + DNS1123_SUBDOMAIN,
    ]


def test_long_service_name_is_refused():
    assert svc_errors({"ports": [{"port": 80}]}, name="a" * 64) == [
        f'metadata.name: Invalid value: "{"a" * 64}": must be no more than 63 characters']


def test_namespace_names_are_dns1123_labels():
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team.a"}}
    assert errors(ns) == ['The Namespace "team.a" is invalid: metadata.name: Invalid value: "team.a": '
                          "must not contain dots"]
    assert errors(service(namespace="Team_A")) == [
        'The Service "web" is invalid: metadata.namespace: Invalid value: "Team_A": ' + DNS1123_LABEL]


def test_statefulset_names_are_dns1123_labels():
    assert errors(deployment(name="db.main", kind="StatefulSet")) == [
        'The StatefulSet "db.main" is invalid: metadata.name: Invalid value: "db.main": must not contain dots']


def test_label_keys_and_values_are_validated():
    out = errors(service(labels={"app/x/y": "ok", "ok": "-bad", "example.com/": "v"}))
    assert out == [
        'The Service "web" is invalid: metadata.labels: Invalid value: "app/x/y": a qualified name must consist of '
        "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. "
        "'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?"
        "[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
        'The Service "web" is invalid: metadata.labels: Invalid value: "-bad": a valid label must be an empty '
        "string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
        "alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is "
        "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
        'The Service "web" is invalid: metadata.labels: Invalid value: "example.com/": name part must be non-empty',
        'The Service "web" is invalid: metadata.labels: Invalid value: "example.com/": name part must consist of '
        "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. "
        "'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?"
        "[A-Za-z0-9]')",
    ]


def test_label_values_must_be_strings():
    assert errors(service(labels={"version": 2})) == [
        'The Service "web" is invalid: metadata.labels[version]: Invalid value: 2: must be a string']


def test_duplicate_objects_in_the_input():
    out = errors(service(), deployment(), service())
    assert out == ['Service "web" in namespace "default" already exists in the input (first defined in m.yaml, '
                   "document 1)"]


def test_same_name_in_other_namespace_or_kind_is_not_a_duplicate():
    assert errors(service(), service(namespace="other"), deployment(name="web")) == []


def test_duplicate_namespaces():
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}
    assert errors(ns, ns) == ['Namespace "a" already exists in the input (first defined in m.yaml, document 1)']


def test_unknown_kinds_are_warnings_not_problems():
    bundle = {"apiVersion": "certificates.k8s.io/v1beta1", "kind": "ClusterTrustBundle", "metadata": {"name": "x"}}
    knative = {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "metadata": {"name": "k"}}
    docs = [Doc("a.yaml", 0, bundle), Doc("a.yaml", 1, service()), Doc("a.yaml", 2, knative)]
    kept, warnings = split_supported(docs)
    assert [d.index for d in kept] == [1]
    assert warnings == ['a.yaml (document 1): skipping ClusterTrustBundle "x": emukube does not emulate this kind',
                        'a.yaml (document 3): skipping Service (serving.knative.dev/v1) "k": emukube does not '
                        "emulate this kind"]
    assert validate(docs) == []


# -- workloads --------------------------------------------------------------------------

def test_workload_selector_is_required():
    obj = deployment()
    del obj["spec"]["selector"]
    assert pod_errors(obj) == ["spec.selector: Required value"]


def test_template_labels_must_match_the_selector():
    assert pod_errors(deployment(labels={"app": "x"})) == [
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"x"}: '
        "`selector` does not match template `labels`"]


def test_template_without_labels():
    obj = deployment()
    del obj["spec"]["template"]["metadata"]
    assert pod_errors(obj) == ["spec.template.metadata.labels: Invalid value: map[string]string(nil): "
                               "`selector` does not match template `labels`"]


def test_empty_selector_is_invalid():
    assert pod_errors(deployment(selector={}, kind="ReplicaSet")) == [
        "spec.selector: Invalid value: &LabelSelector{MatchLabels:map[string]string{},MatchExpressions:"
        "[]LabelSelectorRequirement{},}: empty selector is invalid for replicaset"]


def test_selector_expressions():
    ok = {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]},
                               {"key": "tier", "operator": "DoesNotExist"}]}
    assert pod_errors(deployment(selector=ok)) == []
    bad = {"matchExpressions": [{"key": "app", "operator": "In"}, {"key": "a", "operator": "Near"}]}
    assert pod_errors(deployment(selector=bad)) == [
        "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or "
        "'NotIn'",
        'spec.selector.matchExpressions[1].operator: Invalid value: "Near": not a valid selector operator']
    no_match = {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}
    assert pod_errors(deployment(selector=no_match))[0].startswith("spec.template.metadata.labels: Invalid value")


def test_replicas_must_not_be_negative():
    assert pod_errors(deployment(replicas=-1)) == [
        "spec.replicas: Invalid value: -1: must be greater than or equal to 0"]


def test_statefulset_service_name_is_optional_and_claim_templates_are_volumes():
    claim = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    sts = deployment(kind="StatefulSet", volumeClaimTemplates=[{"metadata": {"name": "data"}, "spec": claim}])
    sts["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = [{"name": "data", "mountPath": "/d"}]
    assert pod_errors(sts) == []
    del sts["spec"]["volumeClaimTemplates"][0]["spec"]
    assert pod_errors(sts) == [
        "spec.volumeClaimTemplates[0].spec.accessModes: Required value: at least 1 access mode is required",
        "spec.volumeClaimTemplates[0].spec.resources[storage]: Required value"]


def test_statefulset_pod_management_policy():
    assert pod_errors(deployment(kind="StatefulSet", podManagementPolicy="Fast")) == [
        "spec.podManagementPolicy: Invalid value: \"Fast\": must be 'OrderedReady' or 'Parallel'"]


def test_deployment_strategy():
    assert pod_errors(deployment(strategy={"type": "Recreate", "rollingUpdate": {}})) == [
        "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"]
    assert pod_errors(deployment(strategy={"rollingUpdate": {"maxSurge": 0, "maxUnavailable": "0%"}})) == [
        "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0%: may not be 0 when `maxSurge` is 0"]
    assert pod_errors(deployment(strategy={"rollingUpdate": {"maxSurge": "lots"}})) == [
        "spec.strategy.rollingUpdate.maxSurge: Invalid value: lots: a valid percent string must be a numeric string "
        "followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"]


def test_template_restart_policy_must_be_always():
    obj = deployment()
    obj["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    assert pod_errors(obj) == ['spec.template.spec.restartPolicy: Unsupported value: "Never": '
                               'supported values: "Always"']


# -- pod specs --------------------------------------------------------------------------

def test_containers_are_required():
    assert pod_errors({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}}) == [
        "spec.containers: Required value"]


def test_container_names_are_dns_labels_and_unique():
    obj = pod(name="p")
    obj["spec"]["containers"] = [{"name": "App", "image": "a"}, {"name": "x", "image": "a"},
                                 {"name": "x", "image": "a"}, {"image": "a"}]
    assert pod_errors(obj) == ['spec.containers[0].name: Invalid value: "App": ' + DNS1123_LABEL,
                               'spec.containers[2].name: Duplicate value: "x"',
                               "spec.containers[3].name: Required value"]


def test_image_is_required():
    assert pod_errors(pod(image="")) == ["spec.containers[0].image: Required value"]


def test_container_port_range_and_required():
    assert pod_errors(pod(ports=[{"containerPort": 70000}, {"name": "x"}])) == [
        f"spec.containers[0].ports[0].containerPort: Invalid value: 70000: {PORT_RANGE}",
        "spec.containers[0].ports[1].containerPort: Required value"]


def test_container_port_names_are_iana_names_unique_in_the_pod():
    obj = pod(ports=[{"containerPort": 80, "name": "http"}, {"containerPort": 81, "name": "Metrics"}])
    obj["spec"]["containers"].append({"name": "side", "image": "b", "ports": [{"containerPort": 82, "name": "http"}]})
    assert pod_errors(obj) == [
        'spec.containers[0].ports[1].name: Invalid value: "Metrics": must contain only alpha-numeric characters '
        "(a-z, 0-9), and hyphens (-)",
        'spec.containers[1].ports[0].name: Duplicate value: "http"']


def test_probe_needs_exactly_one_handler():
    assert pod_errors(pod(livenessProbe={"exec": {"command": ["true"]}, "tcpSocket": {"port": 80}},
                          readinessProbe={"periodSeconds": 5})) == [
        "spec.containers[0].livenessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type",
        "spec.containers[0].readinessProbe: Required value: must specify a handler type"]


def test_probe_handlers_are_checked():
    assert pod_errors(pod(livenessProbe={"httpGet": {"port": "Web_UI"}, "periodSeconds": -1, "successThreshold": 2},
                          readinessProbe={"exec": {}})) == [
        'spec.containers[0].livenessProbe.httpGet.port: Invalid value: "Web_UI": must contain only alpha-numeric '
        "characters (a-z, 0-9), and hyphens (-)",
        "spec.containers[0].livenessProbe.periodSeconds: Invalid value: -1: must be greater than or equal to 0",
        "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1",
        "spec.containers[0].readinessProbe.exec.command: Required value"]


def test_volume_names_are_unique():
    obj = pod({"volumes": [{"name": "v", "emptyDir": {}}, {"name": "v", "emptyDir": {}}]})
    assert pod_errors(obj) == ['spec.volumes[1].name: Duplicate value: "v"']


def test_volume_needs_exactly_one_type():
    obj = pod({"volumes": [{"name": "a", "nfs": None}, {"name": "b", "emptyDir": {}, "hostPath": {"path": "/x"}},
                           {"name": "c", "bogus": {}}]})
    assert pod_errors(obj) == ["spec.volumes[1].emptyDir: Forbidden: may not specify more than 1 volume type",
                               "spec.volumes[2]: Required value: must specify a volume type"]


def test_a_volume_without_a_source_is_an_empty_dir():
    obj = pod({"volumes": [{"name": "scratch"}]}, volumeMounts=[{"name": "scratch", "mountPath": "/scratch"}])
    assert pod_errors(obj) == []  # SetDefaults_Volume gives it an emptyDir before validation
    assert default_pod_spec(obj["spec"])["volumes"] == [{"name": "scratch", "emptyDir": {}}]


def test_volume_mount_must_name_a_declared_volume():
    assert pod_errors(pod(volumeMounts=[{"name": "data", "mountPath": "/data"}])) == [
        'spec.containers[0].volumeMounts[0].name: Not found: "data"']


def test_mount_path_must_be_absolute():
    obj = pod({"volumes": [{"name": "data", "emptyDir": {}}]}, volumeMounts=[{"name": "data", "mountPath": "data"}])
    assert pod_errors(obj) == ['spec.containers[0].volumeMounts[0].mountPath: Invalid value: "data": '
                               "must be an absolute path"]


def test_host_path_must_be_absolute_without_backsteps():
    obj = pod({"volumes": [{"name": "a", "hostPath": {"path": "srv"}},
                           {"name": "b", "hostPath": {"path": "/srv/../etc"}}]})
    assert pod_errors(obj) == ['spec.volumes[0].hostPath.path: Invalid value: "srv": must be an absolute path',
                               "spec.volumes[1].hostPath.path: Invalid value: \"/srv/../etc\": must not contain '..'"]


def test_config_map_and_secret_item_paths_are_relative_without_backsteps():
    obj = pod({"volumes": [{"name": "a", "configMap": {"name": "c", "items": [{"key": "k", "path": "/etc/x"}]}},
                           {"name": "b", "secret": {"secretName": "s", "items": [{"key": "k", "path": "a/../../x"}]}}]})
    assert pod_errors(obj) == [
        'spec.volumes[0].configMap.items[0].path: Invalid value: "/etc/x": must be a relative path',
        "spec.volumes[1].secret.items[0].path: Invalid value: \"a/../../x\": must not contain '..'"]


def test_env_names():
    assert pod_errors(pod(env=[{"name": "9LIVES", "value": "x"}, {"value": "y"}])) == [
        'spec.containers[0].env[0].name: Invalid value: "9LIVES": a valid environment variable name must consist of '
        "alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or "
        "'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')",
        "spec.containers[0].env[1].name: Required value"]


def test_env_value_must_be_a_string():
    assert pod_errors(pod(env=[{"name": "PORT", "value": 8080}])) == [
        "spec.containers[0].env[0].value: Invalid value: 8080: must be a string"]


# -- security ---------------------------------------------------------------------------

@pytest.mark.parametrize("obj, expected", [
    (pod(securityContext={"privileged": True}),
     "spec.containers[0].securityContext.privileged: Forbidden: privileged containers are refused by default: they "
     f"control the whole host {HINT}"),
    (pod({"hostNetwork": True}), f"spec.hostNetwork: Forbidden: sharing the host's network namespace is refused by "
                                 f"default {HINT}"),
    (pod({"hostPID": True}),
     f"spec.hostPID: Forbidden: sharing the host's process namespace is refused by default {HINT}"),
    (pod({"hostIPC": True}), f"spec.hostIPC: Forbidden: sharing the host's IPC namespace is refused by default {HINT}"),
    (pod({"volumes": [{"name": "s", "hostPath": {"path": "/var/run/docker.sock"}}]}),
     f"spec.volumes[0].hostPath.path: Forbidden: is the Docker socket, which gives control of the whole host {HINT}"),
    (pod({"volumes": [{"name": "s", "hostPath": {"path": "//run//docker.sock", "type": "Socket"}}]}),
     f"spec.volumes[0].hostPath.path: Forbidden: is the Docker socket, which gives control of the whole host {HINT}"),
    (pod({"volumes": [{"name": "s", "hostPath": {"path": "/var/run/"}}]}),
     "spec.volumes[0].hostPath.path: Forbidden: contains the Docker socket /var/run/docker.sock, which gives "
     f"control of the whole host {HINT}"),
    (pod({"volumes": [{"name": "s", "hostPath": {"path": "/"}}]}),
     "spec.volumes[0].hostPath.path: Forbidden: contains the Docker socket /var/run/docker.sock, which gives "
     f"control of the whole host {HINT}"),
], ids=["privileged", "hostNetwork", "hostPID", "hostIPC", "docker-sock", "run-docker-sock", "parent-dir", "root"])
def test_privileged_settings_are_refused_unless_allowed(obj, expected):
    assert pod_errors(obj) == [expected]
    assert pod_errors(obj, allow_privileged=True) == []


def test_privileged_in_a_workload_template_is_refused():
    obj = deployment()
    obj["spec"]["template"]["spec"]["hostNetwork"] = True
    assert pod_errors(obj) == [f"spec.template.spec.hostNetwork: Forbidden: sharing the host's network namespace is "
                               f"refused by default {HINT}"]


def test_other_host_paths_are_allowed():
    assert pod_errors(pod({"volumes": [{"name": "s", "hostPath": {"path": "/var/lib/app"}}]})) == []


# -- ConfigMaps and Secrets -------------------------------------------------------------

def test_config_map_values_must_be_strings():
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"port": 8080}}
    assert errors(cm) == ['The ConfigMap "c" is invalid: data[port]: Invalid value: 8080: must be a string '
                          '(quote it: "8080")']


def test_config_map_binary_data_and_duplicate_keys():
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "x"},
          "binaryData": {"a": "eA==", "b": "x y"}}
    assert errors(cm) == [
        'The ConfigMap "c" is invalid: data[a]: Invalid value: "a": duplicate of key present in binaryData',
        'The ConfigMap "c" is invalid: binaryData[b]: Invalid value: "x y": illegal base64 data at input byte 1 '
        "(values in binaryData must be base64-encoded)"]


def test_secret_string_data_keys_are_reported_under_data_and_values_stay_hidden():
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
              "stringData": {"bad key": "x", "pin": 1234}}
    out = errors(secret)
    assert out[0].startswith('The Secret "s" is invalid: data[bad key]: Invalid value: "bad key": a valid config key')
    assert out[1] == 'The Secret "s" is invalid: stringData[pin]: Invalid value: <hidden>: must be a string'
    assert "1234" not in " ".join(out)


def test_secret_data_must_be_base64_and_is_never_echoed():
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"password": "hunter2!"}}
    assert errors(secret) == ['The Secret "s" is invalid: data[password]: Invalid value: <hidden>: illegal base64 '
                              "data at input byte 7 (values in data must be base64-encoded)"]


# -- all at once ------------------------------------------------------------------------

def test_all_problems_are_reported_at_once_with_source_and_document(tmp_path):
    a = tmp_path / "a.yaml"
    a.write_text(json.dumps(service({"ports": [{"port": 0}]})) + "\n---\n" + json.dumps(pod(image="")))
    b = tmp_path / "b.yaml"
    b.write_text(json.dumps(deployment(labels={"app": "x"})))
    with pytest.raises(ManifestError) as exc:
        load_and_validate([str(a), str(b)])
    assert [str(p) for p in exc.value.problems] == [
        f'{a} (document 1): The Service "web" is invalid: spec.ports[0].port: Invalid value: 0: {PORT_RANGE}',
        f'{a} (document 2): The Pod "p" is invalid: spec.containers[0].image: Required value',
        f'{b} (document 1): The Deployment "web" is invalid: spec.template.metadata.labels: Invalid value: '
        'map[string]string{"app":"x"}: `selector` does not match template `labels`',
    ]


def test_load_and_validate_returns_defaulted_objects_and_warnings():
    text = ("apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n---\n"
            "apiVersion: certificates.k8s.io/v1beta1\nkind: ClusterTrustBundle\nmetadata: {name: d}\n")
    objects, warnings = load_and_validate(["-"], io.StringIO(text))
    assert objects[0]["spec"]["ports"][0] == {"port": 80, "protocol": "TCP", "targetPort": 80}
    assert warnings == ['<stdin> (document 2): skipping ClusterTrustBundle "d": emukube does not emulate this kind']


# -- property test: structured junk in every field the validators read ------------------

FIELDS = ["apiVersion", "kind", "metadata", "name", "namespace", "labels", "annotations", "spec", "ports", "port",
          "targetPort", "nodePort", "protocol", "type", "clusterIP", "clusterIPs", "externalName", "selector",
          "sessionAffinity", "sessionAffinityConfig", "clientIP", "timeoutSeconds", "matchLabels",
          "matchExpressions", "key", "operator", "values", "template", "containers", "initContainers", "image",
          "env", "value", "valueFrom", "volumeMounts", "mountPath", "volumes", "hostPath", "path", "configMap",
          "secret", "items", "livenessProbe", "readinessProbe", "httpGet", "exec", "command", "securityContext",
          "privileged", "hostNetwork", "replicas", "strategy", "rollingUpdate", "maxSurge", "data", "stringData",
          "binaryData", "volumeClaimTemplates", "containerPort", "externalTrafficPolicy", "items", "lifecycle"]
KINDS = ["Service", "Pod", "Deployment", "StatefulSet", "ReplicaSet", "ConfigMap", "Secret", "Namespace", "List"]
junk = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 70000) | st.floats(allow_nan=True) | st.sampled_from(
        ["", "None", "ClientIP", "NodePort", "ExternalName", "LoadBalancer", "TCP", "/var/run/docker.sock", "..",
         "a", "http", "Always", "In", "Recreate", "v1", "apps/v1"]) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(FIELDS), children, max_size=5),
    max_leaves=25,
)


@settings(max_examples=500, deadline=None)
@given(kind=st.sampled_from(KINDS), body=st.dictionaries(st.sampled_from(FIELDS), junk, max_size=6),
       privileged=st.booleans())
def test_property_junk_in_known_fields_raises_only_manifest_error(kind, body, privileged):
    obj = {"apiVersion": "apps/v1" if kind in ("Deployment", "StatefulSet", "ReplicaSet") else "v1", "kind": kind,
           **body}
    before = copy.deepcopy(obj)
    validate([Doc("m", 0, obj)], allow_privileged=privileged)
    assert obj == before or obj != obj  # validation never mutates (NaN compares unequal to itself)
    try:
        load_and_validate(["-"], io.StringIO(json.dumps(obj)), allow_privileged=privileged)
    except ManifestError as e:
        for p in e.problems:
            str(p).encode("utf-8")
