"""Headers of the API server's answers as kube-apiserver's: no Server header (aiohttp adds one)."""

from __future__ import annotations

from test_apiserver_harness import run


def test_answers_name_no_server_software(tmp_path):
    async def body(api):
        for path in ("/version", "/api/v1/namespaces", "/api/v1/namespaces/default/pods/missing"):
            _, _, resp = await api.req("GET", path)
            assert "Server" not in resp.headers, (path, dict(resp.headers))
    run(tmp_path, body)
