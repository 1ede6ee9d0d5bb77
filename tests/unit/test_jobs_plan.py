"""The Job and CronJob controllers' decisions and the cron schedule math (plan/jobs.py,
plan/cron.py), the batch printers and validation, from literal inputs."""

from datetime import UTC, datetime

import pytest

from emukube.apiserver.printers.batch import cronjob_cells, job_cells
from emukube.manifests.defaults import apply_defaults
from emukube.manifests.validate import validate_object
from emukube.plan import cron
from emukube.plan.jobs import JobPod, decide_cronjob, decide_job, generate_selector, job_name

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC).timestamp()  # a Sunday


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def job(completions=3, parallelism=2, backoff=6, status=None, **spec) -> dict:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "work", "namespace": "default"},
            "spec": {"completions": completions, "parallelism": parallelism, "backoffLimit": backoff,
                     "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}]}},
                     **spec},
            "status": status or {}}


# ---- cron ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("schedule, after, expected", [
    ("*/1 * * * *", utc(2026, 3, 1, 12, 0, 30), utc(2026, 3, 1, 12, 1)),
    ("*/15 * * * *", utc(2026, 3, 1, 12, 1), utc(2026, 3, 1, 12, 15)),
    ("0 */6 * * *", utc(2026, 3, 1, 12, 0), utc(2026, 3, 1, 18, 0)),
    ("30 2 * * mon-fri", utc(2026, 3, 1, 12, 0), utc(2026, 3, 2, 2, 30)),  # Sunday -> Monday
    ("0 0 1 jan,jul *", utc(2026, 3, 1, 12, 0), utc(2026, 7, 1, 0, 0)),
    ("@hourly", utc(2026, 3, 1, 12, 59), utc(2026, 3, 1, 13, 0)),
    ("@weekly", utc(2026, 3, 1, 12, 0), utc(2026, 3, 8, 0, 0)),
    ("0 0 13 * 5", utc(2026, 3, 1), utc(2026, 3, 6)),  # day of month OR Friday (neither is *)
    ("5-10/5 1 * * *", utc(2026, 3, 1, 1, 6), utc(2026, 3, 1, 1, 10)),
])
def test_next_scheduled_time(schedule, after, expected):
    assert cron.parse(schedule).next_after(after) == expected


def test_day_of_month_and_star_weekday_must_both_match():
    # "*" weekday: the 31st only; February has none, so the next is 31 March
    assert cron.parse("0 0 31 * *").next_after(utc(2026, 2, 1)) == utc(2026, 3, 31)


@pytest.mark.parametrize("schedule, message", [
    ("* * * *", "expected exactly 5 fields, found 4: [* * * *]"),
    ("61 * * * *", "end of range (61) above maximum (59): 61"),
    ("0 0 * * 7", "end of range (7) above maximum (6): 7"),  # robfig's weekdays are 0-6
    ("*/0 * * * *", "step of range should be a positive number: */0"),
    ("5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"),
    ("@sometimes", "unrecognized descriptor: @sometimes"),
])
def test_bad_schedules(schedule, message):
    with pytest.raises(cron.ScheduleError) as exc:
        cron.parse(schedule)
    assert str(exc.value) == message


def test_most_recent_is_the_latest_missed_run_only():
    every_minute = cron.parse("* * * * *")
    latest, count = cron.most_recent(every_minute, utc(2026, 3, 1, 12, 0), utc(2026, 3, 1, 12, 3, 30))
    assert (latest, count) == (utc(2026, 3, 1, 12, 3), 3)
    assert cron.most_recent(every_minute, utc(2026, 3, 1, 12, 3), utc(2026, 3, 1, 12, 3, 59)) == (None, 0)
    latest, count = cron.most_recent(every_minute, utc(2026, 1, 1), utc(2026, 3, 1, 12, 0, 10))
    assert latest == utc(2026, 3, 1, 12, 0) and count > 100


# ---- Jobs ---------------------------------------------------------------------------------------
def test_a_new_job_starts_parallelism_pods():
    d = decide_job(job(), [], T0)
    assert d.create == 2 and d.delete == []
    assert d.status == {"startTime": "2026-03-01T12:00:00Z", "ready": 0, "terminating": 0,
                        "uncountedTerminatedPods": {}}


def test_never_more_pods_than_completions_left():
    pods = [JobPod("a", "Succeeded", finished=T0), JobPod("b", "Succeeded", finished=T0), JobPod("c", "Running")]
    d = decide_job(job(status={"startTime": "2026-03-01T11:59:00Z"}), pods, T0 + 1)
    assert d.create == 0
    assert d.status["active"] == 1 and d.status["succeeded"] == 2


