"""What the Job and CronJob controllers decide, from plain data. Pure: no Docker, no HTTP.

Rules read from kubernetes' pkg/controller/job (syncJob, manageJob, pastBackoffLimitOnFailure,
the pod failure back-off), pkg/controller/cronjob (syncCronJob, getJobFromTemplate2,
cleanupFinishedJobs) and pkg/registry/batch/job/strategy.go (generateSelector). Times are epoch
seconds in, RFC 3339 (whole seconds, UTC) in the objects out."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..k8s.times import timestamp as stamp
from . import cron

JOB_NAME, LEGACY_JOB_NAME = "batch.kubernetes.io/job-name", "job-name"
CONTROLLER_UID, LEGACY_CONTROLLER_UID = "batch.kubernetes.io/controller-uid", "controller-uid"
SCHEDULED_AT = "batch.kubernetes.io/cronjob-scheduled-timestamp"
POD_BACKOFF, MAX_POD_BACKOFF = 10.0, 600.0  # DefaultJobPodFailureBackOff, MaxJobPodFailureBackOff
BACKOFF_LIMIT = 6
COMPLETED = ("CompletionsReached", "Reached expected number of succeeded pods")
BACKOFF_EXCEEDED = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
DEADLINE_EXCEEDED = ("DeadlineExceeded", "Job was active longer than specified deadline")


def seconds(text: object) -> float:
    try:
        return datetime.strptime(str(text)[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp()
    except (TypeError, ValueError):
        return 0.0


# ---- the API server's part ---------------------------------------------------------------------
def generate_selector(job: dict, uid: str) -> None:
    """strategy.PrepareForCreate: without manualSelector, the pods get the job's name and uid as
    labels and the selector picks its uid; job.metadata.labels default to the template's."""
    spec = job.setdefault("spec", {})
    template_meta = spec.setdefault("template", {}).setdefault("metadata", {}) or {}
    spec["template"]["metadata"] = template_meta
    labels = template_meta.get("labels") or {}
    meta = job.setdefault("metadata", {})
    if labels and not meta.get("labels"):
        meta["labels"] = dict(labels)
    if spec.get("manualSelector"):
        return
    for key in (LEGACY_JOB_NAME, JOB_NAME):
        labels.setdefault(key, meta.get("name", ""))
    for key in (LEGACY_CONTROLLER_UID, CONTROLLER_UID):
        labels.setdefault(key, uid)
    template_meta["labels"] = labels
    selector = spec.get("selector") or {}
    selector["matchLabels"] = {**(selector.get("matchLabels") or {})}
    selector["matchLabels"].setdefault(CONTROLLER_UID, uid)
    spec["selector"] = selector


# ---- a Job -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class JobPod:
    """One of a Job's pods as the controller sees it."""

    name: str
    phase: str  # Pending | Running | Succeeded | Failed (the kubelet's)
    ready: bool = False
    restarts: int = 0  # of its containers, for restartPolicy OnFailure
    finished: float = 0.0  # when it ended (Succeeded or Failed)
    created: float = 0.0
    terminating: bool = False

    @property
    def active(self) -> bool:
        return self.phase in ("Pending", "Running") and not self.terminating


@dataclass
class JobDecision:
    create: int = 0  # new pods to make now
    delete: list[str] = field(default_factory=list)  # pods to stop
    status: dict = field(default_factory=dict)
    events: list[tuple[str, str, str]] = field(default_factory=list)  # (type, reason, message)
    wake_at: float = 0.0  # when a pod held back by the failure back-off may be made
    expired: bool = False  # ttlSecondsAfterFinished has passed: delete the Job


def condition(conds: list[dict], kind: str) -> dict | None:
    return next((c for c in conds if c.get("type") == kind and c.get("status") == "True"), None)


def finished(job: dict) -> str:
    """"Complete", "Failed" or "" (still running)."""
    conds = (job.get("status") or {}).get("conditions") or []
    return next((k for k in ("Complete", "Failed") if condition(conds, k)), "")


def _set_condition(conds: list[dict], kind: str, status: str, why: tuple[str, str], now: float) -> None:
    old = next((c for c in conds if c.get("type") == kind), None)
    if old is not None and old.get("status") == status:
        return
    new = {"type": kind, "status": status, "lastProbeTime": stamp(now), "lastTransitionTime": stamp(now),
           "reason": why[0], "message": why[1]}
    if old is None:
        conds.append(new)
    else:
        conds[conds.index(old)] = new


