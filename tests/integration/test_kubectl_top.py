"""The real kubectl's `top` against emukube's metrics.k8s.io API: a pod that keeps a core busy and
one that holds 64 MiB, as kubectl prints them."""

from __future__ import annotations

import re

import pytest
from conftest import HERE
from kubectl_tools import Kube

MANIFEST = HERE / "manifests" / "top.yaml"
UNITS = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30}


@pytest.fixture(scope="module")
def kube(cluster, tmp_path_factory) -> Kube:
    k = Kube(cluster.name, tmp_path_factory.mktemp("kube"))
    k("wait", "--for=condition=Ready", "pod/burner", "pod/holder", "--timeout=120s")
    return k


def table(text: str) -> list[list[str]]:
    return [re.split(r"\s{2,}", line.strip()) for line in text.strip().splitlines()]


def millicores(cell: str) -> float:
    """"758m" as kubectl top prints it, "999577131n" as the API's quantities are."""
    scale = {"n": 1e-6, "u": 1e-3, "m": 1}.get(cell[-1])
    return int(cell[:-1]) * scale if scale else int(cell) * 1000


def size(cell: str) -> int:
    return int(cell[:-2]) * UNITS[cell[-2:]] if cell[-2:] in UNITS else int(cell)


def test_top_pods(kube):
    rows = table(kube("top", "pod").stdout)
    assert rows[0] == ["NAME", "CPU(cores)", "MEMORY(bytes)"]
    found = {r[0]: r for r in rows[1:]}
    assert sorted(found) == ["burner", "holder"], rows
    assert millicores(found["burner"][1]) >= 100, rows  # a shell loop: a core's share on a busy machine
    assert size(found["holder"][2]) >= 64 << 20, rows
    rows = table(kube("top", "pod", "--sort-by=cpu", "-A").stdout)
    assert rows[0] == ["NAMESPACE", "NAME", "CPU(cores)", "MEMORY(bytes)"] and rows[1][:2] == ["default", "burner"]
    assert [r[0] for r in table(kube("top", "pod", "-l", "app=holder").stdout)[1:]] == ["holder"]


def test_top_pod_containers(kube):
    rows = table(kube("top", "pod", "holder", "--containers").stdout)
    assert rows[0] == ["POD", "NAME", "CPU(cores)", "MEMORY(bytes)"]
    found = {r[1]: r for r in rows[1:]}
    assert sorted(found) == ["idle", "memory"] and all(r[0] == "holder" for r in rows[1:]), rows
    assert size(found["memory"][3]) >= 64 << 20 > size(found["idle"][3]), rows


def test_top_nodes(kube):
    rows = table(kube("top", "node").stdout)
    assert rows[0] == ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]
    assert len(rows) == 2 and rows[1][0] == "node-1", rows
    name, cpu, cpu_pct, memory, memory_pct = rows[1]
    assert millicores(cpu) >= 100 and size(memory) >= 64 << 20, rows
    assert re.fullmatch(r"\d+%", cpu_pct) and re.fullmatch(r"\d+%", memory_pct), rows


def test_pods_without_metrics(kube):
    result = kube("top", "pod", "nothing", check=False)
    assert result.returncode == 1 and 'pods "nothing" not found' in result.stderr, result.stderr
    kube("run", "done", "--image=emukube/echo:1.0", "--restart=Never", "--command", "--", "true")
    kube("wait", "--for=jsonpath={.status.phase}=Succeeded", "pod/done", "--timeout=60s")
    result = kube("top", "pod", "done", check=False)
    assert result.returncode == 1, result
    assert 'podmetrics.metrics.k8s.io "default/done" not found' in result.stderr, result.stderr
    # a finished pod is left out of the list, as metrics-server leaves it
    assert "done" not in kube("top", "pod").stdout


def test_get_podmetrics_and_nodemetrics_as_tables(kube):
    rows = table(kube("get", "podmetrics", "burner").stdout)
    assert rows[0] == ["NAME", "CPU", "MEMORY", "WINDOW"] and rows[1][0] == "burner", rows
    assert millicores(rows[1][1]) >= 100, rows
    assert re.fullmatch(r"\d+(\.\d+)?(s|ms)", rows[1][3]), rows
    rows = table(kube("get", "nodemetrics").stdout)
    assert rows[0] == ["NAME", "CPU", "MEMORY", "WINDOW"] and rows[1][0] == "node-1", rows