def test_a_failed_pod_is_replaced_after_the_back_off():
    pods = [JobPod("a", "Failed", finished=T0), JobPod("b", "Running")]
    early = decide_job(job(status={"startTime": "2026-03-01T11:59:00Z"}), pods, T0 + 5)
    assert early.create == 0 and early.wake_at == T0 + 10
    assert early.status["failed"] == 1 and early.status["active"] == 1
    assert decide_job(job(status={"startTime": "2026-03-01T11:59:00Z"}), pods, T0 + 10).create == 1


def test_back_off_doubles_with_failures_since_the_last_success():
    pods = [JobPod("a", "Failed", finished=T0 - 30), JobPod("b", "Failed", finished=T0)]
    assert decide_job(job(), pods, T0 + 19).create == 0
    assert decide_job(job(), pods, T0 + 20).create == 2


def test_completions_reached_completes_the_job():
    pods = [JobPod(n, "Succeeded", finished=T0) for n in "abc"] + [JobPod("d", "Failed", finished=T0)]
    d = decide_job(job(status={"startTime": "2026-03-01T11:59:00Z"}), pods, T0 + 2)
    conds = {c["type"]: c for c in d.status["conditions"]}
    assert set(conds) == {"SuccessCriteriaMet", "Complete"}
    assert conds["Complete"]["reason"] == "CompletionsReached"
    assert conds["Complete"]["message"] == "Reached expected number of succeeded pods"
    assert d.status["completionTime"] == "2026-03-01T12:00:02Z"
    assert d.status["succeeded"] == 3 and d.status["failed"] == 1 and "active" not in d.status
    assert ("Normal", "Completed", "Job completed") in d.events


def test_backoff_limit_exceeded_fails_the_job_and_stops_its_pods():
    pods = [JobPod("a", "Failed", finished=T0), JobPod("b", "Failed", finished=T0), JobPod("c", "Running")]
    d = decide_job(job(backoff=1), pods, T0 + 1)
    assert d.delete == ["c"] and d.create == 0
    assert [c["type"] for c in d.status["conditions"]] == ["FailureTarget"]
    # once its pods are gone: Failed, with Kubernetes' reason
    stopped = decide_job({**job(backoff=1), "status": d.status}, pods[:2], T0 + 3)
    failed = next(c for c in stopped.status["conditions"] if c["type"] == "Failed")
    assert (failed["reason"], failed["message"]) == ("BackoffLimitExceeded",
                                                     "Job has reached the specified backoff limit")
    assert "completionTime" not in stopped.status


def test_backoff_limit_zero_fails_on_the_first_failure():
    d = decide_job(job(completions=1, parallelism=1, backoff=0), [JobPod("a", "Failed", finished=T0)], T0)
    assert [c["type"] for c in d.status["conditions"]] == ["FailureTarget", "Failed"]


