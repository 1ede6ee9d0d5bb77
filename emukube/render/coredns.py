"""CoreDNS configuration: the Corefile and the zone files it serves.

Layout inside the CoreDNS container (the runtime must honour it):

* Corefile at ``/etc/coredns/Corefile`` (:data:`COREFILE_PATH`); CoreDNS reads it once, so whoever
  writes a different one sends SIGUSR1 (a graceful reload; a Corefile that does not load is
  logged and the old one keeps serving);
* zone files in ``/etc/coredns/zones/`` (:data:`ZONE_DIR`), named ``db.<zone>`` as returned by
  :func:`render_zones`. Bind-mount the directory, not single files, and write each file atomically
  (temp file + rename): the ``file`` plugin looks at a zone every :data:`ZONE_RELOAD` (it reads
  no further than the SOA when the serial is unchanged) and takes it only when the SOA serial
  differs, so the serial (``DnsPlan.serial``, 1 .. 2**32-1, see :func:`next_serial`) must change
  with every new content; a file that does not parse is ignored and the old data stays;
* names outside the served zones are forwarded to Docker's resolver 127.0.0.11, so the CoreDNS
  container sits on a user-defined network and its own resolver is not CoreDNS.

Records follow the Kubernetes DNS specification, schema 1.1.0. Zones have no wildcard: unknown
names get NXDOMAIN, empty non-terminals (``svc.cluster.local``) get NODATA. Pod A records
(``<a-b-c-d>.<ns>.pod.<domain>``) are answered by the ``template`` plugin (Corefile-pods.tmpl).
"""

from __future__ import annotations

import ipaddress
import logging
import re
import textwrap
from dataclasses import dataclass

from emukube.plan.types import DnsPlan, DnsService
from emukube.render._template import fill, tidy

log = logging.getLogger(__name__)

COREFILE_PATH = "/etc/coredns/Corefile"
ZONE_DIR = "/etc/coredns/zones"
DNS_SCHEMA_VERSION = "1.1.0"
# How often CoreDNS looks for a new serial: a new zone is answered at most this long after it is
# written (the goal is 1 s from an endpoint change). CoreDNS's own default is one minute.
ZONE_RELOAD = "250ms"
MAX_SERIAL = 2**32 - 1
_SOA_SERIAL = re.compile(r"^\S+\s+\d+\s+IN\s+SOA\s+\S+\s+\S+\s+(\d+)\s", re.MULTILINE)

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")  # DNS-1123 label
_EXTERNAL_LABEL = re.compile(r"^[A-Za-z0-9_]([-A-Za-z0-9_]*[A-Za-z0-9_])?$")
_TYPE_ORDER = {"SOA": 0, "NS": 1, "A": 2, "AAAA": 3, "CNAME": 4, "TXT": 5, "SRV": 6, "PTR": 7}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _is_label(text: str | None) -> bool:
    return bool(text) and len(text) <= 63 and _LABEL.match(text) is not None  # type: ignore[arg-type]


def _is_domain(text: str) -> bool:
    labels = text.split(".")
    return 0 < len(text) <= 253 and all(_is_label(label) for label in labels)


def _external_target(name: str | None) -> str | None:
    """``name`` with exactly one trailing dot, or None when it is not a usable host name."""
    if not name:
        return None
    bare = name.rstrip(".")
    if not bare or len(bare) > 253:
        return None
    if not all(len(lb) <= 63 and _EXTERNAL_LABEL.match(lb) for lb in bare.split(".")):
        return None
    return bare + "."


def _ip(text: str | None) -> IPAddress | None:
    if not text:
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _address_type(addr: IPAddress) -> str:
    return "A" if addr.version == 4 else "AAAA"


def _dashed(addr: IPAddress) -> str:
    """The name Kubernetes gives an endpoint without hostname: 10.3.0.1 -> 10-3-0-1."""
    return str(addr).replace(".", "-").replace(":", "-")


@dataclass(frozen=True, order=True)
class _Record:
    owner: str  # absolute, with trailing dot
    rtype: str
    rdata: str


def _reverse_name(addr: IPAddress) -> str:
    return addr.reverse_pointer + "."


