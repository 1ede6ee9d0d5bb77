"""Structure-aware fuzzing of load + validate + plan.

The byte- and junk-level fuzzers (test_manifests_load, test_manifests_validate) mostly produce
input that fails early. Here valid manifests are mutated a few places at a time, so most
examples get deep into validation, and those that pass are planned and rendered the way the
controller would: validated input must never crash what comes after validation.
"""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emukube.errors import EmukubeError
from emukube.manifests import load_and_validate
from emukube.plan.allocate import Allocated, allocate_services
from emukube.plan.config_volumes import PodSide
from emukube.plan.endpoints import PodView, dns_plan, proxy_plan, service_env
from emukube.plan.network import ClusterNet
from emukube.plan.workloads import bare_pod, new_pod_for, rollout_limits
from emukube.render import render_corefile, render_haproxy, render_nginx, render_zones
from emukube.runtime.podspec import Refs, command_and_args, container_env, container_ports, resources, volume_files
from emukube.runtime.proxies import published_ports
from emukube.runtime.security import security_options

ROOT = Path(__file__).parent.parent.parent

RICH = """
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
data: {mode: fast, "app.conf": "x=1"}
binaryData: {blob: aGVsbG8=}
---
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: shop}
data: {password: aHVudGVyMg==}
stringData: {user: admin}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: tool, namespace: shop, labels: {app: tool}}
spec:
  terminationGracePeriodSeconds: 5
  restartPolicy: OnFailure
  securityContext: {seccompProfile: {type: RuntimeDefault}}
  initContainers:
    - {name: init, image: busybox, command: [sh, -c, "echo $(MODE)"]}
  containers:
    - name: app
      image: emukube/echo:1.0
      command: [/echo]
      args: ["--port=$(PORT)", "$$literal"]
      workingDir: /tmp
      env:
        - {name: PORT, value: "8080"}
        - {name: MODE, valueFrom: {configMapKeyRef: {name: settings, key: mode}}}
        - {name: PASS, valueFrom: {secretKeyRef: {name: creds, key: password, optional: true}}}
        - {name: ME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
      envFrom: [{configMapRef: {name: settings}, prefix: CFG_}, {secretRef: {name: creds}}]
      ports: [{name: http, containerPort: 8080}, {name: dns, containerPort: 53, protocol: UDP}]
      resources: {limits: {memory: 64Mi, cpu: 250m}, requests: {memory: 32Mi}}
      securityContext:
        runAsUser: 1000
        capabilities: {add: [NET_BIND_SERVICE], drop: [ALL]}
      readinessProbe: {httpGet: {path: /readyz, port: http}, periodSeconds: 1}
      livenessProbe: {tcpSocket: {port: 8080}, failureThreshold: 3}
      startupProbe: {exec: {command: [cat, /tmp/ok]}}
      lifecycle: {preStop: {sleep: {seconds: 1}}}
      volumeMounts:
        - {name: config, mountPath: /etc/app}
        - {name: creds, mountPath: /etc/creds, readOnly: true}
        - {name: one, mountPath: /etc/one.conf, subPath: app.conf}
        - {name: scratch, mountPath: /scratch}
  volumes:
    - {name: config, configMap: {name: settings, items: [{key: mode, path: conf/mode, mode: 0400}]}}
    - {name: creds, secret: {secretName: creds, defaultMode: 0440}}
    - {name: one, configMap: {name: settings}}
    - {name: scratch, emptyDir: {}}
---
apiVersion: v1
kind: Service
metadata: {name: tool, namespace: shop}
spec:
  type: LoadBalancer
  selector: {app: tool}
  sessionAffinity: ClientIP
  sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}}
  ports:
    - {name: http, port: 80, targetPort: http, nodePort: 30555}
    - {name: dns, port: 53, protocol: UDP, targetPort: dns}
"""


def _documents(text: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(text) if d]


BASES = [
    _documents((ROOT / "examples" / "pizza.yaml").read_text()),
    _documents((ROOT / "tests" / "integration" / "manifests" / "services.yaml").read_text()),
    _documents(RICH),
]

# Values people put in the wrong place, and values that are merely odd.
junk = st.recursive(
    st.none() | st.booleans() | st.integers(-70000, 70000) | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["", "None", "80", "http", "a--b", "..", "/", "../x", "/var/run/docker.sock", "ClientIP",
                       "NodePort", "LoadBalancer", "ExternalName", "Headless", "UDP", "SCTP", "TCP", "10.96.0.10",
                       "10.96.1.1", "1.2.3.4", "Always", "Never", "OnFailure", "Unconfined", "SYS_ADMIN", "ALL",
                       "50%", "101%", "-1", "1e3", "64Mi", "xMi", "0.5", "abc", "web", "db", "$(PORT)", "$$",
                       "$(", "ｗｅｂ", "a" * 70])
    | st.text(max_size=6),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=10,
)


