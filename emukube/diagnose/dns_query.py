"""`emukube dns`: ask the cluster's CoreDNS what a pod would be told, from inside the cluster.

The query runs `dig` in the controller container (on the cluster network), trying the names a
pod's resolver would try: its search list with ndots:5, like glibc.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ..errors import EmukubeError, WorkloadFailed
from ..lifecycle import ops
from ..runtime import engine
from ..runtime.podspec import search_domains

NDOTS = 5
RECORD_TYPES = ("A", "AAAA", "CNAME", "SRV", "PTR", "TXT", "SOA", "NS", "ANY")


@dataclass(frozen=True)
class DnsAnswer:
    name: str  # the name that was answered (after the search list), or the one asked
    status: str  # NOERROR, NXDOMAIN, SERVFAIL, ...
    records: tuple[str, ...]  # answer section lines, as dig prints them

    @property
    def found(self) -> bool:
        return self.status == "NOERROR" and bool(self.records)


def record_type(text: str) -> str:
    rtype = text.upper()
    if rtype not in RECORD_TYPES:
        raise EmukubeError(f'error: unknown record type "{text}" (one of {", ".join(RECORD_TYPES)})')
    return rtype


def candidates(name: str, rtype: str, namespace: str) -> list[str]:
    """Absolute names in the order a pod's resolver asks them. An IP address asked for PTR
    becomes its reverse name; a name ending in '.' is asked as it is."""
    if rtype == "PTR":
        try:
            return [ipaddress.ip_address(name).reverse_pointer + "."]
        except ValueError:
            pass
    if name.endswith("."):
        return [name]
    searched = [f"{name}.{domain}." for domain in search_domains(namespace)]
    return [f"{name}.", *searched] if name.count(".") >= NDOTS else [*searched, f"{name}."]


def parse_dig(output: str) -> tuple[str, tuple[str, ...]]:
    """(status, answer lines) from `dig +noall +comments +answer` output."""
    status = ""
    for line in output.splitlines():
        if "->>HEADER<<-" in line and "status:" in line:
            status = line.split("status:", 1)[1].split(",", 1)[0].strip()
    answers = tuple(line for line in output.splitlines() if line.strip() and not line.startswith(";"))
    return status, answers


def lookup(controller, dns_ip: str, name: str, rtype: str, namespace: str = "default",
           tcp: bool = False) -> DnsAnswer:
    """Ask each candidate until one has records; NXDOMAIN only when every name was NXDOMAIN."""
    rtype = record_type(rtype)
    if not name or len(name) > 253:
        raise EmukubeError(f'error: "{name}" is not a DNS name')
    statuses = []
    for candidate in candidates(name, rtype, namespace):
        cmd = ["dig", "+noall", "+comments", "+answer", "+time=2", "+tries=2", *(["+tcp"] if tcp else []),
               f"@{dns_ip}", candidate, rtype]
        code, out, err = engine.run_in(controller, cmd)
        output = (out + err).decode(errors="replace")
        if code != 0:
            why = (output.strip().splitlines() or ["dig failed"])[-1].lstrip("; ")
            raise WorkloadFailed(f"no answer from the cluster DNS at {dns_ip}: {why}")
        status, records = parse_dig(output)
        if status == "NOERROR" and records:
            return DnsAnswer(candidate, status, records)
        if status not in ("NXDOMAIN", "NOERROR"):
            return DnsAnswer(candidate, status or "no status", ())  # SERVFAIL, REFUSED: stop, as glibc
        statuses.append(status)
    # No records anywhere: NXDOMAIN only if no candidate existed without this type (NODATA).
    return DnsAnswer(name, "NOERROR" if "NOERROR" in statuses else "NXDOMAIN", ())


def query(client, cluster: str, name: str, rtype: str = "A", namespace: str = "default",
          tcp: bool = False) -> DnsAnswer:
    """lookup() against the named cluster's CoreDNS."""
    state = ops.require(ops.read_state(client, cluster))
    if state.controller is None or state.controller.status != "running":
        raise EmukubeError(f'error: the controller of cluster "{cluster}" is not running (try `emukube up` again)')
    assert state.net is not None
    return lookup(state.controller, state.net.dns_ip, name, rtype, namespace, tcp)


def not_found_message(answer: DnsAnswer) -> str:
    """nslookup's words for an unanswered query."""
    if answer.status == "NOERROR":
        return f"*** Can't find {answer.name}: No answer"
    return f"** server can't find {answer.name}: {answer.status}"
