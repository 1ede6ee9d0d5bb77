"""Claims, volumes and classes in the API server: validation in its words, defaulting, the
admission plugins' part, and kubectl's table cells."""

from __future__ import annotations

import pytest

from emukube.apiserver.errors import ApiError
from emukube.apiserver.printers import storage as printers
from emukube.apiserver.storage_admission import admit_storage, default_storage_class
from emukube.manifests.defaults import apply_defaults
from emukube.manifests.validate import validate_object

CLAIM = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data", "namespace": "shop"},
         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}


class Store:
    def __init__(self, *classes: dict):
        self.classes = list(classes)

    def list(self, key: str):
        return self.classes, 0


def test_claims_are_validated_in_the_api_servers_words():
    assert validate_object(CLAIM) == []
    bad = {**CLAIM, "spec": {"accessModes": ["ReadWriteSometimes"], "resources": {"requests": {"storage": "0"}},
                             "volumeMode": "Disk"}}
    assert validate_object(bad) == [
        'spec.accessModes: Unsupported value: "ReadWriteSometimes": supported values: "ReadOnlyMany", '
        '"ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"',
        'spec.resources[storage]: Invalid value: "0": must be greater than zero',
        'spec.volumeMode: Unsupported value: "Disk": supported values: "Block", "Filesystem"']
    volume = {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "disk"},
              "spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}}}
    assert validate_object(volume) == ["spec: Required value: must specify a volume type"]


def test_defaults_and_admission_give_a_new_claim_the_default_class_and_its_finalizer():
    claim = apply_defaults(CLAIM)
    assert claim["spec"]["volumeMode"] == "Filesystem"
    admit_storage("CREATE", "PersistentVolumeClaim", claim, None, Store(default_storage_class()))
    assert claim["spec"]["storageClassName"] == "standard"
    assert claim["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    assert claim["status"] == {"phase": "Pending"}
    sc = apply_defaults({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "x"},
                         "provisioner": "p"})
    assert "spec" not in sc and "namespace" not in sc["metadata"] and sc["volumeBindingMode"] == "Immediate"


def test_a_claims_spec_is_immutable_but_for_its_binding_and_requests():
    old = apply_defaults(CLAIM)
    admit_storage("CREATE", "PersistentVolumeClaim", old, None, Store(default_storage_class()))
    bound = {**old, "spec": {**old["spec"], "volumeName": "pvc-1"}}
    assert admit_storage("UPDATE", "PersistentVolumeClaim", bound, old, Store()) == []
    changed = {**bound, "spec": {**bound["spec"], "accessModes": ["ReadOnlyMany"]}}
    assert admit_storage("UPDATE", "PersistentVolumeClaim", changed, bound, Store()) == [
        "spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName "
        "for bound claims"]


def test_kubectls_cells():
    claim = {**CLAIM, "spec": {**CLAIM["spec"], "volumeName": "pvc-1", "storageClassName": "standard",
                               "volumeMode": "Filesystem"},
             "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}}}
    assert printers.claim_cells(claim, 0)[:7] == ["data", "Bound", "pvc-1", "1Gi", "RWO", "standard", "<unset>"]
    assert printers.claim_cells(claim, 0)[-1] == "Filesystem"
    assert printers.storage_class_cells(default_storage_class(), 0)[:5] == [
        "standard (default)", "emukube.io/docker-volume", "Delete", "Immediate", False]
    pv = {"metadata": {"name": "pvc-1", "deletionTimestamp": "x"},
          "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce"],
                   "persistentVolumeReclaimPolicy": "Delete", "claimRef": {"namespace": "shop", "name": "data"}}}
    assert printers.volume_cells(pv, 0)[:6] == ["pvc-1", "1Gi", "RWO,RWX", "Delete", "Terminating", "shop/data"]


def test_a_bound_claim_grows_only_where_its_class_allows_expansion():
    old = apply_defaults(CLAIM)
    admit_storage("CREATE", "PersistentVolumeClaim", old, None, Store(default_storage_class()))
    old["spec"]["volumeName"] = "pvc-1"
    bigger = {**old, "spec": {**old["spec"], "resources": {"requests": {"storage": "2Gi"}}}}
    with pytest.raises(ApiError) as refused:
        admit_storage("UPDATE", "PersistentVolumeClaim", bigger, old, Store(default_storage_class()))
    assert refused.value.code == 403 and refused.value.message == (
        'persistentvolumeclaims "data" is forbidden: only dynamically provisioned pvc can be resized and the '
        "storageclass that provisions the pvc must support resize")
    assert admit_storage("UPDATE", "PersistentVolumeClaim", bigger, old,
                         Store({**default_storage_class(), "allowVolumeExpansion": True})) == []
