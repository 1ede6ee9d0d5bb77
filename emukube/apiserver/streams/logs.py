"""pods/log: a container's output from the engine, as the kubelet serves it through the API
server (a chunked text/plain body; with follow=true it ends when the container stops)."""

from __future__ import annotations

import asyncio
import os
import time

from aiohttp import web

from ...runtime.engine_stream import Demux, engine
from ...runtime.log_paths import exited_log_path, init_log_path, previous_log_path
from .. import errors
from ..app import REGISTRY
from ..handlers import _truthy
from .logquery import engine_params, numbers, saved_log
from .target import find, restart_count, unavailable

IDLE_CHECK = 5.0  # seconds between looks at a quiet follower's connection


async def pod_log(request: web.Request, resource, namespace: str, name: str) -> web.StreamResponse:
    if request.method != "GET":
        raise errors.method_not_allowed()
    query = request.query
    limit = numbers(query, name).get("limitBytes", 0)
    target = await find(request.app[REGISTRY], resource, namespace, name, query.get("container", ""))
    restarts = restart_count(target)
    if _truthy(query.get("previous")) and restarts == 0:
        raise errors.bad_request(f'previous terminated container "{target.container}" in pod "{name}" not found')
    if _truthy(query.get("previous")):  # a restart made a new container: the old one's output was kept
        kept = previous_log_path(os.path.dirname(request.app[REGISTRY].store.path), namespace, name, target.container)
        if kept.is_file():
            data = saved_log(kept.read_bytes(), engine_params(query, {}, 0, time.time(), name))
            return web.Response(body=data[:limit] if limit else data, content_type="text/plain")
    if target.attrs is None and target.init:
        # Completed: kept in its sandbox; failed (the pod waits to run it again): in the state volume.
        saved = await engine().read_file(target.sandbox, init_log_path(target.container)) if target.sandbox else None
        exited = exited_log_path(os.path.dirname(request.app[REGISTRY].store.path), namespace, name, target.container)
        if saved is None and exited.is_file():
            saved = exited.read_bytes()
        if saved is not None:
            data = saved_log(saved, engine_params(query, {}, 0, time.time(), name))
            return web.Response(body=data[:limit] if limit else data, content_type="text/plain")
    if target.attrs is None:
        raise unavailable(target)
    params = engine_params(query, target.attrs.get("State") or {}, restarts, time.time(), name)
    source = await engine().logs(target.id, params)
    try:
        out = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await out.prepare(request)
        demux = None if target.tty else Demux()
        sent = 0
        while not limit or sent < limit:
            try:
                chunk = await asyncio.wait_for(source.content.readany(), IDLE_CHECK)
            except TimeoutError:
                # aiohttp >= 3.9 no longer cancels a handler whose client left: look ourselves.
                if request.transport is None or request.transport.is_closing():
                    break
                continue
            if not chunk:
                break
            data = chunk if demux is None else b"".join(payload for _, payload in demux.feed(chunk))
            if limit:
                data = data[:limit - sent]
            if data:
                await out.write(data)
                sent += len(data)
        await out.write_eof()
        return out
    finally:
        source.close()


HANDLERS = {("pods", "log"): pod_log}
