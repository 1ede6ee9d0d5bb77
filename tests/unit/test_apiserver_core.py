"""The API server's request handling: auth, discovery, errors, CRUD, selectors, paging, dryRun,
generation, status and scale subresources."""

from __future__ import annotations

import json

from test_apiserver_harness import TOKEN, deployment, pod, run

PODS = "/api/v1/namespaces/default/pods"
DEPLOYS = "/apis/apps/v1/namespaces/default/deployments"
CMS = "/api/v1/namespaces/default/configmaps"


def cm(name: str, labels: dict | None = None, **data) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels or {}},
            "data": data}


def test_health_version_and_auth(tmp_path):
    async def body(api):
        for path in ("/healthz", "/livez", "/readyz"):
            status, text, _ = await api.req("GET", path, token=None)
            assert (status, text) == (200, "ok")
        status, version, _ = await api.req("GET", "/version", token=None)
        assert version["gitVersion"] == "v1.35.0" and version["minor"] == "35"
        for token in (None, "wrong"):
            status, payload, _ = await api.req("GET", "/api/v1/pods", token=token)
            assert status == 401
            assert payload == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                               "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
    run(tmp_path, body)


def test_health_checks_one_by_one_as_ci_scripts_print_them(tmp_path):
    async def body(api):
        status, text, _ = await api.req("GET", "/readyz?verbose", token=None)
        assert status == 200 and text.splitlines()[0] == "[+]ping ok" and "[+]etcd ok" in text.splitlines()
        assert text.endswith("\nreadyz check passed\n")
        status, text, _ = await api.req("GET", "/livez?verbose&exclude=etcd", token=None)
        assert "[+]etcd ok" not in text and "etcd check excluded: ok" in text and text.endswith("livez check passed\n")
        assert (await api.req("GET", "/readyz/etcd", token=None))[:2] == (200, "ok")
        assert (await api.req("GET", "/healthz/nothing", token=None))[0] == 404
        api.store.close()  # the store gone: the checks that read it fail, and say so
        status, text, _ = await api.req("GET", "/readyz?verbose", token=None)
        assert status == 500 and "[-]etcd failed: reason withheld" in text and text.endswith("readyz check failed\n")
    run(tmp_path, body)


def test_discovery_documents(tmp_path):
    async def body(api):
        aggregated = {"Accept": "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
                                "application/json"}
        status, versions, resp = await api.req("GET", "/api", headers=aggregated)
        assert versions["kind"] == "APIVersions" and versions["versions"] == ["v1"]
        assert resp.headers["Content-Type"].startswith("application/json")
        assert "as=" not in resp.headers["Content-Type"]
        groups = await api.ok("GET", "/apis")
        apps = next(g for g in groups["groups"] if g["name"] == "apps")
        assert apps["preferredVersion"] == {"groupVersion": "apps/v1", "version": "v1"}
        core = await api.ok("GET", "/api/v1")
        by_name = {r["name"]: r for r in core["resources"]}
        assert by_name["pods"]["shortNames"] == ["po"] and "all" in by_name["pods"]["categories"]
        assert by_name["pods"]["singularName"] == "pod" and by_name["nodes"]["namespaced"] is False
        assert by_name["pods/status"]["verbs"] == ["get", "patch", "update"]
        apps_v1 = {r["name"]: r for r in (await api.ok("GET", "/apis/apps/v1"))["resources"]}
        scale = apps_v1["deployments/scale"]
        assert (scale["group"], scale["version"], scale["kind"]) == ("autoscaling", "v1", "Scale")
        assert "watch" in apps_v1["deployments"]["verbs"]
        for path in ("/apis/nope.example.com/v1", "/apis/apps/v9", "/api/v1/namespaces/default/widgets"):
            status, payload, _ = await api.req("GET", path)
            assert status == 404 and payload["message"] == "the server could not find the requested resource"
            assert payload["reason"] == "NotFound"
    run(tmp_path, body)


