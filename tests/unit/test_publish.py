"""What the controller writes to the API server: literal facts in, exact Kubernetes objects out."""

from __future__ import annotations

import copy
import re

import pytest

from emukube.controllers.publish import (
    Action,
    aggregate_events,
    as_stored,
    diff,
    event_object,
    node_object,
    status_only,
)
from emukube.controllers.publish_pods import (
    PodFacts,
    earlier_pod,
    kubelet_phase,
    made_at,
    pod_object,
    qos_class,
    stored_labels,
)
from emukube.controllers.publish_workloads import deployment_revision, replica_set_objects, workload_status
from emukube.plan.api_access import volume_name
from emukube.plan.nodes import Node
from emukube.plan.workloads import template_hash

CREATED = "2026-01-10T10:00:00Z"
STARTED = "2026-01-10T10:00:02.123456789Z"
NOW = "2026-01-10T10:05:00Z"
LATER = "2026-01-10T10:06:00Z"
CID = "docker://" + "a" * 64
WEB_SPEC = {"containers": [{"name": "web", "image": "nginx:1.27"}], "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30}


def running(name="web", ready=True, restarts=0, image="nginx:1.27") -> dict:
    """One entry of pod_status()["containers"], as controller/podstatus.py makes it."""
    return {"name": name, "image": image, "containerID": CID, "restarts": restarts, "ready": ready,
            "state": {"running": {"startedAt": STARTED}}}


def web_facts(**kw) -> PodFacts:
    base = dict(namespace="default", name="web-hash123456-bcdfg", labels={"app": "web", "pod-template-hash": "hash123456"},
                spec=WEB_SPEC, owner="Deployment/web", template_hash="hash123456", ip="10.3.0.7", node="node-1",
                host_ip="127.0.0.1", created=CREATED, owner_uid="uid-rs")
    base.update(kw)
    return PodFacts(**base)


def conditions(pod: dict) -> dict:
    return {c["type"]: (c["status"], c.get("reason", ""), c.get("message", ""), c["lastTransitionTime"])
            for c in pod["status"]["conditions"]}


# ---- pods ----------------------------------------------------------------------------------
def test_a_ready_deployment_pod_is_the_whole_v1_pod():
    ACCESS = volume_name("default", "web-hash123456-bcdfg")
    assert re.fullmatch(r"kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}", ACCESS)
    status = {"ready": True, "phase": "Running", "restarts": 0, "ip": "10.3.0.7", "reason": "", "node": "node-1",
              "containers": [running()]}
    # Created without the ServiceAccount plugin's volume, which the API server's admission adds
    # (or not, as the pod's account says); written again as the stored pod has it.
    assert "volumes" not in pod_object(web_facts(), status, NOW)["spec"]
    pod = pod_object(web_facts(), status, NOW, previous={"spec": {"volumes": [{"name": ACCESS, "projected": {}}]}})
    assert pod == {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-hash123456-bcdfg", "namespace": "default", "generateName": "web-hash123456-",
                     "labels": {"app": "web", "pod-template-hash": "hash123456"},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-hash123456",
                                          "uid": "uid-rs", "controller": True, "blockOwnerDeletion": True}],
                     "creationTimestamp": CREATED},
        # as the API server stored it when the pod was made: defaulted (the template's spec is not)
        "spec": {"containers": [{"name": "web", "image": "nginx:1.27", "imagePullPolicy": "IfNotPresent",
                                 "terminationMessagePath": "/dev/termination-log",
                                 "terminationMessagePolicy": "File",
                                 "volumeMounts": [{"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                                                   "name": ACCESS, "readOnly": True}]}],
                 # the ServiceAccount admission plugin's volume, as a 1.35 API server writes it
                 "volumes": [{"name": ACCESS, "projected": {"defaultMode": 420, "sources": [
                     {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                     {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}], "name": "kube-root-ca.crt"}},
                     {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                                                 "path": "namespace"}]}}]}}],
                 "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
                 "schedulerName": "default-scheduler", "securityContext": {}, "enableServiceLinks": True,
                 "priority": 0, "preemptionPolicy": "PreemptLowerPriority", "serviceAccountName": "default",
                 "serviceAccount": "default", "nodeName": "node-1",
                 "tolerations": [{"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
                                 for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")]},
        "status": {
            "phase": "Running",
            "conditions": [
                {"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": when}
                for t, when in [("PodReadyToStartContainers", CREATED), ("Initialized", CREATED),
                                ("Ready", "2026-01-10T10:00:02Z"), ("ContainersReady", "2026-01-10T10:00:02Z"),
                                ("PodScheduled", CREATED)]],
            "hostIP": "127.0.0.1", "hostIPs": [{"ip": "127.0.0.1"}],
            "podIP": "10.3.0.7", "podIPs": [{"ip": "10.3.0.7"}], "startTime": CREATED,
            "containerStatuses": [{"name": "web", "image": "nginx:1.27", "imageID": "", "ready": True, "started": True,
                                   "restartCount": 0, "state": {"running": {"startedAt": "2026-01-10T10:00:02Z"}},
                                   "lastState": {}, "containerID": CID}],
            "qosClass": "BestEffort"}}
    assert WEB_SPEC == {"containers": [{"name": "web", "image": "nginx:1.27"}], "restartPolicy": "Always",
                        "terminationGracePeriodSeconds": 30}  # not changed in place


def test_a_pod_its_proxies_do_not_carry_yet_is_not_ready_though_its_containers_are():
    status = {"ready": False, "held": True, "phase": "Running", "restarts": 0, "ip": "10.3.0.7", "reason": "",
              "node": "node-1", "containers": [running()]}
    conditions = {c["type"]: c for c in pod_object(web_facts(), status, NOW)["status"]["conditions"]}
    assert conditions["ContainersReady"]["status"] == "True"
    ready = conditions["Ready"]
    assert (ready["status"], ready["reason"]) == ("False", "ReadinessGatesNotReady"), ready
    assert "proxies" in ready["message"]


def test_an_unchanged_pod_gives_an_equal_dict_and_a_change_is_stamped_now():
    facts = web_facts(spec={**WEB_SPEC, "containers": [{"name": "web", "image": "nginx", "readinessProbe": {}}]})
    unready = {"phase": "Running", "containers": [running(ready=False)]}
    first = pod_object(facts, unready, NOW)
    assert conditions(first)["Ready"] == ("False", "ContainersNotReady", "containers with unready status: [web]",
                                          CREATED)
    again = pod_object(facts, unready, LATER, previous=first)
    assert again == first
    ready = pod_object(facts, {"phase": "Running", "containers": [running(ready=True)]}, LATER, previous=again)
    assert conditions(ready)["Ready"] == ("True", "", "", LATER)
    assert conditions(ready)["PodScheduled"] == ("True", "", "", CREATED)
    # First published while ready, with a readiness probe: when it became ready is unknown.
    assert conditions(pod_object(facts, {"containers": [running()]}, NOW))["Ready"][3] == NOW


def test_a_crash_looping_container_waits_with_its_last_termination():
    crashed = {"name": "web", "image": "nginx:1.27", "containerID": CID, "restarts": 4, "ready": False,
               "state": {"waiting": {"reason": "CrashLoopBackOff",
                                     "message": "back-off 40s restarting failed container=web pod=web-x"}},
               "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": STARTED,
                                            "finishedAt": "2026-01-10T10:00:03.5Z"}}}
    pod = pod_object(web_facts(), {"phase": "CrashLoopBackOff", "containers": [crashed]}, NOW)
    assert pod["status"]["phase"] == "Running"
    assert pod["status"]["containerStatuses"] == [{
        "name": "web", "image": "nginx:1.27", "imageID": "", "ready": False, "started": False, "restartCount": 4,
        "state": {"waiting": {"reason": "CrashLoopBackOff",
                              "message": "back-off 40s restarting failed container=web pod=web-x"}},
        "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": "2026-01-10T10:00:02Z",
                                     "finishedAt": "2026-01-10T10:00:03Z"}},
        "containerID": CID}]
    assert conditions(pod)["ContainersReady"][:3] == ("False", "ContainersNotReady",
                                                       "containers with unready status: [web]")


