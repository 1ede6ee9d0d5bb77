"""Pod status as kubectl shows it, from literal facts: a failed start (controllers/start_failures)
and sidecars, through the v1 Pod (controllers/publish_pods) to kubectl's printPod columns."""

from __future__ import annotations

from emukube.apiserver.printers.pods import pod_cells
from emukube.controllers.podstatus import init_word
from emukube.controllers.publish_pods import PodFacts, pod_object
from emukube.controllers.start_failures import ERR_SHOWN, UNSCHEDULABLE, Failure, failure_status, image_hint, wait_after
from emukube.k8s.reasons import back_off_restarting, crash_loop_back_off, kubelet_pod
from emukube.k8s.times import epoch
from emukube.plan.workloads import PodPlan

CREATED = "2026-01-10T10:00:00Z"
NOW_TEXT = "2026-01-10T10:05:00Z"
NOW = epoch(NOW_TEXT)
SPEC = {"initContainers": [{"name": "setup", "image": "busybox"}, {"name": "migrate", "image": "busybox"}],
        "containers": [{"name": "web", "image": "nginx:1.27"}], "restartPolicy": "Always"}
ENDED = {"exitCode": 3, "startedAt": "2026-01-10T10:04:50Z", "finishedAt": "2026-01-10T10:04:51Z", "log": b"x\n"}


UID = "5f0c2d1e-8a3b-4c6d-9e0f-112233445566"


def plan(spec=None) -> PodPlan:
    return PodPlan(name="web", namespace="default", labels={"app": "web"}, spec=spec or SPEC, uid=UID)


def facts(spec=None) -> PodFacts:
    return PodFacts(namespace="default", name="web", labels={"app": "web"}, spec=spec or SPEC, node="node-1",
                    host_ip="127.0.0.1", created=CREATED)


def shown(f: Failure, now: float = NOW) -> tuple[dict, list]:
    """(the v1 Pod, kubectl get pods' NAME READY STATUS RESTARTS)."""
    pod = pod_object(facts(f.plan.spec), failure_status(f, now), NOW_TEXT)
    return pod, pod_cells(pod, now)[:4]


def init_failure(failures: int, restarts: int, policy="Always") -> Failure:
    return Failure(plan=plan({**SPEC, "restartPolicy": policy}), reason="Error", message="init container migrate "
                   "exited with 3", container="migrate", init=True, failures=failures, restarts=restarts,
                   ended=dict(ENDED), failed_at=NOW - 1)


def test_the_kubelets_back_off():
    assert [wait_after("Error", n) for n in range(1, 9)] == [0, 10, 20, 40, 80, 160, 300, 300]
    assert [wait_after("ErrImagePull", n) for n in range(1, 7)] == [10, 20, 40, 80, 160, 300]


def test_an_init_container_that_failed_once_is_init_error_and_runs_again_at_once():
    pod, cells = shown(init_failure(1, 0))
    assert cells == ["web", "0/1", "Init:Error", "0"]
    status = pod["status"]
    assert status["phase"] == "Pending"
    assert [(s["name"], s["state"]) for s in status["initContainerStatuses"]] == [
        ("setup", {"terminated": {"exitCode": 0, "reason": "Completed"}}),
        ("migrate", {"terminated": {"exitCode": 3, "reason": "Error", "startedAt": "2026-01-10T10:04:50Z",
                                    "finishedAt": "2026-01-10T10:04:51Z"}})]
    assert status["containerStatuses"][0]["state"] == {"waiting": {"reason": "PodInitializing"}}


def test_an_init_container_failing_again_is_in_crash_loop_back_off():
    pod, cells = shown(init_failure(2, 1))
    assert cells == ["web", "0/1", "Init:CrashLoopBackOff", "1 (9s ago)"]
    migrate = pod["status"]["initContainerStatuses"][1]
    assert migrate["restartCount"] == 1
    assert migrate["state"] == {"waiting": {"reason": "CrashLoopBackOff", "message":
                                            f"back-off 10s restarting failed container=migrate pod=web_default({UID})"}}
    assert migrate["lastState"]["terminated"]["exitCode"] == 3
    assert migrate["lastState"]["terminated"]["reason"] == "Error"


