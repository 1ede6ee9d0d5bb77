"""`emukube explain` of the two Services the API server keeps itself: `kubernetes` (default) and
`kube-dns` (kube-system). No proxy carries them: the API server and CoreDNS hold their addresses
themselves (apiserver/system.py), so the walk client -> proxy -> endpoints -> pod of other
Services does not apply; this says what serves them instead, and where that differs from
Kubernetes. Pure: it takes the Service and kube-system's CoreDNS pods as the API has them."""

from __future__ import annotations

from ..plan import system_pods
from ..plan.disruption import is_ready
from .explain import LIMIT, PROBLEM, Explanation, Finding

ONE_COREDNS = ("one CoreDNS serves it, emukube's own container at this address; kube-system's coredns "
               "Deployment stands for it with one pod. A rollout restart or a deleted pod replaces that "
               "container, and for about a second no query is answered (kind's two replicas leave no gap)")
ZONES = "CoreDNS's kubernetes plugin is stood in by zone files the controller writes: every record has a TTL of 5 s"
NOT_A_POD = "the API server is emukube's own container (`docker ps` shows it), not a pod of kube-system"


def _ports(svc: dict) -> str:
    return ", ".join(f"{p.get('name') or '-'} {p.get('port')}/{p.get('protocol', 'TCP')}"
                     for p in (svc.get("spec") or {}).get("ports") or [])


def explain_system(svc: dict, coredns_pods: list[dict]) -> Explanation:
    """The explanation of `kubernetes` or `kube-dns`."""
    meta, spec = svc["metadata"], svc.get("spec") or {}
    name, ip = meta["name"], spec.get("clusterIP", "")
    out = Explanation(service=f"{meta.get('namespace', 'default')}/{name}")
    out.chain.append(("Service", f"{name} {ip}, ports {_ports(svc)} (no selector)"))
    if name == "kubernetes":
        out.chain.append(("served by", "emukube's API server, which listens at this address itself (no proxy)"))
        out.findings.append(Finding(LIMIT, NOT_A_POD))
        out.summary = f"client -> {name}:443 ({ip}) -> the API server"
        return out
    out.chain.append(("served by", f"CoreDNS's own container at {ip} (no proxy)"))
    live = [p for p in coredns_pods if not p["metadata"].get("deletionTimestamp")]
    for pod in live:
        out.chain.append(("pod", f"{system_pods.NAMESPACE}/{pod['metadata']['name']} "
                                 f"{(pod.get('status') or {}).get('podIP', '')} "
                                 f"{'Ready' if is_ready(pod) else 'not ready'}"))
    out.chain.append(("Corefile", f"ConfigMap {system_pods.NAMESPACE}/{system_pods.CONFIG_MAP}"))
    if not any(is_ready(p) for p in live):
        out.findings.append(Finding(PROBLEM, "CoreDNS's pod is not ready: names do not resolve "
                                             "(see `kubectl logs -n kube-system -l k8s-app=kube-dns`)"))
    out.findings += [Finding(LIMIT, ONE_COREDNS), Finding(LIMIT, ZONES)]
    out.summary = f"client -> {name}:53 ({ip}) -> CoreDNS"
    return out
