"""`kubectl get cs`: componentstatuses computed on each request, with the deprecation Warning."""

from __future__ import annotations

import os
import time

from test_apiserver_harness import run

from emukube.apiserver import component_status
from emukube.apiserver.printers.core import component_status_cells

TABLE = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}


def test_the_three_components_in_kubectls_columns(tmp_path):
    async def check(api):
        status, listed, resp = await api.req("GET", "/api/v1/componentstatuses", headers=TABLE)
        assert status == 200 and resp.headers["Warning"] == '299 - "v1 ComponentStatus is deprecated in v1.19+"'
        assert [c["name"] for c in listed["columnDefinitions"]] == ["Name", "Status", "Message", "Error"]
        assert [r["cells"] for r in listed["rows"]] == [["controller-manager", "Healthy", "ok", ""],
                                                      ["scheduler", "Healthy", "ok", ""],
                                                      ["etcd-0", "Healthy", "ok", ""]]
        one = await api.ok("GET", "/api/v1/componentstatuses/etcd-0")
        assert one["conditions"] == [{"type": "Healthy", "status": "True", "message": "ok"}]
        status, _, _ = await api.req("GET", "/api/v1/componentstatuses/kubelet")
        assert status == 404
        status, _, _ = await api.req("POST", "/api/v1/componentstatuses", {"metadata": {"name": "x"}})
        assert status == 405

    run(tmp_path, check)


def test_the_loop_counts_as_down_once_its_report_is_old(tmp_path):
    report = tmp_path / "status.json"
    now = time.time()
    assert component_status.statuses(str(report), True, now)[0]["conditions"][0]["error"] == \
        "the control loop has written no report yet"
    report.write_text("{}")
    os.utime(report, (now - 100, now - 100))
    down = component_status.statuses(str(report), False, now)
    assert [component_status_cells(c, now) for c in down] == [
        ["controller-manager", "Unhealthy", "", "the control loop wrote its last report 100s ago"],
        ["scheduler", "Unhealthy", "", "the control loop wrote its last report 100s ago"],
        ["etcd-0", "Unhealthy", "", "the store does not answer"]]