def test_an_init_container_running():
    spec = {"initContainers": [{"name": "migrate", "image": "busybox"}, {"name": "seed", "image": "busybox"},
                               {"name": "warm", "image": "busybox"}],
            "containers": [{"name": "web", "image": "nginx"}, {"name": "log", "image": "busybox"}],
            "restartPolicy": "Always"}
    pod = pod_object(web_facts(spec=spec), {"phase": "Init:1/3", "containers": []}, NOW)
    status = pod["status"]
    assert status["phase"] == "Pending"
    assert [(s["name"], s["state"], s["ready"], s["started"]) for s in status["initContainerStatuses"]] == [
        ("migrate", {"terminated": {"exitCode": 0, "reason": "Completed"}}, True, False),
        ("seed", {"running": {}}, False, True),
        ("warm", {"waiting": {"reason": "PodInitializing"}}, False, False)]
    # Sorted by name, as the kubelet sorts them.
    assert [(s["name"], s["state"]) for s in status["containerStatuses"]] == [
        ("log", {"waiting": {"reason": "PodInitializing"}}), ("web", {"waiting": {"reason": "PodInitializing"}})]
    assert conditions(pod)["Initialized"][:3] == ("False", "ContainersNotInitialized",
                                                   "containers with incomplete status: [seed warm]")
    assert conditions(pod)["Ready"][:3] == ("False", "ContainersNotReady", "containers with unready status: [log web]")
    # Once its app containers exist, every init container completed.
    started = pod_object(web_facts(spec=spec), {"phase": "Running", "containers": [running("web"), running("log")]},
                         NOW)
    assert started["status"]["phase"] == "Running"
    assert all(s["ready"] for s in started["status"]["initContainerStatuses"])
    assert conditions(started)["Initialized"][0] == "True"


def _ended(code: int) -> dict:
    return {"name": "job", "image": "busybox", "containerID": CID, "restarts": 0, "ready": False,
            "state": {"terminated": {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                                     "startedAt": STARTED, "finishedAt": "2026-01-10T10:00:09Z"}}}


def test_a_completed_never_pod_succeeded_and_is_not_ready():
    spec = {"containers": [{"name": "job", "image": "busybox"}], "restartPolicy": "Never"}
    facts = PodFacts(namespace="default", name="once", spec=spec, ip="10.3.0.9", node="node-1", created=CREATED)
    pod = pod_object(facts, {"phase": "Completed", "containers": [_ended(0)]}, NOW)
    assert pod["metadata"] == {"name": "once", "namespace": "default", "labels": {}, "creationTimestamp": CREATED}
    assert pod["status"]["phase"] == "Succeeded"
    assert pod["status"]["containerStatuses"][0]["state"] == {"terminated": {
        "exitCode": 0, "reason": "Completed", "startedAt": "2026-01-10T10:00:02Z",
        "finishedAt": "2026-01-10T10:00:09Z", "containerID": CID}}
    assert conditions(pod)["Ready"][:3] == ("False", "PodCompleted", "")
    assert conditions(pod)["ContainersReady"][:3] == ("False", "PodCompleted", "")
    failed = pod_object(facts, {"phase": "Error", "containers": [_ended(2)]}, NOW)
    assert failed["status"]["phase"] == "Failed"
    assert conditions(failed)["Ready"][:2] == ("False", "PodFailed")


@pytest.mark.parametrize("policy, code, phase", [
    ("Never", 0, "Succeeded"), ("Never", 1, "Failed"), ("OnFailure", 0, "Succeeded"),
    ("OnFailure", 1, "Running"), ("Always", 0, "Running"), ("Always", 1, "Running")])
def test_the_kubelets_phase_of_a_stopped_container(policy, code, phase):
    status = {"name": "job", "state": {"terminated": {"exitCode": code}}, "lastState": {}}
    assert kubelet_phase({"restartPolicy": policy}, [], [status]) == phase


def test_phase_pending_while_a_container_is_being_made_and_failed_init_with_never():
    waiting = {"name": "a", "state": {"waiting": {"reason": "ContainerCreating"}}, "lastState": {}}
    run = {"name": "b", "state": {"running": {}}, "lastState": {}}
    assert kubelet_phase({}, [], [waiting, run]) == "Pending"
    assert kubelet_phase({}, [], [run]) == "Running"
    bad_init = {"name": "i", "state": {"terminated": {"exitCode": 1}}, "lastState": {}}
    assert kubelet_phase({"restartPolicy": "Never"}, [bad_init], [waiting]) == "Failed"


def test_a_pod_not_made_yet_waits_in_container_creating():
    facts = web_facts(ip="")
    pod = pod_object(facts, {"phase": "ContainerCreating", "containers": []}, NOW)
    assert pod["status"]["phase"] == "Pending"
    assert "podIP" not in pod["status"]
    assert pod["status"]["containerStatuses"][0]["state"] == {"waiting": {"reason": "ContainerCreating"}}
    assert conditions(pod)["PodReadyToStartContainers"][0] == "False"


def test_a_terminating_pod_has_its_deletion_time_after_the_grace_period():
    pod = pod_object(web_facts(terminating_since="2026-01-10T10:04:00Z"),
                     {"phase": "Terminating", "containers": [running()]}, NOW)
    assert pod["metadata"]["deletionTimestamp"] == "2026-01-10T10:04:30Z"
    assert pod["metadata"]["deletionGracePeriodSeconds"] == 30
    assert pod["status"]["phase"] == "Running"  # the kubelet's phase, not kubectl's word


def test_statefulset_and_bare_pods_metadata():
    facts = PodFacts(namespace="data", name="db-2", labels={"app": "db"}, spec={"containers": []},
                     owner="StatefulSet/db", template_hash="h1", owner_uid="uid-sts")
    meta = pod_object(facts, {}, NOW)["metadata"]
    assert meta == {"name": "db-2", "namespace": "data",
                    "labels": {"app": "db", "controller-revision-hash": "db-h1",
                               "statefulset.kubernetes.io/pod-name": "db-2", "apps.kubernetes.io/pod-index": "2"},
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db",
                                         "uid": "uid-sts", "controller": True, "blockOwnerDeletion": True}]}
    run = pod_object(PodFacts(namespace="default", name="tmp", owner="Run/tmp"), {}, NOW)["metadata"]
    assert "ownerReferences" not in run and "generateName" not in run
    rs = pod_object(PodFacts(namespace="default", name="rs-bcdfg", owner="ReplicaSet/rs"), {}, NOW)["metadata"]
    assert rs["generateName"] == "rs-"
    assert rs["ownerReferences"][0]["name"] == "rs" and "uid" not in rs["ownerReferences"][0]


