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


def test_a_full_put_leaves_the_status_to_a_status_write():
    from emukube.controllers.publish import status_left_behind

    desired = {"spec": {"nodeName": "node-2"}, "status": {"phase": "Running"}}
    stored = {"spec": {"nodeName": "node-2"}, "status": {"phase": "Pending"}}  # the server kept its own
    assert status_left_behind(desired, stored) == {"phase": "Running"}
    assert status_left_behind(desired, {**stored, "status": {"phase": "Running"}}) is None
    assert status_left_behind({"spec": {}}, stored) is None  # nothing to write
