"""Pod spec validation, for Pods and for the pod templates of workloads."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable

from .fielderrors import FieldErrors
from .names import is_dns1123_label, is_env_var_name, is_valid_port_name, is_valid_port_num
from .text import go_quote
from .validate_container import ALLOW_HINT, container_resources, container_security, env_source, pod_security
from .validate_service import PROTOCOLS, validate_port_num_or_name

DOCKER_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")
PULL_POLICIES = ["Always", "IfNotPresent", "Never"]
RESTART_POLICIES = ["Always", "OnFailure", "Never"]
HOST_PATH_TYPES = ["", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate",
                   "Socket"]
VOLUME_SOURCES = (
    "hostPath", "emptyDir", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "secret", "nfs", "iscsi",
    "glusterfs", "persistentVolumeClaim", "rbd", "flexVolume", "cinder", "cephfs", "flocker", "downwardAPI",
    "fc", "azureFile", "configMap", "vsphereVolume", "quobyte", "azureDisk", "photonPersistentDisk",
    "projected", "portworxVolume", "scaleIO", "storageos", "csi", "ephemeral", "image",
)
PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
PROBE_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")
LIFECYCLE_HANDLERS = ("exec", "httpGet", "tcpSocket", "sleep")
NONNEGATIVE = "must be greater than or equal to 0"
FILE_MODE = "must be a number between 0 and 0777 (octal), both inclusive"


def validate_pod_spec(spec: dict, path: str, errs: FieldErrors, allow_privileged: bool,
                      template: bool = False, claim_templates: frozenset[str] = frozenset()) -> None:
    volumes = _volumes(spec, path, errs, allow_privileged) | claim_templates
    lists = {field: errs.get_list(spec, field, path) for field in ("containers", "initContainers")}
    if not lists["containers"] and isinstance(spec.get("containers") or [], list):
        errs.required(f"{path}.containers")
    names: set[str] = set()
    port_names: set[str] = set()
    for field, init in (("containers", False), ("initContainers", True)):
        cpath = f"{path}.{field}"
        for i, c in errs.maps_in(lists[field], cpath):
            name = _container(c, f"{cpath}[{i}]", volumes, port_names, errs, allow_privileged, init)
            if name and name in names:
                errs.duplicate(f"{cpath}[{i}].name", name)
            names.add(name)

    restart = errs.get_str(spec, "restartPolicy", path)
    if template and restart and restart != "Always":
        errs.not_supported(f"{path}.restartPolicy", restart, ["Always"])
    elif restart and restart not in RESTART_POLICIES:
        errs.not_supported(f"{path}.restartPolicy", restart, RESTART_POLICIES)
    grace = errs.get_int(spec, "terminationGracePeriodSeconds", path)
    if grace is not None and grace < 0:
        errs.invalid(f"{path}.terminationGracePeriodSeconds", grace, NONNEGATIVE)
    for field in ("hostname", "subdomain"):
        value = errs.get_str(spec, field, path)
        if value:
            errs.invalid_each(f"{path}.{field}", value, is_dns1123_label(value))
    for field, what in (("hostNetwork", "network"), ("hostPID", "process"), ("hostIPC", "IPC")):
        if errs.get_bool(spec, field, path) and not allow_privileged:
            errs.forbidden(f"{path}.{field}", f"sharing the host's {what} namespace is refused by default "
                                              f"{ALLOW_HINT}")
    pod_security(errs.get_map(spec, "securityContext", path), f"{path}.securityContext", errs, allow_privileged)


def _container(c: dict, cp: str, volumes: set[str], port_names: set[str], errs: FieldErrors,
               allow_privileged: bool, init: bool) -> str:
    name = errs.get_name(c, cp, is_dns1123_label)
    image = errs.get_str(c, "image", cp)
    if not image:
        errs.required(f"{cp}.image")
    elif image != image.strip():
        errs.invalid(f"{cp}.image", image, "must not have leading or trailing whitespace")
    for field in ("command", "args"):
        for j, word in enumerate(errs.get_list(c, field, cp)):
            if not isinstance(word, str):
                errs.invalid(f"{cp}.{field}[{j}]", word, "must be a string")
    pull = errs.get_str(c, "imagePullPolicy", cp)
    if pull and pull not in PULL_POLICIES:
        errs.not_supported(f"{cp}.imagePullPolicy", pull, PULL_POLICIES)

    _ports(c, cp, port_names, errs)
    _env(c, cp, errs)
    _mounts(c, cp, volumes, errs)
    sidecar = init and c.get("restartPolicy") == "Always"
    for probe in PROBES:
        if c.get(probe) is None:
            continue
        if init and not sidecar:
            errs.forbidden(f"{cp}.{probe}", "may not be set for init containers without restartPolicy=Always")
            continue
        _probe(errs.get_map(c, probe, cp), f"{cp}.{probe}", probe != "readinessProbe", errs)
    lifecycle = errs.get_map(c, "lifecycle", cp)
    for hook in ("postStart", "preStop"):
        if lifecycle.get(hook) is not None:
            hp = f"{cp}.lifecycle.{hook}"
            _handler(errs.get_map(lifecycle, hook, f"{cp}.lifecycle"), hp, LIFECYCLE_HANDLERS, errs)

    security = errs.get_map(c, "securityContext", cp)
    if errs.get_bool(security, "privileged", f"{cp}.securityContext") and not allow_privileged:
        errs.forbidden(f"{cp}.securityContext.privileged", "privileged containers are refused by default: "
                                                            f"they control the whole host {ALLOW_HINT}")
    container_security(security, f"{cp}.securityContext", errs, allow_privileged)
    container_resources(c, cp, errs)
    return name


def _ports(c: dict, cp: str, port_names: set[str], errs: FieldErrors) -> None:
    for i, p in errs.maps_in(errs.get_list(c, "ports", cp), f"{cp}.ports"):
        pp = f"{cp}.ports[{i}]"
        name = errs.get_str(p, "name", pp)
        if name:
            bad = is_valid_port_name(name)
            errs.invalid_each(f"{pp}.name", name, bad)
            if not bad and name in port_names:
                errs.duplicate(f"{pp}.name", name)
            port_names.add(name)
        port = errs.get_int(p, "containerPort", pp)
        if not port and (port is not None or p.get("containerPort") is None):
            errs.required(f"{pp}.containerPort")
        elif port:
            errs.invalid_each(f"{pp}.containerPort", port, is_valid_port_num(port))
        host_port = errs.get_int(p, "hostPort", pp)
        if host_port:
            errs.invalid_each(f"{pp}.hostPort", host_port, is_valid_port_num(host_port))
        protocol = errs.get_str(p, "protocol", pp)
        if protocol and protocol not in PROTOCOLS:
            errs.not_supported(f"{pp}.protocol", protocol, PROTOCOLS)


def _env(c: dict, cp: str, errs: FieldErrors) -> None:
    for i, e in errs.maps_in(errs.get_list(c, "env", cp), f"{cp}.env"):
        ep = f"{cp}.env[{i}]"
        errs.get_name(e, ep, is_env_var_name)
        value = errs.get_str(e, "value", ep)
        if e.get("valueFrom") is None:
            continue
        source = errs.get_map(e, "valueFrom", ep)
        kinds = [k for k in ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef")
                 if source.get(k) is not None]
        if not kinds:
            errs.invalid(f"{ep}.valueFrom", "", "must specify one of: `fieldRef`, `resourceFieldRef`, "
                                                "`configMapKeyRef` or `secretKeyRef`")
        elif value:
            errs.invalid(f"{ep}.valueFrom", "", "may not be specified when `value` is not empty")
        elif len(kinds) > 1:
            errs.invalid(f"{ep}.valueFrom", "", "may not have more than one field specified at a time")
        for k in kinds:
            env_source(k, source[k], f"{ep}.valueFrom.{k}", errs)
    for i, e in errs.maps_in(errs.get_list(c, "envFrom", cp), f"{cp}.envFrom"):
        prefix = errs.get_str(e, "prefix", f"{cp}.envFrom[{i}]")
        if prefix:
            errs.invalid_each(f"{cp}.envFrom[{i}].prefix", prefix, is_env_var_name(prefix))
        for k in ("configMapRef", "secretRef"):
            if e.get(k) is not None:
                env_source(k, e[k], f"{cp}.envFrom[{i}].{k}", errs)
        count = sum(e.get(k) is not None for k in ("configMapRef", "secretRef"))
        if count == 0:
            errs.invalid(f"{cp}.envFrom", "", "must specify one of: `configMapRef` or `secretRef`")
        elif count > 1:
            errs.invalid(f"{cp}.envFrom", "", "may not have more than one field specified at a time")


def _mounts(c: dict, cp: str, volumes: set[str], errs: FieldErrors) -> None:
    mount_points: set[str] = set()
    for i, m in errs.maps_in(errs.get_list(c, "volumeMounts", cp), f"{cp}.volumeMounts"):
        mp = f"{cp}.volumeMounts[{i}]"
        name = errs.get_str(m, "name", mp)
        if not name:
            errs.required(f"{mp}.name")
        if name not in volumes:
            errs.not_found(f"{mp}.name", name)
        path = errs.get_str(m, "mountPath", mp)
        if not path:
            errs.required(f"{mp}.mountPath")
        elif not path.startswith("/"):
            errs.invalid(f"{mp}.mountPath", path, "must be an absolute path")
        if path and path in mount_points:
            errs.invalid(f"{mp}.mountPath", path, "must be unique")
        mount_points.add(path)
        sub_path = errs.get_str(m, "subPath", mp)
        if sub_path:
            _local_descending_path(sub_path, f"{mp}.subPath", errs)
        sub_path_expr = errs.get_str(m, "subPathExpr", mp)
        if sub_path_expr:
            if sub_path:
                errs.invalid(f"{mp}.subPathExpr", sub_path_expr, "subPathExpr and subPath are mutually exclusive")
            _local_descending_path(sub_path_expr, f"{mp}.subPathExpr", errs)


def _probe(probe: dict, pp: str, single_success: bool, errs: FieldErrors) -> None:
    _handler(probe, pp, PROBE_HANDLERS, errs)
    for field in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"):
        value = errs.get_int(probe, field, pp)
        if value is not None and value < 0:
            errs.invalid(f"{pp}.{field}", value, NONNEGATIVE)
    success = errs.get_int(probe, "successThreshold", pp)
    if single_success and success not in (None, 0, 1):
        errs.invalid(f"{pp}.successThreshold", success, "must be 1")


def _exactly_one(obj: dict, keys: tuple[str, ...], path: str, what: str, errs: FieldErrors,
                 check: Callable[[str], None]) -> None:
    """A union field (probe handler, volume source): check(key) for the one set, and the API
    server's errors, in its order, for none or more than one."""
    found = False
    for key in keys:
        if obj.get(key) is None:
            continue
        if found:
            errs.forbidden(f"{path}.{key}", f"may not specify more than 1 {what}")
            continue
        found = True
        check(key)
    if not found:
        errs.required(path, f"must specify a {what}")


