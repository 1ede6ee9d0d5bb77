"""rollout status: kubectl's status viewers' messages from a workload's status (pure)."""

import pytest

from emukube.client.rollout import status_line
from emukube.errors import EmukubeError, WorkloadFailed


def deploy(generation=2, want=3, **status):
    return {"kind": "Deployment", "metadata": {"name": "web", "generation": generation},
            "spec": {"replicas": want}, "status": status}


@pytest.mark.parametrize("status, line, done", [
    ({"observedGeneration": 1}, "Waiting for deployment spec update to be observed...", False),
    ({"observedGeneration": 2, "updatedReplicas": 1, "replicas": 4},
     'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...', False),
    ({"observedGeneration": 2, "updatedReplicas": 3, "replicas": 4},
     'Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...', False),
    ({"observedGeneration": 2, "updatedReplicas": 3, "replicas": 3, "availableReplicas": 2},
     'Waiting for deployment "web" rollout to finish: 2 of 3 updated replicas are available...', False),
    ({"observedGeneration": 2, "updatedReplicas": 3, "replicas": 3, "availableReplicas": 3},
     'deployment "web" successfully rolled out', True),
])
def test_deployment_messages(status, line, done):
    assert status_line(deploy(**status)) == (line, done)


def test_a_deployment_past_its_deadline_fails():
    status = {"observedGeneration": 2, "conditions": [{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}]}
    with pytest.raises(WorkloadFailed, match='deployment "web" exceeded its progress deadline'):
        status_line(deploy(**status))


def sts(rolling=None, strategy="RollingUpdate", **status):
    spec = {"replicas": 3, "updateStrategy": {"type": strategy}}
    if rolling is not None:
        spec["updateStrategy"]["rollingUpdate"] = rolling
    return {"kind": "StatefulSet", "metadata": {"name": "db", "generation": 1}, "spec": spec,
            "status": {"observedGeneration": 1, **status}}


def test_statefulset_messages():
    assert status_line(sts(readyReplicas=1)) == ("Waiting for 2 pods to be ready...", False)
    # What the API server stores (partition defaulted to 0): kubectl says "partitioned".
    assert status_line(sts({"partition": 0}, readyReplicas=3, updatedReplicas=3)) == \
        ("partitioned roll out complete: 3 new pods have been updated...", True)
    assert status_line(sts({"partition": 1}, readyReplicas=3, updatedReplicas=1)) == \
        ("Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated...", False)
    assert status_line(sts(readyReplicas=3, updatedReplicas=1, updateRevision="db-2", currentRevision="db-1")) == \
        ("waiting for statefulset rolling update to complete 1 pods at revision db-2...", False)
    assert status_line(sts(readyReplicas=3, currentReplicas=3, updateRevision="db-2", currentRevision="db-2")) == \
        ("statefulset rolling update complete 3 pods at revision db-2...", True)
    with pytest.raises(EmukubeError, match="only available for RollingUpdate"):
        status_line(sts(strategy="OnDelete"))


@pytest.mark.parametrize(("status", "line", "done"), [
    ({"observedGeneration": 1}, "Waiting for daemon set spec update to be observed...", False),
    ({"observedGeneration": 2, "desiredNumberScheduled": 3, "updatedNumberScheduled": 1},
     'Waiting for daemon set "agent" rollout to finish: 1 out of 3 new pods have been updated...', False),
    ({"observedGeneration": 2, "desiredNumberScheduled": 3, "updatedNumberScheduled": 3, "numberAvailable": 2},
     'Waiting for daemon set "agent" rollout to finish: 2 of 3 updated pods are available...', False),
    ({"observedGeneration": 2, "desiredNumberScheduled": 3, "updatedNumberScheduled": 3, "numberAvailable": 3},
     'daemon set "agent" successfully rolled out', True),
])
def test_daemonset_lines_are_kubectls(status, line, done):
    ds = {"kind": "DaemonSet", "metadata": {"name": "agent", "generation": 2},
          "spec": {"updateStrategy": {"type": "RollingUpdate"}}, "status": status}
    assert status_line(ds) == (line, done)
