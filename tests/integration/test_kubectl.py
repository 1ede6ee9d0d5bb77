"""The real kubectl (1.35) against emukube's API server, as a user types it; outputs checked."""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time

import httpx
import pytest
import yaml
from conftest import EMUKUBE, HERE, run, wait_until
from kubectl_tools import KUBECTL, Kube

MANIFEST = HERE / "manifests" / "kubectl.yaml"
POD_IP = re.compile(r"^10\.\d+\.\d+\.\d+$")


def columns(line: str) -> list[str]:
    return re.split(r"\s{2,}", line.strip())


@pytest.fixture(scope="module")
def kube(cluster, tmp_path_factory) -> Kube:
    k = Kube(cluster.name, tmp_path_factory.mktemp("kube"))
    k("rollout", "status", "deployment/web", "--timeout=90s")
    return k


def web_pods(kube: Kube) -> list[str]:
    return [n.split("/", 1)[1] for n in kube.lines("get", "pods", "-l", "app=web", "-o", "name")]


# ---- reading --------------------------------------------------------------------------------
def test_version_and_cluster_info(kube):
    assert "Server Version: v1.35" in kube("version").stdout
    info = kube("cluster-info").stdout
    assert re.search(r"Kubernetes control plane.* is running at .*https://127\.0\.0\.1:\d+", info), info


def test_get_pods_wide(kube):
    lines = kube.lines("get", "pods", "-o", "wide")
    assert columns(lines[0]) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE",
                                 "NOMINATED NODE", "READINESS GATES"]
    rows = [columns(line) for line in lines[1:]]
    assert len(rows) == 2, lines
    for row in rows:
        assert row[0].startswith("web-") and row[1:4] == ["1/1", "Running", "0"], row
        assert POD_IP.match(row[5]) and row[6] == "node-1", row
    # The image by its id, as the kubelet with cri-dockerd names an image it never pulled.
    ids = kube("get", "pods", "-o", "jsonpath={.items[*].status.containerStatuses[*].imageID}").stdout.split()
    assert len(ids) == 2 and all(re.fullmatch(r"docker://sha256:[0-9a-f]{64}", i) for i in ids), ids


def test_get_all_and_several_kinds(kube):
    text = kube("get", "all").stdout
    for name in ("service/web", "deployment.apps/web", "replicaset.apps/web-"):
        assert name in text, text
    assert len(re.findall(r"^pod/web-", text, re.M)) == 2, text
    text = kube("get", "svc,deploy").stdout
    assert re.search(r"^service/web\s+ClusterIP\s+10\.", text, re.M), text
    assert re.search(r"^deployment\.apps/web\s+2/2\s+2\s+2\s", text, re.M), text
    endpoints = kube("get", "endpoints", "web")  # as on 1.33 and later: v1 Endpoints are deprecated
    assert endpoints.stderr.strip() == ("Warning: v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 "
                                        "EndpointSlice"), endpoints.stderr
    assert re.search(r"^web\s+10\.\d+\.\d+\.\d+:\d+", endpoints.stdout.splitlines()[1]), endpoints.stdout


def test_emukube_get_prints_the_servers_warnings_as_kubectl_does(cluster, kube):
    warning = "Warning: v1 ComponentStatus is deprecated in v1.19+"
    assert kube("get", "componentstatuses").stderr.strip() == warning
    ours = cluster.emukube("get", "componentstatuses")
    assert ours.stderr.strip() == warning and "etcd-0" in ours.stdout, ours
    deprecated = "Warning: v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"
    ours = cluster.emukube("get", "endpoints", "web", "-o", "name")  # where emukube get asks the server
    assert ours.stderr.strip() == deprecated and ours.stdout.strip() == "endpoints/web", ours
    ours = cluster.emukube("get", "endpoints", "web")  # its own table (NOT-READY): no request of Endpoints
    assert ours.stderr.strip() == "" and ours.stdout.startswith("NAME"), ours


def test_label_selectors_and_show_labels(kube):
    lines = kube.lines("get", "pods", "-l", "app=web", "--show-labels")
    assert columns(lines[0])[-1] == "LABELS"
    assert all("app=web" in line and "pod-template-hash=" in line for line in lines[1:]) and len(lines) == 3
    empty = kube("get", "pods", "-l", "app=nothing")
    assert empty.stdout == "" and "No resources found in default namespace." in empty.stderr
    assert len(kube.lines("get", "pods", "-l", "app in (web,api),app!=api")) == 3


def test_output_name_jsonpath_custom_columns_sort_by(kube):
    names = kube.lines("get", "pods", "-o", "name")
    assert len(names) == 2 and all(n.startswith("pod/web-") for n in names)
    assert kube.lines("get", "deploy", "-o", "name") == ["deployment.apps/web"]
    ips = kube("get", "pods", "-o", "jsonpath={.items[*].status.podIP}").stdout.split()
    assert len(ips) == 2 and all(POD_IP.match(ip) for ip in ips), ips
    lines = kube.lines("get", "pods", "-o", "custom-columns=NAME:.metadata.name,IP:.status.podIP",
                       "--sort-by=.metadata.name")
    assert columns(lines[0]) == ["NAME", "IP"]
    assert [columns(line)[0] for line in lines[1:]] == sorted(web_pods(kube))
    assert sorted(columns(line)[1] for line in lines[1:]) == sorted(ips)


def test_describe(kube):
    pod = web_pods(kube)[0]
    text = kube("describe", "pod", pod).stdout
    for pattern in (rf"Name:\s+{pod}\n", r"Namespace:\s+default\n", r"Status:\s+Running\n",
                    r"Controlled By:\s+ReplicaSet/web-\w+\n", r"IP:\s+10\.", r"Node:\s+node-1/",
                    # the ServiceAccount admission plugin's volume, and its mount in the container
                    r"/var/run/secrets/kubernetes.io/serviceaccount from (kube-api-access-\w{5}) \(ro\)\n",
                    r"kube-api-access-\w{5}:\n\s+Type:\s+Projected .*\n\s+TokenExpirationSeconds:\s+3607\n"
                    r"\s+ConfigMapName:\s+kube-root-ca.crt\n"):
        assert re.search(pattern, text), (pattern, text)
    # The scheduler's and the kubelet's events, found by the pod's uid as kubectl finds them.
    obj = kube.obj("get", "pod", pod)
    container, image = obj["spec"]["containers"][0]["name"], obj["spec"]["containers"][0]["image"]
    for pattern in (rf"Normal\s+Scheduled\s+.*default-scheduler\s+Successfully assigned default/{pod} to node-1\n",
                    rf'Normal\s+Pulled\s+.*kubelet\s+Container image "{re.escape(image)}" already present on machine\n',
                    rf"Normal\s+Created\s+.*kubelet\s+Created container: {container}\n",
                    rf"Normal\s+Started\s+.*kubelet\s+Started container {container}\n"):
        assert re.search(pattern, text), (pattern, text)
    uids = kube("get", "events", "--field-selector", f"involvedObject.name={pod}", "-o",
                "jsonpath={.items[*].involvedObject.uid}").stdout.split()
    assert uids and set(uids) == {obj["metadata"]["uid"]}, uids
    text = kube("describe", "svc", "web").stdout
    assert re.search(r"Selector:\s+app=web", text) and re.search(r"Endpoints:\s+10\.", text), text
    text = kube("describe", "deploy", "web").stdout
    assert re.search(r"Replicas:\s+2 desired \| 2 updated \| 2 total \| 2 available \| 0 unavailable", text), text
    assert re.search(r"NewReplicaSet:\s+web-\w+ \(2/2 replicas created\)", text), text
    # The deployment controller's and the ReplicaSet's events
    rs = re.search(r"NewReplicaSet:\s+(web-\w+)", text).group(1)
    assert re.search(rf"Normal\s+ScalingReplicaSet\s+.*deployment-controller\s+Scaled up replica set {rs} from 0 to 2\n",
                     text), text
    text = kube("describe", "rs", rs).stdout
    for name in web_pods(kube):
        assert re.search(rf"Normal\s+SuccessfulCreate\s+.*replicaset-controller\s+Created pod: {name}\n", text), text


