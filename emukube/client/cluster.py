"""The Python API: one cluster, from manifests to curl-able Services. The CLI is a thin layer over it.

    from emukube import Cluster

    with Cluster.up("k8s/") as c:
        c.exec("deploy/web", ["curl", "-s", "backend"])

Leaving the `with` block (normally, on an exception or on Ctrl-C) removes the cluster.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence, TypeAlias

from ..errors import EmukubeError, NotFound
from ..k8s.client import ApiError
from ..k8s.names import kind_of
from ..lifecycle import node_address, ops
from ..lifecycle.connection import comparable
from ..plan import image_map
from ..plan.nodes import STOPPED_ANNOTATION, node_object
from ..plan.workloads import selects
from ..runtime import engine, forward
from ..runtime import labels as L
from ..runtime.podspec import container_ports
from ..runtime.report import Report
from . import inside as access
from .edits import OWNERS
from .snapshot import PodRow, Snapshot

PathLike: TypeAlias = "str | os.PathLike[str]"


@dataclass(frozen=True)
class Change:
    """One applied object and what applying it did, like kubectl's `service/web created`."""

    kind: str
    namespace: str
    name: str
    verb: str  # created | configured | unchanged

    def __str__(self) -> str:
        return f"{self.kind.lower()}/{self.name} {self.verb}"


def _changes(objects: list[dict], current: list[dict], planned: list[dict]) -> tuple[list[Change], list[dict]]:
    """What applying `objects` does to each (kubectl's created/configured/unchanged), and the
    planned objects to write, with what kubectl apply would keep of the live ones."""
    from .apply_merge import keep_what_apply_keeps

    before = {ops.object_key(o): o for o in current}
    after = {ops.object_key(o): o for o in planned}
    changes, incoming = [], []
    for obj in objects:
        key = ops.object_key(obj)
        old = before.get(key)
        if old is not None:
            keep_what_apply_keeps(after[key], old)
        verb = "created" if old is None else \
            ("unchanged" if comparable(old) == comparable(after[key]) else "configured")
        changes.append(Change(key[0], key[1], key[2], verb))
        incoming.append(after[key])
    return changes, incoming


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    stdout: str
    stderr: str


DEFAULT_SETTINGS: dict[str, Any] = {"address": "127.0.0.1", "allow_privileged": False, "image_map": {}, "nodes": 1}


_NAMES_MADE = itertools.count()


def unique_name(prefix: str = "ek") -> str:
    """A cluster name no other process on this machine picks at the same time (pytest-xdist),
    nor this one twice."""
    return f"{prefix}{os.getpid() % 100000:05d}{int(time.time() * 1000) % 100000:05d}{next(_NAMES_MADE) % 10}"