def failure_backoff(failures_since_success: int) -> float:
    return 0.0 if failures_since_success <= 0 else min(MAX_POD_BACKOFF, POD_BACKOFF * 2 ** (failures_since_success - 1))


def _restarts_past_limit(policy: str, pods: list[JobPod], limit: int) -> bool:
    """pastBackoffLimitOnFailure: with OnFailure, restarts of running pods count as failures."""
    if policy != "OnFailure":
        return False
    restarts = sum(p.restarts for p in pods if p.phase in ("Pending", "Running"))
    return restarts > 0 if limit == 0 else restarts >= limit


@dataclass
class _Sync:
    """One sync of a Job: what it was, what its pods are, what is decided."""

    spec: dict
    prev: dict
    pods: list[JobPod]
    now: float
    out: JobDecision = field(default_factory=JobDecision)
    conds: list[dict] = field(default_factory=list)
    start: float = 0.0

    def __post_init__(self) -> None:
        self.conds = copy.deepcopy(self.prev.get("conditions") or [])
        self.start = seconds(self.prev.get("startTime")) if self.prev.get("startTime") else self.now
        self.active = [p for p in self.pods if p.active]
        self.succeeded = max(int(self.prev.get("succeeded") or 0), sum(p.phase == "Succeeded" for p in self.pods))
        self.failed = max(int(self.prev.get("failed") or 0), sum(p.phase == "Failed" for p in self.pods))
        self.terminating = sum(p.terminating and p.phase in ("Pending", "Running") for p in self.pods)

    def number(self, key: str, default: int) -> int:
        value = self.spec.get(key)
        return default if value is None else int(value)


def decide_job(job: dict, pods: list[JobPod], now: float) -> JobDecision:
    sync = _Sync(job.get("spec") or {}, job.get("status") or {}, pods, now)
    done = finished(job)
    if done:
        sync.out.delete = [p.name for p in sync.active]
    elif sync.spec.get("suspend"):
        _suspend(sync)
    else:
        done = _run(sync)
    sync.out.status = _job_status(sync, done)
    ttl = sync.spec.get("ttlSecondsAfterFinished")
    if done and ttl is not None:
        ended = seconds((condition(sync.conds, done) or {}).get("lastTransitionTime"))
        sync.out.expired = now >= ended + int(ttl)
        if not sync.out.expired:
            sync.out.wake_at = ended + int(ttl)
    return sync.out


def _suspend(sync: _Sync) -> None:
    sync.out.delete = [p.name for p in sync.active]
    sync.start = 0.0
    if not condition(sync.conds, "Suspended"):
        _set_condition(sync.conds, "Suspended", "True", ("JobSuspended", "Job suspended"), sync.now)
        sync.out.events.append(("Normal", "Suspended", "Job suspended"))


def _failure(sync: _Sync) -> tuple[str, str] | None:
    target = condition(sync.conds, "FailureTarget")
    if target:
        return target.get("reason", ""), target.get("message", "")
    limit = sync.number("backoffLimit", BACKOFF_LIMIT)
    policy = ((sync.spec.get("template") or {}).get("spec") or {}).get("restartPolicy", "Never")
    if sync.failed > limit or _restarts_past_limit(policy, sync.active, limit):
        return BACKOFF_EXCEEDED
    deadline = sync.spec.get("activeDeadlineSeconds")
    if deadline is not None and sync.now - sync.start >= int(deadline):
        return DEADLINE_EXCEEDED
    return None


