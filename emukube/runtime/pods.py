"""Running a pod as Docker containers.

A single-container pod without init containers is one container: it holds the pod's address,
hostname and resolver itself (starting containers is the main cost of `up`). Anything else gets
a pause sandbox holding the network namespace, which init and app containers join, so they
reach each other on localhost exactly as in a Kubernetes pod.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from docker.errors import DockerException
from docker.models.containers import Container
from docker.types import Mount

from ..k8s.times import timestamp
from ..plan import config_volumes as cv
from ..plan import image_map
from ..plan.api_access import account_of, automounts, is_api_access
from ..plan.endpoints import apiserver_env, service_env
from ..plan.hooks import pod_ref
from ..plan.network import ClusterNet
from ..plan.nodes import plan_nodes
from ..plan.pod_dns import policy_kind
from ..plan.workloads import PodPlan
from . import engine
from . import labels as L
from .account_volumes import account_mount
from .clusters import has_image
from .config_volumes import ConfigVolumes, config_mounts
from .dns_paths import resolv_conf_source
from .hooks import PostStartListener, post_start
from .log_paths import init_log_path
from .machine import allocatable
from .podspec import Refs, command_and_args, container_env, host_port_bindings, resources, search_domains, volume_files
from .security import RunsAsRoot, security_options, user_options
from .settings import Settings
from .volume_owner import own_volumes
from .volumes import MountError, container_mounts


@dataclass
class Context:
    """What every runtime call needs to know about the cluster."""

    cluster: str
    net: ClusterNet
    images: dict[str, str] = field(default_factory=dict)  # role -> image reference
    image_map: dict[str, str] = field(default_factory=dict)  # user image -> replacement
    node_address: str = "127.0.0.1"
    allow_privileged: bool = False
    nodes: int = 1  # emulated nodes (`--nodes`)
    # (namespace, service account) -> files of the token volume; None: pods get no token
    service_account: Callable[[str, str], dict[str, tuple[bytes, int]]] | None = None
    config_volumes: ConfigVolumes | None = None  # in the controller: configMap/secret volumes kept current
    # in the controller: where service-account volumes are written, as it and as the engine's host see it
    account_dirs: tuple[str, str] | None = None
    # in the controller: where proxies' configs are written, as it and as the engine's host see it
    proxy_dirs: tuple[str, str] | None = None
    post_start: PostStartListener | None = None  # in the controller: postStart hooks running and failing
    # in the controller: (namespace, pod, init container, its end) once one completed
    init_ended: Callable[[str, str, str, dict], None] | None = None
    # in the controller: (namespace, pod, image, stand-in) once a pod runs a stand-in for an image
    # that could not be pulled (runtime/images.py STAND_INS)
    stood_in: Callable[[str, str, str, str], None] | None = None


def context_from_env(env: Mapping[str, str]) -> Context:
    """The Context a controller container runs with, from its environment."""
    return context_of(Settings.from_env(env))


def context_of(given: Settings) -> Context:
    """The Context of a cluster with these settings (read back from its controller's environment
    on the host: Settings.of_container)."""
    return Context(cluster=given.cluster, net=ClusterNet.from_subnet(given.cluster, given.subnet),
                   images=given.images, image_map=given.image_map, node_address=given.node_address,
                   allow_privileged=given.allow_privileged, nodes=given.nodes)


def node_ip(ctx: Context, node: str) -> str:
    """A node's in-cluster address, its INTERNAL-IP (its node proxy's)."""
    return next((n.internal_ip for n in plan_nodes(ctx.net, ctx.nodes, []) if n.name == node), "")


def host_addresses(ctx: Context, node: str) -> list[str]:
    """Where a node's host ports are opened on the host: its host address. At its INTERNAL-IP
    the node proxy serves them to pods (runtime/node_proxies.py)."""
    return [n.host_ip for n in plan_nodes(ctx.net, ctx.nodes, [], ctx.node_address) if n.name == node]


class PodStartError(Exception):
    """The pod could not be started (missing image, config, failing init container). reason is
    the kubelet's word for it (ErrImagePull, ErrImageNeverPull, CreateContainerConfigError,
    Error for an init container that failed), container the one it is about, image its image,
    ended an init container's end (exitCode, times, its timestamped output as "log")."""

    def __init__(self, message: str, reason: str = "", container: str = "", init: bool = False,
                 image: str = "", ended: dict | None = None):
        super().__init__(f"{reason}: {message}" if reason else message)
        self.message, self.reason, self.container, self.init = message, reason, container, init
        self.image, self.ended = image, ended or {}