def _handler(handler: dict, hp: str, allowed: tuple[str, ...], errs: FieldErrors) -> None:
    _exactly_one(handler, allowed, hp, "handler type", errs, lambda key: _action(handler, key, hp, errs))


def _action(handler: dict, key: str, hp: str, errs: FieldErrors) -> None:
    """The one handler of a probe or lifecycle hook."""
    action = errs.get_map(handler, key, hp)
    ap = f"{hp}.{key}"
    if key == "exec" and not errs.get_list(action, "command", ap):
        errs.required(f"{ap}.command")
    elif key in ("httpGet", "tcpSocket"):
        validate_port_num_or_name(errs, errs.get_int_or_str(action, "port", ap), f"{ap}.port")
        scheme = errs.get_str(action, "scheme", ap) if key == "httpGet" else ""
        if scheme and scheme not in ("HTTP", "HTTPS"):
            errs.not_supported(f"{ap}.scheme", scheme, ["HTTP", "HTTPS"])
    elif key == "grpc":
        port = errs.get_int(action, "port", ap)
        errs.invalid_each(f"{ap}.port", port or 0, is_valid_port_num(port or 0))
    elif key == "sleep":
        seconds = errs.get_int(action, "seconds", ap)
        if seconds is not None and seconds < 0:
            errs.invalid(f"{ap}.seconds", seconds, NONNEGATIVE)


