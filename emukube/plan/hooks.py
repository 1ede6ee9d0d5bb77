"""Lifecycle hooks and graceful termination as the kubelet decides them (pkg/kubelet/lifecycle
handlers.go, kuberuntime_container.go killContainer). Pure: the runtime acts on what is decided here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

DEFAULT_GRACE = 30  # terminationGracePeriodSeconds when the spec says nothing
MINIMUM_GRACE = 2  # minimumGracePeriodInSeconds: after a hook, SIGTERM always gets this long
HTTP_TIMEOUT = 10.0  # the kubelet's lifecycle HTTP client gives up after this long


@dataclass(frozen=True)
class HookAction:
    """What running one handler means: an exec in the container, a GET, or a pause."""

    kind: str  # "exec" | "http" | "sleep"
    command: tuple[str, ...] = ()
    scheme: str = "http"
    host: str = ""
    port: int = 0
    path: str = "/"
    headers: tuple[tuple[str, str], ...] = ()
    seconds: int = 0


def hook_port(value: object, container: dict) -> int | None:
    """resolvePort: a number, or the name of one of this container's ports."""
    if isinstance(value, int) or str(value).isdigit():
        return int(str(value))
    return next((int(p["containerPort"]) for p in container.get("ports") or [] if p.get("name") == value), None)


def hook_action(handler: dict, pod_ip: str, container: dict) -> HookAction | None:
    """The action of a postStart or preStop handler; None for one the kubelet cannot run
    (tcpSocket, accepted by the API for compatibility, does nothing)."""
    if "exec" in handler:
        return HookAction("exec", command=tuple(str(a) for a in (handler["exec"] or {}).get("command") or []))
    if "httpGet" in handler:
        get = handler["httpGet"] or {}
        path = str(get.get("path") or "/")
        return HookAction("http", scheme=str(get.get("scheme") or "HTTP").lower(), host=str(get.get("host") or pod_ip),
                          port=hook_port(get.get("port"), container) or 0,
                          path=path if path.startswith("/") else "/" + path,
                          headers=tuple((h["name"], str(h.get("value", ""))) for h in get.get("httpHeaders") or []))
    if "sleep" in handler:
        return HookAction("sleep", seconds=int((handler["sleep"] or {}).get("seconds") or 0))
    return None


def pod_ref(name: str, namespace: str) -> str:
    """format.Pod without the UID (the runtime does not know it)."""
    return f"{name}_{namespace}"


def go_list(items: Iterable[str]) -> str:
    return "[" + " ".join(items) + "]"


def exec_error(command: tuple[str, ...], code: int, output: str) -> str:
    """What the CRI's ExecSync reports for a command that exited non-zero."""
    return f"command '{' '.join(command)}' exited with {code}: {output}"


def failure_message(handler: dict, container: str, pod: str, error: str, output: str = "") -> str:
    """handlerRunner.Run's message for a failed handler (Go's %q approximated by JSON)."""
    if "exec" in handler:
        command = [str(a) for a in (handler["exec"] or {}).get("command") or []]
        return (f"Exec lifecycle hook ({go_list(command)}) for Container \"{container}\" in Pod \"{pod}\" "
                f"failed - error: {error}, message: {json.dumps(output)}")
    if "httpGet" in handler:
        return (f"HTTP lifecycle hook ({(handler['httpGet'] or {}).get('path', '')}) for Container \"{container}\" "
                f"in Pod \"{pod}\" failed - error: {error}")
    if "sleep" in handler:
        return (f"Sleep lifecycle hook ({(handler['sleep'] or {}).get('seconds', 0)}) for Container "
                f"\"{container}\" in Pod \"{pod}\" failed - error: {error}")
    return f"Cannot run handler: invalid handler: {handler}"


def hook_of(container: dict, which: str) -> dict | None:
    """The container's postStart or preStop handler, if it has one."""
    return ((container.get("lifecycle") or {}).get(which)) or None


def termination_grace(pod_spec: dict, deletion_grace: int | None = None) -> int:
    """Seconds a stopping pod's containers get: the deletion's grace period (kubectl delete
    --grace-period) over the spec's terminationGracePeriodSeconds; the kubelet always gives at
    least 1 (a forced deletion, grace 0, too)."""
    if deletion_grace is not None:
        grace = int(deletion_grace)
    else:
        spec = pod_spec.get("terminationGracePeriodSeconds")
        grace = DEFAULT_GRACE if spec is None else int(spec)
    return max(grace, 1)


def liveness_grace(pod_spec: dict, probe: dict | None) -> int:
    """A liveness kill's grace: the probe's own terminationGracePeriodSeconds, else the pod's."""
    own = (probe or {}).get("terminationGracePeriodSeconds")
    return termination_grace(pod_spec) if own is None else max(int(own), 1)


def stop_timeout(grace: int, hook_seconds: float | None) -> int:
    """Seconds between SIGTERM (or the image's STOPSIGNAL) and SIGKILL: what the preStop hook
    (hook_seconds, None without one) left of the grace period, never below MINIMUM_GRACE.
    The kubelet counts the hook's time in whole seconds."""
    left = grace - int(hook_seconds) if hook_seconds is not None else grace
    return max(left, MINIMUM_GRACE)
