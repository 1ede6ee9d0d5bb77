"""Unit tests for emukube.render: pure text checks, no external program."""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from pathlib import Path

import pytest
import yaml

import emukube
from emukube.plan.types import Backend, DnsEndpoint, DnsPlan, DnsService, ProxyPlan, ServicePort
from emukube.render import (
    HAPROXY_LOCAL_PEER,
    render_corefile,
    render_haproxy,
    render_nginx,
    render_zones,
    template_dir,
)
from emukube.render._template import fill
from emukube.render.coredns import pod_name_pattern
from emukube.render.haproxy import HAPROXY_COMMAND, haproxy_peer_port, haproxy_stats_port
from emukube.render.nginx import NGINX_COMMAND, NGINX_STREAM_MODULE

# ---------------------------------------------------------------------------------------------
# fixtures


def web_plan(**changes) -> ProxyPlan:
    """Service default/web: TCP 80 (http, nodePort 30080) with two pods, TCP 443 without
    endpoints, UDP 53 with one pod, UDP 5353 without endpoints."""
    plan = ProxyPlan(
        namespace="default",
        name="web",
        cluster_ip="10.96.0.10",
        ports=(
            ServicePort(80, "TCP", "http", 8080, 30080),
            ServicePort(443, "TCP", "https", 8443),
            ServicePort(53, "UDP", "dns", 5353),
            ServicePort(5353, "UDP", "mdns", 5353),
        ),
        backends={
            "TCP/80": (Backend("web-7d9-b", "10.97.0.6", 8080), Backend("web-7d9-a", "10.97.0.5", 8080)),
            "TCP/443": (),
            "UDP/53": (Backend("web-7d9-a", "10.97.0.5", 5353),),
            "UDP/5353": (),
        },
        listen_ports_extra={"TCP/80": (30080, 8081), "UDP/53": (30053,)},
    )
    return dataclasses.replace(plan, **changes)


def section(text: str, header: str) -> str:
    """The lines of an HAProxy section, from its header to the next unindented line."""
    lines = text.splitlines()
    start = lines.index(header)
    out = [lines[start]]
    for line in lines[start + 1 :]:
        if line and not line[0].isspace() and not line.startswith("#"):
            break
        out.append(line)
    return "\n".join(out)


def directives(text: str) -> list[str]:
    """Config lines without comments and blank lines, stripped."""
    result = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            result.append(line)
    return result


# ---------------------------------------------------------------------------------------------
# templates


def test_template_dir_holds_every_template():
    directory = template_dir()
    package = Path(emukube.__file__).resolve().parent
    assert directory in (package / "compose-templates", package.parent / "compose-templates")
    for name in (
        "haproxy.cfg.tmpl",
        "haproxy-ingress.cfg.tmpl",
        "haproxy-listen.tmpl",
        "haproxy-affinity.tmpl",
        "haproxy-peers.tmpl",
        "nginx.conf.tmpl",
        "nginx-server.tmpl",
        "Corefile.tmpl",
        "Corefile-zone.tmpl",
        "zone.tmpl",
        "compose.yaml.tmpl",
        "README.md",
    ):
        assert (directory / name).is_file(), name
    readme = (directory / "README.md").read_text()
    for tmpl in directory.glob("*.tmpl"):
        assert f"`{tmpl.name}`" in readme, f"README.md does not explain {tmpl.name}"


def test_template_comments_and_placeholders_never_reach_the_output():
    for text in (render_haproxy(web_plan(affinity_timeout=30)), render_nginx(web_plan()),
                 render_corefile(DnsPlan((), serial=1, reverse_cidrs=("10.96.0.0/16",)))):
        text = re.sub(r"\{\{ \.[A-Za-z.]+ \}\}", "", text)  # CoreDNS template plugin's own (Go) placeholders
        assert "{{" not in text and "}}" not in text


def test_fill_refuses_a_missing_value():
    with pytest.raises(KeyError):
        fill("haproxy-peers.tmpl", peers_section="x")


