"""Server-side Tables: the columns and cells kubectl prints, per Kubernetes' own printers."""

from __future__ import annotations

import calendar
import json
import time

import pytest

from emukube.apiserver import tables
from emukube.apiserver.printers.format import format_label_selector, human_duration, parse_time, short_human_duration
from emukube.k8s.resources import BY_KEY, RESOURCES, Resource
from emukube.k8s.times import go_duration

NOW = calendar.timegm((2025, 6, 1, 12, 0, 0, 0, 0, 0))


def ago(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW - seconds))


def cells(key: str, obj: dict) -> list:
    return tables.table_for(BY_KEY[key], [obj], now=NOW)["rows"][0]["cells"]


def meta(name: str, age: float = 300, **extra) -> dict:
    return {"name": name, "namespace": "default", "creationTimestamp": ago(age), **extra}


# ---- durations ------------------------------------------------------------------------------------

@pytest.mark.parametrize("seconds, text", [
    (-5, "<invalid>"), (-2, "<invalid>"), (-1.5, "0s"), (0, "0s"), (5, "5s"), (119, "119s"),
    (120, "2m"), (182, "3m2s"), (599, "9m59s"), (600, "10m"), (179 * 60 + 59, "179m"),
    (3 * 3600, "3h"), (3 * 3600 + 5 * 60, "3h5m"), (8 * 3600 + 59 * 60, "8h"), (47 * 3600 + 3599, "47h"),
    (48 * 3600, "2d"), (51 * 3600, "2d3h"), (8 * 86400 + 3600, "8d"), (729 * 86400, "729d"),
    (730 * 86400, "2y"), (731 * 86400, "2y1d"), (8 * 365 * 86400 + 86400, "8y"),
])
def test_human_duration(seconds, text):
    assert human_duration(seconds) == text


@pytest.mark.parametrize("nanos, text", [
    (0, "0s"), (1, "1ns"), (1_500, "1.5µs"), (1_500_000, "1.5ms"), (1_000_000_000, "1s"), (1_500_000_000, "1.5s"),
    (1_003_629_662, "1.003629662s"), (60_000_000_000, "1m0s"), (61_500_000_000, "1m1.5s"),
    (3_600_000_000_000, "1h0m0s"), (9_900_500_000_000, "2h45m0.5s"), (-123_000_000_000, "-2m3s"),
])
def test_go_duration(nanos, text):
    """time.Duration.String(), in metav1.Duration fields and the kubelet's messages."""
    assert go_duration(nanos) == text


@pytest.mark.parametrize("seconds, text", [
    (-2, "<invalid>"), (-1, "0s"), (59, "59s"), (60, "1m"), (3599, "59m"), (3600, "1h"), (86399, "23h"),
    (86400, "1d"), (364 * 86400, "364d"), (365 * 86400, "1y"), (800 * 86400, "2y"),
])
def test_short_human_duration(seconds, text):
    assert short_human_duration(seconds) == text


def test_timestamps_parse_with_fractions_and_offsets_and_zero_time_is_unset():
    base = parse_time("2025-06-01T12:00:00Z")
    assert base == NOW
    assert parse_time("2025-06-01T12:00:00.500000Z") == NOW + 0.5
    assert parse_time("2025-06-01T14:00:00+02:00") == NOW
    assert parse_time("0001-01-01T00:00:00Z") is None
    assert parse_time(None) is None and parse_time("yesterday") is None
    assert cells("configmaps", {"metadata": {"name": "x"}})[-1] == "<unknown>"


# ---- pods -----------------------------------------------------------------------------------------

def pod(name="web", phase="Running", containers=1, statuses=(), init=(), init_statuses=(), age=600, **kw):
    spec = {"containers": [{"name": f"c{i}", "image": "nginx"} for i in range(containers)]}
    if init:
        spec["initContainers"] = list(init)
    spec.update(kw.pop("spec", {}))
    status = {"phase": phase, "containerStatuses": list(statuses), **kw.pop("status", {})}
    if init_statuses:
        status["initContainerStatuses"] = list(init_statuses)
    return {"metadata": meta(name, age, **kw.pop("metadata", {})), "spec": spec, "status": status}


