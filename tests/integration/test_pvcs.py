"""PersistentVolumeClaims through the real kubectl: a StatefulSet's claims bound to provisioned
volumes (Docker named volumes), kept when the pod or the StatefulSet goes and removed with the
claim; claims the default class cannot serve stay Pending with Kubernetes' events; subPath,
subPathExpr, read-only and memory-backed mounts."""

from __future__ import annotations

import json

import pytest
from conftest import HERE, wait_until
from kubectl_tools import Kube

MANIFEST = HERE / "manifests" / "pvcs.yaml"


@pytest.fixture(scope="module")
def kube(cluster, tmp_path_factory) -> Kube:
    k = Kube(cluster.name, tmp_path_factory.mktemp("kube"))
    k("rollout", "status", "statefulset/mysql", "--timeout=120s", timeout=150)
    k("wait", "pod/mounts", "--for=condition=Ready", "--timeout=90s", timeout=120)
    return k


def claim_yaml(name: str, modes: str = "[ReadWriteOnce]", cls: str = "") -> str:
    extra = f"\n  storageClassName: {cls}" if cls else ""
    return (f"apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: {name}}}\nspec:\n"
            f"  accessModes: {modes}\n  resources: {{requests: {{storage: 1Gi}}}}{extra}\n")


def events_of(kube: Kube, name: str) -> list[str]:
    return kube("get", "events", "--field-selector", f"involvedObject.name={name}", "-o",
                "jsonpath={range .items[*]}{.type} {.reason} {.message}{\"\\n\"}{end}").stdout.splitlines()


