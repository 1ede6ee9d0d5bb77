"""The image map (`--image-map OLD=NEW`, `Cluster.up(..., images={OLD: NEW})`): run other images
than the manifests name, without editing them, e.g. the `web:ci` a CI job just built where
production pulls `registry.example.com/web:1.4`. Pure.

A key matches an image the way Docker resolves both: `nginx`, `nginx:latest` and
`docker.io/library/nginx:latest` are one image.
"""

from __future__ import annotations

import copy

from ..errors import EmukubeError
from .workloads import WORKLOAD_KINDS, containers_of

POD_OWNERS = WORKLOAD_KINDS
# On a workload's pod template: the mappings its containers run with. A changed map changes the
# template, so the workload rolls out as for `kubectl rollout restart` (which stamps
# kubectl.kubernetes.io/restartedAt there): ReplicaSets, revisions and `rollout status` follow.
ANNOTATION = "emukube.io/image-map"


def normalize(ref: str) -> str:
    """The fully qualified form Docker pulls: registry/repository:tag (or @digest)."""
    name, at, digest = ref.partition("@")
    last = name.rsplit("/", 1)[-1]
    if not at and ":" not in last:
        name += ":latest"
    first, slash, rest = name.partition("/")
    domain, path = (first, rest) if slash and ("." in first or ":" in first or first == "localhost") \
        else ("docker.io", name)
    if domain == "index.docker.io":
        domain = "docker.io"
    if domain == "docker.io" and "/" not in path:
        path = f"library/{path}"
    return f"{domain}/{path}{at}{digest}"


def stand_in_key(image: str) -> str:
    """Where the controller's images hold the stand-in for an image of this repository, any
    tag (runtime/images.py STAND_INS): "stand-in:docker.io/library/nginx"."""
    name = normalize(image).partition("@")[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    return "stand-in:" + (name[:colon] if colon > slash else name)


def swap(image: str, image_map: dict[str, str]) -> str:
    """The image to run for a container that names `image`."""
    if image in image_map:
        return image_map[image]
    wanted = normalize(image)
    for old, new in image_map.items():
        if normalize(old) == wanted:
            return new
    return image


def parse(pairs: list[str]) -> dict[str, str]:
    """`OLD=NEW` pairs from the command line."""
    out = {}
    for pair in pairs:
        old, eq, new = pair.partition("=")
        if not eq or not old.strip() or not new.strip():
            raise EmukubeError(f'error: invalid --image-map "{pair}": expected OLD=NEW')
        out[old.strip()] = new.strip()
    return out


def images_of(objects: list[dict]) -> set[str]:
    """Every container image the objects' pods name (init containers too)."""
    found = set()
    for obj in objects:
        spec = obj.get("spec") or {}
        if obj.get("kind") in POD_OWNERS:
            spec = ((spec.get("template") or {}).get("spec")) or {}
        elif obj.get("kind") != "Pod":
            continue
        for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
            if c.get("image"):
                found.add(c["image"])
    return found


def unused_keys(image_map: dict[str, str], objects: list[dict]) -> list[str]:
    """Warnings for map entries no container of `objects` uses (a typo, or a stale map)."""
    used = {normalize(i) for i in images_of(objects)}
    return [f'image map: no container uses image "{old}"' for old in image_map if normalize(old) not in used]


def merge(stored: dict[str, str], given: dict[str, str] | None) -> dict[str, str]:
    """A later `--image-map` adds to the cluster's map (a key given again takes the new image):
    the objects applied before keep the images they run."""
    merged = dict(stored)
    for old, new in (given or {}).items():
        for key in [k for k in merged if normalize(k) == normalize(old)]:
            del merged[key]
        merged[old] = new
    return merged


def used_mappings(pod_spec: dict, image_map: dict[str, str]) -> str:
    """The mappings a pod spec's containers run with, "OLD=NEW" comma-separated, sorted."""
    pairs = {f"{c['image']}={swap(c['image'], image_map)}" for c in containers_of(pod_spec)
             if c.get("image") and swap(c["image"], image_map) != c["image"]}
    return ",".join(sorted(pairs))


def annotated(obj: dict, image_map: dict[str, str]) -> dict:
    """A workload with its template stamped with the mappings its pods run with (ANNOTATION);
    the object itself when that is already so, and with no stamp where no mapping applies."""
    if obj.get("kind") not in POD_OWNERS:
        return obj
    template = (obj.get("spec") or {}).get("template") or {}
    annotations = (template.get("metadata") or {}).get("annotations") or {}
    used = used_mappings(template.get("spec") or {}, image_map)
    if annotations.get(ANNOTATION, "") == used:
        return obj
    obj = copy.deepcopy(obj)
    meta = obj["spec"]["template"].setdefault("metadata", {})
    meta["annotations"] = {k: v for k, v in annotations.items() if k != ANNOTATION}
    if used:
        meta["annotations"][ANNOTATION] = used
    if not meta["annotations"]:
        del meta["annotations"]
    return obj


def runs_stale_images(pod_spec: dict, running: dict[str, str], image_map: dict[str, str],
                      stand_ins: dict[str, str] | None = None) -> bool:
    """Whether a pod's containers (name -> the image they were made from) run other images than
    the map now resolves: a bare pod is then replaced (its spec cannot change to roll it). The
    stand-in of the image it resolves to (`stand_ins`, keyed by stand_in_key) is no other."""
    for c in pod_spec.get("containers") or []:
        wanted = swap(c.get("image", ""), image_map)
        if c["name"] in running and running[c["name"]] not in (wanted, (stand_ins or {}).get(stand_in_key(wanted))):
            return True
    return False