def test_debug_runs_an_ephemeral_container_in_the_pod(kube):
    """kubectl debug POD: an ephemeral container in the pod's network and, with --target, among
    its processes; -i attaches to it; once it ended it stays, never restarted."""
    pod = web_pods(kube)[0]
    # kubectl debug read the pod's spec.securityContext without looking, and panicked while the
    # API server did not default it.
    assert kube.obj("get", "pod", pod)["spec"]["securityContext"] == {}
    out = kube("debug", "-i", pod, "--image=emukube/echo:1.0", "--image-pull-policy=Never", "--container=dbg",
               "--target=echo", "--profile=baseline", "--", "sh",
               input="echo pid1=$(tr '\\0' ' ' < /proc/1/cmdline); echo host=$(hostname); exit 3\n", timeout=90)
    assert "pid1=/usr/local/bin/netexec" in out.stdout and f"host={pod}" in out.stdout, out
    wait_until(lambda: "terminated" in _ephemeral(kube, pod, "dbg")["state"], "the debug container ended")
    ended = _ephemeral(kube, pod, "dbg")
    assert ended["state"]["terminated"]["exitCode"] == 3 and ended["restartCount"] == 0, ended
    assert "pid1=/usr/local/bin/netexec" in kube("logs", pod, "-c", "dbg").stdout
    named = kube("debug", pod, "--image=emukube/echo:1.0", "--container=echo", "--", "true", check=False)
    assert f'The Pod "{pod}" is invalid: spec.ephemeralContainers[1].name: Duplicate value: "echo"' in named.stderr
    # The general profile adds SYS_PTRACE: refused unless `up --allow-privileged`, as other capabilities.
    general = kube("debug", pod, "--image=emukube/echo:1.0", "--profile=general", "--", "true", check=False)
    assert general.returncode == 1 and "panic" not in general.stderr, general.stderr
    assert 'Forbidden: adding capability "SYS_PTRACE" is refused by default' in general.stderr, general.stderr


def _ephemeral(kube: Kube, pod: str, name: str) -> dict:
    statuses = kube.obj("get", "pod", pod)["status"].get("ephemeralContainerStatuses") or []
    return next((s for s in statuses if s["name"] == name), {"state": {}})


def test_the_node_keeps_a_lease_as_a_kubelet_does(kube):
    """kubectl describe node said "Failed to get lease" while no kubelet kept one."""
    text = kube("describe", "node", "node-1").stdout
    assert re.search(r"Lease:\n\s+HolderIdentity:\s+node-1\n\s+AcquireTime:\s+<unset>\n\s+RenewTime:\s+\w{3}, ", text), text
    lease = kube.obj("get", "lease", "-n", "kube-node-lease", "node-1")
    assert lease["spec"]["leaseDurationSeconds"] == 40 and lease["metadata"]["ownerReferences"][0]["kind"] == "Node"
    first = lease["spec"]["renewTime"]
    wait_until(lambda: kube.obj("get", "lease", "-n", "kube-node-lease", "node-1")["spec"]["renewTime"] != first,
               "the lease renewed", timeout=30)


def test_kubectl_apply_carries_on_from_emukube_up(kube, cluster):
    # `up` wrote the manifest as kubectl apply does (last-applied-configuration): applying the
    # same file again changes nothing and warns of nothing; diff sees nothing either way.
    applied = kube("apply", "-f", str(MANIFEST))
    assert applied.stderr == "" and applied.stdout.split("\n")[:-1] == [
        "deployment.apps/web unchanged", "service/web unchanged", "configmap/settings unchanged"], applied
    assert kube("diff", "-f", str(MANIFEST), check=False).returncode == 0
    again = cluster.emukube("apply", "-f", str(MANIFEST))  # kubectl's habit: -f
    assert re.findall(r"^\S+ (\w+)$", again.stdout, re.M) == ["unchanged"] * 3, again.stdout
    nothing = cluster.emukube("apply", check=False)
    assert nothing.returncode == 2 and nothing.stderr.strip() == "error: must specify one of -f and -k", nothing
    assert re.search(r"Annotations:\s+<none>\n", cluster.emukube("describe", "svc", "web").stdout)


def _metric(text: str, metric: str, **wanted: str) -> float:
    """The sum of a metric's samples whose labels include `wanted` (Prometheus' text format)."""
    total = 0.0
    for line in text.splitlines():
        match = re.fullmatch(rf"{metric}(?:\{{(.*)\}})? (\S+)", line)
        if match:
            labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(1) or ""))
            if all(labels.get(k) == v for k, v in wanted.items()):
                total += float(match.group(2))
    return total


def test_the_api_servers_metrics_as_kubectl_get_raw_reads_them(kube):
    before = kube("get", "--raw", "/metrics").stdout
    lists = _metric(before, "apiserver_request_total", resource="configmaps", verb="LIST", scope="namespace",
                    code="200")
    kube("get", "configmaps", "-n", "kube-system")
    kube("get", "configmap", "nope", check=False)
    after = kube("get", "--raw", "/metrics").stdout
    assert _metric(after, "apiserver_request_total", resource="configmaps", verb="LIST", scope="namespace",
                   code="200") == lists + 1
    assert _metric(after, "apiserver_request_total", resource="configmaps", verb="GET", code="404") >= 1
    assert _metric(after, "apiserver_request_duration_seconds_count", resource="configmaps", verb="LIST",
                   scope="namespace") == lists + 1
    assert "# TYPE apiserver_request_duration_seconds histogram" in after.splitlines()
    assert _metric(after, "apiserver_longrunning_requests", verb="WATCH") >= 1  # the controller's informer
    # Counted when read: the same as a listing made just before (a namespace a test before this one
    # deleted may go between the two, so both are read again until they agree).
    wait_until(lambda: len(kube.lines("get", "namespaces", "-o", "name")) == _metric(
        kube("get", "--raw", "/metrics").stdout, "apiserver_storage_objects", resource="namespaces"),
        "apiserver_storage_objects to count the namespaces kubectl lists", timeout=30)
    assert _metric(after, "process_resident_memory_bytes") > 10e6
    # A non-resource URL under RBAC: system:monitoring may read it, a bare ServiceAccount may not.
    account = "system:serviceaccount:default:default"
    refused = kube("get", "--raw", "/metrics", f"--as={account}", check=False)
    assert refused.returncode == 1 and refused.stderr.strip() == \
        f'Error from server (Forbidden): forbidden: User "{account}" cannot get path "/metrics"'
    monitoring = kube("get", "--raw", "/metrics", f"--as={account}", "--as-group=system:monitoring")
    assert "apiserver_request_total" in monitoring.stdout
    # The health SLIs: each check's last result, and how often it passed, per endpoint
    passed = _metric(kube("get", "--raw", "/metrics/slis").stdout, "kubernetes_healthchecks_total", name="etcd",
                     status="success", type="livez")
    assert kube("get", "--raw", "/livez").stdout == "ok"
    slis = kube("get", "--raw", "/metrics/slis", f"--as={account}", "--as-group=system:monitoring").stdout
    assert _metric(slis, "kubernetes_healthchecks_total", name="etcd", status="success", type="livez") >= passed + 1
    assert _metric(slis, "kubernetes_healthcheck", name="etcd", type="livez") == 1
    assert "# TYPE kubernetes_healthcheck gauge" in slis.splitlines()


def test_api_resources_and_explain(kube):
    lines = kube.lines("api-resources")
    assert columns(lines[0]) == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    assert ["deployments", "deploy", "apps/v1", "true", "Deployment"] in [columns(line) for line in lines]
    assert ["pods", "po", "v1", "true", "Pod"] in [columns(line) for line in lines]
    text = kube("explain", "service.spec").stdout
    assert "KIND:       Service" in text and "FIELD: spec <ServiceSpec>" in text, text
    assert "clusterIP\t<string>" in text, text


