"""configMap, secret, downwardAPI and projected volumes: what they hold (plan/config_volumes.py) and the kubelet's
AtomicWriter layout the controller writes (runtime/config_volumes.py), on a temporary directory."""

import os
import time
from unittest import mock

from emukube.plan import config_volumes as cv
from emukube.runtime.config_volumes import ConfigVolumes, token_due, write_payload


def spec(*mounts, volumes=None):
    return {"containers": [{"name": "app", "volumeMounts": list(mounts)}],
            "volumes": volumes or [{"name": "conf", "configMap": {"name": "app-config"}},
                                   {"name": "creds", "secret": {"secretName": "app-secret", "defaultMode": 0o400}}]}


DATA = {("ConfigMap", "app-config"): {"a.conf": b"A", "b.conf": b"B"}, ("Secret", "app-secret"): {"token": b"t"}}


def lookup(kind, name):
    return DATA.get((kind, name))


SIDE = cv.PodSide({"name": "web-1", "namespace": "shop", "uid": "u-1", "labels": {"app": "web", "tier": "a\"b"},
                   "annotations": {"note": "x"}}, {"cpu": "2", "memory": "1Gi"},
                  lambda audience, expiry: f"token-for-{audience}".encode())


def test_whole_mounts_are_live_subpath_mounts_are_not():
    live = cv.live_volumes(spec({"name": "conf", "mountPath": "/etc/app"},
                                {"name": "creds", "mountPath": "/etc/creds/token", "subPath": "token"}), lookup, SIDE)
    assert live == {"conf": {"a.conf": (b"A", 0o644), "b.conf": (b"B", 0o644)}}


def test_items_modes_and_missing_objects():
    volumes = [{"name": "conf", "configMap": {"name": "app-config", "items": [
                   {"key": "a.conf", "path": "sub/a", "mode": 0o600}, {"key": "nope", "path": "x"}]}},
               {"name": "creds", "secret": {"secretName": "app-secret", "defaultMode": 0o400}},
               {"name": "gone", "configMap": {"name": "absent"}},
               {"name": "maybe", "configMap": {"name": "absent", "optional": True}}]
    mounts = [{"name": n, "mountPath": f"/m/{n}"} for n in ("conf", "creds", "gone", "maybe")]
    live = cv.live_volumes(spec(*mounts, volumes=volumes), lookup, SIDE)
    # A non-optional object that is gone keeps the last content (left out); an optional one empties.
    assert live == {"conf": {"sub/a": (b"A", 0o600)}, "creds": {"token": (b"t", 0o400)}, "maybe": {}}
    assert cv.top_level(live["conf"]) == {"sub"}


def test_paths_that_would_leave_the_volume_or_shadow_its_links_are_left_out():
    data = {"ok": b"1", "..data": b"2", "up": b"3", "abs": b"4"}
    src = {"items": [{"key": "ok", "path": "a/ok"}, {"key": "..data", "path": "..data"},
                     {"key": "up", "path": "a/../../up"}, {"key": "abs", "path": "/etc/abs"}]}
    assert cv.payload(src, data) == {"a/ok": (b"1", 0o644)}
    assert cv.payload({}, {"..data": b"x", "k": b"v"}) == {"k": (b"v", 0o644)}


def test_digest_follows_content_mode_and_group():
    files = {"k": (b"v", 0o644)}
    assert cv.digest(files) == cv.digest(dict(files))
    assert len({cv.digest(files), cv.digest({"k": (b"w", 0o644)}), cv.digest({"k": (b"v", 0o600)}),
                cv.digest(files, 2000)}) == 4


def test_atomic_writer_layout_and_update(tmp_path):
    target = tmp_path / "vol"
    assert write_payload(target, {"a.conf": (b"A", 0o644), "b.conf": (b"B", 0o640)})
    first = os.readlink(target / "..data")
    assert first.startswith("..") and (target / first).is_dir()
    assert os.readlink(target / "a.conf") == "..data/a.conf"
    assert (target / "a.conf").read_bytes() == b"A" and (target / "b.conf").stat().st_mode & 0o777 == 0o640
    assert not write_payload(target, {"a.conf": (b"A", 0o644), "b.conf": (b"B", 0o640)})  # unchanged

    assert write_payload(target, {"a.conf": (b"A2", 0o644), "c.conf": (b"C", 0o644)})
    second = os.readlink(target / "..data")
    assert second != first and not (target / first).exists()
    assert (target / "a.conf").read_bytes() == b"A2" and (target / "c.conf").read_bytes() == b"C"
    assert not os.path.lexists(target / "b.conf")  # a key removed disappears
    assert sorted(p.name for p in target.iterdir()) == sorted(["..data", second, "a.conf", "c.conf"])


