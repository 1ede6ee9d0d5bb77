"""The shop through emukube: its real manifests, real containers, no Kubernetes cluster.

One cluster for this module (the marker's default scope); under `pytest -n 2` each worker that
runs tests of this module gets its own, side by side.
"""

import time

import httpx
import pytest

pytestmark = pytest.mark.emukube("k8s/")


def test_items_added_through_web_are_listed(emukube_cluster):
    web = emukube_cluster.url("svc/web")  # the NodePort emukube picked, on 127.0.0.1
    added = httpx.post(f"{web}/api/items/apple", timeout=10)
    assert added.status_code == 200, added.text
    assert added.json()["name"] == "apple"
    listed = httpx.get(f"{web}/api/items", timeout=10).json()
    assert listed["items"]["apple"] == added.json()["count"]
    assert "<li>apple: " in httpx.get(web, timeout=10).text


def test_every_web_pod_serves_from_the_one_store(emukube_cluster):
    web = emukube_cluster.url("svc/web")
    web_pods = {p.name for p in emukube_cluster.pods("app=web")}
    store_pods = {p.name for p in emukube_cluster.pods("app=store")}
    seen, stores = set(), set()
    for _ in range(60):  # the Service spreads connections at random: both pods show up soon
        answer = httpx.get(f"{web}/api/items", timeout=10).json()
        seen.add(answer["web"])
        stores.add(answer["store"])
        if seen == web_pods:
            break
    assert seen == web_pods
    assert stores == store_pods


def test_store_is_reachable_from_the_host_through_a_port_forward(emukube_cluster):
    store = emukube_cluster.url("svc/store")  # ClusterIP: emukube forwards a host port to it
    answer = httpx.get(f"{store}/items", timeout=10).json()
    assert answer["pod"] == emukube_cluster.pods("app=store")[0].name


def test_web_pods_find_the_store_by_its_dns_name(emukube_cluster):
    result = emukube_cluster.exec("deploy/web", ["curl", "-s", "-f", "http://store.default.svc.cluster.local/healthz"])
    assert (result.exit_code, result.stdout) == (0, "ok")


def test_store_errors_reach_the_client_unchanged(emukube_cluster):
    web = emukube_cluster.url("svc/web")
    answer = httpx.post(f"{web}/api/items/not-a-name", timeout=10)
    assert answer.status_code == 400
    assert "letters, digits" in answer.json()["error"]


def test_a_replaced_web_pod_serves_again(emukube_cluster):
    victim = emukube_cluster.pods("app=web")[0].name
    emukube_cluster.delete_pod(victim)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        pods = emukube_cluster.pods("app=web")
        if victim not in {p.name for p in pods} and len(pods) == 2 and all(p.ready for p in pods):
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"web pods after deleting {victim}: {emukube_cluster.pods('app=web')}")
    assert httpx.get(f"{emukube_cluster.url('svc/web')}/api/items", timeout=10).status_code == 200
