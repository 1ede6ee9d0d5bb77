"""What `emukube up` counts while it waits: pods the objects ask for, Services that answer."""

from emukube.up_progress import counts, desired_pods

OBJECTS = [
    {"kind": "Deployment", "spec": {"replicas": 3}},
    {"kind": "StatefulSet", "spec": {}},
    {"kind": "Pod", "spec": {}},
    {"kind": "Service", "spec": {}}, {"kind": "Service", "spec": {}},
]


def test_desired_pods_and_counts_from_a_status_report():
    assert desired_pods(OBJECTS) == 5
    status = {"pods": {"default/a": {"ready": True}, "default/b": {"ready": False},
                       "default/c": {"ready": True, "phase": "Terminating"}},
              "services": {"default/web": {"answering": True}}}
    # pods not started yet count as not ready; Services not reported yet as not answering
    assert counts(status, OBJECTS) == (1, 5, 1, 2)
    assert counts({}, []) == (0, 0, 0, 0)
