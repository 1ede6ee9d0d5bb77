"""`emukube top`: connections per Service and per pod, from the proxies' own counters.

TCP: HAProxy's `show stat` on its runtime socket (one `listen tcp-PORT` per Service port, one
server per ready pod, named after it). Its counters start again when the proxy reloads, i.e.
when the endpoints change. UDP: nginx keeps no counters, so its stream access log writes one line
per session to the container's log (render/nginx.py), and they are counted here; they survive
reloads. The parsing and the tables are pure; `collect` execs into the proxy containers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..plan.allocate import has_cluster_ip
from ..render.nginx import NGINX_SESSION_MARK
from ..runtime import engine, haproxy_stats
from ..runtime.engine import DockerException
from ..runtime.proxies import proxy_name


@dataclass
class Counter:
    active: int | None = 0  # None: not known (UDP)
    sessions: int = 0
    bytes_in: int = 0  # from clients
    bytes_out: int = 0  # to clients

    def add(self, other: Counter) -> None:
        if self.active is not None and other.active is not None:
            self.active += other.active
        else:
            self.active = None
        self.sessions += other.sessions
        self.bytes_in += other.bytes_in
        self.bytes_out += other.bytes_out


@dataclass
class ServiceStats:
    namespace: str
    name: str
    protocol: str  # TCP | UDP
    total: Counter = field(default_factory=Counter)
    pods: dict[str, Counter] = field(default_factory=dict)


def _int(value: str | None) -> int:
    if value is None:
        return 0
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def parse_show_stat(text: str) -> tuple[Counter, dict[str, Counter]]:
    """HAProxy's `show stat` CSV -> (all Service ports together, per server = pod name)."""
    total = Counter()
    pods: dict[str, Counter] = {}
    for row in haproxy_stats.rows(text):
        if not (row.get("pxname") or "").startswith("tcp-"):
            continue  # the stats listener
        counter = Counter(_int(row.get("scur")), _int(row.get("stot")), _int(row.get("bin")), _int(row.get("bout")))
        if row.get("svname") == "FRONTEND":
            total.add(counter)
        elif row.get("svname") != "BACKEND":
            pods.setdefault(row["svname"], Counter()).add(counter)
    return total, pods


def parse_udp_sessions(log: str, pod_of_ip: dict[str, str]) -> tuple[Counter, dict[str, Counter]]:
    """nginx session lines `udp-session PORT UPSTREAM IN OUT STATUS` -> (total, per pod)."""
    total = Counter(active=None)
    pods: dict[str, Counter] = {}
    for line in log.splitlines():
        parts = line.split()
        if len(parts) < 6 or parts[0] != NGINX_SESSION_MARK:
            continue
        # "a:p, b:p" when nginx tried more than one upstream: the last one answered.
        upstream = " ".join(parts[2:-3]).split(",")[-1].strip()
        counter = Counter(None, 1, _int(parts[-3]), _int(parts[-2]))
        total.add(counter)
        pod = pod_of_ip.get(upstream.rsplit(":", 1)[0], upstream)
        pods.setdefault(pod, Counter(active=None)).add(counter)
    return total, pods


def _human(n: float) -> str:
    for unit in ("", "Ki", "Mi", "Gi"):
        if n < 1024 or unit == "Gi":
            return f"{n}{unit}" if not unit else f"{n:.0f}{unit}"
        n /= 1024
    return str(n)


def service_rows(stats: list[ServiceStats], namespaced: bool = False) -> list[list[str]]:
    rows = [(["NAMESPACE"] if namespaced else []) + ["SERVICE", "PROTOCOL", "ACTIVE", "CONNECTIONS", "BYTES-IN",
                                                      "BYTES-OUT"]]
    for s in stats:
        t = s.total
        rows.append(([s.namespace] if namespaced else []) +
                    [s.name, s.protocol, "-" if t.active is None else str(t.active), str(t.sessions),
                     _human(t.bytes_in), _human(t.bytes_out)])
    return rows


def pod_rows(stats: list[ServiceStats], namespaced: bool = False) -> list[list[str]]:
    """Per pod and Service: its connections and its share of the Service's."""
    rows = [(["NAMESPACE"] if namespaced else []) + ["POD", "SERVICE", "PROTOCOL", "ACTIVE", "CONNECTIONS", "SHARE"]]
    for s in stats:
        whole = sum(c.sessions for c in s.pods.values())
        for pod, c in sorted(s.pods.items()):
            share = f"{100 * c.sessions / whole:.0f}%" if whole else "-"
            rows.append(([s.namespace] if namespaced else []) +
                        [pod, s.name, s.protocol, "-" if c.active is None else str(c.active), str(c.sessions), share])
    return rows


def collect(client, cluster: str, services: list[dict], pods) -> list[ServiceStats]:
    """Counters of every proxied Service (headless and ExternalName have no proxy)."""
    ip_to_pod = {p.ip: p.name for p in pods if p.ip}

    def one(svc: dict) -> list[ServiceStats]:
        ns, name = svc["metadata"].get("namespace", "default"), svc["metadata"]["name"]
        protocols = {p.get("protocol", "TCP") for p in svc["spec"].get("ports") or []}
        out = []
        try:
            tcp = engine.get_container(client, proxy_name(cluster, ns, name))
            if "TCP" in protocols and tcp is not None and tcp.status == "running":
                total, per_pod = parse_show_stat(haproxy_stats.show_stat(tcp))
                out.append(ServiceStats(ns, name, "TCP", total, per_pod))
            udp = engine.get_container(client, proxy_name(cluster, ns, name, udp=True))
            if "UDP" in protocols and udp is not None:
                total, per_pod = parse_udp_sessions(udp.logs().decode(errors="replace"), ip_to_pod)
                out.append(ServiceStats(ns, name, "UDP", total, per_pod))
        except DockerException:
            pass  # a proxy being replaced: shown again on the next look
        return out

    proxied = [s for s in services if has_cluster_ip(s)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        return [row for rows in pool.map(one, proxied) for row in rows]
