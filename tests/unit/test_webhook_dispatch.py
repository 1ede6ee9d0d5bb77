"""Admission webhooks' pure parts: which requests a webhook's rules and selectors match, the
AdmissionReview sent, the answer read back, and the API server's words for denials and failures;
then one request's admission with a stand-in for the HTTPS call."""

from __future__ import annotations

import base64
import json

import pytest

from emukube.apiserver import errors, webhooks
from emukube.apiserver.webhooks import Admitter, CallFailed, Hook, Request, answer_of, denial, review, rule_matches
from emukube.k8s.resources import BY_KEY

PODS, NAMESPACES, NODES = BY_KEY["pods"], BY_KEY["namespaces"], BY_KEY["nodes"]
RULE = {"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}


def req(op="CREATE", res=PODS, ns="shop", name="web", sub="", obj=None, old=None, dry=False) -> Request:
    return Request(op, res, ns, name, {"username": "alice", "groups": ["dev"]}, dry, sub, obj, old)


@pytest.mark.parametrize("rule, request_, matches", [
    (RULE, req(), True),
    (RULE, req(op="UPDATE"), False),
    ({**RULE, "operations": ["*"]}, req(op="DELETE"), True),
    (RULE, req(sub="status"), False),
    ({**RULE, "resources": ["pods/*"]}, req(sub="status"), True),
    ({**RULE, "resources": ["pods/*"]}, req(), True),  # as rules.Matcher has it: "*" matches no subresource too
    ({**RULE, "resources": ["*/status"]}, req(sub="status"), True),
    ({**RULE, "resources": ["*"]}, req(), True),
    ({**RULE, "apiGroups": ["apps"]}, req(), False),
    ({**RULE, "apiVersions": ["v2"]}, req(), False),
    ({**RULE, "scope": "Cluster"}, req(), False),
    ({**RULE, "scope": "Namespaced"}, req(), True),
    ({**RULE, "resources": ["namespaces"], "scope": "Cluster"}, req(res=NAMESPACES, ns="", name="shop"), True),
    ({**RULE, "resources": ["nodes"], "scope": "Namespaced"}, req(res=NODES, ns=""), False),
])
def test_rules_match_as_the_api_servers_matcher(rule, request_, matches):
    assert rule_matches(rule, request_) is matches


def hook(**spec) -> Hook:
    return Hook("conf", {"name": "check.example.com", "rules": [RULE], "sideEffects": "None", **spec}, False)


def test_selectors_weigh_the_namespaces_labels_and_the_objects_old_or_new_labels():
    by_ns = hook(namespaceSelector={"matchLabels": {"team": "a"}})
    assert webhooks.should_call(by_ns, req(), {"team": "a"})
    assert not webhooks.should_call(by_ns, req(), {"team": "b"})
    by_obj = hook(objectSelector={"matchExpressions": [{"key": "app", "operator": "Exists"}]})
    assert webhooks.should_call(by_obj, req(op="CREATE", obj={"metadata": {"labels": {"app": "x"}}}), {})
    assert not webhooks.should_call(by_obj, req(obj={"metadata": {}}), {})
    delete = req(op="DELETE", old={"metadata": {"labels": {"app": "x"}}})
    assert webhooks.should_call(hook(rules=[{**RULE, "operations": ["DELETE"]}],
                                     objectSelector={"matchLabels": {"app": "x"}}), delete, {})


def test_configurations_are_called_in_name_order_and_never_about_themselves():
    confs = [{"metadata": {"name": "b"}, "webhooks": [{"name": "b1"}]},
             {"metadata": {"name": "a"}, "webhooks": [{"name": "a1"}, {"name": "a2"}]}]
    assert [h.name for h in webhooks.hooks_of(confs, True)] == ["a1", "a2", "b1"]
    star = hook(rules=[{**RULE, "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*"]}])
    own = BY_KEY[webhooks.VALIDATING]
    assert not webhooks.may_match(star, req(res=own, ns=""))