def test_watch_sees_a_deleted_pod(kube):
    pod = web_pods(kube)[0]
    watch = subprocess.Popen([KUBECTL, "get", "pods", "-w", "--request-timeout=60s"], env=kube.env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert pod in watch.stdout.readline() + watch.stdout.readline() + watch.stdout.readline()
        kube("delete", "pod", pod, "--wait=false")
        deadline = time.monotonic() + 30
        seen = []
        while time.monotonic() < deadline:
            line = watch.stdout.readline()
            seen.append(line)
            if line.startswith(pod) and "Terminating" in line:
                break
        else:
            pytest.fail(f"no Terminating line for {pod}: {seen}")
    finally:
        watch.kill()
        watch.wait(5)
    kube("rollout", "status", "deployment/web", "--timeout=90s")


UID_DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata: {name: uid-env}
spec:
  selector: {matchLabels: {app: uid-env}}
  template:
    metadata: {labels: {app: uid-env}}
    spec:
      containers:
      - name: c
        image: emukube/echo:1.0
        env: [{name: POD_UID, valueFrom: {fieldRef: {fieldPath: metadata.uid}}}]
"""
UID_POD = """apiVersion: v1
kind: Pod
metadata: {name: uid-env-solo, labels: {app: uid-env}}
spec:
  containers:
  - name: c
    image: emukube/echo:1.0
    env: [{name: POD_UID, valueFrom: {fieldRef: {fieldPath: metadata.uid}}}]
"""


def test_a_pod_is_listed_pending_before_it_runs_and_its_env_has_its_uid(kube):
    """A watch sees a Deployment's new pod Pending, then Running; the downward API hands its
    env its object's uid (a pod's object is written before its containers are made)."""
    watch = subprocess.Popen([KUBECTL, "get", "pods", "-l", "app=uid-env", "-w", "--request-timeout=60s",
                              "-o", r'jsonpath={.metadata.name} {.status.phase}{"\n"}'],
                             env=kube.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    phases: dict[str, list[str]] = {}

    def read_until(done) -> None:  # bounded by the watch's --request-timeout
        while not done():
            name, _, phase = watch.stdout.readline().strip().partition(" ")
            if not name:
                return
            phases.setdefault(name, []).append(phase)

    def made() -> list[str]:
        return [n for n in phases if n != "uid-env-solo"]

    try:
        kube("apply", "-f", "-", input=UID_POD)
        read_until(lambda: "uid-env-solo" in phases)  # the watch is running
        kube("apply", "-f", "-", input=UID_DEPLOYMENT)
        read_until(lambda: any("Running" in phases[n] for n in made()))
        assert len(made()) == 1 and phases[made()[0]][0] == "Pending" and "Running" in phases[made()[0]], phases
    finally:
        watch.kill()
        watch.wait(5)
    try:
        kube("wait", "pod", "-l", "app=uid-env", "--for=condition=Ready", "--timeout=60s", timeout=90)
        for pod in kube.lines("get", "pods", "-l", "app=uid-env", "-o", "name"):
            uid = kube("get", pod, "-o", "jsonpath={.metadata.uid}").stdout
            assert re.fullmatch(r"[0-9a-f-]{36}", uid), uid
            assert kube("exec", pod, "--", "printenv", "POD_UID").stdout.strip() == uid, pod
    finally:
        kube("delete", "-f", "-", "--wait=false", input=UID_DEPLOYMENT + "---\n" + UID_POD, check=False)


def test_scaled_pods_are_listed_while_their_containers_are_made(kube):
    """kubectl lists every pod a scale-up made at once, those whose containers are still being
    made as ContainerCreating (the engine makes a few at a time), as on Kubernetes."""
    kube("create", "deployment", "crowd", "--image=emukube/echo:1.0", "--replicas=1")
    try:
        kube("rollout", "status", "deployment/crowd", "--timeout=60s", timeout=90)
        kube("scale", "deployment/crowd", "--replicas=12")
        seen: list[list[str]] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            statuses = [columns(line)[2] for line in kube.lines("get", "pods", "-l", "app=crowd", "--no-headers")]
            seen.append(statuses)
            if len(statuses) == 12 and "ContainerCreating" in statuses or statuses.count("Running") == 12:
                break
            time.sleep(0.1)
        assert len(seen[-1]) == 12 and "ContainerCreating" in seen[-1], seen
    finally:
        kube("delete", "deployment", "crowd", "--wait=false", check=False)


# ---- writing --------------------------------------------------------------------------------
CM = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\ndata: {round: 'VALUE'}\n"


def test_apply_create_unchanged_configured_diff_and_delete(kube, tmp_path):
    path = tmp_path / "extra.yaml"
    path.write_text(CM.replace("VALUE", "one"))
    assert kube("apply", "-f", str(path)).stdout.strip() == "configmap/extra created"
    assert kube("apply", "-f", str(path)).stdout.strip() == "configmap/extra unchanged"
    assert kube("diff", "-f", str(path), check=False).returncode == 0
    path.write_text(CM.replace("VALUE", "two"))
    diff = kube("diff", "-f", str(path), check=False)
    assert diff.returncode == 1 and "-  round: one" in diff.stdout and "+  round: two" in diff.stdout, diff
    assert kube("apply", "-f", str(path)).stdout.strip() == "configmap/extra configured"
    assert kube("get", "cm", "extra", "-o", "jsonpath={.data.round}").stdout == "two"
    assert kube("delete", "-f", str(path)).stdout.strip() == 'configmap "extra" deleted from default namespace'
    gone = kube("get", "cm", "extra", check=False)
    assert gone.returncode == 1 and 'Error from server (NotFound): configmaps "extra" not found' in gone.stderr


def test_what_get_prints_as_a_list_applies_back(kube, tmp_path):
    """`kubectl get A,B -o yaml` prints a v1 List; applying it validates each item against the
    OpenAPI v2 document, which kubectl reads only as protobuf."""
    kube("create", "configmap", "listed-a", "--from-literal=k=1")
    kube("create", "configmap", "listed-b", "--from-literal=k=2")
    saved = tmp_path / "saved.yaml"
    saved.write_text(kube("get", "configmap", "listed-a", "listed-b", "-o", "yaml").stdout)
    assert yaml.safe_load(saved.read_text())["kind"] == "List"
    kube("delete", "configmap", "listed-a", "listed-b")
    applied = kube("apply", "-f", str(saved))
    assert applied.stdout.split() == ["configmap/listed-a", "created", "configmap/listed-b", "created"], applied
    assert kube("get", "configmap", "listed-b", "-o", "jsonpath={.data.k}").stdout == "2"
    typo = kube("apply", "-f", "-", check=False, input=json.dumps({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "listed-c"}, "dataa": {"k": "3"}}]}))
    assert typo.returncode == 1 and 'unknown field "dataa"' in typo.stderr, typo.stderr


def test_server_side_apply_and_its_conflicts(kube, tmp_path):
    path = tmp_path / "ssa.yaml"
    path.write_text(CM.replace("extra", "ssa").replace("VALUE", "one"))
    assert kube("apply", "--server-side", "-f", str(path)).stdout.strip() == "configmap/ssa serverside-applied"
    kube("patch", "cm", "ssa", "--type=merge", "-p", '{"data":{"round":"by-hand"}}')
    clash = kube("apply", "--server-side", "--field-manager=other", "-f", str(path), check=False)
    assert clash.returncode == 1 and "Apply failed with 1 conflict" in clash.stderr, clash.stderr
    forced = kube("apply", "--server-side", "--force-conflicts", "--field-manager=other", "-f", str(path))
    assert forced.stdout.strip() == "configmap/ssa serverside-applied"
    assert kube("get", "cm", "ssa", "-o", "jsonpath={.data.round}").stdout == "one"
    kube("delete", "cm", "ssa")


def test_edit_patch_label_annotate(kube, tmp_path):
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/mode: fast/mode: edited/' \"$1\"\n")
    editor.chmod(0o755)
    assert kube("edit", "cm", "settings", env={"EDITOR": str(editor)}).stdout.strip() == "configmap/settings edited"
    assert kube("get", "cm", "settings", "-o", "jsonpath={.data.mode}").stdout == "edited"
    assert kube("patch", "cm", "settings", "--type=merge", "-p", '{"data":{"mode":"merged"}}').stdout.strip() \
        == "configmap/settings patched"
    kube("patch", "cm", "settings", "--type=json", "-p", '[{"op":"replace","path":"/data/mode","value":"json"}]')
    assert kube("get", "cm", "settings", "-o", "jsonpath={.data.mode}").stdout == "json"
    out = kube("patch", "svc", "web", "-p", '{"metadata":{"labels":{"patched":"yes"}}}').stdout.strip()
    assert out == "service/web patched"
    assert kube("get", "svc", "web", "-o", "jsonpath={.metadata.labels.patched}").stdout == "yes"
    unchanged = kube("patch", "svc", "web", "-p", '{"metadata":{"labels":{"patched":"yes"}}}').stdout.strip()
    assert unchanged == "service/web patched (no change)"
    assert kube("label", "svc", "web", "color=blue").stdout.strip() == "service/web labeled"
    assert kube("annotate", "deploy", "web", "note=hi").stdout.strip() == "deployment.apps/web annotated"
    assert kube("get", "deploy", "web", "-o", "jsonpath={.metadata.annotations.note}").stdout == "hi"


def endpoint_ips(kube: Kube, service: str) -> set[str]:
    slices = kube.obj("get", "endpointslices", "-l", f"kubernetes.io/service-name={service}")["items"]
    return {a for s in slices for e in s.get("endpoints") or [] for a in e["addresses"]}


def test_a_pods_labels_are_the_apis_and_services_follow_them(cluster, kube):
    """`kubectl label pod` stays (the controller does not put back the labels it made the pod
    with); a pod labelled out of a Service's selector leaves its endpoints, and out of its
    ReplicaSet's, is released (no owner any more) and replaced, and runs on; labelled back,
    it is adopted again and the one pod too many removed: its replacement, whose deletion cost
    is lower. (Without one, two pods ready for about as long rank alike on the ReplicaSet
    controller's logarithmic scale, and the lower uid goes: either one, as on Kubernetes.)"""
    replicas = kube.obj("get", "deploy", "web")["spec"]["replicas"]
    before = wait_until(lambda: len(pods := web_pods(kube)) == replicas and pods, f"{replicas} web pods, none stopping")
    pod = before[0]
    ip = kube("get", "pod", pod, "-o", "jsonpath={.status.podIP}").stdout
    assert kube("label", "pod", pod, "tier=back").stdout.strip() == f"pod/{pod} labeled"
    wait_until(lambda: ip in endpoint_ips(kube, "web"), "the pod among the Service's endpoints")
    kube("label", "pod", pod, "app=quarantine", "--overwrite")
    try:
        wait_until(lambda: ip not in endpoint_ips(kube, "web"), "the relabelled pod out of the endpoints")
        labels = kube.obj("get", "pod", pod)["metadata"]["labels"]
        assert labels["tier"] == "back" and labels["app"] == "quarantine", labels
        wait_until(lambda: not kube.obj("get", "pod", pod)["metadata"].get("ownerReferences"),
                   "the relabelled pod released by its ReplicaSet")
        wait_until(lambda: len(set(web_pods(kube)) - set(before)) == 1 and
                   kube.obj("get", "deploy", "web")["status"].get("readyReplicas") == replicas,
                   "a replacement, ready, in the Deployment")
        assert kube("get", "pod", pod, "-o", "jsonpath={.status.phase}").stdout == "Running"
        # emukube explain counts what the Service selects by the API's labels too
        wait_until(lambda: f"endpoints        {replicas} of {replicas} selected pod(s) ready" in
                   cluster.emukube("explain", "web").stdout, "explain counting the Deployment's pods alone")
    finally:
        kube("annotate", "pod", pod, "controller.kubernetes.io/pod-deletion-cost=100")
        kube("label", "pod", pod, "app=web", "--overwrite")
    wait_until(lambda: ip in endpoint_ips(kube, "web"), "the pod back among the endpoints")
    wait_until(lambda: kube.obj("get", "pod", pod)["metadata"].get("ownerReferences"), "the pod adopted again")
    wait_until(lambda: len(web_pods(kube)) == replicas and pod in web_pods(kube),
               f"back to {replicas} pods, the adopted one kept")
    kube("label", "pod", pod, "tier-")
    kube("annotate", "pod", pod, "controller.kubernetes.io/pod-deletion-cost-")


def test_a_released_pod_outlives_its_deployment(cluster, kube):
    """Deleting a Deployment removes its ReplicaSet's pods, not one released before (it has no
    owner to be collected with); deleting that pod then removes it for good."""
    kube("create", "deployment", "stray", "--image=emukube/echo:1.0")
    wait_until(lambda: kube.lines("get", "pods", "-l", "app=stray", "-o", "name"), "the stray pod")
    pod = kube.lines("get", "pods", "-l", "app=stray", "-o", "name")[0]
    kube("label", pod, "app=kept", "--overwrite")
    wait_until(lambda: not kube.obj("get", pod)["metadata"].get("ownerReferences"), "the pod released")
    wait_until(lambda: kube.lines("get", "pods", "-l", "app=stray", "-o", "name") and
               kube.obj("get", "deploy", "stray")["status"].get("readyReplicas") == 1, "its replacement, ready")
    # emukube exec deploy/NAME, as kubectl exec, finds the pod by the selector: the replacement
    assert cluster.emukube("exec", "deploy/stray", "--", "hostname").stdout.strip() != pod.split("/", 1)[1]
    kube("delete", "deployment", "stray")
    wait_until(lambda: not kube.lines("get", "pods", "-l", "app=stray", "-o", "name"), "the replacement gone")
    time.sleep(2)  # what the loop would do wrongly, it does within a tick or two (0.5 s each)
    assert kube("get", pod, "-o", "jsonpath={.status.phase}").stdout == "Running"
    kube("delete", pod, "--wait=true")
    wait_until(lambda: not kube.lines("get", "pods", "-l", "app=kept", "-o", "name"), "the released pod deleted")
    time.sleep(2)
    assert not kube.lines("get", "pods", "-l", "app=kept", "-o", "name"), "the deleted pod came back"


def test_a_replicaset_adopts_a_pod_its_selector_matches(kube):
    """The classic lesson: a pod made by hand, then a ReplicaSet whose selector matches it. The
    ReplicaSet adopts it (an ownerReference) and makes only the rest; labelled away, the pod is
    released and replaced; the ReplicaSet's deletion takes the pods it owns, the adopted one too."""
    herd = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "herd"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "herd"}},
                     "template": {"metadata": {"labels": {"app": "herd"}},
                                  "spec": {"containers": [{"name": "echo", "image": "emukube/echo:1.0"}]}}}}
    kube("run", "solo", "--image=emukube/echo:1.0", "--labels=app=herd")
    kube("wait", "pod/solo", "--for=condition=Ready", "--timeout=90s", timeout=120)
    kube("apply", "-f", "-", input=json.dumps(herd))
    kube("wait", "rs/herd", "--for=jsonpath={.status.readyReplicas}=3", "--timeout=90s", timeout=120)
    time.sleep(2)  # a fourth pod would be made within a tick or two (0.5 s each)
    herd_pods = kube.lines("get", "pods", "-l", "app=herd", "-o", "name")
    assert len(herd_pods) == 3 and "pod/solo" in herd_pods, herd_pods
    ref = kube.obj("get", "pod", "solo")["metadata"]["ownerReferences"]
    assert [(r["kind"], r["name"], r["controller"]) for r in ref] == [("ReplicaSet", "herd", True)], ref
    assert ref[0]["uid"] == kube.obj("get", "rs", "herd")["metadata"]["uid"]
    kube("label", "pod", "solo", "app=free", "--overwrite")
    wait_until(lambda: not kube.obj("get", "pod", "solo")["metadata"].get("ownerReferences"), "solo released")
    wait_until(lambda: len(kube.lines("get", "pods", "-l", "app=herd", "-o", "name")) == 3, "its replacement")
    kube("delete", "pod", "solo", "--wait=false")
    kube("delete", "rs", "herd")
    wait_until(lambda: not kube.lines("get", "pods", "-l", "app in (herd,free)", "-o", "name"), "every pod gone")


