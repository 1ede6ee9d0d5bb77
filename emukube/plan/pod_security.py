"""Pod Security Standards: how kube-apiserver's PodSecurity admission judges a pod. Pure: plain
dicts in, strings out.

A port of k8s.io/pod-security-admission v0.35: policy/ (one function per check_*.go, the
registry that picks each check's variant for a policy version and lets a restricted check
replace a baseline one, helpers.go's wording), api/ (the namespace labels and their errors) and
admission/ (how failures are worded in the refusal, the warnings, the namespace dry run).

A check returns None when the pod passes, else (forbiddenReason, forbiddenDetail). Go's nil
pointers are absent or null keys here: `securityContext: {}` is set (but sets nothing), as
`&SecurityContext{}` is in Go."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache

from .capabilities import BASELINE_CAPABILITIES
from .downward import quote

PRIVILEGED, BASELINE, RESTRICTED = "privileged", "baseline", "restricted"
LEVELS = (PRIVILEGED, BASELINE, RESTRICTED)  # least strict first: CompareLevels reads this order
LATEST = "latest"
MODES = ("enforce", "audit", "warn")
LABEL_PREFIX = "pod-security.kubernetes.io/"  # + mode, + mode + "-version"
LEVEL_ERROR = "must be one of privileged, baseline, restricted"
VERSION_ERROR = 'must be "latest" or "v1.x"'
UNKNOWN_REASON = "unknown forbidden reason"  # a failure without a reason (none of ours)
MAX_PODS_TO_CHECK = 3000  # defaultNamespaceMaxPodsToCheck

Failure = tuple[str, str]  # (forbiddenReason, forbiddenDetail)
CheckFn = Callable[[dict, dict], Failure | None]  # (pod metadata, PodSpec) -> a failure or None


# ---- helpers.go, visitor.go ---------------------------------------------------------------------
def _map(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


def _containers(spec: dict) -> Iterator[dict]:
    """visitContainers: init containers, then containers, then ephemeral containers."""
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from (c for c in _list(spec.get(key)) if isinstance(c, dict))


def _name(obj: dict) -> str:
    return str(obj.get("name") or "")


def _sc(obj: dict) -> dict:
    """A container's (or a PodSpec's) securityContext; {} when unset, as no field is set then."""
    return _map(obj.get("securityContext"))


def _pluralize(singular: str, plural: str, count: int) -> str:
    return singular if count == 1 else plural


def _join_quote(items: Iterable[str]) -> str:
    """joinQuote: plain double quotes around each, not %q (a quote inside is not escaped)."""
    items = list(items)
    return '"' + '", "'.join(items) + '"' if items else ""


def _named(singular: str, plural: str, names: list[str]) -> str:
    """`container "a"`, `containers "a", "b"`."""
    return f"{_pluralize(singular, plural, len(names))} {_join_quote(names)}"


def _setters(pod: bool, containers: list[str]) -> list[str]:
    """Who set a bad value: "pod", then the containers, for the caller to join with " and "."""
    return (["pod"] if pod else []) + ([_named("container", "containers", containers)] if containers else [])


def _offenders(spec: dict, bad: Callable[[dict], set[str]]) -> tuple[list[str], set[str]]:
    """The containers (in visiting order) in which `bad` finds something, and all it found."""
    containers, found = [], set()
    for c in _containers(spec):
        if values := bad(c):
            containers.append(_name(c))
            found |= values
    return containers, found


def _windows(spec: dict) -> bool:
    return _map(spec.get("os")).get("name") == "windows"


def _user_namespace(spec: dict) -> bool:
    """relaxPolicyForUserNamespacePod: hostUsers: false."""
    return spec.get("hostUsers") is False


def _unless_windows(check: CheckFn) -> CheckFn:
    """The 1.25 variants: API validation forbids these Linux fields on a Windows pod, so it passes."""
    return lambda meta, spec: None if _windows(spec) else check(meta, spec)


def _unless_user_namespace(check: CheckFn) -> CheckFn:
    """The 1.35 variants: in a user namespace (hostUsers: false) root and /proc are the pod's own."""
    return lambda meta, spec: None if _user_namespace(spec) else check(meta, spec)