def run_container_error(exc: DockerException, container: str, init: bool = False) -> PodStartError | None:
    """A container its runtime could not start (a command not found, a working directory that is
    a file, ...) as the kubelet reports one over containerd: RunContainerError, and an end with
    exit code 128 and reason StartError; None for another refusal of the engine."""
    why = getattr(exc, "explanation", None) or ""
    why = why.decode(errors="replace") if isinstance(why, bytes) else str(why)
    if "OCI runtime" not in why:
        return None
    message = f"failed to create containerd task: {why.strip()}"
    ended = {"exitCode": 128, "reason": "StartError", "message": message,
             "startedAt": "1970-01-01T00:00:00Z", "finishedAt": timestamp(time.time())}
    return PodStartError(message, "RunContainerError", container, init, ended=ended)


def container_name(cluster: str, namespace: str, pod: str, container: str | None = None) -> str:
    # Underscores cannot appear in Kubernetes names, so no container name can ever shadow a
    # cluster DNS name in Docker's embedded resolver.
    base = f"{cluster}_pod_{namespace}_{pod}"
    return f"{base}_{container}" if container else base


def _labels(ctx: Context, pod: PodPlan, role: L.Role, container: str = "") -> dict[str, str]:
    labels = {
        L.CLUSTER: ctx.cluster, L.ROLE: role, L.NAMESPACE: pod.namespace, L.NAME: pod.name,
        L.OWNER: f"{pod.owner_kind}/{pod.owner_name}" if pod.owner_kind else "",
        L.TEMPLATE_HASH: pod.template_hash, L.CONTAINER: container, L.NODE: pod.node,
    }
    if pod.ordinal is not None:
        labels[L.ORDINAL] = str(pod.ordinal)
    if pod.planned:
        labels[L.PLANNED] = f"{pod.planned:.3f}"
    if pod.uid:
        labels[L.UID] = pod.uid
    if role in L.ROLES_POD:
        labels[L.POD_SPEC] = json.dumps(pod.spec, sort_keys=True, separators=(",", ":"))
        labels.update({L.POD_LABEL + k: str(v) for k, v in pod.labels.items()})
    return labels


def ensure_image(client, image: str, policy: str) -> None:
    """A present image is never pulled with IfNotPresent or Never; Always tries, and falls back
    to a present copy when no registry answers (emukube's machines often have none)."""
    present = has_image(client, image)
    if present and policy != "Always":
        return
    if policy == "Never" and not present:
        raise PodStartError(f'Container image "{image}" is not present with pull policy of Never',
                            "ErrImageNeverPull", image=image)
    try:
        client.images.pull(image)
    except DockerException as exc:
        if not present:
            why = " ".join(str(getattr(exc, "explanation", None) or exc).split())
            raise PodStartError(f'Failed to pull image "{image}": {why}', "ErrImagePull", image=image) from None


def _image(client, ctx: Context, pod: PodPlan, c: dict, init: bool) -> str:
    """The image the container runs: the image map's, present or pulled; a stand-in when that
    could not be pulled and emukube has one (runtime/images.py STAND_INS)."""
    image = image_map.swap(c["image"], ctx.image_map)
    try:
        ensure_image(client, image, c.get("imagePullPolicy", "IfNotPresent"))
    except PodStartError as exc:
        stand_in = ctx.images.get(image_map.stand_in_key(image)) if exc.reason == "ErrImagePull" else None
        if stand_in is None or not has_image(client, stand_in):
            exc.container, exc.init = c["name"], init
            raise
        if ctx.stood_in is not None:
            ctx.stood_in(pod.namespace, pod.name, image, stand_in)
        return stand_in
    return image


