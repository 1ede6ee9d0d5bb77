"""CustomResourceDefinitions with the real kubectl: a CRD applied and established, its custom
resources listed with the CRD's printer columns (and by short name, in api-resources, explained),
described, watched, their status patched through --subresource=status, scaled, refused by the
schema as the API server words it, installed by Helm (the CRD in the chart's crds/), and gone with
their CRD."""

from __future__ import annotations

import queue
import subprocess
import threading
import time

import pytest
from conftest import HERE
from kubectl_tools import HELM, KUBECTL, Kube

MANIFEST = HERE / "manifests" / "incluster.yaml"  # any small cluster: the CRD brings the rest
CRD = HERE / "manifests" / "crds" / "widgets.yaml"
WIDGETS = """
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1}
spec: {size: small, replicas: 2, color: blue}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w2}
spec: {size: large}
"""


@pytest.fixture(scope="module")
def kube(cluster, tmp_path_factory) -> Kube:
    k = Kube(cluster.name, tmp_path_factory.mktemp("kube"))
    k("apply", "-f", str(CRD))
    k("wait", "--for", "condition=established", "crd/widgets.example.com", "--timeout=30s")
    k("apply", "-f", "-", input=WIDGETS)
    return k


def rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines()]


def test_get_lists_custom_resources_with_the_crds_columns(kube):
    table = rows(kube("get", "widgets").stdout)
    assert table[0] == ["NAME", "SIZE", "REPLICAS", "READY", "AGE"]
    assert [r[:3] for r in table[1:]] == [["w1", "small", "2"], ["w2", "large", "1"]]  # replicas defaulted
    assert len(table[1]) == 4  # READY: no condition yet, an empty cell as kubectl prints a null
    wide = rows(kube("get", "wg", "-o", "wide").stdout)
    assert wide[0] == ["NAME", "SIZE", "REPLICAS", "READY", "COLOR", "AGE"] and wide[1][3] == "blue"  # READY empty
    assert kube("get", "widget", "w2", "-o", "jsonpath={.spec.replicas}").stdout == "1"
    crds = rows(kube("get", "crd").stdout)
    assert crds[0] == ["NAME", "CREATED", "AT"] and crds[1][0] == "widgets.example.com"
    listed = kube("get", "all", "-o", "name").stdout
    assert "widget.example.com/w1" in listed


def test_discovery_explain_and_describe(kube):
    resources = rows(kube("api-resources", "--api-group=example.com").stdout)
    assert resources[1] == ["widgets", "wg", "example.com/v1", "true", "Widget"]
    explained = kube("explain", "widget.spec.size").stdout
    assert "How big the widget is." in explained and "KIND:       Widget" in explained
    described = kube("describe", "widget", "w1").stdout
    for line in ("Name:         w1", "API Version:  example.com/v1", "Kind:         Widget"):
        assert line in described, described
    assert "Size:      small" in described or "Size:  small" in described, described


def test_validation_errors_are_the_api_servers(kube):
    bad = kube("apply", "-f", "-", check=False,
               input="apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: bad}\nspec: {size: small, replicas: two}\n")
    assert bad.returncode == 1
    assert ('The Widget "bad" is invalid: spec.replicas: Invalid value: "string": spec.replicas in body must be '
            'of type integer: "string"') in bad.stderr, bad.stderr
    missing = kube("apply", "-f", "-", check=False,
                   input="apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: bad}\nspec: {color: red}\n")
    assert 'The Widget "bad" is invalid: spec.size: Required value' in missing.stderr, missing.stderr
    typo = kube("apply", "-f", "-", check=False,
                input="apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: bad}\nspec: {size: small, sise: 1}\n")
    assert 'strict decoding error: unknown field "spec.sise"' in typo.stderr, typo.stderr
    assert kube("get", "widget", "bad", check=False).returncode == 1


def test_status_through_its_subresource_only(kube):
    kube("patch", "widget", "w1", "--type=merge", "-p", '{"status":{"replicas":5}}')
    assert kube("get", "widget", "w1", "-o", "jsonpath={.status}").stdout == ""
    kube("patch", "widget", "w1", "--subresource=status", "--type=merge",
         "-p", '{"status":{"replicas":2,"selector":"app=w1","conditions":[{"type":"Ready","status":"True"}]}}')
    assert rows(kube("get", "widget", "w1").stdout)[1][3] == "True"
    refused = kube("patch", "widget", "w1", "-p", '{"spec":{"color":"red"}}', check=False)
    assert "the body of the request was in an unknown format - accepted media types include: " \
           "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml" in refused.stderr


