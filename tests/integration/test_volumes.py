"""A StatefulSet's volumeClaimTemplates: each pod mounts its own claim (<template>-<pod>), a Docker
volume that outlives the pod, so a replaced pod of the same ordinal finds its data again."""

from __future__ import annotations

import pytest
from conftest import HERE, wait_until
from kubectl_tools import Kube

MANIFEST = HERE / "manifests" / "volumes.yaml"


@pytest.fixture(scope="module")
def kube(cluster, tmp_path_factory) -> Kube:
    k = Kube(cluster.name, tmp_path_factory.mktemp("kube"))
    k("rollout", "status", "statefulset/db", "--timeout=120s", timeout=150)
    return k


def test_each_pod_mounts_its_claim_and_keeps_it_across_replacement(kube, engine, cluster):
    for ordinal in (0, 1):
        kube("exec", f"db-{ordinal}", "--", "sh", "-c", f"echo written by db-{ordinal} > /var/lib/db/mark")
    claims = kube("get", "pod", "db-1", "-o", "jsonpath={.spec.volumes[*].persistentVolumeClaim.claimName}").stdout
    assert claims == "data-db-1"
    mounts = {m["Destination"]: m for m in engine.containers.get(f"{cluster.name}_pod_default_db-1").attrs["Mounts"]}
    volume = kube("get", "pvc", "data-db-1", "-o", "jsonpath={.spec.volumeName}").stdout  # its PersistentVolume's
    assert mounts["/var/lib/db"]["Type"] == "volume" and mounts["/var/lib/db"]["Name"] == f"{cluster.name}_{volume}"
    old_uid = kube("get", "pod", "db-1", "-o", "jsonpath={.metadata.uid}").stdout
    kube("delete", "pod", "db-1", "--wait=true", timeout=90)
    wait_until(lambda: kube("get", "pod", "db-1", "-o", "jsonpath={.metadata.uid}", check=False).stdout
               not in ("", old_uid), "db-1 made again", timeout=90)
    kube("wait", "pod/db-1", "--for=condition=Ready", "--timeout=90s", timeout=120)
    assert kube("exec", "db-1", "--", "cat", "/var/lib/db/mark").stdout == "written by db-1\n"
    assert kube("exec", "db-0", "--", "cat", "/var/lib/db/mark").stdout == "written by db-0\n"