def _volumes(spec: dict, path: str, errs: FieldErrors, allow_privileged: bool) -> set[str]:
    names: set[str] = set()
    for i, v in errs.maps_in(errs.get_list(spec, "volumes", path), f"{path}.volumes"):
        vp = f"{path}.volumes[{i}]"
        name = errs.get_name(v, vp, is_dns1123_label)
        if name:
            if name in names:
                errs.duplicate(f"{vp}.name", name)
            names.add(name)
        if all(value is None for key, value in v.items() if key != "name"):
            continue  # defaulted to an emptyDir (SetDefaults_Volume), as the API server decodes it
        _exactly_one(v, VOLUME_SOURCES, vp, "volume type", errs, lambda key: _volume_source(
            key, errs.get_map(v, key, vp), f"{vp}.{key}", errs, allow_privileged))
    return names


def _volume_source(key: str, src: dict, sp: str, errs: FieldErrors, allow_privileged: bool) -> None:
    if key == "hostPath":
        _host_path(src, sp, errs, allow_privileged)
    elif key in ("configMap", "secret"):
        ref = "name" if key == "configMap" else "secretName"
        if not errs.get_str(src, ref, sp):
            errs.required(f"{sp}.{ref}")
        mode = errs.get_int(src, "defaultMode", sp)
        if mode is not None and not 0 <= mode <= 0o777:
            errs.invalid(f"{sp}.defaultMode", mode, FILE_MODE)
        for i, item in errs.maps_in(errs.get_list(src, "items", sp), f"{sp}.items"):
            ip = f"{sp}.items[{i}]"
            if not errs.get_str(item, "key", ip):
                errs.required(f"{ip}.key")
            target = errs.get_str(item, "path", ip)
            if not target:
                errs.required(f"{ip}.path")
            _local_descending_path(target, f"{ip}.path", errs)
            if len(target) > 1 and target.startswith(".."):
                errs.invalid(f"{ip}.path", target, "must not start with '..'")
            mode = errs.get_int(item, "mode", ip)
            if mode is not None and not 0 <= mode <= 0o777:
                errs.invalid(f"{ip}.mode", mode, FILE_MODE)
    elif key == "persistentVolumeClaim" and not errs.get_str(src, "claimName", sp):
        errs.required(f"{sp}.claimName")


