"""`emukube explain svc/NAME`: the chain client -> Service -> endpoints -> pod port, and what
breaks it, in plain words. Pure: works on the applied Service, the observed pods (with the
controller's readiness verdicts) and the results of port checks made by the caller."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from ..client.snapshot import PodRow
from ..k8s.keys import object_key
from ..plan import endpoints as ep
from ..plan import network_policy
from ..plan.allocate import has_cluster_ip
from ..runtime.report import Report

PROBLEM, WARNING, LIMIT = "PROBLEM", "WARNING", "LIMIT"

# Port check verdicts, made from inside the cluster network (see cluster_checks.port_checks).
OPEN, REFUSED = "open", "refused"


@dataclass
class Finding:
    severity: str  # PROBLEM (the Service does not work), WARNING (a pitfall), LIMIT (the emulation)
    text: str
    details: list[str] = field(default_factory=list)


@dataclass
class Explanation:
    service: str  # "namespace/name" (of the Service, or of what `kind` says)
    chain: list[tuple[str, str]] = field(default_factory=list)  # (step, what is there)
    findings: list[Finding] = field(default_factory=list)
    summary: str = ""
    kind: str = "Service"

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == PROBLEM]

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self, limits: bool = True) -> list[str]:
        out = [f"{self.kind} {self.service}"]
        width = max((len(step) for step, _ in self.chain), default=0)
        out += [f"  {step:<{width}}  {what}" for step, what in self.chain]
        for f in self.findings:
            if f.severity == LIMIT:
                continue
            out.append(f"{f.severity}: {f.text}")
            out += [f"  {d}" for d in f.details]
        if self.ok:
            out.append(f"OK: {self.summary}")
        shown = [f for f in self.findings if f.severity == LIMIT]
        if limits and shown:
            out.append("Where the emulation differs here:")
            out += [f"  - {f.text}" for f in shown]
        return out


def _selector_text(selector: dict | None) -> str:
    return ",".join(f"{k}={v}" for k, v in (selector or {}).items())


def _labels_text(labels: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "<no labels>"


def _differences(selector: dict, labels: dict) -> list[str]:
    """Why a pod's labels do not satisfy a selector, one phrase per differing key."""
    out = []
    for key, wanted in selector.items():
        if key not in labels:
            close = difflib.get_close_matches(key, list(labels), n=1, cutoff=0.6)
            hint = f' (it has "{close[0]}={labels[close[0]]}")' if close else ""
            out.append(f'no label "{key}"{hint}, the Service wants {key}={wanted}')
        elif labels[key] != wanted:
            out.append(f'{key} is "{labels[key]}", the Service wants "{wanted}"')
    return out


def nearest_pods(selector: dict, pods: list[PodRow], limit: int = 3) -> list[tuple[PodRow, list[str], int]]:
    """Pods whose labels come closest to the selector: most keys matching first. Pods with the
    same labels (replicas) are shown once, with how many more look like them."""
    def closeness(pod: PodRow) -> tuple:
        matched = sum(1 for k, v in selector.items() if pod.labels.get(k) == v)
        alike = sum(difflib.SequenceMatcher(None, str(v), str(pod.labels.get(k, ""))).ratio()
                    for k, v in selector.items())
        return -matched, -alike, pod.name

    groups: dict[tuple, list[PodRow]] = {}
    for pod in sorted(pods, key=closeness):
        key = tuple(sorted((k, v) for k, v in pod.labels.items() if k != "pod-template-hash"))
        groups.setdefault(key, []).append(pod)
    out = []
    for members in list(groups.values())[:limit]:
        out.append((members[0], _differences(selector, members[0].labels), len(members) - 1))
    return out


def listen_targets(svc: dict, pods: list[PodRow]) -> list[tuple[str, int]]:
    """(pod IP, port) pairs to try from inside the cluster: every TCP target of every selected pod."""
    views = [p.view() for p in pods]
    targets = []
    for pod in ep.selected_pods(svc, views):
        for port in ep.service_ports(svc):
            number = ep.resolve_target(port, pod)
            if port.protocol == "TCP" and number is not None:
                targets.append((pod.ip, number))
    return sorted(set(targets))


def _declared(pod: PodRow) -> str:
    ports = [f"{name + ' ' if name else ''}{number}/{proto}" for name, number, proto in pod.view().container_ports]
    return ", ".join(ports) or "none"


