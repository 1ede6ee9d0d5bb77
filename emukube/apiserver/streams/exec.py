"""pods/exec and pods/attach over WebSocket (v5.channel.k8s.io, v4.channel.k8s.io), what kubectl
uses by default: the engine's exec or attach connection is pumped both ways as channels (see
channels.py); the end is a Status on the error channel, then the WebSocket closes.

Each session is two tasks on the event loop and one connection to the engine, all closed when
either side ends, whichever it is: a client that leaves takes its session with it."""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import WSMsgType, web

from ...runtime.engine_stream import Demux, EngineError, engine
from .. import errors
from ..app import REGISTRY
from ..handlers import _truthy
from . import channels as ch
from .target import Target, find, unavailable

EXIT_CODE_TRIES = 50  # x 20 ms: the engine may report an exec Running a moment after its output ends


def _internal(message: str) -> errors.ApiError:
    return errors.ApiError(500, "InternalError", f"Internal error occurred: {message}",
                           {"causes": [{"message": message}]})


def _not_running(target: Target, verb: str) -> errors.ApiError:
    state = ((target.attrs or {}).get("State") or {}).get("Status", "exited")
    word = {"created": "CONTAINER_CREATED", "running": "CONTAINER_RUNNING"}.get(state, "CONTAINER_EXITED")
    if verb == "exec":
        return _internal(f"error executing command in container: failed to exec in container: "
                         f"container is in {word} state")
    return _internal(f"error attaching to container: container is in {word} state")


async def _exit_code(exec_id: str) -> int:
    for _ in range(EXIT_CODE_TRIES):
        code = await engine().exec_exit_code(exec_id)
        if code is not None:
            return int(code)
        await asyncio.sleep(0.02)
    return 1


async def _open(request: web.Request, resource, namespace: str, name: str, verb: str):
    query = request.query
    opts = {k: _truthy(query.get(k)) for k in ("stdin", "stdout", "stderr", "tty")}
    if not (opts["stdin"] or opts["stdout"] or opts["stderr"]):
        raise errors.bad_request("you must specify at least 1 of stdin, stdout, stderr")
    command = query.getall("command", [])
    if verb == "exec" and not command:
        raise errors.bad_request("you must specify at least one command for the container")
    target = await find(request.app[REGISTRY], resource, namespace, name, query.get("container", ""))
    if target.attrs is None:
        raise unavailable(target)
    if not target.running:
        raise _not_running(target, verb)
    if request.headers.get("Upgrade", "").lower() != "websocket":
        # SPDY is not spoken here: kubectl >= 1.30 talks WebSocket first.
        raise errors.bad_request("Upgrade request required")
    ws = web.WebSocketResponse(protocols=ch.PROTOCOLS, max_msg_size=0)
    if ws.can_prepare(request).protocol is None:
        raise errors.bad_request(f"none of the offered WebSocket subprotocols is served: use {ch.V5} or {ch.V4}")
    # An attach's stream is raw or multiplexed as the container was made, whatever is asked.
    tty = target.tty if verb == "attach" else opts["tty"]
    eng = engine()
    try:
        if verb == "exec":
            exec_id = await eng.exec_create(target.id, command, tty=tty, stdin=opts["stdin"],
                                            stdout=opts["stdout"], stderr=opts["stderr"] and not tty)
            reader, writer = await eng.exec_start(exec_id, tty)
            handle = f"/exec/{exec_id}"
        else:
            exec_id = ""
            reader, writer = await eng.attach(target.id, stdin=opts["stdin"], stdout=opts["stdout"],
                                              stderr=opts["stderr"])
            handle = f"/containers/{target.id}"
    except EngineError as exc:
        if exc.status == 409:
            raise _not_running(target, verb) from None
        raise _internal(f"error {'executing command in' if verb == 'exec' else 'attaching to'} container: "
                        f"{exc}") from None
    return ws, opts, tty, command, exec_id, handle, reader, writer


async def _pump_out(ws: web.WebSocketResponse, reader: asyncio.StreamReader, tty: bool) -> None:
    demux = None if tty else Demux()
    while True:
        chunk = await reader.read(65536)
        if not chunk:
            return
        if demux is None:
            await ws.send_bytes(ch.frame(ch.STDOUT, chunk))
            continue
        for kind, payload in demux.feed(chunk):
            await ws.send_bytes(ch.frame(ch.STDERR if kind == 2 else ch.STDOUT, payload))


async def _pump_in(ws: web.WebSocketResponse, writer: asyncio.StreamWriter, stdin: bool, handle: str) -> None:
    async for msg in ws:
        if msg.type != WSMsgType.BINARY:
            continue
        channel, data = ch.parse(msg.data)
        if channel == ch.STDIN and stdin and not writer.is_closing():
            writer.write(data)
            await writer.drain()
        elif channel == ch.RESIZE:
            size = ch.terminal_size(data)
            if size:
                await engine().resize(handle, *size)
        elif channel == ch.CLOSE and ch.closed_channel(data) == ch.STDIN and writer.can_write_eof():
            with contextlib.suppress(OSError):
                writer.write_eof()


async def _session(request: web.Request, resource, namespace: str, name: str, verb: str) -> web.StreamResponse:
    ws, opts, tty, command, exec_id, handle, reader, writer = await _open(request, resource, namespace, name, verb)
    tasks: list[asyncio.Task] = []
    try:
        await ws.prepare(request)
        # As the kubelet does: an empty message on the first output channel says the streams are up.
        first = ch.STDOUT if opts["stdout"] else ch.STDERR if opts["stderr"] and not tty else ch.ERROR
        await ws.send_bytes(ch.frame(first))
        out = asyncio.ensure_future(_pump_out(ws, reader, tty))
        into = asyncio.ensure_future(_pump_in(ws, writer, opts["stdin"], handle))
        tasks = [out, into]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if out.done() and not out.cancelled() and out.exception() is None and not ws.closed:
            status = ch.exit_status(await _exit_code(exec_id), command) if verb == "exec" else ch.success()
            await ws.send_bytes(ch.frame(ch.ERROR, status))
        await ws.close()
    except (ConnectionError, RuntimeError):
        pass  # the client left: the finally below ends the session
    finally:
        for task in tasks:
            task.cancel()
        writer.close()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        if not ws.closed:
            with contextlib.suppress(Exception):
                await ws.close()
    return ws


async def pod_exec(request: web.Request, resource, namespace: str, name: str) -> web.StreamResponse:
    return await _session(request, resource, namespace, name, "exec")


async def pod_attach(request: web.Request, resource, namespace: str, name: str) -> web.StreamResponse:
    return await _session(request, resource, namespace, name, "attach")


HANDLERS = {("pods", "exec"): pod_exec, ("pods", "attach"): pod_attach}