def _local_descending_path(target: str, fp: str, errs: FieldErrors) -> None:
    if target.startswith("/"):
        errs.invalid(fp, target, "must be a relative path")
    if ".." in target.split("/"):
        errs.invalid(fp, target, "must not contain '..'")


def _host_path(src: dict, sp: str, errs: FieldErrors, allow_privileged: bool) -> None:
    path = errs.get_str(src, "path", sp)
    if not path:
        errs.required(f"{sp}.path")
        return
    if not path.startswith("/"):
        errs.invalid(f"{sp}.path", path, "must be an absolute path")
    if ".." in path.split("/"):
        errs.invalid(f"{sp}.path", path, "must not contain '..'")
    kind = errs.get_str(src, "type", sp)
    if kind not in HOST_PATH_TYPES:
        errs.not_supported(f"{sp}.type", kind, HOST_PATH_TYPES)
    socket = docker_socket_under(path)
    if socket and not allow_privileged:
        what = "is the Docker socket" if _norm(path) == socket else f"contains the Docker socket {socket}"
        errs.forbidden(f"{sp}.path", f"{what}, which gives control of the whole host {ALLOW_HINT}")


def docker_socket_under(path: str) -> str | None:
    """The Docker socket that mounting `path` would expose (the socket itself or any parent)."""
    norm = _norm(path)
    for socket in DOCKER_SOCKETS:
        if norm == socket or socket.startswith(norm.rstrip("/") + "/"):
            return socket
    return None


def _norm(path: str) -> str:
    return posixpath.normpath(re.sub("/+", "/", path))


# What an ephemeral container may not have: it is never restarted, probed, served or sized.
EPHEMERAL_FORBIDDEN = ("lifecycle", "livenessProbe", "ports", "readinessProbe", "resizePolicy", "resources",
                       "restartPolicy", "startupProbe")


def validate_ephemeral_containers(spec: dict, wanted: object, allow_privileged: bool) -> list[str]:
    """An update through pods/ephemeralcontainers (ValidatePodEphemeralContainersUpdate): those
    already there stay as they are, new ones are valid containers without the fields above,
    named apart from every other container, and target one of the pod's own."""
    errs = FieldErrors()
    path = "spec.ephemeralContainers"
    if wanted is not None and not isinstance(wanted, list):
        errs.invalid(path, wanted, "must be a list")
        return errs.items
    new = {c.get("name"): (i, c) for i, c in enumerate(wanted or []) if isinstance(c, dict)}
    for old in spec.get("ephemeralContainers") or []:
        if old.get("name") not in new:
            errs.forbidden(path, f"existing ephemeral containers {go_quote(old.get('name'))} may not be removed")
        elif new[old["name"]][1] != old:
            errs.forbidden(f"{path}[{new[old['name']][0]}]",
                           f"existing ephemeral containers {go_quote(old['name'])} may not be changed")
    others = {c.get("name") for field in ("containers", "initContainers") for c in spec.get(field) or []}
    existing = {c.get("name") for c in spec.get("ephemeralContainers") or []}
    volumes = {str(v.get("name")) for v in spec.get("volumes") or [] if isinstance(v, dict)}
    names: set[str] = set()
    for i, c in errs.maps_in(wanted or [], path):
        cp = f"{path}[{i}]"
        if c.get("name") in existing:
            names.add(c["name"])
            continue
        for field in EPHEMERAL_FORBIDDEN:
            if c.get(field) not in (None, {}, [], ""):  # as Go sees them: empty is unset
                errs.forbidden(f"{cp}.{field}", "cannot be set for an Ephemeral Container")
        common = {k: v for k, v in c.items() if k not in EPHEMERAL_FORBIDDEN}
        name = _container(common, cp, volumes, set(), errs, allow_privileged, init=False)
        if name and (name in names or name in others):
            errs.duplicate(f"{cp}.name", name)
        names.add(name)
        target = c.get("targetContainerName")
        if target and target not in others:
            errs.not_found(f"{cp}.targetContainerName", target)
    return errs.items
