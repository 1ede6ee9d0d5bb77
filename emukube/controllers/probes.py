"""kubelet-style probes, run from inside the cluster network (the controller's container), so
they work where the host cannot reach container IPs (Docker Desktop)."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
from dataclasses import asdict, dataclass, field

from ..k8s.dial_errors import dial_error
from ..runtime.podspec import container_ports


def _port(value, pod_spec: dict) -> int | None:
    if isinstance(value, int) or str(value).isdigit():
        return int(value)
    for name, number, _ in container_ports(pod_spec):
        if name == value:
            return number
    return None


def run_probe(probe: dict, ip: str, pod_spec: dict, exec_fn) -> tuple[bool, str]:
    """One attempt. Returns (success, why it failed, in the kubelet's words: its Unhealthy
    events say "Readiness probe failed: " and this)."""
    timeout = probe.get("timeoutSeconds", 1)
    if "httpGet" in probe:
        spec = probe["httpGet"]
        port = _port(spec.get("port"), pod_spec)
        host = spec.get("host") or ip
        scheme = (spec.get("scheme") or "HTTP").upper()
        path = spec.get("path") or "/"
        conn: http.client.HTTPConnection
        try:
            if scheme == "HTTPS":
                conn = http.client.HTTPSConnection(host, port, timeout=timeout,
                                                   context=ssl._create_unverified_context())
            else:
                conn = http.client.HTTPConnection(host, port, timeout=timeout)
            headers = {h["name"]: h["value"] for h in spec.get("httpHeaders") or []}
            conn.request("GET", path, headers=headers)
            status = conn.getresponse().status
            conn.close()
        except (OSError, http.client.HTTPException) as exc:
            return False, f'Get "{scheme.lower()}://{host}:{port}{path}": {_net_error(exc, host, port, fetching=True)}'
        if 200 <= status < 400:
            return True, ""
        return False, f"HTTP probe failed with statuscode: {status}"
    if "tcpSocket" in probe:
        port = _port(probe["tcpSocket"].get("port"), pod_spec)
        host = probe["tcpSocket"].get("host") or ip
        try:
            with socket.create_connection((host, port), timeout=timeout):
                return True, ""
        except OSError as exc:
            return False, _net_error(exc, host, port)
    if "exec" in probe:
        try:
            code, output = exec_fn(probe["exec"].get("command") or [])
        except OSError as exc:
            return False, str(exc)
        if code == 0:
            return True, ""
        # The kubelet's message for a command that failed is what it printed; one that printed
        # nothing gets its exit code, so that describe and explain still say why.
        said = output[-1000:].rstrip("\n")
        return False, said or f"command {probe['exec'].get('command')} exited with {code}"
    return True, ""  # grpc and unknown handlers: not emulated, treated as passing


def _net_error(exc: BaseException, host: str, port: int | None, fetching: bool = False) -> str:
    """A failed connection as Go's net and net/http packages word it."""
    if fetching and isinstance(exc, TimeoutError):
        return "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
    if fetching and isinstance(exc, http.client.RemoteDisconnected):  # closed before answering
        return "EOF"
    if isinstance(exc, ConnectionResetError):  # after connecting, while reading the answer
        return f"read tcp {host}:{port}: read: connection reset by peer"
    return dial_error(host, port, exc)


@dataclass
class ProbeState:
    succeeded: bool  # the current verdict
    successes: int = 0
    failures: int = 0
    next_due: float = 0.0  # wall-clock time
    last_failure: str = ""
    probed: bool = False  # any result yet


@dataclass
class PodProbes:
    """Probe verdicts of one container, keyed by kind: startup, readiness, liveness.

    Readiness and startup start as failed and pass after successThreshold successes in a row;
    liveness starts as passed. Each fails after failureThreshold failures in a row. Times are
    wall-clock (not monotonic) so that verdicts saved by one controller hold for the next, and
    initialDelaySeconds counts from when the container started, as the kubelet counts it.
    """

    started: float = field(default_factory=time.time)  # when the container (last) started
    states: dict[str, ProbeState] = field(default_factory=dict)

    def state(self, kind: str) -> ProbeState:
        return self.states.setdefault(kind, ProbeState(succeeded=(kind == "liveness")))

    def due(self, kind: str, probe: dict, now: float) -> bool:
        if now - self.started < probe.get("initialDelaySeconds", 0):
            return False
        return now >= self.state(kind).next_due

    def record(self, kind: str, probe: dict, ok: bool, why: str, now: float) -> bool:
        """Apply one result; returns True when the verdict changed.

        A container's first readiness result that is a failure is followed by another probe at
        once, not a period later, as the kubelet does: the first result is news to its results
        cache, the pod is synced, and syncing a running pod that is not ready triggers its
        readiness probe (prober_manager.UpdatePodStatus). A second failure is no news: the next
        probe waits for the period. A probe sent as the container starts often finds the
        program not listening yet."""
        state = self.state(kind)
        retry_now = kind == "readiness" and not ok and not state.probed
        state.probed = True
        state.next_due = now if retry_now else now + probe.get("periodSeconds", 10)
        before = state.succeeded
        if ok:
            state.successes, state.failures = state.successes + 1, 0
            if state.successes >= probe.get("successThreshold", 1):
                state.succeeded = True
        else:
            state.failures, state.successes = state.failures + 1, 0
            state.last_failure = why
            if state.failures >= probe.get("failureThreshold", 3):
                state.succeeded = False
        return before != state.succeeded


def dump_verdicts(verdicts: dict[str, PodProbes]) -> str:
    return json.dumps({cid: asdict(v) for cid, v in verdicts.items()}, sort_keys=True)


def load_verdicts(text: str) -> dict[str, PodProbes]:
    """What a previous controller saved; a controller replaced by `apply` must not see every
    pod as unready (it would retire old pods of a rolling update before their successors)."""
    try:
        raw = json.loads(text)
        return {cid: PodProbes(started=v["started"],
                               states={k: ProbeState(**s) for k, s in v["states"].items()})
                for cid, v in raw.items()}
    except (ValueError, TypeError, KeyError, AttributeError):
        return {}
