"""`emukube export compose`: a Docker Compose project that reproduces a running cluster.

The same containers emukube runs, with the same addresses on a network with the same subnet
(or another /16 of emukube's series, everything moved along): CoreDNS with its Corefile and
zones, one HAProxy (and nginx for UDP) per Service with the configs the cluster runs now, and
every pod with its environment, command, files and ports. Configs are inline (`configs:` with
`content:`, Docker Compose v2.23.1 or later) or files beside the compose file. There is no
controller: endpoints stay those ready at export time. Pure: the CLI hands in what it read."""

from __future__ import annotations

import copy
import ipaddress
import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import yaml

from ..plan import config_volumes as cv
from ..plan import endpoints as ep
from ..plan import ingress as ingress_plan
from ..plan import network_policy
from ..plan.image_map import swap
from ..plan.network import FIRST_SECOND_OCTET, MAX_CLUSTERS, ClusterNet, in_cidr
from ..render import render_corefile, render_haproxy, render_nginx, render_zones
from ..render._template import fill
from ..render.coredns import COREFILE_PATH, ZONE_DIR
from ..render.ingress import DEFAULT_CERT, certificate_files, render_ingress
from ..runtime.ingress_proxy import fake_certificate_argv
from ..runtime.machine import allocatable
from ..runtime.podspec import Refs, command_and_args, container_env, resources, search_domains, volume_files
from ..runtime.proxies import CONFIG_DIR, HAPROXY_CMD, NGINX_CMD, published_ports
from ..runtime.security import RunsAsRoot, security_options, user_options

if TYPE_CHECKING:
    from ..client.snapshot import PodRow

NETWORK = "emukube"
RESTART = {"Always": "always", "OnFailure": "on-failure", "Never": "no"}


@dataclass
class Exported:
    text: str  # the compose file
    files: dict[str, bytes] = field(default_factory=dict)  # path beside it -> content (files mode)
    warnings: list[str] = field(default_factory=list)


def target_net(cluster: str, subnet: str | None, current: ClusterNet) -> ClusterNet:
    """The network of the export: the cluster's, or another /16 of emukube's series."""
    if not subnet:
        return current
    try:
        net = ipaddress.ip_network(subnet)
    except ValueError:
        net = None
    first = ipaddress.ip_network(f"10.{FIRST_SECOND_OCTET}.0.0/16")
    index = int(net.network_address) - int(first.network_address) >> 16 if net is not None else -1
    if net is None or net.prefixlen != 16 or not 0 <= index < MAX_CLUSTERS:
        last = FIRST_SECOND_OCTET + MAX_CLUSTERS - 1
        raise ValueError(f'invalid subnet "{subnet}": use a /16 from 10.{FIRST_SECOND_OCTET}.0.0/16 to '
                         f"10.{last}.0.0/16")
    return ClusterNet(cluster, index)


def mover(src: ClusterNet, dst: ClusterNet):
    """Maps the cluster's addresses to the export's: same host part, other /16 (and LB range)."""
    lb_src, lb_dst = src.lb_ip_pool()[0].rsplit(".", 1)[0] + ".", dst.lb_ip_pool()[0].rsplit(".", 1)[0] + "."
    delta = int(ipaddress.ip_address(dst.gateway)) - int(ipaddress.ip_address(src.gateway))

    def move(ip: str) -> str:
        if not ip or ip == "None":
            return ip
        if in_cidr(ip, src.subnet):
            return str(ipaddress.ip_address(int(ipaddress.ip_address(ip)) + delta))
        if ip.startswith(lb_src):
            return lb_dst + ip[len(lb_src):]
        return ip

    return move


def _moved_service(svc: dict, move) -> dict:
    svc = copy.deepcopy(svc)
    spec = svc["spec"]
    if spec.get("clusterIP"):
        spec["clusterIP"] = move(spec["clusterIP"])
    if spec.get("clusterIPs"):
        spec["clusterIPs"] = [move(ip) for ip in spec["clusterIPs"]]
    for ing in svc.get("status", {}).get("loadBalancer", {}).get("ingress", []):
        if ing.get("ip"):
            ing["ip"] = move(ing["ip"])
    return svc


