"""The controller's repeated events count up on one Event, as the kubelet's event recorder's do."""

import copy

from emukube.controllers.publisher import Publisher
from emukube.k8s.client import ApiError


class MemoryApi:
    """The three calls _write_events makes, over a dict."""

    def __init__(self):
        self.events: dict[str, dict] = {}

    def get(self, res, namespace, name):
        if name not in self.events:
            raise ApiError(404, {"reason": "NotFound"})
        return copy.deepcopy(self.events[name])

    def create(self, res, obj):
        self.events[obj["metadata"]["name"]] = copy.deepcopy(obj)
        return obj

    def update(self, res, obj):
        self.events[obj["metadata"]["name"]] = copy.deepcopy(obj)
        return obj


def test_a_probe_failing_five_times_is_one_event_counted_five_times():
    api = MemoryApi()
    publisher = Publisher(api, informer=None, out=lambda line: None)
    for i in range(5):
        line = {"time": f"2026-12-06T09:00:0{i}Z", "ns": 1796547600_000_000_000 + i * 10**9, "type": "Warning",
                "object": "pod/sick", "reason": "Unhealthy", "message": "Readiness probe failed: HTTP probe failed"}
        publisher._write_events((line, "default", "uid-1", "node-1"))
    assert len(api.events) == 1
    (event,) = api.events.values()
    assert event["count"] == 5
    assert (event["firstTimestamp"], event["lastTimestamp"]) == ("2026-12-06T09:00:00Z", "2026-12-06T09:00:04Z")