@pytest.mark.parametrize("containers, qos", [
    ([{}], "BestEffort"),
    ([{"resources": {"requests": {"cpu": "0"}}}], "BestEffort"),
    ([{"resources": {"requests": {"memory": "64Mi"}}}], "Burstable"),
    ([{"resources": {"limits": {"cpu": "500m", "memory": "128Mi"}}}], "Guaranteed"),  # requests default to limits
    ([{"resources": {"limits": {"cpu": "0.5", "memory": "128Mi"}, "requests": {"cpu": "500m", "memory": "128Mi"}}}],
     "Guaranteed"),
    ([{"resources": {"limits": {"cpu": "1", "memory": "128Mi"}, "requests": {"cpu": "500m"}}}], "Burstable"),
    ([{"resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}, {}], "Burstable"),
    ([{"resources": {"limits": {"cpu": "1"}}}], "Burstable"),
])
def test_qos_class(containers, qos):
    assert qos_class({"containers": containers}) == qos


def test_qos_counts_init_containers_and_pod_level_resources():
    guaranteed = {"resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}
    assert qos_class({"containers": [guaranteed], "initContainers": [{}]}) == "Burstable"
    assert qos_class({"containers": [{}], "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}) == "Guaranteed"


# ---- workloads -----------------------------------------------------------------------------
WEB_TEMPLATE = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}
OLD_TEMPLATE = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx:1"}]}}
NEW, OLD = template_hash(WEB_TEMPLATE), template_hash(OLD_TEMPLATE)


def deployment(replicas=3, generation=2, **spec) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "generation": generation, "uid": "uid-web",
                         "annotations": {"kubernetes.io/change-cause": "image nginx:2"}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}}, "template": WEB_TEMPLATE,
                     **spec}}


def dpod(thash: str, n: int, ready: bool, since: str = CREATED, terminating: bool = False) -> dict:
    """A Deployment's pod as pod_object publishes it (only what the status reads)."""
    meta = {"name": f"web-{thash}-{n}", "namespace": "default",
            "labels": {"app": "web", "pod-template-hash": thash}, "creationTimestamp": CREATED,
            "ownerReferences": [{"kind": "ReplicaSet", "name": f"web-{thash}", "controller": True}]}
    if terminating:
        meta["deletionTimestamp"] = NOW
    cond = {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": since}
    return {"metadata": meta, "spec": {"containers": OLD_TEMPLATE["spec"]["containers"]},
            "status": {"phase": "Running", "conditions": [cond]}}


def rollout_status(obj: dict) -> tuple[str, bool]:
    """kubectl's DeploymentStatusViewer and StatefulSetStatusViewer (rollout_status.go)."""
    spec, st, name = obj["spec"], obj["status"], obj["metadata"]["name"]
    if obj["kind"] == "Deployment":
        if obj["metadata"]["generation"] > st.get("observedGeneration", 0):
            return "Waiting for deployment spec update to be observed...", False
        progressing = next((c for c in st.get("conditions", []) if c["type"] == "Progressing"), {})
        if progressing.get("reason") == "ProgressDeadlineExceeded":
            return f'deployment "{name}" exceeded its progress deadline', False
        if st.get("updatedReplicas", 0) < spec["replicas"]:
            return (f'Waiting for deployment "{name}" rollout to finish: {st.get("updatedReplicas", 0)} out of '
                    f'{spec["replicas"]} new replicas have been updated...'), False
        if st.get("replicas", 0) > st.get("updatedReplicas", 0):
            return (f'Waiting for deployment "{name}" rollout to finish: '
                    f'{st["replicas"] - st["updatedReplicas"]} old replicas are pending termination...'), False
        if st.get("availableReplicas", 0) < st.get("updatedReplicas", 0):
            return (f'Waiting for deployment "{name}" rollout to finish: {st.get("availableReplicas", 0)} of '
                    f'{st["updatedReplicas"]} updated replicas are available...'), False
        return f'deployment "{name}" successfully rolled out', True
    if not st.get("observedGeneration") or obj["metadata"]["generation"] > st["observedGeneration"]:
        return "Waiting for statefulset spec update to be observed...", False
    if st.get("readyReplicas", 0) < spec["replicas"]:
        return f"Waiting for {spec['replicas'] - st.get('readyReplicas', 0)} pods to be ready...", False
    rolling = (spec.get("updateStrategy") or {}).get("rollingUpdate")
    if rolling is not None:
        want = spec["replicas"] - rolling.get("partition", 0)
        if st.get("updatedReplicas", 0) < want:
            return (f"Waiting for partitioned roll out to finish: {st.get('updatedReplicas', 0)} out of {want} "
                    "new pods have been updated..."), False
        return f"partitioned roll out complete: {st.get('updatedReplicas', 0)} new pods have been updated...", True
    if st["updateRevision"] != st["currentRevision"]:
        return (f"waiting for statefulset rolling update to complete {st.get('updatedReplicas', 0)} pods at "
                f"revision {st['updateRevision']}..."), False
    return f"statefulset rolling update complete {st['currentReplicas']} pods at revision {st['currentRevision']}...", True


def test_a_deployment_rollout_half_way_then_done():
    d = deployment()
    previous = {"observedGeneration": 1, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3,
                "availableReplicas": 3, "conditions": [
                    {"type": "Available", "status": "True", "lastUpdateTime": CREATED, "lastTransitionTime": CREATED,
                     "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability."},
                    {"type": "Progressing", "status": "True", "lastUpdateTime": CREATED,
                     "lastTransitionTime": CREATED, "reason": "NewReplicaSetAvailable",
                     "message": f'ReplicaSet "web-{OLD}" has successfully progressed.'}]}
    # The template changed: the new ReplicaSet is created, no new pod yet.
    changed = workload_status(d, [dpod(OLD, 0, True), dpod(OLD, 1, True), dpod(OLD, 2, True)], NOW, previous)
    assert changed == {
        "observedGeneration": 2, "replicas": 3, "readyReplicas": 3, "availableReplicas": 3, "unavailableReplicas": 3,
        "conditions": [
            previous["conditions"][0],
            {"type": "Progressing", "status": "True", "lastUpdateTime": NOW, "lastTransitionTime": CREATED,
             "reason": "NewReplicaSetCreated", "message": f'Created new replica set "web-{NEW}"'}]}
    assert rollout_status({**d, "status": changed}) == (
        'Waiting for deployment "web" rollout to finish: 0 out of 3 new replicas have been updated...', False)
    pods = [dpod(OLD, 1, True), dpod(OLD, 2, True), dpod(NEW, 3, True), dpod(NEW, 4, False),
            dpod(OLD, 0, True, terminating=True)]
    half = workload_status(d, pods, LATER, changed)
    assert half == {
        "observedGeneration": 2, "replicas": 4, "updatedReplicas": 2, "readyReplicas": 3, "availableReplicas": 3,
        "unavailableReplicas": 2,
        "conditions": [
            previous["conditions"][0],
            {"type": "Progressing", "status": "True", "lastUpdateTime": LATER, "lastTransitionTime": CREATED,
             "reason": "ReplicaSetUpdated", "message": f'ReplicaSet "web-{NEW}" is progressing.'}]}
    assert rollout_status({**d, "status": half}) == (
        'Waiting for deployment "web" rollout to finish: 2 out of 3 new replicas have been updated...', False)
    assert workload_status(d, pods, "2026-01-10T10:07:00Z", half) == half  # no progress: nothing changes
    pods = [dpod(OLD, 2, True), dpod(NEW, 3, True), dpod(NEW, 4, True), dpod(NEW, 5, True)]
    st = workload_status(d, pods, LATER, half)
    assert rollout_status({**d, "status": st}) == (
        'Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...', False)
    st = workload_status(d, pods[1:3] + [dpod(NEW, 5, False)], LATER, st)
    assert rollout_status({**d, "status": st}) == (
        'Waiting for deployment "web" rollout to finish: 2 of 3 updated replicas are available...', False)
    done = workload_status(d, pods[1:], LATER, st)
    assert done["conditions"][-1] == {
        "type": "Progressing", "status": "True", "lastUpdateTime": LATER, "lastTransitionTime": CREATED,
        "reason": "NewReplicaSetAvailable", "message": f'ReplicaSet "web-{NEW}" has successfully progressed.'}
    assert "unavailableReplicas" not in done
    assert rollout_status({**d, "status": done}) == ('deployment "web" successfully rolled out', True)
    assert rollout_status({**d, "metadata": {**d["metadata"], "generation": 3}, "status": done}) == (
        "Waiting for deployment spec update to be observed...", False)


def test_a_new_deployment_is_unavailable_then_available():
    d = deployment(replicas=2, generation=1)
    first = workload_status(d, [], NOW)
    assert first == {"observedGeneration": 1, "unavailableReplicas": 2, "conditions": [
        {"type": "Available", "status": "False", "lastUpdateTime": NOW, "lastTransitionTime": NOW,
         "reason": "MinimumReplicasUnavailable", "message": "Deployment does not have minimum availability."},
        {"type": "Progressing", "status": "True", "lastUpdateTime": NOW, "lastTransitionTime": NOW,
         "reason": "NewReplicaSetCreated", "message": f'Created new replica set "web-{NEW}"'}]}
    up = workload_status(d, [dpod(NEW, 1, True), dpod(NEW, 2, True)], LATER, first)
    assert [(c["type"], c["status"], c["reason"], c["lastTransitionTime"]) for c in up["conditions"]] == [
        ("Available", "True", "MinimumReplicasAvailable", LATER),
        ("Progressing", "True", "NewReplicaSetAvailable", NOW)]


def test_min_ready_seconds_and_the_progress_deadline():
    d = deployment(replicas=1, generation=1, minReadySeconds=90, progressDeadlineSeconds=60)
    st = workload_status(d, [dpod(NEW, 1, True, since="2026-01-10T10:04:00Z")], NOW)
    assert (st["readyReplicas"], st.get("availableReplicas", 0)) == (1, 0)
    assert st["conditions"][0]["status"] == "False"  # maxUnavailable of 25% of 1 is 0
    stuck = workload_status(d, [dpod(NEW, 1, False)], "2026-01-10T10:10:00Z", {"replicas": 1, "updatedReplicas": 1,
                                                                              "conditions": [
        {"type": "Progressing", "status": "True", "lastUpdateTime": NOW, "lastTransitionTime": NOW,
         "reason": "ReplicaSetUpdated", "message": f'ReplicaSet "web-{NEW}" is progressing.'}]})
    assert stuck["conditions"][-1]["reason"] == "ProgressDeadlineExceeded"
    assert stuck["conditions"][-1]["message"] == f'ReplicaSet "web-{NEW}" has timed out progressing.'
    assert rollout_status({**d, "status": stuck}) == ('deployment "web" exceeded its progress deadline', False)


def spod(rev: str, n: int, ready: bool = True) -> dict:
    return {"metadata": {"name": f"db-{n}", "namespace": "default",
                         "labels": {"app": "db", "controller-revision-hash": rev},
                         "ownerReferences": [{"kind": "StatefulSet", "name": "db", "controller": True}]},
            "status": {"phase": "Running", "conditions": [
                {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": CREATED}]}}


def test_a_statefulset_with_a_partition():
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "default",
                                                                         "generation": 3},
           "spec": {"replicas": 3, "template": WEB_TEMPLATE,
                    "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}}}
    new, old = f"db-{NEW}", f"db-{OLD}"
    previous = {"currentRevision": old, "updateRevision": old}
    st = workload_status(sts, [spod(old, 0), spod(old, 1), spod(new, 2)], NOW, previous)
    assert st == {"observedGeneration": 3, "replicas": 3, "readyReplicas": 3, "currentReplicas": 2,
                  "updatedReplicas": 1, "currentRevision": old, "updateRevision": new, "availableReplicas": 3}
    assert rollout_status({**sts, "status": st}) == (
        "Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated...", False)
    st = workload_status(sts, [spod(old, 0), spod(new, 1), spod(new, 2)], NOW, st)
    assert (st["currentRevision"], st["currentReplicas"], st["updatedReplicas"]) == (old, 1, 2)
    assert rollout_status({**sts, "status": st}) == (
        "partitioned roll out complete: 2 new pods have been updated...", True)


def test_a_statefulset_rolling_update_completes_to_the_new_revision():
    sts = {"kind": "StatefulSet", "metadata": {"name": "db", "generation": 1},
           "spec": {"replicas": 2, "template": WEB_TEMPLATE}}
    new, old = f"db-{NEW}", f"db-{OLD}"
    st = workload_status(sts, [spod(old, 0), spod(new, 1, ready=False)], NOW)
    assert (st["currentRevision"], st["updateRevision"], st["readyReplicas"]) == (old, new, 1)
    assert rollout_status({**sts, "status": st}) == ("Waiting for 1 pods to be ready...", False)
    st = workload_status(sts, [spod(new, 0), spod(new, 1)], NOW, st)
    assert (st["currentRevision"], st["currentReplicas"]) == (new, 2)
    assert rollout_status({**sts, "status": st}) == (
        f"statefulset rolling update complete 2 pods at revision {new}...", True)
    assert workload_status(sts, [], NOW) == {"observedGeneration": 1, "replicas": 0, "currentRevision": new,
                                             "updateRevision": new, "availableReplicas": 0}


def test_a_bare_replicaset_status():
    rs = {"kind": "ReplicaSet", "metadata": {"name": "front", "namespace": "default", "generation": 4},
          "spec": {"replicas": 2, "template": {"metadata": {"labels": {"tier": "front"}}}}}
    pods = [{"metadata": {"namespace": "default", "labels": {"tier": "front"},
                          "ownerReferences": [{"kind": "ReplicaSet", "name": "front", "controller": True}]},
             "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}]}},
            {"metadata": {"namespace": "other", "labels": {"tier": "front"},
                          "ownerReferences": [{"kind": "ReplicaSet", "name": "front", "controller": True}]}}]
    assert workload_status(rs, pods, NOW) == {"replicas": 1, "fullyLabeledReplicas": 1, "observedGeneration": 4}


# ---- ReplicaSets ---------------------------------------------------------------------------
def test_the_replicasets_of_a_deployment_through_a_rollout_and_a_rollback():
    old_d = deployment(generation=1)
    old_d["spec"]["template"] = OLD_TEMPLATE
    first = replica_set_objects(old_d, [dpod(OLD, 1, True)], [], NOW)
    assert first == [{
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": f"web-{OLD}", "namespace": "default", "labels": {"app": "web", "pod-template-hash": OLD},
                     "annotations": {"kubernetes.io/change-cause": "image nginx:2",
                                     "deployment.kubernetes.io/desired-replicas": "3",
                                     "deployment.kubernetes.io/max-replicas": "4",
                                     "deployment.kubernetes.io/revision": "1"},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                          "uid": "uid-web", "controller": True, "blockOwnerDeletion": True}]},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web", "pod-template-hash": OLD}},
                 "template": {"metadata": {"labels": {"app": "web", "pod-template-hash": OLD}},
                              "spec": OLD_TEMPLATE["spec"]}},
        "status": {"replicas": 1, "fullyLabeledReplicas": 1, "readyReplicas": 1, "availableReplicas": 1,
                   "observedGeneration": 1}}]
    assert replica_set_objects(old_d, [dpod(OLD, 1, True)], first, NOW) == first  # stable
    d = deployment()
    pods = [dpod(OLD, 1, True), dpod(NEW, 2, False)]
    both = replica_set_objects(d, pods, first, NOW)
    assert [(rs["metadata"]["name"], rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
             rs["spec"]["replicas"], rs["status"]["replicas"]) for rs in both] == [
        (f"web-{OLD}", "1", 1, 1), (f"web-{NEW}", "2", 1, 1)]  # mid-rollout: grown as its pods come
    assert both[0]["spec"]["template"] == first[0]["spec"]["template"]
    assert deployment_revision(both) == "2"
    done = replica_set_objects(d, [dpod(NEW, 2, True)], both, NOW)
    assert [(rs["metadata"]["name"], rs["spec"]["replicas"]) for rs in done] == [(f"web-{OLD}", 0), (f"web-{NEW}", 3)]
    # kubectl rollout undo: the old template is current again, renumbered, its old number kept.
    back = replica_set_objects(old_d, [dpod(OLD, 3, True)], done, NOW)
    assert [(rs["metadata"]["name"], rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
             rs["metadata"]["annotations"].get("deployment.kubernetes.io/revision-history"))
            for rs in back] == [(f"web-{NEW}", "2", None), (f"web-{OLD}", "3", "1")]


def test_old_templates_without_a_replicaset_and_the_history_limit():
    d = deployment(revisionHistoryLimit=1)
    pods = [dpod("aaaa", 1, True), dpod("bbbb", 2, True)]
    made = replica_set_objects(d, pods, [], NOW)
    assert [rs["metadata"]["name"] for rs in made] == ["web-aaaa", "web-bbbb", f"web-{NEW}"]
    assert made[0]["spec"]["template"]["metadata"]["labels"] == {"app": "web", "pod-template-hash": "aaaa"}
    assert "nodeName" not in made[0]["spec"]["template"]["spec"]
    kept = replica_set_objects(d, [], made, NOW)  # both old ones empty: only the newest is kept
    assert [rs["metadata"]["name"] for rs in kept] == ["web-bbbb", f"web-{NEW}"]


# ---- nodes ---------------------------------------------------------------------------------
def test_a_node_of_a_single_node_cluster():
    node = Node(name="node-1", internal_ip="", host_ip="127.0.0.1",
                labels={"kubernetes.io/hostname": "node-1", "kubernetes.io/os": "linux"})
    obj = node_object(node, created=CREATED, now=NOW, docker_version="20.10.24", kernel_version="6.1.0-18-amd64",
                      cpu=2, memory="8048000Ki")
    assert obj["metadata"]["labels"] == {
        "beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": "node-1", "kubernetes.io/os": "linux",
        "node-role.kubernetes.io/control-plane": "", "node.kubernetes.io/exclude-from-external-load-balancers": ""}
    assert obj["spec"] == {}
    st = obj["status"]
    assert st["addresses"] == [{"type": "InternalIP", "address": "127.0.0.1"}, {"type": "Hostname", "address": "node-1"}]
    assert st["capacity"] == st["allocatable"] == {"cpu": "2", "memory": "8048000Ki", "pods": "110"}
    assert st["conditions"][-1] == {"type": "Ready", "status": "True", "lastHeartbeatTime": CREATED,
                                    "lastTransitionTime": CREATED, "reason": "KubeletReady",
                                    "message": "kubelet is posting ready status"}
    info = st["nodeInfo"]
    assert (info["kubeletVersion"], info["containerRuntimeVersion"], info["kernelVersion"], info["osImage"]) == (
        "v1.35.0", "docker://20.10.24", "6.1.0-18-amd64", "Debian GNU/Linux 12 (bookworm)")
    assert node_object(node, created=CREATED, now=LATER, previous=obj, docker_version="20.10.24",
                       kernel_version="6.1.0-18-amd64", cpu=2, memory="8048000Ki") == obj


def test_cordoned_and_stopped_nodes():
    up = Node(name="node-2", internal_ip="10.3.0.22", host_ip="127.0.2.2")
    before = node_object(up, created=CREATED, now=NOW)
    assert before["status"]["addresses"] == [{"type": "InternalIP", "address": "10.3.0.22"},
                                             {"type": "ExternalIP", "address": "127.0.2.2"},
                                             {"type": "Hostname", "address": "node-2"}]
    assert "node-role.kubernetes.io/control-plane" not in before["metadata"]["labels"]
    cordoned = node_object(Node(name="node-2", internal_ip="10.3.0.22", host_ip="127.0.2.2", unschedulable=True),
                           created=CREATED, now=NOW, previous=before)
    assert cordoned["spec"] == {"unschedulable": True,
                                "taints": [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]}
    assert cordoned["status"] == before["status"]
    stopped = node_object(Node(name="node-2", internal_ip="10.3.0.22", host_ip="127.0.2.2", stopped=True),
                          created=CREATED, now=LATER, previous=before)
    assert stopped["spec"]["taints"] == [
        {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"},
        {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "timeAdded": LATER}]
    assert [(c["type"], c["status"], c["lastHeartbeatTime"], c["lastTransitionTime"])
            for c in stopped["status"]["conditions"]] == [
        (t, "Unknown", CREATED, LATER) for t in ("MemoryPressure", "DiskPressure", "PIDPressure", "Ready")]
    assert stopped["status"]["conditions"][-1]["message"] == "Kubelet stopped posting node status."
    assert stopped["metadata"]["annotations"]["emukube.io/stopped"] == "true"


def test_a_node_is_written_with_the_labels_cordon_and_stop_of_its_stored_object():
    # The plan (read before the tick) says stopped and cordoned; meanwhile `node start` and an
    # uncordon were stored: the publisher writes what is stored, not its older plan.
    planned = Node(name="node-2", internal_ip="10.3.0.22", host_ip="127.0.2.2", unschedulable=True, stopped=True)
    started = node_object(Node(name="node-2", internal_ip="10.3.0.22", host_ip="127.0.2.2"), created=CREATED, now=NOW)
    started["metadata"]["annotations"]["emukube.io/stopped"] = "false"
    node = as_stored(planned, started)
    assert (node.stopped, node.unschedulable) == (False, False)
    written = node_object(node, created=CREATED, now=LATER, previous=started)
    assert "taints" not in written["spec"] and "emukube.io/stopped" not in written["metadata"]["annotations"]
    stopped = node_object(planned, created=CREATED, now=NOW)
    again = as_stored(Node(name="node-2", internal_ip="10.3.0.22", host_ip="127.0.2.2"), stopped)
    assert (again.stopped, again.unschedulable) == (True, True)
    assert as_stored(planned, None) == planned  # not stored yet: the plan
    labelled = Node(name="node-2", internal_ip="10.3.0.22", host_ip="127.0.2.2", labels={"disk": "ssd"})
    unlabelled = node_object(labelled, created=CREATED, now=NOW)
    del unlabelled["metadata"]["labels"]["disk"]  # `kubectl label node node-2 disk-` meanwhile
    rewritten = node_object(as_stored(labelled, unlabelled), created=CREATED, now=LATER, previous=unlabelled)
    assert "disk" not in rewritten["metadata"]["labels"]


# ---- events --------------------------------------------------------------------------------
def test_events_from_the_controllers_lines():
    line = {"time": "2026-01-10T10:00:05Z", "type": "Warning", "object": "pod/web-x", "reason": "BackOff",
            "message": "Back-off 10s restarting failed container web in pod web-x"}
    ev = event_object(line, "shop", uid="uid-pod", host="node-2")
    name = ev["metadata"]["name"]
    assert name.startswith("web-x.") and int(name.split(".")[1], 16) // 10**9 == 1768039205
    assert ev == {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": "shop"},
                  "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": "web-x", "namespace": "shop",
                                     "uid": "uid-pod"},
                  "reason": "BackOff", "message": line["message"],
                  "source": {"component": "kubelet", "host": "node-2"},
                  "firstTimestamp": "2026-01-10T10:00:05Z", "lastTimestamp": "2026-01-10T10:00:05Z", "count": 1,
                  "type": "Warning", "eventTime": None, "reportingComponent": "kubelet",
                  "reportingInstance": "node-2"}
    other = event_object({**line, "message": "Back-off 20s restarting failed container web in pod web-x"}, "shop")
    assert other["metadata"]["name"] != name  # same object and second, another event


def test_event_kinds_sources_and_repeats():
    svc = event_object({"time": CREATED, "type": "Normal", "object": "service/web", "reason": "ProxyReloaded",
                        "message": "10.96.0.10: 2 endpoint(s)"}, "default")
    assert svc["involvedObject"] == {"apiVersion": "v1", "kind": "Service", "name": "web", "namespace": "default"}
    assert svc["source"] == {"component": "emukube-controller"}
    node = event_object({"time": CREATED, "type": "Normal", "object": "node/node-2", "reason": "NodePortsCreated",
                         "message": "x"}, "ignored")
    assert node["metadata"]["namespace"] == "default" and "namespace" not in node["involvedObject"]
    sched = event_object({"time": CREATED, "type": "Warning", "object": "pod/db-0", "reason": "FailedScheduling",
                          "message": "0/1 nodes are available"})
    assert sched["source"] == {"component": "default-scheduler"}
    assert event_object({"time": CREATED, "object": "controller", "reason": "Started"}) is None
    assert event_object({"time": CREATED, "object": "dns/coredns", "reason": "Started"}) is None
    a = {"time": "2026-01-10T10:00:01Z", "type": "Warning", "object": "pod/p", "reason": "Unhealthy", "message": "m"}
    b = {**a, "reason": "Killing", "type": "Normal"}
    groups = aggregate_events([a, b, {**a, "time": "2026-01-10T10:00:09Z"}])
    assert groups == [(b, 1, "2026-01-10T10:00:01Z"), ({**a, "time": "2026-01-10T10:00:09Z"}, 2, "2026-01-10T10:00:01Z")]
    line, count, first = groups[1]
    repeated = event_object(line, count=count, first_time=first)
    assert (repeated["count"], repeated["firstTimestamp"], repeated["lastTimestamp"]) == (
        2, "2026-01-10T10:00:01Z", "2026-01-10T10:00:09Z")
    assert repeated["metadata"]["name"] == event_object(a)["metadata"]["name"]  # one Event, updated


def test_corednss_pod_is_of_the_coredns_deployments_replica_set():
    """As kubeadm's and kind's: kube-system/coredns owns coredns-<hash>, which owns the pod."""
    from emukube.plan import system_pods

    deployment = system_pods.coredns_deployment("emukube/coredns:1")
    deployment["metadata"]["uid"] = "uid-deploy"
    template = system_pods.template_of(deployment, "emukube/coredns:1")
    name = system_pods.pod_name(template)
    thash = template_hash(template)
    assert re.fullmatch(rf"coredns-{thash}-[bcdfghjklmnpqrstvwxz2456789]{{5}}", name)
    assert system_pods.hash_of(name) == thash
    facts = web_facts(namespace="kube-system", name=name, labels=dict(system_pods.LABELS),
                      spec=system_pods.pod_spec(template), owner="Deployment/coredns", template_hash=thash,
                      ip="10.96.0.10", annotations={})
    status = {"ready": True, "phase": "Running", "restarts": 0, "ip": "10.96.0.10", "reason": "", "node": "node-1",
              "containers": [{**running(), "name": "coredns", "image": "emukube/coredns:1"}]}
    pod = pod_object(facts, status, NOW)
    meta = pod["metadata"]
    assert meta["generateName"] == f"coredns-{thash}-"
    assert meta["ownerReferences"][0]["kind"] == "ReplicaSet" and meta["ownerReferences"][0]["name"] == f"coredns-{thash}"
    assert meta["labels"] == {"k8s-app": "kube-dns", "pod-template-hash": thash}
    assert pod["spec"]["nodeName"] == "node-1" and pod["spec"]["priority"] == 2000000000
    assert system_pods.is_coredns_pod(pod) and not system_pods.is_coredns_pod({**pod, "metadata": {
        **meta, "namespace": "default"}})
    (rs,) = replica_set_objects(deployment, [pod], [], NOW)
    assert rs["metadata"]["name"] == f"coredns-{thash}" and rs["spec"]["replicas"] == 1
    assert rs["status"]["readyReplicas"] == 1


def test_corednss_pod_keeps_its_name_until_its_template_changes():
    from emukube.plan import system_pods

    template = system_pods.template_of(None, "emukube/coredns:1")
    first = system_pods.pod_name(template)
    assert system_pods.pod_name(template, first) == first
    assert system_pods.pod_name(template, "coredns-node-1") != "coredns-node-1"  # an older emukube's
    restarted = {**template, "metadata": {**template["metadata"], "annotations": {
        "kubectl.kubernetes.io/restartedAt": "2026-12-07T09:00:00Z"}}}
    second = system_pods.pod_name(restarted, first)
    assert second != first and system_pods.hash_of(second) == template_hash(restarted)


def test_kube_dns_endpoints_name_corednss_pod():
    from emukube.apiserver.system import kube_dns_objects
    from emukube.plan import system_pods

    pod = {"metadata": {"name": "coredns-abc-x2b4k", "namespace": "kube-system", "uid": "u-1"}}
    (_, _svc), (_, endpoints), (_, endpoint_slice) = kube_dns_objects("10.96.0.10")
    ref = {"kind": "Pod", "namespace": "kube-system", "name": "coredns-abc-x2b4k", "uid": "u-1"}
    assert system_pods.targeted(endpoints, pod)["subsets"][0]["addresses"] == [
        {"ip": "10.96.0.10", "nodeName": "node-1", "targetRef": ref}]
    assert system_pods.targeted(endpoint_slice, pod)["endpoints"][0]["targetRef"] == ref
    assert "targetRef" not in endpoints["subsets"][0]["addresses"][0]  # a copy: the argument stays


# ---- diff ----------------------------------------------------------------------------------
def test_diff_ignores_server_managed_metadata():
    want = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default",
                                                            "creationTimestamp": CREATED},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "lastProbeTime": None}]}}
    stored = copy.deepcopy(want)
    stored["metadata"].update(resourceVersion="41", uid="u-1", generation=1, creationTimestamp=NOW,
                              managedFields=[{"manager": "x"}])
    del stored["status"]["conditions"][0]["lastProbeTime"]  # a null the server left out
    assert diff({"p": want}, {"p": stored}) == []
    assert diff({"p": {**want, "metadata": {**want["metadata"], "deletionTimestamp": None}}}, {"p": stored}) == []
    deleting = {**stored, "metadata": {**stored["metadata"], "deletionTimestamp": NOW, "deletionGracePeriodSeconds": 30}}
    assert diff({"p": {**want, "metadata": {**want["metadata"], "deletionTimestamp": CREATED}}}, {"p": deleting}) == []
    assert [a.verb for a in diff({"p": want}, {"p": deleting})] == ["update"]
    changed = copy.deepcopy(want)
    changed["status"]["phase"] = "Succeeded"
    gone = {"metadata": {"name": "q", "resourceVersion": "7"}}
    new = {"metadata": {"name": "r"}}
    actions = diff({"p": changed, "r": new}, {"p": stored, "q": gone})
    assert [(a.verb, a.key) for a in actions] == [("update", "p"), ("create", "r"), ("delete", "q")]
    assert actions[0].obj["metadata"] == {"name": "p", "namespace": "default", "creationTimestamp": NOW,
                                          "resourceVersion": "41", "uid": "u-1", "generation": 1}
    assert actions[0].obj["status"]["phase"] == "Succeeded" and actions[2] == Action("delete", "q", gone)
    assert status_only(changed, stored)
    assert not status_only({**changed, "spec": {"nodeName": "node-2"}}, stored)


