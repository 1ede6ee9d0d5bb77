"""Watches: a chunked stream of {"type", "object"} lines read from the store's change log.

Every write in this process wakes the watchers at once (Hub.notify); a poller wakes them too when
the store's resourceVersion moves under another process's writes. Each watcher then reads the
change log from where it left off, so nothing is lost between wake-ups."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass

from aiohttp import web

from emukube.store import Gone

from ..k8s.resources import Resource
from . import convert, errors, negotiate
from .selectors import FieldReq, Requirement, exact_name, fields_match, labels_match
from .tasks import BackgroundTask

POLL_SECONDS = 0.1
BOOKMARK_SECONDS = 60.0
DEFAULT_TIMEOUT = 1800
_BATCH = 1000


class Hub:
    """Wakes waiting watchers: those of the resource just written, and those waiting on every
    resource (the garbage collector). Waking every watch on every write cost more of the API
    server's time during `up` than the writes: a client such as the controller watches 17
    resources, and each wake-up reads the change log. One poller notices writes made by other
    processes sharing the store."""

    def __init__(self, store):
        self.store = store
        self._events: dict[str | None, asyncio.Event] = {}  # resource key (None: any) -> its waiters' event
        self._latest: dict[str, int] = {}  # resource key -> the rv of its latest write told of
        self._seen = -1  # the store's rv as of the latest write told of, or the poller saw
        self._unknown = -1  # the rv as of the latest write to a resource not known (the poller's)
        self.bookmark_seconds = BOOKMARK_SECONDS
        self._background = BackgroundTask(self._poll)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = threading.get_ident()

    def notify(self, resource: str | None = None, rv: int | None = None) -> None:
        """A write to `resource` (None: to any, or unknown) landed, at resourceVersion rv. A
        write that waited on webhooks lands in a worker thread: told on the event loop's."""
        if self._loop is not None and threading.get_ident() != self._loop_thread:
            self._loop.call_soon_threadsafe(self.notify, resource, rv)
            return
        if rv is not None:
            self._seen = max(self._seen, rv)
        if resource is None:
            self._unknown = self._seen
        else:
            self._latest[resource] = max(self._latest.get(resource, -1), self._seen if rv is None else rv)
        for key in list(self._events) if resource is None else (resource, None):
            event = self._events.pop(key, None)
            if event is not None:
                event.set()

    async def wait(self, timeout: float, resource: str | None = None, after: int | None = None) -> None:
        """Until a write to `resource` (None: to any) or the timeout; at once when one after rv
        `after` was told of already (while the waiter was busy sending what it had read)."""
        if after is not None:
            latest = self._seen if resource is None else max(self._latest.get(resource, -1), self._unknown)
            if latest > after:
                return
        event = self._events.get(resource)
        if event is None:
            event = self._events[resource] = asyncio.Event()
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass

    def start(self) -> None:
        self._loop, self._loop_thread = asyncio.get_running_loop(), threading.get_ident()
        self._background.start()

    async def stop(self) -> None:
        await self._background.stop()

    async def _poll(self) -> None:
        while True:
            try:
                rv = self.store.current_rv()
            except Exception:  # a store being closed at shutdown
                rv = self._seen
            if rv > self._seen:  # written by another process: which resource is not known
                self._seen = rv
                self.notify()
            await asyncio.sleep(POLL_SECONDS)


@dataclass
class WatchSpec:
    resource: Resource  # as served (events.k8s.io converts from core)
    namespace: str | None
    labels: list[Requirement]
    fields: list[FieldReq]
    resource_version: str
    timeout: float
    bookmarks: bool
    initial_events: bool | None
    want: negotiate.Wanted


def _gone(rv: int, oldest: int) -> dict:
    return errors.expired(rv, oldest).status()


