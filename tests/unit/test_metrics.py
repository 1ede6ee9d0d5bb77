"""metrics.k8s.io/v1beta1 (emukube/apiserver/metrics.py): quantities as metrics-server writes them,
usage from the engine's stats answers, and the API over a real store with the engine's answers
recorded (a cgroup v1 engine's stats, trimmed)."""

from __future__ import annotations

import copy

from test_apiserver_harness import pod, run

from emukube.apiserver import metrics

STATS = {"read": "2026-12-03T11:11:59.676466984Z", "preread": "2026-12-03T11:11:58.672837322Z",
         "cpu_stats": {"cpu_usage": {"total_usage": 2606303977}, "online_cpus": 2},
         "precpu_stats": {"cpu_usage": {"total_usage": 2105086819}},
         "memory_stats": {"usage": 76767232, "stats": {"total_inactive_file": 4096, "inactive_file": 4096}}}


def test_quantities_in_their_canonical_forms():
    assert [metrics.cpu_quantity(n) for n in (999577131, 2_000_000, 10 ** 9, 1500, 0)] == \
        ["999577131n", "2m", "1", "1500n", "0"]
    assert [metrics.memory_quantity(b) for b in (392 << 10, 73 << 20, 2 << 30, 1000, 0)] == \
        ["392Ki", "73Mi", "2Gi", "1000", "0"]


def test_usage_is_a_rate_over_the_engines_two_samples_and_the_working_set():
    found = metrics.usage(STATS)
    assert found["window"] == 1003629662
    assert found["cpu"] == (2606303977 - 2105086819) * 10 ** 9 // 1003629662  # ~0.5 core, in nanocores
    assert found["memory"] == 76767232 - 4096 and found["time"] == "2026-12-03T11:11:59Z"
    v2 = copy.deepcopy(STATS)
    v2["memory_stats"]["stats"] = {"inactive_file": 8192, "anon": 1}
    assert metrics.usage(v2)["memory"] == 76767232 - 8192
    first = copy.deepcopy(STATS)
    first["preread"], first["precpu_stats"] = "0001-01-01T00:00:00Z", {"cpu_usage": {"total_usage": 0}}
    assert metrics.usage(first) is None  # no earlier sample: no rate yet


def _engine(containers: list[dict] | None):
    async def listed():
        if containers is None:
            raise FileNotFoundError(2, "No such file or directory")  # no engine socket
        return containers

    async def stats(container_id: str):
        if container_id == "gone":
            raise RuntimeError("No such container")
        return STATS

    return lambda: (listed, stats)


def _container(cid: str, role: str, name: str = "", container: str = "", node: str = "node-1") -> dict:
    labels = {"emukube.io/role": role, "emukube.io/namespace": "default", "emukube.io/name": name,
              "emukube.io/container": container}
    if node:
        labels["emukube.io/node"] = node
    return {"Id": cid, "Labels": labels}


def test_the_api_kubectl_top_reads(tmp_path, monkeypatch):
    monkeypatch.setattr(metrics, "_engine_calls", _engine([
        _container("a1", "pod", "web", "app"), _container("a2", "pod", "web", "sidecar"),
        _container("s1", "sandbox", "web"), _container("b1", "pod", "pending", "c"),
        _container("gone", "pod", "web", "app"), _container("ctl", "controller", node="")]))

    async def body(api):
        groups = await api.ok("GET", "/apis")
        assert {"name": "metrics.k8s.io", "versions": [{"groupVersion": "metrics.k8s.io/v1beta1", "version": "v1beta1"}],
                "preferredVersion": {"groupVersion": "metrics.k8s.io/v1beta1", "version": "v1beta1"}} in groups["groups"]
        listed = await api.ok("GET", "/apis/metrics.k8s.io/v1beta1")
        assert [(r["name"], r["kind"], r["namespaced"]) for r in listed["resources"]] == \
            [("nodes", "NodeMetrics", False), ("pods", "PodMetrics", True)]
        await api.ok("POST", "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {
            "name": "node-1", "labels": {"node-role.kubernetes.io/control-plane": ""}}})
        for name in ("web", "pending"):
            await api.ok("POST", "/api/v1/namespaces/default/pods", pod(name, {"app": name}, nodeName="node-1"))
        current = await api.ok("GET", "/api/v1/namespaces/default/pods/web")
        await api.ok("PUT", "/api/v1/namespaces/default/pods/web/status", {**current, "status": {"phase": "Running"}})

        one = await api.ok("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/web")
        cpu, memory = metrics.cpu_quantity(metrics.usage(STATS)["cpu"]), metrics.memory_quantity(76767232 - 4096)
        assert one["kind"] == "PodMetrics" and one["metadata"]["labels"] == {"app": "web"}
        assert one["window"] == "1.003629662s" and one["timestamp"] == "2026-12-03T11:11:59Z"
        assert one["containers"] == [{"name": "app", "usage": {"cpu": cpu, "memory": memory}},
                                     {"name": "sidecar", "usage": {"cpu": cpu, "memory": memory}}]
        listing = await api.ok("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?labelSelector=app")
        assert listing["kind"] == "PodMetricsList" and [p["metadata"]["name"] for p in listing["items"]] == ["web"]
        table = await api.ok("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods",
                             headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"})
        assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "cpu", "memory", "Window"]
        two = metrics.usage(STATS)
        assert [r["cells"] for r in table["rows"]] == [["web", metrics.cpu_quantity(2 * two["cpu"]),
                                                        metrics.memory_quantity(2 * two["memory"]), "1.003629662s"]]
        status, body, _ = await api.req("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/pending")
        assert (status, body["message"]) == (404, 'podmetrics.metrics.k8s.io "default/pending" not found')
        status, body, _ = await api.req("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/nothing")
        assert (status, body["message"]) == (404, 'pods "nothing" not found')

        nodes = await api.ok("GET", "/apis/metrics.k8s.io/v1beta1/nodes")
        found = metrics.usage(STATS)
        assert [n["metadata"]["name"] for n in nodes["items"]] == ["node-1"]
        # the pods' containers, the sandbox, the controller's (the node is the control plane)
        assert nodes["items"][0]["usage"] == {"cpu": metrics.cpu_quantity(found["cpu"] * 5),
                                              "memory": metrics.memory_quantity(found["memory"] * 5)}
        status, body, _ = await api.req("GET", "/apis/metrics.k8s.io/v1beta1/nodes/node-9")
        assert (status, body["message"]) == (404, 'nodes "node-9" not found')
        status, _, _ = await api.req("DELETE", "/apis/metrics.k8s.io/v1beta1/nodes/node-1")
        assert status == 405

    run(tmp_path, body)


def test_no_engine_is_an_unavailable_metrics_api(tmp_path, monkeypatch):
    monkeypatch.setattr(metrics, "_engine_calls", _engine(None))

    async def body(api):
        await api.ok("POST", "/api/v1/namespaces/default/pods", pod("web"))
        status, answer, _ = await api.req("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods")
        assert (status, answer["reason"]) == (503, "ServiceUnavailable")
        assert answer["message"] == "the server is currently unable to handle the request"

    run(tmp_path, body)
