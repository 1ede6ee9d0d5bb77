"""A copy of the applied objects and settings in the cluster's state volume.

They live as labels on the controller container; if that container is removed by hand, the
next `up` restores them from here instead of forgetting what else was applied (and then
removing those objects' pods). The file is written into each new controller before it starts.
"""

from __future__ import annotations

import json

from ..runtime import clusters, engine, images
from ..runtime import labels as L
from ..runtime.settings import BACKUP_FILE, STATE_DIR

BACKUP = BACKUP_FILE


def files(objects: list[dict], settings: dict) -> dict[str, tuple[bytes, int]]:
    """The backup, as a file to copy into a new controller before it starts."""
    blob = json.dumps({"objects": objects, "settings": settings}, sort_keys=True).encode()
    return {BACKUP: (blob, 0o600)}  # Secrets are in it: root only


def read(client, cluster: str, volume: str) -> tuple[list[dict], dict] | None:
    """(objects, settings) saved in the state volume, read through a container that is never
    started (labelled, so `down` removes it should this be interrupted)."""
    if not clusters.has_volume(client, volume):
        return None
    name = f"{cluster}_state-reader"
    stale = engine.get_container(client, name)
    if stale is not None:
        engine.remove(stale)
    reader = engine.create(client, name, images.resolve(client, "pause"),
                           labels={L.CLUSTER: cluster, L.ROLE: L.Role.STATE_READER},
                           host_config=dict(binds={volume: {"bind": STATE_DIR, "mode": "ro"}}))
    try:
        raw = engine.read_file(reader, BACKUP)
    finally:
        engine.remove(reader)
    if not raw:
        return None
    saved = json.loads(raw)
    return saved["objects"], saved["settings"]
