"""The cluster's object store: Kubernetes objects as JSON in one SQLite file, one global
resourceVersion, and a change log that watches resume from. It is to our API server what etcd is
to kube-apiserver, and like etcd it knows nothing of API semantics (generation, defaulting,
finalizers): it keys, versions, stamps uid/creationTimestamp, and logs.

Durability: WAL journal, and every write is ONE transaction (object row, change-log row,
counter), so a write that returned survives kill -9 of whatever holds the store, and none is
half-written. synchronous=NORMAL: a commit is in the kernel's cache, not yet on the disk, when it
returns; only a crash of the host itself can lose the last writes (never the file's consistency).
FULL's fsync per commit held the API server's one thread about 1.1 s of an `up` of the pizza shop,
the disk being busy with the engine's containers meanwhile.
Threads get a connection each (WAL lets their reads run beside a write); several processes may
share the file (busy_timeout makes a writer wait for another's transaction). A connection must not
cross a fork, so a forked child (multiprocessing) leaves its parent's alone and opens its own.

Only the standard library: this also runs inside the cluster's controller container."""

from __future__ import annotations

import builtins
import json
import os
import sqlite3
import threading
import time
import uuid
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, cast

from ..k8s.times import timestamp

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 10_000

# Objects: a rowid table (pod JSON is several kB, too big for WITHOUT ROWID's inline rows) with
# the key as a unique index, whose order is list()'s order. The change log's rv is its rowid.
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value)",
    "CREATE TABLE IF NOT EXISTS objects (resource TEXT NOT NULL, namespace TEXT NOT NULL,"
    " name TEXT NOT NULL, rv INTEGER NOT NULL, data TEXT NOT NULL)",
    "CREATE UNIQUE INDEX IF NOT EXISTS objects_key ON objects (resource, namespace, name)",
    "CREATE TABLE IF NOT EXISTS changes (rv INTEGER PRIMARY KEY, type TEXT NOT NULL,"
    " resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL, data TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS changes_by_resource ON changes (resource, rv)",
)

_MODIFIED = "the object has been modified; please apply your changes to the latest version and try again"


class StoreError(Exception):
    """What the store raises for a request it cannot do."""


class _KeyedError(StoreError):
    what = ""

    def __init__(self, resource: str = "", namespace: str = "", name: str = "", message: str | None = None):
        self.resource, self.namespace, self.name = resource, namespace, name
        # kube-apiserver's wording: `pods "web" not found`, `deployments.apps "web" already exists`
        super().__init__(message or f'{resource} "{name}" {self.what}')


class NotFound(_KeyedError):
    what = "not found"


class AlreadyExists(_KeyedError):
    what = "already exists"


class Conflict(StoreError):
    """A resourceVersion or uid precondition failed. str() is the API server's whole message;
    .detail is the part after the colon (as etcd3's store words it)."""

    def __init__(self, resource: str = "", namespace: str = "", name: str = "", detail: str = _MODIFIED):
        self.resource, self.namespace, self.name, self.detail = resource, namespace, name, detail
        super().__init__(f'Operation cannot be fulfilled on {resource} "{name}": {detail}')


class Gone(StoreError):
    """Changes after .requested were compacted away; .oldest is the oldest rv still resumable
    (the compacted rv), the second number of kube-apiserver's 410 message."""

    def __init__(self, requested: int, oldest: int):
        self.requested, self.oldest = requested, oldest
        super().__init__(f"too old resource version: {requested} ({oldest})")


@dataclass(frozen=True)
class Change:
    rv: int
    type: str  # "ADDED" | "MODIFIED" | "DELETED"
    resource: str
    namespace: str
    name: str
    object: dict


def _now() -> str:
    return timestamp(time.time())


def _dump(obj: dict) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _object(data: str | bytes) -> dict:
    obj: dict = json.loads(data)
    return obj


def _own(obj: dict) -> tuple[dict, dict, str, str]:
    """A private copy of obj, its metadata, namespace and name."""
    obj = json.loads(_dump(obj))
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = obj["metadata"] = {}
    name = meta.get("name")
    if not name or not isinstance(name, str):
        raise StoreError("metadata.name is required")
    return obj, meta, meta.get("namespace") or "", name


_open_stores: weakref.WeakSet[Store] = weakref.WeakSet()
_inherited: list[sqlite3.Connection] = []


def _after_fork_in_child() -> None:
    # SQLite forbids using a connection from a forked child, closing included (a close may
    # checkpoint and touch locks the parent holds): keep the parent's unused, start afresh.
    for store in list(_open_stores):
        _inherited.extend(store._conns)
        store._forget_connections()


os.register_at_fork(after_in_child=_after_fork_in_child)


