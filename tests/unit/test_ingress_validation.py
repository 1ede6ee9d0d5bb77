"""Ingress and IngressClass (networking.k8s.io/v1) validation, called directly: every refusal
worded as kube-apiserver's ValidateIngressCreate and ValidateIngressClass word it."""

from __future__ import annotations

from emukube.manifests.fielderrors import FieldErrors
from emukube.manifests.validate_networking import validate_ingress, validate_ingress_class

SUBDOMAIN = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
             "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
             "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
WILDCARD = ("a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist "
            "of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. "
            "'*.example.com', regex used for validation is "
            "'\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
DNS1035 = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
           "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
           "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
DNS_LABEL = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
             "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
             "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')")


def service(svc: str = "web", **port) -> dict:
    """A service backend; `port` its port fields (number 80 when none given)."""
    return {"service": {"name": svc, "port": port or {"number": 80}}}


def path(value: str | None = "/", path_type: str | None = "Prefix", backend: dict | None = None) -> dict:
    item: dict = {"backend": service() if backend is None else backend}
    if value is not None:
        item["path"] = value
    if path_type is not None:
        item["pathType"] = path_type
    return item


def ingress(spec: dict, annotations: dict | None = None) -> list[str]:
    obj = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web"}, "spec": spec}
    if annotations:
        obj["metadata"]["annotations"] = annotations
    errs = FieldErrors()
    validate_ingress(obj, errs)
    return errs.items


def ingress_class(spec: dict) -> list[str]:
    errs = FieldErrors()
    validate_ingress_class({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
                            "metadata": {"name": "c"}, "spec": spec}, errs)
    return errs.items


def test_a_host_rule_with_prefix_and_exact_paths_a_named_port_and_tls_is_valid():
    assert ingress({
        "ingressClassName": "nginx",
        "tls": [{"hosts": ["shop.example.com", "*.example.com"], "secretName": "shop-tls"}, {"hosts": ["a.io"]}],
        "rules": [
            {"host": "shop.example.com", "http": {"paths": [
                path("/", "Prefix"), path("/api/v1", "Exact", service("api", name="http")),
                path(None, "ImplementationSpecific")]}},
            {"host": "*.example.com", "http": {"paths": [path("/")]}},
            {"http": {"paths": [path("/")]}},
            {"host": "no-http.example.com"},
        ]}, annotations={"kubernetes.io/ingress.class": "nginx"}) == []


def test_a_default_backend_alone_is_valid_and_may_name_a_resource():
    assert ingress({"defaultBackend": service(number=8080)}) == []
    assert ingress({"defaultBackend": {"resource": {"apiGroup": "k8s.example.com", "kind": "StorageBucket",
                                                    "name": "static"}}}) == []


def test_an_ingress_needs_a_default_backend_or_rules():
    assert ingress({}) == ["spec: Invalid value: null: either `defaultBackend` or `rules` must be specified"]
    # Given empty, the rules print as the API server marshals them: [].
    assert ingress({"rules": [], "tls": []}) == [
        "spec: Invalid value: []: either `defaultBackend` or `rules` must be specified"]


def test_a_rule_host_is_a_dns_name_with_at_most_a_leading_wildcard_label():
    assert ingress({"rules": [{"host": "1.2.3.4"}, {"host": "010.001.1.1"}, {"host": "*.a.*.example.com"},
                              {"host": "foo.*.example.com"}, {"host": "*"}, {"host": "Shop_Example.com"}]}) == [
        'spec.rules[0].host: Invalid value: "1.2.3.4": must be a DNS name, not an IP address',
        # Go's sloppy parse takes leading zeros as an IPv4 address too.
        'spec.rules[1].host: Invalid value: "010.001.1.1": must be a DNS name, not an IP address',
        'spec.rules[2].host: Invalid value: "*.a.*.example.com": ' + WILDCARD,
        'spec.rules[3].host: Invalid value: "foo.*.example.com": ' + WILDCARD,
        'spec.rules[4].host: Invalid value: "*": ' + WILDCARD,
        'spec.rules[5].host: Invalid value: "Shop_Example.com": ' + SUBDOMAIN,
    ]


def test_an_ipv6_host_is_refused_twice():
    assert ingress({"rules": [{"host": "fd00::1"}]}) == [
        'spec.rules[0].host: Invalid value: "fd00::1": must be a DNS name, not an IP address',
        'spec.rules[0].host: Invalid value: "fd00::1": ' + SUBDOMAIN,
    ]


