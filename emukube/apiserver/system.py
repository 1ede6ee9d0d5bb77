"""The objects every cluster has before anyone applies anything, kept by the API server as
kube-apiserver's bootstrap controllers and the service-account controller keep them: the system
namespaces, a `default` ServiceAccount in every namespace, and the `kubernetes` Service in
`default` (port 443 at the API server's own address, which it serves itself: plan/network.py)
whose Endpoints and EndpointSlice name the API server, so that pods reach it as
`kubernetes.default.svc` with in-cluster config."""

from __future__ import annotations

import logging

from ..k8s.resources import BY_KEY
from ..manifests.validate_scheduling import SYSTEM_CLASSES, system_class
from ..plan.ingress import default_class
from . import errors, rbac_defaults
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

NAMESPACES, SERVICE_ACCOUNTS = BY_KEY["namespaces"], BY_KEY["serviceaccounts"]
SERVICES, ENDPOINTS, SLICES = BY_KEY["services"], BY_KEY["endpoints"], BY_KEY["endpointslices.discovery.k8s.io"]
API_PORT = 6443
SERVICE_LABELS = {"component": "apiserver", "provider": "kubernetes"}
MANAGER = "kube-apiserver"


def default_service_account(namespace: str) -> dict:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": namespace}}


def kubernetes_objects(cluster_ip: str, apiserver_ip: str) -> list[tuple[object, dict]]:
    port = {"name": "https", "port": API_PORT, "protocol": "TCP"}
    meta = {"name": "kubernetes", "namespace": "default"}
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {**meta, "labels": dict(SERVICE_LABELS)},
               "spec": {"type": "ClusterIP", "clusterIP": cluster_ip, "clusterIPs": [cluster_ip],
                        "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": API_PORT}],
                        "sessionAffinity": "None", "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                        "internalTrafficPolicy": "Cluster"}}
    endpoints = {"apiVersion": "v1", "kind": "Endpoints",
                 "metadata": {**meta, "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
                 "subsets": [{"addresses": [{"ip": apiserver_ip}], "ports": [port]}]}
    endpoint_slice = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                      "metadata": {**meta, "labels": {"kubernetes.io/service-name": "kubernetes"}},
                      "addressType": "IPv4",
                      "endpoints": [{"addresses": [apiserver_ip], "conditions": {"ready": True}}],
                      "ports": [port]}
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
    if net is None:
        return
    taken = {(s.get("spec") or {}).get("clusterIP") for s in registry.list(SERVICES, None)[0]}
    for res, obj in kubernetes_objects(net.apiserver_service_ip, net.controller_ip):
        if registry.get(res, "default", "kubernetes") is not None:
            continue
        if res is SERVICES and net.apiserver_service_ip in taken:
            log.warning("the kubernetes Service is not made: %s is another Service's ClusterIP",
                        net.apiserver_service_ip)
            return
        _create(registry, res, obj)


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