def test_with_restart_policy_never_a_failed_init_container_fails_the_pod():
    pod, cells = shown(init_failure(1, 0, policy="Never"))
    assert pod["status"]["phase"] == "Failed"
    assert cells[2] == "Init:Error"


START = ('failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create '
         'failed: unable to start container process: exec: "httpd": executable file not found in $PATH: unknown')


def start_failure(failures: int, restarts: int, failed_at: float, policy="Always") -> Failure:
    """The runtime refused to start the app container (runtime/pods.run_container_error)."""
    ended = {"exitCode": 128, "reason": "StartError", "message": START, "startedAt": "1970-01-01T00:00:00Z",
             "finishedAt": "2026-01-10T10:04:59Z"}
    return Failure(plan=plan({"containers": [{"name": "web", "image": "busybox"}], "restartPolicy": policy}),
                   reason="RunContainerError", message=START, container="web", failures=failures,
                   restarts=restarts, ended=ended, failed_at=failed_at)


def test_a_container_the_runtime_could_not_start_is_run_container_error_then_crash_loop_back_off():
    pod, cells = shown(start_failure(1, 0, NOW - 1))
    assert cells == ["web", "0/1", "RunContainerError", "0"]
    web = pod["status"]["containerStatuses"][0]
    assert web["state"] == {"waiting": {"reason": "RunContainerError", "message": START}}
    assert web["lastState"]["terminated"] == {"exitCode": 128, "reason": "StartError", "message": START,
                                              "startedAt": "1970-01-01T00:00:00Z", "finishedAt": "2026-01-10T10:04:59Z"}
    assert pod["status"]["phase"] == "Running"  # getPhase: a container waiting to restart

    pod, cells = shown(start_failure(2, 1, NOW - ERR_SHOWN - 1))
    assert cells[2:] == ["CrashLoopBackOff", "1 (1s ago)"]
    assert pod["status"]["containerStatuses"][0]["state"]["waiting"]["message"] == \
        f"back-off 20s restarting failed container=web pod=web_default({UID})"
    assert [wait_after("RunContainerError", n) for n in range(1, 4)] == [10, 20, 40]


def test_with_restart_policy_never_a_refused_start_fails_the_pod():
    pod, cells = shown(start_failure(1, 0, NOW - 1, policy="Never"))
    assert pod["status"]["phase"] == "Failed"
    assert cells[2] == "StartError"


def test_a_missing_image_is_err_image_pull_then_image_pull_back_off_with_the_whole_message():
    engine = "pull access denied for nosuch/app, repository does not exist or may require 'docker login': " \
             "denied: requested access to the resource is denied " + "word " * 60
    f = Failure(plan=plan(), reason="ErrImagePull", message=f'Failed to pull image "nosuch/app:1": {engine}',
                container="web", image="nosuch/app:1", failures=1, failed_at=NOW)
    pod, cells = shown(f)
    assert cells == ["web", "0/1", "ErrImagePull", "0"]
    waiting = pod["status"]["containerStatuses"][0]["state"]["waiting"]
    assert waiting == {"reason": "ErrImagePull", "message": f"{f.message}. {image_hint('nosuch/app:1')}"}
    assert "emukube load" in waiting["message"] and "--image-map nosuch/app:1=" in waiting["message"]
    pod, cells = shown(f, NOW + ERR_SHOWN)
    assert cells[2] == "ImagePullBackOff"
    waiting = pod["status"]["containerStatuses"][0]["state"]["waiting"]
    assert waiting["message"] == f'Back-off pulling image "nosuch/app:1": ErrImagePull: {f.message}. ' \
                                 f"{image_hint('nosuch/app:1')}"
    assert pod["status"]["phase"] == "Pending"
    assert [s["state"]["terminated"]["reason"] for s in pod["status"]["initContainerStatuses"]] == ["Completed"] * 2