def _dollars(value):
    """Compose interpolates $VAR everywhere; a literal $ is written $$."""
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, list):
        return [_dollars(v) for v in value]
    if isinstance(value, dict):
        return {k: _dollars(v) for k, v in value.items()}
    return value


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper, data: str):
    style = "|" if "\n" in data and all(line == line.rstrip() for line in data.splitlines()) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


def _list(dumper, data: list):
    flow = all(isinstance(v, (str, int, float)) and "\n" not in str(v) for v in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(str, _str)
_Dumper.add_representer(list, _list)


def _dump(doc: dict, indent: str = "") -> str:
    text = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=120)
    return "".join(indent + line if line.strip() else line for line in text.splitlines(True))


class _Builder:
    def __init__(self, objects: list[dict], pods: list[PodRow], src: ClusterNet, dst: ClusterNet,
                 settings: dict, role_images: dict, address: str, inline: bool):
        self.move = mover(src, dst)
        self.net, self.settings, self.images, self.address = dst, settings, role_images, address
        self.inline = inline
        self.objects = objects
        self.services = [_moved_service(o, self.move) for o in objects if o["kind"] == "Service"]
        self.pods = [p for p in pods if p.phase != "Terminating" and not p.owner.startswith("Run/")]
        self.views = [ep.PodView(name=p.name, namespace=p.namespace, ip=self.move(p.ip), labels=p.labels,
                                 ready=p.ready, container_ports=p.view().container_ports,
                                 hostname=p.spec.get("hostname") or p.name,
                                 subdomain=p.spec.get("subdomain") or "") for p in self.pods]
        self.out: dict[str, dict] = {}
        self.configs: dict[str, dict] = {}
        self.volumes: dict[str, dict] = {}
        self.result = Exported("")

    def config(self, service: str, name: str, content: bytes, target: str, mode: int = 0o644) -> dict:
        """A config for one file of one container, inline or as a file beside the compose file."""
        key = f"{service}.{name}".replace("/", "_")
        if self.inline:
            try:
                self.configs[key] = {"content": content.decode()}
            except UnicodeDecodeError:
                self.result.warnings.append(f"{service}: {target} is binary; left out (use --output-dir)")
                return {}
        else:
            self.result.files[f"configs/{key}"] = content
            self.configs[key] = {"file": f"./configs/{key}"}
        ref: dict[str, str | int] = {"source": key, "target": target}
        if mode != 0o644:
            ref["mode"] = mode
        return ref

    def on_network(self, ip: str) -> dict:
        return {"networks": {NETWORK: {"ipv4_address": ip}}}

    # ---- DNS and proxies ----------------------------------------------------------------
    def dns(self) -> None:
        plan = ep.dns_plan(self.services, self.views, self.net, serial=1)
        configs = [self.config("dns", "Corefile", render_corefile(plan).encode(), COREFILE_PATH)]
        configs += [self.config("dns", name, text.encode(), f"{ZONE_DIR}/{name}")
                    for name, text in render_zones(plan).items()]
        self.out["dns"] = {"image": self.images["coredns"], "command": ["-conf", COREFILE_PATH], "user": "0",
                           "hostname": "coredns", "restart": "always", **self.on_network(self.net.dns_ip),
                           "configs": configs}

    def proxies(self) -> None:
        policies = [o for o in self.objects if o["kind"] == "NetworkPolicy"]
        clients = [*self.views, network_policy.ingress_controller(self.net.ingress_ip)]
        spaces = network_policy.namespace_labels(self.objects)
        for svc in self.services:
            plan = ep.proxy_plan(svc, self.views)
            if plan is None:
                continue
            plan = network_policy.restrict(plan, clients, policies, spaces)  # as the cluster's proxies route
            name = f"svc_{plan.namespace}_{plan.name}"
            bindings = published_ports(svc, plan, self.address)
            ports = [f"{ip}:{host}:{key}" for key, pairs in sorted(bindings.items()) for ip, host in pairs]
            tcp = {"image": self.images["haproxy"], "entrypoint": ["haproxy"], "command": list(HAPROXY_CMD),
                   "user": "0", "hostname": f"svc-{plan.name}"[:63], "restart": "always",
                   **self.on_network(plan.cluster_ip),
                   "configs": [self.config(name, "haproxy.cfg", render_haproxy(plan).encode(),
                                           f"{CONFIG_DIR}/haproxy.cfg")]}
            if ports:
                tcp["ports"] = ports
            self.out[name] = tcp
            udp = render_nginx(plan)
            if udp is not None:
                self.out[f"{name}_udp"] = {
                    "image": self.images["nginx"], "entrypoint": ["nginx"], "command": list(NGINX_CMD),
                    "user": "0", "network_mode": f"service:{name}", "depends_on": [name], "restart": "always",
                    "configs": [self.config(f"{name}_udp", "nginx.conf", udp.encode(), f"{CONFIG_DIR}/nginx.conf")]}

    def ingress(self) -> None:
        """The Ingress controller, while any Ingress exists: its fake certificate made with
        openssl when it starts (the cluster's is in its state volume, which is not exported)."""
        ingresses = [o for o in self.objects if o["kind"] == "Ingress"]
        if not ingresses:
            return
        plan = ingress_plan.plan(ingresses, self.services, [o for o in self.objects if o["kind"] == "Secret"])
        files = {"haproxy.cfg": render_ingress(plan), **certificate_files(plan)}
        fake = (f"{shlex.join(fake_certificate_argv('/tmp/key.pem', '/tmp/crt.pem'))} 2>/dev/null && "
                f"cat /tmp/crt.pem /tmp/key.pem > {CONFIG_DIR}/{DEFAULT_CERT} && "
                f"exec haproxy {shlex.join(HAPROXY_CMD)}")
        address = self.net.ingress_address
        self.out["ingress"] = {
            "image": self.images["haproxy"], "entrypoint": ["sh", "-c"], "command": [fake], "user": "0",
            "hostname": "ingress-controller", "restart": "always", **self.on_network(self.net.ingress_ip),
            "ports": [f"{address}:{p}:{p}" for p in (ingress_plan.HTTP_PORT, ingress_plan.HTTPS_PORT)],
            "configs": [self.config("ingress", name, text.encode(), f"{CONFIG_DIR}/{name}")
                        for name, text in files.items()]}

    # ---- pods ---------------------------------------------------------------------------
    def pod(self, pod: PodRow) -> None:
        spec, ns = pod.spec, pod.namespace
        ip = self.move(pod.ip)
        base = f"pod_{ns}_{pod.name}"
        holder = {"hostname": (spec.get("hostname") or pod.name)[:63], **self.on_network(ip),
                  "dns": [self.net.dns_ip], "dns_search": search_domains(ns), "dns_opt": ["ndots:5"]}
        if spec.get("subdomain"):
            holder["domainname"] = f"{spec['subdomain']}.{ns}.svc.cluster.local"
        containers, inits = spec.get("containers") or [], spec.get("initContainers") or []
        restart = RESTART.get(spec.get("restartPolicy", "Always"), "always")
        if len(containers) == 1 and not inits:
            self.out[base] = {**self.container(pod, containers[0], base, ip), **holder, "restart": restart}
            return
        self.out[base] = {"image": self.images["pause"], **holder, "restart": "always"}
        after = {base: {"condition": "service_started"}}
        for c in inits:
            name = f"{base}_init-{c['name']}"
            self.out[name] = {**self.container(pod, c, name, ip), "network_mode": f"service:{base}",
                              "restart": "no", "depends_on": dict(after)}
            after = {base: {"condition": "service_started"}, name: {"condition": "service_completed_successfully"}}
        for c in containers:
            name = f"{base}_{c['name']}"
            self.out[name] = {**self.container(pod, c, name, ip), "network_mode": f"service:{base}",
                              "restart": restart, "depends_on": dict(after)}

    def container(self, pod: PodRow, c: dict, name: str, ip: str) -> dict:
        missing: list[str] = []
        refs = Refs(self.objects)
        env = container_env(c, pod.name, pod.namespace, ip, refs, ep.service_env(self.services, pod.namespace),
                            missing)
        side = cv.PodSide({"name": pod.name, "namespace": pod.namespace, "labels": pod.labels}, allocatable())
        files = volume_files(pod.spec, c, pod.namespace, refs, missing, side)
        self.result.warnings += [f"{name}: {m}" for m in missing]
        entrypoint, command = command_and_args(c, env)
        out: dict = {"image": swap(c["image"], self.settings.get("image_map") or {})}
        if entrypoint:
            out["entrypoint"] = entrypoint
        if command:
            out["command"] = command
        if env:
            out["environment"] = dict(sorted(env.items()))
        if c.get("workingDir"):
            out["working_dir"] = c["workingDir"]
        try:
            out.update(user_options(pod.spec, c))
        except RunsAsRoot as exc:
            self.result.warnings.append(f"{name}: {exc}: compose would start it anyway")
        for key, value in security_options(pod.spec, c, bool(self.settings.get("allow_privileged"))).items():
            if value:
                out[key] = value
        limits = resources(c)
        if "mem_limit" in limits:
            out["mem_limit"] = limits["mem_limit"]
        if "nano_cpus" in limits:
            out["cpus"] = limits["nano_cpus"] / 1e9
        if c.get("tty"):
            out["tty"] = True
        if c.get("stdin"):
            out["stdin_open"] = True
        configs = [self.config(name, f"file{i}", content, target, mode)
                   for i, (target, (content, mode)) in enumerate(sorted(files.items()))]
        if any(configs):
            out["configs"] = [ref for ref in configs if ref]
        mounts = self.mounts(pod, c)
        if mounts:
            out["volumes"] = mounts
        return out

    def mounts(self, pod: PodRow, c: dict) -> list[str]:
        volumes = {v["name"]: v for v in pod.spec.get("volumes") or []}
        out = []
        for m in c.get("volumeMounts") or []:
            vol = volumes.get(m["name"], {})
            ro = ":ro" if m.get("readOnly") else ""
            claim = (vol.get("persistentVolumeClaim") or {}).get("claimName")
            if claim or "emptyDir" in vol:
                source = f"{pod.namespace}_{claim}" if claim else f"{pod.namespace}_{pod.name}_{m['name']}"
                self.volumes[source] = {}
                out.append(f"{source}:{m['mountPath']}{ro}")
            elif "hostPath" in vol:
                out.append(f"{vol['hostPath']['path']}:{m['mountPath']}{ro}")
        return out


