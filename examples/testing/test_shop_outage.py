"""What the shop does when its store goes away: a fresh cluster for this test alone (scope
"function"), so stopping the store cannot disturb any other test."""

import time

import httpx
import pytest


@pytest.mark.emukube("k8s/", scope="function")
def test_web_reports_a_store_outage_and_recovers(emukube_cluster):
    web = emukube_cluster.url("svc/web")
    assert httpx.post(f"{web}/api/items/pear", timeout=10).status_code == 200

    emukube_cluster.scale("deployment/store", 0, wait=True)
    down = httpx.get(f"{web}/api/items", timeout=10)
    assert down.status_code == 503
    assert down.json()["error"].startswith("store unavailable")

    emukube_cluster.scale("deployment/store", 1, wait=True)
    deadline = time.monotonic() + 60
    while (back := httpx.get(f"{web}/api/items", timeout=10)).status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert back.status_code == 200, back.text
    assert "pear" not in back.json()["items"]  # the stock lived in the old pod's memory