# ---- the baseline checks ------------------------------------------------------------------------
def app_armor_profile(meta: dict, spec: dict) -> Failure | None:
    """AppArmor may only be RuntimeDefault or Localhost; the deprecated annotations likewise."""
    pod, containers, bad_values = _bad_profiles(spec, "appArmorProfile")
    setters = _setters(pod, containers)
    prefix = "container.apparmor.security.beta.kubernetes.io/"
    annotations = sorted(f"{k}={quote(str(v))}" for k, v in _map(meta.get("annotations")).items()
                         if k.startswith(prefix) and not _allowed_apparmor_annotation(str(v)))
    if annotations:
        setters.append(_pluralize("annotation", "annotations", len(annotations)))
    if not setters:
        return None
    values = sorted(bad_values) + annotations
    return (_pluralize("forbidden AppArmor profile", "forbidden AppArmor profiles", len(values)),
            f"{' and '.join(setters)} must not set AppArmor profile type to {_join_quote(values)}")


PROFILE_TYPES = ("RuntimeDefault", "Localhost")  # the AppArmor and seccomp profile types allowed


def _profile_type(obj: dict, key: str) -> str | None:
    """The type of a pod's or container's appArmorProfile or seccompProfile; None when unset."""
    profile = _sc(obj).get(key)
    return None if profile is None else str(_map(profile).get("type") or "")


def _bad_profiles(spec: dict, key: str) -> tuple[bool, list[str], set[str]]:
    """Who sets the profile `key` to a type not allowed: the pod?, the containers; and the types."""
    def bad(obj: dict) -> set[str]:
        kind = _profile_type(obj, key)
        return set() if kind is None or kind in PROFILE_TYPES else {kind}

    containers, types = _offenders(spec, bad)
    return bool(bad(spec)), containers, types | bad(spec)


def _allowed_apparmor_annotation(value: str) -> bool:
    return value in ("", "runtime/default") or value.startswith("localhost/")


def capabilities_baseline(meta: dict, spec: dict) -> Failure | None:
    """Only the container runtime's default capabilities may be added."""
    containers, added = _offenders(spec, lambda c: _added(c) - BASELINE_CAPABILITIES)
    if not containers:
        return None
    return ("non-default capabilities", f"{_named('container', 'containers', containers)} must not include "
            f"{_join_quote(sorted(added))} in securityContext.capabilities.add")


def _added(container: dict) -> set[str]:
    """The capabilities a container adds."""
    return {str(cap) for cap in _list(_map(_sc(container).get("capabilities")).get("add"))}


def host_namespaces(meta: dict, spec: dict) -> Failure | None:
    shared = [f"{key}=true" for key in ("hostNetwork", "hostPID", "hostIPC") if spec.get(key) is True]
    return ("host namespaces", ", ".join(shared)) if shared else None


def host_path_volumes(meta: dict, spec: dict) -> Failure | None:
    volumes = [_name(v) for v in _list(spec.get("volumes")) if _map(v).get("hostPath") is not None]
    return ("hostPath volumes", _named("volume", "volumes", volumes)) if volumes else None


def host_ports(meta: dict, spec: dict) -> Failure | None:
    containers, ports = _offenders(
        spec, lambda c: {str(_map(p)["hostPort"]) for p in _list(c.get("ports")) if _map(p).get("hostPort")})
    if not containers:
        return None
    # The ports are sorted as strings ("10000" before "80"), as Go's sets.String.List sorts them.
    return ("hostPort", f"{_named('container', 'containers', containers)} "
            f"{_pluralize('uses', 'use', len(containers))} {_pluralize('hostPort', 'hostPorts', len(ports))} "
            f"{', '.join(sorted(ports))}")


def host_probes_and_lifecycle(meta: dict, spec: dict) -> Failure | None:
    """From 1.34: probes and lifecycle handlers may not aim at another host."""
    def hosts_of(c: dict) -> set[str]:
        handlers = [c.get(p) for p in ("livenessProbe", "readinessProbe", "startupProbe")]
        handlers += [_map(c.get("lifecycle")).get(h) for h in ("postStart", "preStop")]
        return {str(_map(_map(h).get(k)).get("host") or "") for h in handlers for k in ("httpGet", "tcpSocket")} - {""}

    found, hosts = _offenders(spec, hosts_of)
    if not found:
        return None
    # Both lists are sets here (sorted, each name once), unlike the other checks' containers in pod order.
    containers = sorted(set(found))
    return ("probe or lifecycle host", f"{_named('container', 'containers', containers)} "
            f"{_pluralize('uses', 'use', len(containers))} "
            f"{_named('probe or lifecycle host', 'probe or lifecycle hosts', sorted(hosts))}")


