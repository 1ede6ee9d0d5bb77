"""Printers for Services, Endpoints, EndpointSlices, ConfigMaps, Secrets, ServiceAccounts,
Namespaces, Nodes, Leases and PodTemplates. Fields the API server defaults on read (Service type and port
protocol, Secret type, Namespace phase) are defaulted here too, as the printer would see them."""

from __future__ import annotations

from .format import format_labels, join_host_port, layout_containers, more, since


def _name_age(obj: dict, now: float) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return meta.get("name", ""), since(meta.get("creationTimestamp"), now)


# ---- Service ----------------------------------------------------------------------------------

def load_balancer_ingress(svc: dict) -> str:
    """loadBalancerStatusStringer (wide, so never clipped): sorted unique IPs or hostnames."""
    found = set()
    for ing in ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
        if ing.get("ip"):
            found.add(ing["ip"])
        elif ing.get("hostname"):
            found.add(ing["hostname"])
    return ",".join(sorted(found))


def service_external_ip(svc: dict) -> str:
    """getServiceExternalIP."""
    spec = svc.get("spec") or {}
    stype = spec.get("type") or "ClusterIP"
    external = spec.get("externalIPs") or []
    if stype in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else "<none>"
    if stype == "LoadBalancer":
        lb = load_balancer_ingress(svc)
        if external:
            return ",".join((lb.split(",") if lb else []) + list(external))
        return lb or "<pending>"
    if stype == "ExternalName":
        return spec.get("externalName", "")
    return "<unknown>"


def service_ports(ports) -> str:
    """makePortString: "80/TCP", or "80:30080/TCP" with a node port; "<none>" for no ports."""
    pieces = []
    for p in ports or []:
        proto = p.get("protocol") or "TCP"
        node_port = p.get("nodePort") or 0
        pieces.append(f"{p.get('port', 0)}:{node_port}/{proto}" if node_port > 0 else f"{p.get('port', 0)}/{proto}")
    return ",".join(pieces) or "<none>"


def service_cells(svc: dict, now: float) -> list:
    spec = svc.get("spec") or {}
    name, age = _name_age(svc, now)
    # v1 -> internal conversion: clusterIP wins, clusterIPs[0] when it is unset.
    cluster_ip = spec.get("clusterIP") or (spec.get("clusterIPs") or [""])[0] or "<none>"
    return [name, spec.get("type") or "ClusterIP", cluster_ip, service_external_ip(svc),
            service_ports(spec.get("ports")), age, format_labels(spec.get("selector"))]


# ---- Endpoints and EndpointSlices -------------------------------------------------------------

def format_endpoints(ep: dict) -> str:
    """formatEndpoints: "ip:port" for each port of each subset, at most 3, then "+ N more..."."""
    subsets = ep.get("subsets") or []
    if not subsets:
        return "<none>"
    shown: list[str] = []
    count = 0
    for ss in subsets:
        addresses = [a.get("ip", "") for a in ss.get("addresses") or []]
        ports = ss.get("ports") or []
        if not ports:  # a headless service may have no ports: bare addresses
            count += len(addresses)
            shown.extend(addresses[:3 - len(shown)])
            continue
        for port in ports:
            count += len(addresses)
            for ip in addresses[:3 - len(shown)]:
                shown.append(join_host_port(ip, port.get("port", 0)))
    text = ",".join(shown)
    return f"{text} + {count - 3} more..." if count > 3 else text


def endpoints_cells(ep: dict, now: float) -> list:
    name, age = _name_age(ep, now)
    return [name, format_endpoints(ep), age]


def _slice_ports(ports) -> str:
    """formatDiscoveryPorts: the port number, else its name, else "*"."""
    items = []
    for p in ports or []:
        if p.get("port") is not None:
            items.append(str(p["port"]))
        elif p.get("name") is not None:
            items.append(p["name"])
        else:
            items.append("*")
    return more(items, len(items))