def _mounts(ctx: Context, pod: PodPlan, container: dict, client, env: dict[str, str],
            objects: list[dict]) -> tuple[list[Mount], list[str]]:
    """(mounts, binds): its volumes' (runtime/volumes.py) and the resolver's."""
    try:
        mounts, binds = container_mounts(client, ctx, pod, container, env, objects)
    except MountError as exc:
        raise PodStartError(str(exc), "CreateContainerConfigError", container["name"]) from None
    mounts.append(Mount(target="/etc/resolv.conf", type="bind", read_only=True,
                        source=resolv_conf_source(client, ctx.cluster, pod.namespace, pod.spec)))
    return mounts, binds


def _create_container(client, ctx: Context, pod: PodPlan, c: dict, name: str, role: L.Role, ip: str,
                      objects: list[dict], net_args: dict, sandbox_id: str | None,
                      ports: dict | None = None, pid_from: str = "") -> Container:  # pid_from: see start_ephemeral
    refs = Refs(objects)
    services = [o for o in objects if o.get("kind") == "Service"]
    missing: list[str] = []
    links = service_env(services, pod.namespace) if pod.spec.get("enableServiceLinks") is not False else {}
    env = container_env(c, pod.name, pod.namespace, ip, refs, {**apiserver_env(services), **links}, missing,
                        node=(pod.node, node_ip(ctx, pod.node)), meta=pod.metadata, account=account_of(pod.spec))
    token, token_mounts = _service_account(ctx, pod, c, objects)
    files = {**token, **_volume_files(ctx, pod, c, refs, missing)}
    if missing:
        raise PodStartError("; ".join(missing), "CreateContainerConfigError", c["name"], role == L.Role.INIT)
    image = _image(client, ctx, pod, c, role == L.Role.INIT)
    command, args = command_and_args(c, env)
    try:
        users = user_options(pod.spec, c, _image_user(client, image))
    except RunsAsRoot as exc:
        raise PodStartError(f"{exc} (pod: \"{pod.name}_{pod.namespace}\", container: {c['name']})",
                            "CreateContainerConfigError", c["name"], role == L.Role.INIT) from None
    mounts, binds = _mounts(ctx, pod, c, client, env, objects)
    mounts += token_mounts
    host_config = dict(
        # The controller restarts containers (restartPolicy, CrashLoopBackOff, RESTARTS): see
        # controller/restarts.py. Docker restarting them would hide crashes and pace them wrongly.
        restart_policy={"Name": "no"},
        mounts=mounts + config_mounts(ctx.config_volumes, pod.namespace, pod.name, pod.spec, c, objects, pod.metadata),
        binds=binds,
        init=False,
        **({"pid_mode": f"container:{pid_from}"} if pid_from else {}),
        **security_options(pod.spec, c, ctx.allow_privileged),
        **resources(c),
    )
    config: dict[str, Any] = dict(environment=env, labels=_labels(ctx, pod, role, c["name"]),
                                  working_dir=c.get("workingDir"), entrypoint=command, command=args,
                                  tty=bool(c.get("tty")), stdin_open=bool(c.get("stdin")))
    host_config.update({k: v for k, v in users.items() if k == "group_add"})
    config.update({k: v for k, v in users.items() if k == "user"})
    if sandbox_id:
        host_config["network_mode"] = f"container:{sandbox_id}"
        container = engine.create(client, name, image, host_config=host_config, **config)
    else:
        host_config.update(net_args)
        container = engine.create(client, name, image, network=ctx.net.network_name, ip=ip, ports=ports,
                                  host_config=host_config, hostname=pod.hostname,
                                  domainname=_domain(pod), **config)
    try:
        own_volumes(client, ctx.images.get("haproxy", ""), ctx.cluster, pod.spec, host_config["mounts"])
        if files:
            engine.put_files(container, files)
    except DockerException:
        engine.remove(container)  # not left behind under the pod's name for the next try
        raise
    return container


