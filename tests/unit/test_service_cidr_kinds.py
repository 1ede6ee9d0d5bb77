"""ServiceCIDRs and IPAddresses (networking.k8s.io/v1; manifests/validate_service_cidr.py,
apiserver/service_cidrs.py, printers/networking.py): validation in pkg/apis/networking/validation's
words, kubectl's columns, and, through the API server, the default ServiceCIDR, an IPAddress kept
for each ClusterIP, and a hand-made IPAddress refusing the Service that asks for its address."""

from __future__ import annotations

import pytest
from test_apiserver_harness import eventually, run

from emukube.apiserver import admission, service_cidrs, tables
from emukube.k8s.applied import is_system_object
from emukube.k8s.resources import BY_KEY
from emukube.manifests.validate import validate_object
from emukube.manifests.validate_service_cidr import ip_address_update_problems, service_cidr_update_problems
from emukube.plan.network import ClusterNet

NET = ClusterNet("t", 0)  # Services 10.96.0.0/18, allocated from 10.96.1.0
NOW = 1767225602.0  # 2 s after CREATED
CREATED = "2026-01-01T00:00:00Z"
NETWORKING = "/apis/networking.k8s.io/v1"
CIDRS, IPS = "servicecidrs.networking.k8s.io", "ipaddresses.networking.k8s.io"


def cidr(name: str, *cidrs: str) -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "ServiceCIDR",
            "metadata": {"name": name, "creationTimestamp": CREATED}, "spec": {"cidrs": list(cidrs)}}


def address(ip: str, **ref) -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "IPAddress",
            "metadata": {"name": ip, "creationTimestamp": CREATED}, "spec": {"parentRef": ref}}


def cells(key: str, item: dict) -> list:
    return tables.table_for(BY_KEY[key], [item], now=NOW)["rows"][0]["cells"]


def test_service_cidr_validation_in_the_api_servers_words():
    assert validate_object(cidr("extra", "10.100.0.0/16", "2001:db8::/112")) == []
    assert validate_object(cidr("extra")) == ["spec.cidrs: Required value: at least one CIDR required"]
    assert validate_object(cidr("extra", "10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16")) == [
        'spec.cidrs: Invalid value: {"CIDRs":["10.1.0.0/16","10.2.0.0/16","10.3.0.0/16"]}: may only hold up to 2 '
        'values']
    assert validate_object(cidr("Extra", "10.1.0.1/16", "010.2.0.0/16")) == [
        'metadata.name: Invalid value: "Extra": a lowercase RFC 1123 subdomain must consist of lower case '
        "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. "
        "'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*"
        "[a-z0-9])?)*')",
        'spec.cidrs[0]: Invalid value: "10.1.0.1/16": must not have bits set beyond the prefix length',
        'spec.cidrs[1]: Invalid value: "010.2.0.0/16": must not have leading 0s in IP or prefix length',
        'spec.cidrs: Invalid value: ["10.1.0.1/16","010.2.0.0/16"]: may specify no more than one IP for each IP '
        "family, i.e 192.168.0.0/24 and 2001:db8::/64"]
    assert validate_object(cidr("x", "nope", "2001:DB8::/64")) == [
        'spec.cidrs[0]: Invalid value: "nope": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
        'spec.cidrs[1]: Invalid value: "2001:DB8::/64": must be in canonical form ("2001:db8::/64")']
    assert validate_object(cidr("x", "::ffff:10.0.0.0/104")) == [
        'spec.cidrs[0]: Invalid value: "::ffff:10.0.0.0/104": must not have an IPv4-mapped IPv6 address']