def test_an_init_containers_missing_image_and_the_other_waiting_reasons():
    f = Failure(plan=plan(), reason="ErrImageNeverPull", container="setup", init=True, image="local/setup:1",
                message='Container image "local/setup:1" is not present with pull policy of Never', failures=1)
    pod, cells = shown(f)
    assert cells[2] == "Init:ErrImageNeverPull"
    assert pod["status"]["initContainerStatuses"][1]["state"] == {"waiting": {"reason": "PodInitializing"}}
    f = Failure(plan=plan(), reason="CreateContainerConfigError", container="web", failures=1,
                message="couldn't find key colour in ConfigMap default/settings")
    pod, cells = shown(f)
    assert cells[2] == "CreateContainerConfigError"
    assert pod["status"]["containerStatuses"][0]["state"]["waiting"]["message"] == f.message


def sidecar_pod(sidecar_ready: bool) -> dict:
    spec = {"initContainers": [{"name": "setup", "image": "busybox"},
                               {"name": "proxy", "image": "envoy", "restartPolicy": "Always"}],
            "containers": [{"name": "web", "image": "nginx"}], "restartPolicy": "Always"}
    running = {"running": {"startedAt": "2026-01-10T10:00:02Z"}}
    status = {"phase": "Running", "containers": [{"name": "web", "state": running, "ready": True, "restarts": 0,
                                                  "containerID": "docker://a"}],
              "initContainers": [{"name": "setup", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
                                 {"name": "proxy", "state": running, "ready": sidecar_ready, "restarts": 0,
                                  "containerID": "docker://b"}]}
    return pod_object(facts(spec), status, NOW_TEXT)


def test_a_sidecar_counts_in_ready_as_kubectl_counts_it():
    pod = sidecar_pod(True)
    assert pod_cells(pod, NOW)[1:3] == ["2/2", "Running"]
    assert pod["status"]["phase"] == "Running"
    conditions = {c["type"]: c["status"] for c in pod["status"]["conditions"]}
    assert conditions["Initialized"] == conditions["Ready"] == "True"
    pod = sidecar_pod(False)
    assert pod_cells(pod, NOW)[1:3] == ["1/2", "Running"]
    conditions = {c["type"]: (c["status"], c.get("message")) for c in pod["status"]["conditions"]}
    assert conditions["Initialized"][0] == "True"
    assert conditions["Ready"] == ("False", "containers with unready status: [proxy]")


def test_init_word():
    spec = {"initContainers": [{"name": "a"}, {"name": "side", "restartPolicy": "Always"}, {"name": "b"}]}
    done = {"name": "a", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
    side = {"name": "side", "state": {"running": {}}}
    assert init_word(spec, [done, side, {"name": "b", "state": {"running": {}}}]) == "Init:2/3"
    assert init_word(spec, [{"name": "a", "state": {"running": {}}}, side, {"name": "b", "state": {"waiting": {}}}]) \
        == "Init:0/3"
    assert init_word(spec, [done, side, {"name": "b", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]) \
        == "Init:CrashLoopBackOff"
    assert init_word(spec, [done, side, {"name": "b", "state": {"terminated": {"exitCode": 0}}}]) == ""


def test_init_n_of_m_then_pod_initializing_then_running():
    done = {"terminated": {"exitCode": 0, "reason": "Completed"}}
    running = {"running": {"startedAt": "2026-01-10T10:00:02Z"}}
    first = {"phase": "Init:0/2", "containers": [],
             "initContainers": [{"name": "setup", "state": running, "containerID": "docker://a"},
                                {"name": "migrate", "state": {"waiting": {"reason": "PodInitializing"}}}]}
    assert pod_cells(pod_object(facts(), first, NOW_TEXT), NOW)[1:3] == ["0/1", "Init:0/2"]
    second = {**first, "phase": "Init:1/2", "initContainers": [{"name": "setup", "state": done},
                                                              {"name": "migrate", "state": running}]}
    assert pod_cells(pod_object(facts(), second, NOW_TEXT), NOW)[1:3] == ["0/1", "Init:1/2"]
    # Both completed, the app container not made yet: the kubelet's default waiting reason.
    third = {"phase": "PodInitializing", "containers": [],
             "initContainers": [{"name": "setup", "state": done}, {"name": "migrate", "state": done}]}
    pod = pod_object(facts(), third, NOW_TEXT)
    assert pod_cells(pod, NOW)[1:3] == ["0/1", "PodInitializing"]
    assert {c["type"]: c["status"] for c in pod["status"]["conditions"]}["Initialized"] == "True"
    fourth = {"phase": "Running", "containers": [{"name": "web", "state": running, "ready": True,
                                                  "containerID": "docker://c"}],
              "initContainers": third["initContainers"]}
    assert pod_cells(pod_object(facts(), fourth, NOW_TEXT), NOW)[1:3] == ["1/1", "Running"]


def test_a_completed_init_container_keeps_its_times():
    completed = {"setup": {"exitCode": 0, "reason": "Completed", "startedAt": "2026-01-10T10:04:48.5Z",
                           "finishedAt": "2026-01-10T10:04:49.25Z"}}
    pod = pod_object(facts(), failure_status(init_failure(1, 0), NOW, completed), NOW_TEXT)
    assert pod["status"]["initContainerStatuses"][0]["state"] == {"terminated": {
        "exitCode": 0, "reason": "Completed", "startedAt": "2026-01-10T10:04:48Z", "finishedAt": "2026-01-10T10:04:49Z"}}


def test_a_pod_no_node_fits_is_pending_with_the_schedulers_condition_and_nothing_of_a_kubelet():
    why = "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, " \
          "1 node(s) had untolerated taint {dedicated: gpu}."
    f = Failure(plan=plan({"containers": [{"name": "web", "image": "nginx:1.27"}]}), reason=UNSCHEDULABLE,
                message=why, since=epoch(CREATED), failed_at=NOW)
    unplaced = PodFacts(namespace="default", name="web", labels={"app": "web"}, spec=f.plan.spec, node="",
                        host_ip="127.0.0.1", created=CREATED)
    pod = pod_object(unplaced, failure_status(f, NOW), NOW_TEXT)
    assert pod_cells(pod, NOW)[:5] == ["web", "0/1", "Pending", "0", "5m"]
    assert "nodeName" not in pod["spec"]
    assert pod["status"] == {"phase": "Pending", "qosClass": "BestEffort", "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": why,
         "lastProbeTime": None, "lastTransitionTime": CREATED}]}
    # Published again a tick later: the condition keeps its time, and a new reason changes only the message.
    later = pod_object(unplaced, failure_status(Failure(plan=f.plan, reason=UNSCHEDULABLE, message="other"), NOW),
                       "2026-01-10T10:06:00Z", previous=pod)
    assert later["status"]["conditions"][0]["lastTransitionTime"] == CREATED
    assert later["status"]["conditions"][0]["message"] == "other"


def test_the_engines_refused_start_in_containerds_words():
    from docker.errors import APIError

    from emukube.runtime.pods import run_container_error

    why = ('failed to create shim task: OCI runtime create failed: runc create failed: unable to start container '
           'process: exec: "httpd": executable file not found in $PATH: unknown')
    failed = run_container_error(APIError("400 Client Error", explanation=why), "web")
    assert failed is not None and (failed.reason, failed.container, failed.init) == ("RunContainerError", "web", False)
    assert failed.message == START and failed.ended["message"] == START
    assert (failed.ended["exitCode"], failed.ended["reason"], failed.ended["startedAt"]) == \
        (128, "StartError", "1970-01-01T00:00:00Z")
    assert run_container_error(APIError("409 Client Error", explanation="Conflict. The name is in use"), "web") is None


def test_the_kubelets_back_off_words():
    pod = kubelet_pod("web", "default", UID)
    assert [crash_loop_back_off(s, "web", pod) for s in (10, 80, 300)] == [
        f"back-off {d} restarting failed container=web pod=web_default({UID})" for d in ("10s", "1m20s", "5m0s")]
    # the event is worded the same at every wait: its Event counts them ("x4 over 2m")
    assert back_off_restarting("web", pod) == f"Back-off restarting failed container web in pod web_default({UID})"