@contextlib.contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """A Ctrl-C while a cluster is being removed would leave half of it: it waits until the end.
    So does SIGTERM when Python handles it (the pytest plugin turns it into a Ctrl-C)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    deferred = [signal.SIGINT] + ([signal.SIGTERM] if callable(signal.getsignal(signal.SIGTERM)) else [])
    previous = {signum: signal.signal(signum, lambda n, frame: caught.append(n)) for signum in deferred}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if caught:
        raise KeyboardInterrupt


class Cluster:
    """A handle on one emukube cluster (named like `emukube --cluster NAME`)."""

    def __init__(self, name: str = "emukube", *, images: dict[str, str] | None = None,
                 address: str | None = None, allow_privileged: bool | None = None, keep: bool = False,
                 nodes: int | None = None):
        self.name = name
        # What this handle asks for; None = keep what the cluster has (or the safe default).
        if address is not None:
            address = node_address.normalise(address)
        requested: dict[str, Any] = {"address": address, "allow_privileged": allow_privileged,
                                     "image_map": dict(images) if images is not None else None, "nodes": nodes}
        self._requested = {k: v for k, v in requested.items() if v is not None}
        self.settings = {**DEFAULT_SETTINGS, **self._requested}
        self.keep = keep
        self.warnings: list[str] = []  # of the last apply: skipped documents, allocations, --address
        self.written: dict[str, int] = {}  # resourceVersions the last apply wrote, per resource
        self.planned: list[dict] = []  # the last apply's objects with those the cluster held before
        self._client = None

    # -- life cycle -------------------------------------------------------------------------
    @classmethod
    def up(cls, *paths: PathLike, name: str | None = None, images: dict[str, str] | None = None,
           address: str | None = None, allow_privileged: bool | None = None, timeout: float = 180,
           wait: bool = True, keep: bool = False, nodes: int | None = None) -> Cluster:
        """Create (or update) a cluster from files or directories and wait until it answers.
        If starting fails, whatever was made is removed again unless `keep`."""
        cluster = cls(name or unique_name(), images=images, address=address,
                      allow_privileged=allow_privileged, keep=keep, nodes=nodes)
        existed = cluster.exists()
        try:
            cluster.apply(*paths, wait=wait, timeout=timeout)
        except BaseException:
            if not existed and not keep:
                cluster.down()
            raise
        return cluster

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc) -> None:
        if not self.keep:
            self.down()

    @property
    def client(self):
        if self._client is None:
            self._client = engine.connect()
        return self._client

    def exists(self) -> bool:
        return ops.read_state(self.client, self.name, kinds=()).exists

    def load(self, *paths: PathLike, stdin=None) -> tuple[list[dict], list[str]]:
        """Validated, defaulted objects and warnings; raises ManifestError with every problem."""
        from ..manifests import load_and_validate

        return load_and_validate([str(p) for p in paths], stdin=stdin,
                                 allow_privileged=bool(self.settings["allow_privileged"]))

    def apply(self, *paths: PathLike, objects: list[dict] | None = None, wait: bool = True,
              timeout: float = 180, stdin=None, progress: Callable[[Report], None] | None = None) -> list[Change]:
        """kubectl apply: validate everything, plan, then touch Docker. Nothing is created when
        any document is invalid."""
        client = self.client
        state = ops.restored(client, ops.read_state(client, self.name))
        self._keep_settings(state)
        self.warnings = []
        if objects is None:
            objects, self.warnings = self.load(*paths, stdin=stdin)
        if not objects:
            raise EmukubeError("error: no objects passed to apply")
        objects = [image_map.annotated(o, self.settings["image_map"]) for o in objects]
        # Only the mappings given now, and used by any object of the cluster (an earlier apply's too).
        self.warnings += image_map.unused_keys(self._requested.get("image_map") or {},
                                               ops.merge(state.objects, objects))
        self.warnings += node_address.warning(self._requested.get("address"))
        prepared, new = ops.prepare_code(client), ops.is_new(client, state)  # the controller image meanwhile
        node_ports = ops.in_background(ops.other_clusters_node_ports, client, self.name)  # so are these
        ops.require_images(client)
        # Allocated once before anything is created (a request that cannot be honoured leaves
        # nothing behind), and again under the lock below.
        net, _ = ops.plan_with_network(client, state, ops.merge(state.objects, objects),
                                       self.warnings, settings=self.settings, node_ports=node_ports)
        pki = ops.begin_pki(self.name, net) if new else None
        generation = ops.start_controller(client, state, net, self.settings, prepared, pki)
        planning = state
        if not new and (state.controller is None or state.controller.status != "running"):
            # Its API was not serving when this began (a controller removed by hand, or
            # stopped): what the store in the state volume holds counts.
            state = ops.read_state(client, self.name)
            planning = state if state.objects else planning
        # From reading what other clusters hold until our API server holds our share, so that
        # clusters made at the same moment never pick the same nodePort. Starting the controller
        # stays outside: on a loaded engine it took longer than another process waits for the lock.
        with ops.allocation_lock():
            self.planned = ops.merge(planning.objects, objects)
            planned = ops.plan_objects(client, planning, net, self.planned)
            changes, incoming = _changes(objects, state.objects, planned)
            # Workloads of earlier applies whose images the map now resolves otherwise roll out too.
            applied = {ops.object_key(o) for o in objects}
            for old in state.objects:
                stamped = image_map.annotated(old, self.settings["image_map"])
                if ops.object_key(old) not in applied and stamped is not old:
                    incoming.append(stamped)
            written = ops.write_objects(client, state, incoming, current=[] if new else None)
        self.written = written  # what wait_ready waits for the controller to have seen
        if wait:
            ops.wait_converged(client, self.name, generation, timeout, progress, written)
        return changes

    def _keep_settings(self, state) -> None:
        """The settings the cluster was made with, unless this handle says otherwise; a given
        image map adds to the cluster's."""
        kept = self.current_settings(state) if state.controller is not None else state.saved_settings
        if kept is not None:
            merged = image_map.merge(kept.get("image_map") or {}, self._requested.get("image_map"))
            self.settings = {**DEFAULT_SETTINGS, **kept, **self._requested, "image_map": merged}

    def down(self) -> int:
        """Remove every container, volume and network with the cluster's label (port-forwards
        too). A Ctrl-C meanwhile is held back until everything is gone."""
        with _interrupts_deferred():
            return ops.down(self.client, self.name)

    def current_settings(self, state=None) -> dict:
        state = state or ops.require(ops.read_state(self.client, self.name))
        return ops.settings_of(state.controller)

    def wait_ready(self, timeout: float = 120, progress: Callable[[Report], None] | None = None) -> Report:
        """Until every pod is ready and every Service answers (raises WorkloadFailed); the
        controller's report that said so."""
        controller = self._controller()
        assert controller is not None
        return ops.wait_converged(self.client, self.name, controller.labels.get(L.GENERATION),
                                  timeout, progress, self.written)

    def _controller(self):
        """The cluster's controller, without the objects read_state lists through its API."""
        found = engine.get_container(self.client, ops.controller_name(self.name))
        return found or ops.require(ops.read_state(self.client, self.name)).controller

    # -- its Kubernetes API ---------------------------------------------------------------------
    def api(self):
        """A client of the cluster's API server (k8s.client.KubeClient)."""
        from ..lifecycle.connection import client_for

        controller = engine.get_container(self.client, ops.controller_name(self.name))
        if controller is None:
            raise NotFound(f'no cluster named "{self.name}" (run `emukube up FILE` first)')
        return client_for(controller)

    def kubeconfig(self, internal: bool = False) -> dict:
        """A kubeconfig for this cluster alone (context emukube-NAME); `internal`: the address
        containers on the cluster's network reach (its controller's), not 127.0.0.1."""
        from ..lifecycle import kubeconfig
        from ..lifecycle.connection import credentials_of

        creds = credentials_of(self._controller())
        if not internal:
            return kubeconfig.render(self.name, creds.server, creds.ca_pem, creds.token)
        net = ops.require(ops.read_state(self.client, self.name)).net
        assert net is not None
        return kubeconfig.render(self.name, f"https://{net.controller_ip}:6443", creds.ca_pem, creds.token)

    # -- reading ----------------------------------------------------------------------------
    def snapshot(self, pods: bool = True, kinds: tuple[str, ...] | None = None) -> Snapshot:
        return Snapshot(self.client, self.name, pods, kinds)

    def objects(self, kind: str | None = None) -> list[dict]:
        objs = ops.require(ops.read_state(self.client, self.name)).objects
        return [o for o in objs if kind is None or o["kind"] == kind]

    def service(self, name: str, namespace: str = "default") -> dict:
        name = name.split("/", 1)[-1]
        found = self.snapshot().find("Service", name, namespace)
        if found is None:
            raise NotFound(f'Error from server (NotFound): services "{name}" not found')
        return found

    def pods(self, selector: str | dict | None = None, namespace: str | None = "default") -> list[PodRow]:
        """Pods (name, ip, ready, labels ...) matching `app=web,tier=x` or a dict, like -l."""
        wanted = _selector(selector)
        return [p for p in self.snapshot().pods
                if (namespace is None or p.namespace == namespace)
                and all(p.labels.get(k) == v for k, v in wanted.items())]

    def pod_name(self, ref: str, namespace: str = "default", snap: Snapshot | None = None) -> str:
        """POD, pod/POD, deploy/NAME or sts/NAME (its first pod, like kubectl)."""
        if "/" not in ref:
            return ref
        kind, name = ref.split("/", 1)
        if kind_of(kind, ("Pod",)):
            return name
        owner_kind = kind_of(kind, OWNERS)
        if owner_kind is None:
            raise EmukubeError(f'error: cannot use "{kind}" here; use POD, deploy/NAME or sts/NAME')
        snap = snap or self.snapshot()
        # As kubectl finds them: the workload's pods its selector matches (not one labelled out of it).
        workload = snap.find(owner_kind, name, namespace)
        pods = [p for p in snap.pods if p.namespace == namespace and p.owner == f"{owner_kind}/{name}"
                and p.phase != "Terminating" and (workload is None or selects(workload, p.labels))]
        if not pods:
            raise NotFound(f'Error from server (NotFound): {kind} "{name}" has no pods')
        return sorted(pods, key=lambda p: (not p.ready, p.name))[0].name

    def container_of(self, pod: str, namespace: str = "default", container: str | None = None):
        """The Docker container running a pod's (named) container."""
        snap = self.snapshot()
        pod = self.pod_name(pod, namespace, snap)
        found = [c for c in engine.containers(self.client, self.name, all=True, **{L.NAMESPACE: namespace, L.NAME: pod})
                 if c.labels.get(L.ROLE) in (L.Role.POD, L.Role.APP)]
        if not found:
            raise NotFound(f'Error from server (NotFound): pods "{pod}" not found')
        if not container:  # like kubectl: the first container of the pod spec
            spec = next((p.spec for p in snap.pods if p.name == pod and p.namespace == namespace), {})
            container = next((c.get("name") for c in spec.get("containers") or []), None)
            if container is None:
                return found[0]
        found = [c for c in found if c.labels.get("emukube.io/container") == container]
        if not found:
            raise EmukubeError(f"error: container {container} is not valid for pod {pod}")
        return found[0]

    def exec(self, pod: str, cmd: Sequence[str] | str, namespace: str = "default",
             container: str | None = None) -> ExecResult:
        """Run a command in a pod (a string runs through `sh -c`) and return its output."""
        if isinstance(cmd, str):
            cmd = ["sh", "-c", cmd]
        target = self.container_of(pod, namespace, container)
        code, out, err = engine.run_in(target, list(cmd))
        return ExecResult(code, out.decode(errors="replace"), err.decode(errors="replace"))

    def logs(self, pod: str, namespace: str = "default", container: str | None = None,
             tail: int | None = None) -> str:
        """A pod's (POD, deploy/NAME, sts/NAME) container's output so far, as `kubectl logs` reads it."""
        from . import logs

        chunks = logs.read(self.api(), pod, namespace, container, -1 if tail is None else tail)
        return b"".join(chunks).decode(errors="replace")

    def curl(self, target: str, namespace: str = "default", timeout: float = 10,
             include: bool = False) -> access.CurlResult:
        """Call svc/NAME[:PORT][/PATH] from inside the cluster, like a pod would; the result also
        says which pod answered (or why none did)."""
        return access.curl(self, target, namespace, timeout, include)

    def run(self, name: str, image: str, args: Sequence[str] = (), namespace: str = "default", *,
            command: bool = False, env: dict[str, str] | None = None, remove: bool = True,
            timeout: float = 300) -> ExecResult:
        """A throwaway pod, like `kubectl run --rm -i --restart=Never NAME --image IMAGE -- ARGS`:
        it runs in the cluster (with its DNS) to the end; returns its output and exit code."""
        obj = access.run_pod_object(name, image, list(args), namespace, command=command, env=env)
        container = access.create_run_pod(self, obj)
        try:
            code = access.wait_exit(container, timeout)
            out = container.logs(stdout=True, stderr=False).decode(errors="replace")
            err = container.logs(stdout=False, stderr=True).decode(errors="replace")
        finally:
            if remove:
                access.remove_pod(self, namespace, name)
        return ExecResult(code, out, err)

    # -- changing ---------------------------------------------------------------------------
    def scale(self, target: str, replicas: int, namespace: str = "default", wait: bool = False,
              timeout: float = 120) -> str | None:
        """deployment/NAME or statefulset/NAME to `replicas` pods, through the scale subresource
        (client/edits.py); with `wait`, until the controller has acted on it and converged.
        Returns the generation of the controller that runs the cluster."""
        from . import edits

        res = edits.resource_of(target.partition("/")[0], edits.OWNERS)
        rv = edits.scale(self.api(), target, replicas, namespace)["metadata"].get("resourceVersion", "")
        written = {res.key: int(rv)} if rv.isdigit() else {}  # the controller has acted once it saw it
        generation = self._controller().labels.get(L.GENERATION)
        if wait:
            ops.wait_converged(self.client, self.name, generation, timeout, written=written)
        return generation

    def delete_pod(self, name: str, namespace: str = "default", wait: bool = True, timeout: float = 60) -> None:
        """Delete a pod like kubectl: it leaves Services and DNS, gets SIGTERM, and is gone when
        this returns (wait); its Deployment or StatefulSet replaces it."""
        from . import edits

        edits.delete(self.api(), "pod", name, namespace, wait=wait, timeout=timeout)

    def delete(self, kind: str, name: str, namespace: str = "default") -> str:
        """Delete an applied object (svc, deploy, sts, cm, secret, ns, pod) and return its kind
        once it is gone, as kubectl does."""
        from . import edits

        return edits.delete(self.api(), kind, name, namespace).kind

    # -- workloads --------------------------------------------------------------------------
    def rollout_restart(self, target: str, namespace: str = "default") -> str:
        """kubectl rollout restart deployment/NAME (or statefulset/NAME, daemonset/NAME): a template annotation
        changes the pod-template hash, so the controller rolls every pod. Returns the kind."""
        from . import rollout

        return rollout.restart(self.api(), target, namespace)

    def rollout_status(self, target: str, namespace: str = "default", timeout: float | None = None,
                       watch: bool = True, progress: Callable[[str], None] | None = None) -> str:
        """Until the rollout is done (kubectl's messages go to progress as they change); returns
        the last message. Raises WorkloadFailed when `timeout` seconds pass first."""
        from . import rollout

        return rollout.wait(self.api(), target, namespace, timeout, watch, progress)

    def describe(self, kind: str, name: str | None = None, namespace: str = "default") -> str:
        """`kubectl describe KIND [NAME] -n NAMESPACE` of this cluster, as text (kubectl itself
        runs: client/kubectl.py). Raises NotFound with kubectl's message."""
        from . import kubectl

        done = kubectl.run(self.name, self.api(), ["describe", kind, *([name] if name else []), "-n", namespace],
                           capture=True, timeout=60)
        if done.returncode:
            message = done.stderr.strip() or f"kubectl describe exited {done.returncode}"
            raise NotFound(message) if "(NotFound)" in message else EmukubeError(message)
        return str(done.stdout)

    def events(self) -> list:
        """The cluster's Events, oldest first (emukube.client.events.Event: time, type, object, reason,
        message, namespace, source)."""
        from . import events

        return events.read(self.api())[0]

    def follow_events(self, since: str | None = None, until: Callable[[], bool] = lambda: False) -> Iterator:
        """Events as they are recorded after resourceVersion `since` (default: from now on),
        across controller replacements, until the cluster is removed or until() is true."""
        from . import events

        start = events.read(self.api())[1] if since is None else since
        return events.follow(self._api_or_none, start, until=until)

    def _api_or_none(self):
        try:
            return self.api()
        except NotFound:
            return None

    # -- nodes ------------------------------------------------------------------------------
    def nodes(self) -> list:
        """The emulated nodes (name, internal_ip, host_ip, status)."""
        return self.snapshot().nodes

    def _set_node(self, name: str, unschedulable: bool | None = None, stopped: bool | None = None) -> None:
        """As kubectl cordon does: a patch of the Node object (the controller publishes Nodes)."""
        from ..k8s.resources import BY_KEY

        if name not in {n.name for n in self.nodes()}:
            raise NotFound(f'Error from server (NotFound): nodes "{name}" not found')
        patch: dict = {}
        if unschedulable is not None:
            patch["spec"] = {"unschedulable": unschedulable or None}
        if stopped is not None:
            patch["metadata"] = {"annotations": {STOPPED_ANNOTATION: "true" if stopped else "false"}}
        api = self.api()
        try:
            api.patch(BY_KEY["nodes"], None, name, patch)
        except ApiError as exc:
            if exc.code != 404:
                raise
            node = node_object(name)  # not published yet
            node["spec"].update({k: v for k, v in patch.get("spec", {}).items() if v is not None})
            node["metadata"].update(patch.get("metadata", {}))
            api.create(BY_KEY["nodes"], node)

    def cordon(self, node: str, on: bool = True) -> None:
        """Mark a node (un)schedulable; its running pods stay."""
        self._set_node(node, unschedulable=on)

    def drain(self, node: str, timeout: float = 300, retried: Callable[[str], None] | None = None) -> list[str]:
        """Cordon, then evict the node's pods as `kubectl drain --ignore-daemonsets` does,
        PodDisruptionBudgets holding (client/drain.py: refusals tried again until `timeout`, each
        told to `retried`); their owners start them on other nodes. A DaemonSet's pod stays: its
        controller would make it again on the cordoned node."""
        from .drain import evict_all

        self.cordon(node)
        pods = [(p.namespace, p.name) for p in self.snapshot().pods
                if p.node == node and not p.owner.startswith("DaemonSet/")]
        return [f"{ns}/{name}" for ns, name in evict_all(self.api(), node, pods, timeout, retried)]

    def node_power(self, node: str, running: bool) -> None:
        """`node stop`: the node's pods and NodePorts go away; `node start` brings it back."""
        self._set_node(node, stopped=not running)

    # -- reaching ---------------------------------------------------------------------------
    def url(self, service: str, port: int | str | None = None, namespace: str = "default",
            scheme: str = "http") -> str:
        """A URL the host can open for a Service port: its LoadBalancer address, else its
        NodePort on the node address, else (ClusterIP, headless) a port-forward on 127.0.0.1
        that stays until the cluster goes and is reused by the next call."""
        svc = self.service(service, namespace)
        spec = svc["spec"]
        chosen = _pick_port(spec.get("ports") or [], port, service)
        ingress = (svc.get("status", {}).get("loadBalancer", {}).get("ingress") or [{}])[0].get("ip")
        if spec.get("type") == "LoadBalancer" and ingress:
            return f"{scheme}://{ingress}:{chosen['port']}"
        if chosen.get("nodePort"):
            host = self.settings.get("address") or "127.0.0.1"
            host = "127.0.0.1" if host in ("0.0.0.0", "localhost") else host
            return f"{scheme}://{host}:{chosen['nodePort']}"
        fwd = self.port_forward(f"svc/{svc['metadata']['name']}", chosen["port"], namespace=namespace, keep=True)
        return f"{scheme}://{fwd.host}:{fwd.local_port}"

    def port_forward(self, ref: str, remote: int | str, local: int = 0, namespace: str = "default",
                     address: str = "127.0.0.1", keep: bool = False) -> forward.Forward:
        """kubectl port-forward: address:local (0 = a free port) -> svc/NAME's port `remote`
        (through its ClusterIP; a headless one: a ready pod's targetPort) or a pod's (POD,
        pod/NAME, deploy/NAME, sts/NAME) container port. keep=True: lives until the cluster goes
        and an equal one is reused; else remove it yourself (`.remove()`)."""
        target, ip, port = self._forward_target(ref, remote, namespace)
        state = ops.require(ops.read_state(self.client, self.name))
        if keep and not local:
            found = forward.find(self.client, self.name, target, f"{ip}:{port}", address)
            if found is not None:
                return found
        assert state.net is not None
        return forward.create(self.client, self.name, state.net.network_name, target, ip, port, local_port=local,
                              host=address, lifetime="cluster" if keep else "session")

    def forward_display_port(self, ref: str, remote: int | str, namespace: str = "default") -> int:
        """The port kubectl names after `->`: a Service's targetPort (as a pod serves it)."""
        kind, _, name = ref.partition("/")
        if kind not in SERVICE_REFS:
            return self._forward_target(ref, remote, namespace)[2]
        svc = self.service(name, namespace)
        chosen = _service_port(svc, remote)
        target = chosen.get("targetPort", chosen["port"])
        if isinstance(target, int) or str(target).isdigit():
            return int(target)
        pods = self._selected_pods(svc, namespace)
        return _container_port(pods[0], target) if pods else chosen["port"]

    def _forward_target(self, ref: str, remote: int | str, namespace: str) -> tuple[str, str, int]:
        """(label naming the target, address, port) a forward relays to."""
        kind, _, name = ref.partition("/")
        if kind in SERVICE_REFS:
            svc = self.service(name, namespace)
            chosen = _service_port(svc, remote)
            spec = svc["spec"]
            if spec.get("type") == "ExternalName":
                raise EmukubeError(f"error: cannot forward to service {name} of type ExternalName")
            if spec.get("clusterIP") not in (None, "", "None"):
                return f"svc/{namespace}/{name}:{chosen['port']}", spec["clusterIP"], int(chosen["port"])
            pods = [p for p in self._selected_pods(svc, namespace) if p.ready]
            if not pods:
                raise EmukubeError(f"error: timed out waiting for the condition (no ready pod behind service {name})")
            port = _container_port(pods[0], chosen.get("targetPort", chosen["port"]))
            return f"pod/{namespace}/{pods[0].name}:{port}", pods[0].ip, port
        snap = self.snapshot()
        pod_name = self.pod_name(ref, namespace, snap)
        pod = next((p for p in snap.pods if p.name == pod_name and p.namespace == namespace), None)
        if pod is None:
            raise NotFound(f'Error from server (NotFound): pods "{pod_name}" not found')
        if not pod.ip or pod.phase != "Running":
            raise EmukubeError(f"error: unable to forward port because pod is not running. Current status={pod.phase}")
        port = _container_port(pod, remote)
        return f"pod/{namespace}/{pod_name}:{port}", pod.ip, port

    def _selected_pods(self, svc: dict, namespace: str) -> list[PodRow]:
        selector = svc["spec"].get("selector") or {}
        if not selector:
            return []
        return sorted(self.pods(selector, namespace), key=lambda p: (not p.ready, p.name))


