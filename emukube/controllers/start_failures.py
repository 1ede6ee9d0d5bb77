"""Pods whose start failed stay pods, as with the kubelet: listed by the API with the failure in
STATUS and in their container statuses (ErrImagePull, ImagePullBackOff, ErrImageNeverPull,
CreateContainerConfigError, RunContainerError, CrashLoopBackOff, Init:Error,
Init:CrashLoopBackOff), tried again after the kubelet's back-off, and started once what they
lacked is there. So do pods no node fits (the scheduler's Unschedulable): Pending, with
PodScheduled False and its message, placed again on later ticks under the same name, as the
scheduler retries the pod the ReplicaSet made.

runtime/pods.create_pod makes a pod whole or not at all, so a failed pod has no containers: this
module remembers it (its plan stays in ctrl.creating, so its owner does not make another) and
says what the kubelet would. A failed init container's output is kept in the state volume
(runtime/log_paths.exited_log_path), where `kubectl logs -c INIT` reads it; when it runs again that
output moves to the previous-log file `--previous` reads.

Back-off as the kubelet's: image pulls wait 10 s, 20 s, ... 5 min (images.backOff); an init
container that failed runs again at once, then after 10 s, 20 s, ... 5 min (CrashLoopBackOff); a
container the runtime could not start (RunContainerError: its command not found, ...) after
10 s, 20 s, ...; restartPolicy Never leaves the pod Failed. A missing image is tried again as
soon as it is present (`emukube load`, `docker tag`), a missing ConfigMap or Secret as soon as
the objects change.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field, replace

from ..k8s.keys import object_key
from ..k8s.reasons import Reason, Waiting, back_off_restarting, crash_loop_back_off, kubelet_pod
from ..k8s.resources import BY_KEY
from ..plan.workloads import PodPlan, template_hash
from ..runtime.clusters import has_image
from ..runtime.files import replace_file
from ..runtime.log_paths import exited_log_path, previous_log_path
from ..runtime.pods import PodStartError
from .publish_pods import PodFacts

INITIAL_BACKOFF = 10.0
MAX_BACKOFF = 300.0
ERR_SHOWN = 3.0  # seconds ErrImagePull shows after a failed pull before ImagePullBackOff
IMAGE_CHECK = 1.0  # seconds between looks whether a missing image is there now
IMAGE_REASONS = ("ErrImagePull", "ErrImageNeverPull")
UNSCHEDULABLE = "Unschedulable"  # the scheduler's reason: no start was tried
RESCHEDULE_AFTER = 0.2  # seconds: not placed twice in one tick


def image_hint(image: str) -> str:
    return (f'emukube pulls from no registry: load the image with "emukube load ARCHIVE" (an archive of '
            f'"docker save {image}"), tag a local image as "{image}", or map it with --image-map {image}=LOCAL')


@dataclass
class Failure:
    """One pod's latest failed start."""

    plan: PodPlan
    # the kubelet's word: ErrImagePull, ErrImageNeverPull, CreateContainerConfigError, RunContainerError,
    # Error (an init container that failed)
    reason: str
    message: str
    container: str = ""
    init: bool = False
    image: str = ""
    since: float = 0.0  # wall time of its first failure: the pod's creationTimestamp
    failed_at: float = 0.0  # wall time of the latest failure
    failures: int = 0
    ended: dict = field(default_factory=dict)  # a failed init container's terminated state
    restarts: int = 0  # runs of the failing init container after its first
    objects_version: int = -1
    retrying: bool = False  # a start is under way
    started: bool = False  # started since: kept for its init containers' restart counts
    next_image_check: float = 0.0

    def end(self) -> dict:
        """The failed init container's ContainerStateTerminated."""
        return {"reason": "Error", **{k: v for k, v in self.ended.items() if k != "log"}}


def _restarted(reason: str) -> bool:
    """The failure is of a container that ran, or was tried (init containers' Error, a start the
    runtime refused): tried again, it counts as a restart, and it ends with restartPolicy Never."""
    return reason in ("Error", Waiting.RUN_CONTAINER_ERROR)


