"""Running lifecycle hooks and stopping containers as the kubelet does: postStart right after a
container starts (it is not Running for the pod until the hook returns; a failed hook kills it),
preStop within the grace period, then SIGTERM (Docker sends the image's STOPSIGNAL) and SIGKILL
once the rest of the grace period is over. Decisions are plan/hooks.py's."""

from __future__ import annotations

import http.client
import ssl
import threading
import time
from typing import Callable, Protocol

from docker.errors import DockerException

from ..plan import hooks as plan
from . import labels as L


class PostStartListener(Protocol):
    """Who must know that a container's postStart runs (it is not ready meanwhile) or failed."""

    def running(self, container_id: str, running: bool) -> None:
        """From before the container starts until its hook returned (or it was killed for it)."""

    def failed(self, container, name: str, message: str) -> None:
        """Told before the container is killed."""


def run_hook(container, handler: dict, pod_ip: str, spec: dict, pod: str) -> str:
    """Run one handler to its end; "" when it succeeded, else the kubelet's message. Any HTTP
    answer counts as success, as for the kubelet; only not getting one fails."""
    action = plan.hook_action(handler, pod_ip, spec)
    name = spec.get("name", "")
    try:
        if action is None:
            return ""
        if action.kind == "exec":
            result = container.exec_run(list(action.command))
            if result.exit_code:
                output = (result.output or b"").decode(errors="replace")
                return plan.failure_message(handler, name, pod, plan.exec_error(action.command, result.exit_code,
                                                                                 output), output)
        elif action.kind == "http":
            conn = (http.client.HTTPSConnection(action.host, action.port, timeout=plan.HTTP_TIMEOUT,
                                                context=ssl._create_unverified_context())
                    if action.scheme == "https" else
                    http.client.HTTPConnection(action.host, action.port, timeout=plan.HTTP_TIMEOUT))
            try:
                conn.request("GET", action.path, headers=dict(action.headers))
                conn.getresponse().read(10 * 1024)
            finally:
                conn.close()
        else:
            time.sleep(action.seconds)
    except (OSError, http.client.HTTPException, DockerException) as exc:
        return plan.failure_message(handler, name, pod, str(exc).splitlines()[0][:300] if str(exc) else repr(exc))
    return ""


def run_within(fn: Callable[[], str], seconds: float) -> tuple[str, float]:
    """fn() on its own thread, waited for at most `seconds` (the kubelet's select on the grace
    period): (its result, "" if cut short; the seconds it took)."""
    out: list[str] = []
    began = time.monotonic()
    worker = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    worker.start()
    worker.join(seconds)
    return (out[0] if out else ""), time.monotonic() - began


def post_start(container, pod_spec: dict, pod: str, pod_ip: str, listener: PostStartListener | None) -> bool:
    """Start a created container of a pod and run its postStart hook; a failed hook is told and
    the container killed (restartPolicy then decides). False when the hook failed."""
    spec = container_spec(pod_spec, container)
    handler = plan.hook_of(spec, "postStart")
    if handler is None:
        container.start()
        return True
    if listener is not None:
        listener.running(container.id, True)
    message = ""
    try:
        container.start()
        message = run_hook(container, handler, pod_ip, spec, pod)
        if message:
            if listener is not None:
                listener.failed(container, spec.get("name", ""), message)
            stop(container, pod_spec, pod, pod_ip, plan.termination_grace(pod_spec))
    finally:
        if listener is not None:
            listener.running(container.id, False)
    return not message


def stop(container, pod_spec: dict, pod: str, pod_ip: str, grace: int,
         pre_stop_failed: Callable[[str, str], None] | None = None) -> None:
    """killContainer: the preStop hook within `grace` seconds, then stop (SIGTERM or STOPSIGNAL,
    SIGKILL after what is left). pre_stop_failed(container name, message) hears of a failed hook."""
    spec = container_spec(pod_spec, container)
    handler = plan.hook_of(spec, "preStop")
    took = None
    try:
        container.reload()
        if container.status != "running":
            return
        if handler is not None:
            message, took = run_within(lambda: run_hook(container, handler, pod_ip, spec, pod), grace)
            if message and pre_stop_failed is not None:
                pre_stop_failed(spec.get("name", ""), message)
        container.stop(timeout=plan.stop_timeout(grace, took))
    except DockerException:
        pass  # gone already, or the engine failed it: removal follows either way


def container_spec(pod_spec: dict, container) -> dict:
    name = container.labels.get(L.CONTAINER)
    return next((c for c in pod_spec.get("containers") or [] if c.get("name") == name), {})
