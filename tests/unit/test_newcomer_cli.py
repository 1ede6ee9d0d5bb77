"""Issue 19's pure parts: how printed commands name emukube, one-line OS errors, the demo's
way around a NodePort another cluster holds."""

import errno
import os
import re
from http.client import RemoteDisconnected
from pathlib import Path

import pytest
import requests
import yaml
from urllib3.exceptions import ProtocolError

from emukube.cli.app import os_error_line
from emukube.cli.demo import held_node_ports, note, without_node_ports
from emukube.cli.lifecycle import _new_cluster_name
from emukube.cli.output import invoked_as, reach_lines
from emukube.errors import EmukubeError

PIZZA = [d for d in yaml.safe_load_all((Path(__file__).parents[2] / "examples" / "pizza.yaml").read_text()) if d]


def test_emukube_on_path_is_typed_by_its_name(tmp_path, monkeypatch):
    program = tmp_path / "emukube"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}/usr/bin")
    assert invoked_as(str(program)) == "emukube"
    assert invoked_as("emukube") == "emukube"


def test_emukube_off_path_is_typed_by_the_path_it_was_run_by(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin")
    assert invoked_as(".venv/bin/emukube") == ".venv/bin/emukube"
    assert invoked_as("/opt/my tools/emukube") == "'/opt/my tools/emukube'"


def test_reach_lines_use_how_emukube_is_typed():
    services = [{"metadata": {"name": "orders"}, "spec": {"clusterIP": "None", "ports": [{"port": 5432}]}},
                {"metadata": {"name": "kitchen"}, "spec": {"clusterIP": "10.96.1.1", "ports": [{"port": 80}]}}]
    workloads = [{"kind": "Deployment", "metadata": {"name": "kitchen"}}]
    lines = reach_lines(services, "demo", workloads, prog=".venv/bin/emukube")
    assert lines == ["orders           .venv/bin/emukube dns --cluster demo orders      (headless: one A record per ready pod)",
                     "kitchen          .venv/bin/emukube exec --cluster demo deploy/kitchen -- curl -s http://kitchen/   (in-cluster)"]


@pytest.mark.parametrize("name", ["Bad Name", "UPPER", "under_score", "-lead", "trail-", "a.b", "x" * 64, ""])
def test_cluster_names_are_dns_labels(name):
    with pytest.raises(EmukubeError) as refused:
        _new_cluster_name(name)
    assert str(refused.value).startswith(f'error: --cluster: Invalid value: "{name}": ')


@pytest.mark.parametrize("name", ["emukube", "demo-2", "t12345walk", "x" * 63])
def test_good_cluster_names_pass(name):
    _new_cluster_name(name)


def test_os_errors_read_as_one_line():
    assert os_error_line(FileNotFoundError(errno.ENOENT, "No such file or directory", "missing/g.mmd")) == \
        "error: missing/g.mmd: no such file or directory"
    assert os_error_line(PermissionError(errno.EACCES, "Permission denied")) == "error: Permission denied"
    lost = requests.ConnectionError(ProtocolError("Connection aborted.", RemoteDisconnected("Remote end closed")))
    assert re.fullmatch(r"error: lost the connection to the Docker engine at \S+ \(Remote end closed\)",
                        os_error_line(lost))


def test_the_demo_leaves_out_only_the_node_ports_others_hold():
    held = held_node_ports(PIZZA, {30080: "cluster other", 31000: "cluster other"})
    assert held == {30080: "cluster other"}
    docs = without_node_ports(PIZZA, set(held))
    phone = next(d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == "phone")
    assert phone["spec"]["ports"] == [{"port": 80, "targetPort": 8080}] and phone["spec"]["type"] == "NodePort"
    assert [d for d in docs if d["metadata"]["name"] != "phone"] == \
        [d for d in PIZZA if d["metadata"]["name"] != "phone"]
    assert held_node_ports(PIZZA, {}) == {}


def test_the_demo_names_the_holder_and_the_fix():
    assert note(30080, "cluster other", ".venv/bin/emukube") == (
        'note: NodePort 30080 is held by emukube cluster "other" (`.venv/bin/emukube down --cluster other` '
        "frees it): this demo gets a free port instead; curl the one printed below")


def test_reading_verbs_start_without_the_docker_sdk():
    """`emukube --help`, `get`, `scale`, `delete`, `rollout`, `logs`, `describe` and `kubectl` import neither the docker SDK nor what needs it: it took longer
    to import than `get` takes to answer (benchmarks, section 7)."""
    import subprocess
    import sys

    probe = ("import sys, emukube.cli.app, emukube.cli.get, emukube.cli.workloads, emukube.cli.objects, "
             "emukube.client.rollout, emukube.client.edits, emukube.client.logs, emukube.client.kubectl, "
             "emukube.cli.kube, "
             "emukube.lifecycle.connection; "
             "print(sorted(m for m in ('docker', 'requests', 'urllib3', 'rich') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
