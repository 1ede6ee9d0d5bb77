"""Cluster operations the CLI and the Python API share: apply, wait, snapshot, delete, down.

The applied objects live in the cluster's API server (its store is in the state volume); they
are written through it, and the controller acts on them as they change. The controller
container is replaced only when the cluster's settings or emukube's code change. Docker labels
say only what belongs to which cluster. Nothing is kept outside Docker.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tarfile
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from ..errors import EmukubeError, WorkloadFailed
from ..errors import NotFound as NotFoundError
from ..k8s.applied import APPLIED, DESIRED, desired_objects, is_system_object
from ..k8s.resources import BY_KEY
from ..k8s.times import timestamp
from ..plan import allocate
from ..plan.network import ClusterNet, choose_index
from ..runtime import clusters, engine, images
from ..runtime import labels as L
from ..runtime.clusters import SubnetTaken, create_network
from ..runtime.engine import DockerException
from ..runtime.report import Report
from ..runtime.settings import CONFIG_DIR, PKI_DIR, STATE_DIR, STATUS_FILE, Settings, config_volume
from . import code, host_ports, state_backup
from . import connection as cluster_api
from .code import CODE_DIR
from .report_reader import ReportReader

if TYPE_CHECKING:
    from docker.models.containers import Container

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
    controller: Container | None
    objects: list[dict] = field(default_factory=list)
    saved_settings: dict | None = None  # restored from the state volume (no controller)

    @property
    def exists(self) -> bool:
        return self.net is not None

    def services(self) -> list[dict]:
        return [o for o in self.objects if o["kind"] == "Service"]


def read_state(client, cluster: str, kinds: tuple[str, ...] | None = None) -> State:
    """`kinds`: the resources (k8s.resources keys) whose objects are read; None: every desired one."""
    subnet = clusters.subnet_of(client, cluster)
    net = ClusterNet.from_subnet(cluster, subnet) if subnet else None
    controller = engine.get_container(client, controller_name(cluster)) or _next_controller(client, cluster)
    objects = applied_objects(controller, kinds) if controller is not None and net is not None and kinds != () else []
    return State(cluster, net, controller, objects)


def applied_objects(controller, kinds: tuple[str, ...] | None = None) -> list[dict]:
    """The desired objects (of `kinds` only, when given), from the cluster's API server
    (waiting for it while it starts)."""
    if controller.status not in ("running", "restarting") and controller.attrs["State"].get("Status") != "running":
        return []
    api = cluster_api.client_for(controller)
    cluster_api.wait_ready(api)
    resources = list(APPLIED) if kinds is None else [BY_KEY[k] for k in kinds]
    # What users applied: not what every cluster has (apiserver/system.py), nor the Nodes the
    # controller keeps, unless cordoned or stopped (their state is what `emukube cordon|node stop` applied).
    return [o for o in desired_objects(cluster_api.list_objects(api, resources))
            if not is_system_object(o) and (o["kind"] != "Node" or _node_marked(o))]


def _node_marked(node: dict) -> bool:
    """Whether users cordoned, stopped or tainted the Node (plan.nodes.declared_state reads all three)."""
    from ..plan.nodes import declared_state

    state = declared_state(node["metadata"]["name"], node)
    return state["stopped"] or state["unschedulable"] or bool(state["taints"])


def restored(client, state: State) -> State:
    """A cluster whose controller was removed by hand: the objects and settings it held, from
    the copy in the state volume (state_backup)."""
    if state.controller is not None or state.net is None:
        return state
    saved = state_backup.read(client, state.cluster, state_volume(state.cluster))
    if saved is None:
        return state
    return State(state.cluster, state.net, None, saved[0], saved[1])


def _next_controller(client, cluster: str):
    """A replacement controller an interrupted `up` left before renaming it: it holds the state."""
    return engine.get_container(client, controller_name(cluster) + NEXT)


def require(state: State) -> State:
    if not state.exists:
        raise NotFoundError(f'no cluster named "{state.cluster}" (run `emukube up FILE` first)')
    return state


def other_clusters_node_ports(client, cluster: str) -> dict[int, str]:
    """NodePorts are host ports: unique across every emukube cluster on this engine."""
    from ..k8s.resources import BY_KEY

    def services_of(controller) -> list[dict]:
        try:
            return cluster_api.client_for(controller).list(BY_KEY["services"]).get("items", [])
        except (EmukubeError, OSError, ValueError):
            return []  # an API still starting or gone: its proxies' published ports count below

    others = [c for c in clusters.controllers(client) if c.labels.get(L.CLUSTER) != cluster]
    taken: dict[int, str] = {}
    # All at once: each unknown cluster's credentials are two copies out of its controller,
    # which took `up` seconds on an engine serving a few test clusters.
    with ThreadPoolExecutor(max_workers=8) as pool:
        for c, services in zip(others, pool.map(services_of, others)):
            for svc in services:
                for port in svc["spec"].get("ports") or []:
                    if port.get("nodePort"):
                        taken[port["nodePort"]] = f"cluster {c.labels.get(L.CLUSTER)}"
    # What other clusters' containers publish now: covers a controller being replaced.
    return {**taken, **clusters.published_node_ports(client, cluster)}


def merge(current: list[dict], incoming: list[dict]) -> list[dict]:
    """kubectl apply without prune: incoming objects replace or join the current ones."""
    now = timestamp(time.time())
    by_key = {object_key(o): o for o in current}
    for obj in incoming:
        key = object_key(obj)
        created = (by_key.get(key) or {}).get("metadata", {}).get("creationTimestamp") or now
        obj = json.loads(json.dumps(obj))
        obj["metadata"]["creationTimestamp"] = created
        by_key[key] = obj
    return list(by_key.values())


def plan_objects(client, state: State, net: ClusterNet, objects: list[dict],
                 warnings: list[str] | None = None, node_ports: dict[int, str] | None = None) -> list[dict]:
    """Allocate Service addresses for the merged object set; raise with every problem.
    `node_ports`: other_clusters_node_ports, when just read."""
    services = [o for o in objects if o["kind"] == "Service"]
    previous = {allocate.owner_of(s): s for s in state.services()}
    if node_ports is None:
        node_ports = other_clusters_node_ports(client, state.cluster)
    taken = allocate.Allocated(node_ports=node_ports)
    allocated, problems = allocate.allocate_services(services, previous, net, taken, warnings)
    if problems:
        raise EmukubeError("\n".join(problems))
    by_key = {object_key(s): s for s in allocated}
    return [by_key.get(object_key(o), o) for o in objects]


def generation_of(objects: list[dict], settings: dict) -> str:
    blob = json.dumps([sorted(objects, key=lambda o: object_key(o)), settings], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def plan_network(client, cluster: str, skip: set[int] | None = None) -> ClusterNet:
    """The address plan a new cluster would get: the first /16 of ours no network uses (nor
    one of `skip`, subnets another process took meanwhile)."""
    taken = {ClusterNet(cluster, i).subnet for i in skip or ()} | clusters.subnets_in_use(client)
    index = choose_index(taken)
    if index is None:
        raise EmukubeError("no free 10.96-10.127 /16 subnet left for another cluster")
    return ClusterNet(cluster, index)


def plan_with_network(client, state: State, objects: list[dict], warnings: list[str] | None = None,
                      settings: dict | None = None, node_ports: Future | None = None) -> tuple[ClusterNet, list[dict]]:
    """Allocate Service addresses and, for a new cluster, create its network; nothing is created
    when allocating fails, nor (given the `settings`) when a host port to publish is held by
    another program. A subnet taken between planning and creating (a cluster made at the same
    moment by another process, or any other network) is retried with the next one.
    Allocation warnings (of the plan that was kept) are added to `warnings`. `node_ports`:
    other_clusters_node_ports begun in the background (in_background), for the first plan."""
    skip: set[int] = set()
    warnings = [] if warnings is None else warnings
    while True:
        net = state.net or plan_network(client, state.cluster, skip)
        notes: list[str] = []
        first = node_ports.result() if node_ports is not None and not skip else None
        planned = plan_objects(client, state, net, objects, notes, first)
        taken = host_ports.problems(client, state.cluster, net, planned, settings) if settings is not None else []
        if taken:
            raise EmukubeError("\n".join(taken))
        if state.net is not None:
            warnings.extend(notes)
            return net, planned
        try:
            create_network(client, net)
            warnings.extend(notes)
            return net, planned
        except SubnetTaken:
            skip.add(net.index)


LOCK_WAIT = 60.0  # a holder stuck longer than this (a hung engine call) is not waited for


@contextlib.contextmanager
def allocation_lock(wait: float = LOCK_WAIT) -> Iterator[None]:
    """Serialises allocating across processes on this machine, from reading what other clusters
    hold to our API server holding our share: two clusters made at the same moment
    (pytest-xdist) would otherwise both pick the same free nodePort."""
    try:
        import fcntl
    except ImportError:  # not a Unix: no lock; a clash then shows as a proxy that cannot start
        yield
        return
    try:
        fd = os.open(Path(tempfile.gettempdir()) / "emukube-allocate.lock", os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:
        yield
        return
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing releases the lock


SYSTEM_ROLES = ("controller", "haproxy", "nginx", "pause", "coredns")


def require_images(client) -> None:
    """Every image emukube's own containers run is here: checked before anything is created,
    so that a missing one leaves no half-made cluster behind."""
    for role in SYSTEM_ROLES:
        try:
            ref = images.resolve(client, role)
        except images.ImageMissing as exc:
            raise EmukubeError(str(exc)) from None
        if not clusters.has_image(client, ref):
            raise EmukubeError(f'image "{ref}" (the {role}) is not present on the engine')


def prepare_code(client) -> Future:
    """The controller's image (lifecycle/code.py), looked for, or made, in the background
    while `up` waits on the engine for what comes before the controller."""
    return in_background(code.controller_image, client)


def in_background(fn, *args) -> Future:
    """fn(*args) in a thread of its own, while the caller waits on the engine for something else."""
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(fn, *args)
    finally:
        pool.shutdown(wait=False)


def start_controller(client, state: State, net: ClusterNet, settings: dict, prepared: Future | None = None,
                     pki_made: Future | None = None) -> str:
    """Start the controller (and in it the API server) with these settings, replacing one with other
    settings or older code; returns its generation once its API answers. `prepared`, `pki_made`:
    what prepare_code() and (for a new cluster) begin_pki() began."""
    controller_image, version = (prepared or prepare_code(client)).result()
    generation = generation_of([], dict(settings, code=version))  # a new emukube version replaces it too
    current = state.controller
    name = controller_name(state.cluster)
    if current is not None and current.name != name:
        engine.rename(current, name)  # the replacement an interrupted swap left
    if current is not None and current.labels.get(L.GENERATION) == generation:
        _finish_controller(client, current, name)
        cluster_api.wait_ready(cluster_api.client_for(current))
        return generation
    role_images = {role: images.resolve(client, role) for role in ("haproxy", "nginx", "pause", "coredns")}
    role_images.update(images.stand_ins(client))
    stale = engine.get_container(client, name + NEXT)  # a replacement an interrupted `up` never swapped in
    if stale is not None:
        engine.remove(stale)
    pki = None
    if clusters.ensure_volume(client, state_volume(state.cluster), state.cluster):
        # A new state volume has no PKI: made while the engine makes the rest, not looked for.
        pki = pki_made or begin_pki(state.cluster, net)
    clusters.ensure_volume(client, f"emukube-{state.cluster}-dns", state.cluster)
    clusters.ensure_volume(client, config_volume(state.cluster), state.cluster, tmpfs=True)
    # The API keeps its address across replacements (kubeconfig entries stay valid).
    port = (cluster_api.published_port(current) if current is not None else None) or free_port()
    given = Settings(cluster=state.cluster, subnet=net.subnet, images=role_images,
                     image_map=settings.get("image_map") or {}, node_address=settings.get("address", "127.0.0.1"),
                     allow_privileged=bool(settings.get("allow_privileged")), nodes=settings.get("nodes") or 1)
    env = {
        **given.to_env(), "EMUKUBE_SELF": controller_name(state.cluster),
        "EMUKUBE_SCHEMA": f"{CODE_DIR}/schema/_definitions.json",
        "PYTHONPATH": CODE_DIR, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1",
    }
    labels = {L.CLUSTER: state.cluster, L.ROLE: L.Role.CONTROLLER, L.GENERATION: generation, L.SUBNET: net.subnet}
    # Made beside the running one and swapped in, so that an interrupted `up` always leaves a
    # controller (the old or the new one), never none.
    container = engine.create(
        client, name + NEXT, controller_image, network=net.network_name,
        ip=net.controller_ip, labels=labels, environment=env, command=["python3", "-m", "emukube.controllers"],
        hostname="emukube-controller", working_dir=CODE_DIR,
        host_config=dict(
            binds={"/var/run/docker.sock": {"bind": "/var/run/docker.sock", "mode": "rw"},
                   state_volume(state.cluster): {"bind": STATE_DIR, "mode": "rw"},
                   f"emukube-{state.cluster}-dns": {"bind": "/dns", "mode": "rw"},
                   config_volume(state.cluster): {"bind": CONFIG_DIR, "mode": "rw"}},
            restart_policy={"Name": "always"},
        ),
        ports={"6443/tcp": ("127.0.0.1", port)},
    )
    if current is not None:
        engine.remove(current, timeout=5)
    # The settings' backup goes in with the PKI: each copy into a container is an engine call.
    _finish_controller(client, container, name, state_backup.files([], settings),
                       pki.result() if pki is not None else None)
    engine.refresh(container)
    cluster_api.wait_ready(cluster_api.client_for(container))
    return generation


def free_port() -> int:
    """A port nothing on 127.0.0.1 listens on now, for a new cluster's API server."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_objects(client, state: State, objects: list[dict], current: list[dict] | None = None) -> dict[str, int]:
    """Objects through the API server, as `kubectl apply` (nothing else is deleted);
    `current`: what it holds, when known (a new cluster's store holds nothing yet)."""
    controller = engine.get_container(client, controller_name(state.cluster))
    api = cluster_api.client_for(controller)
    if current is None:
        current = applied_objects(controller)
    return cluster_api.sync(api, objects, current)


