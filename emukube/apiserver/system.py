"""The objects every cluster has before anyone applies anything, kept by the API server as
kube-apiserver's bootstrap controllers and the service-account controller keep them: the system
namespaces, a `default` ServiceAccount in every namespace, the `kubernetes` Service in
`default` (port 443 at the API server's own address, which it serves itself: plan/network.py)
whose Endpoints and EndpointSlice name the API server, so that pods reach it as
`kubernetes.default.svc` with in-cluster config, and `kube-dns` in `kube-system` at CoreDNS's;
then the default ServiceCIDR and the Services' IPAddresses (service_cidrs.py)."""

from __future__ import annotations

import copy
import json
import logging
import os

from ..k8s.resources import BY_KEY
from ..manifests.validate_scheduling import SYSTEM_CLASSES, system_class
from ..plan import system_pods
from ..plan.ingress import default_class
from ..plan.types import CLUSTER_DOMAIN
from . import errors, rbac_defaults, service_cidrs
from .objects import WriteOpts
from .storage_admission import STORAGE_CLASSES, default_storage_class

PRIORITY_CLASSES = BY_KEY["priorityclasses.scheduling.k8s.io"]
INGRESS_CLASSES = BY_KEY["ingressclasses.networking.k8s.io"]
CONFIG_MAPS = BY_KEY["configmaps"]
ROOT_CA = "kube-root-ca.crt"
ROOT_CA_ABOUT = ("Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints "
                 "such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across "
                 "distributions of Kubernetes clusters.")

log = logging.getLogger(__name__)

