"""Cluster operations the CLI and the Python API share: apply, wait, snapshot, delete, down.

The applied objects (after defaults and allocations, like the API server stores them) live as
one label on the controller container; a change of desired state replaces the controller,
whose fresh instance reconciles the difference. Nothing is kept outside Docker.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import docker
from docker.errors import DockerException, NotFound

from . import images
from .errors import EmukubeError, NotFound as NotFoundError, WorkloadFailed
from .plan import allocate
from .plan.network import ClusterNet, choose_index
from .runtime import engine
from .runtime import labels as L

CODE_DIR = "/opt/emukube"
NAMESPACED = ("Service", "Pod", "Deployment", "StatefulSet", "ReplicaSet", "ConfigMap", "Secret")


def object_key(obj: dict) -> tuple[str, str, str]:
    meta = obj["metadata"]
    ns = "" if obj["kind"] == "Namespace" else meta.get("namespace", "default")
    return obj["kind"], ns, meta["name"]


def controller_name(cluster: str) -> str:
    return f"{cluster}_controller"


def state_volume(cluster: str) -> str:
    return f"emukube-{cluster}-state"


@dataclass
class State:
    """What a cluster is, read from Docker alone."""

    cluster: str
    net: ClusterNet | None
    controller: object | None
    objects: list[dict] = field(default_factory=list)

    @property
    def exists(self) -> bool:
        return self.net is not None

    def services(self) -> list[dict]:
        return [o for o in self.objects if o["kind"] == "Service"]


def read_state(client, cluster: str) -> State:
    net = None
    for n in client.networks.list(filters={"label": f"{L.CLUSTER}={cluster}"}):
        net = ClusterNet.from_subnet(cluster, n.attrs["Labels"][L.SUBNET])
    controller = engine.get_container(client, controller_name(cluster))
    objects = json.loads(controller.labels.get(L.OBJECTS, "[]")) if controller is not None else []
    return State(cluster, net, controller, objects)


def require(state: State) -> State:
    if not state.exists:
        raise NotFoundError(f'no cluster named "{state.cluster}" (run `emukube up FILE` first)')
    return state


def other_clusters_node_ports(client, cluster: str) -> dict[int, str]:
    """NodePorts are host ports: unique across every emukube cluster on this engine."""
    taken: dict[int, str] = {}
    for c in client.containers.list(all=True, filters={"label": f"{L.ROLE}=controller"}):
        other = c.labels.get(L.CLUSTER)
        if other == cluster:
            continue
        for svc in json.loads(c.labels.get(L.OBJECTS, "[]")):
            if svc.get("kind") != "Service":
                continue
            for port in svc["spec"].get("ports") or []:
                if port.get("nodePort"):
                    taken[port["nodePort"]] = f"cluster {other}"
    return taken


def merge(current: list[dict], incoming: list[dict]) -> list[dict]:
    """kubectl apply without prune: incoming objects replace or join the current ones."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    by_key = {object_key(o): o for o in current}
    for obj in incoming:
        key = object_key(obj)
        created = (by_key.get(key) or {}).get("metadata", {}).get("creationTimestamp") or now
        obj = json.loads(json.dumps(obj))
        obj["metadata"]["creationTimestamp"] = created
        by_key[key] = obj
    return list(by_key.values())


def plan_objects(client, state: State, net: ClusterNet, objects: list[dict]) -> list[dict]:
    """Allocate Service addresses for the merged object set; raise with every problem."""
    services = [o for o in objects if o["kind"] == "Service"]
    previous = {allocate.owner_of(s): s for s in state.services()}
    taken = allocate.Allocated(node_ports=other_clusters_node_ports(client, state.cluster))
    allocated, problems = allocate.allocate_services(services, previous, net, taken)
    if problems:
        raise EmukubeError("\n".join(problems))
    by_key = {object_key(s): s for s in allocated}
    return [by_key.get(object_key(o), o) for o in objects]


def generation_of(objects: list[dict], settings: dict) -> str:
    blob = json.dumps([sorted(objects, key=lambda o: object_key(o)), settings], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def plan_network(client, cluster: str) -> ClusterNet:
    """The address plan a new cluster would get: the first /16 of ours no network uses."""
    taken = set()
    for n in client.networks.list():
        for cfg in (n.attrs.get("IPAM") or {}).get("Config") or []:
            if cfg.get("Subnet"):
                taken.add(cfg["Subnet"])
    index = choose_index(taken)
    if index is None:
        raise EmukubeError("no free 10.96-10.127 /16 subnet left for another cluster")
    return ClusterNet(cluster, index)


def create_network(client, net: ClusterNet) -> None:
    ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(
        subnet=net.subnet, iprange=net.pod_cidr, gateway=net.gateway)])
    client.networks.create(net.network_name, driver="bridge", ipam=ipam, check_duplicate=True,
                           labels={L.CLUSTER: net.name, L.SUBNET: net.subnet})


def _code_archive() -> bytes:
    """The emukube package (and its templates) for the controller container."""
    from .render import template_dir

    package = Path(__file__).parent
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path in sorted(package.rglob("*.py")):
            if "__pycache__" not in path.parts:
                _add(tar, path, f"opt/emukube/emukube/{path.relative_to(package)}")
        for path in sorted(template_dir().iterdir()):
            _add(tar, path, f"opt/emukube/emukube/compose-templates/{path.name}")
    return buf.getvalue()