def is_new(client, state: State) -> bool:
    """Nothing of the cluster yet, not even a state volume (whose store a cluster whose network
    was removed by hand left): its API server will hold none of its objects."""
    return not state.exists and not clusters.has_volume(client, state_volume(state.cluster))


NEXT = "-next"


def _finish_controller(client, container, name: str, more: dict[str, tuple[bytes, int]] | None = None,
                       pki: dict[str, tuple[bytes, int]] | None = None) -> None:
    """Complete what an interrupted `up` may have left: the PKI (and `more` files) copied in,
    the controller's name, the container started. `pki`: the files of a new state volume's PKI."""
    engine.refresh(container)
    if container.status == "created":  # never started: the copy may be missing
        pki = _new_pki(container) if pki is None else pki
        if pki or more:  # one copy for all: each copy into a container costs the engine a helper process
            clusters.copy_into(client, container, engine.tar_of({**pki, **(more or {})}))
        cluster_api.remember(container, pki)  # not copied back out to reach its API
    if container.name != name:
        engine.rename(container, name)
    if container.status not in ("running", "restarting"):
        engine.start(container)


def _new_pki(container) -> dict[str, tuple[bytes, int]]:
    """The cluster's CA, serving certificate and token, made once per state volume (so kept
    across controller replacements: kubeconfig entries stay valid): the files to write, none
    when the volume has them."""
    if engine.read_file(container, f"{PKI_DIR}/ca.crt"):
        return {}
    cluster = container.labels[L.CLUSTER]
    return _pki_files(cluster, ClusterNet.from_subnet(cluster, container.labels[L.SUBNET]))


