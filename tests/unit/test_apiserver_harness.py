"""Shared by the API server's unit tests: the real app over a real store in tmp_path, driven
through aiohttp's test client on a loopback port."""

from __future__ import annotations

import asyncio
import json

from aiohttp.test_utils import TestClient, TestServer

from emukube.apiserver.app import HUB, SIGNER, make_app
from emukube.store import Store

TOKEN = "s3cret-token"


class Api:
    def __init__(self, client: TestClient, store: Store, app):
        self.client, self.store, self.app = client, store, app

    async def req(self, method: str, path: str, body=None, ct: str = "application/json",
                  headers: dict | None = None, token: str | None = TOKEN, raw: bytes | None = None):
        h = {"Authorization": f"Bearer {token}"} if token else {}
        h.update(headers or {})
        data = raw
        if body is not None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        if data is not None:
            h["Content-Type"] = ct
        async with self.client.request(method, path, data=data, headers=h) as resp:
            text = await resp.text()
            try:
                payload = json.loads(text)
            except ValueError:
                payload = text
            resp.payload = payload
            return resp.status, payload, resp

    def sa_token(self, namespace: str, name: str) -> str:
        """A ServiceAccount token the app's own signer made, as the controller mounts them."""
        return self.app[SIGNER].mint(namespace, name)

    async def ok(self, method: str, path: str, body=None, **kw):
        status, payload, _ = await self.req(method, path, body, **kw)
        assert 200 <= status < 300, (status, payload)
        return payload

    async def watch_lines(self, path: str, count: int, timeout: float = 5.0, headers: dict | None = None):
        """The first `count` events of a watch (then the connection is dropped)."""
        h = {"Authorization": f"Bearer {TOKEN}", **(headers or {})}
        events = []
        async with self.client.get(path, headers=h) as resp:
            assert resp.status == 200, await resp.text()
            async def read():
                while len(events) < count:
                    line = await resp.content.readline()
                    if not line:
                        break
                    events.append(json.loads(line))
            await asyncio.wait_for(read(), timeout)
        return events


def run(tmp_path, body, **kw):
    async def main():
        store = Store(str(tmp_path / "store.db"))
        app = make_app(store, [TOKEN], **kw)
        async with TestClient(TestServer(app)) as client:
            await body(Api(client, store, app))
        store.close()
    asyncio.run(main())


async def eventually(check, timeout: float = 3.0):
    """Poll an async check until it returns something truthy."""
    deadline = asyncio.get_event_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_event_loop().time() > deadline:
            raise AssertionError(f"not reached within {timeout}s: {result!r}")
        await asyncio.sleep(0.02)


def hub(api: Api):
    return api.app[HUB]


def pod(name: str, labels: dict | None = None, ns: str = "default", **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec}}


def deployment(name: str, replicas: int = 1) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}
