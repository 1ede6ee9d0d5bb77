"""ValidatingAdmissionPolicies evaluated as the plugin evaluates them (CEL through the vendored
interpreter), from literal policies and bindings: matching, params, messages, actions and
failure policies, in the dispatcher's words; and webhooks' matchConditions."""

from __future__ import annotations

import pytest

from emukube.apiserver import cel, errors
from emukube.apiserver.policies import BINDINGS, POLICIES, Policies
from emukube.apiserver.webhooks import MUTATING, VALIDATING, Admitter, Request
from emukube.k8s.resources import BY_KEY

DEPLOYMENTS = BY_KEY["deployments.apps"]
RULE = {"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["deployments"]}


def policy(name="replicas.example.com", **spec) -> dict:
    return {"metadata": {"name": name}, "spec": {"failurePolicy": "Fail", "matchConstraints": {"resourceRules": [RULE]},
                                                 "validations": [{"expression": "object.spec.replicas <= 5"}], **spec}}


def binding(name="replicas-binding", policy_name="replicas.example.com", actions=("Deny",), **spec) -> dict:
    return {"metadata": {"name": name}, "spec": {"policyName": policy_name, "validationActions": list(actions),
                                                 **spec}}


class Store:
    def __init__(self, policies=(), bindings=(), **others):
        self.items = {POLICIES: list(policies), BINDINGS: list(bindings), **others}

    def list(self, key, namespace=None):
        return [o for o in self.items.get(key, []) if namespace is None or
                o["metadata"].get("namespace") == namespace], 1

    def get(self, key, namespace, name):
        return {"metadata": {"name": name, "labels": {"env": "test" if name == "test" else "prod"}}}


def deployment(replicas: int, ns="test", labels=None) -> Request:
    obj = {"metadata": {"name": "web", "namespace": ns, "labels": labels or {}}, "spec": {"replicas": replicas}}
    return Request("CREATE", DEPLOYMENTS, ns, "web", {"username": "alice"}, obj=obj)


def refusal(store: Store, req: Request) -> errors.ApiError:
    with pytest.raises(errors.ApiError) as caught:
        Policies(store).admit(req, [])
    return caught.value


def test_a_failed_validation_denies_in_the_dispatchers_words():
    store = Store([policy()], [binding()])
    Policies(store).admit(deployment(3), [])
    denied = refusal(store, deployment(7))
    assert (denied.code, denied.reason) == (422, "Invalid")
    assert denied.message == ('deployments.apps "web" is forbidden: ValidatingAdmissionPolicy \'replicas.example.com\' '
                              "with binding 'replicas-binding' denied request: failed expression: "
                              "object.spec.replicas <= 5")
    assert denied.details["causes"][0]["message"].startswith("ValidatingAdmissionPolicy 'replicas.example.com'")


def test_message_message_expression_and_reason():
    checks = [{"expression": "object.spec.replicas <= 5", "reason": "Forbidden",
               "messageExpression": "'at most 5 replicas, not ' + string(object.spec.replicas)", "message": "x"}]
    denied = refusal(Store([policy(validations=checks)], [binding()]), deployment(9))
    assert denied.code == 403 and denied.message.endswith("denied request: at most 5 replicas, not 9")


def test_warn_and_audit_actions_do_not_deny():
    warnings: list[str] = []
    Policies(Store([policy()], [binding(actions=("Warn", "Audit"))])).admit(deployment(9), warnings)
    assert warnings == ["Validation failed for ValidatingAdmissionPolicy 'replicas.example.com' with binding "
                        "'replicas-binding': failed expression: object.spec.replicas <= 5"]


def test_the_bindings_match_resources_and_the_policys_exclusions_narrow_it():
    only_test = binding(matchResources={"namespaceSelector": {"matchLabels": {"env": "test"}}})
    store = Store([policy()], [only_test])
    Policies(store).admit(deployment(9, ns="prod"), [])
    assert refusal(store, deployment(9, ns="test")).code == 422
    excluded = policy(matchConstraints={"resourceRules": [RULE], "excludeResourceRules": [
        {**RULE, "resourceNames": ["web"]}]})
    Policies(Store([excluded], [binding()])).admit(deployment(9), [])


def test_params_from_a_config_map_and_a_missing_one():
    maps = [{"metadata": {"name": "limits", "namespace": "test"}, "data": {"max": "5"}}]
    with_params = policy(paramKind={"apiVersion": "v1", "kind": "ConfigMap"},
                         validations=[{"expression": "object.spec.replicas <= int(params.data.max)"}])
    ref = {"name": "limits", "parameterNotFoundAction": "Deny"}
    store = Store([with_params], [binding(paramRef=ref)], configmaps=maps)
    Policies(store).admit(deployment(5), [])
    assert refusal(store, deployment(6)).code == 422
    missing = refusal(Store([with_params], [binding(paramRef={**ref, "name": "gone"})], configmaps=maps), deployment(1))
    assert missing.message.endswith("denied request: failed to configure binding: no params found for policy "
                                    "binding with `Deny` parameterNotFoundAction")


def test_an_evaluation_error_follows_the_failure_policy():
    broken = policy(validations=[{"expression": "object.spec.template.spec.hostNetwork == false"}])
    denied = refusal(Store([broken], [binding()]), deployment(1))
    assert denied.message.endswith("denied request: expression 'object.spec.template.spec.hostNetwork == false' "
                                   "resulted in error: no such key: template")
    Policies(Store([policy(failurePolicy="Ignore", validations=broken["spec"]["validations"])], [binding()])).admit(
        deployment(1), [])


def test_variables_and_match_conditions():
    spec = {"variables": [{"name": "wanted", "expression": "object.spec.replicas"}],
            "matchConditions": [{"name": "not-canary", "expression": "!('canary' in object.metadata.labels)"}],
            "validations": [{"expression": "variables.wanted <= 5"}]}
    store = Store([policy(**spec)], [binding()])
    assert refusal(store, deployment(9)).code == 422
    Policies(store).admit(deployment(9, labels={"canary": "yes"}), [])


def test_cel_is_the_vendored_interpreter_with_the_strings_library():
    assert cel.evaluate("object.name.lowerAscii().split('-')", {"object": {"name": "Web-App"}}) == ["web", "app"]
    with pytest.raises(cel.CelError, match="no such key: missing"):
        cel.evaluate("object.missing", {"object": {}})


def test_a_webhooks_match_conditions_skip_it_or_refuse_when_they_fail():
    def never(*_):
        raise AssertionError("not to be called")

    hook = {"metadata": {"name": "c"}, "webhooks": [{
        "name": "c.example.com", "sideEffects": "None", "admissionReviewVersions": ["v1"],
        "rules": [RULE], "clientConfig": {"url": "https://hooks.example/"},
        "matchConditions": [{"name": "prod-only", "expression": "request.namespace == 'prod'"}]}]}
    store = Store(**{VALIDATING: [hook], MUTATING: []})
    Admitter(store, {}, send=never).validate(deployment(1, ns="test"), [])
    hook["webhooks"][0]["matchConditions"] = [{"name": "broken", "expression": "object.nope == 1"}]
    with pytest.raises(errors.ApiError) as caught:
        Admitter(store, {}, send=never).validate(deployment(1), [])
    assert caught.value.code == 403 and caught.value.message == (
        'deployments.apps "web" is forbidden: expression \'object.nope == 1\' resulted in error: no such key: nope')


def test_the_interpreter_is_found_again_once_loaded():
    """`up` in a process that evaluated CEL before (a test run) finds the files to copy."""
    cel.evaluate("1 == 1", {})
    folder = cel.native_folder()
    assert folder is not None and (folder / "stdlib.py").is_file() and list(folder.glob("cel.cpython-*.so"))


def test_expressions_that_do_not_parse_are_refused_when_written():
    from emukube.apiserver.admission import _cel_problems

    bad = policy(validations=[{"expression": "object.spec.replicas <== 5", "messageExpression": "'ok'"}],
                 matchConditions=[{"name": "opt", "expression": "object.?spec.?x.orValue(1) == 1"}])
    problems = _cel_problems({"kind": "ValidatingAdmissionPolicy", **bad})
    assert len(problems) == 1  # optional fields are this interpreter's gap, not the policy's fault
    assert problems[0].startswith('spec.validations[0].expression: Invalid value: "object.spec.replicas <== 5": '
                                  "compilation failed: ERROR: <input>:1:24: Syntax error: "), problems
    hooks = {"kind": "ValidatingWebhookConfiguration",
             "webhooks": [{"name": "a.example.com", "matchConditions": [{"name": "x", "expression": "foo("}]}]}
    assert _cel_problems(hooks)[0].startswith('webhooks[0].matchConditions[0].expression: Invalid value: "foo(": '
                                              "compilation failed: ERROR: <input>:1:5: Syntax error:")