def privileged(meta: dict, spec: dict) -> Failure | None:
    containers = [_name(c) for c in _containers(spec) if _sc(c).get("privileged") is True]
    if not containers:
        return None
    return ("privileged",
            f"{_named('container', 'containers', containers)} must not set securityContext.privileged=true")


def proc_mount(meta: dict, spec: dict) -> Failure | None:
    """Only the Default (masked) /proc."""
    def unmasked(c: dict) -> set[str]:
        value = _sc(c).get("procMount")
        return set() if value is None or value == "Default" else {str(value)}

    containers, types = _offenders(spec, unmasked)
    if not containers:
        return None
    return ("procMount", f"{_named('container', 'containers', containers)} must not set securityContext.procMount "
            f"to {_join_quote(sorted(types))}")


def _se_linux_options(allowed_types: frozenset[str]) -> CheckFn:
    def check(meta: dict, spec: dict) -> Failure | None:
        types: set[str] = set()
        user = role = False

        def bad(opts: dict) -> bool:
            """validSELinuxOptions, negated; it notes what is wrong for the detail."""
            nonlocal user, role
            kind, has_user, has_role = str(opts.get("type") or ""), bool(opts.get("user")), bool(opts.get("role"))
            if kind not in allowed_types:
                types.add(kind)
            user, role = user or has_user, role or has_role
            return kind not in allowed_types or has_user or has_role

        pod = _sc(spec).get("seLinuxOptions") is not None and bad(_map(_sc(spec)["seLinuxOptions"]))
        containers = [_name(c) for c in _containers(spec)
                      if _sc(c).get("seLinuxOptions") is not None and bad(_map(_sc(c)["seLinuxOptions"]))]
        setters = _setters(pod, containers)
        if not setters:
            return None
        found = [_named("type", "types", sorted(types))] if types else []
        found += ["user may not be set"] if user else []
        found += ["role may not be set"] if role else []
        return ("seLinuxOptions",
                f"{' and '.join(setters)} set forbidden securityContext.seLinuxOptions: {'; '.join(found)}")

    return check


SELINUX_TYPES_1_0 = frozenset({"", "container_t", "container_init_t", "container_kvm_t"})
se_linux_options_1_0 = _se_linux_options(SELINUX_TYPES_1_0)
se_linux_options_1_31 = _se_linux_options(SELINUX_TYPES_1_0 | {"container_engine_t"})


def seccomp_annotations(meta: dict, spec: dict) -> Failure | None:
    """Before 1.19 seccomp was set by the alpha annotations: they may name only the default or a
    localhost profile."""
    annotations = _map(meta.get("annotations"))
    keys = ["seccomp.security.alpha.kubernetes.io/pod"]
    keys += [f"container.seccomp.security.alpha.kubernetes.io/{_name(c)}" for c in _containers(spec)]
    forbidden = {f"{k}={quote(str(annotations[k]))}" for k in keys
                 if k in annotations and not _allowed_seccomp_annotation(str(annotations[k]))}
    if not forbidden:
        return None
    return ("seccompProfile", f"forbidden {_pluralize('annotation', 'annotations', len(forbidden))} "
            f"{', '.join(sorted(forbidden))}")


def _allowed_seccomp_annotation(value: str) -> bool:
    return value in ("runtime/default", "docker/default") or value.startswith("localhost/")


def _seccomp(spec: dict, required: bool) -> Failure | None:
    """The seccompProfile field: RuntimeDefault or Localhost where set; restricted (`required`)
    also wants it set on the pod or on every container."""
    pod_bad, explicit, bad_values = _bad_profiles(spec, "seccompProfile")
    setters = _setters(pod_bad, explicit)
    if setters:
        return ("seccompProfile", f"{' and '.join(setters)} must not set securityContext.seccompProfile.type to "
                f"{_join_quote(sorted(bad_values))}")
    # Containers that set none, in a pod that sets no good one.
    implicit = [_name(c) for c in _containers(spec) if _profile_type(c, "seccompProfile") is None]
    if required and implicit and _profile_type(spec, "seccompProfile") not in PROFILE_TYPES:
        return ("seccompProfile", f"pod or {_named('container', 'containers', implicit)} must set "
                'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"')
    return None


def seccomp_baseline(meta: dict, spec: dict) -> Failure | None:
    return _seccomp(spec, required=False)


