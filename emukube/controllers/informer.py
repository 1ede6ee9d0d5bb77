"""The controller's view of the desired objects: list, then watch, per resource, into a cache
(client-go's informer, in small). Every change wakes the control loop; a watch that ends or
breaks resumes from the last resourceVersion seen, and one the server compacted away (410)
lists again, so the cache never misses a change for long."""

from __future__ import annotations

import threading
import time
from typing import Callable

from ..k8s.client import ApiError, KubeClient
from ..k8s.resources import Resource

Key = tuple[str, str, str]  # (resource key, namespace, name)


class Informer:
    def __init__(self, client: KubeClient, resources: list[Resource], on_change: Callable[[], None]):
        self.client, self.resources, self.on_change = client, resources, on_change
        self.cache: dict[Key, dict] = {}
        self.lock = threading.Lock()
        self.synced_resources: set[str] = set()
        self.version = 0  # bumped on every change: the loop re-reads the objects when it moved
        self.seen_rv: dict[str, int] = {}  # resource key -> the newest resourceVersion its stream delivered
        self.deleted: dict[Key, str] = {}  # key -> uid a stream said was deleted (until it comes back)

    def start(self) -> None:
        for res in self.resources:
            threading.Thread(target=self._run, args=(res,), daemon=True, name=f"informer-{res.key}").start()

    def synced(self) -> bool:
        return len(self.synced_resources) == len(self.resources)

    def wait_synced(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.synced() and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.synced()

    def objects(self) -> tuple[list[dict], int, dict[str, int]]:
        """The cached objects, the version they are at, and what each stream had delivered."""
        with self.lock:
            return list(self.cache.values()), self.version, dict(self.seen_rv)

    def deleted_uid(self, res: Resource, namespace: str, name: str) -> str | None:
        """The uid of the object of this name the API said was deleted (None: not deleted,
        perhaps merely not seen yet)."""
        with self.lock:
            return self.deleted.get((res.key, namespace, name))

    def forget_deleted(self, res: Resource, namespace: str, name: str) -> None:
        """Acted on: a new object of the same name (a StatefulSet's pod) is not that one."""
        with self.lock:
            self.deleted.pop((res.key, namespace, name), None)

    def get(self, res: Resource, namespace: str, name: str) -> dict | None:
        with self.lock:
            return self.cache.get((res.key, namespace, name))

    # ---- one resource ------------------------------------------------------------------
    def _run(self, res: Resource) -> None:
        rv = ""
        while True:
            try:
                if not rv:
                    rv = self._relist(res)
                for event in self.client.watch(res, rv):
                    rv = self._apply(res, event) or rv
                    if event.get("type") == "ERROR":
                        rv = ""  # 410 Gone: compacted; list again
                        break
            except ApiError as exc:
                if exc.code == 410:
                    rv = ""
                else:
                    time.sleep(0.5)
            except Exception:  # noqa: BLE001 - the API server restarting: try again shortly
                time.sleep(0.5)

    def relist(self, resources: list[Resource]) -> None:
        """Bring these resources up to the store's present now, in this order. The loop does so
        for what pods are made from (Services for their variables, ConfigMaps, Secrets) before it
        acts on a change: each resource's stream is ordered, but not the streams among
        themselves, so a Deployment can arrive before the Service applied just before it."""
        for res in resources:
            self._relist(res)

    def _relist(self, res: Resource) -> str:
        listed = self.client.list(res)
        for o in listed.get("items", []):  # list items may come without them
            o.setdefault("kind", res.kind)
            o.setdefault("apiVersion", res.api_version)
        fresh = {(res.key, _ns(o), o["metadata"]["name"]): o for o in listed.get("items", [])}
        with self.lock:
            changed = {k: v for k, v in self.cache.items() if k[0] == res.key} != fresh
            for key in [k for k in self.cache if k[0] == res.key]:
                if key not in fresh:
                    self.deleted[key] = self.cache[key]["metadata"].get("uid", "")
                del self.cache[key]
            for key in fresh:
                self.deleted.pop(key, None)
            self.cache.update(fresh)
            if changed:
                self.version += 1
        rv = listed.get("metadata", {}).get("resourceVersion", "")
        self._seen(res, rv)
        self.synced_resources.add(res.key)
        self.on_change()
        return rv

    def _seen(self, res: Resource, rv: str) -> None:
        """Events of one resource come in resourceVersion order: once its stream delivered rv,
        every write to that resource up to rv is in the cache (what `up` waits for)."""
        if rv.isdigit():
            with self.lock:
                self.seen_rv[res.key] = max(self.seen_rv.get(res.key, 0), int(rv))

    def _apply(self, res: Resource, event: dict) -> str:
        kind, obj = event.get("type"), event.get("object") or {}
        meta = obj.get("metadata") or {}
        if kind == "BOOKMARK":
            self._seen(res, meta.get("resourceVersion", ""))
            return meta.get("resourceVersion", "")
        if kind not in ("ADDED", "MODIFIED", "DELETED"):
            return ""
        # Items of a list carry no kind; watch events do, but be as lenient for both.
        obj.setdefault("kind", res.kind)
        obj.setdefault("apiVersion", res.api_version)
        key = (res.key, _ns(obj), meta.get("name", ""))
        with self.lock:
            if _rv(self.cache.get(key)) > _rv(obj):
                return meta.get("resourceVersion", "")  # older than what a relist already brought
            if kind == "DELETED":
                self.cache.pop(key, None)
                self.deleted[key] = meta.get("uid", "")
            else:
                self.cache[key] = obj
                self.deleted.pop(key, None)
            self.version += 1
        self._seen(res, meta.get("resourceVersion", ""))
        self.on_change()
        return meta.get("resourceVersion", "")


def _rv(obj: dict | None) -> int:
    rv = ((obj or {}).get("metadata") or {}).get("resourceVersion", "")
    return int(rv) if str(rv).isdigit() else 0


def _ns(obj: dict) -> str:
    return (obj.get("metadata") or {}).get("namespace", "") or ""