def begin_pki(cluster: str, net: ClusterNet) -> Future:
    """A new cluster's PKI, made in a thread: begun as soon as its addresses are known, it was
    still being made when the controller's container was (70-130 ms of every new `up`)."""
    return in_background(_pki_files, cluster, net)


def _pki_files(cluster: str, net: ClusterNet) -> dict[str, tuple[bytes, int]]:
    from . import pki

    # Pods reach the API at the `kubernetes` Service's ClusterIP (the controller's address) and
    # names (in-cluster config).
    made = pki.make_pki(cluster, sorted({"127.0.0.1", net.controller_ip, net.apiserver_service_ip}),
                        ["localhost", "emukube-controller", "kubernetes", "kubernetes.default",
                         "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"])
    return {f"{STATE_DIR}/{path}": (data, 0o600) for path, data in pki.pki_files(made).items()}


def settings_of(controller) -> dict:
    """The settings a cluster runs with, read back from its controller's environment."""
    return Settings.of_container(controller).user()


def read_status(client, cluster: str) -> Report | None:
    controller = engine.get_container(client, controller_name(cluster))
    if controller is None:
        return None
    try:
        raw = engine.read_file(controller, STATUS_FILE)
        return Report.from_json(raw) if raw else None
    except (DockerException, tarfile.TarError, ValueError, TypeError):
        # Read while the controller replaced it (a torn archive): the next poll reads it whole.
        return None


