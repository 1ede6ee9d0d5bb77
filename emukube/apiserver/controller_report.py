"""GET /emukube/v1/report: the controller's report (status.json in the state volume, which the
controller writes each tick) for the host's `up` and `wait`. Copying the file out of the
controller through the engine took 0.1-0.15 s per look and a helper process of the engine's,
which competed with the containers `up` was starting; here a look is a keep-alive request.

`?after=V` (V the `version` of the previous answer) waits, up to `timeoutSeconds` (at most
10), for a newer report: `up` learns of convergence the moment it is written. Answers
{"version": V, "report": {...}}; 404 while the controller has written none."""

from __future__ import annotations

import asyncio
import json
import os
import time

from aiohttp import web

from ..runtime.report import REPORT_PATH as PATH
from . import errors

MAX_WAIT = 10.0
POLL = 0.02  # a stat of a local file: cheap enough to look this often while a client waits


def register(app: web.Application, state_dir: str) -> None:
    path = os.path.join(state_dir, "status.json")

    async def report(request: web.Request) -> web.Response:
        after = request.query.get("after", "")
        try:
            wait = min(MAX_WAIT, max(0.0, float(request.query.get("timeoutSeconds", "0"))))
        except ValueError:
            raise errors.ApiError(400, "BadRequest", "timeoutSeconds: not a number") from None
        deadline = time.monotonic() + wait
        while True:
            version = _version(path)
            if version is not None and (version != after or time.monotonic() >= deadline):
                break
            if time.monotonic() >= deadline:
                raise errors.no_such_path()
            await asyncio.sleep(POLL)
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except OSError:
            raise errors.no_such_path() from None
        # The report is embedded as it is written (the controller replaces the file atomically).
        body = b'{"version": ' + json.dumps(version).encode() + b', "report": ' + raw + b"}"
        return web.Response(body=body, content_type="application/json")

    app.router.add_get(PATH, report)


def _version(path: str) -> str | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return f"{st.st_mtime_ns}-{st.st_ino}"
