"""ServiceCIDRs and IPAddresses (networking.k8s.io/v1) with the real kubectl, as a 1.35 cluster
serves them: the default ServiceCIDR `kubernetes` holds the cluster's Service range, every
ClusterIP has an IPAddress naming its Service (made with the Service, gone with it), a hand-made
IPAddress refuses the Service asking for its address in the allocator's words, and `up` applies a
user's ServiceCIDR but prunes none of what the API server made."""

from __future__ import annotations

import ipaddress
import re

import pytest
from conftest import HERE, wait_until
from kubectl_tools import Kube

MANIFEST = HERE / "manifests" / "service_cidrs.yaml"


def columns(line: str) -> list[str]:
    return re.split(r"\s{2,}", line.strip())


@pytest.fixture(scope="module")
def kube(cluster, tmp_path_factory) -> Kube:
    return Kube(cluster.name, tmp_path_factory.mktemp("kube"))


@pytest.fixture(scope="module")
def service_range(kube) -> ipaddress.IPv4Network:
    """The cluster's Service range, 10.N.0.0/18, from the `kubernetes` Service's address."""
    ip = kube("get", "svc", "kubernetes", "-o", "jsonpath={.spec.clusterIP}").stdout
    return ipaddress.ip_network(f"{ip}/18", strict=False)


def ip_row(kube: Kube, ip: str) -> list[str]:
    lines = kube.lines("get", "ipaddress", ip)
    assert columns(lines[0]) == ["NAME", "PARENTREF"], lines
    return columns(lines[1])


def test_api_resources_lists_them(kube):
    rows = {columns(line)[0]: columns(line) for line in kube.lines("api-resources")[1:]}
    assert rows["servicecidrs"] == ["servicecidrs", "networking.k8s.io/v1", "false", "ServiceCIDR"]
    assert rows["ipaddresses"] == ["ipaddresses", "ip", "networking.k8s.io/v1", "false", "IPAddress"]


def test_the_default_service_cidr_holds_the_clusters_range(kube, service_range):
    lines = kube.lines("get", "servicecidrs")
    assert columns(lines[0]) == ["NAME", "CIDRS", "AGE"], lines
    rows = {columns(line)[0]: columns(line) for line in lines[1:]}
    assert rows["kubernetes"][1] == str(service_range), lines
    assert rows["extra"][1] == "10.200.0.0/24", lines  # the manifest's, applied by `up`
    default = kube.obj("get", "servicecidr", "kubernetes")
    assert default["metadata"]["finalizers"] == ["networking.k8s.io/service-cidr-finalizer"]
    ready = default["status"]["conditions"][0]
    assert (ready["type"], ready["status"], ready["message"]) == ("Ready", "True", "Kubernetes Service CIDR is ready")
    refused = kube("patch", "servicecidr", "extra", "--type=merge", "-p", '{"spec":{"cidrs":["10.201.0.0/24"]}}',
                   check=False)
    assert 'The ServiceCIDR "extra" is invalid: spec.cidrs[0]: Invalid value: "10.201.0.0/24": field is immutable' \
        in refused.stderr, refused


def test_each_cluster_ip_has_its_ip_address(kube, service_range):
    kubernetes = kube("get", "svc", "kubernetes", "-o", "jsonpath={.spec.clusterIP}").stdout
    assert ip_row(kube, kubernetes) == [kubernetes, "services/default/kubernetes"]
    web = kube("get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}").stdout
    assert ip_row(kube, web) == [web, "services/default/web"]
    kube("create", "service", "clusterip", "probe", "--tcp=80:8080")
    probe = kube("get", "svc", "probe", "-o", "jsonpath={.spec.clusterIP}").stdout
    assert ipaddress.ip_address(probe) in service_range
    assert ip_row(kube, probe) == [probe, "services/default/probe"]
    made = kube.obj("get", "ip", probe)
    assert made["metadata"]["labels"] == {"ipaddress.kubernetes.io/ip-family": "IPv4",
                                          "ipaddress.kubernetes.io/managed-by": "ipallocator.k8s.io"}
    kube("delete", "svc", "probe")
    gone = kube("get", "ipaddress", probe, check=False)
    assert f'ipaddresses.networking.k8s.io "{probe}" not found' in gone.stderr, gone


def test_a_hand_made_ip_address_refuses_the_service_asking_for_it(kube, service_range):
    taken = str(service_range.network_address + 1000)  # 10.N.3.232: in the range ClusterIPs come from
    kube("create", "-f", "-", input=f"apiVersion: networking.k8s.io/v1\nkind: IPAddress\nmetadata: {{name: {taken}}}\n"
                                    "spec: {parentRef: {group: gateway.networking.k8s.io, resource: gateways, "
                                    "namespace: default, name: gw}}\n")
    assert ip_row(kube, taken) == [taken, "gateways.gateway.networking.k8s.io/default/gw"]
    refused = kube("create", "service", "clusterip", "wants", "--tcp=80", f"--clusterip={taken}", check=False)
    assert refused.returncode != 0
    assert (f'Service "wants" is invalid: spec.clusterIPs: Invalid value: []string{{"{taken}"}}: failed to '
            f"allocate IP {taken}: provided IP is already allocated") in refused.stderr, refused
    kube("delete", "ipaddress", taken)
    kube("create", "service", "clusterip", "wants", "--tcp=80", f"--clusterip={taken}")
    assert ip_row(kube, taken) == [taken, "services/default/wants"]
    kube("delete", "svc", "wants")


def test_up_again_prunes_none_of_what_the_api_server_made(cluster, kube):
    cluster.emukube("up", str(MANIFEST), "--timeout", "120s", timeout=240)
    names = {columns(line)[0] for line in kube.lines("get", "servicecidrs")[1:]}
    assert names == {"kubernetes", "extra"}
    web = kube("get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}").stdout
    wait_until(lambda: ip_row(kube, web) == [web, "services/default/web"], "web's IPAddress", timeout=10)
    parents = {columns(line)[1] for line in kube.lines("get", "ipaddresses")[1:]}
    assert {"services/default/kubernetes", "services/kube-system/kube-dns", "services/default/web"} <= parents