def test_compose_skeleton_is_yaml_with_the_cluster_network():
    text = fill(
        "compose.yaml.tmpl",
        source="app.yaml",
        domain="cluster.local",
        project="emukube-demo",
        network="emukube",
        subnet="10.96.0.0/16",
        services="  coredns:\n    image: emukube/coredns\n",
        notes="# a note",
        sections="",
    )
    doc = yaml.safe_load(text)
    assert doc["networks"]["emukube"]["ipam"]["config"] == [{"subnet": "10.96.0.0/16"}]
    assert doc["services"] == {"coredns": {"image": "emukube/coredns"}}
    assert text.startswith("# Docker Compose file exported by emukube")


# ---------------------------------------------------------------------------------------------
# HAProxy


def test_haproxy_is_deterministic_and_ignores_input_order():
    plan = web_plan(affinity_timeout=600)
    text = render_haproxy(plan)
    assert text == render_haproxy(web_plan(affinity_timeout=600))
    shuffled = dataclasses.replace(
        plan,
        ports=tuple(reversed(plan.ports)),
        backends={k: tuple(reversed(v)) for k, v in reversed(list(plan.backends.items()))},
        listen_ports_extra={"TCP/80": (8081, 30080), "UDP/53": (30053,)},
    )
    assert render_haproxy(shuffled) == text
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_haproxy_global_and_defaults():
    text = render_haproxy(web_plan())
    lines = directives(text)
    assert "stats socket /tmp/emukube/haproxy.sock mode 600 level admin expose-fd listeners" in lines
    assert "maxconn 4096" in lines
    assert not any(line.startswith(("chroot", "user ", "group ", "daemon")) for line in lines)
    defaults = directives(section(text, "defaults"))
    for wanted in ("mode tcp", "timeout connect 5s", "timeout client 1h", "timeout server 1h", "retries 0"):
        assert wanted in defaults
    assert not any(line.startswith("option redispatch") for line in lines)
    assert HAPROXY_COMMAND == ("haproxy", "-W", "-db", "-L", "local", "-f", "/tmp/emukube/haproxy.cfg")
    assert HAPROXY_LOCAL_PEER == "local"


def test_haproxy_port_with_backends_listens_with_extra_ports_and_random_balance():
    text = render_haproxy(web_plan())
    listen = directives(section(text, "listen tcp-80"))
    assert [line for line in listen if line.startswith("bind")] == ["bind :80", "bind :8081", "bind :30080"]
    assert "balance random(1)" in listen
    servers = [line for line in listen if line.startswith("server")]
    assert servers == [
        "server web-7d9-a 10.97.0.5:8080 weight 100",
        "server web-7d9-b 10.97.0.6:8080 weight 100",
    ]
    assert not any(" check" in line for line in servers)


def test_haproxy_port_without_backends_has_no_listener():
    text = render_haproxy(web_plan())
    assert "tcp-443" not in text
    assert not re.search(r"bind \S*:443\b", text)
    # UDP ports never appear in the HAProxy config
    assert "bind :53" not in text and ":30053" not in text


def test_haproxy_without_any_backend_keeps_only_the_stats_listener():
    text = render_haproxy(web_plan(backends={}, affinity_timeout=60))
    binds = [line for line in directives(text) if line.startswith("bind")]
    assert binds == ["bind 127.0.0.1:8404"]
    stats = directives(section(text, "listen stats"))
    assert {"mode http", "stats enable", "stats uri /stats"} <= set(stats)
    assert "peers emukube" not in text
    assert not any(line.startswith("server ") for line in directives(text))


def test_haproxy_affinity_present():
    text = render_haproxy(web_plan(affinity_timeout=10800))
    listen = directives(section(text, "listen tcp-80"))
    assert "stick-table type ip size 100k expire 10800s srvkey name peers emukube" in listen
    assert "stick on src" in listen
    peers = directives(section(text, "peers emukube"))
    assert peers == ["peers emukube", f"peer {HAPROXY_LOCAL_PEER} 127.0.0.1:10000"]


def test_haproxy_affinity_absent():
    text = render_haproxy(web_plan())
    assert "stick" not in text
    assert "peers emukube" not in text


def test_haproxy_server_names_are_valid_and_unique():
    backends = (
        Backend("pod.a", "10.0.0.1", 80),
        Backend("pod a", "10.0.0.2", 80),  # not a valid pod name, but must not break the config
        Backend("pod_a", "10.0.0.3", 80),
        Backend("", "10.0.0.4", 80),
        Backend("pod-b", "fd00::5", 80),
        Backend("pod-c", "not-an-ip", 80),  # skipped
    )
    plan = web_plan(backends={"TCP/80": backends})
    servers = [line for line in directives(render_haproxy(plan)) if line.startswith("server")]
    names = [line.split()[1] for line in servers]
    assert len(names) == len(set(names)) == 5
    assert all(re.fullmatch(r"[A-Za-z0-9_.:-]+", name) for name in names)
    assert "server pod-b [fd00::5]:80 weight 100" in servers
    assert not any("not-an-ip" in line for line in servers)


