"""The pure parts of the workload control: kubelet's restart back-off, probe verdicts kept across
controllers, rollout restart, the event log."""

from __future__ import annotations

import pytest

from emukube.client import rollout
from emukube.controllers.probes import PodProbes, dump_verdicts, load_verdicts
from emukube.controllers.restarts import INITIAL_BACKOFF, MAX_BACKOFF, Restarts, should_restart
from emukube.errors import EmukubeError
from emukube.plan.workloads import adopter, releases, template_hash


def crash_loop(restarts: Restarts, crashes: int, runs_for: float = 0.5) -> list[float]:
    """Delays before each restart of a container that fails after `runs_for` seconds."""
    now, delays = 1000.0, []
    for _ in range(crashes):
        finished = now + runs_for
        wait = restarts.wait_left("c1", finished, finished)
        delays.append(wait)
        now = finished + wait
        restarts.restarted("c1", finished, now)
    return delays


def test_the_first_restart_is_at_once_then_10s_doubling_to_5_minutes():
    assert crash_loop(Restarts(), 9) == [0, 10, 20, 40, 80, 160, 300, 300, 300]


def test_a_container_that_ran_10_minutes_starts_again_from_no_delay():
    r = Restarts()
    crash_loop(r, 4)
    assert r.count("c1") == 4
    late = r.entries["c1"].last_restart + 2 * MAX_BACKOFF + 1
    assert r.wait_left("c1", late, late) == 0
    r.restarted("c1", late, late)
    assert r.entries["c1"].backoff == INITIAL_BACKOFF and r.count("c1") == 5


def test_restart_counts_survive_a_new_controller(tmp_path):
    path = tmp_path / "restarts.json"
    first = Restarts(path)
    crash_loop(first, 3)
    first.save()
    second = Restarts(path)
    assert second.count("c1") == 3 and second.entries["c1"].backoff == 40
    second.keep_only(set())
    assert second.count("c1") == 0


@pytest.mark.parametrize("policy, code, restart", [("Always", 0, True), ("Always", 1, True), ("OnFailure", 0, False),
                                                   ("OnFailure", 2, True), ("Never", 1, False)])
def test_restart_policy(policy, code, restart):
    assert should_restart(policy, code) is restart


def test_probe_verdicts_round_trip_and_bad_files_are_ignored():
    v = PodProbes(started=123.0)
    probe = {"periodSeconds": 1, "successThreshold": 1, "failureThreshold": 1}
    v.record("readiness", probe, True, "", 200.0)
    v.record("liveness", probe, False, "HTTP probe failed with statuscode: 500", 200.0)
    back = load_verdicts(dump_verdicts({"abc": v}))["abc"]
    assert back.started == 123.0 and back.state("readiness").succeeded and not back.state("liveness").succeeded
    assert back.state("liveness").last_failure == "HTTP probe failed with statuscode: 500"
    assert load_verdicts("not json") == {} and load_verdicts('{"x": 1}') == {}


def test_a_first_failed_readiness_probe_is_repeated_at_once_then_each_period():
    v = PodProbes(started=100.0)
    probe = {"periodSeconds": 2}
    v.record("readiness", probe, False, "connect: connection refused", 100.1)
    assert v.due("readiness", probe, 100.1)  # the kubelet's sync after the first result
    v.record("readiness", probe, False, "connect: connection refused", 100.2)
    assert not v.due("readiness", probe, 101.0) and v.due("readiness", probe, 102.2)
    v.record("liveness", {"periodSeconds": 2}, False, "refused", 100.1)
    assert not v.due("liveness", probe, 101.0)  # liveness and startup keep their period


def test_initial_delay_counts_from_the_container_start():
    v = PodProbes(started=100.0)
    assert not v.due("readiness", {"initialDelaySeconds": 5}, 104.0)
    assert v.due("readiness", {"initialDelaySeconds": 5}, 105.5)


def test_rollout_restart_changes_the_template_hash_every_time():
    deploy = {"kind": "Deployment", "spec": {"template": {"metadata": {"labels": {"app": "web"}}, "spec": {}}}}
    before = template_hash(deploy["spec"]["template"])
    rollout.mark_restarted(deploy, now=1_800_000_000)
    once = template_hash(deploy["spec"]["template"])
    assert deploy["spec"]["template"]["metadata"]["annotations"] == {rollout.RESTARTED_AT: "2027-01-15T08:00:00Z"}
    rollout.mark_restarted(deploy, now=1_800_000_000.25)  # twice within a second still rolls
    assert len({before, once, template_hash(deploy["spec"]["template"])}) == 3
    assert deploy["spec"]["template"]["metadata"]["labels"] == {"app": "web"}


def test_the_template_hash_is_the_same_for_kubectls_spelling_of_the_same_template():
    """`rollout undo` sends the ReplicaSet's template as kubectl's Go structs write it: the
    ReplicaSet it came from is found again, not a new one made."""
    written = {"metadata": {"labels": {"app": "k"}},
               "spec": {"containers": [{"name": "c", "image": "i", "args": []}]}}
    by_kubectl = {"metadata": {"labels": {"app": "k"}, "creationTimestamp": None},
                  "spec": {"containers": [{"name": "c", "image": "i", "resources": {}}]}}
    assert template_hash(written) == template_hash(by_kubectl)
    limited = {"metadata": {"labels": {"app": "k"}},
               "spec": {"containers": [{"name": "c", "image": "i", "resources": {"limits": {"cpu": "1"}}}]}}
    assert template_hash(limited) != template_hash(written)
    with_volume = {**written, "spec": {**written["spec"], "volumes": [{"name": "v", "emptyDir": {}}]}}
    assert template_hash(with_volume) != template_hash({**written, "spec": {**written["spec"], "volumes": [
        {"name": "v", "downwardAPI": {}}]}})