def test_service_cidr_updates_keep_the_cidrs_but_may_add_a_family():
    old = cidr("extra", "10.100.0.0/16")
    assert service_cidr_update_problems(cidr("extra", "10.100.0.0/16", "2001:db8::/112"), old) == []
    assert service_cidr_update_problems(cidr("extra", "10.101.0.0/16"), old) == [
        'spec.cidrs[0]: Invalid value: "10.101.0.0/16": field is immutable']
    assert service_cidr_update_problems(cidr("extra", "10.101.0.0/16", "10.102.0.0/16"), old) == [
        'spec.cidrs[0]: Invalid value: "10.101.0.0/16": field is immutable',
        'spec.cidrs: Invalid value: ["10.101.0.0/16","10.102.0.0/16"]: may specify no more than one IP for each '
        "IP family, i.e 192.168.0.0/24 and 2001:db8::/64"]
    assert service_cidr_update_problems(cidr("extra"), old) == ["spec.cidrs: Invalid value: []: field is immutable"]
    assert service_cidr_update_problems({**old, "spec": {}}, old) == [
        "spec.cidrs: Invalid value: null: field is immutable"]


def test_ip_address_validation_in_the_api_servers_words():
    web = {"resource": "services", "namespace": "default", "name": "web"}
    assert validate_object(address("10.96.1.5", **web)) == []
    assert validate_object(address("2001:db8::5", group="gateway.networking.k8s.io", resource="gateways",
                                   name="gw")) == []
    assert validate_object({**address("10.96.1.5"), "spec": {}}) == ["spec.parentRef: Required value"]
    assert validate_object(address("web", group="Bad_Group", resource="a/b", namespace="%", name="..")) == [
        'metadata.name: Invalid value: "web": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
        'spec.parentRef.group: Invalid value: "Bad_Group": a lowercase RFC 1123 subdomain must consist of lower '
        "case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. "
        "'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*"
        "[a-z0-9])?)*')",
        "spec.parentRef.resource: Invalid value: \"a/b\": may not contain '/'",
        "spec.parentRef.name: Invalid value: \"..\": may not be '..'",
        "spec.parentRef.namespace: Invalid value: \"%\": may not contain '%'"]
    assert validate_object(address("10.096.1.5", name="x")) == [
        'metadata.name: Invalid value: "10.096.1.5": must not have leading 0s', "spec.parentRef.resource: Required value"]
    assert validate_object(address("2001:DB8::5", **web))[0] == \
        'metadata.name: Invalid value: "2001:DB8::5": must be in canonical form ("2001:db8::5")'
    assert validate_object(address("::ffff:10.96.1.5", **web))[0] == \
        'metadata.name: Invalid value: "::ffff:10.96.1.5": must not be an IPv4-mapped IPv6 address'
    assert ip_address_update_problems(address("10.96.1.5", **{**web, "name": "api"}), address("10.96.1.5", **web)) \
        == ['spec.parentRef: Invalid value: {"Group":"","Resource":"services","Namespace":"default","Name":"api"}: '
            "field is immutable"]
    assert ip_address_update_problems(address("10.96.1.5", **web), address("10.96.1.5", group="", **web)) == []


def test_printed_as_kubectl_prints_them():
    assert [c["name"] for c in tables.table_for(BY_KEY[CIDRS], [])["columnDefinitions"]] == ["Name", "CIDRs", "Age"]
    assert cells(CIDRS, cidr("kubernetes", "10.96.0.0/18", "fd00::/108")) == [
        "kubernetes", "10.96.0.0/18,fd00::/108", "2s"]
    assert [c["name"] for c in tables.table_for(BY_KEY[IPS], [])["columnDefinitions"]] == ["Name", "ParentRef"]
    web = address("10.96.1.5", resource="services", namespace="default", name="web")
    assert cells(IPS, web) == ["10.96.1.5", "services/default/web", "2s"]  # the AGE cell has no column
    gateway = address("10.96.1.6", group="Gateway.Networking.k8s.io", resource="Gateways", name="gw")
    assert cells(IPS, gateway)[1] == "gateways.gateway.networking.k8s.io/gw"
    assert cells(IPS, {**web, "spec": {}})[1] == "<none>"
    assert BY_KEY[IPS].short_names == ("ip",) and not BY_KEY[IPS].namespaced
    assert BY_KEY[CIDRS].subresources == ("status",) and not BY_KEY[CIDRS].namespaced