def test_diff_remembers_what_it_found_published_only_until_either_side_changes():
    want = {"metadata": {"name": "p"}, "status": {"phase": "Running", "podIP": None}}
    stored = {"metadata": {"name": "p", "resourceVersion": "5"}, "status": {"phase": "Running"}}
    same: dict = {}
    assert diff({"p": want}, {"p": stored}, same) == [] and set(same) == {"p"}
    assert diff({"p": copy.deepcopy(want)}, {"p": stored}, same) == []  # the same objects again
    edited = {"metadata": {"name": "p", "resourceVersion": "6"}, "status": {"phase": "Failed"}}
    assert [a.verb for a in diff({"p": want}, {"p": edited}, same)] == ["update"]  # someone wrote it
    assert "p" not in same
    assert diff({"p": want}, {"p": stored}, same) == []
    moved = {**want, "status": {"phase": "Succeeded"}}
    assert [a.verb for a in diff({"p": moved}, {"p": stored}, same)] == ["update"]  # the loop's side moved
    assert diff({}, {"p": stored}, same)[0].verb == "delete" and same == {}


def test_diff_counts_a_deletion_by_its_presence():
    pod = {"metadata": {"name": "p"}, "status": {}}
    ours = {"metadata": {"name": "p", "deletionTimestamp": NOW, "deletionGracePeriodSeconds": 30}, "status": {}}
    servers = {"metadata": {"name": "p", "deletionTimestamp": LATER, "deletionGracePeriodSeconds": 10}, "status": {}}
    assert diff({"p": ours}, {"p": servers}) == []
    [update] = diff({"p": ours}, {"p": pod})
    assert update.obj["metadata"]["deletionTimestamp"] == NOW


