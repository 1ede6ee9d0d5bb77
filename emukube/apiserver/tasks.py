"""One asyncio task a server component runs while the server does (the watch hub's store
poller, the garbage collector): started once, cancelled and awaited on stop."""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Coroutine


class BackgroundTask:
    def __init__(self, run: Callable[[], Coroutine[Any, Any, None]]):
        self._run = run
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_event_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
