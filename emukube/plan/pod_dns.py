"""A pod's /etc/resolv.conf from its dnsPolicy and dnsConfig, by the kubelet's rules
(pkg/kubelet/network/dns): ClusterFirst is the cluster DNS with the namespace's search list
and ndots:5; Default is the node's resolver; None is dnsConfig alone; dnsConfig's nameservers
and searches are appended, its options override those of the same name. Pure."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from .types import CLUSTER_DOMAIN

MAX_NAMESERVERS = 3  # the kubelet keeps the first three (glibc reads no more)
MAX_SEARCHES = 32


@dataclass(frozen=True)
class ResolvConf:
    nameservers: tuple[str, ...] = ()
    searches: tuple[str, ...] = ()
    options: tuple[str, ...] = ()

    def text(self) -> str:
        lines = [f"nameserver {ns}" for ns in self.nameservers]
        if self.searches:
            lines.append("search " + " ".join(self.searches))
        if self.options:
            lines.append("options " + " ".join(self.options))
        return "".join(line + "\n" for line in lines)


def parse(text: str) -> ResolvConf:
    """The node's resolver as a resolv.conf says it (the last search/options line counts)."""
    servers, searches, options = [], [], []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if words[0] == "nameserver" and len(words) > 1:
            servers.append(words[1])
        elif words[0] in ("search", "domain"):
            searches = words[1:]
        elif words[0] == "options":
            options = words[1:]
    return ResolvConf(tuple(servers), tuple(searches), tuple(options))


def search_domains(namespace: str, domain: str = CLUSTER_DOMAIN) -> list[str]:
    return [f"{namespace}.svc.{domain}", f"svc.{domain}", domain]


def cluster_first(dns_ip: str, namespace: str) -> ResolvConf:
    return ResolvConf((dns_ip,), tuple(search_domains(namespace)), ("ndots:5",))


def policy_kind(spec: dict) -> str:
    """"cluster", "host" (the node's resolver) or "none", as the kubelet's getPodDNSType."""
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    if policy == "None":
        return "none"
    if policy == "ClusterFirstWithHostNet" or (policy == "ClusterFirst" and not spec.get("hostNetwork")):
        return "cluster"
    return "host"


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _merged_options(existing: tuple[str, ...], extra: list[dict]) -> tuple[str, ...]:
    found: dict[str, str] = {}
    for op in existing:
        name, _, value = op.partition(":")
        found[name] = value
    for option in extra:
        found[option.get("name", "")] = "" if option.get("value") is None else str(option["value"])
    return tuple(f"{k}:{v}" if v else k for k, v in found.items() if k)


def pod_resolv(spec: dict, namespace: str, dns_ip: str, node: ResolvConf) -> ResolvConf:
    kind = policy_kind(spec)
    base = {"cluster": cluster_first(dns_ip, namespace), "host": node, "none": ResolvConf()}[kind]
    config = spec.get("dnsConfig") or {}
    merged = ResolvConf(_unique([*base.nameservers, *(config.get("nameservers") or [])]),
                        _unique([*base.searches, *(config.get("searches") or [])]),
                        _merged_options(base.options, config.get("options") or []))
    return ResolvConf(merged.nameservers[:MAX_NAMESERVERS], merged.searches[:MAX_SEARCHES], merged.options)


def resolv_file(spec: dict, namespace: str) -> str:
    """The file, in the DNS volume's resolv/ folder, a pod bind-mounts: its namespace's when the
    pod takes ClusterFirst as it is, else one named for its own settings."""
    if policy_kind(spec) == "cluster" and not spec.get("dnsConfig"):
        return f"{namespace}.conf"
    key = repr((namespace, policy_kind(spec), spec.get("dnsConfig") or {}))
    return f"pod-{hashlib.sha256(key.encode()).hexdigest()[:16]}.conf"


def pod_specs(objects: list[dict]) -> list[tuple[str, dict]]:
    """(namespace, pod spec) of every pod the objects declare, templates included."""
    out = []
    for obj in objects:
        ns = (obj.get("metadata") or {}).get("namespace", "default")
        if obj.get("kind") == "Pod":
            out.append((ns, obj.get("spec") or {}))
        elif obj.get("kind") in ("Deployment", "StatefulSet", "ReplicaSet", "DaemonSet", "Job"):
            out.append((ns, ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}))
        elif obj.get("kind") == "CronJob":
            job = ((obj.get("spec") or {}).get("jobTemplate") or {}).get("spec") or {}
            out.append((ns, (job.get("template") or {}).get("spec") or {}))
    return out