def test_published_pods_feed_the_workload_status():
    d = deployment(replicas=2, generation=1)
    facts = [web_facts(name=f"web-{NEW}-{s}", labels={"app": "web"}, template_hash=NEW) for s in ("bcdfg", "hjklm")]
    pods = [pod_object(facts[0], {"containers": [running()]}, NOW),
            pod_object(facts[1], {"containers": [running(ready=False)]}, NOW),
            pod_object(web_facts(name="other", owner="Deployment/api"), {"containers": [running()]}, NOW)]
    st = workload_status(d, pods, NOW)
    assert (st["replicas"], st["updatedReplicas"], st["readyReplicas"], st["availableReplicas"]) == (2, 2, 1, 1)
    [rs] = replica_set_objects(d, pods, [], NOW)
    assert rs["metadata"]["name"] == pods[0]["metadata"]["ownerReferences"][0]["name"] == f"web-{NEW}"
    assert pods[0]["metadata"]["generateName"] == f"web-{NEW}-"
    assert rs["status"] == {"replicas": 2, "fullyLabeledReplicas": 2, "readyReplicas": 1, "availableReplicas": 1,
                            "observedGeneration": 1}


def test_a_node_keeps_the_taints_users_gave_it_beside_those_of_its_cordon():
    # `kubectl taint nodes node-2 dedicated=gpu:NoSchedule` on a cordoned node: the next write
    # keeps the user's taint, and the cordon's own taint is not read back as a user's.
    stored = node_object(Node(name="node-2", internal_ip="10.3.0.22", host_ip="127.0.2.2", unschedulable=True),
                         created=CREATED, now=NOW)
    stored["spec"]["taints"].append({"key": "dedicated", "value": "gpu", "effect": "NoSchedule"})
    node = as_stored(Node(name="node-2", internal_ip="10.3.0.22", host_ip="127.0.2.2"), stored)
    assert node.taints == ({"key": "dedicated", "value": "gpu", "effect": "NoSchedule"},)
    written = node_object(node, created=CREATED, now=LATER, previous=stored)
    assert written["spec"]["taints"] == [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"},
                                         {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]


def test_event_names_sort_as_the_events_happened_within_one_second():
    """kubectl lists a pod's events of one second in the order of their names."""
    second = "2026-01-10T10:00:01Z"
    lines = [{"time": second, "type": "Normal", "object": "pod/web-x", "reason": reason, "message": message,
              "ns": 1768039201_000000000 + i * 1000}
             for i, (reason, message) in enumerate([("Scheduled", "Successfully assigned default/web-x to node-1"),
                                                    ("Pulled", 'Container image "nginx" already present on machine'),
                                                    ("Created", "Created container: web"),
                                                    ("Started", "Started container web")])]
    names = [event_object(line, "default")["metadata"]["name"] for line in lines]
    assert sorted(names) == names and len(set(names)) == 4 and all(n.startswith("web-x.") for n in names)


def test_each_kinds_events_come_from_the_component_kubernetes_names():
    line = {"time": CREATED, "type": "Normal", "reason": "SuccessfulCreate", "message": "m"}
    sources = {prefix: event_object({**line, "object": f"{prefix}/x"})["source"]["component"]
               for prefix in ("replicaset", "statefulset", "deployment", "job", "service")}
    assert sources == {"replicaset": "replicaset-controller", "statefulset": "statefulset-controller",
                       "deployment": "deployment-controller", "job": "job-controller", "service": "emukube-controller"}
    evicted = event_object({**line, "object": "pod/x", "reason": "TaintManagerEviction"})
    assert evicted["source"] == {"component": "taint-eviction-controller"}


def test_a_paused_deployment_keeps_the_template_it_rolled_out_until_resumed():
    from emukube.plan.workloads import as_rolled_out

    old_d = deployment(template=OLD_TEMPLATE)
    published = replica_set_objects(old_d, [dpod(OLD, 1, True)], [], NOW)
    changed = deployment(paused=True)  # `kubectl rollout pause`, then `kubectl set image`
    acted = as_rolled_out(changed, published)
    # the published ReplicaSet's template, whose hash is the pods' (the loop makes more of them)
    assert template_hash(acted["spec"]["template"]) == OLD and acted["spec"]["replicas"] == 3
    assert as_rolled_out(deployment(), published) == deployment()  # not paused: its own template
    assert as_rolled_out(changed, [])["spec"]["replicas"] == 0  # paused before any ReplicaSet: no pods
    rs = replica_set_objects(acted, [dpod(OLD, 1, True)], published, NOW)
    assert [r["metadata"]["name"] for r in rs] == [f"web-{OLD}"]  # no new ReplicaSet while paused
    pods = [dpod(OLD, n, True) for n in range(3)]
    # The status counts against the Deployment's own template (none of its pods are updated:
    # `kubectl rollout status` waits), as the controller's sync of a paused one leaves it.
    status = workload_status(changed, pods, NOW, {"conditions": []})
    progressing = {c["type"]: c for c in status["conditions"]}["Progressing"]
    assert (progressing["status"], progressing["reason"], progressing["message"]) == (
        "Unknown", "DeploymentPaused", "Deployment is paused")
    assert status["replicas"] == 3 and "updatedReplicas" not in status  # 0: omitted
    # `kubectl rollout resume`: the changed template's ReplicaSet comes, and the rollout with it
    resumed = workload_status(deployment(), pods, LATER, status)
    progressing = {c["type"]: c for c in resumed["conditions"]}["Progressing"]
    assert progressing["reason"] == "NewReplicaSetCreated" and "updatedReplicas" not in resumed  # 0: omitted
    same = workload_status(deployment(template=OLD_TEMPLATE), pods, LATER, status)
    assert {c["type"]: c for c in same["conditions"]}["Progressing"]["reason"] == "NewReplicaSetAvailable"


def test_a_node_lease_is_the_kubelets():
    import re

    from emukube.controllers.publish import node_lease
    from emukube.controllers.publisher import micro_now

    stamp = micro_now()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", stamp), stamp
    lease = node_lease("node-2", "uid-n2", stamp)
    assert lease["metadata"] == {"name": "node-2", "namespace": "kube-node-lease", "ownerReferences": [
        {"apiVersion": "v1", "kind": "Node", "name": "node-2", "uid": "uid-n2"}]}
    assert lease["spec"] == {"holderIdentity": "node-2", "leaseDurationSeconds": 40, "renewTime": stamp}


def test_a_statefulsets_history_is_one_revision_per_template_and_a_rollback_renumbers():
    from emukube.controllers.publish_workloads import controller_revisions

    def sts(template, **meta):
        return {"apiVersion": "apps/v1", "kind": "StatefulSet", "spec": {"replicas": 1, "template": template},
                "metadata": {"name": "db", "namespace": "default", "uid": "uid-db", **meta}}

    first = controller_revisions(sts(OLD_TEMPLATE, annotations={"kubernetes.io/change-cause": "v1"}), [], [])
    assert [(c["metadata"]["name"], c["revision"]) for c in first] == [(f"db-{OLD}", 1)]
    cr = first[0]
    assert cr["data"] == {"spec": {"template": {**OLD_TEMPLATE, "$patch": "replace"}}}  # what undo sends back
    assert cr["metadata"]["labels"] == {"app": "web", "controller.kubernetes.io/hash": OLD}
    assert cr["metadata"]["annotations"] == {"kubernetes.io/change-cause": "v1"}
    assert cr["metadata"]["ownerReferences"] == [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db",
                                                  "uid": "uid-db", "controller": True, "blockOwnerDeletion": True}]
    second = controller_revisions(sts(WEB_TEMPLATE), [], first)
    assert [(c["metadata"]["name"], c["revision"]) for c in second] == [(f"db-{OLD}", 1), (f"db-{NEW}", 2)]
    assert second[0]["data"] == cr["data"]  # an old revision keeps what it restores
    undone = controller_revisions(sts(OLD_TEMPLATE), [], second)
    assert [(c["metadata"]["name"], c["revision"]) for c in undone] == [(f"db-{NEW}", 2), (f"db-{OLD}", 3)]
    limited = controller_revisions(sts(OLD_TEMPLATE) | {"spec": {"template": OLD_TEMPLATE,
                                                                 "revisionHistoryLimit": 0}}, [], undone)
    assert [c["metadata"]["name"] for c in limited] == [f"db-{OLD}"]