def test_crud_and_status_errors(tmp_path):
    async def body(api):
        created = await api.ok("POST", PODS, pod("web"))
        meta = created["metadata"]
        assert meta["uid"] and meta["resourceVersion"] and meta["creationTimestamp"]
        assert created["status"]["phase"] == "Pending"
        status, payload, _ = await api.req("POST", PODS, pod("web"))
        assert status == 409 and payload["reason"] == "AlreadyExists"
        assert payload["message"] == 'pods "web" already exists'
        assert payload["details"] == {"name": "web", "kind": "pods"}
        status, payload, _ = await api.req("GET", PODS + "/nope")
        assert status == 404 and payload["message"] == 'pods "nope" not found'
        status, payload, _ = await api.req("GET", DEPLOYS + "/nope")
        assert payload["message"] == 'deployments.apps "nope" not found'
        assert payload["details"] == {"name": "nope", "group": "apps", "kind": "deployments"}
        status, payload, _ = await api.req("POST", "/api/v1/namespaces/ghost/configmaps", cm("x"))
        assert status == 404 and payload["message"] == 'namespaces "ghost" not found'
        other = cm("x")
        other["metadata"]["namespace"] = "kube-system"
        status, payload, _ = await api.req("POST", CMS, other)
        assert status == 400 and payload["message"] == ("the namespace of the provided object does not match "
                                                        "the namespace sent on the request")
        got = await api.ok("GET", PODS + "/web")
        assert got["metadata"]["uid"] == meta["uid"]
        listed = await api.ok("GET", "/api/v1/pods")
        assert [p["metadata"]["name"] for p in listed["items"]] == ["web"] and listed["kind"] == "PodList"
        deleted = await api.ok("DELETE", PODS + "/web")
        assert deleted["metadata"]["name"] == "web"  # pods answer the deleted object
        await api.ok("POST", CMS, cm("c"))
        status, payload, _ = await api.req("DELETE", CMS + "/c")
        assert status == 200 and payload["status"] == "Success" and payload["details"]["name"] == "c"
    run(tmp_path, body)


def test_update_conflict_and_create_on_update(tmp_path):
    async def body(api):
        d = await api.ok("POST", DEPLOYS, deployment("web"))
        stale = json.loads(json.dumps(d))
        d["spec"]["replicas"] = 2
        updated = await api.ok("PUT", DEPLOYS + "/web", d)
        assert updated["metadata"]["generation"] == 2
        status, payload, _ = await api.req("PUT", DEPLOYS + "/web", stale)
        assert status == 409 and payload["reason"] == "Conflict"
        assert payload["message"] == ('Operation cannot be fulfilled on deployments.apps "web": the object has '
                                      "been modified; please apply your changes to the latest version and try again")
        svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
               "spec": {"ports": [{"port": 80}], "selector": {"app": "x"}}}
        status, _, _ = await api.req("PUT", "/api/v1/namespaces/default/services/s", svc)
        assert status == 201
        status, payload, _ = await api.req("PUT", CMS + "/missing", cm("missing"))
        assert status == 404
        status, payload, _ = await api.req("PUT", CMS + "/other", cm("missing"))
        assert status == 400 and "does not match the name on the URL" in payload["message"]
    run(tmp_path, body)


def test_generation_bumps_only_for_spec(tmp_path):
    async def body(api):
        await api.ok("POST", DEPLOYS, deployment("web"))
        merge = "application/merge-patch+json"
        d = await api.ok("PATCH", DEPLOYS + "/web", {"metadata": {"labels": {"x": "y"}}}, ct=merge)
        assert d["metadata"]["generation"] == 1
        d = await api.ok("PATCH", DEPLOYS + "/web", {"spec": {"replicas": 4}}, ct=merge)
        assert d["metadata"]["generation"] == 2
        d = await api.ok("PATCH", DEPLOYS + "/web", {"metadata": {"annotations": {"a": "b"}}}, ct=merge)
        assert d["metadata"]["generation"] == 3  # a Deployment counts annotations
        d = await api.ok("PATCH", DEPLOYS + "/web", {"status": {"replicas": 9}}, ct=merge)
        assert d["metadata"]["generation"] == 3 and d.get("status", {}).get("replicas") is None
        c = await api.ok("POST", CMS, cm("c", a="1"))
        c = await api.ok("PATCH", CMS + "/c", {"data": {"a": "2"}}, ct=merge)
        assert "generation" not in c["metadata"]
    run(tmp_path, body)


