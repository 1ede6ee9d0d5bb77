"""emukube events: the API's Events as lines (pure)."""

from emukube.client.events import from_api
from emukube.controllers.publish import event_object


def test_an_event_the_controller_publishes_reads_back_as_its_line():
    line = {"time": "2026-12-03T10:00:00Z", "type": "Warning", "object": "pod/web-1", "reason": "BackOff",
            "message": "Back-off 10s restarting failed container web in pod web-1"}
    event = from_api(event_object(line, "shop", count=3, first_time="2026-12-03T09:59:00Z", host="node-1"))
    assert (event.time, event.type, event.object, event.reason, event.namespace, event.source, event.count) == \
        ("2026-12-03T10:00:00Z", "Warning", "pod/web-1", "BackOff", "shop", "kubelet", 3)
    assert event.line().endswith("Back-off 10s restarting failed container web in pod web-1 (x3)")
    assert " (x" not in from_api(event_object(line, "shop")).line()