def test_on_failure_restarts_count_towards_the_backoff_limit():
    spec_job = job(completions=1, parallelism=1, backoff=2)
    spec_job["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"
    assert not decide_job(spec_job, [JobPod("a", "Running", restarts=1)], T0).status.get("conditions")
    d = decide_job(spec_job, [JobPod("a", "Running", restarts=2)], T0)
    assert d.delete == ["a"] and d.status["conditions"][0]["reason"] == "BackoffLimitExceeded"


def test_active_deadline_exceeded():
    d = decide_job(job(activeDeadlineSeconds=30, status={"startTime": "2026-03-01T11:59:00Z"}),
                   [JobPod("a", "Running")], T0)
    assert d.delete == ["a"]
    assert d.status["conditions"][0]["reason"] == "DeadlineExceeded"
    assert d.status["conditions"][0]["message"] == "Job was active longer than specified deadline"


def test_ttl_after_finished_expires_the_job():
    done = {"startTime": "2026-03-01T11:00:00Z", "completionTime": "2026-03-01T11:59:50Z", "succeeded": 1,
            "conditions": [{"type": "Complete", "status": "True", "lastTransitionTime": "2026-03-01T11:59:50Z"}]}
    assert not decide_job(job(1, 1, ttlSecondsAfterFinished=30, status=done), [], T0).expired
    assert decide_job(job(1, 1, ttlSecondsAfterFinished=5, status=done), [], T0).expired


def test_work_queue_job_completes_once_one_succeeded_and_none_runs():
    queue = job(completions=None, parallelism=2)
    assert decide_job(queue, [JobPod("a", "Succeeded", finished=T0), JobPod("b", "Running")], T0).create == 0
    d = decide_job(queue, [JobPod("a", "Succeeded", finished=T0), JobPod("b", "Succeeded", finished=T0)], T0)
    assert any(c["type"] == "Complete" for c in d.status["conditions"])


def test_suspended_job_stops_its_pods():
    d = decide_job(job(suspend=True), [JobPod("a", "Running")], T0)
    assert d.delete == ["a"] and d.create == 0 and "startTime" not in d.status
    assert d.status["conditions"][0]["reason"] == "JobSuspended"


def test_selector_and_labels_from_the_uid():
    obj = {"metadata": {"name": "pi"}, "spec": {"template": {"metadata": {"labels": {"app": "pi"}}, "spec": {}}}}
    generate_selector(obj, "u-1")
    assert obj["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}}
    assert obj["spec"]["template"]["metadata"]["labels"] == {
        "app": "pi", "job-name": "pi", "batch.kubernetes.io/job-name": "pi", "controller-uid": "u-1",
        "batch.kubernetes.io/controller-uid": "u-1"}
    assert obj["metadata"]["labels"] == {"app": "pi"}


def test_job_defaults():
    obj = apply_defaults({"kind": "Job", "metadata": {"name": "x"}, "spec": {"template": {"spec": {}}}})
    spec = obj["spec"]
    assert (spec["completions"], spec["parallelism"], spec["backoffLimit"], spec["completionMode"],
            spec["suspend"]) == (1, 1, 6, "NonIndexed", False)
    queue = apply_defaults({"kind": "Job", "metadata": {"name": "x"}, "spec": {"parallelism": 3}})["spec"]
    assert "completions" not in queue or queue["completions"] is None


def test_job_needs_a_restart_policy_that_ends():
    items = validate_object({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "x"},
                             "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}})
    assert items == ['spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"']


def test_cronjob_validation_words():
    items = validate_object({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "x"},
                             "spec": {"schedule": "* * *", "concurrencyPolicy": "Sometimes", "jobTemplate": {
                                 "spec": {"template": {"spec": {"restartPolicy": "Never",
                                                                "containers": [{"name": "c", "image": "i"}]}}}}}})
    assert items == ['spec.schedule: Invalid value: "* * *": expected exactly 5 fields, found 3: [* * *]',
                     'spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", "Forbid", '
                     '"Replace"']


# ---- CronJobs -----------------------------------------------------------------------------------
def cronjob(status=None, **spec) -> dict:
    return {"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": "tick", "namespace": "default", "uid": "cj-1",
                         "creationTimestamp": "2026-03-01T11:58:30Z"},
            "spec": {"schedule": "*/1 * * * *", "concurrencyPolicy": "Allow", "successfulJobsHistoryLimit": 3,
                     "failedJobsHistoryLimit": 1,
                     "jobTemplate": {"metadata": {"labels": {"app": "tick"}},
                                     "spec": {"template": {"spec": {"restartPolicy": "Never"}}}}, **spec},
            "status": status or {}}


def owned(name: str, state: str = "", start: str = "2026-03-01T11:59:00Z") -> dict:
    status = {"startTime": start}
    if state:
        status["conditions"] = [{"type": state, "status": "True"}]
        if state == "Complete":
            status["completionTime"] = start
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "namespace": "default", "uid": f"u-{name}",
                         "ownerReferences": [{"kind": "CronJob", "name": "tick", "uid": "cj-1", "controller": True}]},
            "status": status}


def test_cronjob_makes_the_job_of_the_latest_schedule_time():
    d = decide_cronjob(cronjob(), [], T0 + 5)  # 11:59 and 12:00 passed: only 12:00 runs
    scheduled = utc(2026, 3, 1, 12, 0)
    assert d.create["metadata"]["name"] == job_name(cronjob(), scheduled) == f"tick-{int(T0) // 60}"
    assert d.create["metadata"]["annotations"] == {"batch.kubernetes.io/cronjob-scheduled-timestamp":
                                                   "2026-03-01T12:00:00Z"}
    assert d.create["metadata"]["labels"] == {"app": "tick"}
    assert d.create["metadata"]["ownerReferences"][0]["uid"] == "cj-1"
    assert d.status["lastScheduleTime"] == "2026-03-01T12:00:00Z"
    again = decide_cronjob(cronjob(status=d.status), [owned(d.create["metadata"]["name"])], T0 + 30)
    assert again.create is None and again.status["active"][0]["name"] == d.create["metadata"]["name"]


