"""What users applied, told apart from what the cluster makes (k8s/applied.py)."""

from __future__ import annotations

import copy

from emukube.k8s.applied import declared_stamp as stamp_of_desired
from emukube.k8s.applied import desired_objects, is_system_object


def declared_stamp(cached: list[dict]) -> frozenset:
    return stamp_of_desired(desired_objects(cached))


def _obj(kind: str, name: str, rv: int, generation: int | None = None, **meta) -> dict:
    m = {"name": name, "namespace": "default", "resourceVersion": str(rv), **meta}
    if generation is not None:
        m["generation"] = generation
    return {"apiVersion": "v1", "kind": kind, "metadata": m}


def test_the_stamp_moves_with_what_users_declared_and_not_with_status_or_the_controllers_pods():
    cached = [_obj("Deployment", "web", 10, generation=1), _obj("Service", "web", 11)]
    stamp = declared_stamp(cached)
    later = copy.deepcopy(cached)
    later[0]["metadata"]["resourceVersion"] = "20"  # a status write: generation kept
    later.append(_obj("Pod", "web-abc", 21, generation=1, ownerReferences=[{"kind": "ReplicaSet", "name": "web-x"}]))
    later.append(_obj("Endpoints", "web", 22))
    assert declared_stamp(later) == stamp
    spec = copy.deepcopy(later)
    spec[0]["metadata"]["generation"] = 2
    assert declared_stamp(spec) != stamp
    service = copy.deepcopy(later)
    service[1]["metadata"]["resourceVersion"] = "23"  # a kind without generation: any write
    assert declared_stamp(service) != stamp
    assert declared_stamp(later + [_obj("ConfigMap", "settings", 24)]) != stamp


def test_the_api_servers_own_services_are_system_objects_and_only_they():
    from emukube.apiserver.system import kube_dns_objects, kubernetes_objects

    made = [obj for objects in (kubernetes_objects("10.96.0.2", "10.96.0.2"), kube_dns_objects("10.96.0.10"))
            for _, obj in objects if obj["kind"] == "Service"]
    assert [s["metadata"]["name"] for s in made] == ["kubernetes", "kube-dns"]
    assert all(is_system_object(s) for s in made)
    users = {"kind": "Service", "metadata": {"name": "kube-dns", "namespace": "default", "labels": {"k8s-app": "kube-dns"}}}
    assert not is_system_object(users)  # a Service of that name elsewhere is the user's