def test_http_needs_paths_and_each_path_a_supported_path_type():
    assert ingress({"rules": [{"host": "a.io", "http": {}},
                              {"http": {"paths": [path("/", None, backend={}), path("/", "Regex"),
                                                  path("/", "")]}}]}) == [
        "spec.rules[0].http.paths: Required value",
        # Without a pathType the API server looks no further, not even at the (missing) backend.
        "spec.rules[1].http.paths[0].pathType: Required value: pathType must be specified",
        'spec.rules[1].http.paths[1].pathType: Unsupported value: "Regex": supported values: "Exact", '
        '"ImplementationSpecific", "Prefix"',
        'spec.rules[1].http.paths[2].pathType: Unsupported value: "": supported values: "Exact", '
        '"ImplementationSpecific", "Prefix"',
    ]


def test_exact_and_prefix_paths_are_absolute_and_hold_no_dot_segments_or_encoded_slashes():
    bad = "a//b/./c/../d%2fe%2F/.."
    assert ingress({"rules": [{"http": {"paths": [
        path(bad, "Exact"), path("/static/.", "Prefix"), path(None, "Prefix"),
        path("relative", "ImplementationSpecific"), path("/a//b", "ImplementationSpecific")]}}]}) == [
        f'spec.rules[0].http.paths[0].path: Invalid value: "{bad}": must be an absolute path',
        f"spec.rules[0].http.paths[0].path: Invalid value: \"{bad}\": must not contain '//'",
        f"spec.rules[0].http.paths[0].path: Invalid value: \"{bad}\": must not contain '/./'",
        f"spec.rules[0].http.paths[0].path: Invalid value: \"{bad}\": must not contain '/../'",
        f"spec.rules[0].http.paths[0].path: Invalid value: \"{bad}\": must not contain '%2f'",
        f"spec.rules[0].http.paths[0].path: Invalid value: \"{bad}\": must not contain '%2F'",
        f"spec.rules[0].http.paths[0].path: Invalid value: \"{bad}\": cannot end with '/..'",
        "spec.rules[0].http.paths[1].path: Invalid value: \"/static/.\": cannot end with '/.'",
        'spec.rules[0].http.paths[2].path: Invalid value: "": must be an absolute path',
        # ImplementationSpecific paths are the controller's to read: only a relative one is refused.
        'spec.rules[0].http.paths[3].path: Invalid value: "relative": must be an absolute path',
    ]


def test_a_backend_is_exactly_one_of_a_service_or_a_resource():
    both = {**service(), "resource": {"kind": "Bucket", "name": "b"}}
    assert ingress({"defaultBackend": both, "rules": [{"http": {"paths": [path(backend={})]}}]}) == [
        'spec.defaultBackend: Invalid value: "": cannot set both resource and service backends',
        'spec.rules[0].http.paths[0].backend: Invalid value: "": resource or service backend is required',
    ]


def test_a_service_backend_names_a_dns_1035_label():
    assert ingress({"rules": [{"http": {"paths": [
        path(backend={"service": {"port": {"number": 80}}}), path(backend=service("1st-web")),
        path(backend=service("Web_1"))]}}]}) == [
        "spec.rules[0].http.paths[0].backend.service.name: Required value",
        'spec.rules[0].http.paths[1].backend.service.name: Invalid value: "1st-web": ' + DNS1035,
        'spec.rules[0].http.paths[2].backend.service.name: Invalid value: "Web_1": ' + DNS1035,
    ]


def test_a_service_port_is_a_name_or_a_number_not_both_nor_neither():
    assert ingress({"defaultBackend": service(name="http", number=80), "rules": [{"http": {"paths": [
        path(backend={"service": {"name": "web"}}), path(backend={"service": {"name": "web", "port": {}}}),
        path(backend=service(number=0)), path(backend=service(number=70000)), path(backend=service(number=-1)),
        path(backend=service(name="HTTP--web-port-too-long"))]}}]}) == [
        'spec.defaultBackend: Invalid value: "": cannot set both port name & port number',
        "spec.rules[0].http.paths[0].backend: Required value: port name or number is required",
        "spec.rules[0].http.paths[1].backend: Required value: port name or number is required",
        # Port 0 is the unset int32: the same as no number.
        "spec.rules[0].http.paths[2].backend: Required value: port name or number is required",
        "spec.rules[0].http.paths[3].backend.service.port.number: Invalid value: 70000: "
        "must be between 1 and 65535, inclusive",
        "spec.rules[0].http.paths[4].backend.service.port.number: Invalid value: -1: "
        "must be between 1 and 65535, inclusive",
        'spec.rules[0].http.paths[5].backend.service.port.name: Invalid value: "HTTP--web-port-too-long": '
        "must be no more than 15 characters",
        'spec.rules[0].http.paths[5].backend.service.port.name: Invalid value: "HTTP--web-port-too-long": '
        "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
        'spec.rules[0].http.paths[5].backend.service.port.name: Invalid value: "HTTP--web-port-too-long": '
        "must not contain consecutive hyphens",
    ]