def test_kubectl_shows_claims_volumes_and_the_default_class(kube, engine, cluster):
    pvc = kube.lines("get", "pvc", "data-mysql-0", "-o", "wide")
    assert pvc[0].split() == ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS", "MODES", "STORAGECLASS",
                              "VOLUMEATTRIBUTESCLASS", "AGE", "VOLUMEMODE"]
    name, status, volume, capacity, modes, cls, attrs, _, mode = pvc[1].split()
    assert (name, status, capacity, modes, cls, attrs, mode) == \
        ("data-mysql-0", "Bound", "1Gi", "RWO", "standard", "<unset>", "Filesystem")
    claim = kube.obj("get", "pvc", "data-mysql-0")
    assert volume == f"pvc-{claim['metadata']['uid']}"
    assert claim["metadata"]["labels"] == {"tier": "db", "app": "mysql"}
    assert claim["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    assert claim["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"] == "yes"
    pv = kube.lines("get", "pv", volume)
    assert pv[0].split()[:6] == ["NAME", "CAPACITY", "ACCESS", "MODES", "RECLAIM", "POLICY"]
    assert pv[1].split()[:7] == [volume, "1Gi", "RWO", "Delete", "Bound", "default/data-mysql-0", "standard"]
    sc = kube.lines("get", "sc")
    assert sc[0].split() == ["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION",
                             "AGE"]
    assert sc[1].split()[:6] == ["standard", "(default)", "emukube.io/docker-volume", "Delete", "Immediate", "false"]
    backing = engine.volumes.get(f"{cluster.name}_{volume}")
    assert backing.attrs["Labels"]["emukube.io/cluster"] == cluster.name
    assert "Used By:       mysql-0" in kube("describe", "pvc", "data-mysql-0").stdout


def test_sub_paths_read_only_and_memory_mounts(kube):
    kube("exec", "mounts", "--", "sh", "-c", "echo a > /sub/a && echo b > /mine/b && echo c > /whole/c")
    listing = kube("exec", "mounts", "--", "sh", "-c", "cd /whole && find . -type f | sort").stdout.split()
    assert listing == ["./c", "./mounts/b", "./some/dir/a"]  # subPathExpr: $(POD_NAME)
    assert kube("exec", "mounts", "--", "cat", "/ro/some/dir/a").stdout == "a\n"
    refused = kube("exec", "mounts", "--", "sh", "-c", "echo x > /ro/x", check=False)
    assert refused.returncode != 0 and "Read-only file system" in refused.stderr
    mounts = kube("exec", "mounts", "--", "cat", "/proc/mounts").stdout
    cache = next(line for line in mounts.splitlines() if line.split()[1] == "/cache")
    assert cache.split()[2] == "tmpfs" and "size=65536k" in cache


def test_claims_the_class_cannot_serve_stay_pending_with_the_event(kube):
    kube("apply", "-f", "-", input=claim_yaml("shared", "[ReadWriteMany]") + "---\n" +
         claim_yaml("quick", cls="fast"))
    wait_until(lambda: any("ProvisioningFailed" in e for e in events_of(kube, "quick")), "quick's event")
    assert 'Warning ProvisioningFailed storageclass.storage.k8s.io "fast" not found' in events_of(kube, "quick")
    wait_until(lambda: any("ProvisioningFailed" in e for e in events_of(kube, "shared")), "shared's event")
    for name in ("shared", "quick"):
        assert kube("get", "pvc", name, "-o", "jsonpath={.status.phase}").stdout == "Pending"
    bad = kube("create", "-f", "-", input="apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: bad}\n"
                                          "spec: {}\n", check=False)
    assert bad.returncode != 0
    assert bad.stderr == ('The PersistentVolumeClaim "bad" is invalid: \n* spec.accessModes: Required value: '
                          "at least 1 access mode is required\n* spec.resources[storage]: Required value\n")


def test_a_pod_waits_for_its_claim_and_starts_once_it_is_bound(kube):
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "waiter"},
           "spec": {"containers": [{"name": "echo", "image": "emukube/echo:1.0",
                                    "volumeMounts": [{"name": "d", "mountPath": "/d"}]}],
                    "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "later"}}]}}
    kube("apply", "-f", "-", input=json.dumps(pod))
    wait_until(lambda: any("FailedScheduling" in e for e in events_of(kube, "waiter")), "waiter's event")
    assert ('Warning FailedScheduling 0/1 nodes are available: persistentvolumeclaim "later" not found. '
            "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.") in \
        events_of(kube, "waiter")
    assert kube("get", "pod", "waiter", "-o", "jsonpath={.status.phase}").stdout == "Pending"
    kube("apply", "-f", "-", input=claim_yaml("later"))
    kube("wait", "pod/waiter", "--for=condition=Ready", "--timeout=90s", timeout=120)
    kube("delete", "pod", "waiter", "--wait=true", timeout=90)


def test_a_volume_of_ones_own_is_bound_and_mounted(kube, tmp_path):
    (tmp_path / "hello").write_text("from the host\n")
    pv = {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "manual"},
          "spec": {"capacity": {"storage": "2Gi"}, "accessModes": ["ReadWriteOnce"], "storageClassName": "manual",
                   "hostPath": {"path": str(tmp_path)}}}
    kube("apply", "-f", "-", input=json.dumps(pv))
    wait_until(lambda: kube("get", "pv", "manual", "-o", "jsonpath={.status.phase}").stdout == "Available",
               "manual Available")
    claim = claim_yaml("mine", cls="manual")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "reader"},
           "spec": {"containers": [{"name": "echo", "image": "emukube/echo:1.0",
                                    "volumeMounts": [{"name": "d", "mountPath": "/d"}]}],
                    "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "mine"}}]}}
    kube("apply", "-f", "-", input=claim + "---\n" + json.dumps(pod))
    kube("wait", "pod/reader", "--for=condition=Ready", "--timeout=90s", timeout=120)
    assert kube("get", "pvc", "mine", "-o", "jsonpath={.spec.volumeName} {.status.phase}").stdout == "manual Bound"
    assert kube("get", "pv", "manual", "-o", "jsonpath={.spec.claimRef.name} {.status.phase}").stdout == \
        "mine Bound"
    assert kube("exec", "reader", "--", "cat", "/d/hello").stdout == "from the host\n"
    kube("delete", "pod", "reader", "--wait=true", timeout=90)
    kube("delete", "pvc", "mine", "--wait=true", timeout=90)
    wait_until(lambda: kube("get", "pv", "manual", "-o", "jsonpath={.status.phase}").stdout == "Released",
               "manual Released (reclaimPolicy Retain)")
    assert (tmp_path / "hello").exists()


def test_up_again_keeps_claims_bound(kube, cluster):
    before = kube.obj("get", "pvc", "files")
    cluster.emukube("up", str(MANIFEST), "--timeout", "120s", timeout=200)
    after = kube.obj("get", "pvc", "files")
    assert after["spec"]["volumeName"] == before["spec"]["volumeName"] and after["status"]["phase"] == "Bound"
    assert after["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    assert after["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"] == "yes"
    grow = kube("patch", "pvc", "files", "-p", '{"spec":{"resources":{"requests":{"storage":"1Gi"}}}}', check=False)
    assert grow.returncode != 0 and grow.stderr == (
        'Error from server (Forbidden): persistentvolumeclaims "files" is forbidden: only dynamically provisioned '
        "pvc can be resized and the storageclass that provisions the pvc must support resize\n")


def test_retention_policy_delete_removes_claims_when_scaled_and_deleted(kube):
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "cache"},
           "spec": {"replicas": 2, "serviceName": "mysql", "selector": {"matchLabels": {"app": "cache"}},
                    "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete", "whenScaled": "Delete"},
                    "template": {"metadata": {"labels": {"app": "cache"}},
                                 "spec": {"containers": [{"name": "echo", "image": "emukube/echo:1.0",
                                                          "volumeMounts": [{"name": "d", "mountPath": "/d"}]}]}},
                    "volumeClaimTemplates": [{"metadata": {"name": "d"}, "spec": {
                        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}}
    kube("apply", "-f", "-", input=json.dumps(sts))
    kube("rollout", "status", "statefulset/cache", "--timeout=120s", timeout=150)
    assert kube("get", "pvc", "d-cache-1", "-o", "jsonpath={.metadata.ownerReferences[0].kind}").stdout == \
        "StatefulSet"
    kube("scale", "statefulset/cache", "--replicas=1")
    wait_until(lambda: kube("get", "pvc", "d-cache-1", check=False).returncode != 0, "d-cache-1 deleted",
               timeout=90)
    kube("delete", "statefulset", "cache")
    wait_until(lambda: kube("get", "pvc", "d-cache-0", check=False).returncode != 0, "d-cache-0 deleted",
               timeout=90)


def test_statefulset_data_outlives_its_pod_and_itself_and_goes_with_its_claim(kube, engine, cluster):
    kube("exec", "mysql-0", "--", "sh", "-c", "echo kept > /var/lib/mysql/mark")
    kube("delete", "pod", "mysql-0", "--wait=true", timeout=90)
    wait_until(lambda: kube("get", "pod", "mysql-0", check=False).returncode == 0, "mysql-0 made again", timeout=90)
    kube("wait", "pod/mysql-0", "--for=condition=Ready", "--timeout=90s", timeout=120)
    assert kube("exec", "mysql-0", "--", "cat", "/var/lib/mysql/mark").stdout == "kept\n"

    kube("delete", "statefulset", "mysql", "--wait=true", timeout=90)
    wait_until(lambda: kube("get", "pod", "mysql-0", check=False).returncode != 0, "mysql-0 gone", timeout=90)
    assert kube("get", "pvc", "data-mysql-0", "-o", "jsonpath={.status.phase}").stdout == "Bound"
    kube("apply", "-f", str(MANIFEST))
    kube("rollout", "status", "statefulset/mysql", "--timeout=120s", timeout=150)
    assert kube("exec", "mysql-0", "--", "cat", "/var/lib/mysql/mark").stdout == "kept\n"

    volume = kube("get", "pvc", "data-mysql-0", "-o", "jsonpath={.spec.volumeName}").stdout
    kube("delete", "pvc", "data-mysql-0", "--wait=false")
    assert kube("get", "pvc", "data-mysql-0", "--no-headers").stdout.split()[1] == "Terminating"  # in use
    kube("delete", "pod", "mysql-0", "--wait=true", timeout=90)
    wait_until(lambda: kube("get", "pvc", "data-mysql-0", "-o", "jsonpath={.spec.volumeName}",
                            check=False).stdout not in ("", volume), "a new claim for mysql-0", timeout=90)
    wait_until(lambda: kube("get", "pv", volume, check=False).returncode != 0, "the old volume deleted", timeout=60)
    assert not engine.volumes.list(filters={"name": f"{cluster.name}_{volume}"})
    wait_until(lambda: kube("get", "pod", "mysql-0", check=False).returncode == 0, "mysql-0 made again", timeout=90)
    kube("wait", "pod/mysql-0", "--for=condition=Ready", "--timeout=90s", timeout=120)
    assert kube("exec", "mysql-0", "--", "ls", "/var/lib/mysql").stdout == ""