def _notes(address: str, secrets: bool, inline: bool) -> str:
    lines = [
        "Run it: docker compose up -d" + ("   (inline configs need Docker Compose v2.23.1 or later)" if inline else ""),
        "No controller: no self-healing (Docker restarts containers per restartPolicy, nothing",
        "replaces a removed pod), no readiness-driven endpoints (the proxies keep the endpoints",
        "that were ready at export time), no probes, no scaling, no rolling updates.",
        f"NodePorts are published on {address}, LoadBalancers on their EXTERNAL-IPs, as in the cluster.",
        "Docker's resolver, which pods ask first, answers PTR lookups of container addresses.",
    ]
    if secrets:
        lines.append("Secrets are written here in plain text, as files and environment variables.")
    return "\n".join(f"# {line}" for line in lines)


def export(objects: list[dict], pods: list[PodRow], net: ClusterNet, settings: dict, role_images: dict, *,
           project: str, source: str, subnet: str | None = None, address: str | None = None,
           inline: bool = True) -> Exported:
    """The compose file (and, with inline=False, the files beside it) for the cluster."""
    dst = target_net(net.name, subnet, net)
    address = address or settings.get("address") or "127.0.0.1"
    b = _Builder(objects, pods, net, dst, settings, role_images, address, inline)
    b.dns()
    b.proxies()
    b.ingress()
    for pod in b.pods:
        b.pod(pod)
    sections = {}
    if b.configs:
        sections["configs"] = b.configs
    if b.volumes:
        sections["volumes"] = b.volumes
    uses_secrets = any(o["kind"] == "Secret" for o in objects)
    text = fill("compose.yaml.tmpl", source=source, domain="cluster.local", project=project,
                notes=_notes(address, uses_secrets, inline), network=NETWORK, subnet=dst.subnet,
                services=_dump(_dollars(b.out), "  "),
                sections="\n" + _dump(_dollars(sections)) if sections else "")
    b.result.text = text
    return b.result