def test_sync_rewrites_changed_volumes_and_drops_gone_pods(tmp_path):
    volumes = ConfigVolumes(str(tmp_path), "/host/config")
    pod_spec = spec({"name": "conf", "mountPath": "/etc/app"})
    objects = [{"kind": "ConfigMap", "metadata": {"name": "app-config", "namespace": "default"}, "data": {"k": "1"}}]
    source = volumes.mount_source("default", "web", pod_spec, objects, "conf", {})
    assert source == "/host/config/default_web/conf"
    assert (tmp_path / "default_web/conf/k").read_text() == "1"
    assert volumes.sync(1, [("default", "web", pod_spec, {})], objects, set()) == []
    objects[0]["data"] = {"k": "2"}
    assert volumes.sync(2, [("default", "web", pod_spec, {})], objects, set()) == ["default/web/conf"]
    assert (tmp_path / "default_web/conf/k").read_text() == "2"
    assert volumes.sync(3, [], objects, {"default/other"}) == []
    assert not (tmp_path / "default_web").exists()


def test_downward_api_volume_as_the_kubelet_writes_it():
    pod_spec = {"containers": [{"name": "app", "volumeMounts": [{"name": "info", "mountPath": "/etc/info"}],
                                "resources": {"limits": {"memory": "64Mi"}, "requests": {"cpu": "250m"}}}],
                "volumes": [{"name": "info", "downwardAPI": {"defaultMode": 0o440, "items": [
                    {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
                    {"path": "tier", "fieldRef": {"fieldPath": "metadata.labels['tier']"}},
                    {"path": "annotations", "fieldRef": {"fieldPath": "metadata.annotations"}},
                    {"path": "id/uid", "fieldRef": {"fieldPath": "metadata.uid"}, "mode": 0o400},
                    {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
                    {"path": "mem_mi", "resourceFieldRef": {"containerName": "app", "resource": "limits.memory",
                                                            "divisor": "1Mi"}},
                    {"path": "cpu_m", "resourceFieldRef": {"containerName": "app", "resource": "requests.cpu",
                                                           "divisor": "1m"}},
                    {"path": "cpu_limit", "resourceFieldRef": {"containerName": "app", "resource": "limits.cpu"}},
                    {"path": "../escape", "fieldRef": {"fieldPath": "metadata.name"}}]}}]}
    files = cv.live_volumes(pod_spec, lookup, SIDE)["info"]
    assert files == {"labels": (b'app="web"\ntier="a\\"b"', 0o440), "tier": (b'a"b', 0o440),
                     "annotations": (b'note="x"', 0o440), "id/uid": (b"u-1", 0o400), "name": (b"web-1", 0o440),
                     "mem_mi": (b"64", 0o440), "cpu_m": (b"250", 0o440),
                     "cpu_limit": (b"2", 0o440)}  # no limit set: the node's allocatable


def test_projected_volume_merges_its_sources():
    volume = {"name": "all", "projected": {"defaultMode": 0o444, "sources": [
        {"configMap": {"name": "app-config", "items": [{"key": "a.conf", "path": "conf/a"}]}},
        {"secret": {"name": "app-secret"}},
        {"downwardAPI": {"items": [{"path": "ns", "fieldRef": {"fieldPath": "metadata.namespace"}}]}},
        {"serviceAccountToken": {"path": "vault-token", "audience": "vault", "expirationSeconds": 600}},
        {"serviceAccountToken": {"path": "token"}}]}}
    pod_spec = spec({"name": "all", "mountPath": "/var/run/all"}, volumes=[volume])
    assert cv.live_volumes(pod_spec, lookup, SIDE)["all"] == {
        "conf/a": (b"A", 0o444), "token": (b"token-for-None", 0o444), "ns": (b"shop", 0o444),
        "vault-token": (b"token-for-vault", 0o444)}
    # A source that is missing (and not optional) holds the whole volume back, as the kubelet does.
    gone = {"name": "all", "projected": {"sources": [{"secret": {"name": "absent"}},
                                                     {"configMap": {"name": "app-config"}}]}}
    missing: list[str] = []
    assert cv.volume_payload(gone, pod_spec, lookup, SIDE, missing) is None
    assert missing == ['secret "absent" not found']
    maybe = {"name": "all", "projected": {"sources": [{"secret": {"name": "absent", "optional": True}}]}}
    assert cv.volume_payload(maybe, pod_spec, lookup, SIDE, []) == {}


def test_sync_follows_the_pods_labels(tmp_path):
    volumes = ConfigVolumes(str(tmp_path), "/host/config")
    pod_spec = {"containers": [{"name": "app", "volumeMounts": [{"name": "info", "mountPath": "/etc/info"}]}],
                "volumes": [{"name": "info", "downwardAPI": {"items": [
                    {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}}]}
    volumes.sync(1, [("default", "web", pod_spec, {"labels": {"a": "1"}})], [], set())
    assert (tmp_path / "default_web/info/labels").read_text() == 'a="1"'
    assert volumes.sync(1, [("default", "web", pod_spec, {"labels": {"a": "2"}})], [], set()) == ["default/web/info"]
    assert (tmp_path / "default_web/info/labels").read_text() == 'a="2"'


def test_projected_tokens_are_made_once_per_pod_and_audience_until_the_kubelet_would_renew_them(tmp_path):
    made = []

    def minter(namespace, account, audience, seconds):
        made.append((namespace, account, audience, seconds))
        return f"t{len(made)}"

    volumes = ConfigVolumes(str(tmp_path), "/host/config", minter=minter)
    pod_spec = spec({"name": "tok", "mountPath": "/t"}, volumes=[{"name": "tok", "projected": {"sources": [
        {"serviceAccountToken": {"path": "token", "audience": "vault", "expirationSeconds": 600}},
        {"serviceAccountToken": {"path": "api-token"}}]}}])
    pod_spec["serviceAccountName"] = "robot"
    start = time.time()
    for version in (1, 2):
        volumes.sync(version, [("default", "web", pod_spec, {})], [], set())
    assert made == [("default", "robot", "vault", 600), ("default", "robot", None, 3600)]
    assert (tmp_path / "default_web/tok/token").read_text() == "t1"
    with mock.patch("time.time", return_value=start + 470):  # 80% of 600 s not yet
        assert volumes.sync(2, [("default", "web", pod_spec, {})], [], set()) == []
    with mock.patch("time.time", return_value=start + 490):
        assert volumes.sync(2, [("default", "web", pod_spec, {})], [], set()) == ["default/web/tok"]
    assert (tmp_path / "default_web/tok/token").read_text() == "t3"  # the vault one, renewed
    assert (tmp_path / "default_web/tok/api-token").read_text() == "t2"  # an hour's: 48 minutes left
    assert [token_due(0, 3600, t) for t in (2879, 2880)] == [False, True]
    assert token_due(0, 10 ** 7, 24 * 3600)  # a day at most, whatever it asked


def test_env_reads_the_same_downward_api():
    from emukube.runtime.podspec import Refs, container_env

    def ref(path):
        return {"valueFrom": {"fieldRef": {"fieldPath": path}}}

    container = {"name": "app", "resources": {"limits": {"cpu": "1500m"}}, "env": [
        {"name": "TIER", **ref("metadata.labels['tier']")}, {"name": "NOTE", **ref("metadata.annotations['note']")},
        {"name": "ABSENT", **ref("metadata.labels['nope']")}, {"name": "ACCOUNT", **ref("spec.serviceAccountName")},
        {"name": "IPS", **ref("status.podIPs")}, {"name": "NODE", **ref("spec.nodeName")},
        {"name": "CPUS", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
        {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "requests.memory"}}}]}
    env = container_env(container, "web-1", "shop", "10.96.128.7", Refs([]), {}, [], node=("node-2", ""),
                        meta=SIDE.meta, account="robot")
    assert env == {"TIER": 'a"b', "NOTE": "x", "ABSENT": "", "ACCOUNT": "robot", "IPS": "10.96.128.7",
                   "NODE": "node-2", "CPUS": "2", "MEM": "0"}  # 1.5 cores rounded up; no request: 0
