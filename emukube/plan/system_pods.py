"""CoreDNS as the API shows it: kube-system's `coredns` Deployment, its ReplicaSet and its pod,
labelled `k8s-app: kube-dns`, as kubeadm and kind make them, so that the steps of Kubernetes'
"Debugging DNS Resolution" (`kubectl get pods -n kube-system -l k8s-app=kube-dns`, `kubectl logs`
of the same) and kind users' scripts (`kubectl -n kube-system rollout status deployment/coredns`,
`kubectl -n kube-system rollout restart deployment coredns` after editing the Corefile) work here.

CoreDNS is not made from that Deployment as other pods are: it is the cluster's own container at
kube-dns's address (10.N.0.10), kept by the controller. So the Deployment has one replica and its
template is what that container runs; the API server refuses other replica counts, other
templates and its deletion (apiserver/system_guard.py). A new template (a restart's annotation)
or a deleted pod replaces the container, under a new pod name, as a ReplicaSet replaces a pod.
The pod is placed on the first node; its IP is CoreDNS's address."""

from __future__ import annotations

import copy

from .nodes import node_name
from .workloads import random_suffix, template_hash

NAMESPACE = "kube-system"
DEPLOYMENT = "coredns"
CONTAINER = "coredns"
NODE = node_name(1)
LABELS = {"k8s-app": "kube-dns"}
CONFIG_DIR = "/etc/coredns"  # where CoreDNS reads its Corefile and zones (runtime/dns.py mounts it)


def coredns_spec(image: str) -> dict:
    """The pod spec of CoreDNS's container as it runs (kubeadm's CoreDNS manifest, less what
    the container does not have: no ServiceAccount token, no probes, no resources)."""
    return {"containers": [{
        "name": CONTAINER, "image": image, "args": ["-conf", f"{CONFIG_DIR}/Corefile"],
        "ports": [{"name": "dns", "containerPort": 53, "protocol": "UDP"},
                  {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"}],
    }], "dnsPolicy": "Default", "restartPolicy": "Always", "priorityClassName": "system-cluster-critical",
        "automountServiceAccountToken": False}


def coredns_deployment(image: str) -> dict:
    """kube-system/coredns as the API server first writes it (kubeadm's, with one replica)."""
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": DEPLOYMENT, "namespace": NAMESPACE, "labels": dict(LABELS)},
            "spec": {"replicas": 1, "selector": {"matchLabels": dict(LABELS)},
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
                     "template": {"metadata": {"labels": dict(LABELS)}, "spec": coredns_spec(image)}}}


def is_coredns(obj: dict | None) -> bool:
    """The coredns Deployment of kube-system."""
    meta = (obj or {}).get("metadata") or {}
    return (obj or {}).get("kind") == "Deployment" and meta.get("namespace") == NAMESPACE \
        and meta.get("name") == DEPLOYMENT


def template_of(deployment: dict | None, image: str) -> dict:
    """The pod template CoreDNS runs: the Deployment's (kubeadm's before the API server wrote it)."""
    template = ((deployment or {}).get("spec") or {}).get("template")
    return template if isinstance(template, dict) and template else coredns_deployment(image)["spec"]["template"]


def pod_spec(template: dict) -> dict:
    """The spec of CoreDNS's pod: its template's, on the first node, with the priority its
    class gives (admission's, as for any pod)."""
    return {**copy.deepcopy(template.get("spec") or {}), "nodeName": NODE, "priority": 2000000000}


def pod_name(template: dict, current: str | None = None) -> str:
    """The name of the pod CoreDNS's container stands for: `current` while it is of this
    template, else a new one, as a ReplicaSet names its pods (coredns-<hash>-<suffix>)."""
    prefix = f"{DEPLOYMENT}-{template_hash(template)}-"
    if current and current.startswith(prefix) and len(current) == len(prefix) + 5:
        return current
    return prefix + random_suffix()


def hash_of(name: str) -> str:
    """The pod-template-hash in a CoreDNS pod's name."""
    return name[len(DEPLOYMENT) + 1:].rpartition("-")[0]


def is_coredns_pod(pod: dict) -> bool:
    """CoreDNS's pod: in kube-system, of a ReplicaSet of the coredns Deployment."""
    meta = pod.get("metadata") or {}
    refs = meta.get("ownerReferences") or [{}]
    return meta.get("namespace") == NAMESPACE and refs[0].get("kind") == "ReplicaSet" \
        and refs[0].get("name") == f"{DEPLOYMENT}-{hash_of(meta.get('name', ''))}"


def targeted(obj: dict, pod: dict) -> dict:
    """kube-dns's Endpoints or EndpointSlice with each address naming CoreDNS's pod, as an
    endpoints controller names the pod behind an address."""
    meta = pod["metadata"]
    ref = {"kind": "Pod", "namespace": meta["namespace"], "name": meta["name"], "uid": meta.get("uid", "")}
    out = copy.deepcopy(obj)
    addresses = [a for subset in out.get("subsets") or [] for a in subset.get("addresses") or []] \
        if out.get("kind") == "Endpoints" else out.get("endpoints") or []
    for address in addresses:
        address["targetRef"] = dict(ref)
    return out


CONFIG_MAP = "coredns"  # kube-system/coredns: CoreDNS's Corefile, as kubeadm (and kind) make it


def default_corefile(domain: str) -> str:
    """kubeadm's Corefile (cmd/kubeadm/app/phases/addons/dns), upstream /etc/resolv.conf."""
    return f""".:53 {{
    errors
    health {{
       lameduck 5s
    }}
    ready
    kubernetes {domain} in-addr.arpa ip6.arpa {{
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }}
    prometheus :9153
    forward . /etc/resolv.conf {{
       max_concurrent 1000
    }}
    cache 30 {{
       disable success {domain}
       disable denial {domain}
    }}
    loop
    reload
    loadbalance
}}
"""


def corefile_config_map(domain: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": CONFIG_MAP, "namespace": NAMESPACE},
            "data": {"Corefile": default_corefile(domain)}}