def _sysctls(allowed: frozenset[str]) -> CheckFn:
    def check(meta: dict, spec: dict) -> Failure | None:
        names = [str(_map(s).get("name") or "") for s in _list(_sc(spec).get("sysctls"))]
        forbidden = [n for n in names if n not in allowed]
        return ("forbidden sysctls", ", ".join(forbidden)) if forbidden else None

    return check


# The safe sysctls: namespaced per pod, and isolated from other pods. Later versions add some.
SYSCTLS_1_0 = frozenset({"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
                         "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start"})
SYSCTLS_1_27 = SYSCTLS_1_0 | {"net.ipv4.ip_local_reserved_ports"}
SYSCTLS_1_29 = SYSCTLS_1_27 | {"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
                               "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"}
SYSCTLS_1_32 = SYSCTLS_1_29 | {"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"}


def windows_host_process(meta: dict, spec: dict) -> Failure | None:
    def host_process(obj: dict) -> bool:
        return _map(_sc(obj).get("windowsOptions")).get("hostProcess") is True

    setters = _setters(host_process(spec), [_name(c) for c in _containers(spec) if host_process(c)])
    if not setters:
        return None
    return ("hostProcess", f"{' and '.join(setters)} must not set securityContext.windowsOptions.hostProcess=true")


# ---- the restricted checks ----------------------------------------------------------------------
def allow_privilege_escalation(meta: dict, spec: dict) -> Failure | None:
    """Every container must say allowPrivilegeEscalation: false (unset allows it)."""
    containers = [_name(c) for c in _containers(spec) if _sc(c).get("allowPrivilegeEscalation") is not False]
    if not containers:
        return None
    return ("allowPrivilegeEscalation != false",
            f"{_named('container', 'containers', containers)} must set securityContext.allowPrivilegeEscalation=false")


def capabilities_restricted(meta: dict, spec: dict) -> Failure | None:
    """Every container drops ALL, and may add back only NET_BIND_SERVICE."""
    no_drop = [_name(c) for c in _containers(spec) if "ALL" not in _list(_map(_sc(c).get("capabilities")).get("drop"))]
    adding, added = _offenders(spec, lambda c: _added(c) - {"NET_BIND_SERVICE"})
    details = []
    if no_drop:
        details.append(f"{_named('container', 'containers', no_drop)} must set "
                       'securityContext.capabilities.drop=["ALL"]')
    if adding:
        details.append(f"{_named('container', 'containers', adding)} must not include "
                       f"{_join_quote(sorted(added))} in securityContext.capabilities.add")
    return ("unrestricted capabilities", "; ".join(details)) if details else None


def restricted_volumes(meta: dict, spec: dict) -> Failure | None:
    """Only the volume types that reach nothing of the node's or the network's."""
    volumes, types = [], set()
    for v in _list(spec.get("volumes")):
        v = _map(v)
        if any(v.get(key) is not None for key in ALLOWED_VOLUMES):
            continue
        volumes.append(_name(v))
        types.add(next((key for key in RESTRICTED_VOLUMES if v.get(key) is not None), "unknown"))
    if not volumes:
        return None
    return ("restricted volume types", f"{_named('volume', 'volumes', volumes)} "
            f"{_pluralize('uses', 'use', len(volumes))} "
            f"{_named('restricted volume type', 'restricted volume types', sorted(types))}")


ALLOWED_VOLUMES = ("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image", "persistentVolumeClaim",
                   "projected", "secret")
RESTRICTED_VOLUMES = ("hostPath", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs", "iscsi", "glusterfs",
                      "rbd", "flexVolume", "cinder", "cephfs", "flocker", "fc", "azureFile", "vsphereVolume",
                      "quobyte", "azureDisk", "photonPersistentDisk", "portworxVolume", "scaleIO", "storageos")


def run_as_non_root(meta: dict, spec: dict) -> Failure | None:
    """runAsNonRoot: true on the pod or on every container, and false nowhere."""
    pod_value = _sc(spec).get("runAsNonRoot")
    explicit = [_name(c) for c in _containers(spec) if _sc(c).get("runAsNonRoot") is False]
    setters = _setters(pod_value is False, explicit)
    if setters:
        return ("runAsNonRoot != true", f"{' and '.join(setters)} must not set securityContext.runAsNonRoot=false")
    implicit = [_name(c) for c in _containers(spec) if _sc(c).get("runAsNonRoot") is None]
    if implicit and pod_value is not True:
        return ("runAsNonRoot != true",
                f"pod or {_named('container', 'containers', implicit)} must set securityContext.runAsNonRoot=true")
    return None