def endpointslice_cells(es: dict, now: float) -> list:
    name, age = _name_age(es, now)
    addresses = [a for e in es.get("endpoints") or [] for a in e.get("addresses") or []]
    return [name, es.get("addressType", ""), _slice_ports(es.get("ports")),
            more(addresses, len(addresses)), age]


# ---- small core kinds -------------------------------------------------------------------------

def configmap_cells(cm: dict, now: float) -> list:
    name, age = _name_age(cm, now)
    return [name, len(cm.get("data") or {}) + len(cm.get("binaryData") or {}), age]


def secret_cells(secret: dict, now: float) -> list:
    name, age = _name_age(secret, now)
    return [name, secret.get("type") or "Opaque", len(secret.get("data") or {}), age]


def serviceaccount_cells(sa: dict, now: float) -> list:
    name, age = _name_age(sa, now)
    return [name, len(sa.get("secrets") or []), age]


def namespace_cells(ns: dict, now: float) -> list:
    name, age = _name_age(ns, now)
    return [name, (ns.get("status") or {}).get("phase") or "Active", age]


def lease_cells(lease: dict, now: float) -> list:
    name, age = _name_age(lease, now)
    return [name, (lease.get("spec") or {}).get("holderIdentity") or "", age]


# ---- Node -------------------------------------------------------------------------------------

_ROLE_PREFIX, _ROLE_LABEL = "node-role.kubernetes.io/", "kubernetes.io/role"


def node_roles(labels: dict | None) -> str:
    """findNodeRoles: node-role.kubernetes.io/<role> keys and kubernetes.io/role values, sorted."""
    roles = set()
    for key, value in (labels or {}).items():
        if key.startswith(_ROLE_PREFIX) and key[len(_ROLE_PREFIX):]:
            roles.add(key[len(_ROLE_PREFIX):])
        elif key == _ROLE_LABEL and value:
            roles.add(value)
    return ",".join(sorted(roles)) or "<none>"


def node_status(node: dict) -> str:
    """Ready / NotReady / Unknown, plus SchedulingDisabled for a cordoned node."""
    ready = None
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            ready = cond  # the last one of a type wins, as in the Go map
    status = ["Unknown"] if ready is None else ["Ready" if ready.get("status") == "True" else "NotReady"]
    if (node.get("spec") or {}).get("unschedulable"):
        status.append("SchedulingDisabled")
    return ",".join(status)


def _address(node: dict, kind: str) -> str:
    for addr in (node.get("status") or {}).get("addresses") or []:
        if addr.get("type") == kind:
            return addr.get("address", "")
    return "<none>"


def node_cells(node: dict, now: float) -> list:
    name, age = _name_age(node, now)
    info = (node.get("status") or {}).get("nodeInfo") or {}
    return [name, node_status(node), node_roles((node.get("metadata") or {}).get("labels")), age,
            info.get("kubeletVersion", ""),
            _address(node, "InternalIP"), _address(node, "ExternalIP"),
            info.get("osImage") or "<unknown>", info.get("kernelVersion") or "<unknown>",
            info.get("containerRuntimeVersion") or "<unknown>"]


def component_status_cells(obj: dict, now: float) -> list:
    """printComponentStatus: the Healthy condition's status, message and error."""
    status, message, error = "Unknown", "", ""
    for cond in obj.get("conditions") or []:
        if cond.get("type") == "Healthy":
            status = "Healthy" if cond.get("status") == "True" else "Unhealthy"
            message, error = cond.get("message", ""), cond.get("error", "")
    return [(obj.get("metadata") or {}).get("name", ""), status, message, error]


def pod_template_cells(obj: dict, now: float) -> list:
    """printPodTemplate: the template's containers, their images and the pods' labels (no AGE)."""
    template = t if isinstance(t := obj.get("template"), dict) else {}
    names, images = layout_containers((template.get("spec") or {}).get("containers"))
    return [(obj.get("metadata") or {}).get("name", ""), names, images,
            format_labels((template.get("metadata") or {}).get("labels"))]