def replica_sets(kube: Kube) -> dict[str, int]:
    """The web Deployment's ReplicaSets and their replicas."""
    return {rs["metadata"]["name"]: rs["spec"]["replicas"] for rs in kube.obj("get", "rs", "-l", "app=web")["items"]}


def test_scale_wait_and_rollouts(kube):
    assert kube("scale", "deploy", "web", "--replicas=3").stdout.strip() == "deployment.apps/web scaled"
    out = kube("rollout", "status", "deployment/web", "--timeout=90s", timeout=120).stdout
    assert out.strip().endswith('deployment "web" successfully rolled out'), out
    wait_until(lambda: len(web_pods(kube)) == 3, "3 web pods (none left terminating)", timeout=60)
    assert kube("wait", "--for=condition=Available", "deployment/web", "--timeout=60s").stdout.strip() \
        == "deployment.apps/web condition met"
    first = replica_sets(kube)
    assert kube("rollout", "restart", "deployment/web").stdout.strip() == "deployment.apps/web restarted"
    out = kube("rollout", "status", "deployment/web", "--timeout=120s", timeout=150).stdout
    assert 'deployment "web" successfully rolled out' in out, out
    history = kube.lines("rollout", "history", "deployment/web")
    assert history[0] == "deployment.apps/web " and columns(history[1]) == ["REVISION", "CHANGE-CAUSE"]
    assert [columns(line)[0] for line in history[2:] if line.strip()] == ["1", "2"], history
    assert kube("rollout", "undo", "deployment/web").stdout.strip() == "deployment.apps/web rolled back"
    kube("rollout", "status", "deployment/web", "--timeout=120s", timeout=150)
    # Back to revision 1's ReplicaSet itself (kubectl sends its template, spelt as Go writes it).
    after = replica_sets(kube)
    assert len(after) == 2 and {n for n, r in after.items() if r} == {n for n, r in first.items() if r}, (first, after)
    kube("scale", "deploy", "web", "--replicas=2")
    wait_until(lambda: len(web_pods(kube)) == 2, "web back to 2 pods", timeout=60)