def test_haproxy_internal_ports_avoid_service_ports():
    plan = ProxyPlan(
        "default",
        "clash",
        "10.96.0.11",
        ports=(ServicePort(8404, "TCP", "a", 80), ServicePort(10000, "TCP", "b", 80)),
        backends={"TCP/8404": (Backend("p", "10.0.0.1", 80),), "TCP/10000": (Backend("p", "10.0.0.1", 80),)},
        listen_ports_extra={"TCP/8404": (8405,)},
        affinity_timeout=5,
    )
    assert haproxy_stats_port(plan) == 8406
    assert haproxy_peer_port(plan) == 10001
    text = render_haproxy(plan)
    assert "bind 127.0.0.1:8406" in text and "peer local 127.0.0.1:10001" in text


# ---------------------------------------------------------------------------------------------
# nginx


def test_nginx_none_without_udp_ports():
    plan = web_plan(ports=web_plan().tcp_ports())
    assert render_nginx(plan) is None


def test_nginx_shape_and_determinism():
    text = render_nginx(web_plan())
    assert text == render_nginx(web_plan(ports=tuple(reversed(web_plan().ports))))
    lines = directives(text)
    assert lines[:6] == [
        f"load_module {NGINX_STREAM_MODULE};",
        "worker_processes 1;",
        "pid /tmp/emukube/nginx.pid;",
        "error_log stderr warn;",
        "events {",
        "worker_connections 1024;",
    ]
    assert "daemon off;" not in lines  # given on the command line
    assert NGINX_COMMAND == ("nginx", "-g", "daemon off;", "-c", "/tmp/emukube/nginx.conf")
    assert "upstream udp_53 {" in lines and "random;" in lines
    assert "server 10.97.0.5:5353;" in lines
    block = text[text.index("    server {") :]
    assert directives(block)[:6] == [
        "server {",
        "listen 53 udp;",
        "listen 30053 udp;",
        "proxy_pass udp_53;",
        "proxy_responses 1;",
        "proxy_timeout 5s;",
    ]
    assert text.count("{") == text.count("}")


def test_nginx_port_without_backends_does_not_listen():
    text = render_nginx(web_plan())
    assert "5353 udp" not in text and "udp_5353" not in text


def test_nginx_no_listener_at_all_gives_an_empty_stream_block():
    text = render_nginx(web_plan(backends={}))
    assert "stream {\n}\n" in text
    assert not any(line.startswith(("listen", "upstream", "server")) for line in directives(text))


def test_nginx_affinity_uses_consistent_hash():
    text = render_nginx(web_plan(affinity_timeout=300))
    lines = directives(text)
    assert "hash $remote_addr consistent;" in lines
    assert "random;" not in lines
    assert "no affinity timeout" in text


def test_nginx_without_load_module_for_a_built_in_stream_module():
    text = render_nginx(web_plan(), stream_module=None)
    assert "load_module" not in text
    assert "stream {" in text


def test_nginx_ipv6_backend_uses_brackets():
    plan = web_plan(backends={"UDP/53": (Backend("p", "fd00::7", 53),)})
    assert "server [fd00::7]:53;" in directives(render_nginx(plan))


# ---------------------------------------------------------------------------------------------
# CoreDNS: a tiny master-file parser, and a lookup that answers like the `file` plugin


RECORD_TYPES = {"SOA", "NS", "A", "AAAA", "CNAME", "TXT", "SRV", "PTR"}
NAME = re.compile(r"^([A-Za-z0-9_]([-A-Za-z0-9_]*[A-Za-z0-9_])?\.)+$")


def absolute(name: str, origin: str) -> str:
    if name == "@":
        return origin
    return name if name.endswith(".") else f"{name}.{origin}"


def check_name(name: str) -> None:
    assert NAME.match(name), f"bad name {name!r}"
    assert len(name) <= 255
    assert all(len(label) <= 63 for label in name.rstrip(".").split("."))


