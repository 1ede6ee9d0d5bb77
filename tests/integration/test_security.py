"""Safe by default: host bindings on loopback, privileged asks refused unless allowed, Secret
files only inside the container and Secret data never printed unless asked, Docker's default
seccomp profile kept."""

from __future__ import annotations

import base64
import json

import pytest
import yaml
from conftest import HERE, run, wait_until
from leftovers import made_by

MANIFEST = HERE / "manifests" / "security.yaml"
PASSWORD = "hunter2-s3cret"
PRIVILEGED_POD = """\
apiVersion: v1
kind: Pod
metadata: {name: root, labels: {app: root}}
spec:
  containers:
    - name: echo
      image: emukube/echo:1.0
      securityContext:
        privileged: PRIVILEGED
        capabilities: {add: [SYS_ADMIN], drop: [NET_RAW]}
"""


def pod(spec: dict | None = None, security: dict | None = None, volumes: list | None = None) -> dict:
    container = {"name": "echo", "image": "emukube/echo:1.0"}
    if security:
        container["securityContext"] = security
    if volumes:
        container["volumeMounts"] = [{"name": v["name"], "mountPath": f"/{v['name']}"} for v in volumes]
    body = {"containers": [container], **(spec or {}), **({"volumes": volumes} if volumes else {})}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "root"}, "spec": body}


REFUSED = {
    "privileged": (pod(security={"privileged": True}), "spec.containers[0].securityContext.privileged"),
    "hostNetwork": (pod({"hostNetwork": True}), "spec.hostNetwork"),
    "hostPID": (pod({"hostPID": True}), "spec.hostPID"),
    "SYS_ADMIN": (pod(security={"capabilities": {"add": ["SYS_ADMIN"]}}),
                  "spec.containers[0].securityContext.capabilities.add[0]"),
    "seccomp": (pod(security={"seccompProfile": {"type": "Unconfined"}}),
                "spec.containers[0].securityContext.seccompProfile.type"),
    "docker.sock": (pod(volumes=[{"name": "s", "hostPath": {"path": "/var/run/docker.sock"}}]),
                    "spec.volumes[0].hostPath.path"),
}


def cluster_containers(engine, cluster) -> list:
    return engine.containers.list(ignore_removed=True, all=True, filters={"label": f"emukube.io/cluster={cluster.name}"})


def pod_container(engine, cluster, prefix: str):
    [found] = [c for c in cluster_containers(engine, cluster) if f"_pod_default_{prefix}" in c.name]
    return found


def test_host_bindings_are_on_loopback_only(engine, cluster):
    bindings = []
    for c in cluster_containers(engine, cluster):
        for port, hosts in (c.attrs["HostConfig"].get("PortBindings") or {}).items():
            bindings += [(c.name, port, h["HostIp"]) for h in hosts or []]
    assert len(bindings) >= 2  # the NodePort and the LoadBalancer port
    assert [b for b in bindings if not b[2].startswith("127.")] == []
    assert {b[2] for b in bindings if b[0].endswith("web-np")} == {"127.0.0.1"}
    external_ip = cluster.svc_field("web-lb", 3)
    assert external_ip.startswith("127.0.1")  # its own loopback address
    assert {b[2] for b in bindings if b[0].endswith("web-lb")} == {"127.0.0.1", external_ip}  # + its nodePort


def test_every_container_keeps_dockers_default_seccomp_profile_and_no_privileges(engine, cluster):
    containers = cluster_containers(engine, cluster)
    assert len(containers) >= 5
    for c in containers:
        host = c.attrs["HostConfig"]
        assert not any("seccomp" in opt and "unconfined" in opt for opt in host.get("SecurityOpt") or []), c.name
        assert host.get("Privileged") is False, c.name
        assert not host.get("CapAdd"), c.name
        assert host.get("NetworkMode") not in ("host",) and host.get("PidMode") in ("", None), c.name


@pytest.mark.parametrize("what", sorted(REFUSED))
def test_privileged_asks_are_refused_on_a_running_cluster_too(engine, cluster, tmp_path, what):
    obj, field = REFUSED[what]
    path = tmp_path / "root.yaml"
    path.write_text(json.dumps(obj))
    before = sorted(c.id for c in cluster_containers(engine, cluster))
    result = cluster.emukube("apply", str(path), check=False)
    assert result.returncode == 2
    assert result.stderr.startswith(f'error: {path} (document 1): The Pod "root" is invalid: {field}: Forbidden: ')
    assert result.stderr.rstrip().endswith("(pass --allow-privileged to allow it)")
    assert len(result.stderr.splitlines()) == 1
    assert sorted(c.id for c in cluster_containers(engine, cluster)) == before


