"""A write the controller lost to someone else's is made again only when that someone changed
nothing but status: a cordon or a label added meanwhile is kept (seen by the next tick)."""

from emukube.controllers.publisher import _beyond_status


def node(unschedulable=False, labels=None, ready="True"):
    spec = {"unschedulable": True} if unschedulable else {}
    return {"metadata": {"name": "node-3", "labels": labels or {"a": "1"}}, "spec": spec,
            "status": {"conditions": [{"type": "Ready", "status": ready}]}}


def test_a_cordon_or_a_label_is_beyond_status():
    assert _beyond_status(node(), node(unschedulable=True))
    assert _beyond_status(node(), node(labels={"a": "1", "zone": "b"}))


def test_a_status_change_alone_is_not():
    assert not _beyond_status(node(), node(ready="False"))
    assert not _beyond_status({"metadata": {}}, {"metadata": {"labels": {}, "annotations": {}}})
