"""Job and CronJob validation (pkg/apis/batch/validation), for the fields emukube reads."""

from __future__ import annotations

from ..plan import cron
from .fielderrors import FieldErrors
from .validate_pod import NONNEGATIVE, validate_pod_spec
from .validate_workload import label_selector

CONCURRENCY = ["Allow", "Forbid", "Replace"]
CRONJOB_NAME_MAX = 52  # 63 less the 11 characters of the Jobs' "-<minutes>" suffix


def validate_job_spec(spec: dict, path: str, errs: FieldErrors, allow_privileged: bool) -> None:
    for key in ("parallelism", "completions", "activeDeadlineSeconds", "backoffLimit", "ttlSecondsAfterFinished"):
        value = errs.get_int(spec, key, path)
        if value is not None and value < 0:
            errs.invalid(f"{path}.{key}", value, NONNEGATIVE)
    if spec.get("manualSelector") and spec.get("selector") is None:
        errs.required(f"{path}.selector")
    elif spec.get("manualSelector"):
        label_selector(errs.get_map(spec, "selector", path), f"{path}.selector", errs)
    if spec.get("template") is None:
        errs.required(f"{path}.template")
        return
    pod = errs.get_map(errs.get_map(spec, "template", path), "spec", f"{path}.template")
    validate_pod_spec(pod, f"{path}.template.spec", errs, allow_privileged)
    if pod.get("restartPolicy") not in ("OnFailure", "Never"):
        errs.required(f"{path}.template.spec.restartPolicy", 'valid values: "OnFailure", "Never"')


def validate_job(obj: dict, errs: FieldErrors, allow_privileged: bool) -> None:
    validate_job_spec(errs.get_map(obj, "spec", ""), "spec", errs, allow_privileged)


def validate_cronjob(obj: dict, errs: FieldErrors, allow_privileged: bool) -> None:
    name = (obj.get("metadata") or {}).get("name")
    if isinstance(name, str) and len(name) > CRONJOB_NAME_MAX:
        errs.invalid("metadata.name", name, f"must be no more than {CRONJOB_NAME_MAX} characters")
    spec = errs.get_map(obj, "spec", "")
    schedule = errs.get_str(spec, "schedule", "spec")
    if not schedule:
        errs.required("spec.schedule")
    else:
        try:
            cron.parse(schedule)
        except cron.ScheduleError as exc:
            errs.invalid("spec.schedule", schedule, str(exc))
        if "TZ=" in schedule:
            errs.invalid("spec.schedule", schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead")
    policy = errs.get_str(spec, "concurrencyPolicy", "spec")
    if policy and policy not in CONCURRENCY:
        errs.not_supported("spec.concurrencyPolicy", policy, CONCURRENCY)
    for key in ("startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
        value = errs.get_int(spec, key, "spec")
        if value is not None and value < 0:
            errs.invalid(f"spec.{key}", value, NONNEGATIVE)
    template = errs.get_map(spec, "jobTemplate", "spec")
    validate_job_spec(errs.get_map(template, "spec", "spec.jobTemplate"), "spec.jobTemplate.spec", errs,
                      allow_privileged)