class Store:
    def __init__(self, path: str, keep_changes: int = 10000):
        self.path = str(path)
        self.keep_changes = max(0, keep_changes)
        # Compaction is a range delete on the rowid: cheap, but not worth doing on every write.
        self._compact_every = max(1, min(1000, self.keep_changes // 10))
        self._writes = 0
        self._closed = False
        self._forget_connections()
        _open_stores.add(self)
        self._create_schema()

    def _forget_connections(self) -> None:
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        # Serialises this process's writers here instead of in SQLite's busy handler, which
        # sleeps in steps of milliseconds; other processes still wait through busy_timeout.
        self._write_lock = threading.Lock()

    # --- connections and transactions ---

    def _conn(self) -> sqlite3.Connection:
        conn = cast("sqlite3.Connection | None", getattr(self._local, "conn", None))
        if conn is not None and not self._closed:
            return conn
        with self._conns_lock:
            if self._closed:
                raise StoreError("the store is closed")
            # isolation_level=None: no implicit transactions; ours are explicit BEGIN/COMMIT.
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000,
                                   isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                conn.close()
                raise StoreError(f"{self.path}: cannot use a WAL journal (got {mode})")
            conn.execute("PRAGMA synchronous = NORMAL")  # see the module's docstring
            self._conns.append(conn)
        self._local.conn = conn
        return conn

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: every SELECT in it sees the same snapshot."""
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken with the write lock up front (IMMEDIATE) so that reading
        the counter and bumping it cannot interleave with another process's write."""
        conn = self._conn()
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _create_schema(self) -> None:
        with self._writing() as conn:
            for statement in _SCHEMA:
                conn.execute(statement)
            conn.executemany("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                             (("schema_version", SCHEMA_VERSION), ("rv", 0), ("compacted_rv", 0)))
            version = self._meta(conn, "schema_version")
        if version != SCHEMA_VERSION:
            self.close()
            raise StoreError(f"{self.path}: schema version {version}, this store knows {SCHEMA_VERSION}")

    @staticmethod
    def _meta(conn: sqlite3.Connection, key: str) -> int:
        return int(conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0])

    def _bump(self, conn: sqlite3.Connection) -> int:
        rv = self._meta(conn, "rv") + 1
        conn.execute("UPDATE meta SET value = ? WHERE key = 'rv'", (rv,))
        self._writes += 1  # under the write lock
        return rv

    def _log(self, conn: sqlite3.Connection, rv: int, kind: str, key: tuple[str, str, str], data: str) -> None:
        conn.execute("INSERT INTO changes (rv, type, resource, namespace, name, data) VALUES (?, ?, ?, ?, ?, ?)",
                     (rv, kind, *key, data))

    def _after_write(self) -> None:
        if self._writes >= self._compact_every:
            self.compact()

    def close(self) -> None:
        with self._conns_lock:
            self._closed = True
            conns, self._conns = self._conns, []
        for conn in conns:
            conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reads ---

    def current_rv(self) -> int:
        return self._meta(self._conn(), "rv")

    def get(self, resource: str, namespace: str, name: str) -> dict:
        row = self._conn().execute("SELECT data FROM objects WHERE resource = ? AND namespace = ? AND name = ?",
                                   (resource, namespace or "", name)).fetchone()
        if row is None:
            raise NotFound(resource, namespace or "", name)
        return _object(row[0])

    def counts(self) -> dict[str, int]:
        """How many objects of each resource are stored (apiserver_storage_objects)."""
        rows = self._conn().execute("SELECT resource, COUNT(*) FROM objects GROUP BY resource").fetchall()
        return {resource: count for resource, count in rows}

    def list(self, resource: str, namespace: str | None = None) -> tuple[list[dict], int]:
        """Objects sorted by (namespace, name), and the rv the listing is consistent at."""
        raws, rv = self.list_raw(resource, namespace)
        return [_object(data) for data in raws], rv

    def list_raw(self, resource: str, namespace: str | None = None) -> tuple[builtins.list[str], int]:
        """As list(), each object as the JSON text it is stored as (a response can carry it as it is)."""
        sql = "SELECT data FROM objects WHERE resource = ?"
        params: tuple = (resource,)
        if namespace is not None:
            sql, params = sql + " AND namespace = ?", (resource, namespace)
        with self._reading() as conn:
            rv = self._meta(conn, "rv")
            rows = conn.execute(sql + " ORDER BY namespace, name", params).fetchall()
        return [data for (data,) in rows], rv

    def changes(self, since_rv: int, resource: str | None = None, namespace: str | None = None,
                limit: int = 1000) -> builtins.list[Change]:
        """Changes with rv > since_rv, oldest first. Gone if some change after since_rv was
        compacted away (since_rv < oldest kept - 1)."""
        sql = "SELECT rv, type, resource, namespace, name, data FROM changes WHERE rv > ?"
        params: list = [since_rv]
        if resource is not None:
            sql += " AND resource = ?"
            params.append(resource)
        if namespace is not None:
            sql += " AND namespace = ?"
            params.append(namespace)
        with self._reading() as conn:
            compacted = self._meta(conn, "compacted_rv")
            if since_rv < compacted:
                raise Gone(since_rv, compacted)
            rows = conn.execute(sql + " ORDER BY rv LIMIT ?", (*params, limit)).fetchall()
        return [Change(rv, kind, res, ns, name, json.loads(data)) for rv, kind, res, ns, name, data in rows]

    def compacted_rv(self) -> int:
        """The oldest rv changes() can still resume from."""
        return self._meta(self._conn(), "compacted_rv")

    # --- writes ---

    def create(self, resource: str, obj: dict) -> dict:
        """Stores a new object; sets uid and creationTimestamp when absent. AlreadyExists."""
        obj, meta, namespace, name = _own(obj)
        meta["uid"] = meta.get("uid") or str(uuid.uuid4())
        meta["creationTimestamp"] = meta.get("creationTimestamp") or _now()
        key = (resource, namespace, name)
        with self._writing() as conn:
            if conn.execute("SELECT 1 FROM objects WHERE resource = ? AND namespace = ? AND name = ?", key).fetchone():
                raise AlreadyExists(*key)
            rv = self._bump(conn)
            meta["resourceVersion"] = str(rv)
            data = _dump(obj)
            conn.execute("INSERT INTO objects (resource, namespace, name, rv, data) VALUES (?, ?, ?, ?, ?)",
                         (*key, rv, data))
            self._log(conn, rv, "ADDED", key, data)
        self._after_write()
        return obj

    def update(self, resource: str, obj: dict, expect_rv: str | None = None) -> dict:
        """Replaces the stored object. With expect_rv (not empty), Conflict unless it is the stored
        one. NotFound. uid and creationTimestamp are kept when obj lacks them. As etcd3's store
        does, an update that changes nothing but resourceVersion writes nothing and returns the
        stored object (same rv, no MODIFIED change)."""
        obj, meta, namespace, name = _own(obj)
        key = (resource, namespace, name)
        with self._writing() as conn:
            row = conn.execute("SELECT rv, data FROM objects WHERE resource = ? AND namespace = ? AND name = ?",
                               key).fetchone()
            if row is None:
                raise NotFound(*key)
            if expect_rv and str(expect_rv) != str(row[0]):
                raise Conflict(*key)
            stored = _object(row[1])
            stored_meta = stored.get("metadata") or {}
            for field in ("uid", "creationTimestamp"):
                if not meta.get(field) and stored_meta.get(field):
                    meta[field] = stored_meta[field]
            meta["resourceVersion"] = str(row[0])
            if obj == stored:
                return stored
            rv = self._bump(conn)
            meta["resourceVersion"] = str(rv)
            data = _dump(obj)
            conn.execute("UPDATE objects SET rv = ?, data = ? WHERE resource = ? AND namespace = ? AND name = ?",
                         (rv, data, *key))
            self._log(conn, rv, "MODIFIED", key, data)
        self._after_write()
        return obj

    def delete(self, resource: str, namespace: str, name: str,
               expect_rv: str | None = None, expect_uid: str | None = None) -> dict:
        """Removes the object and returns it as last stored, with the deletion's rv. NotFound;
        Conflict when a precondition fails (uid checked first, as the apiserver does)."""
        key = (resource, namespace or "", name)
        with self._writing() as conn:
            row = conn.execute("SELECT rv, data FROM objects WHERE resource = ? AND namespace = ? AND name = ?",
                               key).fetchone()
            if row is None:
                raise NotFound(*key)
            obj = _object(row[1])
            meta = obj.setdefault("metadata", {})
            uid = meta.get("uid", "")
            if expect_uid and expect_uid != uid:
                raise Conflict(*key, detail=f"Precondition failed: UID in precondition: {expect_uid}, "
                                            f"UID in object meta: {uid}")
            if expect_rv and str(expect_rv) != str(row[0]):
                raise Conflict(*key, detail=f"Precondition failed: ResourceVersion in precondition: {expect_rv}, "
                                            f"ResourceVersion in object meta: {row[0]}")
            rv = self._bump(conn)
            meta["resourceVersion"] = str(rv)
            conn.execute("DELETE FROM objects WHERE resource = ? AND namespace = ? AND name = ?", key)
            self._log(conn, rv, "DELETED", key, _dump(obj))
        self._after_write()
        return obj

    def compact(self) -> None:
        """Drops all but the newest keep_changes change rows and records the newest rv dropped:
        changes() since anything older raises Gone. Done every few writes by itself."""
        with self._writing() as conn:
            self._writes = 0
            row = conn.execute("SELECT rv FROM changes ORDER BY rv DESC LIMIT 1 OFFSET ?",
                               (self.keep_changes,)).fetchone()
            if row is None:
                return
            cutoff = row[0]
            conn.execute("DELETE FROM changes WHERE rv <= ?", (cutoff,))
            if cutoff > self._meta(conn, "compacted_rv"):
                conn.execute("UPDATE meta SET value = ? WHERE key = 'compacted_rv'", (cutoff,))