def parse_zone(text: str) -> tuple[str, list[tuple[str, int, str, str]]]:
    """Parse the subset of RFC 1035 master files emukube writes; assert everything is well formed.
    Returns (origin, [(owner, ttl, type, rdata)])."""
    origin = None
    default_ttl = None
    records: list[tuple[str, int, str, str]] = []
    for raw in text.splitlines():
        line = re.sub(r';[^"]*$', "", raw).rstrip()  # comments (never inside our TXT strings)
        if not line.strip():
            continue
        assert "(" not in line and ")" not in line, "multi-line records are not expected"
        if line.startswith("$ORIGIN"):
            origin = line.split()[1]
            check_name(origin)
            continue
        if line.startswith("$TTL"):
            default_ttl = int(line.split()[1])
            continue
        assert origin is not None and default_ttl is not None, "$ORIGIN and $TTL come first"
        assert not line[0].isspace(), "every record names its owner"
        owner, ttl, klass, rtype, *rdata = line.split()
        owner = absolute(owner, origin)
        check_name(owner)
        assert owner == origin or owner.endswith("." + origin), f"{owner} outside {origin}"
        assert ttl.isdigit() and klass == "IN" and rtype in RECORD_TYPES, line
        if rtype == "A":
            assert len(rdata) == 1 and ipaddress.IPv4Address(rdata[0])
        elif rtype == "AAAA":
            assert len(rdata) == 1 and ipaddress.IPv6Address(rdata[0])
        elif rtype in ("NS", "CNAME", "PTR"):
            assert len(rdata) == 1 and rdata[0].endswith("."), line
            check_name(rdata[0])
        elif rtype == "SRV":
            assert len(rdata) == 4 and all(x.isdigit() for x in rdata[:3]) and rdata[3].endswith(".")
            assert int(rdata[0]) < 65536 and int(rdata[1]) < 65536 and 0 < int(rdata[2]) < 65536
            check_name(rdata[3])
        elif rtype == "TXT":
            assert len(rdata) == 1 and re.fullmatch(r'"[^"\\]*"', rdata[0])
        elif rtype == "SOA":
            assert owner == origin and not records, "the SOA comes first, at the apex"
            assert len(rdata) == 7 and all(x.isdigit() for x in rdata[2:])
            check_name(rdata[0])
            check_name(rdata[1])
        records.append((owner, int(ttl), rtype, " ".join(rdata)))
    assert records and records[0][2] == "SOA"
    assert len(records) == len(set(records)), "duplicate records"
    cnames = {r[0] for r in records if r[2] == "CNAME"}
    for name in cnames:
        assert [r[2] for r in records if r[0] == name] == ["CNAME"], f"CNAME {name} not alone"
    return origin, records


def lookup(records, name: str, rtype: str):
    """(rcode, answers) as an authoritative server without wildcards gives them."""
    answers = sorted(r[3] for r in records if r[0] == name and r[2] == rtype)
    if answers:
        return "NOERROR", answers
    exists = any(r[0] == name or r[0].endswith("." + name) for r in records)
    return ("NOERROR" if exists else "NXDOMAIN"), []


def dns_plan(**changes) -> DnsPlan:
    plan = DnsPlan(
        services=(
            DnsService(
                "default",
                "web",
                "ClusterIP",
                ports=(ServicePort(80, "TCP", "http", 8080), ServicePort(53, "UDP", "dns", 53)),
                cluster_ip="10.96.0.10",
            ),
            DnsService("default", "single", "ClusterIP", ports=(ServicePort(80),), cluster_ip="10.96.0.11"),
            DnsService(
                "default",
                "db",
                "Headless",
                ports=(ServicePort(5432, "TCP", "pg", 5432),),
                endpoints=(DnsEndpoint("10.97.0.6", None), DnsEndpoint("10.97.0.5", "db-0")),
            ),
            DnsService("default", "nobody", "Headless", ports=(ServicePort(80, "TCP", "http"),)),
            DnsService("other", "ext", "ExternalName", external_name="foo.example.com"),
            DnsService("other", "ext-dot", "ExternalName", external_name="bar.example.org."),
        ),
        serial=1234,
        dns_ip="10.96.0.2",
        reverse_cidrs=("10.96.0.0/16", "10.97.0.0/16"),
    )
    return dataclasses.replace(plan, **changes)