def test_a_paused_deployment_scales_and_rolls_out_only_once_resumed(kube, cluster):
    kube("create", "deployment", "paws", "--image=emukube/echo:1.0", "--replicas=2")
    kube("rollout", "status", "deployment/paws", "--timeout=90s", timeout=120)

    def pods() -> dict[str, str]:  # name -> pod-template-hash
        got = kube.obj("get", "pods", "-l", "app=paws")["items"]
        return {p["metadata"]["name"]: p["metadata"]["labels"]["pod-template-hash"] for p in got
                if not p["metadata"].get("deletionTimestamp")}

    before = pods()
    assert kube("rollout", "pause", "deployment/paws").stdout.strip() == "deployment.apps/paws paused"
    kube("set", "env", "deployment/paws", "MODE=paused")
    kube("scale", "deployment/paws", "--replicas=3")
    wait_until(lambda: len(pods()) == 3, "3 paws pods while paused", timeout=60)
    now = pods()
    assert set(before) < set(now) and set(now.values()) == set(before.values()), (before, now)
    assert len(kube.lines("get", "rs", "-l", "app=paws", "-o", "name")) == 1
    reason = "jsonpath={.status.conditions[?(@.type=='Progressing')].reason}"
    assert kube("get", "deployment", "paws", "-o", reason).stdout == "DeploymentPaused"
    for text in (kube("describe", "deployment", "paws").stdout,
                 cluster.emukube("describe", "deployment", "paws").stdout):
        assert re.search(r"Progressing\s+Unknown\s+DeploymentPaused", text) and \
            re.search(r"NewReplicaSet:\s+<none>", text), text
    waiting = kube("rollout", "status", "deployment/paws", "--timeout=2s", check=False)
    assert waiting.returncode == 1 and "0 out of 3 new replicas have been updated" in waiting.stdout, waiting
    assert kube("rollout", "resume", "deployment/paws").stdout.strip() == "deployment.apps/paws resumed"
    kube("rollout", "status", "deployment/paws", "--timeout=120s", timeout=150)
    wait_until(lambda: len(pods()) == 3 and not set(pods().values()) & set(before.values()),
               "3 paws pods of the new template", timeout=60)
    env = kube.obj("get", "pod", next(iter(pods())))["spec"]["containers"][0]["env"]
    assert {"name": "MODE", "value": "paused"} in env
    kube("delete", "deployment", "paws")


STATEFULSET = """
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: ledger}
spec:
  serviceName: ledger
  replicas: 1
  selector: {matchLabels: {app: ledger}}
  template:
    metadata: {labels: {app: ledger}}
    spec:
      containers: [{name: db, image: emukube/echo:1.0}]
"""


def test_statefulset_rollout_history_and_undo(kube):
    """`kubectl rollout history statefulset/NAME` said "No rollout history found." while no
    ControllerRevision was kept."""
    kube("apply", "-f", "-", input=STATEFULSET)
    kube("rollout", "status", "statefulset/ledger", "--timeout=90s", timeout=120)
    kube("set", "env", "statefulset/ledger", "MODE=two")

    def env() -> str | None:  # ledger-0's, None while it is replaced
        out = kube("get", "pod", "ledger-0", "-o", "jsonpath={.spec.containers[0].env}", check=False)
        return out.stdout if out.returncode == 0 else None

    wait_until(lambda: "MODE" in (env() or ""), "ledger-0 of the second revision", timeout=90)

    def revisions() -> list[str]:
        return [columns(line)[0] for line in kube.lines("rollout", "history", "statefulset/ledger")[2:] if line.strip()]

    wait_until(lambda: revisions() == ["1", "2"], "two revisions", timeout=30)
    assert kube("rollout", "undo", "statefulset/ledger").stdout.strip() == "statefulset.apps/ledger rolled back"
    def first_template() -> bool:
        now = env()
        return now is not None and "MODE" not in now

    wait_until(first_template, "ledger-0 of the first template again", timeout=90)
    wait_until(lambda: revisions() == ["2", "3"], "the rollback renumbered as revision 3", timeout=30)
    kube("delete", "statefulset", "ledger")


