"""ConfigMap and Secret volumes follow their objects in running pods, as the kubelet's AtomicWriter
keeps them (`..data` -> a timestamped directory, swapped by a rename); a subPath mount is a copy
made at start and keeps its content, as in Kubernetes. downwardAPI volumes follow the pod's labels
and annotations; projected volumes gather configMap, secret, downwardAPI and token sources."""

from __future__ import annotations

import base64
import json
import time

import pytest
from conftest import HERE
from kubectl_tools import Kube

MANIFEST = HERE / "manifests" / "live_config.yaml"
UPDATE_WAIT = 5.0  # the bound: a change reaches the mounted file within 5 s


@pytest.fixture(scope="module")
def kube(cluster, tmp_path_factory) -> Kube:
    k = Kube(cluster.name, tmp_path_factory.mktemp("kube"))
    k("wait", "pod/reader", "pod/pair", "--for=condition=Ready", "--timeout=90s", timeout=120)
    return k


def cat(kube: Kube, pod: str, path: str, container: str | None = None) -> str:
    return kube("exec", pod, *(["-c", container] if container else []), "--", "cat", path, check=False).stdout


def reaches(kube: Kube, pod: str, path: str, want: str, container: str | None = None) -> str:
    """Polls the file through kubectl exec for at most UPDATE_WAIT seconds; the last content read."""
    deadline = time.monotonic() + UPDATE_WAIT
    seen = cat(kube, pod, path, container)
    while seen != want and time.monotonic() < deadline:
        time.sleep(0.2)
        seen = cat(kube, pod, path, container)
    return seen


def apply_configmap(kube: Kube, *literals: str) -> None:
    made = kube("create", "configmap", "app-config", *(f"--from-literal={kv}" for kv in literals),
                "--dry-run=client", "-o", "yaml").stdout
    kube("apply", "-f", "-", input=made)


def test_the_volume_has_the_kubelets_layout(kube):
    listing = kube("exec", "reader", "--", "ls", "-la", "/etc/app").stdout
    links = {line.split()[-3]: line.split()[-1] for line in listing.splitlines() if " -> " in line}
    assert links["app.conf"] == "..data/app.conf" and links["extra.conf"] == "..data/extra.conf"
    assert links["..data"].startswith("..20"), listing  # ..2026_12_03_17_00_00.123456789
    assert kube("exec", "reader", "--", "sh", "-c", "touch /etc/app/x", check=False).returncode != 0  # read-only
    assert cat(kube, "reader", "/etc/creds/password") == "first"


def test_a_configmap_change_reaches_the_files_but_not_a_subpath_copy(kube):
    apply_configmap(kube, "app.conf=color=green\n", "new.conf=fresh")
    assert reaches(kube, "reader", "/etc/app/app.conf", "color=green\n") == "color=green\n"
    assert cat(kube, "reader", "/etc/app/new.conf") == "fresh"
    assert cat(kube, "reader", "/etc/single/app.conf") == "color=blue\n"  # subPath: not updated
    # Both containers of a pod with a sandbox see the same volume.
    assert reaches(kube, "pair", "/etc/app/new.conf", "fresh", "first") == "fresh"
    assert reaches(kube, "pair", "/config/new.conf", "fresh", "second") == "fresh"


def test_a_key_removed_disappears(kube):
    # new.conf and extra.conf are in the last-applied configuration (extra.conf since `up`,
    # which applies as kubectl apply does), so a client-side apply without them removes both.
    apply_configmap(kube, "app.conf=color=red\n")
    assert reaches(kube, "reader", "/etc/app/app.conf", "color=red\n") == "color=red\n"
    assert kube("exec", "reader", "--", "ls", "/etc/app").stdout.split() == ["app.conf"]
    assert kube("exec", "reader", "--", "cat", "/etc/app/new.conf", check=False).returncode != 0