def _volume_files(ctx: Context, pod: PodPlan, c: dict, refs: Refs, missing: list[str]) -> dict:
    """The container's volume files to copy in: all of them, or in the controller, which keeps
    the others live (config_volumes.py), those mounted by subPath."""
    if ctx.config_volumes is not None:
        side = ctx.config_volumes.side(pod.namespace, pod.name, pod.spec, pod.metadata)
    else:
        side = cv.PodSide({**pod.metadata, "name": pod.name, "namespace": pod.namespace}, allocatable())
    return volume_files(pod.spec, c, pod.namespace, refs, missing, side, whole=ctx.config_volumes is None)


def _image_user(client, image: str) -> str:
    try:
        return (client.images.get(image).attrs.get("Config") or {}).get("User") or ""
    except DockerException:
        return ""


def _token_files(ctx: Context, pod: PodPlan, objects: list[dict]) -> dict[str, tuple[bytes, int]]:
    """The service-account volume (token, ca.crt, namespace) client libraries' in-cluster
    configuration reads, unless the pod or its ServiceAccount opts out."""
    name = account_of(pod.spec)
    account = next((o for o in objects if o.get("kind") == "ServiceAccount" and o["metadata"]["name"] == name
                    and o["metadata"].get("namespace") == pod.namespace), None)
    if ctx.service_account is None or not automounts(pod.spec, account):
        return {}
    return ctx.service_account(pod.namespace, name)


def _service_account(ctx: Context, pod: PodPlan, container: dict,
                     objects: list[dict]) -> tuple[dict[str, tuple[bytes, int]], list]:
    """(files to copy into the container, mounts): its service-account volume, bind-mounted
    where it can be (runtime/account_volumes.py). It serves the kube-api-access volume too, so
    that volume's own mount of the same path is no clash."""
    token = _token_files(ctx, pod, objects)
    access = {v["name"] for v in pod.spec.get("volumes") or [] if is_api_access(v)}
    own = {**container, "volumeMounts": [m for m in container.get("volumeMounts") or [] if m.get("name") not in access]}
    mount = account_mount(ctx.account_dirs, pod.namespace, account_of(pod.spec), token, own) if token else None
    return ({}, [mount]) if mount is not None else (token, [])


def _domain(pod: PodPlan) -> str | None:
    # With a domain name Docker writes "ip host.sub.ns.svc.cluster.local host" into /etc/hosts,
    # which is where Kubernetes puts a pod's own FQDN.
    return f"{pod.subdomain}.{pod.namespace}.svc.cluster.local" if pod.subdomain else None


def pod_net_args(ctx: Context, pod: PodPlan) -> dict:
    """The resolver settings of the container holding the pod's network."""
    if policy_kind(pod.spec) == "host":  # Docker's resolver, which the file names, asks the host's
        return {}
    return dict(dns=[ctx.net.dns_ip], dns_search=search_domains(pod.namespace), dns_opt=["ndots:5"])


def create_pod(client, ctx: Context, pod: PodPlan, ip: str, objects: list[dict], start: bool = True) -> list:
    """Create and start every container of the pod at address ip; returns them. start=False
    leaves the app containers created, for a caller that attaches first. Raises PodStartError."""
    net_args = pod_net_args(ctx, pod)
    containers = pod.spec.get("containers") or []
    inits = pod.spec.get("initContainers") or []
    ports = host_port_bindings(pod.spec, host_addresses(ctx, pod.node or "node-1"))
    started = []
    try:
        sandbox_id = None
        if len(containers) != 1 or inits:
            sandbox = engine.create(
                client, container_name(ctx.cluster, pod.namespace, pod.name), ctx.images["pause"],
                network=ctx.net.network_name, ip=ip, hostname=pod.hostname, domainname=_domain(pod),
                labels=_labels(ctx, pod, L.Role.SANDBOX), ports=ports,
                host_config=dict(restart_policy={"Name": "always"}, **net_args, binds={
                    resolv_conf_source(client, ctx.cluster, pod.namespace, pod.spec):
                        {"bind": "/etc/resolv.conf", "mode": "ro"}}),
            )
            sandbox.start()
            started.append(sandbox)
            sandbox_id = sandbox.id
            for c in inits:
                _run_init(client, ctx, pod, c, ip, objects, sandbox_id, started)
        for c in containers:
            single = sandbox_id is None
            name = container_name(ctx.cluster, pod.namespace, pod.name, None if single else c["name"])
            started.append(_create_container(client, ctx, pod, c, name, L.Role.POD if single else L.Role.APP, ip,
                                             objects, net_args, sandbox_id, ports if single else None))
        for container in started:
            if start and container.status == "created":
                try:
                    post_start(container, pod.spec, pod_ref(pod.name, pod.namespace), ip, ctx.post_start)
                except DockerException as exc:
                    raise run_container_error(exc, container.labels.get(L.CONTAINER, "")) or exc from None
    except (PodStartError, DockerException) as exc:
        for container in started:
            engine.remove(container)
        _remove_leftovers(client, ctx, pod)
        if isinstance(exc, PodStartError):
            raise
        raise PodStartError(" ".join(str(exc).split())) from None
    return started


