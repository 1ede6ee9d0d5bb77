"""The controller's report served by the API server (apiserver/controller_report.py): what `up`
waits on instead of copying status.json out of the controller each quarter second."""

from __future__ import annotations

import asyncio
import json
import os

from aiohttp.test_utils import TestClient, TestServer
from test_apiserver_harness import TOKEN, Api

from emukube.apiserver import controller_report
from emukube.apiserver.app import make_app
from emukube.store import Store


def run(tmp_path, body):
    async def main():
        store = Store(str(tmp_path / "store.db"))
        app = make_app(store, [TOKEN])
        controller_report.register(app, str(tmp_path))
        async with TestClient(TestServer(app)) as client:
            await body(Api(client, store, app))
        store.close()
    asyncio.run(main())


def write(tmp_path, report: dict) -> None:
    tmp = tmp_path / ".status.json.1-2.tmp"  # as the controller writes it (runtime/files.replace_file)
    tmp.write_text(json.dumps(report))
    os.replace(tmp, tmp_path / "status.json")


def test_no_report_yet_is_not_found(tmp_path):
    async def body(api):
        status, _, _ = await api.req("GET", controller_report.PATH)
        assert status == 404
    run(tmp_path, body)


def test_the_report_needs_a_token(tmp_path):
    write(tmp_path, {"converged": True})

    async def body(api):
        status, _, _ = await api.req("GET", controller_report.PATH, token=None)
        assert status == 401
    run(tmp_path, body)


def test_the_report_as_written_with_its_version(tmp_path):
    write(tmp_path, {"converged": False, "waiting": ["pod default/web-0 starting"]})

    async def body(api):
        got = await api.ok("GET", controller_report.PATH)
        assert got["report"] == {"converged": False, "waiting": ["pod default/web-0 starting"]}
        assert got["version"]
    run(tmp_path, body)


def test_after_a_version_the_next_report_is_waited_for(tmp_path):
    write(tmp_path, {"converged": False})

    async def body(api):
        first = await api.ok("GET", controller_report.PATH)
        waiting = asyncio.ensure_future(
            api.ok("GET", f"{controller_report.PATH}?after={first['version']}&timeoutSeconds=10"))
        await asyncio.sleep(0.2)
        assert not waiting.done()  # nothing newer yet: held
        write(tmp_path, {"converged": True})
        second = await asyncio.wait_for(waiting, 5)
        assert second["report"] == {"converged": True} and second["version"] != first["version"]
    run(tmp_path, body)


def test_with_nothing_newer_the_same_report_comes_back_once_the_wait_ends(tmp_path):
    write(tmp_path, {"converged": True})

    async def body(api):
        first = await api.ok("GET", controller_report.PATH)
        again = await api.ok("GET", f"{controller_report.PATH}?after={first['version']}&timeoutSeconds=0.1")
        assert again == first
    run(tmp_path, body)