def test_up_never_prunes_what_the_api_server_made():
    made = service_cidrs.ip_address("10.96.1.5", {"metadata": {"namespace": "default", "name": "web"}})
    assert made["metadata"]["labels"] == {"ipaddress.kubernetes.io/ip-family": "IPv4",
                                          "ipaddress.kubernetes.io/managed-by": "ipallocator.k8s.io"}
    assert made["spec"] == {"parentRef": {"resource": "services", "namespace": "default", "name": "web"}}
    assert is_system_object(made) and is_system_object(cidr("kubernetes", "10.96.0.0/18"))
    assert not is_system_object(address("10.96.1.6", resource="services", name="x"))
    assert not is_system_object(cidr("extra", "10.100.0.0/16"))


def test_service_cidrs_deletion_rules():
    """canDeleteCIDR: held by an IPAddress in it alone unless another ServiceCIDR contains it."""
    class Fake:
        def __init__(self, cidrs, ips):
            self.objects = {CIDRS: cidrs, IPS: ips}

        def list(self, res, ns):
            return self.objects[res.key], 1

    held = service_cidrs.ip_address("10.100.0.5", {"metadata": {"namespace": "default", "name": "web"}})
    extra = cidr("extra", "10.100.0.0/24")
    assert not service_cidrs.can_delete(Fake([extra], [held]), extra)
    assert service_cidrs.can_delete(Fake([extra], []), extra)
    assert service_cidrs.can_delete(Fake([extra, cidr("wide", "10.100.0.0/16")], [held]), extra)
    network = service_cidrs.ip_address("10.100.0.0", {"metadata": {"namespace": "default", "name": "web"}})
    assert service_cidrs.can_delete(Fake([extra], [network]), extra)  # PrefixContainsIP: not the network address


@pytest.fixture
def cluster_net(monkeypatch):
    monkeypatch.setattr(admission, "_settings", admission.Settings(net=NET))
    monkeypatch.setattr(service_cidrs, "DELETION_GRACE", 0.2)


def service(name: str, **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"ports": [{"port": 80}], **spec}}


def test_the_default_service_cidr_and_the_ip_addresses_of_services(tmp_path, cluster_net):
    async def body(api):
        default = await api.ok("GET", f"{NETWORKING}/servicecidrs/kubernetes")
        assert default["spec"] == {"cidrs": ["10.96.0.0/18"]}
        assert default["metadata"]["finalizers"] == ["networking.k8s.io/service-cidr-finalizer"]
        [ready] = default["status"]["conditions"]
        assert {k: ready[k] for k in ("type", "status", "reason", "message")} == {
            "type": "Ready", "status": "True", "reason": "", "message": "Kubernetes Service CIDR is ready"}
        names = {o["metadata"]["name"]: o["spec"]["parentRef"]
                 for o in (await api.ok("GET", f"{NETWORKING}/ipaddresses"))["items"]}
        assert names == {NET.controller_ip: {"resource": "services", "namespace": "default", "name": "kubernetes"},
                         NET.dns_ip: {"resource": "services", "namespace": "kube-system", "name": "kube-dns"}}

        made = await api.ok("POST", "/api/v1/namespaces/default/services", service("web"))
        ip = made["spec"]["clusterIP"]
        ipa = await api.ok("GET", f"{NETWORKING}/ipaddresses/{ip}")
        assert ipa["spec"]["parentRef"] == {"resource": "services", "namespace": "default", "name": "web"}
        assert ipa["metadata"]["labels"]["ipaddress.kubernetes.io/managed-by"] == "ipallocator.k8s.io"
        # deleted by hand while the Service holds it: made again, as the repair controller does
        await api.ok("DELETE", f"{NETWORKING}/ipaddresses/{ip}")
        assert (await api.ok("GET", f"{NETWORKING}/ipaddresses/{ip}"))["metadata"]["uid"] != ipa["metadata"]["uid"]
        # an ExternalName Service holds no address
        made["spec"] = {"type": "ExternalName", "externalName": "example.com"}
        await api.ok("PUT", "/api/v1/namespaces/default/services/web", made)
        status, _, _ = await api.req("GET", f"{NETWORKING}/ipaddresses/{ip}")
        assert status == 404
        await api.ok("POST", "/api/v1/namespaces/default/services", service("db"))
        db_ip = (await api.ok("GET", "/api/v1/namespaces/default/services/db"))["spec"]["clusterIP"]
        await api.ok("DELETE", "/api/v1/namespaces/default/services/db")
        status, _, _ = await api.req("GET", f"{NETWORKING}/ipaddresses/{db_ip}")
        assert status == 404
    run(tmp_path, body)