def run_as_user(meta: dict, spec: dict) -> Failure | None:
    """No runAsUser: 0 (unset is fine: runAsNonRoot covers the image's user)."""
    def root(obj: dict) -> bool:
        user = _sc(obj).get("runAsUser")
        return user is not None and not isinstance(user, bool) and user == 0

    setters = _setters(root(spec), [_name(c) for c in _containers(spec) if root(c)])
    return ("runAsUser=0", f"{' and '.join(setters)} must not set runAsUser=0") if setters else None


def seccomp_restricted(meta: dict, spec: dict) -> Failure | None:
    return _seccomp(spec, required=True)


# ---- registry.go: which checks a level and version apply ----------------------------------------
@dataclass(frozen=True)
class Check:
    id: str  # CheckID: the evaluation order is baseline IDs sorted, then restricted IDs sorted
    level: str
    versions: tuple[tuple[int, CheckFn], ...]  # (from v1.N on, the check), N increasing
    overrides: tuple[str, ...] = ()  # the baseline checks this restricted one replaces


CHECKS = (
    Check("appArmorProfile", BASELINE, ((0, app_armor_profile),)),
    Check("capabilities_baseline", BASELINE, ((0, capabilities_baseline),)),
    Check("hostNamespaces", BASELINE, ((0, host_namespaces),)),
    Check("hostPathVolumes", BASELINE, ((0, host_path_volumes),)),
    Check("hostPorts", BASELINE, ((0, host_ports),)),
    Check("hostProbesAndHostLifecycle", BASELINE, ((34, host_probes_and_lifecycle),)),
    Check("privileged", BASELINE, ((0, privileged),)),
    Check("procMount", BASELINE, ((0, proc_mount), (35, _unless_user_namespace(proc_mount)))),
    Check("seLinuxOptions", BASELINE, ((0, se_linux_options_1_0), (31, se_linux_options_1_31))),
    # The field replaced the annotations in 1.19.
    Check("seccompProfile_baseline", BASELINE, ((0, seccomp_annotations), (19, seccomp_baseline))),
    Check("sysctls", BASELINE, ((0, _sysctls(SYSCTLS_1_0)), (27, _sysctls(SYSCTLS_1_27)),
                                (29, _sysctls(SYSCTLS_1_29)), (32, _sysctls(SYSCTLS_1_32)))),
    Check("windowsHostProcess", BASELINE, ((0, windows_host_process),)),
    Check("allowPrivilegeEscalation", RESTRICTED,
          ((8, allow_privilege_escalation), (25, _unless_windows(allow_privilege_escalation)))),
    Check("capabilities_restricted", RESTRICTED,
          ((22, capabilities_restricted), (25, _unless_windows(capabilities_restricted))), ("capabilities_baseline",)),
    # From 1.35 baseline lets a user-namespaced pod unmask /proc; restricted keeps the 1.0 rule.
    Check("procMount_restricted", RESTRICTED, ((35, proc_mount),), ("procMount",)),
    Check("restrictedVolumes", RESTRICTED, ((0, restricted_volumes),), ("hostPathVolumes",)),
    Check("runAsNonRoot", RESTRICTED, ((0, run_as_non_root), (35, _unless_user_namespace(run_as_non_root)))),
    Check("runAsUser", RESTRICTED, ((23, run_as_user), (35, _unless_user_namespace(run_as_user)))),
    Check("seccompProfile_restricted", RESTRICTED,
          ((19, seccomp_restricted), (25, _unless_windows(seccomp_restricted))), ("seccompProfile_baseline",)),
)
# The newest version any check changes at (v1.35): "latest", and any newer v1.N, evaluate as it.
LATEST_MINOR = max(check.versions[-1][0] for check in CHECKS)
_VERSION = re.compile(r"v1\.([0-9]|[1-9][0-9]*)")


def _variant(check: Check, minor: int) -> CheckFn | None:
    """The check's variant in force at v1.minor; None before its first version."""
    found = None
    for since, fn in check.versions:
        if since <= minor:
            found = fn
    return found


