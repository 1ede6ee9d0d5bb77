"""The engine's streaming calls (logs, exec, attach) without blocking an event loop.

The docker SDK is synchronous: a `logs(follow=True)` or a hijacked exec socket would hold a thread
for as long as the client stays, and a client that goes away leaves the thread blocked in a read.
Here the same HTTP API is spoken with asyncio over the engine's socket, so a stream is a task that
is cancelled, and its connection closed, when its client leaves. Used by the API server.
"""

from __future__ import annotations

import asyncio
import io
import json
import struct
import tarfile
from typing import Any
from urllib.parse import urlencode

import aiohttp

from .engine_address import address

HEADER = struct.Struct(">BxxxL")  # the engine's multiplexed stream: stream type, payload size


class EngineError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class Demux:
    """Splits the engine's multiplexed stdout/stderr stream (8-byte header per frame) into
    (stream, payload) pairs, whatever the chunking of the bytes fed in."""

    def __init__(self):
        self.buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self.buf += data
        out = []
        while len(self.buf) >= HEADER.size:
            kind, size = HEADER.unpack_from(self.buf)
            if len(self.buf) < HEADER.size + size:
                break
            out.append((kind, bytes(self.buf[HEADER.size:HEADER.size + size])))
            del self.buf[:HEADER.size + size]
        return out


class Engine:
    """One HTTP session to the engine for the API server's lifetime."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        self.kind, self.where = address()

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.UnixConnector(path=self.where) if self.kind == "unix" else aiohttp.TCPConnector()
            self._session = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None))
        return self._session

    def _url(self, path: str) -> str:
        return f"http://{'docker' if self.kind == 'unix' else self.where}{path}"

    async def call(self, method: str, path: str, body: dict | None = None) -> Any:  # the decoded JSON
        async with self.session().request(method, self._url(path), json=body) as resp:
            data = await resp.read()
            if resp.status >= 400:
                raise EngineError(resp.status, _message(data))
            return json.loads(data) if data.strip() else {}

    async def containers(self, filters: dict) -> list[dict]:
        """GET /containers/json?all=1: the engine's summaries (Id, Labels, State), no inspect each."""
        return await self.call("GET", f"/containers/json?{urlencode({'all': 1, 'filters': json.dumps(filters)})}")

    async def inspect(self, container_id: str) -> dict | None:
        """The container's inspect; None once it is gone."""
        try:
            return await self.call("GET", f"/containers/{container_id}/json")
        except EngineError as exc:
            if exc.status == 404:
                return None
            raise

    async def logs(self, container_id: str, params: dict) -> aiohttp.ClientResponse:
        """The open response of GET /containers/ID/logs; the caller reads and releases it."""
        resp = await self.session().get(self._url(f"/containers/{container_id}/logs?{urlencode(params)}"))
        if resp.status >= 400:
            data = await resp.read()
            resp.release()
            raise EngineError(resp.status, _message(data))
        return resp

    async def read_file(self, container_id: str, path: str) -> bytes | None:
        """A file's content from a container's filesystem (None when it has none there)."""
        url = self._url(f"/containers/{container_id}/archive?{urlencode({'path': path})}")
        async with self.session().get(url) as resp:
            if resp.status == 404:
                return None
            data = await resp.read()
            if resp.status >= 400:
                raise EngineError(resp.status, _message(data))
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            member = tar.next()
            handle = tar.extractfile(member) if member else None
            return handle.read() if handle else None

    async def exec_create(self, container_id: str, cmd: list[str], *, tty: bool, stdin: bool,
                          stdout: bool, stderr: bool) -> str:
        body = {"Cmd": cmd, "Tty": tty, "AttachStdin": stdin, "AttachStdout": stdout, "AttachStderr": stderr}
        return (await self.call("POST", f"/containers/{container_id}/exec", body))["Id"]

    async def exec_start(self, exec_id: str, tty: bool):
        return await self._hijack(f"/exec/{exec_id}/start", {"Detach": False, "Tty": tty})

    async def exec_exit_code(self, exec_id: str) -> int | None:
        return (await self.call("GET", f"/exec/{exec_id}/json")).get("ExitCode")

    async def attach(self, container_id: str, *, stdin: bool, stdout: bool, stderr: bool):
        query = urlencode({"stream": 1, "stdin": int(stdin), "stdout": int(stdout), "stderr": int(stderr)})
        return await self._hijack(f"/containers/{container_id}/attach?{query}", None)

    async def resize(self, path: str, width: int, height: int) -> None:
        """path: /exec/ID or /containers/ID."""
        try:
            await self.call("POST", f"{path}/resize?{urlencode({'h': height, 'w': width})}")
        except EngineError:
            pass  # the process may be gone already; a resize is advisory

    async def _hijack(self, path: str, body: dict | None):
        """(reader, writer) of an upgraded connection carrying the process's streams."""
        if self.kind == "unix":
            reader, writer = await asyncio.open_unix_connection(self.where)
        else:
            host, _, port = self.where.rpartition(":")
            reader, writer = await asyncio.open_connection(host, int(port))
        try:
            payload = json.dumps(body).encode() if body is not None else b""
            writer.write((f"POST {path} HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n"
                          f"Content-Length: {len(payload)}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
                          ).encode() + payload)
            status = int((await reader.readline()).split()[1])
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b"\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if status >= 400:
                raise EngineError(status, _message(await reader.read(length) if length else await reader.read()))
        except BaseException:
            writer.close()
            raise
        return reader, writer


def _message(data: bytes) -> str:
    try:
        return json.loads(data).get("message", "")
    except ValueError:
        return data.decode(errors="replace").strip()


_engine: Engine | None = None


def engine() -> Engine:
    global _engine
    if _engine is None:
        _engine = Engine()
    return _engine

