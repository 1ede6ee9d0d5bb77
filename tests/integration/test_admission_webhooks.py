"""Admission webhooks as teams run them: a webhook server in a pod behind a Service, its
certificate in a Secret, its configurations applied with kubectl; writes through kubectl are
sent to it, its denials, warnings and patches come back as kube-apiserver gives them, and pods
a Deployment makes are mutated (a sidecar) or refused (FailedCreate) as on a cluster; a Helm
chart that ships its webhook installs and uninstalls it."""

from __future__ import annotations

import base64
import json
import subprocess

import pytest
from conftest import HERE, wait_until
from hook_server import HOOK, start_hook
from kubectl_tools import HELM, Kube

from emukube import Cluster, unique_name
from emukube.lifecycle.pki import make_pki

MANIFEST = HERE / "manifests" / "webhooks.yaml"
CHART = HERE / "charts" / "policy"


@pytest.fixture(scope="module")
def kube(engine, tmp_path_factory):
    c = Cluster.up(MANIFEST, name=unique_name("thook"), timeout=150)
    work = tmp_path_factory.mktemp("hook")
    try:
        k = Kube(c.name, work)
        ca = start_hook(k, work, ["hook.webhooks.svc", "nobody.webhooks.svc"])
        bundle = base64.b64encode(ca).decode()
        k("apply", "-f", "-", input=(HOOK / "configurations.yaml").read_text().replace("CA_BUNDLE", bundle))
        answered(k, "guarded", {}, "configmaps.validate.hook.emukube.test")
        yield k
    finally:
        c.down()


def answered(kube: Kube, namespace: str, labels: dict, webhook: str) -> None:
    """Until the webhook itself answers through its Service: a Service's proxy takes up the
    endpoints of pods just made ready a moment after `rollout status` (or `helm install --wait`)
    returns, and meanwhile the API server's call is refused, as kube-proxy's rules lag on a cluster."""
    probe = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "data": {"forbidden": "1"},
                        "metadata": {"generateName": "probe-", "labels": labels}})
    wait_until(lambda: f'admission webhook "{webhook}" denied' in
               kube("create", "-n", namespace, "-f", "-", input=probe, check=False).stderr,
               f"{webhook} answering", timeout=30)


def reviews(kube: Kube) -> list[dict]:
    """What the webhook was sent, as it logged it."""
    out = kube("logs", "-n", "webhooks", "deploy/hook").stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_kubectl_lists_the_configurations(kube):
    rows = [line.split() for line in kube.lines("get", "validatingwebhookconfigurations")]
    assert rows[0] == ["NAME", "WEBHOOKS", "AGE"]
    assert [r[:2] for r in rows[1:]] == [["hook-down", "3"], ["hook-validate", "3"]], rows
    assert kube.lines("get", "mutatingwebhookconfiguration", "hook-mutate")[1].split()[:2] == ["hook-mutate", "1"]
    hook = kube.obj("get", "mutatingwebhookconfiguration", "hook-mutate")["webhooks"][0]
    # the API server's defaults
    assert (hook["failurePolicy"], hook["matchPolicy"], hook["timeoutSeconds"], hook["reinvocationPolicy"],
            hook["clientConfig"]["service"]["port"], hook["rules"][0]["scope"], hook["objectSelector"]) == \
        ("Fail", "Equivalent", 10, "Never", 443, "*", {})


def test_a_denial_is_the_webhooks_message_and_nothing_is_stored(kube):
    done = kube("create", "configmap", "bad", "-n", "guarded", "--from-literal=forbidden=1", check=False)
    assert done.returncode == 1
    assert done.stderr.strip() == ('error: failed to create configmap: admission webhook '
                                   '"configmaps.validate.hook.emukube.test" denied the request: '
                                   'key "forbidden" is not allowed'), done.stderr
    assert kube("get", "configmap", "bad", "-n", "guarded", check=False).returncode == 1
    seen = [r for r in reviews(kube) if r["name"] == "bad"]
    assert seen and seen[-1]["operation"] == "CREATE" and seen[-1]["user"] == "kubernetes-admin", seen


def test_an_allowed_write_carries_the_webhooks_warning(kube):
    done = kube("create", "configmap", "good", "-n", "guarded", "--from-literal=ok=1")
    assert "Warning: configmap good checked by the test webhook" in done.stderr, done.stderr
    kube("label", "configmap", "good", "-n", "guarded", "tier=web")
    assert [r["operation"] for r in reviews(kube) if r["name"] == "good"] == ["CREATE", "UPDATE"]


def test_the_namespace_selector_leaves_other_namespaces_alone(kube):
    kube("create", "configmap", "bad", "-n", "skipped", "--from-literal=forbidden=1")
    assert not [r for r in reviews(kube) if r["namespace"] == "skipped"]


