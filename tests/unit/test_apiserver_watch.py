"""Watches: initial ADDED events, MODIFIED/DELETED, resuming, 410, bookmarks, selector transitions,
Tables, and no task left behind by a client that goes away."""

from __future__ import annotations

import asyncio
import json

from test_apiserver_harness import TOKEN, eventually, hub, pod, run

CMS = "/api/v1/namespaces/default/configmaps"
PODS = "/api/v1/namespaces/default/pods"
MERGE = "application/merge-patch+json"


def cm(name: str, labels: dict | None = None) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels or {}}}


async def open_watch(api, path: str, headers: dict | None = None):
    resp = await api.client.get(path, headers={"Authorization": f"Bearer {TOKEN}", **(headers or {})})
    assert resp.status == 200, await resp.text()
    return resp


async def next_event(resp, timeout: float = 2.0) -> dict:
    line = await asyncio.wait_for(resp.content.readline(), timeout)
    assert line, "the stream ended"
    return json.loads(line)


def test_watch_from_zero_then_changes(tmp_path):
    async def body(api):
        await api.ok("POST", CMS, cm("a"))
        resp = await open_watch(api, CMS + "?watch=true&resourceVersion=0")
        first = await next_event(resp)
        assert first["type"] == "ADDED" and first["object"]["metadata"]["name"] == "a"
        loop = asyncio.get_event_loop()
        started = loop.time()
        await api.ok("POST", CMS, cm("b"))
        event = await next_event(resp)
        assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "b")
        assert loop.time() - started < 0.5  # woken by the write, not by polling
        await api.ok("PATCH", CMS + "/b", {"data": {"k": "v"}}, ct=MERGE)
        event = await next_event(resp)
        assert event["type"] == "MODIFIED" and event["object"]["data"] == {"k": "v"}
        await api.ok("DELETE", CMS + "/b")
        assert (await next_event(resp))["type"] == "DELETED"
        resp.close()
    run(tmp_path, body)


def test_resume_from_resource_version_and_other_writers(tmp_path):
    async def body(api):
        first = await api.ok("POST", CMS, cm("a"))
        await api.ok("POST", CMS, cm("b"))
        resp = await open_watch(api, CMS + f"?watch=1&resourceVersion={first['metadata']['resourceVersion']}")
        event = await next_event(resp)
        assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "b")
        # a write straight to the store (another process) reaches the watcher through the poller
        api.store.create("configmaps", cm("c") | {"metadata": {"name": "c", "namespace": "default"}})
        event = await next_event(resp)
        assert event["object"]["metadata"]["name"] == "c"
        resp.close()
    run(tmp_path, body)


def test_too_old_resource_version_is_a_410_event(tmp_path):
    async def body(api):
        api.store.keep_changes = 2
        for i in range(6):
            await api.ok("POST", CMS, cm(f"c{i}"))
        api.store.compact()
        resp = await open_watch(api, CMS + "?watch=1&resourceVersion=1")
        event = await next_event(resp)
        assert event["type"] == "ERROR"
        status = event["object"]
        assert status["code"] == 410 and status["reason"] == "Expired"
        assert status["message"].startswith("too old resource version: 1 (")
        resp.close()
    run(tmp_path, body)


def test_bookmarks_and_initial_events_end(tmp_path):
    async def body(api):
        hub(api).bookmark_seconds = 0.2
        await api.ok("POST", CMS, cm("a"))
        resp = await open_watch(api, CMS + "?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
                                           "&allowWatchBookmarks=true")
        assert (await next_event(resp))["type"] == "ADDED"
        end = await next_event(resp)
        assert end["type"] == "BOOKMARK"
        assert end["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
        periodic = await next_event(resp)
        assert periodic["type"] == "BOOKMARK" and periodic["object"]["metadata"]["resourceVersion"]
        resp.close()
    run(tmp_path, body)


def test_selector_transitions_and_single_object(tmp_path):
    async def body(api):
        await api.ok("POST", CMS, cm("a", {"app": "web"}))
        await api.ok("POST", CMS, cm("other", {"app": "web"}))
        resp = await open_watch(api, CMS + "?watch=1&labelSelector=app%3Dweb&fieldSelector=metadata.name%3Da")
        assert (await next_event(resp))["type"] == "ADDED"
        await api.ok("PATCH", CMS + "/other", {"data": {"x": "1"}}, ct=MERGE)  # not this watch's object
        await api.ok("PATCH", CMS + "/a", {"metadata": {"labels": {"app": "db"}}}, ct=MERGE)
        event = await next_event(resp)
        assert (event["type"], event["object"]["metadata"]["name"]) == ("DELETED", "a")
        await api.ok("PATCH", CMS + "/a", {"metadata": {"labels": {"app": "web"}}}, ct=MERGE)
        assert (await next_event(resp))["type"] == "ADDED"
        resp.close()
    run(tmp_path, body)


def test_watch_with_tables(tmp_path):
    async def body(api):
        await api.ok("POST", PODS, pod("a"))
        accept = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}
        resp = await open_watch(api, PODS + "?watch=1", headers=accept)
        first = await next_event(resp)
        assert first["object"]["kind"] == "Table" and len(first["object"]["rows"]) == 1
        assert first["object"]["columnDefinitions"]
        await api.ok("POST", PODS, pod("b"))
        second = await next_event(resp)
        assert second["object"]["kind"] == "Table" and second["object"]["rows"][0]["cells"][0] == "b"
        resp.close()
    run(tmp_path, body)


def test_timeout_ends_the_stream_and_disconnect_leaves_no_task(tmp_path):
    async def body(api):
        resp = await open_watch(api, CMS + "?watch=1&timeoutSeconds=1")
        assert await asyncio.wait_for(resp.content.read(), 3) == b""
        before = len(asyncio.all_tasks())
        resp = await open_watch(api, CMS + "?watch=1")
        await asyncio.sleep(0.1)
        assert len(asyncio.all_tasks()) > before
        resp.close()
        await eventually(lambda: _settled(before), timeout=3)
    run(tmp_path, body)


async def _settled(before: int) -> bool:
    return len(asyncio.all_tasks()) <= before


def test_a_write_wakes_the_watchers_of_its_resource_and_those_of_every_resource():
    from emukube.apiserver.watch import Hub

    async def body():
        h = Hub(store=None)
        pods = asyncio.ensure_future(h.wait(5, "pods"))
        cms = asyncio.ensure_future(h.wait(5, "configmaps"))
        anything = asyncio.ensure_future(h.wait(5))
        await asyncio.sleep(0.05)
        h.notify("pods", rv=7)
        await asyncio.sleep(0.05)
        assert pods.done() and anything.done() and not cms.done()
        h.notify()  # a write the poller saw, of a resource not known: everyone
        await asyncio.wait_for(cms, 1)

    asyncio.run(body())
