"""Deletion as the API server and its controllers do it: finalizers, graceful Pod deletion, garbage
collection of dependents (Background, Foreground, Orphan), namespace deletion."""

from __future__ import annotations

import asyncio

from test_apiserver_harness import eventually, pod, run

CMS = "/api/v1/namespaces/default/configmaps"
PODS = "/api/v1/namespaces/default/pods"
MERGE = "application/merge-patch+json"


def cm(name: str, ns: str = "default", owner: dict | None = None, finalizers: list | None = None) -> dict:
    meta: dict = {"name": name, "namespace": ns}
    if owner:
        meta["ownerReferences"] = [{"apiVersion": owner["apiVersion"], "kind": owner["kind"],
                                    "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"]}]
    if finalizers:
        meta["finalizers"] = finalizers
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}


async def gone(api, path: str) -> bool:
    status, _, _ = await api.req("GET", path)
    return status == 404


def test_finalizers_hold_an_object_until_removed(tmp_path):
    async def body(api):
        await api.ok("POST", CMS, cm("held", finalizers=["example.com/keep"]))
        status, obj, _ = await api.req("DELETE", CMS + "/held")
        assert status == 202 and obj["metadata"]["deletionTimestamp"]
        still = await api.ok("GET", CMS + "/held")
        assert still["metadata"]["finalizers"] == ["example.com/keep"]
        await api.ok("PATCH", CMS + "/held", {"metadata": {"finalizers": None}}, ct=MERGE)
        assert await gone(api, CMS + "/held")
    run(tmp_path, body)


def test_pod_on_a_node_is_deleted_gracefully(tmp_path):
    async def body(api):
        await api.ok("POST", PODS, pod("p", nodeName="node-1", terminationGracePeriodSeconds=30))
        status, obj, _ = await api.req("DELETE", PODS + "/p")
        assert status == 202
        assert obj["metadata"]["deletionGracePeriodSeconds"] == 30 and obj["metadata"]["deletionTimestamp"]
        assert obj["metadata"]["generation"] == 2
        assert not await gone(api, PODS + "/p")
        status, obj, _ = await api.req("DELETE", PODS + "/p?gracePeriodSeconds=0")  # the kubelet's word
        assert status == 200 and await gone(api, PODS + "/p")
        await api.ok("POST", PODS, pod("unscheduled"))
        status, _, _ = await api.req("DELETE", PODS + "/unscheduled")
        assert status == 200 and await gone(api, PODS + "/unscheduled")
    run(tmp_path, body)


def test_background_deletion_collects_dependents(tmp_path):
    async def body(api):
        owner = await api.ok("POST", CMS, cm("owner"))
        child = await api.ok("POST", CMS, cm("child", owner=owner))
        await api.ok("POST", CMS, cm("grandchild", owner=child))
        await api.ok("POST", CMS, cm("bystander"))
        await api.ok("DELETE", CMS + "/owner")
        await eventually(lambda: gone(api, CMS + "/grandchild"))
        assert await gone(api, CMS + "/child")
        assert not await gone(api, CMS + "/bystander")
    run(tmp_path, body)


def test_foreground_keeps_the_owner_until_dependents_are_gone(tmp_path):
    async def body(api):
        owner = await api.ok("POST", CMS, cm("owner"))
        await api.ok("POST", CMS, cm("child", owner=owner, finalizers=["example.com/slow"]))
        status, obj, _ = await api.req("DELETE", CMS + "/owner", {"propagationPolicy": "Foreground"})
        assert status == 202 and "foregroundDeletion" in obj["metadata"]["finalizers"]
        child = await eventually(lambda: _being_deleted(api, CMS + "/child"))
        assert child["metadata"]["deletionTimestamp"]
        assert not await gone(api, CMS + "/owner")
        await api.ok("PATCH", CMS + "/child", {"metadata": {"finalizers": None}}, ct=MERGE)
        await eventually(lambda: gone(api, CMS + "/owner"))
    run(tmp_path, body)


async def _being_deleted(api, path: str):
    status, obj, _ = await api.req("GET", path)
    return obj if status == 200 and obj["metadata"].get("deletionTimestamp") else None


def test_orphan_strips_owner_references(tmp_path):
    async def body(api):
        owner = await api.ok("POST", CMS, cm("owner"))
        await api.ok("POST", CMS, cm("child", owner=owner))
        await api.ok("DELETE", CMS + "/owner?propagationPolicy=Orphan")
        await eventually(lambda: gone(api, CMS + "/owner"))
        child = await api.ok("GET", CMS + "/child")
        assert "ownerReferences" not in child["metadata"]
    run(tmp_path, body)