RUNNING = {"name": "c0", "ready": True, "restartCount": 0, "state": {"running": {"startedAt": ago(60)}}}


def test_running_pod_and_its_wide_cells():
    p = pod(statuses=[RUNNING], spec={"nodeName": "node-1"},
            status={"podIP": "10.244.0.5", "podIPs": [{"ip": "10.244.0.5"}]})
    assert cells("pods", p) == ["web", "1/1", "Running", "0", "10m", "10.244.0.5", "node-1", "<none>", "<none>"]


def test_crash_looping_pod_shows_the_waiting_reason_and_when_it_last_restarted():
    crashing = {"name": "c0", "ready": False, "restartCount": 5,
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 2m40s"}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(130)}}}
    assert cells("pods", pod(statuses=[crashing]))[:5] == ["web", "0/1", "CrashLoopBackOff", "5 (2m10s ago)", "10m"]


def test_restarts_without_a_last_termination_time_are_a_bare_count():
    restarted = dict(RUNNING, restartCount=2)
    assert cells("pods", pod(statuses=[restarted]))[3] == "2"


def test_the_first_container_with_a_reason_names_the_status():
    statuses = [{"name": "c0", "state": {"waiting": {"reason": "ImagePullBackOff"}}, "restartCount": 3},
                {"name": "c1", "state": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}, "restartCount": 3}]
    assert cells("pods", pod(containers=2, statuses=statuses))[:4] == ["web", "0/2", "ImagePullBackOff", "6"]


@pytest.mark.parametrize("terminated, reason", [
    ({"exitCode": 2}, "ExitCode:2"), ({"exitCode": 143, "signal": 15}, "Signal:15"),
    ({"exitCode": 0, "reason": "Completed"}, "Completed"), ({"exitCode": 1, "reason": "Error"}, "Error"),
])
def test_terminated_container_reasons(terminated, reason):
    status = {"name": "c0", "state": {"terminated": terminated}, "restartCount": 0}
    assert cells("pods", pod(phase="Failed", statuses=[status]))[2] == reason


def test_completed_container_beside_a_running_one_reads_running_or_not_ready():
    statuses = [{"name": "c0", "ready": True, "state": {"terminated": {"reason": "Completed", "exitCode": 0}}},
                {"name": "c1", "ready": True, "state": {"running": {}}}]
    assert cells("pods", pod(containers=2, statuses=statuses))[1:3] == ["1/2", "NotReady"]
    ready = pod(containers=2, statuses=statuses, status={"conditions": [{"type": "Ready", "status": "True"}]})
    assert cells("pods", ready)[1:3] == ["1/2", "Running"]


def _init(name, state, restarts=0, **extra):
    return {"name": name, "ready": False, "restartCount": restarts, "state": state, **extra}


INIT2 = [{"name": "setup", "image": "busybox"}, {"name": "migrate", "image": "busybox"}]
WAITING_APP = {"name": "c0", "ready": False, "state": {"waiting": {"reason": "PodInitializing"}}}


def test_init_containers_progress_and_failures():
    def status(*init_statuses):
        p = pod(phase="Pending", init=INIT2, init_statuses=init_statuses, statuses=[WAITING_APP])
        return cells("pods", p)[1:4]

    done = _init("setup", {"terminated": {"exitCode": 0, "reason": "Completed"}})
    assert status(_init("setup", {"running": {}}), _init("migrate", {"waiting": {"reason": "PodInitializing"}})) \
        == ["0/1", "Init:0/2", "0"]
    assert status(done, _init("migrate", {"running": {}})) == ["0/1", "Init:1/2", "0"]
    crash = _init("migrate", {"waiting": {"reason": "CrashLoopBackOff"}}, restarts=4,
                  lastState={"terminated": {"exitCode": 1, "finishedAt": ago(30)}})
    assert status(done, crash) == ["0/1", "Init:CrashLoopBackOff", "4 (30s ago)"]
    assert status(_init("setup", {"waiting": {"reason": "ImagePullBackOff"}})) == ["0/1", "Init:ImagePullBackOff", "0"]
    assert status(_init("setup", {"terminated": {"exitCode": 3}})) == ["0/1", "Init:ExitCode:3", "0"]
    assert status(_init("setup", {"terminated": {"exitCode": 137, "signal": 9}})) == ["0/1", "Init:Signal:9", "0"]
    assert status(_init("setup", {"terminated": {"exitCode": 1, "reason": "Error"}})) == ["0/1", "Init:Error", "0"]


