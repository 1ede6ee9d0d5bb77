"""The image map (`--image-map OLD=NEW`, `Cluster.up(..., images={OLD: NEW})`): run other images
than the manifests name, without editing them, e.g. the `web:ci` a CI job just built where
production pulls `registry.example.com/web:1.4`. Pure.

A key matches an image the way Docker resolves both: `nginx`, `nginx:latest` and
`docker.io/library/nginx:latest` are one image.
"""

from __future__ import annotations

from ..errors import EmukubeError

POD_OWNERS = ("Deployment", "StatefulSet", "ReplicaSet")


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
