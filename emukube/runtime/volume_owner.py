"""fsGroup volume ownership, as the kubelet's SetVolumeOwnership (pkg/volume/volume_linux.go):
every file of the pod's emptyDir and PersistentVolume volumes gets group fsGroup, user and group
read-write (read only on a read-only mount), directories also searchable and setgid, so what
the pod's users write there stays the group's. `fsGroupChangePolicy: OnRootMismatch` skips a
volume whose root already has that group and those permissions.

A Docker volume is owned on the engine's host, which the controller cannot reach: a short-lived
container of the base image (a root Python) walks the volumes, after the pod's container is
created (Docker copies the image's files into a new volume then, with their owners) and before
it starts. ConfigMap and Secret files are written with the group where they are written
(config_volumes.py)."""

from __future__ import annotations

from docker.errors import DockerException

from . import labels as L

# argv: fsGroup, policy, then "rw:PATH" or "ro:PATH" per volume
WALK = r"""
import os, stat, sys
gid, policy = int(sys.argv[1]), sys.argv[2]
RW, RO, X = 0o660, 0o440, 0o110
def change(path, ro):
    st = os.lstat(path)
    if st.st_gid != gid:
        os.lchown(path, -1, gid)
    if stat.S_ISLNK(st.st_mode):
        return
    mask = RO if ro else RW
    if stat.S_ISDIR(st.st_mode):
        mask |= stat.S_ISGID | X
    mode = stat.S_IMODE(st.st_mode)
    if mode | mask != mode:
        os.chmod(path, mode | mask)
def mismatch(root, ro):
    st = os.stat(root)
    want = (RO if ro else RW) | X
    return st.st_gid != gid or not stat.S_ISDIR(st.st_mode) or stat.S_IMODE(st.st_mode) & want != want \
        or not st.st_mode & stat.S_ISGID
for arg in sys.argv[3:]:
    kind, root = arg.split(":", 1)
    ro = kind == "ro"
    if policy == "OnRootMismatch" and not mismatch(root, ro):
        continue
    for top, dirs, files in os.walk(root):
        for name in dirs + files:
            change(os.path.join(top, name), ro)
    change(root, ro)
"""


def owner_args(fs_group: int, policy: str, mounts: list[dict]) -> list[str]:
    """The walk's arguments for the named volumes among these Docker mounts (/v0, /v1, ...)."""
    return [str(fs_group), policy or "Always"] + [f"{'ro' if m.get('ReadOnly') else 'rw'}:/v{i}"
                                                  for i, m in enumerate(mounts)]


def own_volumes(client, image: str, cluster: str, pod_spec: dict, mounts: list) -> None:
    """Give the pod's fsGroup the named volumes among `mounts` (docker Mount dicts). Raises
    DockerException when the walk cannot run or fails."""
    security = pod_spec.get("securityContext") or {}
    fs_group = security.get("fsGroup")
    volumes = list({m["Source"]: m for m in mounts if m.get("Type") == "volume" and m.get("Source")}.values())
    if fs_group is None or not volumes:
        return
    args = owner_args(int(fs_group), security.get("fsGroupChangePolicy") or "Always", volumes)
    binds = {m["Source"]: {"bind": f"/v{i}", "mode": "rw"} for i, m in enumerate(volumes)}
    try:
        client.containers.run(image, ["python3", "-c", WALK, *args], entrypoint=[], user="0", remove=True,
                              network_mode="none", volumes=binds, labels={L.CLUSTER: cluster, L.ROLE: "volume-owner"})
    except DockerException as exc:
        raise DockerException(f"setting volume ownership for fsGroup {fs_group}: "
                              f"{str(exc).splitlines()[0][:200]}") from None
