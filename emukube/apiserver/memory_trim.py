"""Memory that requests freed goes back to the system every few seconds.

Python's allocator and glibc keep freed memory for reuse, so a server that had answered a few
thousand LISTs and watches stayed several MB larger, idle, than one that had not (benchmark
section 7's idle memory: 64 MB with 320 objects stored). Every few seconds after requests, the
server collects its cycles and asks glibc to return free heap (malloc_trim), as long-running
Python services do. It runs between requests on the event loop: a few milliseconds, and not
waiting for a quiet moment, which the controller's steady writes left none of."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
from collections.abc import Callable

from aiohttp import web

EVERY = 3.0  # seconds between trims while requests come


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): collecting is all there is
        return None


class MemoryTrim:
    def __init__(self, every: float = EVERY):
        self.every = every
        self.pending = False  # requests ended since the last trim
        self.trims = 0
        self._trim = _malloc_trim()

    @web.middleware
    async def middleware(self, request: web.Request, handler):
        try:
            return await handler(request)
        finally:
            self.pending = True  # a watch counts when it ends: its allocations were its events'

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            if self.pending:
                self.trim()

    def trim(self) -> None:
        self.pending = False
        self.trims += 1
        gc.collect()
        if self._trim is not None:
            self._trim(0)