class _Explainer:
    def __init__(self, svc: dict, pods: list[PodRow], status: Report, checks: dict | None,
                 node_addresses: list[str], gateway: str, policies: list[dict]):
        self.svc, self.spec = svc, svc["spec"]
        self.ns = svc["metadata"].get("namespace", "default")
        self.name = svc["metadata"]["name"]
        self.key = object_key(self.ns, self.name)
        self.pods = pods
        self.status = status
        self.checks = checks
        self.nodes, self.gateway = node_addresses or ["127.0.0.1"], gateway
        self.policies = policies
        self.out = Explanation(self.key)
        self.selected = [p for p in pods if p.namespace == self.ns and p.ip and p.phase != "Terminating"
                         and ep.selects(self.spec.get("selector"), p.labels)]

    def add(self, severity: str, text: str, details: list[str] | None = None) -> None:
        self.out.findings.append(Finding(severity, text, details or []))

    def run(self) -> Explanation:
        kind = self.spec.get("type", "ClusterIP")
        if kind == "ExternalName":
            return self.external_name()
        self.client_step(kind)
        if not ep.kube_proxied(self.svc):
            self.add(PROBLEM, "a label hands the Service to another proxy (" + ", ".join(
                sorted(set(ep.NOT_PROXIED_LABELS) & set(self.svc["metadata"].get("labels") or {}))) +
                "): kube-proxy does not program it, so its ClusterIP takes no traffic; DNS still answers")
            return self.out
        if not self.spec.get("selector"):
            self.add(WARNING, "the Service has no selector, so it gets no endpoints automatically: only those "
                              "of the Endpoints or EndpointSlices written for it (kubectl get endpointslices "
                              f"-l kubernetes.io/service-name={self.name})")
            return self.out
        ports = ep.service_ports(self.svc)
        self.out.chain.append(("Service", ", ".join(
            f"{p.port}/{p.protocol} -> targetPort {p.target_port}" for p in ports) or "no ports (headless)"))
        if not self.selected:
            self.selector_mismatch()
            return self.out
        self.endpoints_step()
        for port in ports:
            self.port_step(port)
        self.proxy_answers()
        self.policy_step()
        self.pitfalls(kind)
        self.limits(kind)
        if self.out.ok:
            self.out.summary = self.summary(kind)
        return self.out

    # ---- the chain ----------------------------------------------------------------------
    def client_step(self, kind: str) -> None:
        fqdn = f"{self.name}.{self.ns}.svc.cluster.local"
        if self.spec.get("clusterIP") == "None":
            self.out.chain.append(("client", f"in-cluster: DNS {fqdn} -> the ready pods' IPs (headless: no proxy)"))
            return
        ip = self.spec.get("clusterIP")
        first = (self.spec.get("ports") or [{}])[0]
        self.out.chain.append(("client", f"in-cluster: {fqdn} -> ClusterIP {ip}"))
        if kind in ("NodePort", "LoadBalancer") and first.get("nodePort"):
            more = f" (and {len(self.nodes) - 2} more nodes)" if len(self.nodes) > 2 else ""
            where = " or ".join(f"{n}:{first['nodePort']}" for n in self.nodes[:2])
            self.out.chain.append(("", f"host: {where}{more} (NodePort)"))
        for ing in self.svc.get("status", {}).get("loadBalancer", {}).get("ingress", []):
            self.out.chain.append(("", f"host: {ing.get('ip')}:{first.get('port')} (LoadBalancer EXTERNAL-IP)"))

    def external_name(self) -> Explanation:
        target = self.spec.get("externalName", "")
        self.out.chain.append(("client", f"DNS {self.name}.{self.ns}.svc.cluster.local -> CNAME {target}"))
        self.add(LIMIT, "an ExternalName is only a DNS alias: nothing is proxied; names outside "
                        "cluster.local are resolved by Docker's resolver, so they need a network that has them")
        self.out.summary = f"{self.name} is a CNAME to {target} (no proxy, no endpoints)"
        return self.out

    def selector_mismatch(self) -> None:
        selector = self.spec.get("selector") or {}
        same_ns = [p for p in self.pods if p.namespace == self.ns]
        details = []
        for pod, diffs, more in nearest_pods(selector, same_ns):
            like = f" and {more} more like it" if more else ""
            details.append(f"nearest: pod {pod.name}{like} ({_labels_text(pod.labels)}): " + "; ".join(diffs))
        if not same_ns:
            details.append(f"there is no pod at all in namespace {self.ns}")
        elsewhere = sorted({p.namespace for p in self.pods
                            if p.namespace != self.ns and ep.selects(selector, p.labels)})
        if elsewhere:
            details.append(f"pods in namespace {', '.join(elsewhere)} match, but a Service only selects pods "
                           f"of its own namespace ({self.ns})")
        self.out.chain.append(("endpoints", "<none>"))
        self.add(PROBLEM, f"the selector {_selector_text(selector)} matches no pod in namespace {self.ns}, "
                          "so the Service has no endpoints and connections to it are refused", details)

    def endpoints_step(self) -> None:
        ready = [p for p in self.selected if p.ready]
        publish = bool(self.spec.get("publishNotReadyAddresses"))
        self.out.chain.append(("endpoints", f"{len(ready)} of {len(self.selected)} selected pod(s) ready "
                                            f"({_selector_text(self.spec.get('selector'))})"))
        not_ready = [p for p in self.selected if not p.ready]
        if not not_ready:
            return
        details = []
        for p in not_ready:
            why = p.reason or (f"{p.phase}" if p.phase != "Running" else "no probe failure reported yet")
            restarts = f", {p.restarts} restart(s)" if p.restarts else ""
            details.append(f"{p.name} ({p.ip}, {p.phase}{restarts}): {why}")
        if publish:
            self.add(WARNING, f"{len(not_ready)} pod(s) not ready, kept in DNS by publishNotReadyAddresses", details)
        elif not ready:
            self.add(PROBLEM, "no selected pod is ready, so the Service has no endpoints "
                              "(a pod joins the endpoints only when its readiness probe passes)", details)
        else:
            self.add(WARNING, f"{len(not_ready)} of {len(self.selected)} pod(s) not ready: "
                              "they get no traffic until their readiness probe passes", details)

    def port_step(self, port) -> None:
        label = f"pod port {port.port}/{port.protocol}"
        views = {p.name: p.view() for p in self.selected}
        resolved = {p.name: ep.resolve_target(port, views[p.name]) for p in self.selected}
        missing = [p for p in self.selected if resolved[p.name] is None]
        if missing:
            self.add(PROBLEM, f"targetPort {port.target_port!r} of port {port.port}/{port.protocol} names no "
                              f"{port.protocol} container port of {len(missing)} pod(s), which are left out "
                              "of this port's endpoints",
                     [f"{p.name} declares: {_declared(p)}" for p in missing[:3]])
        numbers = sorted({n for n in resolved.values() if n is not None})
        if not numbers:
            self.out.chain.append((label, "<no pod has the target port>"))
            return
        undeclared = [p for p in self.selected if resolved[p.name] is not None and
                      (resolved[p.name], port.protocol) not in {(n, pr) for _, n, pr in views[p.name].container_ports}]
        if port.protocol != "TCP":
            self.out.chain.append((label, f"-> {', '.join(map(str, numbers))}/{port.protocol} "
                                          "(not checked: only TCP ports can be tried)"))
            if undeclared:
                self.add(WARNING, f"no container declares {numbers[0]}/{port.protocol}",
                         [f"{p.name} declares: {_declared(p)}" for p in undeclared[:1]])
            return
        if self.checks is None:
            self.out.chain.append((label, f"-> {', '.join(map(str, numbers))}/TCP (not checked)"))
            return
        verdicts = {p.name: self.checks.get((p.ip, resolved[p.name])) for p in self.selected
                    if resolved[p.name] is not None}
        closed = [p for p in self.selected if verdicts.get(p.name) not in (None, OPEN)]
        opened = [n for n, v in verdicts.items() if v == OPEN]
        self.out.chain.append((label, f"-> {', '.join(map(str, numbers))}/TCP: open on {len(opened)} of "
                                      f"{len(verdicts)} pod(s)"))
        if closed:
            details = [f"{p.name} {p.ip}:{resolved[p.name]}: {verdicts[p.name]}; it declares {_declared(p)}"
                       for p in closed[:3]]
            declared = sorted({n for p in closed for _, n, pr in views[p.name].container_ports if pr == "TCP"})
            if declared and resolved[closed[0].name] not in declared:
                details.append(f"did you mean targetPort: {declared[0]}?")
            self.add(PROBLEM, f"nothing listens on targetPort {port.target_port} of port {port.port}/TCP in "
                              f"{len(closed)} pod(s): connections that reach them fail", details)
        elif undeclared:
            self.add(WARNING, f"port {numbers[0]}/TCP answers but no container declares it "
                              "(a named targetPort needs a declared containerPort)")

    def proxy_answers(self) -> None:
        if not has_cluster_ip(self.svc):
            return
        answering = self.status.services[self.key].answering if self.key in self.status.services else None
        if answering is False:
            self.add(PROBLEM, f"the proxy at {self.spec.get('clusterIP')} does not accept connections yet "
                              "although the Service has ready endpoints (see `emukube events`)")

    def policy_step(self) -> None:
        """NetworkPolicies that keep some clients from some endpoints, and where they do not apply."""
        chosen: dict[str, list[str]] = {}
        for pod in self.selected:
            for policy in network_policy.selecting(self.policies, pod.view(), "Ingress"):
                chosen.setdefault(policy["metadata"]["name"], []).append(pod.name)
        for name, pods in chosen.items():
            self.add(WARNING, f"NetworkPolicy {name} selects {len(pods)} of its {len(self.selected)} endpoint(s): "
                              "only the clients its ingress rules admit reach them; the others wait until they "
                              "give up",
                     [", ".join(sorted(pods)[:5]), f"kubectl describe networkpolicy {name} -n {self.ns}"])
        if chosen:
            self.add(LIMIT, "NetworkPolicy is enforced by this Service's proxy and in the pods' own network "
                            "namespaces: connections from addresses that are not pods' are judged by ipBlocks "
                            "at the proxy only")

    def pitfalls(self, kind: str) -> None:
        external = kind in ("NodePort", "LoadBalancer")
        if external and self.spec.get("sessionAffinity") == "ClientIP" and \
                self.spec.get("externalTrafficPolicy", "Cluster") == "Cluster":
            via = f" (here: the Docker gateway {self.gateway})" if self.gateway and len(self.nodes) == 1 else ""
            self.add(WARNING, "sessionAffinity: ClientIP with externalTrafficPolicy: Cluster: outside clients "
                              "reach the pods through a node that rewrites their source address, so affinity "
                              "follows that address, not the real client",
                     [f"every client on the host arrives from the same address{via}, so all of them stick "
                      "to one pod", "in Kubernetes, externalTrafficPolicy: Local keeps the client's address"])

    def limits(self, kind: str) -> None:
        if self.spec.get("clusterIP") == "None":
            return
        ports = ep.service_ports(self.svc)
        self.add(LIMIT, f"backends see the proxy's address ({self.spec.get('clusterIP')}) as the client's "
                        "source IP, not the client's own (user-space proxy, not iptables DNAT)")
        if kind in ("NodePort", "LoadBalancer"):
            if len(self.nodes) == 1:
                self.add(LIMIT, f"one node: the NodePort listens on the host only ({self.nodes[0]}); "
                                "`emukube up --nodes N` emulates several")
            if self.spec.get("externalTrafficPolicy") == "Local":
                self.add(LIMIT, "externalTrafficPolicy: Local does not keep the client's source address here "
                                "(user-space proxies)")
        if kind == "LoadBalancer":
            self.add(LIMIT, "the EXTERNAL-IP is a loopback address of this machine, not a cloud load balancer")
        if self.spec.get("loadBalancerSourceRanges"):
            self.add(LIMIT, "loadBalancerSourceRanges is not enforced")
        if self.spec.get("sessionAffinity") == "ClientIP":
            if any(p.protocol == "UDP" for p in ports):
                self.add(LIMIT, "UDP affinity has no timeout (nginx hash $remote_addr consistent): a client "
                                "keeps its pod while the endpoints stay the same")
            if any(p.protocol == "TCP" for p in ports):
                self.add(LIMIT, "the ClientIP stick table survives proxy reloads, except in the first ~5 s "
                                "after the proxy starts")
        if any(p.protocol == "SCTP" for p in ports):
            self.add(LIMIT, "SCTP ports are not proxied")

    def summary(self, kind: str) -> str:
        ready = [p for p in self.selected if p.ready]
        first = ep.service_ports(self.svc)[0] if ep.service_ports(self.svc) else None
        if self.spec.get("clusterIP") == "None":
            return (f"{self.name} (headless) -> DNS A records for {len(ready)} ready pod(s): "
                    + ", ".join(p.ip for p in ready[:5]))
        via = self.spec.get("clusterIP")
        if kind in ("NodePort", "LoadBalancer") and first and first.node_port:
            via += f"; from the host {self.nodes[0]}:{first.node_port}"
        start = f"client -> {self.name}:{first.port}/{first.protocol}" if first else f"client -> {self.name}"
        targets = sorted({str(ep.resolve_target(first, p.view())) for p in ready}) if first else []
        return f"{start} ({via}) -> {len(ready)} ready endpoint(s) -> pod port {', '.join(targets)}"


def explain(svc: dict, pods: list[PodRow], status: Report | None = None, checks: dict | None = None,
            node_addresses: list[str] | None = None, gateway: str = "", policies: list[dict] | None = None
            ) -> Explanation:
    """checks maps (pod IP, port) to OPEN, REFUSED or another failure text; None = not checked.
    node_addresses: where NodePorts listen on the host, one per running node."""
    return _Explainer(svc, pods, status or Report(), checks, list(node_addresses or []), gateway,
                      list(policies or [])).run()
