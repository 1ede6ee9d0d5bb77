"""CoreDNS as the API shows it: a pod in kube-system labelled `k8s-app: kube-dns`, as kubeadm,
kind and minikube label theirs, so that the steps of Kubernetes' "Debugging DNS Resolution"
(`kubectl get pods -n kube-system -l k8s-app=kube-dns`, `kubectl logs` of the same) work here.

CoreDNS is not made from that object: it is the cluster's own container, kept by the controller
as a kubelet keeps a static pod. So its pod is what a static pod has in the API, a *mirror*:
owned by its Node, with the kubelet's config annotations, written again when deleted. The pod
is placed on the first node; its IP is CoreDNS's address, kube-dns's ClusterIP."""

from __future__ import annotations

import hashlib

from .nodes import node_name

NAMESPACE = "kube-system"
CONTAINER = "coredns"
NODE = node_name(1)
NAME = f"coredns-{NODE}"  # a static pod's mirror is named <pod>-<node>
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
        "priority": 2000000000, "automountServiceAccountToken": False, "nodeName": NODE}


def mirror_annotations(spec: dict) -> dict:
    """What the kubelet writes on a static pod's mirror: where the pod came from, and the hash
    of its config (the mirror's own annotation, by which the kubelet tells it is current)."""
    digest = hashlib.sha256(repr(sorted(spec["containers"][0].items())).encode()).hexdigest()[:32]
    return {"kubernetes.io/config.hash": digest, "kubernetes.io/config.mirror": digest,
            "kubernetes.io/config.source": "file"}


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