def test_status_and_scale_subresources(tmp_path):
    async def body(api):
        await api.ok("POST", DEPLOYS, deployment("web", 2))
        d = await api.ok("PATCH", DEPLOYS + "/web/status", {"status": {"replicas": 2, "readyReplicas": 1},
                                                             "spec": {"replicas": 7}},
                         ct="application/merge-patch+json")
        assert d["status"] == {"replicas": 2, "readyReplicas": 1} and d["spec"]["replicas"] == 2
        d["status"]["readyReplicas"] = 2
        d = await api.ok("PUT", DEPLOYS + "/web/status", d)
        assert d["status"]["readyReplicas"] == 2 and d["metadata"]["generation"] == 1
        scale = await api.ok("GET", DEPLOYS + "/web/scale")
        assert scale == {"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": scale["metadata"],
                         "spec": {"replicas": 2}, "status": {"replicas": 2, "selector": "app=web"}}
        scale = await api.ok("PATCH", DEPLOYS + "/web/scale", {"spec": {"replicas": 5}},
                             ct="application/merge-patch+json")
        assert scale["spec"]["replicas"] == 5
        d = await api.ok("GET", DEPLOYS + "/web")
        assert d["spec"]["replicas"] == 5 and d["metadata"]["generation"] == 2
        scale["spec"]["replicas"] = 1
        assert (await api.ok("PUT", DEPLOYS + "/web/scale", scale))["spec"]["replicas"] == 1
        status, payload, _ = await api.req("PUT", DEPLOYS + "/web/scale", scale)
        assert status == 409  # its resourceVersion is now stale
        scale = await api.ok("GET", DEPLOYS + "/web/scale")
        scale["spec"]["replicas"] = -1
        status, payload, _ = await api.req("PUT", DEPLOYS + "/web/scale", scale)
        assert status == 422 and "spec.replicas: Invalid value: -1" in payload["message"]
    run(tmp_path, body)


def test_selectors(tmp_path):
    async def body(api):
        for name, labels in (("a", {"app": "web", "tier": "fe"}), ("b", {"app": "web"}), ("c", {"app": "db"}),
                             ("d", {})):
            await api.ok("POST", PODS, pod(name, labels))

        async def names(query):
            return [p["metadata"]["name"] for p in (await api.ok("GET", PODS + "?" + query))["items"]]
        assert await names("labelSelector=app%3Dweb") == ["a", "b"]
        assert await names("labelSelector=app%20in%20(web,db),!tier") == ["b", "c"]
        assert await names("labelSelector=app%20notin%20(web)") == ["c", "d"]
        assert await names("labelSelector=tier") == ["a"]
        assert await names("labelSelector=app!%3Dweb") == ["c", "d"]
        assert await names("fieldSelector=metadata.name%3Db") == ["b"]
        assert await names("fieldSelector=status.phase%3DPending,metadata.name!%3Da") == ["b", "c", "d"]
        assert await names("fieldSelector=spec.nodeName%3D") == ["a", "b", "c", "d"]
        status, payload, _ = await api.req("GET", PODS + "?fieldSelector=spec.foo%3Dx")
        assert status == 400 and payload["message"] == "field label not supported: spec.foo"
        status, payload, _ = await api.req("GET", PODS + "?labelSelector=app%20in%20web")
        assert status == 400 and payload["reason"] == "BadRequest"
    run(tmp_path, body)


def test_limit_and_continue(tmp_path):
    async def body(api):
        for i in range(5):
            await api.ok("POST", CMS, cm(f"c{i}"))
        page = await api.ok("GET", CMS + "?limit=2")
        seen = [c["metadata"]["name"] for c in page["items"]]
        assert page["metadata"]["remainingItemCount"] == 3
        while page["metadata"].get("continue"):
            page = await api.ok("GET", CMS + f"?limit=2&continue={page['metadata']['continue']}")
            seen += [c["metadata"]["name"] for c in page["items"]]
        assert seen == [f"c{i}" for i in range(5)]
        status, _, _ = await api.req("GET", CMS + "?limit=2&continue=garbage!")
        assert status == 400
    run(tmp_path, body)


def test_dry_run_generate_name_and_bad_bodies(tmp_path):
    async def body(api):
        dry = await api.ok("POST", CMS + "?dryRun=All", cm("dry"))
        assert dry["metadata"]["uid"]
        status, _, _ = await api.req("GET", CMS + "/dry")
        assert status == 404
        await api.ok("POST", CMS, cm("real", a="1"))
        await api.ok("PATCH", CMS + "/real?dryRun=All", {"data": {"a": "2"}}, ct="application/merge-patch+json")
        await api.ok("DELETE", CMS + "/real?dryRun=All")
        assert (await api.ok("GET", CMS + "/real"))["data"] == {"a": "1"}
        gen = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "job-"}}
        made = await api.ok("POST", CMS, gen)
        assert made["metadata"]["name"].startswith("job-") and len(made["metadata"]["name"]) == 9
        status, payload, _ = await api.req("POST", CMS, raw=b"{not json")
        assert status == 400 and payload["kind"] == "Status" and payload["reason"] == "BadRequest"
        status, payload, _ = await api.req("POST", CMS, raw=b"x" * (3 * 1024 * 1024 + 10))
        assert status == 413 and payload["reason"] == "RequestEntityTooLarge"
        status, payload, _ = await api.req("POST", CMS, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}})
        assert status == 422 and payload["reason"] == "Invalid"
        status, payload, _ = await api.req("PATCH", CMS + "/real", {"data": {}}, ct="text/plain")
        assert status == 415
        status, payload, _ = await api.req("PATCH", CMS + "/real", "data: {}", ct="application/apply-patch+yaml")
        assert status == 422 and "fieldManager: Required value" in payload["message"]
    run(tmp_path, body)


