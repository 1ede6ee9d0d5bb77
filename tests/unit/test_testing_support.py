"""Unit tests for the pure parts of the testing support: image map, port-forward specs and
config, the pytest marker's arguments."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from emukube.cli.testing import parse_port_spec
from emukube.client.pytest_plugin import spec_of
from emukube.errors import EmukubeError
from emukube.plan import image_map
from emukube.render.forward import FORWARD_LISTEN_PORT, render_forward


@pytest.mark.parametrize("ref, full", [
    ("nginx", "docker.io/library/nginx:latest"),
    ("nginx:1.27", "docker.io/library/nginx:1.27"),
    ("docker.io/nginx", "docker.io/library/nginx:latest"),
    ("index.docker.io/library/nginx:latest", "docker.io/library/nginx:latest"),
    ("team/web", "docker.io/team/web:latest"),
    ("localhost:5000/web", "localhost:5000/web:latest"),
    ("registry.example.com/shop/app:1.0", "registry.example.com/shop/app:1.0"),
    ("web@sha256:0123", "docker.io/library/web@sha256:0123"),
])
def test_images_are_compared_as_docker_resolves_them(ref, full):
    assert image_map.normalize(ref) == full


def test_swap_matches_exact_names_first_then_equivalent_ones():
    mapping = {"nginx": "nginx:ci", "docker.io/library/nginx:latest": "other", "web:1.4": "web:ci"}
    assert image_map.swap("nginx", mapping) == "nginx:ci"
    assert image_map.swap("docker.io/library/web:1.4", mapping) == "web:ci"
    assert image_map.swap("web:1.5", mapping) == "web:1.5"  # another tag is another image


def test_unused_map_entries_are_reported():
    objects = [
        {"kind": "Deployment", "spec": {"template": {"spec": {
            "initContainers": [{"name": "i", "image": "busybox"}],
            "containers": [{"name": "c", "image": "registry.example.com/web:1.4"}]}}}},
        {"kind": "Pod", "spec": {"containers": [{"name": "c", "image": "db:2"}]}},
        {"kind": "Service", "spec": {}},
    ]
    assert image_map.images_of(objects) == {"busybox", "registry.example.com/web:1.4", "db:2"}
    mapping = {"docker.io/library/busybox:latest": "x", "registry.example.com/web:1.4": "y", "typo/web": "z"}
    assert image_map.unused_keys(mapping, objects) == ['image map: no container uses image "typo/web"']


def test_image_map_pairs_need_both_sides():
    assert image_map.parse(["a=b", " web:1 = web:ci "]) == {"a": "b", "web:1": "web:ci"}
    for bad in ("a", "=b", "a="):
        with pytest.raises(EmukubeError, match="expected OLD=NEW"):
            image_map.parse([bad])


@pytest.mark.parametrize("spec, parsed", [
    ("8080:80", (8080, "80")), (":80", (0, "80")), ("80", (80, "80")), ("http", (None, "http")),
    ("9000:http", (9000, "http")),
])
def test_port_specs_read_like_kubectl(spec, parsed):
    assert parse_port_spec(spec) == parsed


@pytest.mark.parametrize("spec", ["x:80", "70000:80", "80:"])
def test_bad_port_specs_are_usage_errors(spec):
    with pytest.raises(EmukubeError):
        parse_port_spec(spec)


def test_forward_config_is_valid_haproxy(tmp_path):
    text = render_forward("10.96.1.7", 80, "svc/default/web:80")
    assert f"bind :{FORWARD_LISTEN_PORT}\n" in text and "server target 10.96.1.7:80\n" in text
    cfg = tmp_path / "forward.cfg"
    cfg.write_text(text)
    haproxy = shutil.which("haproxy")
    assert haproxy, "haproxy is needed (scripts/setup.sh installs it)"
    result = subprocess.run([haproxy, "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    with pytest.raises(ValueError):
        render_forward("not-an-ip", 80, "x")


def test_marker_arguments(tmp_path):
    (tmp_path / "k8s").mkdir()
    spec = spec_of(("k8s",), {"images": {"a": "b"}, "timeout": 60}, tmp_path)
    assert spec.paths == (str(tmp_path / "k8s"),) and spec.scope == "module"
    assert spec.up_kwargs({"a": "fixture", "c": "d"}) == {"images": {"a": "b", "c": "d"}, "timeout": 60}
    assert spec_of(("k8s",), {"scope": "session"}, tmp_path).up_kwargs({}) == {}
    # Equal markers share one cluster: the spec is their key.
    assert spec == spec_of(("k8s",), {"timeout": 60, "images": {"a": "b"}}, tmp_path)
    for args, kwargs, message in [((), {}, "at least one manifest"), (("nope",), {}, "no such file"),
                                  (("k8s",), {"scope": "package"}, "scope must be"),
                                  (("k8s",), {"name": "x"}, "unknown option")]:
        with pytest.raises(ValueError, match=message):
            spec_of(args, kwargs, tmp_path)