@pytest.mark.parametrize("args, expected", [(("deployment/web",), ("Deployment", "web")),
                                            (("deploy", "web"), ("Deployment", "web")),
                                            (("sts/db",), ("StatefulSet", "db"))])
def test_rollout_targets(args, expected):
    assert rollout.parse_target(*args) == expected


@pytest.mark.parametrize("args", [("pod/web",), ("deployment",), ("deployment/web", "web")])
def test_bad_rollout_targets_are_usage_errors(args):
    with pytest.raises(EmukubeError) as err:
        rollout.parse_target(*args)
    assert err.value.exit_code == 2 and str(err.value).startswith("error: ")


def test_a_statefulset_pod_gets_a_volume_per_claim_template():
    from emukube.plan.workloads import new_pod_for

    sts = {"kind": "StatefulSet", "metadata": {"name": "db"},
           "spec": {"serviceName": "db", "template": {"metadata": {"labels": {"app": "db"}}, "spec": {
               "containers": [{"name": "db", "image": "x"}],
               "volumes": [{"name": "config", "configMap": {"name": "c"}}]}},
                    "volumeClaimTemplates": [{"metadata": {"name": "data"}}, {"metadata": {"name": "config"}}]}}
    plan = new_pod_for(sts, 2)
    assert plan.spec["volumes"] == [{"name": "config", "configMap": {"name": "c"}},
                                    {"name": "data", "persistentVolumeClaim": {"claimName": "data-db-2"}}]
    assert "volumes" not in sts["spec"]["template"]["spec"] or len(sts["spec"]["template"]["spec"]["volumes"]) == 1
    no_claims = new_pod_for({**sts, "spec": {**sts["spec"], "volumeClaimTemplates": [],
                                             "template": {"spec": {"containers": []}}}}, 0)
    assert "volumes" not in no_claims.spec


def _workload(kind: str, selector) -> dict:
    return {"kind": kind, "metadata": {"name": "web"},
            "spec": {"selector": selector, "template": {"metadata": {"labels": {"app": "web", "tier": "f"}}}}}


@pytest.mark.parametrize("kind, selector, labels, released", [
    ("Deployment", {"matchLabels": {"app": "web"}}, {"app": "web", "pod-template-hash": "h1"}, False),
    ("Deployment", {"matchLabels": {"app": "web"}}, {"app": "quarantine", "pod-template-hash": "h1"}, True),
    ("Deployment", {"matchLabels": {"app": "web"}}, {"app": "web", "pod-template-hash": "other"}, True),
    ("Deployment", {"matchLabels": {"app": "web"}}, {"app": "web"}, False),  # not yet published
    ("ReplicaSet", {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]}]}, {"app": "x"}, True),
    ("DaemonSet", {"matchLabels": {"app": "web"}}, {"app": "web", "extra": "y"}, False),
    ("ReplicationController", {"app": "web"}, {"app": "db"}, True),
    ("ReplicationController", None, {"app": "web", "tier": "f"}, False),  # the template's labels
    ("ReplicationController", None, {"app": "web"}, True),
    ("StatefulSet", {"matchLabels": {"app": "web"}}, {"app": "db"}, False),  # its pods keep their names
])
def test_a_controller_releases_the_pods_labelled_out_of_its_selector(kind, selector, labels, released):
    assert releases(_workload(kind, selector), labels, "h1") is released


def test_a_replicaset_adopts_an_orphan_its_selector_matches_the_oldest_first():
    def rs(name, created, kind="ReplicaSet", **spec):
        return {"kind": kind, "metadata": {"name": name, "namespace": "default", "creationTimestamp": created},
                "spec": {"selector": {"matchLabels": {"app": "herd"}}, **spec}}

    def pod(labels, **meta):
        return {"metadata": {"name": "solo", "labels": labels, **meta}}

    young, old = rs("young", "2026-01-02T00:00:00Z"), rs("old", "2026-01-01T00:00:00Z")
    deployment = {**rs("dep", "2025-01-01T00:00:00Z"), "kind": "Deployment"}  # adopts ReplicaSets, not pods
    assert adopter([young, old, deployment], "default", pod({"app": "herd"})) == "ReplicaSet/old"
    assert adopter([young], "other", pod({"app": "herd"})) == ""  # another namespace's
    assert adopter([young], "default", pod({"app": "stray"})) == ""
    # An owner already named is kept while it exists, whatever the labels (releasing is releases()'s)
    owned = pod({"app": "stray"}, ownerReferences=[{"kind": "ReplicaSet", "name": "young", "controller": True}])
    assert adopter([young, old], "default", owned) == "ReplicaSet/young"
    assert adopter([old], "default", owned) == ""
    # Not adopted: a pod with any owner, or being deleted, or by a ReplicaSet being deleted
    assert adopter([old], "default", pod({"app": "herd"}, ownerReferences=[{"kind": "Job", "name": "j"}])) == ""
    assert adopter([old], "default", pod({"app": "herd"}, deletionTimestamp="2026-01-03T00:00:00Z")) == ""
    going = rs("going", "2026-01-01T00:00:00Z")
    going["metadata"]["deletionTimestamp"] = "2026-01-03T00:00:00Z"
    assert adopter([going], "default", pod({"app": "herd"})) == ""
    rc = {"kind": "ReplicationController", "metadata": {"name": "rc", "namespace": "default"},
          "spec": {"selector": {"app": "herd"}}}
    assert adopter([rc], "default", pod({"app": "herd"})) == "ReplicationController/rc"