def test_a_dependent_made_after_its_owner_went_is_collected(tmp_path):
    """Checked alone, without a pass over every object: the owner's deletion came before it."""
    async def body(api):
        dead = await api.ok("POST", CMS, cm("dead"))
        live = await api.ok("POST", CMS, cm("live"))
        sentinel = await api.ok("POST", CMS, cm("sentinel"))
        await api.ok("POST", CMS, cm("sentinel-child", owner=sentinel))
        await api.ok("DELETE", CMS + "/dead")
        await api.ok("DELETE", CMS + "/sentinel")
        await eventually(lambda: gone(api, CMS + "/sentinel-child"))  # the pass these deletions asked for ran
        await asyncio.sleep(0.5)  # and the one the child's own deletion asked for
        await api.ok("POST", CMS, cm("late", owner=dead))
        both = cm("both", owner=live)
        both["metadata"]["ownerReferences"].append(cm("x", owner=dead)["metadata"]["ownerReferences"][0])
        await api.ok("POST", CMS, both)
        await api.ok("POST", CMS, cm("kept", owner=live))
        await eventually(lambda: gone(api, CMS + "/late"))

        async def stripped():
            obj = await api.ok("GET", CMS + "/both")
            return obj if len(obj["metadata"]["ownerReferences"]) == 1 else None
        assert (await eventually(stripped))["metadata"]["ownerReferences"][0]["name"] == "live"
        assert not await gone(api, CMS + "/kept")
    run(tmp_path, body)


def test_namespace_deletion_empties_it(tmp_path):
    async def body(api):
        ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}
        made = await api.ok("POST", "/api/v1/namespaces", ns)
        assert made["status"]["phase"] == "Active"
        assert made["metadata"]["labels"]["kubernetes.io/metadata.name"] == "team"
        await api.ok("POST", "/api/v1/namespaces/team/configmaps", cm("a", ns="team"))
        await api.ok("POST", "/api/v1/namespaces/team/pods", pod("p", ns="team"))
        status, obj, _ = await api.req("DELETE", "/api/v1/namespaces/team")
        assert obj["status"]["phase"] == "Terminating"
        status, payload, _ = await api.req("POST", "/api/v1/namespaces/team/configmaps", cm("late", ns="team"))
        if status != 404:  # unless it is already gone, a Terminating namespace takes nothing new
            assert status == 403 and "because it is being terminated" in payload["message"]
        await eventually(lambda: gone(api, "/api/v1/namespaces/team"))
        assert (await api.ok("GET", "/api/v1/namespaces/team/configmaps"))["items"] == []
        names = [n["metadata"]["name"] for n in (await api.ok("GET", "/api/v1/namespaces"))["items"]]
        assert names == ["default", "kube-node-lease", "kube-public", "kube-system"]
    run(tmp_path, body)


def test_deletecollection_and_preconditions(tmp_path):
    async def body(api):
        for name in ("a", "b"):
            await api.ok("POST", PODS, pod(name, {"app": "x"}))
        await api.ok("POST", PODS, pod("keep", {"app": "y"}))
        out = await api.ok("DELETE", PODS + "?labelSelector=app%3Dx")
        assert sorted(p["metadata"]["name"] for p in out["items"]) == ["a", "b"]
        assert [p["metadata"]["name"] for p in (await api.ok("GET", PODS))["items"]] == ["keep"]
        status, payload, _ = await api.req("DELETE", PODS + "/keep", {"preconditions": {"uid": "nope"}})
        assert status == 409 and "Precondition failed: UID in precondition: nope" in payload["message"]
    run(tmp_path, body)


def test_events_expire_an_hour_after_their_last_write(tmp_path):
    from emukube.apiserver.app import REGISTRY
    from emukube.apiserver.event_ttl import expire_events, last_written
    from emukube.k8s.times import epoch

    events = "/api/v1/namespaces/default/events"

    def event(name: str) -> dict:
        return {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": "default"},
                "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"}, "reason": "Started",
                "message": "m", "lastTimestamp": "2020-01-01T00:00:00Z"}  # a client's old time does not count

    async def body(api):
        old = await api.ok("POST", events, event("old"))
        await api.ok("POST", events, event("kept"))
        written = last_written(old)
        registry = api.app[REGISTRY]
        assert expire_events(registry, now=written + 60) == 0
        assert expire_events(registry, now=written + 3601, limit=1) == 1  # a sweep deletes at most `limit`
        assert expire_events(registry, now=written + 3601) == 1
        assert (await api.ok("GET", events))["items"] == []
    run(tmp_path, body)
    # A later write (a repeated event updates its Event) starts the hour again.
    updated = {"metadata": {"creationTimestamp": "2026-01-01T00:00:00Z",
                            "managedFields": [{"manager": "x", "time": "2026-01-01T00:30:00Z"}]}}
    assert last_written(updated) == epoch("2026-01-01T00:30:00Z")


def test_every_namespace_gets_the_root_ca_configmap(tmp_path):
    async def body(api):
        await api.ok("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                    "metadata": {"name": "fresh"}})
        for ns in ("default", "fresh"):
            cm = await api.ok("GET", f"/api/v1/namespaces/{ns}/configmaps/kube-root-ca.crt")
            assert cm["data"] == {"ca.crt": "-----BEGIN CERTIFICATE-----\nCA\n"}
            assert "kube-apiserver" in cm["metadata"]["annotations"]["kubernetes.io/description"]
    run(tmp_path, body, root_ca=b"-----BEGIN CERTIFICATE-----\nCA\n")