class Watcher:
    def __init__(self, registry, hub: Hub, spec: WatchSpec, response: web.StreamResponse, request: web.Request):
        self.registry, self.hub, self.spec, self.response, self.request = registry, hub, spec, response, request
        self.stored = convert.storage_resource(spec.resource)
        self.visible: set[tuple[str, str]] = set()
        self.name = exact_name(spec.fields)
        self.tables_sent = 0

    def _matches(self, obj: dict) -> bool:
        meta = obj.get("metadata", {})
        if self.name is not None and meta.get("name") != self.name:
            return False
        # A conversion webhook may change labels too, but asking it for every change only to
        # match a selector would be a call per event to every watcher: the stored labels decide.
        view = obj if convert.by_webhook(self.spec.resource) else convert.to_view(self.spec.resource, obj)
        return labels_match(self.spec.labels, view) and fields_match(self.spec.fields, obj)

    async def _render(self, obj: dict) -> dict:
        resource = self.spec.resource
        view = await asyncio.to_thread(convert.to_view, resource, obj) if convert.by_webhook(resource) \
            else convert.to_view(resource, obj)
        if self.spec.want.form == "table":
            self.tables_sent += 1
            return negotiate.render_one(self.spec.resource, view, self.spec.want, no_headers=self.tables_sent > 1)
        return negotiate.render_one(self.spec.resource, view, self.spec.want)

    async def send(self, kind: str, obj: dict) -> None:
        line = json.dumps({"type": kind, "object": obj}, separators=(",", ":")) + "\n"
        await self.response.write(line.encode())

    def _bookmark(self, rv: int, initial_end: bool = False) -> dict:
        meta: dict = {"resourceVersion": str(rv)}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        return {"kind": self.spec.resource.kind, "apiVersion": self.spec.resource.api_version, "metadata": meta}

    def _closed(self) -> bool:
        transport = self.request.transport
        return transport is None or transport.is_closing()

    async def _initial(self) -> int:
        items, rv = self.registry.list(self.stored, self.spec.namespace)
        for obj in items:
            if self._matches(obj):
                self.visible.add(_key(obj))
                await self.send("ADDED", await self._render(obj))
        if self.spec.initial_events:
            await self.send("BOOKMARK", self._bookmark(rv, initial_end=True))
        return rv

    def _resume_from(self) -> int:
        rv = int(self.spec.resource_version)
        if self.spec.labels or self.spec.fields:  # which objects the client saw (as of now: approximate)
            items, _ = self.registry.list(self.stored, self.spec.namespace)
            self.visible = {_key(o) for o in items if self._matches(o)}
        return rv

    async def _deliver(self, change) -> None:
        key = (change.namespace, change.name)
        if self.name is not None and change.name != self.name:
            return
        obj = change.object
        if change.type == "DELETED":
            if key in self.visible or self._matches(obj):
                self.visible.discard(key)
                await self.send("DELETED", await self._render(obj))
            return
        if self._matches(obj):
            kind = "MODIFIED" if (key in self.visible or not (self.spec.labels or self.spec.fields)) \
                and change.type != "ADDED" else "ADDED"
            self.visible.add(key)
            await self.send(kind, await self._render(obj))
        elif key in self.visible:  # stopped matching the selector: the client sees it leave
            self.visible.discard(key)
            await self.send("DELETED", await self._render(obj))

    async def run(self) -> None:
        spec = self.spec
        initial = spec.initial_events or (spec.initial_events is None and spec.resource_version in ("", "0"))
        last = await self._initial() if initial else self._resume_from()
        deadline = time.monotonic() + spec.timeout
        last_bookmark = time.monotonic()
        ns = spec.namespace if spec.resource.namespaced else None
        while time.monotonic() < deadline and not self._closed():
            head = self.registry.store.current_rv()  # read first: every change up to it is below
            try:
                changes = self.registry.store.changes(last, resource=self.stored.key, namespace=ns, limit=_BATCH)
            except Gone as exc:
                await self.send("ERROR", _gone(exc.requested, exc.oldest))
                return
            for change in changes:
                await self._deliver(change)
                last = change.rv
            if len(changes) == _BATCH:
                continue
            last = max(last, head)
            if spec.bookmarks and time.monotonic() - last_bookmark >= self.hub.bookmark_seconds:
                await self.send("BOOKMARK", self._bookmark(last))
                last_bookmark = time.monotonic()
            await self.hub.wait(min(1.0, self.hub.bookmark_seconds, max(deadline - time.monotonic(), 0.0)),
                                self.stored.key, after=last)


def _key(obj: dict) -> tuple[str, str]:
    meta = obj.get("metadata", {})
    return meta.get("namespace", ""), meta.get("name", "")


async def serve(request: web.Request, registry, hub: Hub, spec: WatchSpec) -> web.StreamResponse:
    response = web.StreamResponse(status=200, headers={"Content-Type": "application/json",
                                                       "Cache-Control": "no-cache, private"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    watcher = Watcher(registry, hub, spec, response, request)
    try:
        await watcher.run()
    except ConnectionError:
        return response  # the client went away; nothing to clean up but this coroutine
    except errors.ApiError as exc:  # a conversion webhook failed: the watch ends with why
        await watcher.send("ERROR", exc.status())
    try:
        await response.write_eof()
    except ConnectionError:
        pass
    return response