def test_scale_through_the_scale_subresource(kube):
    before = int(kube("get", "widget", "w1", "-o", "jsonpath={.metadata.generation}").stdout)
    assert kube("scale", "widget", "w1", "--replicas=4").stdout.strip() == "widget.example.com/w1 scaled"
    assert kube("get", "widget", "w1", "-o", "jsonpath={.spec.replicas} {.metadata.generation}").stdout == \
        f"4 {before + 1}"


def _wait_for_line(lines: queue.Queue, seen: list[list[str]], want: list[str], limit: float = 30) -> None:
    deadline = time.monotonic() + limit
    while want not in [line[:len(want)] for line in seen] and time.monotonic() < deadline:
        try:
            seen.append(lines.get(timeout=1).split())
        except queue.Empty:
            continue
    assert want in [line[:len(want)] for line in seen], seen


def test_watch_sees_a_new_custom_resource(kube):
    proc = subprocess.Popen([KUBECTL, "get", "widgets", "--watch", "--output-watch-events", "--no-headers"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=kube.env)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line.strip()) for line in proc.stdout], daemon=True).start()
    seen: list[list[str]] = []
    try:
        _wait_for_line(lines, seen, ["ADDED", "w1"])  # the initial listing: the watch is under way
        kube("apply", "-f", "-", input="apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w3}\n"
                                       "spec: {size: small}\n")
        _wait_for_line(lines, seen, ["ADDED", "w3", "small", "1"])
    finally:
        proc.kill()
        proc.wait()


def test_server_side_apply_of_a_custom_resource(kube):
    out = kube("apply", "--server-side", "-f", "-",
               input="apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w4}\nspec: {size: small}\n")
    assert "widget.example.com/w4 serverside-applied" in out.stdout
    managers = kube("get", "widget", "w4", "-o", "jsonpath={.metadata.managedFields[*].manager}").stdout
    assert managers == "kubectl"
    # a field another manager set: the conflict kube-apiserver reports
    taken = kube("apply", "--server-side", "-f", "-", check=False,
                 input="apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w2}\nspec: {size: small}\n")
    assert 'conflict with "kubectl-client-side-apply" using example.com/v1: .spec.size' in taken.stderr


def helm(kube: Kube, *args: str) -> str:
    result = subprocess.run([HELM, *args], capture_output=True, text=True, env=kube.env, timeout=120)
    assert result.returncode == 0, f"helm {' '.join(args)}: {result.stdout}{result.stderr}"
    return result.stdout


def test_helm_installs_a_chart_with_a_crd_and_a_custom_resource(kube, tmp_path):
    chart = tmp_path / "gadgets"
    (chart / "crds").mkdir(parents=True)
    (chart / "templates").mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: gadgets\nversion: 0.1.0\n")
    crd = CRD.read_text().replace("widget", "gadget").replace("Widget", "Gadget").replace("[wg]", "[gd]")
    (chart / "crds" / "gadgets.yaml").write_text(crd)
    (chart / "templates" / "gadget.yaml").write_text(
        "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: '{{ .Release.Name }}'}\n"
        "spec: {size: '{{ .Values.size }}'}\n")
    assert "STATUS: deployed" in helm(kube, "install", "g", str(chart), "--set", "size=small", "--wait")
    assert kube("get", "gadget", "g", "-o", "jsonpath={.spec.size}").stdout == "small"
    helm(kube, "upgrade", "g", str(chart), "--set", "size=large", "--server-side=false")  # Helm 3's patches
    assert kube("get", "gd", "g", "-o", "jsonpath={.spec.size}").stdout == "large"
    helm(kube, "rollback", "g", "1", "--server-side=false")  # one way per release, as README says
    assert kube("get", "gadget", "g", "-o", "jsonpath={.spec.size}").stdout == "small"
    helm(kube, "uninstall", "g", "--wait")
    assert kube("get", "gadgets", "-o", "name").stdout == ""  # the CRD stays, as Helm leaves crds/


def test_zz_deleting_the_crd_removes_its_custom_resources(kube):
    kube("delete", "crd", "widgets.example.com", "--timeout=60s", timeout=90)
    gone = kube("get", "widgets", check=False)
    # kubectl's discovery cache still names the resource: the list itself is a 404
    assert gone.returncode == 1 and ('the server doesn\'t have a resource type "widgets"' in gone.stderr or
                                     "the server could not find the requested resource" in gone.stderr), gone.stderr
    kube("apply", "-f", str(CRD))  # again: none of the old objects is back
    kube("wait", "--for", "condition=established", "crd/widgets.example.com", "--timeout=30s")
    assert kube("get", "widgets", "-o", "name").stdout == ""