DEPLOYMENTS = BY_KEY["deployments.apps"]
NAMESPACES, SERVICE_ACCOUNTS = BY_KEY["namespaces"], BY_KEY["serviceaccounts"]
SERVICES, ENDPOINTS, SLICES = BY_KEY["services"], BY_KEY["endpoints"], BY_KEY["endpointslices.discovery.k8s.io"]
API_PORT = 6443
SERVICE_LABELS = {"component": "apiserver", "provider": "kubernetes"}
DNS_LABELS = {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS"}
MANAGER = "kube-apiserver"


def default_service_account(namespace: str) -> dict:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": namespace}}


def kubernetes_objects(cluster_ip: str, apiserver_ip: str) -> list[tuple[object, dict]]:
    return _fixed_service({"name": "kubernetes", "namespace": "default"}, dict(SERVICE_LABELS), cluster_ip,
                          apiserver_ip, [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": API_PORT}])


def kube_dns_objects(dns_ip: str) -> list[tuple[object, dict]]:
    """kube-system/kube-dns, CoreDNS's Service as kubeadm, kind and minikube name it (scripts
    look up the cluster's DNS address from it). Its address is CoreDNS's own container's, so it
    needs no proxy, and it has no selector: CoreDNS's pod (plan/system_pods.py) stands for
    that container, which serves this address whatever the pod's object says. The controller
    names that pod in the Endpoints' targetRef once it has written it (its name changes when
    the container is replaced)."""
    ports = [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
             {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53}]
    return _fixed_service({"name": "kube-dns", "namespace": "kube-system"}, dict(DNS_LABELS), dns_ip, dns_ip, ports,
                          {"nodeName": system_pods.NODE})


def _fixed_service(meta: dict, labels: dict, cluster_ip: str, address: str,
                   ports: list[dict], target: dict | None = None) -> list[tuple[object, dict]]:
    """A Service without a selector at a fixed address, with the Endpoints and EndpointSlice
    naming what serves it (not mirrored: the slice is written here, as kube-apiserver does).
    target: the address's nodeName and targetRef, when a pod serves it."""
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {**meta, "labels": labels},
               "spec": {"type": "ClusterIP", "clusterIP": cluster_ip, "clusterIPs": [cluster_ip], "ports": ports,
                        "sessionAffinity": "None", "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                        "internalTrafficPolicy": "Cluster"}}
    served = [{"name": p["name"], "port": p["targetPort"], "protocol": p["protocol"]} for p in ports]
    endpoints = {"apiVersion": "v1", "kind": "Endpoints",
                 "metadata": {**meta, "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
                 "subsets": [{"addresses": [{"ip": address, **(target or {})}], "ports": served}]}
    endpoint_slice = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                      "metadata": {**meta, "labels": {"kubernetes.io/service-name": meta["name"]}},
                      "addressType": "IPv4",
                      "endpoints": [{"addresses": [address], "conditions": {"ready": True}, **(target or {})}],
                      "ports": served}
    return [(SERVICES, service), (ENDPOINTS, endpoints), (SLICES, endpoint_slice)]


def ensure(registry, net) -> None:
    """At start-up: whatever of these is missing (an older cluster's store lacks some)."""
    registry.ensure_namespaces()
    spaces, _ = registry.list(NAMESPACES, None)
    for space in spaces:
        ensure_in_namespace(registry, space["metadata"]["name"])
    for res, obj in rbac_defaults.objects():  # kube-apiserver's bootstrap RBAC policy
        if registry.get(res, None, obj["metadata"]["name"]) is None:
            _create(registry, res, obj)
    if registry.get(STORAGE_CLASSES, None, "standard") is None and not registry.list(STORAGE_CLASSES, None)[0]:
        _create(registry, STORAGE_CLASSES, default_storage_class())
    for name in SYSTEM_CLASSES:
        if registry.get(PRIORITY_CLASSES, None, name) is None:
            _create(registry, PRIORITY_CLASSES, system_class(name))
    if not registry.list(INGRESS_CLASSES, None)[0]:  # as minikube's ingress addon makes its class
        _create(registry, INGRESS_CLASSES, default_class())
    if registry.get(CONFIG_MAPS, system_pods.NAMESPACE, system_pods.CONFIG_MAP) is None:
        _create(registry, CONFIG_MAPS, system_pods.corefile_config_map(CLUSTER_DOMAIN))
    if net is not None:
        _ensure_services(registry, net)
        _ensure_coredns(registry, json.loads(os.environ.get("EMUKUBE_IMAGES") or "{}").get("coredns"))
    service_cidrs.ensure(registry, net)  # after the Services, whose IPAddresses it repairs


def _ensure_services(registry, net) -> None:
    taken = {(s.get("spec") or {}).get("clusterIP") for s in registry.list(SERVICES, None)[0]}
    for objects in (kubernetes_objects(net.apiserver_service_ip, net.controller_ip), kube_dns_objects(net.dns_ip)):
        ip = objects[0][1]["spec"]["clusterIP"]  # the Service comes first, its Endpoints and slice after
        for res, obj in objects:
            meta = obj["metadata"]
            if registry.get(res, meta["namespace"], meta["name"]) is not None:
                continue
            if res is SERVICES and ip in taken:
                log.warning("the %s Service is not made: %s is another Service's ClusterIP", meta["name"], ip)
                break
            _create(registry, res, obj)


def _ensure_coredns(registry, image: str | None) -> None:
    """kube-system/coredns, as kubeadm writes it; after an emukube upgrade, with the CoreDNS
    image the controller now runs (as `kubeadm upgrade` rolls CoreDNS out)."""
    if not image:
        return
    current = registry.get(DEPLOYMENTS, system_pods.NAMESPACE, system_pods.DEPLOYMENT)
    if current is None:
        try:
            registry.create(DEPLOYMENTS, system_pods.coredns_deployment(image), WriteOpts(manager=MANAGER))
        except errors.ApiError as exc:
            log.warning("the coredns Deployment is not made: %s", exc)
        return
    containers = ((current["spec"].get("template") or {}).get("spec") or {}).get("containers") or []
    if containers and containers[0].get("image") != image:
        new = copy.deepcopy(current)
        new["spec"]["template"]["spec"]["containers"][0]["image"] = image
        registry.prepare_update(DEPLOYMENTS, current, new)
        registry.update(DEPLOYMENTS, current, new, WriteOpts(manager=MANAGER, system=True))


def ensure_in_namespace(registry, namespace: str) -> None:
    """What Kubernetes' controllers put in every namespace: the `default` ServiceAccount and the
    `kube-root-ca.crt` ConfigMap holding the cluster's CA."""
    if registry.get(SERVICE_ACCOUNTS, namespace, "default") is None:
        _create(registry, SERVICE_ACCOUNTS, default_service_account(namespace))
    if registry.root_ca and registry.get(CONFIG_MAPS, namespace, ROOT_CA) is None:
        _create(registry, CONFIG_MAPS, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
            "name": ROOT_CA, "namespace": namespace, "annotations": {"kubernetes.io/description": ROOT_CA_ABOUT}},
            "data": {"ca.crt": registry.root_ca.decode()}})


def _create(registry, res, obj: dict) -> None:
    try:
        registry.create(res, obj, WriteOpts(manager=MANAGER), admit=False)
    except errors.ApiError as exc:  # made meanwhile, or its namespace is going away
        log.info("not made: %s %s", res.key, exc)
