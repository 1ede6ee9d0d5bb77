"""printPod: READY, the STATUS reason kubectl shows, RESTARTS with the last restart's age."""

from __future__ import annotations

from .format import human_duration, parse_time, since

# Row conditions the real printer attaches to finished pods (kubectl's watch uses them).
_FINISHED = {
    "Succeeded": [{"type": "Completed", "status": "True", "reason": "Succeeded",
                   "message": "The pod has completed successfully."}],
    "Failed": [{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}],
}


def pod_conditions(pod: dict) -> list | None:
    return _FINISHED.get((pod.get("status") or {}).get("phase") or "")


def _later(current: float | None, status: dict) -> float | None:
    """lastRestartDate.Before(finishedAt): keep the latest lastState.terminated.finishedAt."""
    terminated = (status.get("lastState") or {}).get("terminated")
    if terminated is None:
        return current
    finished = parse_time(terminated.get("finishedAt"))
    if finished is not None and (current is None or current < finished):
        return finished
    return current


def _terminated_reason(terminated: dict, prefix: str = "") -> str:
    if terminated.get("reason"):
        return prefix + terminated["reason"]
    if terminated.get("signal"):
        return f"{prefix}Signal:{terminated['signal']}"
    return f"{prefix}ExitCode:{terminated.get('exitCode', 0)}"


def _initialized(status: dict) -> bool:
    """isPodInitializedConditionTrue: the first Initialized condition decides."""
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Initialized":
            return cond.get("status") == "True"
    return False


def _has_ready(status: dict) -> bool:
    """hasPodReadyCondition: any Ready condition that is True."""
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])


class _Tally:
    """What printPod accumulates while walking container statuses."""

    def __init__(self, reason: str, total: int):
        self.reason, self.total, self.ready = reason, total, 0
        self.restarts, self.sidecar_restarts = 0, 0
        self.last: float | None = None
        self.sidecar_last: float | None = None


def _walk_init(pod: dict, t: _Tally) -> bool:
    """The init-container part of printPod; True while the pod is still initializing."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    init_specs = spec.get("initContainers") or []
    sidecars = {c.get("name") for c in init_specs if c.get("restartPolicy") == "Always"}
    for i, cs in enumerate(status.get("initContainerStatuses") or []):
        state = cs.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        t.restarts += int(cs.get("restartCount") or 0)
        t.last = _later(t.last, cs)
        if cs.get("name") in sidecars:
            t.sidecar_restarts += int(cs.get("restartCount") or 0)
            t.sidecar_last = _later(t.sidecar_last, cs)
        if terminated is not None and int(terminated.get("exitCode") or 0) == 0:
            continue
        if cs.get("name") in sidecars and cs.get("started"):
            t.ready += 1 if cs.get("ready") else 0
            continue
        if terminated is not None:
            t.reason = _terminated_reason(terminated, "Init:")
        elif waiting is not None and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            t.reason = "Init:" + waiting["reason"]
        else:
            t.reason = f"Init:{i}/{len(init_specs)}"
        return True
    return False


def _walk_containers(pod: dict, t: _Tally) -> None:
    """The app-container part: the first container (in spec order) with a reason names the status."""
    status = pod.get("status") or {}
    t.restarts, t.last = t.sidecar_restarts, t.sidecar_last
    has_running = False
    for cs in reversed(status.get("containerStatuses") or []):
        state = cs.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        t.restarts += int(cs.get("restartCount") or 0)
        t.last = _later(t.last, cs)
        if waiting is not None and waiting.get("reason"):
            t.reason = waiting["reason"]
        elif terminated is not None:
            t.reason = _terminated_reason(terminated)
        elif cs.get("ready") and state.get("running") is not None:
            has_running = True
            t.ready += 1
    # A container that exited "Completed" while another still runs is not a completed pod.
    if t.reason == "Completed" and has_running:
        t.reason = "Running" if _has_ready(status) else "NotReady"


def pod_cells(pod: dict, now: float) -> list:
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    phase = status.get("phase") or ""
    reason = status.get("reason") or phase
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"
    sidecars = sum(1 for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always")
    t = _Tally(reason, len(spec.get("containers") or []) + sidecars)

    initializing = _walk_init(pod, t)
    if not initializing or _initialized(status):
        _walk_containers(pod, t)

    if meta.get("deletionTimestamp") and status.get("reason") == "NodeLost":
        t.reason = "Unknown"
    elif meta.get("deletionTimestamp") and phase not in ("Succeeded", "Failed"):
        t.reason = "Terminating"

    restarts = str(t.restarts)
    if t.restarts != 0 and t.last is not None:
        restarts = f"{t.restarts} ({human_duration(now - t.last)} ago)"
    return [meta.get("name", ""), f"{t.ready}/{t.total}", t.reason, restarts,
            since(meta.get("creationTimestamp"), now), *_wide(spec, status)]


def _wide(spec: dict, status: dict) -> list:
    ips = status.get("podIPs") or []
    # v1 -> internal conversion: podIP wins, podIPs[0] when podIP is unset.
    ip = status.get("podIP") or (ips[0].get("ip") if ips else "") or "<none>"
    gates = "<none>"
    if spec.get("readinessGates"):
        conditions = status.get("conditions") or []
        true = 0
        for gate in spec["readinessGates"]:
            match = next((c for c in conditions if c.get("type") == gate.get("conditionType")), None)
            true += 1 if match is not None and match.get("status") == "True" else 0
        gates = f"{true}/{len(spec['readinessGates'])}"
    return [ip, spec.get("nodeName") or "<none>", status.get("nominatedNodeName") or "<none>", gates]