def test_a_server_dry_run_reaches_webhooks_without_side_effects(kube):
    done = kube("create", "configmap", "dry", "-n", "guarded", "--from-literal=forbidden=1", "--dry-run=server",
                check=False)
    assert "denied the request" in done.stderr, done.stderr
    assert [r["dryRun"] for r in reviews(kube) if r["name"] == "dry"] == [True]


def test_a_delete_is_sent_with_the_old_object(kube):
    kube("create", "configmap", "keep", "-n", "guarded", "--from-literal=a=1")
    kube("label", "configmap", "keep", "-n", "guarded", "protected=true")
    done = kube("delete", "configmap", "keep", "-n", "guarded", check=False)
    assert 'admission webhook "configmaps.validate.hook.emukube.test" denied the request: this ConfigMap is ' \
           "protected" in done.stderr, done.stderr
    assert kube("get", "configmap", "keep", "-n", "guarded").returncode == 0
    kube("label", "configmap", "keep", "-n", "guarded", "protected-")
    kube("delete", "configmap", "keep", "-n", "guarded")


def test_a_bare_pod_is_mutated_and_validated(kube):
    kube("run", "plain", "-n", "guarded", "--image=emukube/echo:1.0", "--labels=app=plain")
    labels = kube.obj("get", "pod", "plain", "-n", "guarded")["metadata"]["labels"]
    assert labels == {"app": "plain", "hook.emukube.test/seen": "true"}
    refused = kube("run", "denied", "-n", "guarded", "--image=emukube/echo:1.0", "--labels=deny=true", check=False)
    # a denial without a code or reason: a 400 with no reason, which kubectl prints without one
    assert refused.stderr.strip() == 'Error from server: admission webhook "pods.validate.hook.emukube.test" ' \
                                     "denied the request: pods labelled deny=true are not allowed", refused.stderr


def test_a_deployments_pods_get_the_injected_sidecar(kube):
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "injected", "namespace": "guarded"},
              "spec": {"selector": {"matchLabels": {"app": "injected"}}, "replicas": 2, "template": {
                  "metadata": {"labels": {"app": "injected"}, "annotations": {"hook.emukube.test/inject": "true"}},
                  "spec": {"containers": [{"name": "main", "image": "emukube/echo:1.0"}]}}}}
    kube("apply", "-f", "-", input=json.dumps(deploy))
    kube("rollout", "status", "-n", "guarded", "deploy/injected", "--timeout=90s", timeout=120)
    pods = kube.obj("get", "pods", "-n", "guarded", "-l", "app=injected")["items"]
    assert len(pods) == 2
    for pod in pods:
        assert [c["name"] for c in pod["spec"]["containers"]] == ["main", "sidecar"]
        assert pod["metadata"]["labels"]["hook.emukube.test/seen"] == "true"
        assert all(s["ready"] for s in pod["status"]["containerStatuses"]), pod["status"]
        logs = kube("logs", "-n", "guarded", pod["metadata"]["name"], "-c", "sidecar").stdout
        assert logs.strip() == "sidecar injected"
    row = kube.lines("get", "pods", "-n", "guarded", "-l", "app=injected")[1].split()
    assert row[1] == "2/2", row


def test_a_deployments_denied_pods_are_a_failed_create(kube):
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "refused", "namespace": "guarded"},
              "spec": {"selector": {"matchLabels": {"app": "refused"}}, "template": {
                  "metadata": {"labels": {"app": "refused", "deny": "true"}},
                  "spec": {"containers": [{"name": "main", "image": "emukube/echo:1.0"}]}}}}
    kube("apply", "-f", "-", input=json.dumps(deploy))
    events = wait_until(lambda: [e for e in kube.obj("get", "events", "-n", "guarded")["items"]
                                 if e["reason"] == "FailedCreate"], "a FailedCreate event")
    assert events[0]["involvedObject"]["kind"] == "ReplicaSet"
    assert events[0]["message"] == ('Error creating: admission webhook "pods.validate.hook.emukube.test" denied the '
                                    "request: pods labelled deny=true are not allowed"), events
    assert kube.obj("get", "pods", "-n", "guarded", "-l", "app=refused")["items"] == []


def test_a_webhook_nobody_answers_fails_or_is_ignored_by_its_policy(kube):
    failed = kube("create", "-n", "guarded", "-f", "-", check=False, input=json.dumps(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "f", "labels": {"hook.emukube.test/down": "fail"}}}))
    assert 'Internal error occurred: failed calling webhook "fail.down.hook.emukube.test": failed to call webhook: ' \
           'Post "https://nobody.webhooks.svc:443/validate?timeout=10s": ' in failed.stderr, failed.stderr
    missing = kube("create", "-n", "guarded", "-f", "-", check=False, input=json.dumps(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "m",
                                                               "labels": {"hook.emukube.test/down": "missing"}}}))
    assert 'Post "https://missing.webhooks.svc:443/validate?timeout=10s": service "missing" not found' in \
        missing.stderr, missing.stderr
    kube("create", "-n", "guarded", "-f", "-", input=json.dumps(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "i",
                                                               "labels": {"hook.emukube.test/down": "ignore"}}}))
    assert kube("get", "configmap", "i", "-n", "guarded").returncode == 0


