"""A pod's status as the controller reports it (status.json): kubectl's STATUS word, and per
container its state, restarts, readiness and last probe failures, for `get pods` and `describe`."""

from __future__ import annotations

import time

from ..k8s.reasons import Waiting, crash_loop_back_off
from ..runtime import engine
from ..runtime import labels as L
from .ephemeral import ephemeral_entry
from .restarts import should_restart, terminated


def image_id(attrs: dict) -> str:
    """The image the container runs, as the kubelet with cri-dockerd names one that has no
    repository digest (built or loaded here, never pulled): docker://sha256:..."""
    image = attrs.get("Image", "")
    return f"docker://{image}" if image else ""


def container_status(ctrl, pod, container) -> dict:
    """Like a v1 ContainerStatus: state running / waiting (reason) / terminated (reason, exitCode)."""
    state = container.attrs["State"]
    spec = pod.container_spec(container)
    # A stopped container whose restart is under way has it counted already: the kubelet counts
    # it once the new container is there (controller/restarts.py moves the count to that one).
    replacing = container.status in ("exited", "dead") and ctrl.restarts.restarted_since(
        container.id, engine.docker_time(state.get("FinishedAt", "")))
    out = {"name": container.labels.get(L.CONTAINER), "image": spec.get("image", container.attrs["Config"]["Image"]),
           "containerID": f"docker://{container.id}", "restarts": ctrl.restarts.count(container.id) - replacing,
           "ready": ctrl.container_ready(pod, container), "imageID": image_id(container.attrs)}
    verdicts = ctrl.probes.get(container.id)
    if verdicts is not None:
        out["probeFailures"] = {k: s.last_failure for k, s in verdicts.states.items() if s.last_failure}
    previous = ctrl.restarts.last_state(container.id)
    if previous:  # the run before this container: it replaced that one (controller/restarts.py)
        out["lastState"] = {"terminated": previous}
    if container.status == "running" and container.id not in ctrl.restarting:
        out["state"] = {"running": {"startedAt": state.get("StartedAt", "")}}
        return out
    if container.status == "created" or container.id in ctrl.restarting:
        out["state"] = {"waiting": {"reason": Waiting.CONTAINER_CREATING}}
        return out
    last = terminated(container)
    code = last["exitCode"]
    finished = engine.docker_time(state.get("FinishedAt", "")) or time.time()
    if should_restart(pod.spec.get("restartPolicy", "Always"), code) and \
            ctrl.restarts.wait_left(container.id, finished, time.time()) > 0:
        delay = ctrl.restarts.current_backoff(container.id, finished)
        out["state"] = {"waiting": {"reason": Waiting.CRASH_LOOP_BACK_OFF,
                                    "message": crash_loop_back_off(delay, out["name"], ctrl.kubelet_name(pod))}}
        out["lastState"] = {"terminated": last}
    else:
        out["state"] = {"terminated": last}
    return out


def init_entries(ctrl, pod) -> list[dict]:
    """An entry per init container, like container_status()'s: a regular one completed, running
    (while the pod starts) or still to run; a sidecar (restartPolicy Always) as it runs. The
    restart count and last end of one that failed before come from controllers/start_failures."""
    specs = pod.spec.get("initContainers") or []
    running = {c.labels.get(L.CONTAINER): c for c in pod.inits}
    failed = ctrl.failures.get(pod.key)
    regular = [s.get("name") for s in specs if s.get("restartPolicy") != "Always"]
    now = next((n for n in regular if n in running), None)
    done = regular.index(now) if now is not None else len(regular)
    out = []
    for s in specs:
        name = s.get("name")
        mine = failed is not None and failed.container == name and failed.init
        if name in running:
            entry = container_status(ctrl, pod, running[name])
            if mine:
                assert failed is not None
                entry["restarts"] = failed.restarts
                if failed.ended:
                    entry["lastState"] = {"terminated": failed.end()}
        elif s.get("restartPolicy") == "Always" or regular.index(name) >= done:
            entry = {"name": name, "state": {"waiting": {"reason": Waiting.POD_INITIALIZING}}, "restarts": 0}
        else:
            entry = {"name": name, "state": {"terminated": ctrl.failures.completed_end(pod.key, name)},
                     "restarts": failed.restarts if mine and failed is not None else 0}
        out.append(entry)
    return out


def init_word(spec: dict, inits: list[dict]) -> str:
    """Init:N/M while a regular init container runs or waits, Init:REASON when one failed; ""
    once they all completed."""
    sidecars = {c.get("name") for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"}
    for i, entry in enumerate(inits):
        state = entry["state"]
        if entry["name"] in sidecars or state.get("terminated", {}).get("exitCode", 1) == 0:
            continue
        reason = (state.get("waiting") or state.get("terminated") or {}).get("reason")
        if reason and reason != "PodInitializing":
            return f"Init:{reason}"
        return f"Init:{i}/{len(inits)}"
    return ""


def status_word(ctrl, pod, containers: list[dict], inits: list[dict] | None = None) -> str:
    """kubectl's STATUS column: Terminating, Init:N/M, a waiting or terminated reason, Running."""
    if pod.key in ctrl.terminating:
        return "Terminating"
    if pod.key in ctrl.creating or not containers:
        word = init_word(pod.spec, inits or [])
        if word:
            return word
        return "PodInitializing" if inits and pod.key in ctrl.creating else "ContainerCreating"
    for c in containers:
        waiting = c["state"].get("waiting")
        if waiting:
            return waiting["reason"]
    ended = [c["state"]["terminated"] for c in containers if "terminated" in c["state"]]
    if ended and (len(ended) == len(containers) or any(t["reason"] != "Completed" for t in ended)):
        return next((t["reason"] for t in ended if t["reason"] != "Completed"), "Completed")
    if pod.holder.status != "running" and pod.holder not in pod.apps:
        return "Unknown"  # the sandbox is down
    return "Running"


def pod_status(ctrl, pod) -> dict:
    containers = [container_status(ctrl, pod, c) for c in pod.apps]
    inits = init_entries(ctrl, pod)
    ready = ctrl.is_ready(pod)
    reason = ""
    if not ready:
        for c in containers:
            waiting = c["state"].get("waiting") or {}
            failures = c.get("probeFailures") or {}
            reason = waiting.get("message") or failures.get("startup") or failures.get("readiness") or ""
            if reason:
                break
    out = {"ready": ready, "phase": status_word(ctrl, pod, containers, inits),
           "restarts": sum(c["restarts"] for c in containers + inits), "ip": pod.ip, "reason": reason,
           "node": pod.node, "containers": containers}
    if not ready and pod.key not in ctrl.terminating and ctrl.is_serving(pod):
        out["held"] = True  # serving, but its proxies do not carry it yet (ready_gate.py)
    if inits:
        out["initContainers"] = inits
    ephemeral = [ephemeral_entry(c) for c in pod.ephemerals] + ctrl.ephemerals.waiting(pod.key)
    if ephemeral:
        out["ephemeral"] = ephemeral
    return out


def ran_to_end(spec: dict, status: dict) -> bool:
    """A pod that will not run again (restartPolicy Never or OnFailure, every container
    ended): done, not waited for."""
    states = [c["state"] for c in status.get("containers") or []]
    return status.get("phase") == "Completed" or (spec.get("restartPolicy", "Always") != "Always" and bool(states)
                                                  and all("terminated" in s for s in states))
