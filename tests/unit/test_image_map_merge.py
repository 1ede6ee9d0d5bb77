"""The image map across applies (plan/image_map.py): merged, stamped on pod templates so that a
changed resolution rolls the workload, and stale images of a bare pod noticed."""

from __future__ import annotations

from emukube.plan import image_map

ANNOTATION = image_map.ANNOTATION


def deployment(image: str, annotations: dict | None = None) -> dict:
    meta = {"labels": {"app": "web"}, **({"annotations": annotations} if annotations else {})}
    return {"kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"template": {"metadata": meta, "spec": {"containers": [{"name": "c", "image": image}]}}}}


def test_a_later_map_adds_to_the_stored_one():
    stored = {"web:1": "web:ci", "db:2": "db:ci"}
    assert image_map.merge(stored, {"cache:3": "cache:ci"}) == {"web:1": "web:ci", "db:2": "db:ci",
                                                                "cache:3": "cache:ci"}
    # a key given again, even spelled otherwise, takes the new image
    assert image_map.merge(stored, {"docker.io/library/web:1": "web:ci2"}) == {
        "db:2": "db:ci", "docker.io/library/web:1": "web:ci2"}
    assert image_map.merge(stored, None) == stored
    assert stored == {"web:1": "web:ci", "db:2": "db:ci"}  # not changed in place


def test_templates_are_stamped_with_the_mappings_their_containers_use():
    d = deployment("web:1")
    stamped = image_map.annotated(d, {"web:1": "web:ci", "db:2": "db:ci"})
    assert stamped["spec"]["template"]["metadata"]["annotations"] == {ANNOTATION: "web:1=web:ci"}
    assert d["spec"]["template"]["metadata"].get("annotations") is None  # a copy
    # already so: the same object (nothing to write)
    assert image_map.annotated(stamped, {"web:1": "web:ci"}) is stamped
    # a new target: a new stamp, so a new pod-template-hash (a rollout)
    assert image_map.annotated(stamped, {"web:1": "web:ci2"})["spec"]["template"]["metadata"]["annotations"] == \
        {ANNOTATION: "web:1=web:ci2"}


def test_no_mapping_no_stamp_and_other_annotations_kept():
    assert image_map.annotated(deployment("web:1"), {"db:2": "db:ci"}) == deployment("web:1")
    unmapped = image_map.annotated(deployment("web:1", {ANNOTATION: "web:1=web:ci", "team": "a"}), {})
    assert unmapped["spec"]["template"]["metadata"]["annotations"] == {"team": "a"}
    bare = {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "web:1"}]}}
    assert image_map.annotated(bare, {"web:1": "web:ci"}) is bare


def test_init_containers_count_and_pairs_are_sorted():
    spec = {"initContainers": [{"name": "i", "image": "tool:1"}], "containers": [{"name": "c", "image": "web:1"}]}
    assert image_map.used_mappings(spec, {"web:1": "web:ci", "tool:1": "tool:ci"}) == "tool:1=tool:ci,web:1=web:ci"


def test_a_bare_pod_running_another_image_than_the_map_resolves():
    spec = {"containers": [{"name": "c", "image": "web:1"}, {"name": "side", "image": "log:1"}]}
    assert image_map.runs_stale_images(spec, {"c": "web:1", "side": "log:1"}, {"web:1": "web:ci"})
    assert not image_map.runs_stale_images(spec, {"c": "web:ci", "side": "log:1"}, {"web:1": "web:ci"})
    assert not image_map.runs_stale_images(spec, {"c": "web:1"}, {})  # a container not made yet
    stand_ins = {image_map.stand_in_key("web:1"): "emukube/web-standin:abc"}
    assert not image_map.runs_stale_images(spec, {"c": "emukube/web-standin:abc"}, {}, stand_ins)  # web:1 could not be pulled
    assert image_map.runs_stale_images(spec, {"c": "emukube/web-standin:abc"}, {"web:1": "ci.local/web:2"}, stand_ins)


def test_a_stand_in_serves_every_tag_of_its_repository():
    key = image_map.stand_in_key("nginx")
    assert key == "stand-in:docker.io/library/nginx"
    assert {image_map.stand_in_key(i) for i in ("nginx:1.27", "docker.io/library/nginx:latest",
                                                 "nginx@sha256:" + "0" * 64)} == {key}
    assert image_map.stand_in_key("localhost:5000/nginx:1") == "stand-in:localhost:5000/nginx"
    assert image_map.stand_in_key("bitnami/nginx") != key
