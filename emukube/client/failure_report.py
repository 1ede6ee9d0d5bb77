"""What the pytest plugin adds to a failed test's report: the cluster as a user would look at it
next, read through its API: its pods (`kubectl get pods -A`), its Warning events, and the last
lines of every container that is not ready or has restarted (its previous run's too), so a CI
log says why a test failed without anyone rerunning it."""

from __future__ import annotations

from ..k8s.client import ApiError, KubeClient, path_of
from ..k8s.resources import BY_KEY
from ..views.tables import table_lines
from .events import from_api

PODS, EVENTS = BY_KEY["pods"], BY_KEY["events"]
TAIL = 20  # lines of each container's output
MOST_EVENTS = 20  # the newest Warning events
MOST_LOGS = 6  # containers whose output is shown


def report(api: KubeClient) -> str:
    out = ["$ kubectl get pods -A"]
    out += table_lines(api.table(PODS), PODS, all_namespaces=True)
    warnings = sorted((i for i in api.list(EVENTS).get("items", []) if i.get("type") == "Warning"),
                      key=lambda i: i.get("lastTimestamp") or i.get("eventTime") or "")[-MOST_EVENTS:]
    if warnings:
        out += ["", "Warning events (newest last):"]
        out += [f"  {e.namespace}  {e.object}  {e.reason}: {e.message}" + (f" (x{e.count})" if e.count > 1 else "")
                for e in map(from_api, warnings)]
    for namespace, pod, container, previous in troubled(api.list(PODS).get("items", []))[:MOST_LOGS]:
        query = {"container": container, "tailLines": str(TAIL), "previous": "true" if previous else None}
        try:
            text = api.request("GET", path_of(PODS, namespace, pod, "log"), query=query).get("text", "")
        except ApiError as exc:
            text = exc.message
        which = "previous run of " if previous else ""
        out += ["", f"Last {TAIL} lines of the {which}container {container} of pod {namespace}/{pod}:"]
        out += [f"  {line}" for line in text.rstrip("\n").splitlines()] or ["  (nothing)"]
    return "\n".join(out)


def troubled(pods: list[dict]) -> list[tuple[str, str, str, bool]]:
    """(namespace, pod, container, its previous run?) of every container not ready or restarted,
    in the pods' order: a restarted one's previous run first, the run that crashed."""
    out = []
    for pod in pods:
        meta = pod["metadata"]
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            if status.get("restartCount"):
                out.append((meta.get("namespace", ""), meta["name"], status.get("name", ""), True))
            if not status.get("ready"):
                out.append((meta.get("namespace", ""), meta["name"], status.get("name", ""), False))
    return out