def test_configurations_are_never_sent_to_webhooks_so_a_broken_one_can_go(kube):
    kube("delete", "validatingwebhookconfiguration", "hook-down")
    assert kube("get", "validatingwebhookconfiguration", "hook-down", check=False).returncode == 1


def test_a_chart_brings_its_webhook_and_helm_uninstall_takes_it_away(kube, tmp_path):
    pki = make_pki("policy", [], ["policy-hook.charted.svc"])
    for name, data in (("crt", pki.server_cert), ("key", pki.server_key), ("ca", pki.ca_cert)):
        (tmp_path / name).write_bytes(data)
    files = [f"--set-file=tls.{n}={tmp_path / n}" for n in ("crt", "key", "ca")]
    helm = [HELM, "--kubeconfig", str(kube.config)]
    subprocess.run([*helm, "install", "policy", str(CHART), "-n", "charted", "--create-namespace", "--wait",
                    "--timeout=120s", f"--set-file=program={HOOK / 'hook.py'}", *files],
                   check=True, capture_output=True, text=True, timeout=150)
    assert kube.lines("get", "validatingwebhookconfiguration", "policy-policy")[1].split()[:2] == ["policy-policy", "1"]
    answered(kube, "skipped", {"policy": "strict"}, "configmaps.policy.policy.emukube.test")
    strict = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "data": {"forbidden": "1"},
                         "metadata": {"name": "strict", "labels": {"policy": "strict"}}})
    refused = kube("create", "-n", "skipped", "-f", "-", input=strict, check=False)
    assert 'admission webhook "configmaps.policy.policy.emukube.test" denied the request: key "forbidden" is not ' \
           "allowed" in refused.stderr, refused.stderr
    subprocess.run([*helm, "uninstall", "policy", "-n", "charted", "--wait"], check=True, capture_output=True,
                   timeout=150)
    assert kube("get", "validatingwebhookconfiguration", "policy-policy", check=False).returncode == 1
    kube("create", "-n", "skipped", "-f", "-", input=strict)


def test_a_statefulsets_replaced_pod_is_sent_again_and_runs(kube):
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "guarded"},
           "spec": {"selector": {"matchLabels": {"app": "db"}}, "serviceName": "db", "replicas": 1, "template": {
               "metadata": {"labels": {"app": "db"}},
               "spec": {"terminationGracePeriodSeconds": 0,
                        "containers": [{"name": "main", "image": "emukube/echo:1.0"}]}}}}
    kube("apply", "-f", "-", input=json.dumps(sts))
    kube("rollout", "status", "-n", "guarded", "statefulset/db", "--timeout=90s", timeout=120)
    first = kube.obj("get", "pod", "db-0", "-n", "guarded")["metadata"]
    assert first["labels"]["hook.emukube.test/seen"] == "true"
    kube("delete", "pod", "db-0", "-n", "guarded", "--wait=false")
    def replaced() -> dict | None:
        got = kube("get", "pod", "db-0", "-n", "guarded", "-o", "json", check=False)
        meta = json.loads(got.stdout)["metadata"] if got.returncode == 0 else {}
        return meta if meta and meta["uid"] != first["uid"] else None

    again = wait_until(replaced, "db-0 made again")
    assert again["labels"]["hook.emukube.test/seen"] == "true"
    kube("wait", "-n", "guarded", "pod/db-0", "--for=condition=Ready", "--timeout=90s", timeout=120)
    sent = [r for r in reviews(kube) if r["kind"] == "Pod" and r["name"].startswith("db-0") and r["dryRun"]]
    assert len(sent) >= 4, sent  # mutated and validated, twice


def test_an_exec_is_sent_as_connect_with_its_options(kube):
    kube("wait", "-n", "guarded", "pod/plain", "--for=condition=Ready", "--timeout=90s", timeout=120)
    assert kube("exec", "-n", "guarded", "plain", "--", "echo", "fine").stdout.strip() == "fine"
    refused = kube("exec", "-n", "guarded", "plain", "--", "rm", "-rf", "/tmp/x", check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip() == ('Error from server (Forbidden): admission webhook "exec.validate.hook.emukube.test" '
                                      "denied the request: exec of rm is not allowed"), refused.stderr
    sent = [(r["kind"], r["name"], r["allowed"]) for r in reviews(kube) if r["operation"] == "CONNECT"]
    # kubectl asks over WebSocket, then (refused) over SPDY: the webhook is asked each time
    assert sent[0] == ("PodExecOptions", "plain", True) and set(sent[1:]) == {("PodExecOptions", "plain", False)}, \
        sent