def wait_after(reason: str, failures: int) -> float:
    """Seconds before the next try after `failures` failed ones (the kubelet's back-off)."""
    if reason == "Error":  # an init container: the first restart at once
        return 0.0 if failures <= 1 else min(INITIAL_BACKOFF * 2 ** (failures - 2), MAX_BACKOFF)
    return min(INITIAL_BACKOFF * 2 ** (failures - 1), MAX_BACKOFF)


def _names(spec: dict, key: str) -> list[str]:
    return [c.get("name", "") for c in spec.get(key) or []]


def _sidecar(spec: dict, name: str) -> bool:
    return any(c.get("name") == name and c.get("restartPolicy") == "Always" for c in spec.get("initContainers") or [])


def _entry(name: str, state: dict, restarts: int = 0, last: dict | None = None) -> dict:
    out = {"name": name, "state": state, "restarts": restarts, "ready": False}
    if last:
        out["lastState"] = {"terminated": last}
    return out


def waiting_state(f: Failure, now: float) -> dict:
    """The failing container's state now."""
    if _restarted(f.reason):
        ended = f.end()
        if f.plan.spec.get("restartPolicy", "Always") == "Never" or wait_after(f.reason, f.failures) == 0:
            return {"terminated": ended}
        if f.reason == Waiting.RUN_CONTAINER_ERROR and now - f.failed_at < ERR_SHOWN:
            return {"waiting": {"reason": f.reason, "message": f.message}}
        delay = wait_after(f.reason, f.failures)
        return {"waiting": {"reason": Waiting.CRASH_LOOP_BACK_OFF, "message": crash_loop_back_off(
            delay, f.container, kubelet_pod(f.plan.name, f.plan.namespace, f.plan.uid))}}
    if f.reason == "ErrImagePull":
        pulled = f"{f.message}. {image_hint(f.image)}"
        if now - f.failed_at < ERR_SHOWN:
            return {"waiting": {"reason": Waiting.ERR_IMAGE_PULL, "message": pulled}}
        return {"waiting": {"reason": Waiting.IMAGE_PULL_BACK_OFF,
                            "message": f'Back-off pulling image "{f.image}": ErrImagePull: {pulled}'}}
    if f.reason == "ErrImageNeverPull":
        return {"waiting": {"reason": f.reason, "message": f"{f.message}. {image_hint(f.image)}"}}
    return {"waiting": {"reason": f.reason or "CreateContainerError", "message": f.message}}


def failure_status(f: Failure, now: float, completed: dict[str, dict] | None = None) -> dict:
    """What controllers/podstatus.pod_status() says of a running pod, for one that failed to
    start: every init and app container's entry (publish_pods reads them as they are).
    completed: the ends of the init containers that completed, by name."""
    if f.reason == UNSCHEDULABLE:  # no node, no containers: publish_pods.unscheduled_status
        return {"ready": False, "phase": "Pending", "restarts": 0, "ip": "", "reason": f.message, "node": "",
                "containers": [], "initContainers": [], "unschedulable": f.message}
    spec = f.plan.spec
    inits, apps = _names(spec, "initContainers"), _names(spec, "containers")
    state = waiting_state(f, now)
    last = f.end() if "waiting" in state and f.ended else None
    failing = inits.index(f.container) if f.init and f.container in inits else len(inits)
    init_entries = []
    for i, name in enumerate(inits):
        if i < failing:
            done = {"running": {}} if _sidecar(spec, name) else \
                {"terminated": (completed or {}).get(name) or {"exitCode": 0, "reason": "Completed"}}
            init_entries.append(_entry(name, done))
        elif i == failing:
            init_entries.append(_entry(name, state, f.restarts, last))
        else:
            init_entries.append(_entry(name, {"waiting": {"reason": Waiting.POD_INITIALIZING}}))
    if f.init:
        app_entries = [_entry(n, {"waiting": {"reason": Waiting.POD_INITIALIZING}}) for n in apps]
    else:  # the others would run; STATUS names the one that cannot
        app_entries = [_entry(n, state, f.restarts, last) if n == f.container else _entry(n, {"waiting": {}})
                       for n in apps]
    word = state.get("waiting", state.get("terminated", {})).get("reason", "")
    return {"ready": False, "phase": f"Init:{word}" if f.init else word, "restarts": f.restarts, "ip": "",
            "reason": state.get("waiting", {}).get("message", f.message), "node": f.plan.node,
            "containers": app_entries, "initContainers": init_entries}