def start_ephemeral(client, ctx: Context, pod: PodPlan, c: dict, ip: str, objects: list[dict], holder_id: str,
                    target_id: str = "") -> Container:
    """Create and start an ephemeral container (kubectl debug) in the running pod's network, and
    in its target container's process namespace when it names one. Raises PodStartError."""
    name = container_name(ctx.cluster, pod.namespace, pod.name, f"ephemeral-{c['name']}")
    try:
        container = _create_container(client, ctx, pod, c, name, L.Role.EPHEMERAL, ip, objects, {}, holder_id,
                                      pid_from=target_id)
        container.start()
    except DockerException as exc:
        left = engine.get_container(client, name)
        if left is not None and left.labels.get(L.CLUSTER) == ctx.cluster:
            engine.remove(left)
        raise PodStartError(" ".join(str(exc).split()), container=c["name"]) from None
    return container


def _remove_leftovers(client, ctx: Context, pod: PodPlan) -> None:
    """The pod's containers a failed attempt made but does not hold: one created while its client
    timed out (a loaded engine), or a sandbox whose start failed. Left, each later attempt would
    meet its name (409 Conflict) forever."""
    names = [container_name(ctx.cluster, pod.namespace, pod.name)]
    names += [container_name(ctx.cluster, pod.namespace, pod.name, c["name"]) for c in pod.spec.get("containers") or []]
    names += [container_name(ctx.cluster, pod.namespace, pod.name, f"init-{c['name']}")
              for c in pod.spec.get("initContainers") or []]
    for name in names:
        try:
            left = engine.get_container(client, name)
            if left is not None and left.labels.get(L.CLUSTER) == ctx.cluster:
                engine.remove(left)
        except DockerException:  # the engine still busy: the next attempt's sweep tries again
            pass


def _run_init(client, ctx, pod, c, ip, objects, sandbox_id, started) -> None:
    name = container_name(ctx.cluster, pod.namespace, pod.name, f"init-{c['name']}")
    container = _create_container(client, ctx, pod, c, name, L.Role.INIT, ip, objects, {}, sandbox_id)
    if c.get("restartPolicy") == "Always":  # a sidecar: it runs beside the app containers
        container.start()
        container.reload()
        started.append(container)
        return
    code = 1
    try:
        try:
            container.start()
        except DockerException as exc:
            raise run_container_error(exc, c["name"], init=True) or exc from None
        code = container.wait(timeout=600).get("StatusCode", 1)
    finally:
        container.reload()
        ended = {"exitCode": code, "log": container.logs(timestamps=True),
                 "startedAt": container.attrs["State"].get("StartedAt", ""),
                 "finishedAt": container.attrs["State"].get("FinishedAt", "")}
        _keep_init_log(client, sandbox_id, c["name"], container)
        engine.remove(container)
    if code != 0:
        raise PodStartError(f"init container {c['name']} exited with {code}", "Error", c["name"], True, ended=ended)
    if ctx.init_ended is not None:
        ctx.init_ended(pod.namespace, pod.name, c["name"], {k: v for k, v in ended.items() if k != "log"})


def _keep_init_log(client, sandbox_id: str, name: str, container) -> None:
    try:
        output = container.logs(timestamps=True)
        client.api.put_archive(sandbox_id, "/", engine.tar_of({init_log_path(name): (output, 0o644)}))
    except DockerException:
        pass  # the output is a convenience; the pod starts without it