def zone_records(plan: DnsPlan, file: str = "db.cluster.local"):
    origin, records = parse_zone(render_zones(plan)[file])
    return records


def test_zone_files_and_names():
    zones = render_zones(dns_plan())
    assert list(zones) == ["db.cluster.local", "db.96.10.in-addr.arpa", "db.97.10.in-addr.arpa"]
    for text in zones.values():
        parse_zone(text)
    assert parse_zone(zones["db.96.10.in-addr.arpa"])[0] == "96.10.in-addr.arpa."


def test_zones_are_deterministic():
    plan = dns_plan()
    shuffled = dns_plan(
        services=tuple(
            dataclasses.replace(s, endpoints=tuple(reversed(s.endpoints))) for s in reversed(plan.services)
        ),
        reverse_cidrs=tuple(reversed(plan.reverse_cidrs)),
    )
    assert render_zones(plan) == render_zones(shuffled) == render_zones(dns_plan())
    assert render_corefile(plan) == render_corefile(shuffled)


def test_zone_head_soa_serial_ns_ttl():
    text = render_zones(dns_plan())["db.cluster.local"]
    assert text.splitlines()[1:3] == ["$ORIGIN cluster.local.", "$TTL 5"]
    records = zone_records(dns_plan())
    soa = records[0]
    assert soa[:3] == ("cluster.local.", 5, "SOA")
    assert soa[3].split()[:3] == ["ns.dns.cluster.local.", "hostmaster.cluster.local.", "1234"]
    assert lookup(records, "cluster.local.", "NS") == ("NOERROR", ["ns.dns.cluster.local."])
    assert lookup(records, "ns.dns.cluster.local.", "A") == ("NOERROR", ["10.96.0.2"])
    assert {r[1] for r in records} == {5}
    assert zone_records(dns_plan(serial=1235))[0][3].split()[2] == "1235"
    assert {r[1] for r in zone_records(dns_plan(ttl=30))} == {30}


def test_zone_dns_version():
    assert lookup(zone_records(dns_plan()), "dns-version.cluster.local.", "TXT") == ("NOERROR", ['"1.1.0"'])


def test_zone_cluster_ip_service():
    records = zone_records(dns_plan())
    assert lookup(records, "web.default.svc.cluster.local.", "A") == ("NOERROR", ["10.96.0.10"])
    assert lookup(records, "_http._tcp.web.default.svc.cluster.local.", "SRV") == (
        "NOERROR",
        ["0 100 80 web.default.svc.cluster.local."],
    )
    assert lookup(records, "_dns._udp.web.default.svc.cluster.local.", "SRV") == (
        "NOERROR",
        ["0 100 53 web.default.svc.cluster.local."],
    )
    # an unnamed port has no SRV record
    assert lookup(records, "single.default.svc.cluster.local.", "A") == ("NOERROR", ["10.96.0.11"])
    assert not [r for r in records if r[2] == "SRV" and "single" in r[0]]


def test_zone_headless_service():
    records = zone_records(dns_plan())
    assert lookup(records, "db.default.svc.cluster.local.", "A") == ("NOERROR", ["10.97.0.5", "10.97.0.6"])
    assert lookup(records, "db-0.db.default.svc.cluster.local.", "A") == ("NOERROR", ["10.97.0.5"])
    assert lookup(records, "10-97-0-6.db.default.svc.cluster.local.", "A") == ("NOERROR", ["10.97.0.6"])
    rcode, srv = lookup(records, "_pg._tcp.db.default.svc.cluster.local.", "SRV")
    assert [s.split()[2:] for s in srv] == [
        ["5432", "10-97-0-6.db.default.svc.cluster.local."],
        ["5432", "db-0.db.default.svc.cluster.local."],
    ]
    assert all(s.split()[0] == "0" for s in srv)


def test_zone_headless_without_endpoints_is_nxdomain():
    records = zone_records(dns_plan())
    assert lookup(records, "nobody.default.svc.cluster.local.", "A") == ("NXDOMAIN", [])
    assert lookup(records, "_http._tcp.nobody.default.svc.cluster.local.", "SRV") == ("NXDOMAIN", [])