class StartFailures:
    """The controller's failed starts (ctrl: controllers/loop.Controller)."""

    def __init__(self, ctrl) -> None:
        self.ctrl = ctrl
        self.pods: dict[str, Failure] = {}  # pod key -> its latest failure
        self.told: dict[str, float] = {}  # pod key -> the failure whose back-off events were given
        self.told_unscheduled: dict[str, str] = {}  # pod key -> the scheduler's message its event gave
        # pod key -> init container -> its end (exit code and times), once it completed: removed
        # with its container, it is known from runtime/pods.py's call only (not kept over restarts)
        self.completed: dict[str, dict[str, dict]] = {}
        ctrl.ctx.init_ended = self.init_ended

    def init_ended(self, namespace: str, pod: str, container: str, ended: dict) -> None:
        self.completed.setdefault(object_key(namespace, pod), {})[container] = {**ended, "reason": "Completed"}

    def completed_end(self, key: str, container: str) -> dict:
        """A completed init container's ContainerStateTerminated."""
        return (self.completed.get(key) or {}).get(container) or {"exitCode": 0, "reason": "Completed"}

    def holds(self, key: str) -> bool:
        f = self.pods.get(key)
        return f is not None and not f.started

    def idle(self, key: str) -> bool:
        """Held, and no start of it under way: nothing of the pod is in the engine."""
        f = self.pods.get(key)
        return f is not None and not f.started and not f.retrying

    def get(self, key: str) -> Failure | None:
        return self.pods.get(key)

    def ended_at(self, key: str) -> float:
        """When the pod failed for good (an init container failed, restartPolicy Never), else 0:
        a Job counts it failed; nothing waits for it."""
        f = self.pods.get(key)
        final = f is not None and not f.started and _restarted(f.reason) and \
            f.plan.spec.get("restartPolicy", "Always") == "Never"
        return f.failed_at if final and f is not None else 0.0

    # ---- from the start worker ------------------------------------------------------------
    def failed(self, plan: PodPlan, exc: PodStartError) -> None:
        key = object_key(plan.namespace, plan.name)
        now = time.time()
        if not plan.uid:  # the kubelet's messages name the pod with its object's uid
            plan = replace(plan, uid=self.ctrl.stored_uid(plan.namespace, plan.name))
        f = self.pods.get(key)
        if f is None or f.started or f.reason != exc.reason or f.container != exc.container:
            f = Failure(plan=plan, reason=exc.reason, message=exc.message, since=f.since if f else now,
                        restarts=f.restarts if f and f.container == exc.container else 0)
        f.plan, f.message, f.container, f.init, f.image = plan, exc.message, exc.container, exc.init, exc.image
        f.ended, f.failed_at, f.retrying = dict(exc.ended), now, False
        f.failures += 1
        f.objects_version = self.ctrl.objects_version
        self.pods[key] = f
        if self.ended_at(key):
            self._unwait(f)
        if f.ended.get("log") is not None:
            path = self._exited_log(f)
            path.parent.mkdir(parents=True, exist_ok=True)
            replace_file(path, f.ended["log"].decode(errors="replace"))
        self._tell_failure(f)

    def unschedulable(self, plan: PodPlan, why: str) -> None:
        """No node fits the pod now: it stays, Pending, as its owner's pod (in ctrl.creating)."""
        key = object_key(plan.namespace, plan.name)
        plan = replace(plan, node="")  # on no node (a plan's default is node-1)
        now = time.time()
        f = self.pods.get(key)
        if f is None or f.started or f.reason != UNSCHEDULABLE:
            f = self.pods[key] = Failure(plan=plan, reason=UNSCHEDULABLE, message=why,
                                         since=f.since if f and not f.started else now)
        f.plan, f.message, f.failed_at, f.retrying = plan, why, now, False
        self.ctrl.creating[key] = plan

    def not_retrying(self, key: str) -> None:
        """A start of a held pod ended without a verdict (an error of emukube's own): the next
        tick tries it again, instead of waiting for a start that will not report."""
        f = self.pods.get(key)
        if f is not None:
            f.retrying = False

    def started(self, key: str) -> None:
        f = self.pods.get(key)
        if f is not None:
            f.started, f.retrying = True, False
            self._exited_log(f).unlink(missing_ok=True)  # its sandbox keeps the init logs now

    # ---- each tick ---------------------------------------------------------------------------
    def sync(self, pods: dict) -> None:
        """Forget pods nothing wants any more; start again those whose back-off ended."""
        ctrl, now = self.ctrl, time.time()
        for key in [k for k in list(self.completed) if k not in pods and k not in ctrl.creating]:
            self.completed.pop(key, None)
        for key, f in list(self.pods.items()):
            if f.started:
                if key not in pods and key not in ctrl.creating:
                    self._forget(key)
                continue
            if f.retrying:
                continue
            if not self._wanted(f, pods):
                self.drop(key)
                continue
            if f.reason == UNSCHEDULABLE:
                self._tell_unscheduled(key, f)
            if self._due(f, now):
                self._retry(key, f, pods)
            else:
                self._tell_backoff(key, f, now)

    def published(self, pods: dict) -> list[tuple[PodFacts, dict]]:
        """(facts, status) of the failed pods no container stands for now."""
        now = time.time()
        return [(self._facts(f), failure_status(f, now, self.completed.get(key))) for key, f in list(self.pods.items())
                if not f.started and key not in pods]

    def drop(self, key: str) -> None:
        """Its owner wants one pod fewer: this one, which holds no container, goes."""
        self._forget(key)
        self.ctrl.creating.pop(key, None)

    # ---- inside ----------------------------------------------------------------------------
    def _forget(self, key: str) -> None:
        f = self.pods.pop(key, None)
        self.told.pop(key, None)
        self.told_unscheduled.pop(key, None)
        if f is not None:
            self._exited_log(f).unlink(missing_ok=True)
        if f is not None and not f.started:
            self._unwait(f)

    def _unwait(self, f: Failure) -> None:
        """No longer named in what `up` waits for (the loop's reasons)."""
        plan = f.plan
        owner = f"{plan.owner_kind}/{plan.namespace}/{plan.owner_name}" if plan.owner_kind else \
            object_key(plan.namespace, plan.name)
        self.ctrl.reasons.pop(owner, None)

    def _exited_log(self, f: Failure):
        return exited_log_path(self.ctrl.state_dir, f.plan.namespace, f.plan.name, f.container)

    def _due(self, f: Failure, now: float) -> bool:
        if f.reason == UNSCHEDULABLE:
            return now - f.failed_at >= RESCHEDULE_AFTER
        if _restarted(f.reason) and f.plan.spec.get("restartPolicy", "Always") == "Never":
            return False  # the pod failed for good
        if now >= f.failed_at + wait_after(f.reason, f.failures):
            return True
        if f.reason in IMAGE_REASONS and now >= f.next_image_check:
            f.next_image_check = now + IMAGE_CHECK
            return has_image(self.ctrl.client, f.image)
        return f.reason == "CreateContainerConfigError" and f.objects_version != self.ctrl.objects_version

    def _retry(self, key: str, f: Failure, pods: dict) -> None:
        if _restarted(f.reason):
            f.restarts += 1
            kept = self._exited_log(f)
            if kept.is_file():  # this run's output becomes the previous one
                previous = previous_log_path(self.ctrl.state_dir, f.plan.namespace, f.plan.name, f.container)
                previous.parent.mkdir(parents=True, exist_ok=True)
                kept.replace(previous)
        f.retrying = True
        self.ctrl.creating.pop(key, None)  # start_pod places it again
        self.ctrl.start_pod(f.plan, pods)
        if key not in self.ctrl.creating:  # not placed this time: the next tick tries again
            f.retrying = False
            self.ctrl.creating[key] = f.plan

    def _wanted(self, f: Failure, pods: dict) -> bool:
        """Its owner still asks for it (template, replicas), and no deletion was asked for it."""
        ctrl, plan = self.ctrl, f.plan
        key = object_key(plan.namespace, plan.name)
        if ctrl.informer is not None:
            obj = ctrl.informer.get(BY_KEY["pods"], plan.namespace, plan.name)
            if obj is not None and obj["metadata"].get("deletionTimestamp"):
                return False
            publisher = ctrl.publisher
            uid = ctrl.informer.deleted_uid(BY_KEY["pods"], plan.namespace, plan.name)
            if obj is None and uid is not None and (publisher is None or uid not in publisher.own_deletions):
                return False
        if not plan.owner_kind:
            return any(object_key(b.namespace, b.name) == key for b in ctrl.bare)
        owner = f"{plan.owner_kind}/{plan.owner_name}"
        if plan.owner_kind == "Job":
            return object_key(plan.namespace, owner) in ctrl.jobs.owners()
        w = next((w for w in ctrl.workloads if w["kind"] == plan.owner_kind and w["metadata"]["name"] == plan.owner_name
                  and w["metadata"].get("namespace", "default") == plan.namespace), None)
        if w is None:
            return plan.owner_kind == "Run"
        if template_hash(w["spec"]["template"]) != plan.template_hash:
            return False
        replicas = w["spec"].get("replicas", 1)
        if plan.ordinal is not None:
            return plan.ordinal < replicas
        running = [p for p in pods.values() if p.of(plan.namespace, owner)
                   and p.template_hash == plan.template_hash and p.key not in ctrl.terminating]
        waiting = sorted(k for k, g in self.pods.items() if not g.started and g.plan.namespace == plan.namespace
                         and f"{g.plan.owner_kind}/{g.plan.owner_name}" == owner)
        return waiting.index(key) < replicas - len(running)

    def _facts(self, f: Failure) -> PodFacts:
        return self.ctrl.plan_facts(f.plan, f.since)

    # ---- events, in the kubelet's words ----------------------------------------------------
    def _tell_failure(self, f: Failure) -> None:
        event, obj = functools.partial(self.ctrl.event, namespace=f.plan.namespace), f"pod/{f.plan.name}"
        if f.reason == "ErrImagePull":
            event("Normal", obj, "Pulling", f'Pulling image "{f.image}"')
            event("Warning", obj, "Failed", f"{f.message}. {image_hint(f.image)}")
            event("Warning", obj, "Failed", "Error: ErrImagePull")
        elif f.reason == "ErrImageNeverPull":
            event("Warning", obj, "ErrImageNeverPull", f"{f.message}. {image_hint(f.image)}")
            event("Warning", obj, "Failed", "Error: ErrImageNeverPull")
        elif f.reason != "Error":  # an init container's failure shows as its BackOff
            event("Warning", obj, "Failed", f"Error: {f.message}")

    def _tell_unscheduled(self, key: str, f: Failure) -> None:
        """The scheduler's FailedScheduling, once per message, and only once the pod is in the API:
        `kubectl describe pod` finds a pod's events by its uid, which an event given before it was
        published lacks (and its namespace too)."""
        informer = self.ctrl.informer
        if self.told_unscheduled.get(key) == f.message or (
                informer is not None and informer.get(BY_KEY["pods"], f.plan.namespace, f.plan.name) is None):
            return
        self.ctrl.event("Warning", f"pod/{f.plan.name}", Reason.FAILED_SCHEDULING, f.message,
                        namespace=f.plan.namespace)
        self.told_unscheduled[key] = f.message

    def _tell_backoff(self, key: str, f: Failure, now: float) -> None:
        """Once per failure, when its back-off shows."""
        if self.told.get(key) == f.failed_at:
            return
        event, obj = functools.partial(self.ctrl.event, namespace=f.plan.namespace), f"pod/{f.plan.name}"
        if f.reason == "ErrImagePull" and now - f.failed_at >= ERR_SHOWN:
            event("Normal", obj, "BackOff", f'Back-off pulling image "{f.image}"')
            event("Warning", obj, "Failed", "Error: ImagePullBackOff")
        elif _restarted(f.reason) and waiting_state(f, now).get("waiting", {}).get("reason") == \
                Waiting.CRASH_LOOP_BACK_OFF:
            event("Warning", obj, "BackOff", back_off_restarting(
                f.container, kubelet_pod(f.plan.name, f.plan.namespace, f.plan.uid)))
        else:
            return
        self.told[key] = f.failed_at