def test_create_expose_and_force_delete(kube):
    assert kube("create", "deployment", "hello", "--image=emukube/echo:1.0").stdout.strip() \
        == "deployment.apps/hello created"
    assert kube("create", "service", "clusterip", "hello", "--tcp=80:8080").stdout.strip() == "service/hello created"
    assert kube("expose", "deployment", "hello", "--port=80", "--target-port=8080", "--name=hello2").stdout.strip() \
        == "service/hello2 exposed"
    assert kube("create", "configmap", "c1", "--from-literal=a=b").stdout.strip() == "configmap/c1 created"
    assert kube("create", "secret", "generic", "s1", "--from-literal=p=q").stdout.strip() == "secret/s1 created"
    assert kube("get", "secret", "s1", "-o", "jsonpath={.data.p}").stdout == "cQ=="
    kube("rollout", "status", "deployment/hello", "--timeout=90s", timeout=120)
    # Its revision came through status, as the Deployment controller writes it: still generation 1.
    made = kube.obj("get", "deployment", "hello")
    assert made["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    assert made["metadata"]["generation"] == made["status"]["observedGeneration"] == 1, made["metadata"]
    pod = kube("get", "pods", "-l", "app=hello", "-o", "jsonpath={.items[0].metadata.name}").stdout
    forced = kube("delete", "pod", pod, "--grace-period=0", "--force")
    assert f'pod "{pod}" force deleted' in forced.stdout, forced
    assert "Immediate deletion does not wait for confirmation" in forced.stderr
    kube("delete", "deployment", "hello")
    kube("delete", "svc", "hello", "hello2")
    kube("delete", "cm", "c1")
    kube("delete", "secret", "s1")
    wait_until(lambda: not kube("get", "pods", "-l", "app=hello", "-o", "name").stdout, "hello's pods gone")


def test_the_first_call_after_rollout_status_is_answered(kube):
    """A CI script's habit: `kubectl rollout status` (or `helm install --wait`), then a request to
    the Service. The pod is Ready only once its Service's proxy carries it (README), so that first
    request is answered every time; it was refused in one try out of three when readiness came
    first and the proxy's reload after. A watch sees each pod become Ready once and stay so
    until it is deleted: a pod published Ready a tick before the gate held it (its container
    started while it was still being made) made the same call fail in 9 tries of 230 under load."""
    kube("create", "deployment", "first", "--image=emukube/echo:1.0", "--replicas=0")
    kube("expose", "deployment", "first", "--type=NodePort", "--port=80", "--target-port=8080")
    port = kube("get", "svc", "first", "-o", "jsonpath={.spec.ports[0].nodePort}").stdout
    watch = subprocess.Popen([KUBECTL, "get", "pods", "-l", "app=first", "-w", "--request-timeout=400s", "-o",
                              'jsonpath={.metadata.name},{.metadata.deletionTimestamp},'
                              '{.status.conditions[?(@.type=="Ready")].status}{"\\n"}'],
                             env=kube.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(watch.stdout or ()), daemon=True)
    reader.start()
    try:
        for attempt in range(4):
            kube("scale", "deployment", "first", "--replicas=1")
            kube("rollout", "status", "deployment/first", "--timeout=90s", timeout=120)
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/hostname", timeout=10).text
            except httpx.HTTPError as exc:
                raise AssertionError(f"try {attempt}: the Service refused its Ready pod: {exc!r}") from None
            assert answer.startswith("first-"), answer
            kube("scale", "deployment", "first", "--replicas=0")
            wait_until(lambda: not kube("get", "pods", "-l", "app=first", "-o", "name").stdout, "first's pod gone")
    finally:
        watch.kill()
        watch.wait(5)
        reader.join(5)
        kube("delete", "deployment,svc", "first", check=False)
    ready: dict[str, list[str]] = {}  # pod -> its Ready statuses while not being deleted, changes only
    for line in seen:
        name, deleting, status = line.strip().split(",")
        if not deleting and ready.setdefault(name, [""])[-1] != status:
            ready[name].append(status)
    assert len(ready) == 4 and all(statuses[-1] == "True" for statuses in ready.values()), ready
    assert [name for name, statuses in ready.items() if statuses.count("True") > 1] == [], ready


def test_emukube_scale_and_delete_change_their_object_alone(cluster, kube):
    """`emukube scale` patches the scale subresource and `emukube delete` deletes one object, as
    kubectl does. Both used to read every object and write them all back, pruning the rest: what
    another client made between the read and the write was deleted."""
    kube("create", "deployment", "edits", "--image=emukube/echo:1.0", "--replicas=0")
    kube("create", "configmap", "edits-cm", "--from-literal=a=b")
    assert cluster.emukube("scale", "deployment", "edits", "--replicas", "1").stdout.strip() \
        == "deployment.apps/edits scaled"
    made = kube.obj("get", "deployment", "edits", "--show-managed-fields")
    assert made["spec"]["replicas"] == 1
    assert any(f.get("manager") == "emukube" and f.get("subresource") == "scale"
               for f in made["metadata"]["managedFields"]), made["metadata"]["managedFields"]
    assert cluster.emukube("delete", "deploy", "edits").stdout.strip() == 'deployment.apps "edits" deleted from default namespace'
    assert kube("get", "configmap", "edits-cm", "-o", "name").stdout.strip() == "configmap/edits-cm"
    again = cluster.emukube("delete", "deploy", "edits", check=False)
    assert again.returncode != 0 and 'deployments.apps "edits" not found' in again.stderr, again
    kube("delete", "configmap", "edits-cm")
    # Any kind kubectl names, as kubectl delete takes it; a kind no API serves, in kubectl's words.
    kube("create", "serviceaccount", "edits-sa")
    kube("create", "rolebinding", "edits-rb", "--clusterrole=view", "--serviceaccount=default:edits-sa")
    for kind, name, said in (("sa", "edits-sa", 'serviceaccount "edits-sa"'),
                             ("rolebinding", "edits-rb", 'rolebinding.rbac.authorization.k8s.io "edits-rb"')):
        assert cluster.emukube("delete", kind, name).stdout.strip() == f"{said} deleted from default namespace"
    unknown = cluster.emukube("delete", "gizmo", "x", check=False)
    assert unknown.returncode == 2 and unknown.stderr.strip() == 'error: the server doesn\'t have a resource type "gizmo"'


def test_emukube_logs_reads_what_kubectl_logs_reads(cluster, kube):
    """`emukube logs` goes through pods/NAME/log as kubectl does: the same lines, for every pod
    the API lists (CoreDNS's too, which is no pod container of emukube's), and kubectl's
    answers for what is not there."""
    pod = kube.lines("get", "pods", "-l", "app=web", "-o", "name")[0].split("/")[1]
    ours = cluster.emukube("logs", pod, "--tail", "3").stdout
    assert ours and ours == kube("logs", pod, "--tail=3").stdout
    assert "netexec" in cluster.emukube("logs", "deploy/web").stdout
    dns = cluster.emukube("logs", "-n", "kube-system", "deploy/coredns").stdout
    # read again after ours: CoreDNS may have logged a reload (SIGUSR1) of its zones meanwhile
    assert "\n.:53\nCoreDNS-" in dns and kube("logs", "-n", "kube-system", "deploy/coredns").stdout.startswith(dns)
    for args, said in ((["nope"], 'Error from server (NotFound): pods "nope" not found'),
                       (["deploy/nope"], 'Error from server (NotFound): deployments.apps "nope" not found'),
                       ([pod, "-c", "nope"], f"error: container nope is not valid for pod {pod}")):
        refused = cluster.emukube("logs", *args, check=False)
        assert refused.returncode != 0 and refused.stderr.strip() == said, refused
    # kubectl's -l (10 lines a pod by default), --prefix, --timestamps, --all-containers: the same lines
    # (kubectl reads the pods in a Go map's order, which changes from call to call: the lines are compared)
    for args in (["-l", "app=web", "--prefix", "--timestamps"], ["-l", "app=web", "--all-containers", "--tail=1"]):
        ours = cluster.emukube("logs", *args).stdout.splitlines()
        assert ours and sorted(ours) == sorted(kube("logs", *args).stdout.splitlines()), args
    # nothing named: every pod of the namespace, prefixed, as `docker compose logs`
    every = cluster.emukube("logs").stdout
    web = [n.split("/")[1] for n in kube.lines("get", "pods", "-l", "app=web", "-o", "name")]
    assert web and all(f"[pod/{p}/" in every for p in web), every[:500]
    # -f follows every pod at once, each line as it comes (bounded: read in a thread, then killed)
    follow = subprocess.Popen([EMUKUBE, "logs", "-l", "app=web", "-f", "--prefix"], stdout=subprocess.PIPE,
                              text=True, env=dict(os.environ, EMUKUBE_CLUSTER=cluster.name))
    followed: list[str] = []
    reader = threading.Thread(target=lambda: followed.extend(follow.stdout.readline() for _ in web), daemon=True)
    reader.start()
    reader.join(30)
    follow.kill()
    follow.wait()
    reader.join(5)  # it ends with the stream
    assert sorted(line.split("/")[1] for line in followed) == sorted(web), followed
    both = cluster.emukube("logs", pod, "-l", "app=web", check=False)
    assert both.returncode == 2 and both.stderr.strip() == "error: only a selector (-l) or a POD name is allowed"


def test_events(kube):
    lines = kube.lines("events")
    assert columns(lines[0]) == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"], lines[:2]
    assert len(lines) > 1


NEVER_READY = """apiVersion: v1
kind: Pod
metadata: {name: never-ready}
spec:
  containers:
  - name: web
    image: emukube/echo:1.0
    readinessProbe:
      httpGet: {path: /healthz, port: 9999}
      periodSeconds: 1
"""


def test_describe_says_why_a_pod_is_never_ready(kube):
    """Each failed probe is the kubelet's Unhealthy event, in its words, counted on one Event."""
    kube("apply", "-f", "-", input=NEVER_READY)
    try:
        unhealthy = re.compile(r'Warning\s+Unhealthy\s+\S+ \(x(\d+) over \S+\)\s+kubelet\s+Readiness probe failed: '
                               r'Get "http://(10\.[\d.]+):9999/healthz": dial tcp \2:9999: connect: connection refused')

        def counted() -> bool:
            found = unhealthy.findall(kube("describe", "pod", "never-ready").stdout)
            return len(found) == 1 and int(found[0][0]) >= 3

        wait_until(counted, "three failed probes counted on one Unhealthy event", timeout=60)
        assert kube("get", "pod", "never-ready", "-o", "jsonpath={.status.containerStatuses[0].ready}").stdout \
            == "false"
    finally:
        kube("delete", "pod", "never-ready", "--grace-period=0", "--force", check=False)


# ---- refused as the API server refuses --------------------------------------------------------
TYPO = """apiVersion: v1
kind: Service
metadata: {name: typo}
spec:
  selecter: {app: web}
  ports: [{port: 80}]
"""
INVALID = """apiVersion: apps/v1
kind: Deployment
metadata: {name: bad}
spec:
  template:
    metadata: {labels: {app: bad}}
    spec: {containers: [{name: c, image: emukube/echo:1.0}]}
"""


def test_a_typo_is_refused_with_the_api_servers_words(kube):
    out = kube("apply", "-f", "-", input=TYPO, check=False)
    assert out.returncode == 1
    assert 'strict decoding error: unknown field "spec.selecter"' in out.stderr, out.stderr
    assert kube("get", "svc", "typo", check=False).returncode == 1


def test_an_invalid_object_is_refused_with_every_cause(kube):
    out = kube("apply", "-f", "-", input=INVALID, check=False)
    assert out.returncode == 1
    assert 'The Deployment "bad" is invalid' in out.stderr and "spec.selector: Required value" in out.stderr, out.stderr
    missing = kube("get", "widgets", check=False)
    assert missing.returncode == 1 and 'the server doesn\'t have a resource type "widgets"' in missing.stderr


def test_a_node_port_another_cluster_holds_is_refused_naming_it(kube, engine):
    """The API server's admission reads the nodePorts other clusters publish from the engine
    (runtime/published.py): a container of another cluster publishing one makes it taken."""
    from emukube.lifecycle import ops
    from emukube.runtime import labels as L

    other = f"{kube.cluster}x"
    taken = ops.other_clusters_node_ports(engine, kube.cluster)
    port = next(p for p in range(32600, 32767) if p not in taken)
    holder = engine.containers.run("emukube/echo:1.0", detach=True, labels={L.CLUSTER: other},
                                   ports={"8080/tcp": ("127.0.0.1", port)}, name=f"{other}_holder")
    try:
        def refused() -> bool:  # admission keeps the engine's listing for 2 s
            out = kube("create", "service", "nodeport", "held", "--tcp=80:8080", f"--node-port={port}",
                       "--dry-run=server", check=False)
            return out.returncode == 1 and "provided port is already allocated" in out.stderr
        wait_until(refused, f"nodePort {port} refused while cluster {other} publishes it", timeout=30)
        out = kube("create", "service", "nodeport", "held", "--tcp=80:8080", f"--node-port={port}",
                   "--dry-run=server", check=False)
        assert f'spec.ports[0].nodePort: Invalid value: {port}: provided port is already allocated (held by ' \
               f'emukube cluster "{other}"' in out.stderr, out.stderr
    finally:
        holder.remove(force=True)


LEGACY = """apiVersion: v1
kind: ReplicationController
metadata: {name: legacy}
spec:
  replicas: 2
  template:
    metadata: {labels: {app: legacy}}
    spec:
      containers: [{name: echo, image: emukube/echo:1.0}]
"""


def test_a_replication_controller_and_cluster_info_dump(kube, tmp_path):
    kube("apply", "-f", "-", input=LEGACY)
    try:
        kube("wait", "--for=jsonpath={.status.readyReplicas}=2", "rc/legacy", "--timeout=60s", timeout=70)
        rc = kube.obj("get", "rc", "legacy")
        assert rc["spec"]["selector"] == {"app": "legacy"} and rc["metadata"]["labels"] == {"app": "legacy"}
        before = set(kube.lines("get", "pods", "-l", "app=legacy", "-o", "name"))
        # A new template replaces no pod (that is a Deployment's rollout): only pods made later use it.
        kube("set", "env", "rc/legacy", "NOTE=new")
        kube("scale", "rc", "legacy", "--replicas=3")
        kube("wait", "--for=jsonpath={.status.readyReplicas}=3", "rc/legacy", "--timeout=60s", timeout=70)
        envs = {f"pod/{p['metadata']['name']}": p["spec"]["containers"][0].get("env")
                for p in kube.obj("get", "pods", "-l", "app=legacy")["items"]}
        assert before < set(envs), envs
        assert [envs[name] for name in sorted(set(envs) - before)] == [[{"name": "NOTE", "value": "new"}]], envs
        assert all(envs[name] is None for name in before), envs
        wide = kube.lines("get", "rc", "-o", "wide")
        assert columns(wide[0]) == ["NAME", "DESIRED", "CURRENT", "READY", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]
        assert columns(wide[1])[:4] == ["legacy", "3", "3", "3"] and columns(wide[1])[-1] == "app=legacy", wide
        assert "replicationcontroller/legacy" in kube("get", "all").stdout
        pod = kube.obj("get", "pods", "-l", "app=legacy")["items"][0]
        assert pod["metadata"]["ownerReferences"][0]["kind"] == "ReplicationController"
        # kubectl's dump lists every kind it knows of, the legacy ones first: each one must be served.
        kube("cluster-info", "dump", f"--output-directory={tmp_path}", timeout=120)
        dumped = (tmp_path / "default" / "replication-controllers.json").read_text()
        assert '"name": "legacy"' in dumped, dumped[:300]
        for name in ("daemonsets.json", "deployments.json", "pods.json", "services.json", "events.json"):
            assert (tmp_path / "default" / name).is_file(), name
        assert (tmp_path / "nodes.json").is_file()
    finally:
        kube("delete", "rc", "legacy")
    wait_until(lambda: not kube.obj("get", "pods", "-l", "app=legacy")["items"], "the rc's pods gone", timeout=60)


URGENT = """apiVersion: apps/v1
kind: Deployment
metadata: {name: urgent}
spec:
  replicas: 1
  selector: {matchLabels: {app: urgent}}
  template:
    metadata: {labels: {app: urgent}}
    spec:
      priorityClassName: urgent
      containers: [{name: echo, image: emukube/echo:1.0}]
"""


def test_a_priority_class_gives_pods_their_priority_and_a_missing_one_holds_them_back(kube):
    assert kube.lines("get", "priorityclasses")[0].split() == ["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE",
                                                              "PREEMPTIONPOLICY"]
    kube("apply", "-f", "-", input=URGENT)
    try:
        # No such class yet: the ReplicaSet cannot create its pod, and says why.
        wait_until(lambda: "no PriorityClass with name urgent was found" in kube(
            "get", "events", "--field-selector", "reason=FailedCreate", "-o", "jsonpath={.items[*].message}").stdout,
            "the FailedCreate event", timeout=30)
        assert not kube.obj("get", "pods", "-l", "app=urgent")["items"]
        kube("create", "priorityclass", "urgent", "--value=1000", "--description=for the test")
        kube("rollout", "status", "deploy/urgent", "--timeout=60s", timeout=70)
        pod = kube.obj("get", "pods", "-l", "app=urgent")["items"][0]
        assert (pod["spec"]["priorityClassName"], pod["spec"]["priority"]) == ("urgent", 1000)
        refused = kube("run", "nope", "--image=emukube/echo:1.0", '--overrides={"spec":{"priorityClassName":"nope"}}',
                       check=False)
        assert 'pods "nope" is forbidden: no PriorityClass with name nope was found' in refused.stderr, refused
    finally:
        kube("delete", "deploy", "urgent", "--ignore-not-found")
        kube("delete", "priorityclass", "urgent", "--ignore-not-found")
    wait_until(lambda: not kube.obj("get", "pods", "-l", "app=urgent")["items"], "urgent's pods gone", timeout=60)


def test_a_resource_quota_counts_and_refuses(kube):
    kube("create", "namespace", "quota-test")
    try:
        kube("create", "quota", "small", "--hard=pods=2,configmaps=2", "-n", "quota-test")
        kube("create", "deployment", "busy", "--image=emukube/echo:1.0", "--replicas=3", "-n", "quota-test")
        # Two pods fit; the ReplicaSet's third is refused with the plugin's words.
        wait_until(lambda: "exceeded quota: small, requested: pods=1, used: pods=2, limited: pods=2" in kube(
            "get", "events", "-n", "quota-test", "--field-selector", "reason=FailedCreate",
            "-o", "jsonpath={.items[*].message}").stdout, "the FailedCreate event", timeout=60)
        wait_until(lambda: len(kube.obj("get", "pods", "-n", "quota-test")["items"]) == 2, "two pods", timeout=30)
        # kube-root-ca.crt, in every namespace, is a ConfigMap the quota counts.
        wait_until(lambda: re.match(r"small\s+\S+\s+configmaps: 1/2, pods: 2/2\s*$",
                                    kube.lines("get", "quota", "-n", "quota-test")[-1]), "the quota's use", timeout=30)
        described = kube("describe", "quota", "small", "-n", "quota-test").stdout
        assert re.search(r"pods\s+2\s+2", described), described
        refused = kube("run", "extra", "--image=emukube/echo:1.0", "-n", "quota-test", check=False)
        assert 'pods "extra" is forbidden: exceeded quota: small, requested: pods=1, used: pods=2, limited: ' \
               "pods=2" in refused.stderr, refused
        kube("scale", "deployment", "busy", "--replicas=1", "-n", "quota-test")
        wait_until(lambda: len(kube.obj("get", "pods", "-n", "quota-test")["items"]) == 1, "one pod", timeout=60)
        assert kube("run", "extra", "--image=emukube/echo:1.0", "-n", "quota-test").returncode == 0
    finally:
        kube("delete", "namespace", "quota-test", "--wait=false")


LIMITS = """apiVersion: v1
kind: LimitRange
metadata: {name: limits, namespace: limits-test}
spec:
  limits:
  - type: Container
    default: {memory: 48Mi}
    max: {memory: 96Mi}
"""


def test_a_limit_range_defaults_and_bounds_pods(kube, engine):
    kube("create", "namespace", "limits-test")
    try:
        kube("apply", "-f", "-", input=LIMITS)
        kube("create", "deployment", "small", "--image=emukube/echo:1.0", "-n", "limits-test")
        kube("rollout", "status", "deploy/small", "-n", "limits-test", "--timeout=60s", timeout=70)
        pod = kube.obj("get", "pods", "-n", "limits-test")["items"][0]
        assert pod["spec"]["containers"][0]["resources"] == {"limits": {"memory": "48Mi"},
                                                             "requests": {"memory": "48Mi"}}
        # Said in the LimitRanger's annotation, as on pods a ReplicaSet makes on Kubernetes.
        assert pod["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == \
            "LimitRanger plugin set: memory request for container echo; memory limit for container echo", pod
        # The default limit is the container's: the engine holds it to 48Mi.
        container = next(c for c in engine.containers.list(filters={"name": pod["metadata"]["name"]})
                         if c.attrs["HostConfig"].get("Memory"))
        assert container.attrs["HostConfig"]["Memory"] == 48 << 20
        refused = kube("run", "big", "--image=emukube/echo:1.0", "-n", "limits-test",
                       '--overrides={"spec":{"containers":[{"name":"big","image":"emukube/echo:1.0",'
                       '"resources":{"limits":{"memory":"200Mi"}}}]}}', check=False)
        assert 'pods "big" is forbidden: maximum memory usage per Container is 96Mi, but limit is 200Mi' in \
            refused.stderr, refused
    finally:
        kube("delete", "namespace", "limits-test", "--wait=false")


DENY_ALL = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-web}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
    - from: [{podSelector: {matchLabels: {role: client}}}]
      ports: [{port: 8080}]
"""


def test_a_network_policy_is_stored_with_a_warning_of_what_is_not_filtered(kube):
    applied = kube("apply", "-f", "-", input=DENY_ALL)
    assert "Warning: NetworkPolicy deny-web: enforced by the Services' proxies and in the selected pods' network " \
           "namespaces; not filtered: hostPorts, and connections with addresses other than pods'" \
           in applied.stderr, applied.stderr
    assert kube.lines("get", "netpol")[1].split()[:2] == ["deny-web", "app=web"]
    stored = kube.obj("get", "networkpolicy", "deny-web")
    # The API server's defaults: the policy types its rules imply, TCP ports.
    assert stored["spec"]["policyTypes"] == ["Ingress"]
    assert stored["spec"]["ingress"][0]["ports"] == [{"port": 8080, "protocol": "TCP"}]
    described = kube("describe", "netpol", "deny-web").stdout
    assert "PodSelector:     app=web" in described, described
    # Enforced: a web pod is not role=client, so its connection to the Service is held until curl
    # gives up (exit 28), as a network plugin's dropped packets would make it.
    pod = kube.lines("get", "pods", "-l", "app=web", "-o", "name")[0]
    wait_until(lambda: kube("exec", pod, "--", "curl", "-s", "-m", "2", "http://web/hostname",
                            check=False).returncode == 28, "the policy holds the web pod's connection", timeout=20)
    bad = kube("apply", "-f", "-", input=DENY_ALL.replace("port: 8080", "port: 8080, protocol: ICMP"), check=False)
    assert 'spec.ingress[0].ports[0].protocol: Unsupported value: "ICMP"' in bad.stderr, bad.stderr
    kube("delete", "netpol", "deny-web")


def test_kubectl_get_componentstatuses(kube):
    result = kube("get", "cs")
    assert "Warning: v1 ComponentStatus is deprecated in v1.19+" in result.stderr, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    assert rows == [["NAME", "STATUS", "MESSAGE", "ERROR"], ["controller-manager", "Healthy", "ok"],
                    ["scheduler", "Healthy", "ok"], ["etcd-0", "Healthy", "ok"]], result.stdout


UNSCALED = """apiVersion: apps/v1
kind: Deployment
metadata: {name: elastic}
spec:
  selector: {matchLabels: {app: elastic}}
  template:
    metadata: {labels: {app: elastic}}
    spec:
      containers: [{name: echo, image: emukube/echo:1.0}]
"""


def test_emukube_apply_keeps_what_kubectl_apply_keeps(kube, tmp_path):
    """A file without replicas, applied again after `kubectl scale`, `label`, `set env` and `rollout
    restart`: unchanged, as kubectl apply's three-way merge leaves them alone (no reset, no new
    rollout)."""
    manifest = tmp_path / "elastic.yaml"
    manifest.write_text(UNSCALED)
    # kubectl's way to wait: other tests of this module leave workloads a quota holds back, and
    # `emukube apply` waits for the whole cluster.
    run("apply", str(manifest), "--no-wait", cluster=kube.cluster)
    kube("rollout", "status", "deployment/elastic", "--timeout=90s", timeout=100)
    kube("scale", "deployment/elastic", "--replicas=3")
    kube("label", "deployment/elastic", "team=blue")
    kube("set", "env", "deployment/elastic", "LEVEL=debug")  # a rollout of its own
    kube("rollout", "restart", "deployment/elastic")
    kube("rollout", "status", "deployment/elastic", "--timeout=90s", timeout=100)
    revisions = kube("rollout", "history", "deployment/elastic").stdout
    again = run("apply", str(manifest), "--no-wait", cluster=kube.cluster)
    assert "deployment/elastic unchanged" in again.stdout, again.stdout
    stored = kube.obj("get", "deployment", "elastic")
    assert stored["spec"]["replicas"] == 3 and stored["metadata"]["labels"]["team"] == "blue"
    assert "kubectl.kubernetes.io/restartedAt" in stored["spec"]["template"]["metadata"]["annotations"]
    assert stored["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "LEVEL", "value": "debug"}]
    assert kube("rollout", "history", "deployment/elastic").stdout == revisions
    assert kube("diff", "-f", str(manifest), check=False).returncode == 0  # kubectl agrees: nothing to change
    kube("delete", "-f", str(manifest))


KUSTOMIZATION = """namePrefix: dev-
labels: [{pairs: {env: dev}, includeSelectors: true}]
resources: [app.yaml]
configMapGenerator: [{name: settings, literals: [MODE=dev]}]
"""
KUSTOMIZED_APP = """apiVersion: apps/v1
kind: Deployment
metadata: {name: echo}
spec:
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo}}
    spec:
      containers: [{name: echo, image: emukube/echo:1.0, envFrom: [{configMapRef: {name: settings}}]}]
