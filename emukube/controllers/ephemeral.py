"""Ephemeral containers (`kubectl debug POD`): the pods/ephemeralcontainers subresource adds them
to a pod's spec in the API; the kubelet starts each one once in the running pod, in its network
(and its target container's processes), and never restarts it, whatever its end."""

from __future__ import annotations

import json
import time
import traceback

from ..k8s.reasons import Reason
from ..k8s.resources import BY_KEY
from ..runtime import labels as L
from ..runtime.pods import PodStartError, start_ephemeral
from ..runtime.restart import plan_of
from .restarts import terminated

RETRY_SECONDS = 10  # a start that failed (an image not present) is tried again after this


def to_start(wanted: list[dict], started: set[str], busy: set[str]) -> list[dict]:
    """The spec entries no container was made for yet, nor is being made."""
    return [c for c in wanted if isinstance(c, dict) and c.get("name") and c["name"] not in started | busy]


class EphemeralContainers:
    def __init__(self, ctrl):
        self.ctrl = ctrl
        self.starting: set[tuple[str, str]] = set()  # (pod key, container name)
        self.failed: dict[tuple[str, str], tuple[float, PodStartError]] = {}  # -> (when, why)

    def sync(self, pods: dict) -> None:
        ctrl = self.ctrl
        if ctrl.informer is None:
            return
        for pod in pods.values():
            if not pod.running or pod.key in ctrl.terminating or pod.key in ctrl.creating:
                continue
            obj = ctrl.informer.get(BY_KEY["pods"], pod.namespace, pod.name)
            wanted = ((obj or {}).get("spec") or {}).get("ephemeralContainers") or []
            started = {c.labels.get(L.CONTAINER, "") for c in pod.ephemerals}
            busy = {name for key, name in self.starting if key == pod.key}
            busy |= {name for (key, name), (when, _) in self.failed.items()
                     if key == pod.key and time.monotonic() - when < RETRY_SECONDS}
            for c in to_start(wanted, started, busy):
                self.starting.add((pod.key, c["name"]))
                ctrl.pool.submit(self._start, pod, c)
        live = {p.key for p in pods.values()}
        for key in [k for k in self.failed if k[0] not in live]:
            self.failed.pop(key, None)

    def waiting(self, pod_key: str) -> list[dict]:
        """Entries (as podstatus' container entries) for those whose start failed."""
        return [{"name": name, "state": {"waiting": {"reason": why.reason or "CreateContainerError",
                                                     "message": why.message}}, "restarts": 0}
                for (key, name), (_, why) in list(self.failed.items()) if key == pod_key]

    def _start(self, pod, c: dict) -> None:
        ctrl, key = self.ctrl, (pod.key, c["name"])
        plan = plan_of(pod.holder)
        target = next((x.id for x in pod.apps if x.labels.get(L.CONTAINER) == c.get("targetContainerName")), "")
        try:
            start_ephemeral(ctrl.client, ctrl.ctx, plan, c, pod.ip, ctrl.objects, pod.holder.id, target)
            self.failed.pop(key, None)
            ctrl.kubelet_started(pod.name, pod.namespace, [c])
        except PodStartError as exc:
            self.failed[key] = (time.monotonic(), exc)
            ctrl.event("Warning", f"pod/{pod.name}", Reason.FAILED, f"Error: {exc.message}", namespace=pod.namespace)
        except Exception as exc:  # noqa: BLE001 - a fault of ours: said, and tried again later
            self.failed[key] = (time.monotonic(), PodStartError(str(exc), "CreateContainerError"))
            ctrl.out(json.dumps({"type": "Warning", "message": f"starting ephemeral container {c['name']} of "
                                 f"{pod.key} failed: {exc!r}", "trace": traceback.format_exc()[-1500:]}))
        finally:
            self.starting.discard(key)
            ctrl.engine_changed()


def ephemeral_entry(container) -> dict:
    """podstatus' entry for a made ephemeral container: it is never ready, never restarted."""
    state = container.attrs["State"]
    out = {"name": container.labels.get(L.CONTAINER), "image": container.attrs["Config"]["Image"],
           "containerID": f"docker://{container.id}", "restarts": 0, "ready": False}
    if container.status == "running":
        out["state"] = {"running": {"startedAt": state.get("StartedAt", "")}}
    elif container.status == "created":
        out["state"] = {"waiting": {"reason": "ContainerCreating"}}
    else:
        out["state"] = {"terminated": terminated(container)}
    return out

