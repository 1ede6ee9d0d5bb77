"""The ServiceAccount admission plugin's kube-api-access volume (plan/api_access.py)."""

from emukube.plan.api_access import MOUNT, is_api_access, volume_name, with_api_access


def test_each_container_mounts_one_volume_and_a_second_admission_changes_nothing():
    spec = {"initContainers": [{"name": "init"}], "containers": [{"name": "a"}, {"name": "b", "volumeMounts": [
        {"name": "data", "mountPath": "/data"}]}], "volumes": [{"name": "data", "emptyDir": {}}]}
    admitted = with_api_access(spec, "shop", "web-0")
    name = volume_name("shop", "web-0")
    assert name == volume_name("shop", "web-0") != volume_name("shop", "web-1")
    assert [v["name"] for v in admitted["volumes"]] == ["data", name] and is_api_access(admitted["volumes"][1])
    mount = {"mountPath": MOUNT, "name": name, "readOnly": True}
    assert [c["volumeMounts"][-1] for c in admitted["initContainers"] + admitted["containers"]] == [mount] * 3
    assert admitted["containers"][1]["volumeMounts"][0]["name"] == "data"
    assert with_api_access(admitted, "shop", "web-0") is admitted
    assert "volumes" not in spec["containers"][0] and "volumeMounts" not in spec["containers"][0]  # not in place


def test_opting_out_or_mounting_the_path_oneself_gets_no_volume():
    assert with_api_access({"automountServiceAccountToken": False, "containers": [{"name": "a"}]}, "d", "p") == \
        {"automountServiceAccountToken": False, "containers": [{"name": "a"}]}
    own = {"containers": [{"name": "a", "volumeMounts": [{"name": "mine", "mountPath": MOUNT}]}],
           "volumes": [{"name": "mine", "secret": {"secretName": "s"}}]}
    assert with_api_access(own, "d", "p") is own


def test_a_pod_copied_from_a_cluster_keeps_its_volume_name():
    copied = {"containers": [{"name": "a"}], "volumes": [{"name": "kube-api-access-x7k2p", "projected": {}}]}
    admitted = with_api_access(copied, "d", "p")
    assert [v["name"] for v in admitted["volumes"]] == ["kube-api-access-x7k2p"]
    assert admitted["containers"][0]["volumeMounts"][0]["name"] == "kube-api-access-x7k2p"