@cache
def registry(level: str, minor: int) -> tuple[CheckFn, ...]:
    """The checks of a level at v1.minor, in evaluation order. Restricted is baseline plus its
    own, less the baseline checks that a restricted check in force at that version replaces."""
    active = [(check, fn) for check in CHECKS if (fn := _variant(check, minor)) is not None]
    replaced = {name for check, _ in active if check.level == RESTRICTED for name in check.overrides}

    def applies(check: Check) -> bool:
        if check.level == BASELINE:
            return level == BASELINE or (level == RESTRICTED and check.id not in replaced)
        return level == RESTRICTED

    ordered = sorted(active, key=lambda pair: (pair[0].level != BASELINE, pair[0].id))
    return tuple(fn for check, fn in ordered if applies(check))


def parse_version(version: str) -> int | None:
    """api.ParseVersion: "latest" or "v1.N" (no leading zero), as the minor N; None if neither."""
    if version == LATEST:
        return LATEST_MINOR
    match = _VERSION.fullmatch(version)
    if match is None or int(match[1]) >= 2**63:  # Go's Atoi fails past int64
        return None
    return int(match[1])


def checks(level: str, version: str, metadata: dict, spec: dict) -> list[Failure]:
    """The failed checks of a pod (its metadata and PodSpec) under level:version, in the Go
    evaluator's order; [] when it passes. Raises ValueError for an unknown level or version."""
    minor = parse_version(version)
    if level not in LEVELS or minor is None:
        raise ValueError(f"not a Pod Security level and version: {level}:{version}")
    if level == PRIVILEGED:
        return []
    meta, pod_spec = _map(metadata), _map(spec)
    # A version newer than the newest check change evaluates as it (as "latest" does).
    return [failure for fn in registry(level, min(minor, LATEST_MINOR)) if (failure := fn(meta, pod_spec)) is not None]


# ---- admission.go, response.go: the words -------------------------------------------------------
def _reasons(failures: list[Failure]) -> list[str]:
    return [reason or UNKNOWN_REASON for reason, _ in failures]


def forbidden_detail(failures: list[Failure]) -> str:
    """AggregateCheckResult.ForbiddenDetail: `reason (detail)` (a reason alone without detail), ", "."""
    return ", ".join(f"{reason} ({detail})" if detail else reason
                     for reason, (_, detail) in zip(_reasons(failures), failures))


def violation_message(level: str, version: str, failures: list[Failure]) -> str:
    """The enforce refusal, after `pods "x" is forbidden: ` (403 Forbidden)."""
    return f"violates PodSecurity {quote(f'{level}:{version}')}: {forbidden_detail(failures)}"


def warning_message(level: str, version: str, failures: list[Failure]) -> str:
    """The warn mode's warning (and the audit annotation's text) for a pod or a workload."""
    return f"would violate PodSecurity {quote(f'{level}:{version}')}: {forbidden_detail(failures)}"


# ---- api/helpers.go: a namespace's labels -------------------------------------------------------
def namespace_policy(labels: dict | None) -> tuple[dict[str, tuple[str, str]], list[str]]:
    """PolicyToEvaluate with kube-apiserver's defaults (privileged:latest for each mode): the
    {mode: (level, version)} of a namespace, and its label errors worded as field errors
    (`metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "x": must be one of ...`).
    A bad enforce level enforces restricted (fails closed), a bad audit or warn level is
    privileged (fails open), a bad version is latest. Warn defaults to a stricter enforce."""
    labels = _map(labels)
    policy = {mode: (PRIVILEGED, LATEST) for mode in MODES}
    errors: list[str] = []
    for mode in MODES:
        level, version = policy[mode]
        level_key, version_key = LABEL_PREFIX + mode, f"{LABEL_PREFIX}{mode}-version"
        if level_key in labels:
            level = str(labels[level_key])
            if level not in LEVELS:
                errors.append(_invalid(level_key, level, LEVEL_ERROR))
                level = RESTRICTED if mode == "enforce" else PRIVILEGED
        if version_key in labels:
            version = str(labels[version_key])
            if parse_version(version) is None:
                errors.append(_invalid(version_key, version, VERSION_ERROR))
                version = LATEST
        policy[mode] = (level, version)
    enforce_set = labels.get(LABEL_PREFIX + "enforce") in LEVELS
    if enforce_set and LABEL_PREFIX + "warn" not in labels and _stricter(policy["enforce"][0], policy["warn"][0]):
        warn_version_set = f"{LABEL_PREFIX}warn-version" in labels
        policy["warn"] = (policy["enforce"][0], policy["warn"][1] if warn_version_set else policy["enforce"][1])
    return policy, errors


