"""The kubelet's part in stopping containers: each container of a stopping pod gets its preStop
hook, then SIGTERM, then SIGKILL when the grace period is over, all containers at once
(runtime/hooks.py acts, plan/hooks.py decides); failed hooks become the kubelet's events.

A grace period is waited out on a thread of its own pool: a pod that takes its 30 s to stop
must keep neither the tick nor pods being started (the controller's pool) waiting."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from ..k8s.reasons import Reason
from ..plan.hooks import pod_ref
from ..runtime import hooks
from ..runtime import labels as L

if TYPE_CHECKING:
    from .loop import Controller, Pod

STOPPING_AT_ONCE = 64  # pods (or containers killed by a liveness probe) in their grace period at once
JOIN_SLACK = 30.0  # beyond the grace period, most a pod's stop waits for the engine


class Terminations:
    def __init__(self, ctrl: Controller):
        self.ctrl = ctrl
        self.pool = ThreadPoolExecutor(max_workers=STOPPING_AT_ONCE, thread_name_prefix="stop")
        self.in_post_start: set[str] = set()  # container ids whose postStart runs: not ready yet
        self.hook_kills: set[str] = set()  # of those, killed because their hook failed
        ctrl.ctx.post_start = self  # create_pod and restarts run postStart hooks

    def running(self, container_id: str, running: bool) -> None:
        if running:
            self.in_post_start.add(container_id)
        else:
            self.in_post_start.discard(container_id)
            if container_id in self.hook_kills:  # stopped now: its kill is ours, not a docker kill
                self.hook_kills.discard(container_id)
                self.ctrl.own_kills[container_id] = time.time()
                self.ctrl.killed.discard(container_id)
        self.ctrl.wake.set()

    def failed(self, container, name: str, message: str) -> None:
        """Before the container whose postStart failed is killed: the kubelet's events, and the
        kill marked as the controller's own (not a `docker kill` that replaces the pod)."""
        self.ctrl.own_kills[container.id] = time.time()
        self.hook_kills.add(container.id)
        pod, namespace = container.labels.get(L.NAME, ""), container.labels.get(L.NAMESPACE, "default")
        self.ctrl.event("Warning", f"pod/{pod}", Reason.FAILED_POST_START_HOOK, message, namespace=namespace)
        self.ctrl.event("Normal", f"pod/{pod}", Reason.KILLING, "FailedPostStartHook", namespace=namespace)

    def stop_container(self, pod: Pod, container, grace: int) -> None:
        """(in a worker) one container: preStop within `grace`, then stop."""
        hooks.stop(container, pod.spec, pod_ref(pod.name, pod.namespace), pod.ip, grace,
                   lambda name, message: self.ctrl.event("Warning", f"pod/{pod.name}", Reason.FAILED_PRE_STOP_HOOK,
                                                         message, namespace=pod.namespace))

    def stop_all(self, pod: Pod, containers: list, grace: int) -> None:
        """(in a worker) the pod's app containers at once, then the rest (its sandbox)."""
        apps = [c for c in containers if c in pod.apps]
        threads = [threading.Thread(target=self.stop_container, args=(pod, c, grace), daemon=True) for c in apps]
        for t in threads:
            t.start()
        for t in threads:
            t.join(grace + JOIN_SLACK)
        for c in containers:
            if c not in apps:
                self.stop_container(pod, c, grace)
