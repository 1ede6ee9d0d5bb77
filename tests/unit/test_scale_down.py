"""The ReplicaSet controller's scale-down ranking (plan/scale_down.py), from literal pods."""

from __future__ import annotations

from emukube.plan.scale_down import Candidate, candidate, colocated, deletion_cost, deletion_order

NOW = 1_700_000_000.0


def names(pods: list[Candidate]) -> list[str]:
    return [p.name for p in pods]


def test_unscheduled_then_pending_then_not_ready_go_first():
    pods = [Candidate("ready", node="n1", ready=True, ready_since=NOW - 100, created=NOW - 200, uid="a"),
            Candidate("not-ready", node="n1", created=NOW - 200, uid="b"),
            Candidate("pending", node="n1", phase="Pending", created=NOW - 200, uid="c"),
            Candidate("unknown", node="n1", phase="Unknown", created=NOW - 200, uid="d"),
            Candidate("unscheduled", node="", phase="Pending", created=NOW - 200, uid="e")]
    assert names(deletion_order(pods, now=NOW)) == ["unscheduled", "pending", "unknown", "not-ready", "ready"]


def test_deletion_cost_before_everything_but_phase_and_readiness():
    pods = [Candidate("cheap-old", node="n1", ready=True, ready_since=NOW - 5000, created=NOW - 9000,
                      deletion_cost=-5),
            Candidate("costly-new", node="n1", ready=True, ready_since=NOW - 1, created=NOW - 2, deletion_cost=100),
            Candidate("plain-new", node="n1", ready=True, ready_since=NOW - 1, created=NOW - 2, uid="x")]
    assert names(deletion_order(pods, now=NOW)) == ["cheap-old", "plain-new", "costly-new"]
    # readiness still comes first: a not-ready pod goes before a cheap ready one
    pods.append(Candidate("not-ready", node="n1", created=NOW - 9000, deletion_cost=1000))
    assert names(deletion_order(pods, now=NOW))[0] == "not-ready"


def test_pods_on_a_crowded_node_go_first():
    pods = [Candidate("alone", node="n2", ready=True, ready_since=NOW - 10, created=NOW - 10, uid="a"),
            Candidate("crowded", node="n1", ready=True, ready_since=NOW - 1000, created=NOW - 1000, uid="b")]
    related = pods + [Candidate("other", node="n1", ready=True)]
    assert colocated(pods, related) == [1, 2]
    assert names(deletion_order(pods, related, now=NOW)) == ["crowded", "alone"]


def test_ready_for_less_time_then_restarts_then_newer():
    # ready since 4 s vs 1000 s: different doublings, so the recently ready one goes first
    a = Candidate("ready-long", node="n1", ready=True, ready_since=NOW - 1000, created=NOW - 2000, uid="a")
    b = Candidate("ready-short", node="n1", ready=True, ready_since=NOW - 4, created=NOW - 3000, uid="b")
    assert names(deletion_order([a, b], now=NOW)) == ["ready-short", "ready-long"]
    c = Candidate("restarted", node="n1", restarts=3, created=NOW - 3000, uid="c")
    d = Candidate("fresh", node="n1", created=NOW - 10, uid="d")
    assert names(deletion_order([d, c], now=NOW)) == ["restarted", "fresh"]
    e = Candidate("old", node="n1", created=NOW - 3600, uid="a")
    f = Candidate("new", node="n1", created=NOW - 5, uid="z")
    assert names(deletion_order([e, f], now=NOW)) == ["new", "old"]


def test_alike_times_on_the_log_scale_are_ordered_by_uid():
    # 10 s and 12 s ago fall in the same power of two of nanoseconds: the uid decides
    older = Candidate("older", node="n1", created=NOW - 12, uid="a")
    newer = Candidate("newer", node="n1", created=NOW - 10, uid="b")
    assert names(deletion_order([newer, older], now=NOW)) == ["older", "newer"]
    # without a reference time: plainly the newer first
    assert names(deletion_order([older, newer])) == ["newer", "older"]
    # no creation time at all goes first
    assert names(deletion_order([older, Candidate("zero", node="n1", uid="c")], now=NOW)) == ["zero", "older"]


def test_deletion_cost_annotation_is_an_int32():
    assert deletion_cost({"controller.kubernetes.io/pod-deletion-cost": "-7"}) == -7
    assert deletion_cost({"controller.kubernetes.io/pod-deletion-cost": "abc"}) == 0
    assert deletion_cost({"controller.kubernetes.io/pod-deletion-cost": str(2**31)}) == 0
    assert deletion_cost(None) == 0


def test_candidate_reads_a_v1_pod():
    pod = {"metadata": {"name": "web-1", "uid": "u1", "creationTimestamp": "2024-01-01T00:00:00Z",
                        "annotations": {"controller.kubernetes.io/pod-deletion-cost": "5"}},
           "spec": {"nodeName": "node-2"},
           "status": {"phase": "Running",
                      "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2024-01-01T00:00:10Z"}],
                      "containerStatuses": [{"restartCount": 1}, {"restartCount": 4}]}}
    c = candidate(pod)
    assert (c.name, c.node, c.phase, c.ready, c.restarts, c.deletion_cost, c.uid) == \
        ("web-1", "node-2", "Running", True, 4, 5, "u1")
    assert c.ready_since is not None and c.created is not None and c.ready_since - c.created == 10
    assert candidate({"metadata": {"name": "p"}, "status": {"conditions": [{"type": "Ready", "status": "False"}]}}
                     ).ready is False
