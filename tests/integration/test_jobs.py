"""batch/v1 Jobs and CronJobs applied by `emukube up`, driven and read with the real kubectl;
and a container restart that starts from a fresh filesystem in the same pod."""

from __future__ import annotations

import pytest
from conftest import HERE, wait_until
from kubectl_tools import Kube

MANIFEST = HERE / "manifests" / "jobs.yaml"
MAIN = 0  # containerStatuses are sorted by name: "main" before "sidecar"


@pytest.fixture(scope="module")
def kube(cluster, tmp_path_factory) -> Kube:
    return Kube(cluster.name, tmp_path_factory.mktemp("kube"))


def conditions(kube: Kube, job: str) -> dict[str, dict]:
    status = kube.obj("get", "job", job).get("status") or {}
    return {c["type"]: c for c in status.get("conditions") or [] if c.get("status") == "True"}


def test_job_with_a_failing_first_try_completes(kube):
    kube("wait", "--for=condition=complete", "job/work", "--timeout=120s", timeout=130)
    job = kube.obj("get", "job", "work")
    status = job["status"]
    assert (status["succeeded"], status["failed"]) == (3, 1), status
    assert "active" not in status and status["completionTime"] >= status["startTime"]
    complete = next(c for c in status["conditions"] if c["type"] == "Complete")
    assert (complete["reason"], complete["message"]) == ("CompletionsReached",
                                                         "Reached expected number of succeeded pods")
    uid = job["metadata"]["uid"]
    assert job["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    header, row = kube.lines("get", "job", "work")
    assert header.split() == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    assert row.split()[:3] == ["work", "Complete", "3/3"]
    # Its pods stay, finished, as Kubernetes keeps them: three Completed, one Error.
    pods = kube.lines("get", "pods", "-l", "job-name=work", "--no-headers")
    assert sorted(line.split()[2] for line in pods) == ["Completed", "Completed", "Completed", "Error"], pods
    owner = kube.obj("get", "pod", pods[0].split()[0])["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["uid"]) == ("Job", "work", uid)
    logs = kube("logs", "job/work").stdout
    assert logs.startswith(("done by work-", "first try fails")), logs


def test_backoff_limit_exceeded_fails_the_job(kube):
    wait_until(lambda: "Failed" in conditions(kube, "doomed"), "doomed Failed", timeout=90)
    failed = conditions(kube, "doomed")["Failed"]
    assert (failed["reason"], failed["message"]) == ("BackoffLimitExceeded",
                                                     "Job has reached the specified backoff limit")
    status = kube.obj("get", "job", "doomed")["status"]
    assert status["failed"] == 2 and "succeeded" not in status and "completionTime" not in status
    assert kube.lines("get", "job", "doomed", "--no-headers")[0].split()[:3] == ["doomed", "Failed", "0/1"]
    assert kube("logs", "job/doomed").stdout == "doomed\n"
    events = kube("get", "events", "--field-selector", "involvedObject.name=doomed", "-o",
                  "jsonpath={.items[*].reason}").stdout.split()
    assert "BackoffLimitExceeded" in events and "SuccessfulCreate" in events


def test_active_deadline_stops_the_job(kube):
    wait_until(lambda: "Failed" in conditions(kube, "slow"), "slow Failed", timeout=60)
    failed = conditions(kube, "slow")["Failed"]
    assert (failed["reason"], failed["message"]) == ("DeadlineExceeded",
                                                     "Job was active longer than specified deadline")
    wait_until(lambda: not kube.lines("get", "pods", "-l", "job-name=slow", "--no-headers"), "slow's pod removed",
               timeout=60)


def test_ttl_after_finished_and_deleting_a_job_remove_its_pods(kube):
    wait_until(lambda: kube("get", "job", "brief", check=False).returncode == 1, "brief deleted", timeout=60)
    wait_until(lambda: not kube.lines("get", "pods", "-l", "app=brief", "--no-headers"), "brief's pods gone",
               timeout=60)
    wait_until(lambda: "Failed" in conditions(kube, "doomed"), "doomed Failed", timeout=90)
    assert kube.lines("get", "pods", "-l", "job-name=doomed", "--no-headers")
    kube("delete", "job", "doomed")
    wait_until(lambda: not kube.lines("get", "pods", "-l", "job-name=doomed", "--no-headers"), "doomed's pods gone",
               timeout=60)


def test_a_never_pod_that_ends_stays_error(kube):
    wait_until(lambda: kube.lines("get", "pod", "once", "--no-headers")[0].split()[2] == "Error", "once in Error")
    pod = kube.obj("get", "pod", "once")
    assert pod["status"]["phase"] == "Failed"
    state = pod["status"]["containerStatuses"][0]
    assert state["restartCount"] == 0 and state["state"]["terminated"]["exitCode"] == 2


def test_cronjob_listed_and_run_by_hand(kube):
    header, row = kube.lines("get", "cronjobs")
    assert header.split() == ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST", "SCHEDULE", "AGE"]
    assert row.split()[:8] == ["tick", "*/1", "*", "*", "*", "*", "<none>", "False"], row
    kube("create", "job", "--from=cronjob/tick", "tick-by-hand")
    kube("wait", "--for=condition=complete", "job/tick-by-hand", "--timeout=60s", timeout=70)
    job = kube.obj("get", "job", "tick-by-hand")
    assert job["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual"
    assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    assert kube("logs", "job/tick-by-hand").stdout.startswith("tick at ")


def test_cronjob_runs_on_its_schedule(kube):
    """One real run of `*/1 * * * *`: due within 60 s of the cluster's start."""
    def scheduled():
        for job in kube.obj("get", "jobs")["items"]:
            if "batch.kubernetes.io/cronjob-scheduled-timestamp" in (job["metadata"].get("annotations") or {}):
                return job
        return None

    job = wait_until(scheduled, "a Job of the schedule", timeout=75, every=1)
    stamp = job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"]
    assert stamp.endswith(":00Z"), stamp  # a whole minute, as the schedule says
    name = job["metadata"]["name"]
    kube("wait", "--for=condition=complete", f"job/{name}", "--timeout=60s", timeout=70)
    status = wait_until(lambda: (s := kube.obj("get", "cronjob", "tick").get("status") or {}).get(
        "lastSuccessfulTime") and s, "lastSuccessfulTime", timeout=30)
    assert status["lastScheduleTime"] == stamp
    row = kube.lines("get", "cronjob", "tick", "--no-headers")[0].split()
    assert row[:8] == ["tick", "*/1", "*", "*", "*", "*", "<none>", "False"] and row[9].endswith("s"), row


@pytest.mark.parametrize("pod", ["phoenix", "phoenix-pair"])
def test_liveness_restart_has_a_fresh_filesystem_and_the_same_volume(kube, pod):
    kube("wait", "--for=condition=Ready", f"pod/{pod}", "--timeout=60s", timeout=70)
    before = kube.obj("get", "pod", pod)
    first_log = kube("logs", pod, "-c", "main").stdout
    kube("exec", pod, "-c", "main", "--", "sh", "-c",
         "echo layer > /tmp/scratch; echo volume > /data/kept; touch /tmp/dead")
    old_id = before["status"]["containerStatuses"][MAIN]["containerID"]

    def restarted() -> bool:
        now = kube.obj("get", "pod", pod)["status"]["containerStatuses"][MAIN]
        return (now["restartCount"] == 1 and "running" in now["state"] and now["containerID"] != old_id
                and kube("exec", pod, "-c", "main", "--", "true", check=False).returncode == 0)

    wait_until(restarted, f"{pod} restarted as a new container, running", timeout=90)
    after = kube.obj("get", "pod", pod)
    assert after["status"]["podIP"] == before["status"]["podIP"]
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    status = after["status"]["containerStatuses"][MAIN]
    # a sidecar is not restarted with it
    assert after["status"]["containerStatuses"][1:] == before["status"]["containerStatuses"][1:]
    last = status["lastState"]["terminated"]
    # netexec ends cleanly on SIGTERM: the kubelet's words for what the runtime reports
    assert last["reason"] == ("Completed" if last["exitCode"] == 0 else "Error"), last
    assert last["finishedAt"] >= last["startedAt"]
    files = kube("exec", pod, "-c", "main", "--", "sh", "-c", "ls /tmp; cat /data/kept").stdout.split()
    assert files == ["volume"], files  # /tmp/scratch and /tmp/dead went with the old container
    previous = kube("logs", pod, "-c", "main", "--previous").stdout
    assert previous.startswith(first_log) and "shutting down" in previous  # to its end (SIGTERM)
    # (stdout and netexec's stderr lines may come in either order)
    runs = [line for line in kube("logs", pod, "-c", "main").stdout.splitlines() if line.startswith("run ")]
    assert len(runs) == 1 and runs[0] not in first_log, runs