def wait_converged(client, cluster: str, generation: str | None, timeout: float, progress=None,
                   written: dict[str, int] | None = None) -> Report:
    """Until the controller of this generation, having seen the `written` resourceVersions,
    reports every pod ready and every Service answering. Raises WorkloadFailed (exit 1) naming
    what is still waiting."""
    deadline = time.monotonic() + timeout
    # The status file outlives the controller (it is in the state volume): after an engine
    # restart the last one written says "converged" while the pods are still coming back. Only
    # a status written since we began waiting counts (the controller writes one every tick).
    since = time.time()
    last: Report | None = None
    seen = None
    reports = ReportReader(lambda: engine.get_container(client, controller_name(cluster)),
                           lambda: read_status(client, cluster))
    while time.monotonic() < deadline:
        status = reports.next(min(2.0, deadline - time.monotonic()))  # it waits for the next one
        if (status and status.generation == generation and status.time >= since
                and _has_seen(status, written or {})):
            last = status
            if progress and status.waiting != seen:
                seen = status.waiting
                progress(status)
            if status.converged:
                return status
    silent = f"the controller did not report (see `docker logs {controller_name(cluster)}`)"
    waiting = (last.waiting if last else None) or [silent]
    raise WorkloadFailed(f"not ready after {timeout:.0f}s: " + "; ".join(waiting[:10]))


