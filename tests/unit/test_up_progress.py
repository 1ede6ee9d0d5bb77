"""What `emukube up` counts while it waits: pods the objects ask for, Services that answer."""

import json

from emukube.cli.up_progress import counts, desired_pods, service_problems
from emukube.runtime.report import Report, ServiceReport


def report(written: dict) -> Report:
    """A report as the controller writes it (status.json)."""
    return Report.from_json(json.dumps(written))

OBJECTS = [
    {"kind": "Deployment", "spec": {"replicas": 3}},
    {"kind": "StatefulSet", "spec": {}},
    {"kind": "Pod", "spec": {}},
    {"kind": "Service", "spec": {}}, {"kind": "Service", "spec": {}},
]


def test_desired_pods_and_counts_from_a_status_report():
    assert desired_pods(OBJECTS) == 5
    status = report({"pods": {"default/a": {"ready": True}, "default/b": {"ready": False},
                              "default/c": {"ready": True, "phase": "Terminating"}},
                     "services": {"default/web": {"answering": True}}})
    # pods not started yet count as not ready; Services not reported yet as not answering
    assert counts(status, OBJECTS) == (1, 5, 1, 2)
    assert counts(report({}), []) == (0, 0, 0, 0)
    # A DaemonSet alone: one pod at least, not "0/0 ready" (done) before its pods exist
    assert counts(report({}), [{"kind": "DaemonSet", "spec": {}}]) == (0, 1, 0, 0)
    # The API server's and CoreDNS's own Services are not among those applied
    status = report({"services": {"default/web": {"answering": True}, "default/kubernetes": {"answering": True},
                                  "kube-system/kube-dns": {"answering": True}}})
    assert counts(status, OBJECTS)[2:] == (1, 2)


def test_services_that_would_fail_a_client_are_named():
    status = report({"services": {"default/web": {"answering": True},
                                  "shop/typo": {"answering": True,
                                                "problem": "no endpoints: the selector app=wbe matches no pod"}}})
    assert counts(status, [])[2:] == (1, 2)
    assert service_problems(status) == [
        "shop/typo: no endpoints: the selector app=wbe matches no pod (emukube explain svc/typo -n shop)"]


def test_the_report_reads_back_as_it_was_written():
    report = Report(generation="g1", seen={"pods": 7}, converged=True, waiting=["service default/web not answering"],
                    pods={"default/web-0": {"status": "Running", "ready": True, "containers": [{"name": "app"}]}},
                    services={"default/web": ServiceReport(True), "default/db": ServiceReport(False, "no endpoints")},
                    terminating=["default/old"], time=12.5)
    assert Report.from_json(report.to_json()) == report
    assert json.loads(report.to_json())["services"]["default/db"] == {"answering": False, "problem": "no endpoints"}
