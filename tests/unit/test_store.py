"""The object store (the API server's etcd): keys, resourceVersions, preconditions, the change
log and its compaction, sharing one file between threads and processes, and surviving kill -9."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from at_once import at_once

from emukube.store import AlreadyExists, Change, Conflict, Gone, NotFound, Store, StoreError

REPO = Path(__file__).resolve().parents[2]


def pod(name: str, namespace: str = "default", **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace},
            "spec": {"containers": [{"name": "c", "image": "nginx"}], **spec}}


@pytest.fixture
def store(tmp_path):
    s = Store(str(tmp_path / "state.db"))
    yield s
    s.close()


def run_child(code: str, *args: str, **kwargs) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen([sys.executable, "-c", code, *args], env=env, cwd=REPO, **kwargs)


# --- create / get / list ---

def test_create_stamps_uid_timestamp_and_resource_version(store):
    made = store.create("pods", pod("web"))
    meta = made["metadata"]
    assert meta["resourceVersion"] == "1"
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", meta["uid"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["creationTimestamp"])
    assert store.get("pods", "default", "web") == made
    assert store.current_rv() == 1
    # given ones are kept: the API server may set them itself
    kept = store.create("pods", {"metadata": {"name": "x", "uid": "u-1", "creationTimestamp": "2020-01-01T00:00:00Z"}})
    assert (kept["metadata"]["uid"], kept["metadata"]["creationTimestamp"]) == ("u-1", "2020-01-01T00:00:00Z")
    assert kept["metadata"]["resourceVersion"] == "2"
    assert store.get("pods", "", "x") == kept  # no namespace: cluster-scoped key ""


def test_returned_objects_are_fresh_copies(store):
    given = pod("web")
    made = store.create("pods", given)
    assert "uid" not in given["metadata"]  # the caller's dict is not touched
    given["spec"]["containers"][0]["image"] = "changed"
    made["spec"]["containers"][0]["image"] = "changed too"
    got = store.get("pods", "default", "web")
    assert got["spec"]["containers"][0]["image"] == "nginx"
    got["metadata"]["labels"] = {"a": "b"}
    assert "labels" not in store.get("pods", "default", "web")["metadata"]
    listed, _ = store.list("pods")
    listed[0]["kind"] = "Nope"
    assert store.list("pods")[0][0]["kind"] == "Pod"


def test_list_sorts_by_namespace_then_name_and_filters(store):
    for ns, name in [("kube-system", "b"), ("default", "b"), ("default", "a"), ("apps", "z")]:
        store.create("pods", pod(name, ns))
    store.create("services", pod("a", "default"))
    store.create("namespaces", {"metadata": {"name": "default"}})
    objs, rv = store.list("pods")
    assert [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in objs] == [
        ("apps", "z"), ("default", "a"), ("default", "b"), ("kube-system", "b")]
    assert rv == store.current_rv() == 6
    objs, _ = store.list("pods", "default")
    assert [o["metadata"]["name"] for o in objs] == ["a", "b"]
    assert store.list("pods", "nowhere") == ([], 6)
    assert [o["metadata"]["name"] for o in store.list("namespaces")[0]] == ["default"]
    assert [o["metadata"]["name"] for o in store.list("namespaces", "")[0]] == ["default"]
    # the stored JSON, in the same order, and sorted as Python sorts (namespace, name), non-ASCII too
    store.create("pods", pod("ä", "default"))
    store.create("pods", pod("é-b", "default"))
    raws, rv = store.list_raw("pods", "default")
    assert [json.loads(r) for r in raws] == store.list("pods", "default")[0] and rv == store.current_rv()
    assert [json.loads(r)["metadata"]["name"] for r in raws] == sorted(["a", "b", "ä", "é-b"])


def test_errors_carry_the_api_servers_wording(store):
    store.create("deployments.apps", pod("web"))
    with pytest.raises(AlreadyExists, match=r'^deployments.apps "web" already exists$') as err:
        store.create("deployments.apps", pod("web"))
    assert (err.value.resource, err.value.namespace, err.value.name) == ("deployments.apps", "default", "web")
    assert store.current_rv() == 1  # a refused write takes no resourceVersion
    with pytest.raises(NotFound, match=r'^pods "web" not found$'):
        store.get("pods", "default", "web")
    with pytest.raises(NotFound):
        store.get("deployments.apps", "other", "web")
    with pytest.raises(NotFound):
        store.update("pods", pod("web"))
    with pytest.raises(NotFound):
        store.delete("pods", "default", "web")
    with pytest.raises(StoreError, match="metadata.name"):
        store.create("pods", {"metadata": {"namespace": "default"}})
    assert store.current_rv() == 1


# --- update / delete and their preconditions ---

def test_update_bumps_rv_and_checks_the_expected_one(store):
    made = store.create("pods", pod("web"))
    made["spec"]["nodeName"] = "node-1"
    updated = store.update("pods", made, expect_rv="1")
    assert updated["metadata"]["resourceVersion"] == "2"
    assert updated["metadata"]["uid"] == made["metadata"]["uid"]
    with pytest.raises(Conflict) as err:
        store.update("pods", dict(made, spec={}), expect_rv="1")
    assert str(err.value) == ('Operation cannot be fulfilled on pods "web": the object has been modified; '
                              "please apply your changes to the latest version and try again")
    assert store.get("pods", "default", "web")["spec"]["nodeName"] == "node-1"
    # no precondition: the last writer wins; uid and creationTimestamp carried over when left out
    bare = pod("web")
    bare["spec"]["nodeName"] = "node-2"
    replaced = store.update("pods", bare)
    assert replaced["metadata"]["resourceVersion"] == "3"
    assert replaced["metadata"]["uid"] == made["metadata"]["uid"]
    assert replaced["metadata"]["creationTimestamp"] == made["metadata"]["creationTimestamp"]


def test_an_update_that_changes_nothing_writes_nothing(store):
    made = store.create("pods", pod("web"))
    again = store.update("pods", dict(made, metadata=dict(made["metadata"], resourceVersion="")))
    assert again == made and store.current_rv() == 1
    assert [c.type for c in store.changes(0)] == ["ADDED"]


def test_delete_returns_the_object_with_the_deletions_rv(store):
    made = store.create("pods", pod("web"))
    store.create("pods", pod("other"))
    uid = made["metadata"]["uid"]
    with pytest.raises(Conflict) as err:
        store.delete("pods", "default", "web", expect_uid="not-it")
    assert str(err.value) == ('Operation cannot be fulfilled on pods "web": Precondition failed: '
                              f"UID in precondition: not-it, UID in object meta: {uid}")
    with pytest.raises(Conflict, match=r"ResourceVersion in precondition: 7, ResourceVersion in object meta: 1$"):
        store.delete("pods", "default", "web", expect_rv="7", expect_uid=uid)
    assert store.current_rv() == 2
    gone = store.delete("pods", "default", "web", expect_rv="1", expect_uid=uid)
    assert gone["metadata"]["resourceVersion"] == "3"
    assert gone["spec"] == made["spec"] and gone["metadata"]["uid"] == uid
    with pytest.raises(NotFound):
        store.get("pods", "default", "web")
    last = store.changes(2)
    assert last == [Change(3, "DELETED", "pods", "default", "web", gone)]
    # the name is free again, for an object with a new uid
    assert store.create("pods", pod("web"))["metadata"]["uid"] != uid


# --- resourceVersion and the change log ---

def test_resource_version_continues_after_reopening(tmp_path):
    path = str(tmp_path / "state.db")
    with Store(path) as first:
        for i in range(5):
            first.create("pods", pod(f"p{i}"))
        first.delete("pods", "default", "p0")
    with Store(path) as second:
        assert second.current_rv() == 6
        assert second.create("pods", pod("p9"))["metadata"]["resourceVersion"] == "7"
        assert [c.rv for c in second.changes(0)] == list(range(1, 8))
    db = sqlite3.connect(path)
    assert dict(db.execute("SELECT key, value FROM meta"))["schema_version"] == 1
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_a_database_from_a_newer_schema_is_refused(tmp_path):
    path = str(tmp_path / "state.db")
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = 99 WHERE key = 'schema_version'")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="schema version 99"):
        Store(path)


def test_changes_come_oldest_first_and_filter(store):
    store.create("pods", pod("a"))                          # 1
    store.create("pods", pod("b", "kube-system"))           # 2
    store.create("services", pod("a"))                      # 3
    store.update("pods", dict(pod("a"), spec={"x": 1}))     # 4
    store.delete("pods", "kube-system", "b")                # 5
    store.create("namespaces", {"metadata": {"name": "ns"}})  # 6
    every = store.changes(0)
    assert [(c.rv, c.type, c.resource, c.name) for c in every] == [
        (1, "ADDED", "pods", "a"), (2, "ADDED", "pods", "b"), (3, "ADDED", "services", "a"),
        (4, "MODIFIED", "pods", "a"), (5, "DELETED", "pods", "b"), (6, "ADDED", "namespaces", "ns")]
    assert all(c.object["metadata"]["resourceVersion"] == str(c.rv) for c in every)
    assert every[3].object["spec"] == {"x": 1}
    assert [c.rv for c in store.changes(0, resource="pods")] == [1, 2, 4, 5]
    assert [c.rv for c in store.changes(2, resource="pods")] == [4, 5]
    assert [c.rv for c in store.changes(0, resource="pods", namespace="kube-system")] == [2, 5]
    assert [c.rv for c in store.changes(0, namespace="default")] == [1, 3, 4]
    assert [c.rv for c in store.changes(0, namespace="")] == [6]
    assert [c.rv for c in store.changes(1, limit=2)] == [2, 3]
    assert store.changes(6) == [] and store.changes(100) == []


def test_compaction_keeps_the_newest_changes_and_older_resumes_are_gone(tmp_path):
    with Store(str(tmp_path / "state.db"), keep_changes=5) as s:
        for i in range(12):
            s.create("pods", pod(f"p{i}"))
        s.compact()
        assert s.compacted_rv() == 7
        assert [c.rv for c in s.changes(7)] == [8, 9, 10, 11, 12]  # 7 is still resumable
        assert [c.rv for c in s.changes(9, resource="pods")] == [10, 11, 12]
        with pytest.raises(Gone) as err:
            s.changes(6)
        assert (err.value.requested, err.value.oldest) == (6, 7)
        assert str(err.value) == "too old resource version: 6 (7)"
        with pytest.raises(Gone):
            s.changes(0, resource="services")  # even when nothing of it was dropped: etcd answers so
        assert len(s.list("pods")[0]) == 12  # objects are never compacted


def test_compaction_happens_by_itself(tmp_path):
    with Store(str(tmp_path / "state.db"), keep_changes=20) as s:
        for i in range(100):
            s.create("configmaps", pod(f"c{i}"))
        db = sqlite3.connect(str(tmp_path / "state.db"))
        kept = db.execute("SELECT count(*), min(rv) FROM changes").fetchone()
        db.close()
        assert 20 <= kept[0] <= 22 and kept[1] == s.compacted_rv() + 1
        with pytest.raises(Gone):
            s.changes(0)
    with Store(str(tmp_path / "state.db")) as s:  # the default keeps 10000: nothing dropped
        s.compact()
        assert s.compacted_rv() == 80


# --- sharing the file ---

def test_a_second_store_on_the_file_sees_writes_and_continues_the_sequence(tmp_path):
    path = str(tmp_path / "state.db")
    with Store(path) as a, Store(path) as b:
        a.create("pods", pod("from-a"))
        assert b.get("pods", "default", "from-a")["metadata"]["resourceVersion"] == "1"
        assert b.create("pods", pod("from-b"))["metadata"]["resourceVersion"] == "2"
        assert a.current_rv() == 2 and [c.name for c in a.changes(1)] == ["from-b"]


def test_threads_share_a_store_and_every_write_gets_its_own_rv(store):
    def writer(t: int) -> None:
        for i in range(40):
            store.create("pods", pod(f"t{t}-{i}"))
            store.get("pods", "default", f"t{t}-{i}")
            store.list("pods", "default")

    assert at_once(writer, 6) == []
    objs, rv = store.list("pods")
    assert rv == 240 and len(objs) == 240
    assert sorted(int(o["metadata"]["resourceVersion"]) for o in objs) == list(range(1, 241))
    assert [c.rv for c in store.changes(0, limit=1000)] == list(range(1, 241))


_WRITER = r"""
import sys
from emukube.store import Store
store = Store(sys.argv[1])
for i in range(int(sys.argv[2])):
    store.create("configmaps", {"metadata": {"name": f"child-{i}", "namespace": "default"}})
