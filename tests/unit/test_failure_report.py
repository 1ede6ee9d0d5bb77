"""Which containers' output a failed test's report shows (client/failure_report.py), from literal
pods."""

from __future__ import annotations

from emukube.client.failure_report import troubled


def pod(name: str, *statuses: dict, namespace: str = "default") -> dict:
    return {"metadata": {"name": name, "namespace": namespace}, "status": {"containerStatuses": list(statuses)}}


def test_not_ready_and_restarted_containers_are_shown_the_crashed_run_first():
    pods = [pod("fine", {"name": "app", "ready": True, "restartCount": 0}),
            pod("crashing", {"name": "app", "ready": False, "restartCount": 3}, {"name": "log", "ready": True}),
            pod("recovered", {"name": "app", "ready": True, "restartCount": 1}, namespace="shop"),
            pod("pending", {"name": "app", "ready": False}),
            {"metadata": {"name": "unscheduled", "namespace": "default"}, "status": {"phase": "Pending"}}]
    assert troubled(pods) == [("default", "crashing", "app", True), ("default", "crashing", "app", False),
                              ("shop", "recovered", "app", True), ("default", "pending", "app", False)]
