"""The storage controllers' decisions (plan/claims.py): claims of StatefulSet pods, binding,
provisioning, release, and the scheduler's word for a pod whose claim is not bound."""

from __future__ import annotations

from emukube.plan import claims as plan

STANDARD = {"metadata": {"name": "standard"}, "provisioner": plan.PROVISIONER, "reclaimPolicy": "Delete",
            "volumeBindingMode": "Immediate"}


def claim(name="data", modes=("ReadWriteOnce",), storage="1Gi", cls="standard", **extra) -> dict:
    spec = {"accessModes": list(modes), "resources": {"requests": {"storage": storage}}, **extra}
    if cls is not None:
        spec["storageClassName"] = cls
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": "shop", "uid": "u-1", "resourceVersion": "7"},
            "spec": spec, "status": {"phase": "Pending"}}


def sts(**spec) -> dict:
    return {"kind": "StatefulSet", "metadata": {"name": "mysql", "namespace": "shop", "uid": "s-1"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "mysql"}},
                     "volumeClaimTemplates": [{"metadata": {"name": "data", "labels": {"tier": "db"}},
                                               "spec": {"accessModes": ["ReadWriteOnce"]}}], **spec}}


def test_a_statefulset_pod_gets_one_claim_per_template_labelled_as_the_controller_does():
    [made] = plan.statefulset_claims(sts(), 0)
    assert made["metadata"]["name"] == "data-mysql-0"
    assert made["metadata"]["labels"] == {"tier": "db", "app": "mysql"}
    assert "ownerReferences" not in made["metadata"]  # Retain: kept when the StatefulSet goes
    [owned] = plan.statefulset_claims(sts(persistentVolumeClaimRetentionPolicy={"whenDeleted": "Delete"}), 1)
    assert owned["metadata"]["ownerReferences"][0]["uid"] == "s-1"


def test_when_scaled_delete_names_the_claims_above_replicas():
    claims = [claim(f"data-mysql-{i}") for i in range(4)]
    assert plan.scaled_away(sts(), claims) == []
    gone = plan.scaled_away(sts(persistentVolumeClaimRetentionPolicy={"whenScaled": "Delete"}), claims)
    assert [c["metadata"]["name"] for c in gone] == ["data-mysql-2", "data-mysql-3"]


def test_a_claim_of_the_default_class_is_provisioned_and_bound():
    binding = plan.bind(claim(), [], {"standard": STANDARD}, consumed=False)
    pv = binding.volume
    assert binding.create_volume and pv["metadata"]["name"] == "pvc-u-1"
    assert pv["spec"]["claimRef"]["name"] == "data" and pv["spec"]["capacity"] == {"storage": "1Gi"}
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete" and pv["status"]["phase"] == "Bound"
    bound = binding.claim
    assert bound["spec"]["volumeName"] == "pvc-u-1"
    assert bound["metadata"]["annotations"][plan.BIND_COMPLETED] == "yes"
    assert bound["status"] == {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}}
    assert binding.events == [("Normal", "ProvisioningSucceeded", "Successfully provisioned volume pvc-u-1")]


def test_read_write_many_and_a_missing_class_stay_pending_with_the_event():
    many = plan.bind(claim(modes=("ReadWriteMany",)), [], {"standard": STANDARD}, consumed=False)
    assert many.claim is None and many.volume is None
    assert many.events[0][:2] == ("Warning", "ProvisioningFailed")
    fast = plan.bind(claim(cls="fast"), [], {"standard": STANDARD}, consumed=False)
    assert fast.events == [("Warning", "ProvisioningFailed", 'storageclass.storage.k8s.io "fast" not found')]


def test_a_static_volume_that_fits_is_bound_before_provisioning():
    pv = {"metadata": {"name": "disk"}, "spec": {"capacity": {"storage": "2Gi"}, "accessModes": ["ReadWriteOnce"],
                                                 "storageClassName": "standard"}, "status": {"phase": "Available"}}
    small = {**pv, "metadata": {"name": "a-small"}, "spec": {**pv["spec"], "capacity": {"storage": "500Mi"}}}
    binding = plan.bind(claim(), [small, pv], {"standard": STANDARD}, consumed=False)
    assert not binding.create_volume and binding.volume["metadata"]["name"] == "disk"
    assert binding.volume["spec"]["claimRef"]["uid"] == "u-1"
    assert binding.claim["spec"]["volumeName"] == "disk"


def test_wait_for_first_consumer_binds_once_a_pod_asks():
    lazy = {**STANDARD, "volumeBindingMode": "WaitForFirstConsumer"}
    assert plan.bind(claim(), [], {"standard": lazy}, consumed=False).volume is None
    assert plan.bind(claim(), [], {"standard": lazy}, consumed=True).create_volume


def test_a_volume_whose_claim_is_gone_is_deleted_or_released_by_its_policy():
    pv = {"metadata": {"name": "pvc-u-1"}, "spec": {"claimRef": {"uid": "u-1"}, "persistentVolumeReclaimPolicy":
                                                    "Delete"}, "status": {"phase": "Bound"}}
    assert plan.released(pv, {"u-1"}) == ""
    assert plan.released(pv, set()) == "delete"
    pv["spec"]["persistentVolumeReclaimPolicy"] = "Retain"
    assert plan.released(pv, set()) == "release"


def test_a_pod_waits_for_its_claims_with_the_schedulers_message():
    spec = {"volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]}
    assert plan.scheduling_problem("shop", spec, {}, 1) == (
        '0/1 nodes are available: persistentvolumeclaim "data" not found. preemption: 0/1 nodes are available: '
        "1 Preemption is not helpful for scheduling.")
    pending = {("shop", "data"): claim()}
    assert "pod has unbound immediate PersistentVolumeClaims." in plan.scheduling_problem("shop", spec, pending, 1)
    bound = plan.bind(claim(), [], {"standard": STANDARD}, consumed=False).claim
    assert plan.scheduling_problem("shop", spec, {("shop", "data"): bound}, 1) == ""


def test_claims_in_use_by_pods():
    specs = [("shop", {"volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data-mysql-0"}},
                                   {"name": "e", "emptyDir": {}}]})]
    assert plan.claims_in_use(specs) == {("shop", "data-mysql-0")}


def test_a_new_volume_of_ones_own_becomes_available():
    pv = {"metadata": {"name": "manual"}, "spec": {}, "status": {"phase": "Pending"}}
    assert plan.made_available(pv)
    assert not plan.made_available({**pv, "spec": {"claimRef": {"uid": "u-1"}}})