print(store.current_rv(), flush=True)
"""


def test_another_process_writes_alongside_and_each_sees_the_other(tmp_path):
    path = str(tmp_path / "state.db")
    with Store(path) as s:
        child = run_child(_WRITER, path, "150", stdout=subprocess.PIPE, text=True)
        for i in range(150):
            s.create("configmaps", pod(f"parent-{i}"))
        out, _ = child.communicate(timeout=60)
        assert child.returncode == 0
        assert int(out) <= 300
        objs, rv = s.list("configmaps", "default")
        assert rv == 300 and len(objs) == 300
        assert len({o["metadata"]["resourceVersion"] for o in objs}) == 300
        assert s.get("configmaps", "default", "child-149")["metadata"]["name"] == "child-149"


# --- durability ---

# Creates, updates and deletes in a loop, printing each write once the store has returned it.
_LOOP = r"""
import sys
from emukube.store import Store
store = Store(sys.argv[1], keep_changes=300)
tag, i = sys.argv[2], 0
while True:
    name = f"{tag}-{i}"
    obj = store.create("configmaps", {"metadata": {"name": name, "namespace": "default"}, "data": {"n": "0"}})
    print("C", name, obj["metadata"]["resourceVersion"], flush=True)
    obj["data"]["n"] = "1"
    obj = store.update("configmaps", obj, expect_rv=obj["metadata"]["resourceVersion"])
    print("U", name, obj["metadata"]["resourceVersion"], flush=True)
    if i % 3 == 0:
        store.delete("configmaps", "default", name)
        print("D", name, "-", flush=True)
    i += 1