def test_yaml_body_and_tables(tmp_path):
    async def body(api):
        await api.ok("POST", CMS, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: y}\ndata: {k: v}\n",
                      ct="application/yaml")
        table_accept = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}
        table = await api.ok("GET", CMS + "?includeObject=Object", headers=table_accept)
        assert table["kind"] == "Table" and table["metadata"]["resourceVersion"]
        assert table["rows"][0]["object"]["data"] == {"k": "v"}
        one = await api.ok("GET", CMS + "/y", headers=table_accept)
        assert one["kind"] == "Table" and len(one["rows"]) == 1
        assert one["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
        proto = await api.ok("GET", CMS + "/y", headers={"Accept": "application/vnd.kubernetes.protobuf, */*"})
        assert proto["kind"] == "ConfigMap"
    run(tmp_path, body)


def test_events_served_in_both_groups(tmp_path):
    async def body(api):
        ev = {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e1"},
              "eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "emukube",
              "reportingInstance": "x", "action": "Started", "reason": "Started", "type": "Normal",
              "note": "started it", "regarding": {"kind": "Pod", "name": "web", "namespace": "default"}}
        await api.ok("POST", "/apis/events.k8s.io/v1/namespaces/default/events", ev)
        core = await api.ok("GET", "/api/v1/namespaces/default/events/e1")
        assert core["message"] == "started it" and core["involvedObject"]["name"] == "web"
        assert core["reportingComponent"] == "emukube"
        listed = await api.ok("GET", "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dweb")
        assert len(listed["items"]) == 1
        new = await api.ok("GET", "/apis/events.k8s.io/v1/namespaces/default/events/e1")
        assert new["apiVersion"] == "events.k8s.io/v1" and new["note"] == "started it"
    run(tmp_path, body)


def test_endpoints_are_served_with_their_deprecation_warning(tmp_path):
    """As a 1.35 API server: every request to v1 Endpoints warns, a watch's too (kubectl prints
    "Warning: v1 Endpoints is deprecated..."); other resources do not."""
    warning = '299 - "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"'

    async def body(api):
        endpoints = "/api/v1/namespaces/default/endpoints"
        status, _, resp = await api.req("GET", endpoints)
        assert status == 200 and resp.headers.getall("Warning") == [warning]
        status, _, resp = await api.req("GET", endpoints + "/missing")
        assert status == 404 and resp.headers.getall("Warning") == [warning]
        async with api.client.get(endpoints + "?watch=1&timeoutSeconds=1",
                                  headers={"Authorization": f"Bearer {TOKEN}"}) as watch:
            assert watch.status == 200 and watch.headers.getall("Warning") == [warning]
        status, _, resp = await api.req("GET", "/api/v1/namespaces/default/services")
        assert status == 200 and "Warning" not in resp.headers
    run(tmp_path, body)


def test_a_status_patch_may_annotate_without_a_new_generation(tmp_path):
    """The Deployment controller writes deployment.kubernetes.io/revision through status: a
    fresh Deployment reads generation 1 with its revision, as on Kubernetes."""
    deployments = "/apis/apps/v1/namespaces/default/deployments"

    async def body(api):
        made = await api.ok("POST", deployments, deployment("web"))
        assert made["metadata"]["generation"] == 1
        revised = await api.ok("PATCH", deployments + "/web/status",
                               {"metadata": {"annotations": {"deployment.kubernetes.io/revision": "1"}}},
                               ct="application/merge-patch+json")
        assert revised["metadata"]["annotations"] == {"deployment.kubernetes.io/revision": "1"}
        assert revised["metadata"]["generation"] == 1
        # A whole object PUT to status (read before) leaves the annotations as they are.
        revised["metadata"].pop("annotations")
        revised["status"] = {"replicas": 1}
        put = await api.ok("PUT", deployments + "/web/status", revised)
        assert put["metadata"]["annotations"] == {"deployment.kubernetes.io/revision": "1"}
        assert put["status"]["replicas"] == 1 and put["metadata"]["generation"] == 1
    run(tmp_path, body)


def test_a_warning_header_reads_back_as_its_text():
    from emukube.apiserver.handlers import warning_value
    from emukube.k8s.client import warning_text

    for text in ('unknown field "spec.sise"', "v1 ComponentStatus is deprecated in v1.19+", 'a \\ "b"'):
        assert warning_text(warning_value(text)) == text
    assert warning_text("not a warning header") == "not a warning header"