def _add(tar: tarfile.TarFile, path: Path, name: str) -> None:
    """Same bytes -> same archive: no timestamps, so its hash names the code version."""
    info = tarfile.TarInfo(name)
    data = path.read_bytes()
    info.size, info.mode = len(data), 0o644
    tar.addfile(info, io.BytesIO(data))


def start_controller(client, state: State, net: ClusterNet, objects: list[dict], settings: dict) -> str:
    """Replace the controller when the desired state changed; start it if it is not running."""
    code = _code_archive()
    # A new emukube version replaces the controller too, not only new objects.
    generation = generation_of(objects, dict(settings, code=hashlib.sha256(code).hexdigest()))
    current = state.controller
    if current is not None and current.labels.get(L.GENERATION) == generation:
        if current.status != "running":
            current.start()
        return generation
    role_images = {role: images.resolve(client, role) for role in ("haproxy", "nginx", "pause", "coredns")}
    controller_image = images.resolve(client, "controller")
    if current is not None:
        engine.remove(current, timeout=5)
    for vol in (state_volume(state.cluster), f"emukube-{state.cluster}-dns"):
        if not client.volumes.list(filters={"name": vol}):
            client.volumes.create(vol, labels={L.CLUSTER: state.cluster})
    env = {
        "EMUKUBE_SELF": controller_name(state.cluster), "EMUKUBE_CLUSTER": state.cluster,
        "EMUKUBE_SUBNET": net.subnet, "EMUKUBE_IMAGES": json.dumps(role_images),
        "EMUKUBE_IMAGE_MAP": json.dumps(settings.get("image_map") or {}),
        "EMUKUBE_NODE_ADDRESS": settings.get("address", "127.0.0.1"),
        "EMUKUBE_ALLOW_PRIVILEGED": "1" if settings.get("allow_privileged") else "0",
        "PYTHONPATH": CODE_DIR, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1",
    }
    labels = {L.CLUSTER: state.cluster, L.ROLE: "controller", L.OBJECTS: json.dumps(objects, sort_keys=True),
              L.GENERATION: generation, L.SUBNET: net.subnet}
    container = engine.create(
        client, controller_name(state.cluster), controller_image, network=net.network_name,
        ip=net.controller_ip, labels=labels, environment=env, command=["python3", "-m", "emukube.controller"],
        hostname="emukube-controller", working_dir=CODE_DIR,
        host_config=dict(
            binds={"/var/run/docker.sock": {"bind": "/var/run/docker.sock", "mode": "rw"},
                   state_volume(state.cluster): {"bind": "/state", "mode": "rw"},
                   f"emukube-{state.cluster}-dns": {"bind": "/dns", "mode": "rw"}},
            restart_policy={"Name": "always"},
        ),
    )
    client.api.put_archive(container.id, "/", code)
    container.start()
    return generation


def read_status(client, cluster: str) -> dict | None:
    controller = engine.get_container(client, controller_name(cluster))
    if controller is None:
        return None
    try:
        raw = engine.read_file(controller, "/state/status.json")
    except DockerException:
        return None
    return json.loads(raw) if raw else None


def wait_converged(client, cluster: str, generation: str, timeout: float, progress=None) -> dict:
    """Until the controller of this generation reports every pod ready and every Service
    answering. Raises WorkloadFailed (exit 1) naming what is still waiting."""
    deadline = time.monotonic() + timeout
    last: dict | None = None
    seen = None
    while time.monotonic() < deadline:
        status = read_status(client, cluster)
        if status and status.get("generation") == generation:
            last = status
            if progress and status.get("waiting") != seen:
                seen = status.get("waiting")
                progress(status)
            if status.get("converged"):
                return status
        time.sleep(0.25)
    waiting = (last or {}).get("waiting") or ["the controller did not report (see `emukube events`)"]
    raise WorkloadFailed(f"not ready after {timeout:.0f}s: " + "; ".join(waiting[:10]))


def down(client, cluster: str) -> int:
    """Remove every container, volume and network carrying the cluster's label."""
    removed = 0
    found = client.containers.list(all=True, filters=L.cluster_filter(cluster))
    # The controller first, so it does not replace what is being removed.
    found.sort(key=lambda c: c.labels.get(L.ROLE) != "controller")
    for c in found:
        engine.remove(c)
        removed += 1
    for vol in client.volumes.list(filters={"label": f"{L.CLUSTER}={cluster}"}):
        try:
            vol.remove(force=True)
        except NotFound:
            pass
    for net in client.networks.list(filters={"label": f"{L.CLUSTER}={cluster}"}):
        try:
            net.remove()
        except NotFound:
            pass
    return removed


def all_clusters(client) -> list[str]:
    names = {n.attrs.get("Labels", {}).get(L.CLUSTER) for n in client.networks.list(filters={"label": L.CLUSTER})}
    names |= {c.labels.get(L.CLUSTER) for c in client.containers.list(all=True, filters={"label": L.CLUSTER})}
    return sorted(n for n in names if n)
