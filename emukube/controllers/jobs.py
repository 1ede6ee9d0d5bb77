"""The Job and CronJob controllers: observe (Jobs and CronJobs through the API, a Job's pods as
the loop observed them), decide (plan/jobs.py, pure), act (pods through the loop's own pod path,
Jobs and their status through the API). Called once a tick by the control loop."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..k8s.keys import object_key
from ..k8s.reasons import Reason
from ..k8s.resources import BY_KEY
from ..plan import jobs as plan
from ..plan.workloads import new_pod_for
from ..runtime import engine
from .apiaccess import write_tolerantly
from .podstatus import container_status
from .publish_pods import kubelet_phase

if TYPE_CHECKING:
    from .loop import Pod

JOBS, CRONJOBS = BY_KEY["jobs.batch"], BY_KEY["cronjobs.batch"]
MADE_MEMORY = 120.0  # seconds a Job this controller created is remembered before the API shows it


def owner_of(job: dict) -> str:
    return f"Job/{job['metadata']['name']}"


class JobControllers:
    def __init__(self, ctrl) -> None:
        self.ctrl = ctrl
        self.made: dict[tuple[str, str], float] = {}  # (ns, Job) created by a CronJob -> when

    # ---- observing ----------------------------------------------------------------------
    def cached(self, kind: str) -> list[dict]:
        if self.ctrl.informer is None:
            return []
        objects, _, _ = self.ctrl.informer.objects()
        return [o for o in objects if o.get("kind") == kind and o.get("apiVersion") == "batch/v1"]

    def owners(self) -> set[str]:
        """"ns/Job/name" of every Job: the loop keeps their pods."""
        return {f"{j['metadata'].get('namespace', 'default')}/{owner_of(j)}" for j in self.cached("Job")}

    def job_pod(self, pod) -> plan.JobPod:
        ctrl = self.ctrl
        if pod.key in ctrl.creating or not pod.complete:
            return plan.JobPod(pod.name, "Pending", terminating=pod.key in ctrl.terminating)
        statuses = [container_status(ctrl, pod, c) for c in pod.apps]
        phase = kubelet_phase(pod.spec, [], statuses)
        ended = max((engine.docker_time(c.attrs["State"].get("FinishedAt", "")) for c in pod.apps), default=0.0)
        return plan.JobPod(pod.name, phase, ready=ctrl.is_ready(pod), restarts=sum(s["restarts"] for s in statuses),
                           finished=ended if phase in ("Succeeded", "Failed") else 0.0,
                           created=engine.docker_time(pod.holder.attrs.get("Created", "")),
                           terminating=pod.key in ctrl.terminating)

    # ---- the loop's call ----------------------------------------------------------------
    def sync(self, pods: dict) -> None:
        now = time.time()
        jobs = self.cached("Job")
        for job in jobs:
            if not job["metadata"].get("deletionTimestamp"):
                self.sync_job(job, pods, now)
        for cronjob in self.cached("CronJob"):
            self.sync_cronjob(cronjob, [j for j in jobs if plan.owned_by(j, cronjob)], now)
        for key in [k for k, at in self.made.items() if now - at > MADE_MEMORY]:
            del self.made[key]

    def sync_job(self, job: dict, pods: dict, now: float) -> None:
        ctrl, meta = self.ctrl, job["metadata"]
        ns, name = meta.get("namespace", "default"), meta["name"]
        uid = (((job["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {}).get(plan.CONTROLLER_UID)
        mine: list[Pod] = []
        strays: list[Pod] = []
        for pod in pods.values():
            if pod.namespace == ns and pod.owner == owner_of(job):
                (strays if uid and pod.labels.get(plan.CONTROLLER_UID) != uid else mine).append(pod)
        for pod in strays:  # a Job of the same name deleted and made again: the old one's pods go
            ctrl.stop_pod(pod, "its Job was replaced")
        seen = [self.job_pod(p) for p in mine]
        for p in list(ctrl.creating.values()):  # being made, or failed to start (controllers/start_failures.py)
            if p.namespace == ns and p.owner_kind == "Job" and p.owner_name == name \
                    and object_key(ns, p.name) not in pods:
                ended = ctrl.failures.ended_at(object_key(ns, p.name))
                seen.append(plan.JobPod(p.name, "Failed" if ended else "Pending", finished=ended))
        decision = plan.decide_job(job, seen, now)
        by_name = {p.name: p for p in mine}
        for pod_name in decision.delete:
            if pod_name in by_name and by_name[pod_name].key not in ctrl.terminating:
                ctrl.stop_pod(by_name[pod_name], "job controller: not needed")
                ctrl.event("Normal", f"job/{name}", Reason.SUCCESSFUL_DELETE, f"Deleted pod: {pod_name}")
        for _ in range(decision.create):
            pod_plan = new_pod_for(job)
            ctrl.start_pod(pod_plan, pods)
            if object_key(ns, pod_plan.name) in ctrl.creating:
                ctrl.event("Normal", f"job/{name}", Reason.SUCCESSFUL_CREATE, f"Created pod: {pod_plan.name}")
        for kind, reason, message in decision.events:
            ctrl.event(kind, f"job/{name}", reason, message)
        if decision.status != (job.get("status") or {}):
            self._write(lambda: ctrl.api.update(JOBS, {**job, "status": decision.status}, sub="status"))
        if decision.expired:
            self._write(lambda: ctrl.api.delete(JOBS, ns, name, propagationPolicy="Background"))

    def sync_cronjob(self, cronjob: dict, jobs: list[dict], now: float) -> None:
        ctrl, meta = self.ctrl, cronjob["metadata"]
        ns, name = meta.get("namespace", "default"), meta["name"]
        decision = plan.decide_cronjob(cronjob, jobs, now)
        for job_name in decision.delete:
            self._write(lambda: ctrl.api.delete(JOBS, ns, job_name, propagationPolicy="Background"))
        made = decision.create
        fresh = made is not None and (ns, made["metadata"]["name"]) not in self.made
        if fresh and made is not None:
            self.made[(ns, made["metadata"]["name"])] = now
            self._write(lambda: ctrl.api.create(JOBS, made))
        for kind, reason, message in decision.events:
            if reason != "SuccessfulCreate" or fresh:
                ctrl.event(kind, f"cronjob/{name}", reason, message)
        status = {**(cronjob.get("status") or {}), **decision.status}
        for key in ("active", "lastScheduleTime", "lastSuccessfulTime"):
            if key not in decision.status:
                status.pop(key, None)
        if status != (cronjob.get("status") or {}):
            self._write(lambda: ctrl.api.update(CRONJOBS, {**cronjob, "status": status}, sub="status"))

    _write = staticmethod(write_tolerantly)