"""


def test_emukube_apply_k_builds_a_kustomization_as_kubectl_apply_k(kube, tmp_path):
    (tmp_path / "kustomization.yaml").write_text(KUSTOMIZATION)
    (tmp_path / "app.yaml").write_text(KUSTOMIZED_APP)
    applied = run("apply", "-k", str(tmp_path), "--no-wait", cluster=kube.cluster)
    generated = re.search(r"^configmap/(dev-settings-\w+) created$", applied.stdout, re.M)
    assert generated and "deployment/dev-echo created" in applied.stdout, applied.stdout
    kube("rollout", "status", "deployment/dev-echo", "--timeout=90s", timeout=100)
    assert kube("exec", "deploy/dev-echo", "--", "sh", "-c", "echo $MODE").stdout.strip() == "dev"
    # kubectl carries on from it: the same build, unchanged.
    again = kube("apply", "-k", str(tmp_path)).stdout
    assert f"configmap/{generated.group(1)} unchanged" in again and "deployment.apps/dev-echo unchanged" in again, again
    both = run("apply", "-k", str(tmp_path), "-f", str(tmp_path / "app.yaml"), cluster=kube.cluster, check=False)
    assert both.returncode == 2 and both.stderr.strip() == "error: only one of -f or -k can be specified", both
    (tmp_path / "kustomization.yaml").write_text("resources: [missing.yaml]\n")
    broken = run("apply", "-k", str(tmp_path), cluster=kube.cluster, check=False)
    assert broken.returncode == 2 and "missing.yaml" in broken.stderr and "Traceback" not in broken.stderr, broken
    kube("delete", "deployment", "dev-echo")
    kube("delete", "configmap", generated.group(1))
