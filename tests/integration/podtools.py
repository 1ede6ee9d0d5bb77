"""Helpers for the workload tests: waiting, reading `get pods`, endpoints and DNS, and a bounded
request loop run inside a pod."""

from __future__ import annotations

import json
import time

from conftest import wait_until

CLIENT = "db-0"  # requests come from a StatefulSet pod, which no Deployment change touches


def wait_for(what: str, check, timeout: float = 90, pause: float = 0.3):
    """Until check() returns something truthy (returned); fails naming `what` after timeout."""
    return wait_until(check, what, timeout, pause)


class RequestLoop:
    """Requests through a Service from inside a pod, one after another, in the background of that
    pod; bounded in count and in time. Each line: start time, answer (a pod name), HTTP code."""

    def __init__(self, cluster, url: str, pod: str = CLIENT, count: int = 1500, seconds: int = 150):
        self.cluster, self.pod, self.tag = cluster, pod, f"loop{time.monotonic_ns()}"
        script = (f'end=$(($(date +%s)+{seconds})); i=0; rm -f /tmp/{self.tag}.stop; '
                  f'while [ $i -lt {count} ] && [ $(date +%s) -lt $end ] && [ ! -f /tmp/{self.tag}.stop ]; do '
                  f'i=$((i+1)); printf "%s " "$(date +%s.%N)"; curl -s -m 2 -w " %{{http_code}}\\n" {url}; '
                  f'sleep 0.05; done; echo END')
        self.cluster.sh(f"nohup sh -c '{script}' > /tmp/{self.tag}.log 2>&1 &", pod=pod)

    def lines(self) -> list[tuple[float, str, str]]:
        out = []
        for line in self.cluster.sh(f"cat /tmp/{self.tag}.log", pod=self.pod).stdout.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0].replace(".", "").isdigit():
                out.append((float(parts[0]), parts[1] if len(parts) == 3 else "", parts[-1]))
        return out

    def stop(self) -> list[tuple[float, str, str]]:
        self.cluster.sh(f"touch /tmp/{self.tag}.stop", pod=self.pod)
        wait_for("the request loop to end",
                 lambda: "END" in self.cluster.sh(f"tail -1 /tmp/{self.tag}.log", pod=self.pod).stdout)
        return self.lines()


def pods_wide(cluster, prefix: str) -> dict[str, tuple[str, str, str]]:
    """name -> (READY, STATUS, IP) of the pods whose names start with prefix."""
    rows = cluster.emukube("get", "pods", "-o", "wide").stdout.splitlines()[1:]
    return {r.split()[0]: (r.split()[1], r.split()[2], r.split()[5]) for r in rows if r.startswith(prefix)}


def ready_endpoints(cluster, service: str) -> set[str]:
    doc = json.loads(cluster.emukube("get", "endpoints", service, "-o", "json").stdout)
    return {a["ip"] for s in doc.get("subsets") or [] for a in s.get("addresses") or []}


def dns_a(cluster, name: str) -> set[str]:
    """The A records `emukube dns` prints (dig's answer lines: name ttl IN A address)."""
    rows = [line.split() for line in cluster.emukube("dns", name, check=False).stdout.splitlines()]
    return {r[4] for r in rows if len(r) == 5 and r[3] == "A"}


def squeezed(text: str) -> str:
    """Each line with its runs of spaces made one (describe aligns columns per block)."""
    return "\n".join(" ".join(line.split()) for line in text.splitlines())