def test_a_hand_made_ip_address_refuses_the_service_asking_for_it(tmp_path, cluster_net):
    async def body(api):
        await api.ok("POST", f"{NETWORKING}/ipaddresses",
                     address("10.96.1.50", resource="gateways", group="example.com", name="gw"))
        status, payload, _ = await api.req("POST", "/api/v1/namespaces/default/services",
                                           service("web", clusterIP="10.96.1.50"))
        assert status == 422
        assert payload["message"] == (
            'Service "web" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.1.50"}: failed to allocate '
            "IP 10.96.1.50: provided IP is already allocated")
        status, payload, _ = await api.req("POST", f"{NETWORKING}/ipaddresses",
                                           address(NET.dns_ip, resource="services", name="x"))
        assert status == 409
        # a picked address skips those IPAddresses hold
        picked = (await api.ok("POST", "/api/v1/namespaces/default/services", service("free")))["spec"]["clusterIP"]
        assert picked != "10.96.1.50"
    run(tmp_path, body)


def test_a_service_cidr_goes_once_no_address_depends_on_it_alone(tmp_path, cluster_net):
    async def body(api):
        made = await api.ok("POST", f"{NETWORKING}/servicecidrs", cidr("extra", "10.100.0.0/24"))
        assert made["spec"] == {"cidrs": ["10.100.0.0/24"]}
        stored = await eventually(lambda: api.ok("GET", f"{NETWORKING}/servicecidrs/extra"))
        assert stored["metadata"]["finalizers"] == ["networking.k8s.io/service-cidr-finalizer"]
        status, payload, _ = await api.req("PUT", f"{NETWORKING}/servicecidrs/extra",
                                           {**stored, "spec": {"cidrs": ["10.101.0.0/24"]}})
        assert status == 422 and payload["message"] == (
            'ServiceCIDR.networking.k8s.io "extra" is invalid: spec.cidrs[0]: Invalid value: "10.101.0.0/24": '
            "field is immutable")
        await api.ok("DELETE", f"{NETWORKING}/servicecidrs/extra")

        async def gone():
            status, _, _ = await api.req("GET", f"{NETWORKING}/servicecidrs/extra")
            return status == 404
        await eventually(gone, timeout=3.0)
        # the default one holds the Services' addresses: it stays, Terminating
        await api.ok("DELETE", f"{NETWORKING}/servicecidrs/kubernetes")
        default = await api.ok("GET", f"{NETWORKING}/servicecidrs/kubernetes")
        [ready] = default["status"]["conditions"]
        assert (ready["status"], ready["reason"], ready["message"]) == (
            "False", "Terminating", "There are still IPAddresses referencing the ServiceCIDR, please remove them or "
                                    "create a new ServiceCIDR")
        # until a ServiceCIDR containing it comes: then it goes, and is made again as the default
        await api.ok("POST", f"{NETWORKING}/servicecidrs", cidr("wide", "10.96.0.0/16"))

        async def made_again():
            now = await api.ok("GET", f"{NETWORKING}/servicecidrs/kubernetes")
            return now["metadata"]["uid"] != default["metadata"]["uid"] and now
        again = await eventually(made_again, timeout=3.0)
        assert "deletionTimestamp" not in again["metadata"] and again["spec"] == {"cidrs": ["10.96.0.0/18"]}
    run(tmp_path, body)