def _paths(node, prefix=()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, prefix + (i,))
    return out


def _node(doc, path):
    for step in path:
        doc = doc[step]
    return doc


# Every value found in the bases: spliced into other places they are realistic but misplaced.
SPLICES = [_node(doc, path) for docs in BASES for doc in docs for path in _paths(doc)[1:]]


def _retyped(value, data):
    """The same value in the shapes people confuse: "80" for 80, [x] for x, {x: x} for x."""
    shapes = [[value], {"name": value}, None]
    if isinstance(value, str):
        shapes += [value.upper(), value + "-x", int(value) if value.isdigit() else len(value)]
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        shapes += [str(value), value + 0.5, -value, value * 1000]
    return data.draw(st.sampled_from(shapes), label="retyped")


def _mutate(docs: list[dict], data) -> list[dict]:
    docs = copy.deepcopy(docs)
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        doc = data.draw(st.sampled_from(docs), label="document")
        path = data.draw(st.sampled_from(_paths(doc)[1:]), label="path")
        parent = _node(doc, path[:-1])
        last = path[-1]
        action = data.draw(st.sampled_from(["replace", "retype", "splice", "delete", "copy-sibling", "add-key"]),
                           label="action")
        if action == "replace":
            parent[last] = data.draw(junk, label="value")
        elif action == "retype":
            parent[last] = _retyped(parent[last], data)
        elif action == "splice":
            parent[last] = copy.deepcopy(data.draw(st.sampled_from(SPLICES), label="spliced"))
        elif action == "delete":
            del parent[last]
        elif action == "copy-sibling" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[last]))
        elif action == "add-key" and isinstance(parent[last], dict):
            key = data.draw(st.sampled_from([k for p in _paths(doc) for k in p if isinstance(k, str)]), label="key")
            parent[last][key] = data.draw(junk, label="value")
    if data.draw(st.booleans(), label="duplicate a document"):
        docs.append(copy.deepcopy(data.draw(st.sampled_from(docs))))
    return docs


def plan_everything(objects: list[dict]) -> None:
    """What the controller does with validated objects, minus Docker."""
    net = ClusterNet("fuzz", 0)
    services = [o for o in objects if o["kind"] == "Service"]
    allocated, problems = allocate_services(services, {}, net, Allocated())
    if problems:
        raise EmukubeError("\n".join(problems))  # what Cluster.apply raises
    refs = Refs(objects)
    views = []
    for i, obj in enumerate(objects):
        if obj["kind"] in ("Deployment", "StatefulSet", "ReplicaSet"):
            plan = new_pod_for(obj, 0 if obj["kind"] == "StatefulSet" else None)
            if obj["kind"] == "Deployment":
                rollout_limits(obj)
        elif obj["kind"] == "Pod":
            plan = bare_pod(obj)
        else:
            continue
        ip = f"10.96.128.{i + 2}"
        for c in (plan.spec.get("initContainers") or []) + (plan.spec.get("containers") or []):
            missing: list[str] = []
            env = container_env(c, plan.name, plan.namespace, ip, refs, service_env(allocated, plan.namespace),
                                missing)
            volume_files(plan.spec, c, plan.namespace, refs, missing, PodSide(plan.metadata))
            command_and_args(c, env)
            resources(c)
            security_options(plan.spec, c, allow_privileged=False)
        views.append(PodView(name=plan.name, namespace=plan.namespace, ip=ip, labels=plan.labels, ready=True,
                             container_ports=container_ports(plan.spec), hostname=plan.hostname,
                             subdomain=plan.subdomain))
    for svc in allocated:
        proxy = proxy_plan(svc, views)
        if proxy is not None:
            render_haproxy(proxy)
            render_nginx(proxy)
            published_ports(svc, proxy, "127.0.0.1")
    dns = dns_plan(allocated, views, net, 1)
    render_zones(dns)
    render_corefile(dns)


def test_the_bases_are_valid_and_plan():
    for docs in BASES:
        objects, _ = load_and_validate(["-"], io.StringIO(json.dumps({"kind": "List", "items": docs})))
        plan_everything(objects)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from(range(len(BASES))), data=st.data(), as_json=st.booleans())
def test_property_mutated_manifests_raise_only_emukube_errors(base, data, as_json):
    docs = _mutate(BASES[base], data)
    text = "\n".join(json.dumps(d) for d in docs) if as_json else yaml.safe_dump_all(docs, allow_unicode=True)
    try:
        objects, _ = load_and_validate(["-"], io.StringIO(text))
        plan_everything(objects)
    except EmukubeError as e:
        for line in str(e).splitlines():
            line.encode("utf-8")