def test_allow_privileged_grants_what_was_asked(engine, tmp_path):
    cluster = "tsecpriv"
    path = tmp_path / "root.yaml"
    path.write_text(PRIVILEGED_POD.replace("PRIVILEGED", "false"))
    try:
        refused = run("up", str(path), cluster=cluster, check=False)
        assert refused.returncode == 2 and 'adding capability "SYS_ADMIN" is refused by default' in refused.stderr
        assert made_by(engine, cluster) == []
        run("up", str(path), "--allow-privileged", "--timeout", "120s", cluster=cluster, timeout=200)
        [pod] = engine.containers.list(ignore_removed=True, filters={"label": [f"emukube.io/cluster={cluster}", "emukube.io/role=pod"]})
        host = pod.attrs["HostConfig"]
        assert host["CapAdd"] == ["SYS_ADMIN"] and host["CapDrop"] == ["NET_RAW"]
        assert host["Privileged"] is False  # only what was asked
        assert not any("unconfined" in opt for opt in host.get("SecurityOpt") or [])
    finally:
        run("down", cluster=cluster, check=False)
    assert made_by(engine, cluster) == []


def test_secret_files_are_in_memory_only_with_kubernetes_modes(engine, cluster):
    pod = cluster.pods("web-")[0]
    out = cluster.emukube("exec", pod, "--", "sh", "-c",
                          "stat -L -c '%n %u:%g %a' /etc/creds/password /etc/creds/token /etc/strict/pw "
                          "/etc/strict/tok; cat /etc/creds/password").stdout.splitlines()
    assert out == ["/etc/creds/password 0:0 644", "/etc/creds/token 0:0 644",  # Kubernetes' defaultMode 0644
                   "/etc/strict/pw 0:0 400", "/etc/strict/tok 0:0 440", PASSWORD]
    container = pod_container(engine, cluster, "web-")
    # in memory: bind-mounted from the cluster's tmpfs config volume; no env variable shows them
    config = engine.volumes.get(f"emukube-{cluster.name}-config").attrs
    assert config["Options"]["type"] == "tmpfs"
    sources = sorted(m.get("Source", "") for m in container.attrs["Mounts"])  # the engine's order varies
    assert [s for s in sources if "creds" in s or "strict" in s or "secret" in s.lower()] == [
        f"{config['Mountpoint']}/default_{pod}/{name}" for name in ("creds", "strict")]
    assert not any(PASSWORD in e for e in container.attrs["Config"]["Env"])


def test_secret_data_is_never_printed_unless_asked(cluster):
    encoded = base64.b64encode(PASSWORD.encode()).decode()
    for args in (["get", "secret", "creds", "-o", "yaml"], ["get", "secrets", "-o", "json"],
                 ["get", "secrets"], ["get", "secret", "creds"]):
        out = cluster.emukube(*args).stdout
        assert PASSWORD not in out and encoded not in out, args
    hidden = yaml.safe_load(cluster.emukube("get", "secret", "creds", "-o", "yaml").stdout)
    assert set(hidden.get("data") or hidden.get("stringData")) == {"password", "token"}
    shown = json.loads(cluster.emukube("get", "secret", "creds", "-o", "json", "--show-secrets").stdout)
    values = {**(shown.get("stringData") or {}), **(shown.get("data") or {})}
    assert values["password"] in (PASSWORD, encoded)


USERS = """\
apiVersion: v1
kind: Pod
metadata: {name: users}
spec:
  securityContext: {runAsUser: 1000, runAsGroup: 3000, supplementalGroups: [4000], fsGroup: 2000}
  containers:
    - name: echo
      image: emukube/echo:1.0
      command: ["sh", "-c", "touch /tmp/mine; exec sleep 3600"]
    - name: other
      image: emukube/echo:1.0
      command: ["sleep", "3600"]
      securityContext: {runAsUser: 1001}
---
apiVersion: v1
kind: Pod
metadata: {name: nonroot}
spec:
  securityContext: {runAsNonRoot: true}
  containers: [{name: echo, image: emukube/echo:1.0}]
"""


def test_security_context_users_groups_and_non_root(cluster):
    """As the kubelet runs them: the pod's user and groups, a container's own user over it,
    fsGroup as a supplemental group; runAsNonRoot over an image that runs as root is refused
    with the kubelet's words."""
    cluster.emukube("apply", "-", "--no-wait", input=USERS)
    try:
        wait_until(lambda: "2/2" in cluster.emukube("get", "pods", "users", check=False).stdout, "pod users running",
                   timeout=90)
        ids = cluster.emukube("exec", "users", "-c", "echo", "--", "id").stdout.split()
        assert ids[:2] == ["uid=1000", "gid=3000"] and set(ids[2].split("=")[1].split(",")) == {"3000", "2000", "4000"}
        assert cluster.emukube("exec", "users", "-c", "other", "--", "id", "-u").stdout.strip() == "1001"
        wait_until(lambda: "container has runAsNonRoot and image will run as root" in
                   cluster.emukube("events").stdout, "the kubelet's refusal of nonroot", timeout=60)
        row = next(line.split() for line in cluster.emukube("get", "pods").stdout.splitlines()
                   if line.startswith("nonroot "))
        assert row[1] == "0/1" and row[2] != "Running", row
    finally:
        cluster.emukube("delete", "pod", "users", check=False)
        cluster.emukube("delete", "pod", "nonroot", check=False)