def _zones_of_cidr(cidr: str) -> list[tuple[str, IPNetwork]]:
    """Reverse zones covering ``cidr`` exactly: cut on octet (IPv4) or nibble (IPv6) boundaries,
    as CoreDNS does with a CIDR server key: 10.96.0.0/16 -> 96.10.in-addr.arpa,
    10.96.0.0/12 -> 96.10 ... 111.10.in-addr.arpa."""
    try:
        net = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        log.warning("ignoring reverse CIDR %r: not a network", cidr)
        return []
    unit = 8 if net.version == 4 else 4
    prefix = -(-net.prefixlen // unit) * unit
    if prefix == 0:
        log.warning("ignoring reverse CIDR %r: too wide", cidr)
        return []
    subnets: list[IPNetwork] = [net] if prefix == net.prefixlen else list(net.subnets(new_prefix=prefix))
    zones = []
    for sub in subnets:
        labels = sub.network_address.reverse_pointer.split(".")
        drop = (net.max_prefixlen - prefix) // unit
        zones.append((".".join(labels[drop:]), sub))
    return zones


def reverse_zones(plan: DnsPlan) -> dict[str, IPNetwork]:
    """Reverse zone name (no trailing dot) -> the addresses it covers, for plan.reverse_cidrs."""
    zones: dict[str, IPNetwork] = {}
    for cidr in plan.reverse_cidrs:
        for name, net in _zones_of_cidr(cidr):
            zones.setdefault(name, net)
    return dict(sorted(zones.items(), key=lambda z: (z[1].version, int(z[1].network_address), z[1].prefixlen)))


def zone_file_name(zone: str) -> str:
    return f"db.{zone.rstrip('.')}"


def _check_domain(plan: DnsPlan) -> str:
    if not _is_domain(plan.domain):
        raise ValueError(f"cluster domain {plan.domain!r} is not a DNS name")
    return plan.domain


def _unique_services(plan: DnsPlan) -> list[DnsService]:
    """Valid services, sorted, one per namespace/name (a CNAME must stand alone)."""
    seen: set[tuple[str, str]] = set()
    result = []
    for svc in sorted(plan.services, key=lambda s: (s.namespace, s.name, s.kind, repr(s))):
        if not (_is_label(svc.namespace) and _is_label(svc.name)):
            log.warning("DNS: skipping service %r/%r: not DNS labels", svc.namespace, svc.name)
            continue
        if (svc.namespace, svc.name) in seen:
            log.warning("DNS: skipping duplicate service %s/%s", svc.namespace, svc.name)
            continue
        seen.add((svc.namespace, svc.name))
        result.append(svc)
    return result


def _srv_port_owners(svc: DnsService, base: str) -> list[tuple[str, int]]:
    """(``_<port>._<proto>.<base>``, port number) for every named port."""
    owners = []
    for port in svc.ports:
        if not port.name:
            continue  # the spec publishes SRV records for named ports only
        if not _is_label(port.name) or not _is_label(port.protocol.lower()):
            log.warning("DNS: %s: skipping SRV for port %r", base, port)
            continue
        owners.append((f"_{port.name}._{port.protocol.lower()}.{base}", port.port))
    return owners


def _headless_hosts(svc: DnsService, base: str) -> list[tuple[str, IPAddress]]:
    hosts: list[tuple[str, IPAddress]] = []
    for ep in svc.endpoints:
        addr = _ip(ep.ip)
        if addr is None:
            log.warning("DNS: %s: skipping endpoint with address %r", base, ep.ip)
            continue
        host = ep.hostname if _is_label(ep.hostname) else _dashed(addr)
        hosts.append((f"{host}.{base}", addr))
    return sorted(set(hosts), key=lambda h: (h[0], h[1].version, int(h[1])))


def _service_records(svc: DnsService, domain: str) -> tuple[list[_Record], list[tuple[IPAddress, str]]]:
    """Forward records of one service, and (address, name) pairs for PTR records."""
    base = f"{svc.name}.{svc.namespace}.svc.{domain}."
    records: list[_Record] = []
    pointers: list[tuple[IPAddress, str]] = []
    if svc.kind == "ClusterIP":
        addr = _ip(svc.cluster_ip)
        if addr is None:
            log.warning("DNS: %s: no valid cluster IP %r", base, svc.cluster_ip)
            return [], []
        records.append(_Record(base, _address_type(addr), str(addr)))
        for owner, port in _srv_port_owners(svc, base):
            records.append(_Record(owner, "SRV", f"0 100 {port} {base}"))
        pointers.append((addr, base))
    elif svc.kind == "Headless":
        hosts = _headless_hosts(svc, base)
        srv_owners = _srv_port_owners(svc, base)
        # CoreDNS shares a weight of 100 among the endpoints answering one SRV name.
        weight = 100 // len(hosts) if hosts else 0
        for host, addr in hosts:
            records.append(_Record(base, _address_type(addr), str(addr)))
            records.append(_Record(host, _address_type(addr), str(addr)))
            for owner, port in srv_owners:
                records.append(_Record(owner, "SRV", f"0 {weight} {port} {host}"))
            pointers.append((addr, host))
    elif svc.kind == "ExternalName":
        target = _external_target(svc.external_name)
        if target is None:
            log.warning("DNS: %s: invalid externalName %r", base, svc.external_name)
            return [], []
        records.append(_Record(base, "CNAME", target))
    else:
        log.warning("DNS: %s: unknown kind %r", base, svc.kind)
        return [], []
    return [r for r in records if len(r.owner) <= 254], pointers


def _relative(owner: str, origin: str) -> str:
    if owner == origin:
        return "@"
    if owner.endswith("." + origin):
        return owner[: -len(origin) - 1]
    raise ValueError(f"{owner} is outside zone {origin}")


def _label_key(label: str) -> tuple[int, int, str]:
    if label.startswith("_"):
        return (0, 0, label)  # SRV owners right after their service name, before its hosts
    if label.isdigit():
        return (1, int(label), "")  # reverse zones: numeric order
    return (2, 0, label)


def _sort_key(record: _Record) -> tuple:
    """Hierarchical order: a name, then the names below it."""
    labels = record.owner.rstrip(".").split(".")[::-1]
    return (
        [_label_key(label) for label in labels],
        _TYPE_ORDER.get(record.rtype, 99),
        record.rdata,
    )


def _zone_text(plan: DnsPlan, origin: str, records: set[_Record]) -> str:
    lines = []
    for record in sorted(records, key=_sort_key):
        lines.append(f"{_relative(record.owner, origin)} {plan.ttl} IN {record.rtype} {record.rdata}")
    text = fill(
        "zone.tmpl",
        origin=origin,
        domain=plan.domain,
        ttl=plan.ttl,
        serial=plan.serial,
        records="\n".join(lines),
    )
    return tidy(text)


def render_zones(plan: DnsPlan) -> dict[str, str]:
    """Zone files for ``plan``: file name (``db.<zone>``) -> zone text, forward zone first, then
    the reverse zones sorted. Same plan, same text, byte for byte."""
    domain = _check_domain(plan)
    if not 0 < plan.serial <= MAX_SERIAL:
        raise ValueError(f"SOA serial {plan.serial} is outside 1 .. 2**32-1")
    if not 0 <= plan.ttl < 2**31:
        raise ValueError(f"TTL {plan.ttl} is out of range")
    origin = f"{domain}."
    forward: set[_Record] = {_Record(f"dns-version.{origin}", "TXT", f'"{DNS_SCHEMA_VERSION}"')}
    dns_ip = _ip(plan.dns_ip)
    if dns_ip is not None:
        forward.add(_Record(f"ns.dns.{origin}", _address_type(dns_ip), str(dns_ip)))
    pointers: list[tuple[IPAddress, str]] = []
    for svc in _unique_services(plan):
        records, ptrs = _service_records(svc, domain)
        forward.update(records)
        pointers.extend(ptrs)

    zones = reverse_zones(plan)
    reverse: dict[str, set[_Record]] = {name: set() for name in zones}
    for addr, target in pointers:
        covering = [(net.prefixlen, name) for name, net in zones.items() if addr in net]
        if covering:
            _, name = max(covering)  # the most specific zone answers for it
            reverse[name].add(_Record(_reverse_name(addr), "PTR", target))

    files = {zone_file_name(domain): _zone_text(plan, origin, forward)}
    for name in zones:
        files[zone_file_name(name)] = _zone_text(plan, f"{name}.", reverse[name])
    return files


def zone_serial(text: str) -> int | None:
    """The SOA serial of a zone file :func:`render_zones` wrote, or None (no such file, or not ours)."""
    found = _SOA_SERIAL.search(text or "")
    return int(found.group(1)) if found else None


def next_serial(previous: int | None, now: float) -> int:
    """The serial for new zone content: the clock (seconds) when it is ahead, else previous + 1,
    so it always differs from the serial CoreDNS holds, also across controller restarts (pass
    the serial found on disk). Wraps within 1 .. 2**32-1: CoreDNS only compares for equality."""
    candidate = max(int(now), (previous or 0) + 1)
    return candidate if 0 < candidate <= MAX_SERIAL else 1


_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"


def pod_name_pattern(domain: str) -> str:
    """The regular expression (Go's and Python's alike) of a pod's A record name, its octets in
    groups a to d; dots as [.] since the Corefile has no escapes."""
    octets = "-".join(f"(?P<{g}>{_OCTET[1:-1]})" for g in "abcd")
    return "(?i)^" + octets + "[.][a-z0-9]([-a-z0-9]*[a-z0-9])?[.]pod[.]" + domain.replace(".", "[.]") + "[.]$"


def render_corefile(plan: DnsPlan, custom: str | None = None) -> str:
    """The Corefile: one ``file`` server block per zone of :func:`render_zones`, then ``.:53``
    forwarding to Docker's resolver. Same plan, same text, byte for byte. custom: the Corefile of
    the kube-system/coredns ConfigMap, rendered instead (:func:`stand_in_kubernetes`)."""
    domain = _check_domain(plan)
    if custom is not None:
        return stand_in_kubernetes(custom, plan)
    blocks = []
    pods = _pods_template(plan)
    for zone in [domain, *reverse_zones(plan)]:
        blocks.append(
            fill("Corefile-zone.tmpl", zone=zone, zone_file=f"{ZONE_DIR}/{zone_file_name(zone)}",
                 reload=ZONE_RELOAD, pods=pods if zone == domain else "")
        )
    return tidy(fill("Corefile.tmpl", zone_dir=ZONE_DIR, zone_blocks="".join(blocks)))


def _pods_template(plan: DnsPlan) -> str:
    return fill("Corefile-pods.tmpl", domain=plan.domain, ttl=plan.ttl, pattern=pod_name_pattern(plan.domain))


def _opens(line: str) -> int:
    """How many blocks a Corefile line opens (less those it closes), quotes and comments aside."""
    depth, quoted = 0, False
    for i, ch in enumerate(line):
        if ch == '"' and (i == 0 or line[i - 1] != "\\"):
            quoted = not quoted
        elif not quoted and ch == "#":
            break
        elif not quoted and ch in "{}":
            depth += 1 if ch == "{" else -1
    return depth


def stand_in_kubernetes(corefile: str, plan: DnsPlan) -> str:
    """A Corefile as a user wrote it (kubeadm's, edited), with each `kubernetes` directive and its
    block replaced by what serves the same names here: the pod-name template and a ``file``
    directive per zone of :func:`render_zones` (so its options, `ttl` among them, are not
    followed); `reload` goes too (the controller reloads CoreDNS). Everything else is the
    user's, as written: CoreDNS itself then refuses what it does not know, as in a cluster."""
    out: list[str] = []
    lines = corefile.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        words = line.split()
        if not words or words[0] not in ("kubernetes", "reload"):
            out.append(line)
            i += 1
            continue
        depth = _opens(line)
        i += 1
        while depth > 0 and i < len(lines):  # the plugin's own block goes with it
            depth += _opens(lines[i])
            i += 1
        if words[0] == "reload":
            # Its own look at the file would restart CoreDNS a second time beside the controller's
            # SIGUSR1, and one of the two then fails ("getting old listener file").
            stand_in = "# reload: the controller signals CoreDNS (SIGUSR1) as soon as the Corefile changes\n"
        else:
            stand_in = f"# kubernetes: served by emukube from the zones in {ZONE_DIR}\n"
            stand_in += textwrap.dedent(_pods_template(plan))
            for zone in [plan.domain, *reverse_zones(plan)]:
                stand_in += f"file {ZONE_DIR}/{zone_file_name(zone)} {zone} {{\n    reload {ZONE_RELOAD}\n}}\n"
        out += textwrap.indent(stand_in, line[:len(line) - len(line.lstrip())]).splitlines()
    return "\n".join(out) + "\n"