def _run(sync: _Sync) -> str:
    """A Job not suspended nor finished: its end, or the pods it needs. Returns what it became."""
    if condition(sync.conds, "Suspended"):
        _set_condition(sync.conds, "Suspended", "False", ("JobResumed", "Job resumed"), sync.now)
        sync.out.events.append(("Normal", "Resumed", "Job resumed"))
        sync.start = sync.now
    completions = sync.spec.get("completions")
    failure = _failure(sync)
    if failure:
        return _end(sync, "FailureTarget", "Failed", failure, ("Warning", failure[0], failure[1]))
    if (sync.succeeded >= int(completions)) if completions is not None else (sync.succeeded > 0 and not sync.active):
        return _end(sync, "SuccessCriteriaMet", "Complete", COMPLETED, ("Normal", "Completed", "Job completed"))
    parallelism = sync.number("parallelism", 1)
    want = min(parallelism, int(completions) - sync.succeeded) if completions is not None else \
        (parallelism if sync.succeeded == 0 else 0)
    active = sync.active
    if want > len(active):
        last_success = max((p.finished for p in sync.pods if p.phase == "Succeeded"), default=0.0)
        recent = [p.finished for p in sync.pods if p.phase == "Failed" and p.finished >= last_success]
        ready_at = max(recent, default=0.0) + failure_backoff(len(recent))
        if sync.now >= ready_at:
            sync.out.create = want - len(active)
        else:
            sync.out.wake_at = ready_at
    elif want < len(active):  # parallelism lowered: the newest go, pending ones first
        extra = sorted(active, key=lambda p: (p.phase == "Running", -p.created))
        sync.out.delete = [p.name for p in extra[:len(active) - want]]
    return ""


def _end(sync: _Sync, target: str, final: str, why: tuple[str, str], event: tuple[str, str, str]) -> str:
    """The Job reached its end: the target condition at once, its pods stopped; the final one
    once none runs any more (as the Job controller does since 1.31)."""
    sync.out.delete = [p.name for p in sync.active]
    if not condition(sync.conds, target):
        _set_condition(sync.conds, target, "True", why, sync.now)
    if sync.active or sync.terminating:
        return ""
    _set_condition(sync.conds, final, "True", why, sync.now)
    sync.out.events.append(event)
    return final


def _job_status(sync: _Sync, done: str) -> dict:
    status: dict = {}
    if sync.start and not sync.spec.get("suspend"):
        status["startTime"] = sync.prev.get("startTime") or stamp(sync.start)
    if done == "Complete":
        status["completionTime"] = sync.prev.get("completionTime") or stamp(sync.now)
    staying = [p for p in sync.active if p.name not in sync.out.delete]
    if staying and not done:
        status["active"] = len(staying)
    status["ready"] = 0 if done else sum(p.ready for p in staying)
    if sync.succeeded:
        status["succeeded"] = sync.succeeded
    if sync.failed:
        status["failed"] = sync.failed
    status["terminating"] = sync.terminating
    status["uncountedTerminatedPods"] = {}
    if sync.conds:
        status["conditions"] = sync.conds
    return status


# ---- a CronJob ---------------------------------------------------------------------------------
@dataclass
class CronDecision:
    create: dict | None = None  # the Job to create now
    delete: list[str] = field(default_factory=list)  # Jobs to delete (replaced or past history)
    status: dict = field(default_factory=dict)
    events: list[tuple[str, str, str]] = field(default_factory=list)


def job_name(cronjob: dict, scheduled: datetime) -> str:
    """getJobName: the scheduled time in minutes, so one schedule time makes one Job."""
    return f"{cronjob['metadata']['name']}-{int(scheduled.timestamp()) // 60}"


def job_from_cronjob(cronjob: dict, name: str, annotations: dict | None = None) -> dict:
    """getJobFromTemplate2: the jobTemplate's labels, annotations and spec, owned by the CronJob."""
    meta = cronjob["metadata"]
    template = (cronjob.get("spec") or {}).get("jobTemplate") or {}
    tmeta = template.get("metadata") or {}
    job_meta = {"name": name, "namespace": meta.get("namespace", "default"),
                "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": meta["name"],
                                     "uid": meta.get("uid", ""), "controller": True, "blockOwnerDeletion": True}]}
    if tmeta.get("labels"):
        job_meta["labels"] = dict(tmeta["labels"])
    notes = {**(tmeta.get("annotations") or {}), **(annotations or {})}
    if notes:
        job_meta["annotations"] = notes
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": job_meta,
            "spec": copy.deepcopy(template.get("spec") or {})}


def owned_by(job: dict, cronjob: dict) -> bool:
    uid = cronjob["metadata"].get("uid")
    return any(r.get("kind") == "CronJob" and r.get("controller") and
               (r.get("uid") == uid if uid else r.get("name") == cronjob["metadata"]["name"])
               for r in job["metadata"].get("ownerReferences") or [])