def test_zone_external_name_cname_has_one_trailing_dot():
    records = zone_records(dns_plan())
    assert lookup(records, "ext.other.svc.cluster.local.", "CNAME") == ("NOERROR", ["foo.example.com."])
    assert lookup(records, "ext-dot.other.svc.cluster.local.", "CNAME") == ("NOERROR", ["bar.example.org."])
    text = render_zones(dns_plan())["db.cluster.local"]
    assert ".." not in text


def test_zone_unknown_name_nxdomain_and_empty_non_terminal_nodata():
    records = zone_records(dns_plan())
    assert lookup(records, "nope.default.svc.cluster.local.", "A") == ("NXDOMAIN", [])
    assert lookup(records, "svc.cluster.local.", "A") == ("NOERROR", [])
    assert lookup(records, "default.svc.cluster.local.", "A") == ("NOERROR", [])
    assert not any(r[0].startswith("*") for r in records)


def test_reverse_zones_ptr():
    zones = render_zones(dns_plan())
    _, svc_ptrs = parse_zone(zones["db.96.10.in-addr.arpa"])
    assert lookup(svc_ptrs, "10.0.96.10.in-addr.arpa.", "PTR") == ("NOERROR", ["web.default.svc.cluster.local."])
    assert lookup(svc_ptrs, "11.0.96.10.in-addr.arpa.", "PTR") == ("NOERROR", ["single.default.svc.cluster.local."])
    assert svc_ptrs[0][3].split()[2] == "1234"
    _, pod_ptrs = parse_zone(zones["db.97.10.in-addr.arpa"])
    assert lookup(pod_ptrs, "5.0.97.10.in-addr.arpa.", "PTR") == ("NOERROR", ["db-0.db.default.svc.cluster.local."])
    assert lookup(pod_ptrs, "6.0.97.10.in-addr.arpa.", "PTR") == (
        "NOERROR",
        ["10-97-0-6.db.default.svc.cluster.local."],
    )


def test_reverse_zone_names_for_various_prefixes():
    def names(*cidrs):
        return list(render_zones(dns_plan(services=(), reverse_cidrs=cidrs)))[1:]

    assert names("10.96.0.0/16") == ["db.96.10.in-addr.arpa"]
    assert names("192.168.5.0/24") == ["db.5.168.192.in-addr.arpa"]
    assert names("10.0.0.0/8") == ["db.10.in-addr.arpa"]
    assert names("10.96.0.0/15") == ["db.96.10.in-addr.arpa", "db.97.10.in-addr.arpa"]
    assert len(names("10.96.0.0/12")) == 16
    assert names("fd00:10:96::/48") == ["db.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa"]
    assert names("not-a-cidr", "0.0.0.0/0") == []


def test_reverse_ptr_goes_to_the_most_specific_zone_and_outside_ips_have_none():
    plan = dns_plan(reverse_cidrs=("10.96.0.0/16", "10.96.0.0/24"))
    zones = render_zones(plan)
    _, wide = parse_zone(zones["db.96.10.in-addr.arpa"])
    _, narrow = parse_zone(zones["db.0.96.10.in-addr.arpa"])
    assert not [r for r in wide if r[2] == "PTR"]
    assert {r[0] for r in narrow if r[2] == "PTR"} == {"10.0.96.10.in-addr.arpa.", "11.0.96.10.in-addr.arpa."}


def test_zone_skips_what_would_break_it():
    plan = dns_plan(
        services=(
            DnsService("default", "Bad_Name", "ClusterIP", cluster_ip="10.96.0.12"),
            DnsService("default", "noip", "ClusterIP", cluster_ip=None),
            DnsService("default", "badext", "ExternalName", external_name="foo bar;.com"),
            DnsService("default", "h", "Headless", endpoints=(DnsEndpoint("10.97.0.9", "Not Valid"),)),
            DnsService("default", "kind", "Weird", cluster_ip="10.96.0.13"),
            DnsService("default", "dup", "ClusterIP", cluster_ip="10.96.0.14"),
            DnsService("default", "dup", "ExternalName", external_name="x.example.com"),
        )
    )
    records = zone_records(plan)
    owners = {r[0] for r in records}
    assert not any("Bad_Name" in o or "noip" in o or "badext" in o or "kind." in o for o in owners)
    assert lookup(records, "10-97-0-9.h.default.svc.cluster.local.", "A") == ("NOERROR", ["10.97.0.9"])
    assert lookup(records, "dup.default.svc.cluster.local.", "A") == ("NOERROR", ["10.96.0.14"])
    with pytest.raises(ValueError):
        render_zones(dns_plan(serial=0))
    with pytest.raises(ValueError):
        render_zones(dns_plan(domain="bad domain"))