def test_a_resource_backend_needs_a_kind_and_a_name_usable_in_a_path():
    assert ingress({"rules": [{"http": {"paths": [
        path(backend={"resource": {}}),
        path(backend={"resource": {"apiGroup": "Example", "kind": "a/b%", "name": ".."}})]}}]}) == [
        "spec.rules[0].http.paths[0].backend.resource.kind: Required value: kind is required",
        "spec.rules[0].http.paths[0].backend.resource.name: Required value: name is required",
        'spec.rules[0].http.paths[1].backend.resource.apiGroup: Invalid value: "Example": ' + SUBDOMAIN,
        "spec.rules[0].http.paths[1].backend.resource.kind: Invalid value: \"a/b%\": may not contain '/'",
        "spec.rules[0].http.paths[1].backend.resource.kind: Invalid value: \"a/b%\": may not contain '%'",
        "spec.rules[0].http.paths[1].backend.resource.name: Invalid value: \"..\": may not be '..'",
    ]


def test_tls_hosts_secret_and_class_name_are_dns_names():
    assert ingress({"defaultBackend": service(), "ingressClassName": "Nginx",
                    "tls": [{"hosts": ["*.example.com", "*.*.example.com", "Bad_Host"], "secretName": "Tls_Cert"}]}
                   ) == [
        'spec.tls[0].hosts[1]: Invalid value: "*.*.example.com": ' + WILDCARD,
        'spec.tls[0].hosts[2]: Invalid value: "Bad_Host": ' + SUBDOMAIN,
        'spec.tls[0].secretName: Invalid value: "Tls_Cert": ' + SUBDOMAIN,
        'spec.ingressClassName: Invalid value: "Nginx": ' + SUBDOMAIN,
    ]


def test_the_legacy_class_annotation_must_agree_with_the_class_name():
    assert ingress({"defaultBackend": service(), "ingressClassName": "traefik"},
                   annotations={"kubernetes.io/ingress.class": "nginx"}) == [
        'annotations.kubernetes.io/ingress.class: Invalid value: "nginx": must match `ingressClassName` when both '
        "are specified"]


def test_an_ingress_class_is_valid_with_a_controller_and_optional_parameters():
    assert ingress_class({"controller": "k8s.io/ingress-nginx"}) == []
    assert ingress_class({"controller": "example.com/ingress", "parameters": {
        "apiGroup": "k8s.example.com", "kind": "IngressParameters", "name": "external-lb"}}) == []
    assert ingress_class({"controller": "example.com/ingress", "parameters": {
        "kind": "ConfigMap", "name": "lb", "scope": "Namespace", "namespace": "ingress"}}) == []


def test_an_ingress_class_controller_is_a_domain_prefixed_path_of_at_most_250_bytes():
    assert ingress_class({}) == ["spec.controller: Required value"]
    assert ingress_class({"controller": "nginx"}) == [
        'spec.controller: Invalid value: "nginx": must be a domain-prefixed path (such as "acme.io/foo")']
    assert ingress_class({"controller": "Acme.io/ingress controller"}) == [
        'spec.controller: Invalid value: "Acme.io": ' + SUBDOMAIN,
        "spec.controller: Invalid value: \"ingress controller\": Invalid path (regex used for validation is "
        "'[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+')",
    ]
    assert ingress_class({"controller": "acme.io/" + "c" * 250}) == [
        "spec.controller: Too long: may not be more than 250 bytes"]


def test_ingress_class_parameters_need_a_kind_a_name_and_a_namespace_only_when_namespaced():
    assert ingress_class({"controller": "acme.io/c", "parameters": {"namespace": "x"}}) == [
        "spec.parameters.kind: Required value: kind is required",
        "spec.parameters.name: Required value: name is required",
        # v1 defaults a missing scope to Cluster before validating.
        "spec.parameters.namespace: Forbidden: `parameters.scope` is set to 'Cluster'",
    ]
    params = {"kind": "K", "name": "n"}
    assert ingress_class({"controller": "acme.io/c", "parameters": {**params, "scope": "Namespace"}}) == [
        "spec.parameters.namespace: Required value: `parameters.scope` is set to 'Namespace'"]
    assert ingress_class({"controller": "acme.io/c",
                          "parameters": {**params, "scope": "Namespace", "namespace": "Ingress.ns"}}) == [
        'spec.parameters.namespace: Invalid value: "Ingress.ns": ' + DNS_LABEL]
    assert ingress_class({"controller": "acme.io/c", "parameters": {**params, "scope": "Global"}}) == [
        'spec.parameters.scope: Unsupported value: "Global": supported values: "Cluster", "Namespace"']