def _invalid(label: str, value: str, detail: str) -> str:
    return f"metadata.labels[{label}]: Invalid value: {quote(value)}: {detail}"


def _stricter(a: str, b: str) -> bool:
    return LEVELS.index(a) > LEVELS.index(b)


def enforce_tightened(old: tuple[str, str], new: tuple[str, str]) -> bool:
    """Whether a namespace update's new enforce (level, version) dry-runs the existing pods:
    not when unchanged, privileged, or only relaxed (or kept) at the same version."""
    if new == old or new[0] == PRIVILEGED:
        return False
    return not (new[1] == old[1] and not _stricter(new[0], old[0]))


def existing_pods_warnings(namespace: str, level: str, version: str, pods: list[dict]) -> list[str]:
    """EvaluatePodsInNamespace: the warnings of a namespace update whose enforce level the
    existing pods would fail (one line per distinct set of reasons, naming the first pod). One
    pod per controller is judged first, at most MAX_PODS_TO_CHECK."""
    ordered = _prioritize(pods)
    judged = ordered[:MAX_PODS_TO_CHECK]
    first: dict[str, tuple[str, int]] = {}  # reasons -> (least pod name, pods)
    for pod in judged:
        failures = checks(level, version, _map(pod.get("metadata")), _map(pod.get("spec")))
        if failures:
            name, reasons = _name(_map(pod.get("metadata"))), ", ".join(_reasons(failures))
            least, count = first.get(reasons, (name, 0))
            first[reasons] = (min(least, name), count + 1)
    warnings = []
    if len(judged) < len(ordered):
        warnings.append(f"new PodSecurity enforce level only checked against the first {len(judged)} "
                        f"of {len(ordered)} existing pods")
    if first:
        warnings.append(f"existing pods in namespace {quote(namespace)} violate the new PodSecurity enforce level "
                        f"{quote(f'{level}:{version}')}")
    return warnings + sorted(f"{_pod_count(*first[reasons])}: {reasons}" for reasons in first)


def _pod_count(name: str, count: int) -> str:
    if count == 1:
        return name
    return f"{name} (and {count - 1} other {_pluralize('pod', 'pods', count - 1)})"


def _prioritize(pods: list[dict]) -> list[dict]:
    """prioritizePods: the first pod of each controller, and the pods of none, before the rest."""
    first, rest, seen = [], [], set()
    for pod in pods:
        owners = _list(_map(pod.get("metadata")).get("ownerReferences"))
        uid = next((_map(o).get("uid") for o in owners if _map(o).get("controller") is True), None)
        if uid is not None and uid in seen:
            rest.append(pod)
            continue
        first.append(pod)
        if uid is not None:
            seen.add(uid)
    return first + rest


# ---- admission.go: PodSpecExtractor -------------------------------------------------------------
_TEMPLATES = {  # (group, kind) -> the path to the pod template
    ("", "PodTemplate"): ("template",),
    ("", "ReplicationController"): ("spec", "template"),
    ("apps", "ReplicaSet"): ("spec", "template"),
    ("apps", "Deployment"): ("spec", "template"),
    ("apps", "StatefulSet"): ("spec", "template"),
    ("apps", "DaemonSet"): ("spec", "template"),
    ("batch", "Job"): ("spec", "template"),
    ("batch", "CronJob"): ("spec", "jobTemplate", "spec", "template"),
}


def pod_spec_of(obj: dict) -> tuple[dict, dict] | None:
    """A Pod's (metadata, spec), or the pod template's of a kind that has one; None for other
    kinds and for a template that is missing (nothing to judge). The group is checked when
    apiVersion is given, so a custom resource named Deployment is not taken for one."""
    kind, api_version = obj.get("kind"), obj.get("apiVersion")
    group = str(api_version).rpartition("/")[0] if api_version else None
    if kind == "Pod" and group in (None, ""):
        return _map(obj.get("metadata")), _map(obj.get("spec"))
    path = next((p for (g, k), p in _TEMPLATES.items() if k == kind and group in (None, g)), None)
    if path is None:
        return None
    template: object = obj
    for key in path:
        template = _map(template).get(key)
    if not isinstance(template, dict):
        return None
    return _map(template.get("metadata")), _map(template.get("spec"))