def test_the_stored_labels_of_the_same_pod_are_the_apis():
    made = "2026-12-05T13:18:11.685425293Z"  # Docker's time of the pod's container
    labelled = {"metadata": {"creationTimestamp": "2026-12-05T13:18:12Z", "labels": {"app": "q", "tier": "b"}}}
    assert stored_labels(labelled, made) == {"app": "q", "tier": "b"}  # kubectl label pod
    same_second = {"metadata": {"creationTimestamp": "2026-12-05T13:18:11Z", "labels": {"app": "w"}}}
    assert stored_labels(same_second, made) == {"app": "w"}
    earlier = {"metadata": {"creationTimestamp": "2026-12-05T13:10:00Z", "labels": {"app": "old"}}}
    assert stored_labels(earlier, made) is None  # a StatefulSet's earlier pod of that name
    assert stored_labels(None, made) is None and stored_labels({"metadata": {}}, made) is None
    # A pod users made: its object comes first, its container in the next second now and then.
    second_before = {"metadata": {"creationTimestamp": "2026-12-05T13:18:10Z", "labels": {"app": "herd"}}}
    assert stored_labels(second_before, made, object_first=True) == {"app": "herd"}


def test_a_pod_whose_object_came_before_its_container_keeps_the_apis_labels():
    # Its owner made it at 13:18:09.4; the API stored it then; its container came at 13:18:11.
    planned, container = 1796476689.4, "2026-12-05T13:18:11.685425293Z"
    assert made_at(planned, container) == "2026-12-05T13:18:09Z"
    assert made_at(0.0, container) == container  # a pod made before the time was kept
    pending_first = {"metadata": {"creationTimestamp": "2026-12-05T13:18:09Z", "labels": {"app": "q"}}}
    assert stored_labels(pending_first, made_at(planned, container)) == {"app": "q"}
    assert stored_labels(pending_first, container) is None  # as if a StatefulSet's earlier pod
    earlier = {"metadata": {"creationTimestamp": "2026-12-05T13:10:00Z", "labels": {"app": "old"}}}
    assert stored_labels(earlier, made_at(planned, container)) is None