"""


def _acknowledged(out: bytes) -> list[tuple[str, str, str]]:
    """The lines the child finished; the last piece is an unfinished line (or empty)."""
    return [tuple(line.decode().split()) for line in out.split(b"\n")[:-1]]


def _check_database(path: str) -> int:
    """Integrity, and no half-done write: the counter is the last change, and each object's row
    is its last change's object. Returns the counter."""
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        meta = dict(db.execute("SELECT key, value FROM meta"))
        assert db.execute("SELECT max(rv) FROM changes").fetchone()[0] == meta["rv"]
        logged = dict(((r, ns, n, rv), data) for rv, r, ns, n, data in
                      db.execute("SELECT rv, resource, namespace, name, data FROM changes"))
        for r, ns, n, rv, data in db.execute("SELECT resource, namespace, name, rv, data FROM objects"):
            assert rv <= meta["rv"]
            assert rv <= meta["compacted_rv"] or logged[(r, ns, n, rv)] == data
            assert json.loads(data)["metadata"]["resourceVersion"] == str(rv)
        return meta["rv"]
    finally:
        db.close()


def test_acknowledged_writes_survive_kill_9(tmp_path):
    path = str(tmp_path / "state.db")
    rng = random.Random(20261203)
    expected: dict[str, tuple[str, int]] = {}  # name -> (last acknowledged op, its rv)
    in_progress: set[str] = set()
    last_rv = 0
    for round_ in range(20):
        child = run_child(_LOOP, path, f"r{round_}", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if round_ % 5 == 4:  # now and then while it opens the database
            time.sleep(rng.uniform(0, 0.15))
            first = b""
        else:
            # A number of acknowledged writes, not a time: the kill lands mid-write however fast
            # the machine is (on a loaded one a sleep saw too few writes to test anything).
            first = b"".join(child.stdout.readline() for _ in range(rng.randint(14, 30)))
            assert first.endswith(b"\n"), child.stderr.read().decode()
        os.kill(child.pid, signal.SIGKILL)
        out = first + child.stdout.read()
        child.wait()
        child.stdout.close()
        child.stderr.close()
        assert child.returncode == -signal.SIGKILL
        acked = _acknowledged(out)
        for op, name, rv in acked:
            expected[name] = (op, 0 if rv == "-" else int(rv))
        # the name in progress may have later writes that committed but were never printed
        if acked:
            in_progress.add(acked[-1][1])

        rv_now = _check_database(path) if os.path.exists(path) else 0
        assert rv_now >= last_rv
        last_rv = rv_now
        with Store(path, keep_changes=300) as s:
            for name, (op, rv) in expected.items():
                if op == "D":
                    with pytest.raises(NotFound):
                        s.get("configmaps", "default", name)
                    continue
                if name in in_progress and int(name.split("-")[1]) % 3 == 0:
                    try:
                        got = s.get("configmaps", "default", name)
                    except NotFound:
                        continue  # its delete committed just before the kill
                else:
                    got = s.get("configmaps", "default", name)
                assert int(got["metadata"]["resourceVersion"]) >= rv
                assert rv <= rv_now
                if op == "U":
                    assert got["data"] == {"n": "1"}
    assert sum(op == "D" for op, _ in expected.values()) > 20  # the loop did run


def _write_in_forked_child(store: Store, parents_connection: int) -> None:
    if id(store._conn()) == parents_connection:  # the same address in the copied memory
        sys.exit(3)
    store.create("configmaps", pod("from-the-child"))
    store.close()


def test_a_forked_child_uses_the_same_store_object_safely(store):
    import multiprocessing

    store.create("configmaps", pod("from-the-parent"))
    child = multiprocessing.get_context("fork").Process(target=_write_in_forked_child, args=(store, id(store._conn())))
    child.start()
    child.join(30)
    assert child.exitcode == 0
    # the parent's connection was neither used nor closed by the child
    assert store.get("configmaps", "default", "from-the-child")["metadata"]["resourceVersion"] == "2"
    assert store.create("configmaps", pod("after"))["metadata"]["resourceVersion"] == "3"


def test_a_closed_store_refuses_work(tmp_path):
    s = Store(str(tmp_path / "state.db"))
    s.create("pods", pod("a"))
    s.close()
    with pytest.raises(StoreError, match="closed"):
        s.get("pods", "default", "a")
