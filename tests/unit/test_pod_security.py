"""The Pod Security Standards evaluator (emukube/plan/pod_security.py): the checks' wording, ported
from k8s.io/pod-security-admission v0.35's policy/*_test.go, the registry's levels and versions,
the messages of the refusal and the warnings, and the namespace labels (api/helpers_test.go)."""

from __future__ import annotations

import pytest

from emukube.plan import pod_security as ps


def c(name: str, **security) -> dict:
    """A container; keyword arguments are its securityContext (none: no securityContext at all)."""
    return {"name": name, "image": "nginx", **({"securityContext": security} if security else {})}


def spec(*containers: dict, **fields) -> dict:
    return {"containers": list(containers), **fields}


NGINX = spec({"name": "nginx", "image": "nginx"})


# ---- each check, as its _test.go words it -------------------------------------------------------
FAILS = [
    pytest.param(ps.allow_privilege_escalation, {},
                 spec(c("a"), {"name": "b", "securityContext": {}}, c("c", allowPrivilegeEscalation=True),
                      c("d", allowPrivilegeEscalation=False)),
                 ("allowPrivilegeEscalation != false",
                  'containers "a", "b", "c" must set securityContext.allowPrivilegeEscalation=false'), id="ape"),
    pytest.param(ps.app_armor_profile, {}, spec(securityContext={"appArmorProfile": {"type": "Unconfined"}}),
                 ("forbidden AppArmor profile", 'pod must not set AppArmor profile type to "Unconfined"'),
                 id="apparmor-pod"),
    pytest.param(ps.app_armor_profile, {},
                 {"securityContext": {"appArmorProfile": {"type": "RuntimeDefault"}}, "containers": [c("foo")],
                  "initContainers": [c("bar", appArmorProfile={"type": "Unconfined"})]},
                 ("forbidden AppArmor profile", 'container "bar" must not set AppArmor profile type to "Unconfined"'),
                 id="apparmor-init-container"),
    pytest.param(ps.app_armor_profile,
                 {"annotations": {"container.apparmor.security.beta.kubernetes.io/": "bogus",
                                  "container.apparmor.security.beta.kubernetes.io/a": "",
                                  "container.apparmor.security.beta.kubernetes.io/b": "runtime/default",
                                  "container.apparmor.security.beta.kubernetes.io/c": "localhost/",
                                  "container.apparmor.security.beta.kubernetes.io/d": "localhost/foo",
                                  "container.apparmor.security.beta.kubernetes.io/e": "unconfined",
                                  "container.apparmor.security.beta.kubernetes.io/f": "unknown"}},
                 spec(),
                 ("forbidden AppArmor profiles", "annotations must not set AppArmor profile type to "
                  '"container.apparmor.security.beta.kubernetes.io/="bogus"", '
                  '"container.apparmor.security.beta.kubernetes.io/e="unconfined"", '
                  '"container.apparmor.security.beta.kubernetes.io/f="unknown""'), id="apparmor-annotations"),
    pytest.param(ps.capabilities_baseline, {},
                 spec(c("a", capabilities={"add": ["FOO", "BAR"]}), c("b", capabilities={"add": ["BAR", "BAZ"]})),
                 ("non-default capabilities",
                  'containers "a", "b" must not include "BAR", "BAZ", "FOO" in securityContext.capabilities.add'),
                 id="capabilities-baseline"),
    pytest.param(ps.capabilities_restricted, {},
                 spec(c("a", capabilities={"add": ["FOO", "BAR"]}), c("b", capabilities={"add": ["BAR", "BAZ"]}),
                      c("c", capabilities={"add": ["NET_BIND_SERVICE", "CHOWN"], "drop": ["ALL", "FOO"]})),
                 ("unrestricted capabilities",
                  'containers "a", "b" must set securityContext.capabilities.drop=["ALL"]; containers "a", "b", "c" '
                  'must not include "BAR", "BAZ", "CHOWN", "FOO" in securityContext.capabilities.add'),
                 id="capabilities-restricted"),
    pytest.param(ps.host_namespaces, {}, spec(hostNetwork=True, hostIPC=True, hostPID=True),
                 ("host namespaces", "hostNetwork=true, hostPID=true, hostIPC=true"), id="host-namespaces"),
    pytest.param(ps.host_path_volumes, {},
                 spec(volumes=[{"name": "a", "hostPath": {}}, {"name": "b", "hostPath": {}},
                               {"name": "c", "emptyDir": {}}]),
                 ("hostPath volumes", 'volumes "a", "b"'), id="host-path"),
    pytest.param(ps.host_ports, {},
                 spec({"name": "a", "ports": [{"hostPort": 0}]}, {"name": "b", "ports": [{"hostPort": 0}, {"hostPort": 20}]}),
                 ("hostPort", 'container "b" uses hostPort 20'), id="host-port"),
    pytest.param(ps.host_ports, {},
                 spec({"name": "a", "ports": [{"hostPort": 0}]},
                      {"name": "b", "ports": [{"hostPort": 0}, {"hostPort": 10}, {"hostPort": 20}]},
                      {"name": "c", "ports": [{"hostPort": 0}, {"hostPort": 10}, {"hostPort": 30}]}),
                 ("hostPort", 'containers "b", "c" use hostPorts 10, 20, 30'), id="host-ports"),
    pytest.param(ps.host_probes_and_lifecycle, {},
                 spec({"name": "a", "livenessProbe": {"httpGet": {"host": "localhost", "port": 80}},
                       "readinessProbe": {"tcpSocket": {"host": "127.0.0.1", "port": 80}},
                       "startupProbe": {"httpGet": {"host": "::1", "port": 80}}}),
                 ("probe or lifecycle host", 'container "a" uses probe or lifecycle hosts "127.0.0.1", "::1", "localhost"'),
                 id="probe-hosts"),
    pytest.param(ps.host_probes_and_lifecycle, {},
                 {"containers": [{"name": "invalid2", "lifecycle": {"preStop": {"httpGet": {"host": "b.com"}}}},
                                 {"name": "invalid1", "livenessProbe": {"tcpSocket": {"host": "a.com"}}}],
                  "initContainers": []},
                 ("probe or lifecycle host", 'containers "invalid1", "invalid2" use probe or lifecycle hosts "a.com", "b.com"'),
                 id="lifecycle-hosts"),
    pytest.param(ps.privileged, {},
                 spec(c("a"), {"name": "b", "securityContext": {}}, c("c", privileged=False), c("d", privileged=True),
                      c("e", privileged=True)),
                 ("privileged", 'containers "d", "e" must not set securityContext.privileged=true'), id="privileged"),
    pytest.param(ps.proc_mount, {},
                 spec(c("a"), c("c", procMount="Default"), c("d", procMount="Unmasked"), c("e", procMount="other"),
                      hostUsers=False),
                 ("procMount", 'containers "d", "e" must not set securityContext.procMount to "Unmasked", "other"'),
                 id="proc-mount"),
    pytest.param(ps.restricted_volumes, {},
                 spec(volumes=[{"name": "a1", "emptyDir": {}}, {"name": "a2", "secret": {}}, {"name": "a9", "image": {}},
                               {"name": "b1", "hostPath": {}}, {"name": "b4", "gitRepo": {}}, {"name": "b5", "nfs": {}},
                               {"name": "c1"}]),
                 ("restricted volume types",
                  'volumes "b1", "b4", "b5", "c1" use restricted volume types "gitRepo", "hostPath", "nfs", "unknown"'),
                 id="restricted-volumes"),
    pytest.param(ps.run_as_non_root, {}, spec(c("a")),
                 ("runAsNonRoot != true", 'pod or container "a" must set securityContext.runAsNonRoot=true'),
                 id="run-as-non-root-unset"),
    pytest.param(ps.run_as_non_root, {}, spec(c("a"), securityContext={"runAsNonRoot": False}),
                 ("runAsNonRoot != true", "pod must not set securityContext.runAsNonRoot=false"),
                 id="run-as-non-root-pod-false"),
    pytest.param(ps.run_as_non_root, {},
                 spec(c("a"), {"name": "b", "securityContext": {}}, c("c", runAsNonRoot=False),
                      c("d", runAsNonRoot=False), c("e", runAsNonRoot=True), securityContext={"runAsNonRoot": True}),
                 ("runAsNonRoot != true", 'containers "c", "d" must not set securityContext.runAsNonRoot=false'),
                 id="run-as-non-root-containers-false"),
    pytest.param(ps.run_as_non_root, {},
                 spec(c("a"), {"name": "b", "securityContext": {}}, c("d", runAsNonRoot=True)),
                 ("runAsNonRoot != true", 'pod or containers "a", "b" must set securityContext.runAsNonRoot=true'),
                 id="run-as-non-root-fallthrough"),
    pytest.param(ps.run_as_user, {}, spec(c("a"), securityContext={"runAsUser": 0}),
                 ("runAsUser=0", "pod must not set runAsUser=0"), id="run-as-user-pod"),
    pytest.param(ps.run_as_user, {},
                 spec(c("a"), c("c", runAsUser=0), c("d", runAsUser=0), c("e", runAsUser=1),
                      securityContext={"runAsUser": 1000}),
                 ("runAsUser=0", 'containers "c", "d" must not set runAsUser=0'), id="run-as-user-containers"),
    pytest.param(ps.se_linux_options_1_31, {},
                 spec(c("a", seLinuxOptions={"type": "container_t"}), c("d", seLinuxOptions={"type": "container_engine_t"}),
                      c("e", seLinuxOptions={"type": "bar"}), c("f", seLinuxOptions={"user": "bar"}),
                      c("g", seLinuxOptions={"role": "baz"}),
                      securityContext={"seLinuxOptions": {"type": "foo", "user": "bar", "role": "baz"}}),
                 ("seLinuxOptions", 'pod and containers "e", "f", "g" set forbidden securityContext.seLinuxOptions: '
                  'types "bar", "foo"; user may not be set; role may not be set'), id="selinux"),
    pytest.param(ps.se_linux_options_1_31, {}, spec(securityContext={"seLinuxOptions": {"role": "bad"}}),
                 ("seLinuxOptions", "pod set forbidden securityContext.seLinuxOptions: role may not be set"),
                 id="selinux-role"),
    pytest.param(ps.se_linux_options_1_0, {}, spec(c("d", seLinuxOptions={"type": "container_engine_t"})),
                 ("seLinuxOptions",
                  'container "d" set forbidden securityContext.seLinuxOptions: type "container_engine_t"'),
                 id="selinux-engine-before-1.31"),
    pytest.param(ps.seccomp_annotations,
                 {"annotations": {"seccomp.security.alpha.kubernetes.io/pod": "unconfined",
                                  "container.seccomp.security.alpha.kubernetes.io/a": "unconfined",
                                  "container.seccomp.security.alpha.kubernetes.io/b": "unknown"}},
                 spec(c("a"), c("b"), c("c")),
                 ("seccompProfile", "forbidden annotations "
                  'container.seccomp.security.alpha.kubernetes.io/a="unconfined", '
                  'container.seccomp.security.alpha.kubernetes.io/b="unknown", '
                  'seccomp.security.alpha.kubernetes.io/pod="unconfined"'), id="seccomp-annotations"),
    pytest.param(ps.seccomp_baseline, {},
                 spec(c("a"), {"name": "b", "securityContext": {}}, c("c", seccompProfile={"type": "Unconfined"}),
                      c("d", seccompProfile={"type": "Unconfined"}), c("e", seccompProfile={"type": "RuntimeDefault"}),
                      securityContext={"seccompProfile": {"type": "Unconfined"}}),
                 ("seccompProfile",
                  'pod and containers "c", "d" must not set securityContext.seccompProfile.type to "Unconfined"'),
                 id="seccomp-baseline"),
    pytest.param(ps.seccomp_restricted, {}, spec(c("a")),
                 ("seccompProfile",
                  'pod or container "a" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"'),
                 id="seccomp-restricted-unset"),
    pytest.param(ps.seccomp_restricted, {},
                 spec(c("a"), {"name": "b", "securityContext": {}}, c("d", seccompProfile={"type": "RuntimeDefault"})),
                 ("seccompProfile", 'pod or containers "a", "b" must set securityContext.seccompProfile.type to '
                  '"RuntimeDefault" or "Localhost"'), id="seccomp-restricted-fallthrough"),
    pytest.param(ps.seccomp_restricted, {}, spec(c("a"), securityContext={"seccompProfile": {"type": "Unconfined"}}),
                 ("seccompProfile", 'pod must not set securityContext.seccompProfile.type to "Unconfined"'),
                 id="seccomp-restricted-pod"),
    pytest.param(ps.windows_host_process, {},
                 spec(c("a"), {"name": "b", "securityContext": {}}, c("c", windowsOptions={}),
                      c("d", windowsOptions={"hostProcess": False}), c("e", windowsOptions={"hostProcess": True}),
                      c("f", windowsOptions={"hostProcess": True}),
                      securityContext={"windowsOptions": {"hostProcess": True}}),
                 ("hostProcess", 'pod and containers "e", "f" must not set securityContext.windowsOptions.hostProcess=true'),
                 id="windows-host-process"),
]


