"""Printers for Jobs and CronJobs (printJob, printCronJob)."""

from __future__ import annotations

from .format import format_label_selector, human_duration, layout_containers, parse_time, since

# printJob's STATUS: the first of these conditions that is True, else Running.
_JOB_STATES = ("Complete", "Failed", "Terminating", "Suspended", "FailureTarget", "SuccessCriteriaMet")


def _has(conditions: list, kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status") == "True" for c in conditions or [])


def job_status_word(obj: dict) -> str:
    conds = (obj.get("status") or {}).get("conditions") or []
    for state in _JOB_STATES:
        if state == "Terminating":
            if (obj.get("metadata") or {}).get("deletionTimestamp"):
                return state
        elif _has(conds, state):
            return state
    return "Running"


def job_cells(obj: dict, now: float) -> list:
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    succeeded = int(status.get("succeeded") or 0)
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{int(spec['completions'])}"
    elif int(spec.get("parallelism") or 0) > 1:
        completions = f"{succeeded}/1 of {int(spec['parallelism'])}"
    else:
        completions = f"{succeeded}/1"
    started, ended = parse_time(status.get("startTime")), parse_time(status.get("completionTime"))
    duration = "" if started is None else human_duration((now if ended is None else ended) - started)
    names, images = layout_containers((((spec.get("template") or {}).get("spec")) or {}).get("containers"))
    return [meta.get("name", ""), job_status_word(obj), completions, duration,
            since(meta.get("creationTimestamp"), now), names, images, format_label_selector(spec.get("selector"))]


def cronjob_cells(obj: dict, now: float) -> list:
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    last = "<none>" if not status.get("lastScheduleTime") else since(status["lastScheduleTime"], now)
    suspend = spec.get("suspend")
    job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    names, images = layout_containers(((job_spec.get("template") or {}).get("spec") or {}).get("containers"))
    return [meta.get("name", ""), spec.get("schedule", ""), spec.get("timeZone") or "<none>",
            "<unset>" if suspend is None else ("True" if suspend else "False"), len(status.get("active") or []), last,
            since(meta.get("creationTimestamp"), now), names, images, format_label_selector(job_spec.get("selector"))]