def test_the_review_is_admission_v1_with_the_request_and_options():
    body = review(hook(), Request("UPDATE", PODS, "shop", "web", {"username": "alice"}, True, "", {"a": 1}, {"a": 0},
                                  {"fieldManager": "kubectl"}), "u-1")
    assert body["apiVersion"] == "admission.k8s.io/v1" and body["kind"] == "AdmissionReview"
    r = body["request"]
    assert r["uid"] == "u-1" and r["operation"] == "UPDATE" and r["dryRun"] is True
    assert r["kind"] == {"group": "", "version": "v1", "kind": "Pod"}
    assert r["resource"] == {"group": "", "version": "v1", "resource": "pods"} == r["requestResource"]
    assert (r["name"], r["namespace"], r["object"], r["oldObject"]) == ("web", "shop", {"a": 1}, {"a": 0})
    assert r["options"] == {"kind": "UpdateOptions", "apiVersion": "meta.k8s.io/v1", "fieldManager": "kubectl"}
    assert "subResource" not in r


def answer(uid="u", **response) -> dict:
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": {"uid": uid, **response}}


def test_answers_are_checked_as_verify_admission_response_checks_them():
    ops = [{"op": "add", "path": "/x", "value": 1}]
    patch = base64.b64encode(json.dumps(ops).encode()).decode()
    assert answer_of(answer(allowed=True, patchType="JSONPatch", patch=patch), "u", True).patch == ops
    for body, mutating, why in [
        ({}, False, "webhook response was absent"),
        (answer(uid="other", allowed=True), False, 'expected response.uid="u", got "other"'),
        ({**answer(allowed=True), "apiVersion": "admission.k8s.io/v1beta1"}, False,
         "expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview"),
        (answer(allowed=True, patch=patch, patchType="JSONPatch"), False, "validating webhook may not return "
                                                                           "response.patch"),
        (answer(allowed=True, patch=patch), True, "webhook returned response.patch but not response.patchType"),
    ]:
        with pytest.raises(CallFailed, match=why):
            answer_of(body, "u", mutating)


def test_a_denial_says_who_denied_at_least_a_400():
    plain = denial(hook(), {})
    assert (plain.code, plain.message) == (400, 'admission webhook "check.example.com" denied the request without '
                                                "explanation")
    coded = denial(hook(), {"code": 403, "reason": "Forbidden", "message": "no"})
    assert (coded.code, coded.reason, coded.message) == (403, "Forbidden", 'admission webhook "check.example.com" '
                                                                           "denied the request: no")


def test_a_service_is_resolved_to_its_cluster_ip_and_port():
    svc = {"spec": {"clusterIP": "10.96.0.9", "ports": [{"port": 443}]}}
    config = {"service": {"namespace": "hooks", "name": "hook", "path": "/check"}}
    target = webhooks.target_of(config, 10, lambda ns, n: svc)
    assert (target.url, target.name, target.address, target.port) == (
        "https://hook.hooks.svc:443/check?timeout=10s", "hook.hooks.svc", "10.96.0.9", 443)
    with pytest.raises(CallFailed, match='service "hook" not found'):
        webhooks.target_of(config, 10, lambda ns, n: None)
    with pytest.raises(CallFailed, match='no service port 8443 found for service "hook"'):
        webhooks.target_of({"service": {**config["service"], "port": 8443}}, 10, lambda ns, n: svc)
    url = webhooks.target_of({"url": "https://hooks.example:9443/v"}, 5, lambda ns, n: None)
    assert (url.url, url.address, url.port, url.path) == ("https://hooks.example:9443/v?timeout=5s", "hooks.example",
                                                          9443, "/v?timeout=5s")


class Store:
    def __init__(self, mutating=(), validating=()):
        self.items = {webhooks.MUTATING: list(mutating), webhooks.VALIDATING: list(validating)}

    def list(self, key, namespace=None):
        return self.items.get(key, []), 1

    def get(self, key, namespace, name):
        if key == "services":
            return {"spec": {"clusterIP": "10.96.0.9", "ports": [{"port": 443}]}}
        return {"metadata": {"name": name, "labels": {}}}


def conf(name, **spec) -> dict:
    return {"metadata": {"name": name}, "webhooks": [{"name": f"{name}.example.com", "rules": [RULE],
                                                      "sideEffects": "None", "admissionReviewVersions": ["v1"],
                                                      "clientConfig": {"service": {"namespace": "h", "name": "hook"}},
                                                      **spec}]}


