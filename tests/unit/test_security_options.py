"""securityContext and resources as Docker options: nothing beyond Docker's defaults unless allowed."""

from __future__ import annotations

import os

import pytest

from emukube.manifests.fielderrors import FieldErrors
from emukube.manifests.validate_pod import validate_pod_spec
from emukube.plan.quantity import quantity
from emukube.runtime.podspec import memory_bytes, nano_cpus
from emukube.runtime.security import security_options


def container(**security) -> dict:
    return {"name": "app", "image": "nginx", "securityContext": security}


def test_defaults_keep_dockers_profile_and_capabilities():
    assert security_options({}, {"name": "app"}, allow_privileged=False) == {"privileged": False}


def test_capabilities_beyond_the_baseline_need_allow_privileged():
    c = container(capabilities={"add": ["CHOWN", "SYS_ADMIN", "cap_net_admin"], "drop": ["ALL"]})
    assert security_options({}, c, allow_privileged=False) == {"privileged": False, "cap_add": ["CHOWN"],
                                                               "cap_drop": ["ALL"]}
    allowed = security_options({}, c, allow_privileged=True)
    assert allowed["cap_add"] == ["CHOWN", "SYS_ADMIN", "NET_ADMIN"]


def test_privileged_and_unconfined_only_when_allowed():
    c = container(privileged=True, seccompProfile={"type": "Unconfined"})
    assert security_options({}, c, allow_privileged=False) == {"privileged": False}
    assert security_options({}, c, allow_privileged=True) == {"privileged": True,
                                                              "security_opt": ["seccomp=unconfined"]}


def test_pod_level_seccomp_applies_unless_the_container_says_otherwise():
    pod = {"securityContext": {"seccompProfile": {"type": "Unconfined"}}}
    assert security_options(pod, {"name": "a"}, True)["security_opt"] == ["seccomp=unconfined"]
    assert "security_opt" not in security_options(pod, container(seccompProfile={"type": "RuntimeDefault"}), True)


def test_no_privilege_escalation_is_no_new_privileges():
    assert security_options({}, container(allowPrivilegeEscalation=False), False) == {
        "privileged": False, "security_opt": ["no-new-privileges:true"]}
    assert "security_opt" not in security_options({}, container(allowPrivilegeEscalation=True), False)


@pytest.mark.parametrize("text, value", [
    ("250m", 0.25), ("1", 1.0), (2, 2.0), ("64Mi", 64 * 2**20), ("1G", 1e9), ("1e3", 1000.0), ("1.5Gi", 1.5 * 2**30),
    (".5", 0.5), ("+1k", 1000.0), ("100n", 1e-7),
])
def test_quantities(text, value):
    assert quantity(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["xMi", "1Mx", "", "Mi", "1..2", "1e", True, None, [1], "1e999"])
def test_not_quantities(text):
    assert quantity(text) is None


def test_memory_and_cpu_limits_docker_accepts():
    assert memory_bytes("64Mi") == 64 * 2**20
    assert not memory_bytes("100m")  # a tenth of a byte: no limit rather than a Docker error
    assert memory_bytes("xMi") is None
    assert nano_cpus("250m") == 250_000_000
    assert nano_cpus("1m") == 10_000_000  # Docker's minimum
    assert nano_cpus("64") == (os.cpu_count() or 1) * 1_000_000_000  # Docker refuses more than the machine has


def test_resources_must_be_quantities():
    errs = FieldErrors()
    spec = {"containers": [{"name": "a", "image": "x", "resources": {"limits": {"memory": "lots", "cpu": "-1"}}}]}
    validate_pod_spec(spec, "spec", errs, allow_privileged=False)
    assert errs.items == [
        "spec.containers[0].resources.limits[memory]: Invalid value: \"lots\": quantities must match the regular "
        "expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
        'spec.containers[0].resources.limits[cpu]: Invalid value: "-1": must be greater than or equal to 0']
