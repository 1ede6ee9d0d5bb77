"""The Python API: one cluster, from manifests to curl-able Services. The CLI is a thin layer over it.

    from emukube import Cluster

    with Cluster.up("k8s/") as c:
        c.exec("deploy/web", ["curl", "-s", "backend"])

Leaving the `with` block (normally, on an exception or on Ctrl-C) removes the cluster.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from typing import Callable, Sequence

from . import cluster_ops as ops
from .errors import EmukubeError, NotFound
from .runtime import engine
from .runtime import labels as L
from .snapshot import PodRow, Snapshot

PathLike = "str | os.PathLike[str]"
OWNER_KINDS = {"deploy": "Deployment", "deployment": "Deployment", "deployments": "Deployment",
               "sts": "StatefulSet", "statefulset": "StatefulSet", "statefulsets": "StatefulSet",
               "rs": "ReplicaSet", "replicaset": "ReplicaSet", "replicasets": "ReplicaSet"}
DELETABLE = {"svc": "Service", "service": "Service", "services": "Service", **OWNER_KINDS,
             "cm": "ConfigMap", "configmap": "ConfigMap", "configmaps": "ConfigMap",
             "secret": "Secret", "secrets": "Secret", "ns": "Namespace", "namespace": "Namespace",
             "namespaces": "Namespace", "po": "Pod", "pod": "Pod", "pods": "Pod"}


@dataclass(frozen=True)
class Change:
    """One applied object and what applying it did, like kubectl's `service/web created`."""

    kind: str
    namespace: str
    name: str
    verb: str  # created | configured | unchanged

    def __str__(self) -> str:
        return f"{self.kind.lower()}/{self.name} {self.verb}"


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    stdout: str
    stderr: str


DEFAULT_SETTINGS = {"address": "127.0.0.1", "allow_privileged": False, "image_map": {}}


def unique_name(prefix: str = "ek") -> str:
    """A cluster name no other process on this machine picks at the same time (pytest-xdist)."""
    return f"{prefix}{os.getpid() % 100000:05d}{int(time.time() * 1000) % 100000:05d}"


def _without_timestamps(obj: dict) -> str:
    copy = json.loads(json.dumps(obj))
    copy.pop("status", None)
    copy.get("metadata", {}).pop("creationTimestamp", None)
    return json.dumps(copy, sort_keys=True)