def test_mutations_apply_in_turn_then_validation_denies():
    def send(target, ca, body, timeout):
        sent = json.loads(body)["request"]
        if sent["object"].get("first"):
            ops = [{"op": "add", "path": "/second", "value": True}]
        else:
            ops = [{"op": "add", "path": "/first", "value": True}]
        if "validate" in target.url:
            return answer(sent["uid"], allowed=False, warnings=["look"], status={"message": "two flags"})
        return answer(sent["uid"], allowed=True, patchType="JSONPatch",
                      patch=base64.b64encode(json.dumps(ops).encode()).decode())

    store = Store([conf("a"), conf("b")], [conf("v", clientConfig={"service": {"namespace": "h", "name": "hook",
                                                                               "path": "/validate"}})])
    admitter, obj, warnings = Admitter(store, {"username": "alice"}, send=send), {"metadata": {}}, []
    request = req(obj=obj)
    assert admitter.mutate(request, warnings)
    assert obj == {"metadata": {}, "first": True, "second": True}
    with pytest.raises(errors.ApiError, match='"v.example.com" denied the request: two flags'):
        admitter.validate(request, warnings)
    assert warnings == ["look"]


def test_failure_policy_and_dry_run():
    def down(target, ca, body, timeout):
        raise CallFailed(f'failed to call webhook: Post "{target.url}": dial tcp 10.96.0.9:443: connect: connection '
                         "refused")

    failing = Admitter(Store(validating=[conf("f")]), {}, send=down)
    with pytest.raises(errors.ApiError) as caught:
        failing.validate(req(obj={}), [])
    assert caught.value.code == 500 and caught.value.message == (
        'Internal error occurred: failed calling webhook "f.example.com": failed to call webhook: Post '
        '"https://hook.h.svc:443/?timeout=10s": dial tcp 10.96.0.9:443: connect: connection refused')
    Admitter(Store(validating=[conf("i", failurePolicy="Ignore")]), {}, send=down).validate(req(obj={}), [])
    risky = Admitter(Store(validating=[conf("s", sideEffects="Some")]), {}, send=down)
    with pytest.raises(errors.ApiError, match='admission webhook "s.example.com" does not support dry run'):
        risky.validate(req(obj={}, dry=True), [])


def test_a_webhook_that_takes_only_v1beta1_gets_and_answers_v1beta1():
    old = hook(admissionReviewVersions=["v1beta1"], rules=[RULE])
    assert review(old, req(), "u")["apiVersion"] == "admission.k8s.io/v1beta1"
    ops = [{"op": "add", "path": "/x", "value": 1}]
    patch = base64.b64encode(json.dumps(ops).encode()).decode()
    lenient = {"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview",
               "response": {"allowed": True, "patch": patch}}  # no uid, no patchType: v1beta1 allowed it
    assert answer_of(lenient, "u", True, "v1beta1").patch == ops


def test_a_connect_is_reviewed_as_its_options():
    from aiohttp.test_utils import make_mocked_request

    from emukube.apiserver.connect_admission import options_of

    request = make_mocked_request("GET", "/api/v1/namespaces/shop/pods/web/exec?command=ls&command=-l&stdout=true"
                                         "&container=main&tty=false")
    options = options_of(request, "exec")
    assert options == {"kind": "PodExecOptions", "apiVersion": "v1", "stdout": True, "container": "main",
                       "command": ["ls", "-l"]}
    body = review(hook(), Request("CONNECT", PODS, "shop", "web", {}, False, "exec", options), "u")["request"]
    assert (body["kind"]["kind"], body["resource"]["resource"], body["subResource"]) == ("PodExecOptions", "pods",
                                                                                         "exec")
    assert body["options"] is None and body["oldObject"] is None
    forward = make_mocked_request("GET", "/api/v1/namespaces/shop/pods/web/portforward?ports=8080&ports=9090")
    assert options_of(forward, "portforward") == {"kind": "PodPortForwardOptions", "apiVersion": "v1",
                                                   "ports": [8080, 9090]}