def _has_seen(status: Report, written: dict[str, int]) -> bool:
    """Whether the loop saw what was written of the kinds it watches (it never sees those only
    the API server acts on: RuntimeClasses, policies, the CSI kinds...)."""
    return all(status.seen.get(res, 0) >= rv for res, rv in written.items() if res in _WATCHED)


_WATCHED = {r.key for r in DESIRED}


def down(client, cluster: str, passes: int = 12) -> int:
    """Remove every container, volume and network carrying the cluster's label, in passes until
    nothing is left (the controller may have been starting a container as it was removed)."""
    removed = 0
    for attempt in range(passes):
        found = engine.containers(client, cluster)
        # The controller first, so it does not replace what is being removed. One at a time:
        # removing hundreds at once made Docker 20.10 keep a stale endpoint now and then (2 of
        # 7 benchmark runs), leaving a network nothing can remove short of an engine restart.
        found.sort(key=lambda c: c.labels.get(L.ROLE) != L.Role.CONTROLLER)
        for c in found:
            engine.remove(c)
            removed += 1
        left = clusters.remove_volumes_and_networks(client, cluster)
        # A container create the controller sent just before it was removed may land after the
        # listing (not yet attached, it does not even stop the network's removal): look again.
        # After hundreds of removals the engine may also still be releasing their network
        # endpoints for some seconds ("has active endpoints").
        if not left and not engine.containers(client, cluster):
            return removed
        time.sleep(min(3.0, 0.5 * (attempt + 1)))
    still = [c.name for c in engine.containers(client, cluster)]
    if not still and any("active endpoints" in why for why in left):
        # moby/moby#42119 and kin: the engine keeps an endpoint of a container long gone.
        left.append("no container is attached any more: the Docker engine kept a stale endpoint "
                    "(a known engine bug); restarting the engine clears it, and new clusters use another subnet")
    raise EmukubeError(f"cluster {cluster}: could not remove " + "; ".join(left + still))


def all_clusters(client, prefix: str = "") -> list[str]:
    """Every cluster with anything left on the engine, by label, also half-made or half-removed
    ones (a network without a controller, volumes alone); `prefix` narrows by name."""
    return sorted(n for n in clusters.cluster_names(client) if n.startswith(prefix))