def test_forbid_waits_for_the_running_job_and_replace_replaces_it():
    running = [owned("tick-1")]
    status = {"lastScheduleTime": "2026-03-01T11:59:00Z"}
    assert decide_cronjob(cronjob(status, concurrencyPolicy="Forbid"), running, T0 + 5).create is None
    d = decide_cronjob(cronjob(status, concurrencyPolicy="Replace"), running, T0 + 5)
    assert d.delete == ["tick-1"] and d.create is not None
    assert decide_cronjob(cronjob(status, concurrencyPolicy="Allow"), running, T0 + 5).delete == []


def test_history_limits_delete_the_oldest_finished_jobs():
    jobs = [owned(f"ok-{i}", "Complete", f"2026-03-01T11:0{i}:00Z") for i in range(5)]
    jobs += [owned(f"bad-{i}", "Failed", f"2026-03-01T11:0{i}:00Z") for i in range(3)]
    d = decide_cronjob(cronjob({"lastScheduleTime": "2026-03-01T12:00:00Z"}), jobs, T0 + 5)
    assert d.delete == ["ok-0", "ok-1", "bad-0", "bad-1"]
    assert d.status["lastSuccessfulTime"] == "2026-03-01T11:04:00Z"


def test_suspended_cronjob_and_a_missed_starting_deadline_make_nothing():
    assert decide_cronjob(cronjob(suspend=True), [], T0 + 5).create is None
    assert decide_cronjob(cronjob(startingDeadlineSeconds=3), [], T0 + 5).create is None
    assert decide_cronjob(cronjob(startingDeadlineSeconds=10), [], T0 + 5).create is not None


def test_saw_completed_job_event():
    d = decide_cronjob(cronjob({"active": [{"name": "tick-1"}], "lastScheduleTime": "2026-03-01T12:00:00Z"}),
                       [owned("tick-1", "Complete")], T0 + 5)
    assert ("Normal", "SawCompletedJob", "Saw completed job: tick-1, condition: Complete") in d.events
    assert "active" not in d.status


# ---- printers -----------------------------------------------------------------------------------
def test_job_row():
    obj = job(status={"startTime": "2026-03-01T11:58:00Z", "completionTime": "2026-03-01T11:59:05Z", "succeeded": 3,
                      "conditions": [{"type": "Complete", "status": "True"}]})
    obj["metadata"]["creationTimestamp"] = "2026-03-01T11:58:00Z"
    obj["spec"]["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": "u"}}
    assert job_cells(obj, T0) == ["work", "Complete", "3/3", "65s", "2m", "c", "x",
                                  "batch.kubernetes.io/controller-uid=u"]
    running = job(completions=None, parallelism=2, status={"startTime": "2026-03-01T11:59:50Z"})
    assert job_cells(running, T0)[1:4] == ["Running", "0/1 of 2", "10s"]


def test_cronjob_row():
    obj = cronjob({"active": [{"name": "a"}], "lastScheduleTime": "2026-03-01T11:59:00Z"}, suspend=False)
    assert cronjob_cells(obj, T0)[:7] == ["tick", "*/1 * * * *", "<none>", "False", 1, "60s", "90s"]


# ---- through the API server ---------------------------------------------------------------------
JOBS = "/apis/batch/v1/namespaces/default/jobs"


def test_the_api_server_makes_the_selector_and_keeps_it_on_a_put_without_it(tmp_path):
    from test_apiserver_harness import run

    manifest = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi"},
                "spec": {"template": {"metadata": {"labels": {"app": "pi"}}, "spec": {
                    "restartPolicy": "Never", "containers": [{"name": "pi", "image": "perl"}]}}}}

    async def body(api):
        made = await api.ok("POST", JOBS, manifest)
        uid = made["metadata"]["uid"]
        assert made["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
        assert made["spec"]["template"]["metadata"]["labels"]["job-name"] == "pi"
        assert (made["spec"]["completions"], made["spec"]["backoffLimit"]) == (1, 6)
        again = {**manifest, "metadata": {**manifest["metadata"],
                                          "resourceVersion": made["metadata"]["resourceVersion"]}}
        kept = await api.ok("PUT", JOBS + "/pi", again)
        assert kept["spec"]["selector"] == made["spec"]["selector"]
        assert kept["spec"]["template"]["metadata"]["labels"] == made["spec"]["template"]["metadata"]["labels"]
        status, payload, _ = await api.req("POST", JOBS, {**manifest, "metadata": {"name": "bad"}, "spec": {
            "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}})
        assert status == 422 and payload["message"] == (
            'Job.batch "bad" is invalid: spec.template.spec.restartPolicy: Required value: valid values: '
            '"OnFailure", "Never"')

    run(tmp_path, body)