SERVICE_REFS = ("svc", "service", "services")


def _service_port(svc: dict, remote: int | str) -> dict:
    """A Service port by number or name, in kubectl port-forward's words when there is none."""
    name = svc["metadata"]["name"]
    for p in svc["spec"].get("ports") or []:
        if str(p.get("port")) == str(remote) or (p.get("name") and p.get("name") == remote):
            return p
    if str(remote).isdigit():
        raise EmukubeError(f"error: Service {name} does not have a service port {remote}")
    raise EmukubeError(f"error: Service '{name}' does not have a named port '{remote}'")


def _container_port(pod: PodRow, port: int | str) -> int:
    if isinstance(port, int) or str(port).isdigit():
        return int(port)
    for port_name, number, _ in container_ports(pod.spec):
        if port_name == port:
            return number
    raise EmukubeError(f"error: Pod '{pod.name}' does not have a named port '{port}'")


def _pick_port(ports: list[dict], port, service: str) -> dict:
    if port is None:
        if not ports:
            raise EmukubeError(f"error: service {service} has no ports")
        return ports[0]
    for p in ports:
        if str(p.get("port")) == str(port) or p.get("name") == port:
            return p
    raise EmukubeError(f"error: service {service} has no port {port}")


def _selector(selector: str | dict | None) -> dict:
    if not selector:
        return {}
    if isinstance(selector, dict):
        return dict(selector)
    out = {}
    for part in selector.split(","):
        key, _, value = part.partition("=")
        out[key.strip()] = value.strip().lstrip("=")
    return out


__all__ = ["Cluster", "Change", "ExecResult", "unique_name"]