def test_zone_ipv6_addresses():
    plan = dns_plan(
        services=(
            DnsService("default", "v6", "ClusterIP", ports=(ServicePort(80, "TCP", "http"),), cluster_ip="fd00:96::a"),
            DnsService("default", "h6", "Headless", endpoints=(DnsEndpoint("fd00:97::5"),)),
        ),
        reverse_cidrs=("fd00:96::/64",),
    )
    zones = render_zones(plan)
    records = zone_records(plan)
    assert lookup(records, "v6.default.svc.cluster.local.", "AAAA") == ("NOERROR", ["fd00:96::a"])
    assert lookup(records, "fd00-97--5.h6.default.svc.cluster.local.", "AAAA") == ("NOERROR", ["fd00:97::5"])
    (reverse_file,) = [name for name in zones if name.endswith("ip6.arpa")]
    _, ptrs = parse_zone(zones[reverse_file])
    assert [r[3] for r in ptrs if r[2] == "PTR"] == ["v6.default.svc.cluster.local."]


# ---------------------------------------------------------------------------------------------
# Corefile


def corefile_blocks(text: str) -> dict[str, list[str]]:
    """Server block key -> its directive lines (nested blocks flattened)."""
    blocks: dict[str, list[str]] = {}
    depth, key = 0, None
    for line in directives(text):
        if depth == 0:
            assert line.endswith("{"), line
            key = line[:-1].strip()
            blocks[key] = []
            depth = 1
            continue
        depth += line.count("{") - line.count("}")
        if depth > 0 and line != "}":
            blocks[key].append(line)
    assert depth == 0
    return blocks


def test_corefile_blocks():
    blocks = corefile_blocks(render_corefile(dns_plan()))
    assert list(blocks) == ["cluster.local:53", "96.10.in-addr.arpa:53", "97.10.in-addr.arpa:53", ".:53"]
    pods = pod_name_pattern("cluster.local")
    assert blocks["cluster.local:53"] == [
        "errors",
        "template IN A pod.cluster.local {", f'match "{pods}"',
        'answer "{{ .Name }} 5 IN A {{ .Group.a }}.{{ .Group.b }}.{{ .Group.c }}.{{ .Group.d }}"', "fallthrough",
        "template IN AAAA pod.cluster.local {", f'match "{pods}"', "rcode NOERROR", "fallthrough",
        "file /etc/coredns/zones/db.cluster.local cluster.local {",
        "reload 250ms",
    ]
    assert blocks["96.10.in-addr.arpa:53"][1] == (  # pod records in the cluster domain only
        "file /etc/coredns/zones/db.96.10.in-addr.arpa 96.10.in-addr.arpa {"
    )
    for key, lines in blocks.items():
        if key != ".:53":
            assert not any(line.startswith("cache") for line in lines)
    assert blocks[".:53"] == ["errors", "health :8080", "ready :8181", "loop", "forward . 127.0.0.11", "cache 30"]


def test_corefile_zone_files_match_render_zones():
    plan = dns_plan(reverse_cidrs=("10.96.0.0/16", "10.100.0.0/23"))
    text = render_corefile(plan)
    referenced = re.findall(r"file /etc/coredns/zones/(\S+) ", text)
    assert referenced == list(render_zones(plan))


def test_corefile_without_reverse_zones():
    blocks = corefile_blocks(render_corefile(dns_plan(reverse_cidrs=())))
    assert list(blocks) == ["cluster.local:53", ".:53"]


def test_pod_names_spell_their_address():
    pattern = re.compile(pod_name_pattern("cluster.local"))
    found = pattern.match("10-244-1-7.Shop.pod.cluster.local.")
    assert found and [found.group(g) for g in "abcd"] == ["10", "244", "1", "7"]
    for name in ("10-244-1-256.shop.pod.cluster.local.", "10-244-1.shop.pod.cluster.local.",
                 "10-244-1-7.shop.svc.cluster.local.", "x.10-244-1-7.shop.pod.cluster.local."):
        assert not pattern.match(name), name
