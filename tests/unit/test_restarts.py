"""A restart as a new container: the restart count, back-off and lastState follow it to its new
id (controllers/restarts.py); the pod it belongs to is read from its holder's labels
(runtime/restart.py); pods that ran to their end are not waited for (podstatus.ran_to_end)."""

from __future__ import annotations

import json
from types import SimpleNamespace

from emukube.controllers.podstatus import ran_to_end
from emukube.controllers.restarts import KEEP_UNSEEN, Restarts
from emukube.runtime import labels as L
from emukube.runtime.log_paths import previous_log_path
from emukube.runtime.restart import plan_of

ENDED = {"exitCode": 1, "reason": "Error", "startedAt": "2026-03-01T12:00:00Z", "finishedAt": "2026-03-01T12:00:05Z"}


def test_the_count_back_off_and_last_state_move_to_the_new_container():
    r = Restarts()
    r.restarted("old", 1000.0, 1000.0)
    r.moved("old", "new", ENDED)
    assert r.count("new") == 1 and r.count("old") == 0
    assert r.current_backoff("new", 1001.0) == 10 and r.last_state("new") == ENDED


def test_a_just_restarted_container_is_kept_until_observed():
    r = Restarts()
    r.restarted("new", 1000.0, 1000.0)
    r.keep_only(set(), now=1000.0 + KEEP_UNSEEN - 1)
    assert r.count("new") == 1
    r.keep_only(set(), now=1000.0 + KEEP_UNSEEN + 1)
    assert r.count("new") == 0


def test_the_pod_from_its_holder_labels():
    spec = {"containers": [{"name": "main", "image": "x"}]}
    holder = SimpleNamespace(labels={L.NAME: "db-0", L.NAMESPACE: "shop", L.OWNER: "StatefulSet/db",
                                     L.TEMPLATE_HASH: "abc", L.ORDINAL: "0", L.NODE: "node-2",
                                     L.POD_SPEC: json.dumps(spec), L.POD_LABEL + "app": "db"})
    plan = plan_of(holder)
    assert (plan.name, plan.namespace, plan.owner_kind, plan.owner_name, plan.ordinal, plan.node) == \
           ("db-0", "shop", "StatefulSet", "db", 0, "node-2")
    assert plan.labels == {"app": "db"} and plan.spec == spec


def test_previous_log_path_is_in_the_state_volume():
    assert str(previous_log_path("/state", "shop", "web-1", "main")) == "/state/previous-logs/shop/web-1/main.log"


def test_pods_that_ran_to_their_end():
    ended = {"phase": "Error", "containers": [{"state": {"terminated": ENDED}}]}
    assert ran_to_end({"restartPolicy": "Never"}, ended)
    assert not ran_to_end({"restartPolicy": "Always"}, ended)
    assert ran_to_end({}, {"phase": "Completed", "containers": []})
    running = {"phase": "Running", "containers": [{"state": {"terminated": ENDED}}, {"state": {"running": {}}}]}
    assert not ran_to_end({"restartPolicy": "OnFailure"}, running)


def test_a_restart_under_way_is_counted_on_the_new_container_only():
    r = Restarts()
    r.restarted("old", 1000.0, 1001.0)  # ended at 1000, restart recorded at 1001
    assert r.restarted_since("old", 1000.0) and not r.restarted_since("old", 1002.0)
    assert not Restarts().restarted_since("old", 1000.0)
