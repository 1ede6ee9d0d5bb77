"""emukube events: the API's Events as lines (pure)."""

from emukube.client.events import from_api
from emukube.controllers.publish import event_object
from emukube.views.describe import for_object


def test_an_event_the_controller_publishes_reads_back_as_its_line():
    line = {"time": "2026-12-03T10:00:00Z", "type": "Warning", "object": "pod/web-1", "reason": "BackOff",
            "message": "Back-off 10s restarting failed container web in pod web-1"}
    event = from_api(event_object(line, "shop", count=3, first_time="2026-12-03T09:59:00Z", host="node-1"))
    assert (event.time, event.type, event.object, event.reason, event.namespace, event.source, event.count) == \
        ("2026-12-03T10:00:00Z", "Warning", "pod/web-1", "BackOff", "shop", "kubelet", 3)
    assert event.line().endswith("Back-off 10s restarting failed container web in pod web-1 (x3)")
    assert " (x" not in from_api(event_object(line, "shop")).line()


def test_events_of_an_object_are_those_of_its_namespace():
    made = [from_api(event_object({"time": "t", "type": "Normal", "object": "service/web", "reason": "R",
                                   "message": ns}, ns)) for ns in ("a", "b")]
    assert [e.message for e in for_object(made, {"service/web"}, "b")] == ["b"]
    assert len(for_object(made, {"service/web"})) == 2
    assert for_object(made, {"pod/web"}) == []


def test_describe_names_downward_api_and_projected_volumes_as_kubectl():
    from emukube.views.describe import Text, _volumes

    t = Text()
    _volumes(t, {"volumes": [{"name": "info", "downwardAPI": {"items": []}},
                             {"name": "kube-api-access-x7k2p", "projected": {"sources": []}}]})
    t.flush()
    assert t.lines == ["Volumes:", "  info:", "    Type:  DownwardAPI (a volume populated by information about the pod)",
                       "  kube-api-access-x7k2p:",
                       "    Type:  Projected (a volume that contains injected data from multiple sources)"]