def test_a_secret_change_reaches_the_file(kube):
    made = kube("create", "secret", "generic", "app-secret", "--from-literal=password=second",
                "--dry-run=client", "-o", "yaml").stdout
    kube("apply", "-f", "-", input=made)
    assert reaches(kube, "reader", "/etc/creds/password", "second") == "second"
    mode = kube("exec", "reader", "--", "stat", "-L", "-c", "%a", "/etc/creds/password").stdout.strip()
    assert mode == "400"


def controller_id(engine, cluster) -> str:
    found = engine.containers.list(filters={"label": [f"emukube.io/cluster={cluster.name}",
                                                      "emukube.io/role=controller"]})
    return found[0].id


def test_a_downward_api_volume_holds_the_pods_fields_and_follows_its_labels(kube):
    kube("wait", "pod/downward", "--for=condition=Ready", "--timeout=90s", timeout=120)
    assert cat(kube, "downward", "/etc/podinfo/labels") == 'app="downward"\ntier="one"'
    # Each annotation a line, `kubectl apply`'s last-applied-configuration among them.
    annotations = cat(kube, "downward", "/etc/podinfo/annotations").split("\n")
    assert 'note="first \\"quoted\\""' in annotations and annotations == sorted(annotations), annotations
    uid = kube("get", "pod", "downward", "-o", "jsonpath={.metadata.uid}").stdout
    assert uid and reaches(kube, "downward", "/etc/podinfo/uid", uid) == uid
    assert cat(kube, "downward", "/etc/podinfo/memory_mi") == "64"
    # The downward API in env too, read when the container starts.
    assert kube("exec", "downward", "--", "printenv", "MEMORY_MI", "TIER", "ACCOUNT").stdout == "64\none\ndefault\n"
    kube("label", "pod", "downward", "tier=two", "--overwrite")
    assert reaches(kube, "downward", "/etc/podinfo/labels", 'app="downward"\ntier="two"') == 'app="downward"\ntier="two"'


def test_a_projected_volume_gathers_its_sources(kube):
    kube("wait", "pod/downward", "--for=condition=Ready", "--timeout=90s", timeout=120)
    listing = kube("exec", "downward", "--", "ls", "-A", "/var/run/bundle").stdout.split()
    assert {"conf", "password", "namespace", "token", "vault-token", "..data"} <= set(listing), listing
    conf = kube("get", "configmap", "app-config", "-o", "jsonpath={.data.app\\.conf}").stdout
    assert cat(kube, "downward", "/var/run/bundle/conf/app.conf") == conf
    assert cat(kube, "downward", "/var/run/bundle/namespace") == "default"
    # The token for the API server's audience is the pod's ServiceAccount to it; one for another
    # audience (here Vault's) is refused, as a Kubernetes API server refuses it.
    # Each lasts its expirationSeconds (an hour unless it says), as the kubelet asks for it.
    for path, answer, seconds in (("token", 0, 3600), ("vault-token", 1, 600)):
        token = cat(kube, "downward", f"/var/run/bundle/{path}")
        result = kube("get", "--raw", "/api", "--token", token, check=False)
        assert result.returncode == answer, (path, result.stderr)
        if answer:
            assert "Unauthorized" in result.stderr
        claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=" * (-len(token.split(".")[1]) % 4)))
        assert claims["exp"] - claims["iat"] == seconds, (path, claims)
    apply_configmap(kube, "app.conf=color=projected\n")
    assert reaches(kube, "downward", "/var/run/bundle/conf/app.conf", "color=projected\n") == "color=projected\n"


def test_updates_go_on_after_the_controller_is_replaced(kube, cluster, engine):
    # New settings replace the controller; the tmpfs volume stays mounted (its holder), so the
    # running pod's bind mount is still the volume the new controller writes.
    old = controller_id(engine, cluster)
    cluster.emukube("up", str(MANIFEST), "--allow-privileged", "--timeout", "150s", timeout=300)
    assert controller_id(engine, cluster) != old
    apply_configmap(kube, "app.conf=color=after-replacement\n")
    assert reaches(kube, "reader", "/etc/app/app.conf", "color=after-replacement\n") == "color=after-replacement\n"