@pytest.mark.parametrize(("check", "meta", "pod_spec", "expected"), FAILS)
def test_each_check_fails_worded_as_go_words_it(check, meta, pod_spec, expected):
    assert check(meta, pod_spec) == expected


PASSES = [
    pytest.param(ps.allow_privilege_escalation, spec(c("a", allowPrivilegeEscalation=False)), id="ape"),
    pytest.param(ps.app_armor_profile, spec(c("foo", appArmorProfile={"type": "Localhost"}),
                                            securityContext={"appArmorProfile": {"type": "RuntimeDefault"}}),
                 id="apparmor"),
    pytest.param(ps.capabilities_baseline, spec(c("a", capabilities={"add": ["CHOWN", "NET_BIND_SERVICE"]})),
                 id="capabilities-baseline"),
    pytest.param(ps.capabilities_restricted,
                 spec(c("a", capabilities={"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]})), id="capabilities-restricted"),
    pytest.param(ps.host_namespaces, spec(hostNetwork=False), id="host-namespaces"),
    pytest.param(ps.host_path_volumes, spec(volumes=[{"name": "a", "emptyDir": {}}]), id="host-path"),
    pytest.param(ps.host_ports, spec({"name": "a", "ports": [{"containerPort": 80, "hostPort": 0}]}), id="host-ports"),
    pytest.param(ps.host_probes_and_lifecycle,
                 spec({"name": "a", "livenessProbe": {"httpGet": {"host": "", "port": 80}}}), id="probe-hosts"),
    pytest.param(ps.privileged, spec(c("a", privileged=False)), id="privileged"),
    pytest.param(ps.proc_mount, spec(c("a", procMount="Default")), id="proc-mount"),
    pytest.param(ps.restricted_volumes,
                 spec(volumes=[{"name": n, k: {}} for n, k in (("a", "configMap"), ("b", "csi"), ("c", "ephemeral"),
                                                                 ("d", "persistentVolumeClaim"), ("e", "projected"))]),
                 id="restricted-volumes"),
    pytest.param(ps.run_as_non_root, spec(c("a"), c("b", runAsNonRoot=True), securityContext={"runAsNonRoot": True}),
                 id="run-as-non-root"),
    pytest.param(ps.run_as_user, spec(c("a", runAsUser=1), securityContext={"runAsUser": 1000}), id="run-as-user"),
    pytest.param(ps.se_linux_options_1_31, spec(c("d", seLinuxOptions={"type": "container_engine_t"}),
                                                securityContext={"seLinuxOptions": {}}), id="selinux"),
    pytest.param(ps.seccomp_restricted, spec(c("a"), c("b", seccompProfile={"type": "Localhost"}),
                                             securityContext={"seccompProfile": {"type": "RuntimeDefault"}}),
                 id="seccomp-restricted"),
    pytest.param(ps.seccomp_baseline, spec(c("a")), id="seccomp-baseline"),
    pytest.param(ps.windows_host_process, spec(c("a", windowsOptions={"hostProcess": False})), id="windows"),
]


@pytest.mark.parametrize(("check", "pod_spec"), PASSES)
def test_each_check_passes_a_conforming_pod(check, pod_spec):
    assert check({}, pod_spec) is None


def test_sysctls_allowed_grow_with_the_version():
    pod = spec(securityContext={"sysctls": [{"name": "a"}, {"name": "net.ipv4.tcp_rmem"}, {"name": "b"}]})
    assert ps.checks("baseline", "v1.31", {}, pod) == [("forbidden sysctls", "a, net.ipv4.tcp_rmem, b")]
    assert ps.checks("baseline", "v1.32", {}, pod) == [("forbidden sysctls", "a, b")]
    reserved = spec(securityContext={"sysctls": [{"name": "net.ipv4.ip_local_reserved_ports", "value": "1024-4999"}]})
    assert ps.checks("baseline", "v1.26", {}, reserved) == [("forbidden sysctls", "net.ipv4.ip_local_reserved_ports")]
    assert ps.checks("baseline", "v1.27", {}, reserved) == []


def test_the_visitor_takes_init_then_regular_then_ephemeral_containers():
    pod = {"containers": [c("main")], "initContainers": [c("init")], "ephemeralContainers": [c("debug")]}
    assert ps.privileged({}, {k: [{**x, "securityContext": {"privileged": True}} for x in v] for k, v in pod.items()}) == (
        "privileged", 'containers "init", "main", "debug" must not set securityContext.privileged=true')


def test_windows_pods_skip_the_linux_only_restricted_checks_from_1_25():
    windows = spec(c("a"), os={"name": "windows"}, securityContext={"runAsNonRoot": True})
    assert ps.checks("restricted", "latest", {}, windows) == []
    assert [reason for reason, _ in ps.checks("restricted", "v1.24", {}, windows)] == [
        "allowPrivilegeEscalation != false", "unrestricted capabilities", "seccompProfile"]


def test_a_user_namespace_relaxes_run_as_and_baseline_proc_mount_from_1_35():
    pod = spec(c("a", procMount="Unmasked", runAsUser=0, allowPrivilegeEscalation=False,
                 capabilities={"drop": ["ALL"]}), hostUsers=False,
               securityContext={"seccompProfile": {"type": "RuntimeDefault"}})
    assert ps.checks("baseline", "latest", {}, pod) == []
    # Restricted keeps the unconditional procMount check, in place of the baseline one.
    assert ps.checks("restricted", "latest", {}, pod) == [
        ("procMount", 'container "a" must not set securityContext.procMount to "Unmasked"')]
    assert [reason for reason, _ in ps.checks("restricted", "v1.34", {}, pod)] == [
        "procMount", "runAsNonRoot != true", "runAsUser=0"]


# ---- the registry: levels and versions ----------------------------------------------------------
def test_restricted_nginx_fails_the_well_known_four():
    failures = ps.checks("restricted", "latest", {"name": "nginx"}, NGINX)
    assert ps.violation_message("restricted", "latest", failures) == (
        'violates PodSecurity "restricted:latest": '
        'allowPrivilegeEscalation != false (container "nginx" must set securityContext.allowPrivilegeEscalation=false), '
        'unrestricted capabilities (container "nginx" must set securityContext.capabilities.drop=["ALL"]), '
        'runAsNonRoot != true (pod or container "nginx" must set securityContext.runAsNonRoot=true), '
        'seccompProfile (pod or container "nginx" must set securityContext.seccompProfile.type to "RuntimeDefault" '
        'or "Localhost")')
    assert ps.warning_message("restricted", "v1.30", failures).startswith(
        'would violate PodSecurity "restricted:v1.30": allowPrivilegeEscalation != false (container "nginx" must')
    assert ps.checks("baseline", "latest", {}, NGINX) == []
    assert ps.checks("privileged", "latest", {}, spec(c("x", privileged=True), hostNetwork=True)) == []


def test_baseline_privileged_host_network_pod():
    pod = spec(c("nginx", privileged=True), hostNetwork=True)
    failures = ps.checks("baseline", "latest", {}, pod)
    assert ps.violation_message("baseline", "latest", failures) == (
        'violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true), '
        'privileged (container "nginx" must not set securityContext.privileged=true)')
    # Restricted reports baseline's failures first, then its own.
    assert [reason for reason, _ in ps.checks("restricted", "latest", {}, pod)] == [
        "host namespaces", "privileged", "allowPrivilegeEscalation != false", "unrestricted capabilities",
        "runAsNonRoot != true", "seccompProfile"]


def test_older_versions_apply_the_older_checks():
    assert [reason for reason, _ in ps.checks("restricted", "v1.7", {}, NGINX)] == ["runAsNonRoot != true"]
    assert [reason for reason, _ in ps.checks("restricted", "v1.18", {}, NGINX)] == [
        "allowPrivilegeEscalation != false", "runAsNonRoot != true"]
    # Before 1.22 restricted holds capabilities to baseline's; before 1.19 seccomp is the annotations.
    pod = spec(c("a", capabilities={"add": ["NET_ADMIN"]}, allowPrivilegeEscalation=False, runAsNonRoot=True))
    assert ps.checks("restricted", "v1.21", {}, pod) == [
        ("non-default capabilities", 'container "a" must not include "NET_ADMIN" in securityContext.capabilities.add'),
        ("seccompProfile", 'pod or container "a" must set securityContext.seccompProfile.type to "RuntimeDefault" '
         'or "Localhost"')]
    meta = {"annotations": {"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}}
    assert ps.checks("restricted", "v1.18", meta, pod)[-1] == (
        "seccompProfile", 'forbidden annotation seccomp.security.alpha.kubernetes.io/pod="unconfined"')
    assert ps.checks("baseline", "v1.19", meta, pod) == [
        ("non-default capabilities", 'container "a" must not include "NET_ADMIN" in securityContext.capabilities.add')]
    root = spec(c("a", runAsUser=0))
    assert "runAsUser=0" not in [r for r, _ in ps.checks("restricted", "v1.22", {}, root)]
    assert "runAsUser=0" in [r for r, _ in ps.checks("restricted", "v1.23", {}, root)]
    probe = spec({"name": "a", "livenessProbe": {"httpGet": {"host": "x.com"}}})
    assert ps.checks("baseline", "v1.33", {}, probe) == []
    assert ps.checks("baseline", "v1.34", {}, probe) != []


def test_restricted_volumes_replace_the_host_path_check():
    pod = spec(volumes=[{"name": "h", "hostPath": {"path": "/"}}])
    assert ps.checks("baseline", "latest", {}, pod) == [("hostPath volumes", 'volume "h"')]
    assert ("hostPath volumes", 'volume "h"') not in ps.checks("restricted", "latest", {}, pod)
    assert ("restricted volume types", 'volume "h" uses restricted volume type "hostPath"') in ps.checks(
        "restricted", "latest", {}, pod)


def test_versions_newer_than_the_newest_check_are_latest_and_bad_ones_raise():
    assert ps.registry("restricted", ps.LATEST_MINOR) == ps.registry("restricted", 35)
    assert ps.checks("restricted", "v1.10000", {}, NGINX) == ps.checks("restricted", "latest", {}, NGINX)
    for level, version in (("strict", "latest"), ("baseline", "v1.05"), ("baseline", "1.30"), ("baseline", "v2.0")):
        with pytest.raises(ValueError):
            ps.checks(level, version, {}, NGINX)


def test_a_reason_without_detail_stands_alone():
    assert ps.forbidden_detail([("a", ""), ("", "d"), ("b", "e")]) == "a, unknown forbidden reason (d), b (e)"


# ---- namespace labels ---------------------------------------------------------------------------
PRIV = ("privileged", "latest")


def labels(**kv: str) -> dict:
    return {ps.LABEL_PREFIX + k.replace("_", "-"): v for k, v in kv.items()}


@pytest.mark.parametrize(("given", "enforce", "audit", "warn"), [
    ({}, PRIV, PRIV, PRIV),
    (labels(enforce="baseline"), ("baseline", "latest"), PRIV, ("baseline", "latest")),
    (labels(warn="restricted"), PRIV, PRIV, ("restricted", "latest")),
    (labels(audit="baseline"), PRIV, ("baseline", "latest"), PRIV),
    (labels(enforce="baseline", warn="restricted"), ("baseline", "latest"), PRIV, ("restricted", "latest")),
    (labels(enforce="baseline", enforce_version="v1.22"), ("baseline", "v1.22"), PRIV, ("baseline", "v1.22")),
    (labels(enforce="baseline", enforce_version="v1.22", warn_version="latest"),
     ("baseline", "v1.22"), PRIV, ("baseline", "latest")),
    (labels(enforce="baseline", warn_version="v1.23"), ("baseline", "latest"), PRIV, ("baseline", "v1.23")),
    (labels(enforce="baseline", enforce_version="v1.20", warn="restricted", warn_version="v1.21",
            audit="restricted", audit_version="v1.22"),
     ("baseline", "v1.20"), ("restricted", "v1.22"), ("restricted", "v1.21")),
    (labels(enforce="baseline", warn="privileged"), ("baseline", "latest"), PRIV, PRIV),
    (labels(enforce="baseline", warn="foo"), ("baseline", "latest"), PRIV, PRIV),
    (labels(enforce="foo"), ("restricted", "latest"), PRIV, PRIV),
])
def test_namespace_policy_as_policy_to_evaluate(given, enforce, audit, warn):
    policy, _ = ps.namespace_policy(given)
    assert policy == {"enforce": enforce, "audit": audit, "warn": warn}


def test_namespace_label_errors_are_field_errors():
    _, errors = ps.namespace_policy(labels(enforce="strict", enforce_version="v1", audit_version="1.30", warn="x"))
    assert errors == [
        'metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": '
        "must be one of privileged, baseline, restricted",
        'metadata.labels[pod-security.kubernetes.io/enforce-version]: Invalid value: "v1": must be "latest" or "v1.x"',
        'metadata.labels[pod-security.kubernetes.io/audit-version]: Invalid value: "1.30": must be "latest" or "v1.x"',
        'metadata.labels[pod-security.kubernetes.io/warn]: Invalid value: "x": '
        "must be one of privileged, baseline, restricted"]
    assert ps.namespace_policy(labels(enforce="restricted", enforce_version="v1.10000", warn_version="latest"))[1] == []


def test_an_enforce_change_dry_runs_pods_only_when_it_tightens():
    assert not ps.enforce_tightened(("baseline", "latest"), ("baseline", "latest"))
    assert not ps.enforce_tightened(("baseline", "latest"), ("privileged", "v1.20"))
    assert not ps.enforce_tightened(("restricted", "latest"), ("baseline", "latest"))
    assert ps.enforce_tightened(("baseline", "latest"), ("restricted", "latest"))
    assert ps.enforce_tightened(("restricted", "latest"), ("baseline", "v1.30"))


def test_existing_pods_warnings_group_pods_by_reasons():
    def pod(name: str, pod_spec: dict, owner: str = "") -> dict:
        refs = [{"uid": owner, "controller": True}] if owner else []
        return {"metadata": {"name": name, "ownerReferences": refs}, "spec": pod_spec}

    good = spec(c("a", privileged=False))
    pods = [pod("web-2", NGINX), pod("web-1", NGINX), pod("ok", good), pod("root", spec(c("a", privileged=True)))]
    assert ps.existing_pods_warnings("shop", "baseline", "latest", pods) == [
        'existing pods in namespace "shop" violate the new PodSecurity enforce level "baseline:latest"',
        "root: privileged"]
    assert ps.existing_pods_warnings("shop", "restricted", "latest", pods) == [
        'existing pods in namespace "shop" violate the new PodSecurity enforce level "restricted:latest"',
        "ok (and 2 other pods): allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, "
        "seccompProfile",
        "root: privileged, allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, "
        "seccompProfile"]
    assert ps.existing_pods_warnings("shop", "restricted", "latest", pods[:2])[1].startswith("web-1 (and 1 other pod): ")
    assert ps.existing_pods_warnings("shop", "baseline", "latest", [pod("ok", good)]) == []
    many = [pod(f"p{i}", NGINX, owner="rs") for i in range(ps.MAX_PODS_TO_CHECK + 1)]
    assert ps.existing_pods_warnings("shop", "restricted", "latest", many)[0] == (
        f"new PodSecurity enforce level only checked against the first {ps.MAX_PODS_TO_CHECK} of "
        f"{ps.MAX_PODS_TO_CHECK + 1} existing pods")


# ---- which objects carry a pod ------------------------------------------------------------------
@pytest.mark.parametrize(("obj", "expected"), [
    ({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": NGINX}, ({"name": "p"}, NGINX)),
    ({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": {"metadata": {"labels": {"a": "b"}},
                                                                           "spec": NGINX}}},
     ({"labels": {"a": "b"}}, NGINX)),
    ({"apiVersion": "apps/v1", "kind": "StatefulSet", "spec": {"template": {"spec": NGINX}}}, ({}, NGINX)),
    ({"apiVersion": "apps/v1", "kind": "DaemonSet", "spec": {"template": {"spec": NGINX}}}, ({}, NGINX)),
    ({"apiVersion": "apps/v1", "kind": "ReplicaSet", "spec": {"template": {"spec": NGINX}}}, ({}, NGINX)),
    ({"apiVersion": "v1", "kind": "ReplicationController", "spec": {"template": {"spec": NGINX}}}, ({}, NGINX)),
    ({"apiVersion": "v1", "kind": "ReplicationController", "spec": {}}, None),
    ({"apiVersion": "v1", "kind": "PodTemplate", "template": {"spec": NGINX}}, ({}, NGINX)),
    ({"apiVersion": "batch/v1", "kind": "Job", "spec": {"template": {"spec": NGINX}}}, ({}, NGINX)),
    ({"apiVersion": "batch/v1", "kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": NGINX}}}}},
     ({}, NGINX)),
    ({"kind": "Deployment", "spec": {"template": {"spec": NGINX}}}, ({}, NGINX)),
    ({"apiVersion": "example.com/v1", "kind": "Deployment", "spec": {"template": {"spec": NGINX}}}, None),
    ({"apiVersion": "v1", "kind": "Service", "spec": {}}, None),
])
def test_pod_spec_of(obj, expected):
    assert ps.pod_spec_of(obj) == expected