def test_a_statefulsets_new_pod_waits_for_its_earlier_namesake_to_go():
    planned = 1796476689.4  # 2026-12-05T13:18:09.4Z
    assert not earlier_pod(None, planned)
    assert not earlier_pod({"metadata": {"creationTimestamp": "2026-12-05T13:18:09Z"}}, planned)  # its own
    assert earlier_pod({"metadata": {"creationTimestamp": "2026-12-05T13:17:40Z"}}, planned)
    assert earlier_pod({"metadata": {"creationTimestamp": "2026-12-05T13:17:40Z",
                                     "deletionTimestamp": "2026-12-05T13:18:10Z"}}, planned)
    # Its own, deleted by a user while its container was being made: still its own.
    assert not earlier_pod({"metadata": {"creationTimestamp": "2026-12-05T13:18:09Z",
                                         "deletionTimestamp": "2026-12-05T13:18:40Z"}}, planned)


def test_a_released_pod_has_no_owner_but_keeps_its_generated_name():
    status = {"ready": True, "phase": "Running", "restarts": 0, "ip": "10.3.0.7", "reason": "", "node": "node-1",
              "containers": [running()]}
    meta = pod_object(web_facts(released=True, labels={"app": "quarantine"}), status, NOW)["metadata"]
    assert "ownerReferences" not in meta
    assert meta["generateName"] == "web-hash123456-"
