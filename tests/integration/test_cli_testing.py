"""`emukube load`, `--image-map` and `emukube port-forward` through the command line: an image
from an archive runs in place of one the manifest names, and a forward lives until Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess

import httpx
import pytest
from conftest import EMUKUBE, HERE, run

from emukube.runtime import engine as eng
from emukube.runtime import images

MAPPED = """
apiVersion: v1
kind: Pod
metadata: {name: sleeper}
spec:
  containers: [{name: pause, image: registry.invalid/team/pause:1}]
"""


@pytest.fixture(scope="module")
def loaded(engine, tmp_path_factory):
    """An archive of the pause image under a name of ours, loaded back with `emukube load`."""
    ref = f"h7load{os.getpid()}/pause:test"
    archive = tmp_path_factory.mktemp("load") / "pause.tar"
    original = engine.images.get(images.resolve(engine, "pause"))
    original.tag(*ref.split(":"))
    try:
        with open(archive, "wb") as fh:
            for chunk in engine.images.get(ref).save(named=ref):
                fh.write(chunk)
    finally:
        engine.images.remove(ref)
    result = run("load", str(archive))
    try:
        yield ref, result.stdout
    finally:
        engine.images.remove(ref)


@pytest.fixture(scope="module")
def mapped_cluster(loaded, tmp_path_factory):
    manifest = tmp_path_factory.mktemp("mapped") / "mapped.yaml"
    manifest.write_text(MAPPED)
    name = f"c{os.getpid() % 100000}cli"
    try:
        run("up", str(HERE / "manifests" / "one-web.yaml"), str(manifest), "--timeout", "150s",
            "--image-map", f"registry.invalid/team/pause:1={loaded[0]}", cluster=name, timeout=300)
        yield name
    finally:
        run("down", cluster=name, check=False)


def test_load_prints_what_docker_load_prints(loaded):
    ref, out = loaded
    assert f"Loaded image: {ref}" in out


def test_load_of_a_missing_file_is_a_usage_error(engine, tmp_path):
    result = run("load", str(tmp_path / "none.tar"), check=False)
    assert result.returncode == 2 and f"open {tmp_path / 'none.tar'}: no such file or directory" in result.stderr


def test_the_loaded_image_runs_in_place_of_the_mapped_one(engine, loaded, mapped_cluster):
    sleeper = eng.containers(engine, mapped_cluster, **{"emukube.io/name": "sleeper"})
    assert [c.attrs["Config"]["Image"] for c in sleeper] == [loaded[0]]
    assert "Running" in run("get", "pods", "sleeper", cluster=mapped_cluster).stdout


def test_a_bad_image_map_is_a_usage_error(engine):
    result = run("up", str(HERE / "manifests" / "one-web.yaml"), "--image-map", "no-equals-sign",
                 cluster="never-made", check=False)
    assert result.returncode == 2 and 'invalid --image-map "no-equals-sign"' in result.stderr


def test_port_forward_until_ctrl_c(engine, mapped_cluster):
    proc = subprocess.Popen([EMUKUBE, "port-forward", "svc/web", ":80", "--cluster", mapped_cluster],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # blocks until the forward listens (or the command fails)
        assert line.startswith("Forwarding from 127.0.0.1:") and line.rstrip().endswith(" -> 8080"), \
            line + proc.stderr.read()
        port = int(line.split(":")[1].split()[0])
        assert httpx.get(f"http://127.0.0.1:{port}/hostname", timeout=10).text == "web"
        forwards = eng.containers(engine, mapped_cluster, **{"emukube.io/role": "forward"})
        assert len(forwards) == 1
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert eng.containers(engine, mapped_cluster, **{"emukube.io/role": "forward"}) == []
