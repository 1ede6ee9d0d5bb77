"""The API server's /metrics (apiserver/prometheus.py): kube-apiserver's labels and the text format."""

from multidict import MultiDict

from emukube.apiserver.prometheus import BUCKETS, Recorder, request_labels
from emukube.apiserver.request_info import attributes


def labels(method: str, path: str, content_type: str = "", **query: str) -> dict:
    got = request_labels(attributes(method, path, MultiDict(query)), method, MultiDict(query), content_type)
    return dict(zip(("component", "dry_run", "group", "resource", "scope", "subresource", "verb", "version"), got))


def test_requests_are_labelled_as_kube_apiserver_labels_them():
    assert labels("GET", "/api/v1/pods") == {"component": "apiserver", "dry_run": "", "group": "", "resource": "pods",
                                             "scope": "cluster", "subresource": "", "verb": "LIST", "version": "v1"}
    assert labels("GET", "/api/v1/namespaces/default/pods", watch="1")["verb"] == "WATCH"
    assert labels("GET", "/api/v1/namespaces/default/pods")["scope"] == "namespace"
    named = labels("PATCH", "/apis/apps/v1/namespaces/a/deployments/web/scale", "application/merge-patch+json")
    assert (named["group"], named["resource"], named["subresource"], named["scope"], named["verb"]) == \
        ("apps", "deployments", "scale", "resource", "PATCH")
    assert labels("PATCH", "/api/v1/namespaces/a/configmaps/c", "application/apply-patch+yaml")["verb"] == "APPLY"
    assert labels("POST", "/api/v1/namespaces/a/pods/p/exec")["verb"] == "CONNECT"
    assert labels("POST", "/api/v1/namespaces/a/pods", dryRun="All")["dry_run"] == "All"
    assert labels("DELETE", "/api/v1/namespaces/a/pods")["verb"] == "DELETE"
    assert labels("GET", "/api/v1/namespaces/a")["scope"] == "resource"
    unknown = {"component": "apiserver", "dry_run": "", "group": "", "resource": "", "scope": "", "subresource": "",
               "verb": "GET", "version": ""}
    assert labels("GET", "/apis/made.up/v1/things") == unknown  # no series per made-up path
    assert labels("GET", "/api/v1/namespaces/a/pods/p/made-up")["subresource"] == ""
    assert labels("GET", "/api/v1/namespaces/a/pods/p/log")["subresource"] == "log"
    assert labels("GET", "/healthz") == {"component": "apiserver", "dry_run": "", "group": "", "resource": "",
                                         "scope": "", "subresource": "", "verb": "GET", "version": ""}


def test_the_text_has_kube_apiservers_families_counts_and_cumulative_buckets():
    rec = Recorder(lambda: {"pods": 3, "deployments.apps": 1})
    listing = request_labels(attributes("GET", "/api/v1/pods", MultiDict()), "GET", MultiDict(), "")
    rec.observe(listing, "200", 0.003)
    rec.observe(listing, "200", 0.07)
    rec.observe(listing, "403", 0.001)
    text = rec.text()
    lines = text.splitlines()
    assert "# TYPE apiserver_request_total counter" in lines
    assert 'apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="pods",' \
           'scope="cluster",subresource="",verb="LIST",version="v1"} 2' in lines
    assert any(line.startswith('apiserver_request_total{code="403"') and line.endswith(" 1") for line in lines)
    buckets = [line for line in lines if line.startswith("apiserver_request_duration_seconds_bucket")]
    assert len(buckets) == len(BUCKETS) + 1
    counts = [int(line.rsplit(" ", 1)[1]) for line in buckets]
    assert counts[0] == 2 and counts[3] == 3 and counts[-1] == 3 and counts == sorted(counts)  # le 0.005, le 0.1
    assert 'le="0.005"' in buckets[0] and 'le="1"' in buckets[8] and 'le="+Inf"' in buckets[-1]
    assert any(line.startswith("apiserver_request_duration_seconds_count{") and line.endswith(" 3") for line in lines)
    assert 'apiserver_storage_objects{resource="deployments.apps"} 1' in lines
    assert 'apiserver_storage_objects{resource="pods"} 3' in lines
    assert any(line.startswith("process_resident_memory_bytes ") for line in lines)
    assert text.endswith("\n") and "# TYPE process_start_time_seconds gauge" in lines