def test_sidecar_init_containers_count_as_containers():
    sidecar = [{"name": "proxy", "image": "envoy", "restartPolicy": "Always"}]
    proxy = _init("proxy", {"running": {}}, restarts=3, started=True,
                  lastState={"terminated": {"exitCode": 1, "finishedAt": ago(10)}})
    app = {"name": "c0", "ready": True, "restartCount": 4, "state": {"running": {}},
           "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(20)}}}
    p = pod(init=sidecar, init_statuses=[proxy], statuses=[app],
            status={"conditions": [{"type": "Initialized", "status": "True"}]})
    assert cells("pods", p)[1:4] == ["1/2", "Running", "7 (10s ago)"]
    proxy["ready"] = True
    assert cells("pods", p)[1] == "2/2"


def test_terminating_and_lost_pods():
    deleting = {"deletionTimestamp": ago(5)}
    assert cells("pods", pod(statuses=[RUNNING], metadata=deleting))[2] == "Terminating"
    assert cells("pods", pod(phase="Pending", statuses=[], metadata=deleting))[1:3] == ["0/1", "Terminating"]
    done = {"name": "c0", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
    assert cells("pods", pod(phase="Succeeded", statuses=[done], metadata=deleting))[2] == "Completed"
    lost = pod(statuses=[RUNNING], metadata=deleting, status={"reason": "NodeLost"})
    assert cells("pods", lost)[2] == "Unknown"


def test_pending_gated_and_evicted_pods():
    assert cells("pods", pod(phase="Pending"))[1:4] == ["0/1", "Pending", "0"]
    gated = pod(phase="Pending", status={"conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]})
    assert cells("pods", gated)[2] == "SchedulingGated"
    assert cells("pods", pod(phase="Failed", status={"reason": "Evicted"}))[2] == "Evicted"


def test_finished_pods_carry_a_completed_row_condition():
    done = {"name": "c0", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
    row = tables.table_for(BY_KEY["pods"], [pod(phase="Succeeded", statuses=[done])], now=NOW)["rows"][0]
    assert row["conditions"] == [{"type": "Completed", "status": "True", "reason": "Succeeded",
                                  "message": "The pod has completed successfully."}]
    failed = tables.table_for(BY_KEY["pods"], [pod(phase="Failed")], now=NOW)["rows"][0]
    assert failed["conditions"][0]["reason"] == "Failed"
    running = tables.table_for(BY_KEY["pods"], [pod(statuses=[RUNNING])], now=NOW)["rows"][0]
    assert "conditions" not in running


def test_readiness_gates_and_nominated_node():
    p = pod(statuses=[RUNNING], spec={"readinessGates": [{"conditionType": "a"}, {"conditionType": "b"},
                                                         {"conditionType": "c"}]},
            status={"conditions": [{"type": "a", "status": "False"}, {"type": "b", "status": "True"}],
                    "podIPs": [{"ip": "fd00::5"}], "nominatedNodeName": "node-2"})
    assert cells("pods", p)[5:] == ["fd00::5", "<none>", "node-2", "1/3"]


# ---- services -------------------------------------------------------------------------------------

def svc(name, spec, status=None):
    return {"metadata": meta(name, 3 * 86400 + 7200), "spec": spec, "status": status or {}}


def test_cluster_ip_and_node_port_services():
    web = svc("web", {"type": "ClusterIP", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
                      "ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080},
                                {"port": 53, "protocol": "UDP"}],
                      "selector": {"tier": "fe", "app": "web"}})
    assert cells("services", web) == ["web", "ClusterIP", "10.96.0.10", "<none>", "80/TCP,53/UDP", "3d2h",
                                      "app=web,tier=fe"]
    np = svc("np", {"type": "NodePort", "clusterIP": "10.96.0.11", "ports": [{"port": 80, "nodePort": 30080}]})
    assert cells("services", np) == ["np", "NodePort", "10.96.0.11", "<none>", "80:30080/TCP", "3d2h", "<none>"]
    ext = svc("ext", {"clusterIP": "10.96.0.12", "externalIPs": ["192.0.2.1", "192.0.2.2"], "ports": [{"port": 443}]})
    assert cells("services", ext)[1:5] == ["ClusterIP", "10.96.0.12", "192.0.2.1,192.0.2.2", "443/TCP"]


def test_load_balancer_services():
    spec = {"type": "LoadBalancer", "clusterIP": "10.96.0.20", "ports": [{"port": 443, "nodePort": 31443}]}
    assert cells("services", svc("lb", spec))[1:5] == ["LoadBalancer", "10.96.0.20", "<pending>", "443:31443/TCP"]
    ingress = {"loadBalancer": {"ingress": [{"ip": "127.0.100.2"}, {"ip": "127.0.100.1"}, {"hostname": "lb.example"},
                                            {"ip": "127.0.100.1"}]}}
    assert cells("services", svc("lb", spec, ingress))[3] == "127.0.100.1,127.0.100.2,lb.example"
    with_ext = svc("lb", dict(spec, externalIPs=["192.0.2.9"]), ingress)
    assert cells("services", with_ext)[3] == "127.0.100.1,127.0.100.2,lb.example,192.0.2.9"
    assert cells("services", svc("lb", dict(spec, externalIPs=["192.0.2.9"])))[3] == "192.0.2.9"


def test_headless_external_name_and_portless_services():
    headless = svc("db", {"type": "ClusterIP", "clusterIP": "None", "clusterIPs": ["None"],
                          "ports": [{"port": 5432, "protocol": "TCP"}], "selector": {"app": "db"}})
    assert cells("services", headless)[1:5] == ["ClusterIP", "None", "<none>", "5432/TCP"]
    ext = svc("mail", {"type": "ExternalName", "externalName": "mail.example.com"})
    assert cells("services", ext)[1:5] == ["ExternalName", "<none>", "mail.example.com", "<none>"]


# ---- endpoints and slices -------------------------------------------------------------------------

def test_endpoints_show_three_addresses_then_how_many_more():
    subsets = [{"addresses": [{"ip": f"10.244.0.{i}"} for i in range(1, 6)], "ports": [{"port": 8080}]}]
    ep = {"metadata": meta("web", 90), "subsets": subsets}
    assert cells("endpoints", ep) == ["web", "10.244.0.1:8080,10.244.0.2:8080,10.244.0.3:8080 + 2 more...", "90s"]
    two_ports = {"metadata": meta("web"), "subsets": [{"addresses": [{"ip": "10.244.0.1"}, {"ip": "10.244.0.2"}],
                                                      "ports": [{"port": 80}, {"port": 443}]}]}
    assert cells("endpoints", two_ports)[1] == "10.244.0.1:80,10.244.0.2:80,10.244.0.1:443 + 1 more..."
    exactly3 = {"metadata": meta("web"), "subsets": [{"addresses": [{"ip": "fd00::1"}, {"ip": "fd00::2"}],
                                                     "ports": [{"port": 80}]},
                                                    {"addresses": [{"ip": "10.0.0.1"}]}]}
    assert cells("endpoints", exactly3)[1] == "[fd00::1]:80,[fd00::2]:80,10.0.0.1"


def test_endpoints_without_addresses():
    assert cells("endpoints", {"metadata": meta("none")})[1] == "<none>"
    unready = {"metadata": meta("x"), "subsets": [{"notReadyAddresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}]}
    assert cells("endpoints", unready)[1] == ""


def test_endpoint_slices():
    es = {"metadata": meta("web-abc12"), "addressType": "IPv4",
          "ports": [{"name": "http", "port": 80, "protocol": "TCP"}, {"name": "https", "port": 443}],
          "endpoints": [{"addresses": [f"10.244.0.{i}"]} for i in range(1, 5)]}
    assert cells("endpointslices.discovery.k8s.io", es) == [
        "web-abc12", "IPv4", "80,443", "10.244.0.1,10.244.0.2,10.244.0.3 + 1 more...", "5m"]
    empty = {"metadata": meta("web-x"), "addressType": "IPv4", "ports": [{"name": "named"}, {}], "endpoints": []}
    assert cells("endpointslices.discovery.k8s.io", empty)[2:4] == ["named,*", "<unset>"]
    assert cells("endpointslices.discovery.k8s.io", {"metadata": meta("n"), "addressType": "IPv6"})[2:4] == \
        ["<unset>", "<unset>"]


# ---- small kinds ----------------------------------------------------------------------------------

def test_configmaps_secrets_serviceaccounts_namespaces_leases():
    cm = {"metadata": meta("cfg"), "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}}
    assert cells("configmaps", cm) == ["cfg", 3, "5m"]
    assert cells("secrets", {"metadata": meta("s"), "type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}}) \
        == ["s", "kubernetes.io/tls", 2, "5m"]
    assert cells("secrets", {"metadata": meta("o")}) == ["o", "Opaque", 0, "5m"]
    assert cells("serviceaccounts", {"metadata": meta("default")}) == ["default", 0, "5m"]
    assert cells("serviceaccounts", {"metadata": meta("b"), "secrets": [{"name": "t"}]})[1] == 1
    assert cells("namespaces", {"metadata": meta("dev", 2 * 86400), "status": {"phase": "Terminating"}}) == \
        ["dev", "Terminating", "2d"]
    assert cells("namespaces", {"metadata": meta("new")})[1] == "Active"
    lease = {"metadata": meta("ctrl"), "spec": {"holderIdentity": "controller-1_abc"}}
    assert cells("leases.coordination.k8s.io", lease) == ["ctrl", "controller-1_abc", "5m"]
    assert cells("leases.coordination.k8s.io", {"metadata": meta("free"), "spec": {}})[1] == ""


# ---- nodes ----------------------------------------------------------------------------------------

def node(name, ready="True", unschedulable=False, labels=None):
    return {"metadata": meta(name, 10 * 86400, labels=labels or {}),
            "spec": {"unschedulable": True} if unschedulable else {},
            "status": {"conditions": [{"type": "MemoryPressure", "status": "False"}] +
                       ([{"type": "Ready", "status": ready}] if ready else []),
                       "addresses": [{"type": "Hostname", "address": name},
                                     {"type": "InternalIP", "address": "172.18.0.2"}],
                       "nodeInfo": {"kubeletVersion": "v1.35.0", "osImage": "Debian GNU/Linux 12 (bookworm)",
                                    "kernelVersion": "6.1.0-18-amd64",
                                    "containerRuntimeVersion": "docker://20.10.24"}}}


def test_nodes_status_roles_and_wide_cells():
    control = node("emukube-control-plane", labels={"node-role.kubernetes.io/control-plane": "",
                                                    "kubernetes.io/role": "master", "node-role.kubernetes.io/": ""})
    assert cells("nodes", control) == [
        "emukube-control-plane", "Ready", "control-plane,master", "10d", "v1.35.0",
        "172.18.0.2", "<none>", "Debian GNU/Linux 12 (bookworm)", "6.1.0-18-amd64", "docker://20.10.24"]
    assert cells("nodes", node("w1", unschedulable=True))[1:3] == ["Ready,SchedulingDisabled", "<none>"]
    assert cells("nodes", node("w2", ready="Unknown"))[1] == "NotReady"
    assert cells("nodes", node("w3", ready=None, unschedulable=True))[1] == "Unknown,SchedulingDisabled"
    bare = cells("nodes", {"metadata": meta("w4")})
    assert bare[4:] == ["", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"]


# ---- events ---------------------------------------------------------------------------------------

def test_core_events():
    ev = {"apiVersion": "v1", "kind": "Event", "metadata": meta("web-1.17d"),
          "involvedObject": {"kind": "Pod", "name": "web-1", "fieldPath": "spec.containers{web}"},
          "reason": "BackOff", "message": "Back-off restarting failed container\n", "type": "Warning",
          "source": {"component": "kubelet", "host": "node-1"}, "count": 7,
          "firstTimestamp": ago(3600), "lastTimestamp": ago(42)}
    assert cells("events", ev) == ["42s", "Warning", "BackOff", "pod/web-1", "spec.containers{web}",
                                   "kubelet, node-1", "Back-off restarting failed container", "60m", 7, "web-1.17d"]
    no_name = {"metadata": meta("n.1"), "involvedObject": {"kind": "Node"}, "reason": "Starting",
               "type": "Normal", "eventTime": ago(90) + "", "reportingController": "kubelet"}
    assert cells("events", no_name) == ["90s", "Normal", "Starting", "node", "", "kubelet", "", "90s", 1, "n.1"]


def test_events_k8s_io_events():
    ev = {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": meta("web.1"),
          "regarding": {"kind": "Deployment", "name": "web", "namespace": "default"},
          "reason": "ScalingReplicaSet", "note": "Scaled up replica set web-5d4 to 3", "type": "Normal",
          "eventTime": "2025-06-01T11:50:00.000000Z", "reportingController": "deployment-controller",
          "reportingInstance": "controller-0", "action": "Scale",
          "series": {"count": 4, "lastObservedTime": "2025-06-01T11:59:30.123456Z"}}
    assert cells("events.events.k8s.io", ev) == [
        "29s", "Normal", "ScalingReplicaSet", "deployment/web", "", "deployment-controller, controller-0",
        "Scaled up replica set web-5d4 to 3", "10m", 4, "web.1"]
    old = {"apiVersion": "events.k8s.io/v1", "metadata": meta("x"), "regarding": {"kind": "Pod", "name": "p"},
           "deprecatedSource": {"component": "scheduler"}, "deprecatedCount": 2,
           "deprecatedFirstTimestamp": ago(300), "deprecatedLastTimestamp": ago(30), "note": "n"}
    assert cells("events", old)[:9] == ["30s", "", "", "pod/p", "", "scheduler", "n", "5m", 2]


# ---- apps -----------------------------------------------------------------------------------------

TEMPLATE = {"spec": {"containers": [{"name": "web", "image": "nginx:1.25"}, {"name": "log", "image": "busybox"}]}}


def test_deployment_mid_rollout():
    d = {"metadata": meta("web", 7200), "spec": {"replicas": 3, "template": TEMPLATE,
                                                 "selector": {"matchLabels": {"app": "web"}}},
         "status": {"replicas": 4, "updatedReplicas": 1, "readyReplicas": 2, "availableReplicas": 2}}
    assert cells("deployments.apps", d) == ["web", "2/3", 1, 2, "120m", "web,log", "nginx:1.25,busybox", "app=web"]
    fresh = {"metadata": meta("new"), "spec": {"template": TEMPLATE, "selector": {
        "matchLabels": {"app": "new"},
        "matchExpressions": [{"key": "tier", "operator": "In", "values": ["fe", "be"]},
                             {"key": "canary", "operator": "DoesNotExist"},
                             {"key": "env", "operator": "Exists"}]}}}
    assert cells("deployments.apps", fresh)[1:4] == ["0/1", 0, 0]
    assert cells("deployments.apps", fresh)[-1] == "app=new,!canary,env,tier in (be,fe)"
    bad = {"metadata": meta("bad"), "spec": {"selector": {"matchExpressions": [{"key": "a", "operator": "Near"}]}}}
    assert cells("deployments.apps", bad)[-3:] == ["", "", "<invalid>"]
    assert cells("deployments.apps", {"metadata": meta("nosel"), "spec": {}})[-1] == ""


def test_replicasets_statefulsets_controllerrevisions():
    rs = {"metadata": meta("web-5d4"), "spec": {"replicas": 3, "template": TEMPLATE,
                                                "selector": {"matchLabels": {"app": "web", "pod-template-hash": "5d4"}}},
          "status": {"replicas": 3, "readyReplicas": 1}}
    assert cells("replicasets.apps", rs) == ["web-5d4", 3, 3, 1, "5m", "web,log", "nginx:1.25,busybox",
                                             "app=web,pod-template-hash=5d4"]
    assert cells("replicasets.apps", {"metadata": meta("x"), "spec": {"replicas": 0}})[1:4] == [0, 0, 0]
    assert cells("replicasets.apps", {"metadata": meta("x"), "spec": {}})[-1] == "<none>"
    bad = {"metadata": meta("x"), "spec": {"selector": {"matchExpressions": [{"key": "a", "operator": "Gt"}]}}}
    assert cells("replicasets.apps", bad)[-1] == "<error>"
    sts = {"metadata": meta("db"), "spec": {"replicas": 3, "template": TEMPLATE}, "status": {"readyReplicas": 1}}
    assert cells("statefulsets.apps", sts) == ["db", "1/3", "5m", "web,log", "nginx:1.25,busybox"]
    cr = {"metadata": meta("db-7f9", ownerReferences=[
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "other"},
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "controller": True}]), "revision": 2}
    assert cells("controllerrevisions.apps", cr) == ["db-7f9", "statefulset.apps/db", 2, "5m"]
    core_owner = {"metadata": meta("r", ownerReferences=[{"apiVersion": "v1", "kind": "Pod", "name": "p",
                                                          "controller": True}]), "revision": 1}
    assert cells("controllerrevisions.apps", core_owner)[1] == "pod/p"
    assert cells("controllerrevisions.apps", {"metadata": meta("orphan"), "revision": 1})[1] == "<none>"


def test_label_selector_formatting():
    assert format_label_selector(None) == "<none>"
    assert format_label_selector({}) == "<none>"
    assert format_label_selector({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["y", "x"]}]}) \
        == "a notin (x,y)"
    # LabelSelectorAsSelector: every requirement sorted by key, matchLabels' among the expressions'
    both = {"matchLabels": {"tier": "web", "app": "shop"},
            "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "dev"]},
                                 {"key": "zz", "operator": "DoesNotExist"}, {"key": "b", "operator": "Exists"}]}
    assert format_label_selector(both) == "app=shop,b,env in (dev,prod),tier=web,!zz"
    assert format_label_selector({"matchExpressions": [{"key": "a", "operator": "Near"}]}) == "<error>"


# ---- columns, objects, the default table ----------------------------------------------------------

COLUMNS = {
    "pods": ["Name", "Ready", "Status", "Restarts", "Age", "IP", "Node", "Nominated Node", "Readiness Gates"],
    "services": ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"],
    "endpoints": ["Name", "Endpoints", "Age"],
    "endpointslices.discovery.k8s.io": ["Name", "AddressType", "Ports", "Endpoints", "Age"],
    "configmaps": ["Name", "Data", "Age"],
    "secrets": ["Name", "Type", "Data", "Age"],
    "serviceaccounts": ["Name", "Secrets", "Age"],
    "namespaces": ["Name", "Status", "Age"],
    "nodes": ["Name", "Status", "Roles", "Age", "Version", "Internal-IP", "External-IP", "OS-Image",
              "Kernel-Version", "Container-Runtime"],
    "events": ["Last Seen", "Type", "Reason", "Object", "Subobject", "Source", "Message", "First Seen", "Count",
               "Name"],
    "events.events.k8s.io": ["Last Seen", "Type", "Reason", "Object", "Subobject", "Source", "Message",
                             "First Seen", "Count", "Name"],
    "deployments.apps": ["Name", "Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"],
    "replicasets.apps": ["Name", "Desired", "Current", "Ready", "Age", "Containers", "Images", "Selector"],
    "statefulsets.apps": ["Name", "Ready", "Age", "Containers", "Images"],
    "controllerrevisions.apps": ["Name", "Controller", "Revision", "Age"],
    "leases.coordination.k8s.io": ["Name", "Holder", "Age"],
}
WIDE = {"pods": 4, "services": 1, "nodes": 5, "events": 4, "events.events.k8s.io": 4, "deployments.apps": 3,
        "replicasets.apps": 3, "statefulsets.apps": 2}


@pytest.mark.parametrize("key", sorted(COLUMNS))
def test_columns_and_priorities(key):
    defs = tables.table_for(BY_KEY[key], [], now=NOW)["columnDefinitions"]
    assert [c["name"] for c in defs] == COLUMNS[key]
    if key.startswith("events"):
        assert [c["name"] for c in defs if c["priority"] == 1] == ["Subobject", "Source", "First Seen", "Count", "Name"]
    else:  # the -o wide columns come last
        wide = WIDE.get(key, 0)
        assert [c["priority"] for c in defs] == [0] * (len(defs) - wide) + [1] * wide
    names = [c for c in defs if c["format"] == "name"]
    assert len(names) == 1 and names[0]["name"] == "Name" and names[0]["type"] == "string"
    assert all(set(c) == {"name", "type", "format", "description", "priority"} and c["description"] for c in defs)


def test_integer_columns_are_typed_as_kubernetes_types_them():
    rs = {c["name"]: c["type"] for c in tables.table_for(BY_KEY["replicasets.apps"], [])["columnDefinitions"]}
    assert rs["Desired"] == rs["Current"] == rs["Ready"] == "integer"
    pods = {c["name"]: c["type"] for c in tables.table_for(BY_KEY["pods"], [])["columnDefinitions"]}
    assert pods["Restarts"] == "string"


# Printers that write more cells than they have columns, as upstream's do (kubectl prints one per
# column): printIPAddress's AGE.
EXTRA_CELLS = {"ipaddresses.networking.k8s.io": 1}


@pytest.mark.parametrize("res", RESOURCES, ids=lambda r: r.key)
def test_every_row_has_one_cell_per_column_even_for_a_bare_object(res):
    table = tables.table_for(res, [{"metadata": {"name": "x"}}, {}], now=NOW)
    extra = EXTRA_CELLS.get(res.key, 0)
    assert all(len(row["cells"]) == len(table["columnDefinitions"]) + extra for row in table["rows"])
    json.dumps(table)


def test_include_object_modes():
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("cfg", labels={"a": "b"}), "data": {"k": "v"}}
    res = BY_KEY["configmaps"]
    partial = tables.table_for(res, [cm], now=NOW)
    assert partial["kind"] == "Table" and partial["apiVersion"] == "meta.k8s.io/v1" and partial["metadata"] == {}
    assert partial["rows"][0]["object"] == {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                            "metadata": cm["metadata"]}
    assert tables.table_for(res, [cm], "", now=NOW)["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    assert tables.table_for(res, [cm], "Object", now=NOW)["rows"][0]["object"] is cm
    none = tables.table_for(res, [cm], "None", now=NOW)["rows"][0]
    assert none["object"] is None and none["cells"] == ["cfg", 1, "5m"]
    with pytest.raises(ValueError, match='unrecognized includeObject value: "Everything"'):
        tables.table_for(res, [cm], "Everything")
    beta = tables.table_for(res, [cm], group_version="meta.k8s.io/v1beta1", now=NOW)
    assert beta["apiVersion"] == beta["rows"][0]["object"]["apiVersion"] == "meta.k8s.io/v1beta1"


def test_watch_events_after_the_first_leave_out_the_headers():
    table = tables.table_for(BY_KEY["pods"], [pod()], no_headers=True, now=NOW)
    assert table["columnDefinitions"] is None and len(table["rows"][0]["cells"]) == 9


def test_rows_keep_the_order_of_the_objects():
    objs = [{"metadata": meta(n)} for n in ("b", "a", "c")]
    assert [r["cells"][0] for r in tables.table_for(BY_KEY["configmaps"], objs, now=NOW)["rows"]] == ["b", "a", "c"]


def test_default_table_for_a_kind_without_a_printer():
    role = Resource("rbac.authorization.k8s.io", "v1", "Role", "roles")
    table = tables.table_for(role, [{"metadata": {"name": "reader", "creationTimestamp": "2025-05-30T08:15:00Z"}},
                                    {"metadata": {"name": "new"}}], now=NOW)
    assert [(c["name"], c["type"], c["format"]) for c in table["columnDefinitions"]] == \
        [("Name", "string", "name"), ("Created At", "date", "")]
    assert [r["cells"] for r in table["rows"]] == [["reader", "2025-05-30T08:15:00Z"],
                                                   ["new", "0001-01-01T00:00:00Z"]]


def test_every_served_resource_has_its_own_printer():
    """But Roles, ClusterRoles, CRDs and LimitRanges, which Kubernetes prints with the default, and the
    reviews, never listed."""
    default = {"roles.rbac.authorization.k8s.io", "clusterroles.rbac.authorization.k8s.io",
               "customresourcedefinitions.apiextensions.k8s.io", "limitranges"}
    assert {r.key for r in RESOURCES if "list" in r.verbs} - default == set(tables.PRINTERS)