def _ref(job: dict) -> dict:
    meta = job["metadata"]
    return {"apiVersion": "batch/v1", "kind": "Job", "name": meta["name"],
            "namespace": meta.get("namespace", "default"), "uid": meta.get("uid", ""),
            "resourceVersion": meta.get("resourceVersion", "")}


def _started(job: dict) -> float:
    status = job.get("status") or {}
    return seconds(status.get("startTime") or job["metadata"].get("creationTimestamp"))


def _history(spec: dict, jobs: list[dict], ended: dict[str, str], out: CronDecision) -> None:
    """cleanupFinishedJobs: the oldest finished Jobs beyond the history limits go."""
    for kind, key, default in (("Complete", "successfulJobsHistoryLimit", 3), ("Failed", "failedJobsHistoryLimit", 1)):
        limit = spec.get(key, default)
        done = sorted((j for j in jobs if ended[j["metadata"]["name"]] == kind), key=_started)
        if limit is not None and len(done) > int(limit):
            for j in done[:len(done) - int(limit)]:
                out.delete.append(j["metadata"]["name"])
                out.events.append(("Normal", "SuccessfulDelete", f"Deleted job {j['metadata']['name']}"))


def decide_cronjob(cronjob: dict, jobs: list[dict], now: float) -> CronDecision:
    """One sync of a CronJob: its Jobs (those it owns), history kept within the limits, and the
    Job of the latest schedule time not yet run, as concurrencyPolicy allows."""
    spec, prev = cronjob.get("spec") or {}, cronjob.get("status") or {}
    out = CronDecision()
    ended = {j["metadata"]["name"]: finished(j) for j in jobs}
    running = sorted((j for j in jobs if not ended[j["metadata"]["name"]]), key=_started)
    was_active = {r.get("name") for r in prev.get("active") or []}
    last_success = prev.get("lastSuccessfulTime")
    for j in jobs:
        name = j["metadata"]["name"]
        if ended[name] and name in was_active:
            out.events.append(("Normal", "SawCompletedJob", f"Saw completed job: {name}, condition: {ended[name]}"))
        completed_at = (j.get("status") or {}).get("completionTime")
        if ended[name] == "Complete" and completed_at and seconds(completed_at) > seconds(last_success):
            last_success = completed_at
    _history(spec, jobs, ended, out)
    last = prev.get("lastScheduleTime")
    zone = cron.zone(spec.get("timeZone"))
    if not spec.get("suspend"):
        try:
            schedule = cron.parse(spec.get("schedule") or "")
        except cron.ScheduleError as exc:
            schedule = None
            out.events.append(("Warning", "UnparseableSchedule",
                               f"unparseable schedule: {spec.get('schedule')!r} : {exc}"))
        since = datetime.fromtimestamp(seconds(last or cronjob["metadata"].get("creationTimestamp")) or now, zone)
        latest, _ = cron.most_recent(schedule, since, datetime.fromtimestamp(now, zone)) if schedule else (None, 0)
        deadline = spec.get("startingDeadlineSeconds")
        too_late = latest is not None and deadline is not None and now - latest.timestamp() > int(deadline)
        name = job_name(cronjob, latest) if latest is not None else ""
        policy = spec.get("concurrencyPolicy", "Allow")
        if latest is not None and not too_late and name not in ended and not (policy == "Forbid" and running):
            if policy == "Replace":
                for j in running:
                    out.delete.append(j["metadata"]["name"])
                    out.events.append(("Normal", "SuccessfulDelete", f"Deleted job {j['metadata']['name']}"))
                running = []
            stamp_text = latest.isoformat().replace("+00:00", "Z")
            out.create = job_from_cronjob(cronjob, name, {SCHEDULED_AT: stamp_text})
            out.events.append(("Normal", "SuccessfulCreate", f"Created job {name}"))
            last = stamp(latest.timestamp())
        elif latest is not None and name in ended:
            last = stamp(latest.timestamp())
    status: dict = {}
    refs = [_ref(j) for j in running if j["metadata"]["name"] not in out.delete]
    if out.create is not None:
        refs.append({"apiVersion": "batch/v1", "kind": "Job", "name": out.create["metadata"]["name"],
                     "namespace": out.create["metadata"]["namespace"]})
    if refs:
        status["active"] = refs
    if last:
        status["lastScheduleTime"] = last
    if last_success:
        status["lastSuccessfulTime"] = last_success
    out.status = status
    return out