class Cluster:
    """A handle on one emukube cluster (named like `emukube --cluster NAME`)."""

    def __init__(self, name: str = "emukube", *, images: dict[str, str] | None = None,
                 address: str | None = None, allow_privileged: bool | None = None, keep: bool = False):
        self.name = name
        # What this handle asks for; None = keep what the cluster has (or the safe default).
        requested = {"address": address, "allow_privileged": allow_privileged,
                     "image_map": dict(images) if images is not None else None}
        self._requested = {k: v for k, v in requested.items() if v is not None}
        self.settings = {**DEFAULT_SETTINGS, **self._requested}
        self.keep = keep
        self.warnings: list[str] = []  # one line per skipped document of the last apply
        self._client = None

    # -- life cycle -------------------------------------------------------------------------
    @classmethod
    def up(cls, *paths: PathLike, name: str | None = None, images: dict[str, str] | None = None,
           address: str | None = None, allow_privileged: bool | None = None, timeout: float = 180,
           wait: bool = True, keep: bool = False) -> "Cluster":
        """Create (or update) a cluster from files or directories and wait until it answers.
        If starting fails, whatever was made is removed again unless `keep`."""
        cluster = cls(name or unique_name(), images=images, address=address,
                      allow_privileged=allow_privileged, keep=keep)
        existed = cluster.exists()
        try:
            cluster.apply(*paths, wait=wait, timeout=timeout)
        except BaseException:
            if not existed and not keep:
                cluster.down()
            raise
        return cluster

    def __enter__(self) -> "Cluster":
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
        return ops.read_state(self.client, self.name).exists

    def load(self, *paths: PathLike, stdin=None) -> tuple[list[dict], list[str]]:
        """Validated, defaulted objects and warnings; raises ManifestError with every problem."""
        from .manifests import load_and_validate

        return load_and_validate([str(p) for p in paths], stdin=stdin,
                                 allow_privileged=bool(self.settings["allow_privileged"]))

    def apply(self, *paths: PathLike, objects: list[dict] | None = None, wait: bool = True,
              timeout: float = 180, stdin=None, progress: Callable[[dict], None] | None = None) -> list[Change]:
        """kubectl apply: validate everything, plan, then touch Docker. Nothing is created when
        any document is invalid."""
        client = self.client
        state = ops.read_state(client, self.name)
        if state.controller is not None:
            # Keep the settings the cluster was made with unless this handle says otherwise.
            self.settings = {**self.current_settings(state), **self._requested}
        if objects is None:
            objects, self.warnings = self.load(*paths, stdin=stdin)
        if not objects:
            raise EmukubeError("error: no objects passed to apply")
        net = state.net or ops.plan_network(client, self.name)
        planned = ops.plan_objects(client, state, net, ops.merge(state.objects, objects))
        if state.net is None:
            ops.create_network(client, net)
        before = {ops.object_key(o): o for o in state.objects}
        after = {ops.object_key(o): o for o in planned}
        changes = []
        for obj in objects:
            key = ops.object_key(obj)
            old = before.get(key)
            verb = "created" if old is None else \
                ("unchanged" if _without_timestamps(old) == _without_timestamps(after[key]) else "configured")
            changes.append(Change(key[0], key[1], key[2], verb))
        generation = ops.start_controller(client, state, net, planned, self.settings)
        if wait:
            ops.wait_converged(client, self.name, generation, timeout, progress)
        return changes

    def down(self) -> int:
        """Remove every container, volume and network with the cluster's label."""
        return ops.down(self.client, self.name)

    def current_settings(self, state=None) -> dict:
        state = state or ops.require(ops.read_state(self.client, self.name))
        env = dict(e.split("=", 1) for e in state.controller.attrs["Config"]["Env"] if "=" in e)
        return {"address": env.get("EMUKUBE_NODE_ADDRESS", DEFAULT_SETTINGS["address"]),
                "allow_privileged": env.get("EMUKUBE_ALLOW_PRIVILEGED") == "1",
                "image_map": json.loads(env.get("EMUKUBE_IMAGE_MAP") or "{}")}

    def _replace(self, objects: list[dict]) -> str:
        """A new desired state from edited objects (scale, delete): same settings as before."""
        state = ops.require(ops.read_state(self.client, self.name))
        return ops.start_controller(self.client, state, state.net, objects, self.current_settings(state))

    def wait_ready(self, timeout: float = 120, progress: Callable[[dict], None] | None = None) -> dict:
        """Until every pod is ready and every Service answers (raises WorkloadFailed)."""
        state = ops.require(ops.read_state(self.client, self.name))
        return ops.wait_converged(self.client, self.name, state.controller.labels.get(L.GENERATION),
                                  timeout, progress)

    # -- reading ----------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        return Snapshot(self.client, self.name)

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
        if kind in ("pod", "pods", "po"):
            return name
        owner_kind = OWNER_KINDS.get(kind)
        if owner_kind is None:
            raise EmukubeError(f'error: cannot use "{kind}" here; use POD, deploy/NAME or sts/NAME')
        snap = snap or self.snapshot()
        pods = [p for p in snap.pods if p.namespace == namespace and p.owner == f"{owner_kind}/{name}"
                and p.phase != "Terminating"]
        if not pods:
            raise NotFound(f'Error from server (NotFound): {kind} "{name}" has no pods')
        return sorted(pods, key=lambda p: (not p.ready, p.name))[0].name

    def container_of(self, pod: str, namespace: str = "default", container: str | None = None):
        """The Docker container running a pod's (named) container."""
        snap = self.snapshot()
        pod = self.pod_name(pod, namespace, snap)
        found = [c for c in engine.containers(self.client, self.name, **{"emukube.io/namespace": namespace,
                                                                          "emukube.io/name": pod})
                 if c.labels.get("emukube.io/role") in ("pod", "app")]
        if not found:
            raise NotFound(f'Error from server (NotFound): pods "{pod}" not found')
        if container:
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
        result = target.exec_run(list(cmd), demux=True)
        out, err = result.output if result.output else (b"", b"")
        return ExecResult(result.exit_code, (out or b"").decode(errors="replace"),
                          (err or b"").decode(errors="replace"))

    def logs(self, pod: str, namespace: str = "default", container: str | None = None,
             tail: int | None = None) -> str:
        kwargs = {"tail": tail} if tail is not None else {}
        return self.container_of(pod, namespace, container).logs(**kwargs).decode(errors="replace")

    # -- changing ---------------------------------------------------------------------------
    def scale(self, target: str, replicas: int, namespace: str = "default", wait: bool = False,
              timeout: float = 120) -> str:
        """deployment/NAME or statefulset/NAME to `replicas` pods; returns the new generation."""
        if replicas < 0:
            raise EmukubeError("error: --replicas must be >= 0")
        kind, _, name = target.partition("/")
        kind_name = OWNER_KINDS.get(kind)
        objects = json.loads(json.dumps(self.objects()))
        found = next((o for o in objects if o["kind"] == kind_name and o["metadata"]["name"] == name and
                      o["metadata"].get("namespace", "default") == namespace), None)
        if found is None:
            raise NotFound(f'Error from server (NotFound): {kind}s "{name}" not found')
        found["spec"]["replicas"] = replicas
        generation = self._replace(objects)
        if wait:
            ops.wait_converged(self.client, self.name, generation, timeout)
        return generation

    def delete_pod(self, name: str, namespace: str = "default") -> None:
        """Remove a pod's containers now; its Deployment or StatefulSet replaces it."""
        snap = self.snapshot()
        if not any(p.name == name and p.namespace == namespace for p in snap.pods):
            raise NotFound(f'Error from server (NotFound): pods "{name}" not found')
        declared = snap.find("Pod", name, namespace)
        for c in engine.containers(self.client, self.name, **{"emukube.io/namespace": namespace,
                                                               "emukube.io/name": name}):
            engine.remove(c, timeout=2)
        if declared is not None:
            self._replace([o for o in snap.objects if o is not declared])

    def delete(self, kind: str, name: str, namespace: str = "default") -> str:
        """Delete an applied object (svc, deploy, sts, cm, secret, ns, pod); returns its kind."""
        kind_name = DELETABLE.get(kind.lower())
        if kind_name is None:
            raise EmukubeError(f'error: the server doesn\'t have a resource type "{kind}"')
        if kind_name == "Pod":
            self.delete_pod(name, namespace)
            return kind_name
        objects = self.objects()
        ns = "" if kind_name == "Namespace" else namespace
        keep = [o for o in objects if ops.object_key(o) != (kind_name, ns, name)]
        if len(keep) == len(objects):
            raise NotFound(f'Error from server (NotFound): {kind_name.lower()}s "{name}" not found')
        self._replace(keep)
        return kind_name

    # -- reaching ---------------------------------------------------------------------------
    def url(self, service: str, port: int | str | None = None, namespace: str = "default",
            scheme: str = "http") -> str:
        """A URL the host can open for a Service port: its LoadBalancer address, else its
        NodePort on the node address. (ClusterIP Services: see `port_forward`.)"""
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
        raise EmukubeError(f"error: service {service} is {spec.get('type', 'ClusterIP')}: not reachable "
                           "from the host without a port-forward")


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
