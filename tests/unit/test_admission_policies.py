"""ValidatingAdmissionPolicies and their bindings (admissionregistration.k8s.io/v1) as stored
objects: kube-apiserver's validation (each refusal worded as ValidateValidatingAdmissionPolicy and
ValidateValidatingAdmissionPolicyBinding word it, their CEL left uncompiled), v1's defaults,
kubectl's columns, and `up` creating them last."""

from __future__ import annotations

import calendar
import time

from test_apiserver_harness import run

from emukube.apiserver import tables
from emukube.k8s.applied import APPLIED
from emukube.k8s.resources import BY_KEY
from emukube.lifecycle.connection import _ORDER
from emukube.manifests.defaults import apply_defaults
from emukube.manifests.load import Doc
from emukube.manifests.validate import split_supported, validate, validate_object

GROUP = "admissionregistration.k8s.io"
POLICIES = f"validatingadmissionpolicies.{GROUP}"
BINDINGS = f"validatingadmissionpolicybindings.{GROUP}"
DNS1035 = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
           "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
           "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
SUBDOMAIN = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
             "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
             "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
NAME_PART = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
             "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
             "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
BOTH_ACTIONS = ("must not contain both Deny and Warn (repeating the same validation failure information in the API "
                "response and headers serves no purpose)")


def rule(**fields) -> dict:
    return {"operations": ["CREATE", "UPDATE"], "apiGroups": ["apps"], "apiVersions": ["v1"],
            "resources": ["deployments"], **fields}


def policy(name: str = "replicas", **spec) -> dict:
    """A valid policy; `spec` replaces or adds to its own."""
    return {"apiVersion": f"{GROUP}/v1", "kind": "ValidatingAdmissionPolicy", "metadata": {"name": name},
            "spec": {"matchConstraints": {"resourceRules": [rule()]},
                     "validations": [{"expression": "object.spec.replicas <= 5"}], **spec}}


def binding(name: str = "replicas-binding", **spec) -> dict:
    return {"apiVersion": f"{GROUP}/v1", "kind": "ValidatingAdmissionPolicyBinding", "metadata": {"name": name},
            "spec": {"policyName": "replicas", "validationActions": ["Deny"], **spec}}


def test_a_full_policy_and_binding_and_minimal_ones_are_valid():
    everything = policy(
        failurePolicy="Ignore", paramKind={"apiVersion": "rules.example.com/v1", "kind": "ReplicaLimit"},
        matchConstraints={"resourceRules": [rule(resourceNames=["web", "api"], scope="Namespaced")],
                          "excludeResourceRules": [rule(operations=["*"], resources=["deployments/scale"])],
                          "matchPolicy": "Exact", "namespaceSelector": {"matchLabels": {"env": "test"}},
                          "objectSelector": {"matchExpressions": [{"key": "tier", "operator": "Exists"}]}},
        matchConditions=[{"name": "not-system", "expression": "!request.namespace.startsWith('kube-')"}],
        variables=[{"name": "max_replicas", "expression": "params.maxReplicas"}],
        validations=[{"expression": "object.spec.replicas <= variables.max_replicas", "message": "too many",
                      "messageExpression": "'at most ' + string(variables.max_replicas)", "reason": "Invalid"}],
        auditAnnotations=[{"key": "high-replica-count", "valueExpression": "'big'"}])
    assert validate_object(everything) == []
    assert validate_object(policy(validations=[], auditAnnotations=[{"key": "a", "valueExpression": "'x'"}])) == []
    full = binding(paramRef={"name": "limits", "namespace": "default", "parameterNotFoundAction": "Deny"},
                   matchResources={"namespaceSelector": {"matchLabels": {"env": "test"}}, "matchPolicy": "Equivalent"},
                   validationActions=["Warn", "Audit"])
    assert validate_object(full) == [] and validate_object(binding()) == []
    selected = binding(paramRef={"selector": {}, "parameterNotFoundAction": "Allow"}, validationActions=["Deny", "Audit"])
    assert validate_object(selected) == []


def test_an_empty_policy_needs_its_match_constraints_and_something_to_check():
    bare = {"apiVersion": f"{GROUP}/v1", "kind": "ValidatingAdmissionPolicy", "metadata": {"name": "p"}}
    assert validate_object(bare) == validate_object({**bare, "spec": {}}) == [
        "spec.matchConstraints: Required value",
        "spec.validations: Required value: validations or auditAnnotations must contain at least one item",
        "spec.auditAnnotations: Required value: validations or auditAnnotations must contain at least one item",
    ]
    # matchPolicy and the selectors are defaulted, the rules are not: they type the expressions.
    assert validate_object(policy(matchConstraints={})) == ["spec.matchConstraints.resourceRules: Required value"]


def test_every_problem_of_a_policy_at_once_in_the_api_servers_order():
    bad = policy(
        failurePolicy="Sometimes", paramKind={"apiVersion": "Rules.example.com/V1", "kind": "Replica_Limit"},
        matchConstraints={"resourceRules": [rule(resourceNames=["web", "a/b", "web"], operations=["GET"])],
                          "excludeResourceRules": [rule(apiGroups=[])], "matchPolicy": "Fuzzy",
                          "objectSelector": {"matchExpressions": [{"key": "tier", "operator": "Near"}]}},
        matchConditions=[{"name": "", "expression": " "}],
        variables=[{"name": "in", "expression": "1"}, {"name": " ", "expression": ""}],
        validations=[{"expression": " ", "message": "two\nlines", "messageExpression": "  ", "reason": "Teapot"},
                     {"expression": "true", "message": "   "}],
        auditAnnotations=[{"key": "Bad Key", "valueExpression": "'x'"}, {"key": "Bad Key", "valueExpression": ""}])
    assert validate_object(bad) == [
        'spec.failurePolicy: Unsupported value: "Sometimes": supported values: "Fail", "Ignore"',
        f'spec.paramKind.apiVersion: Invalid value: "Rules.example.com": {SUBDOMAIN}',
        f'spec.paramKind.apiVersion: Invalid value: "V1": {DNS1035}',
        f'spec.paramKind.kind: Invalid value: "Replica_Limit": may have mixed case, but should otherwise match: '
        f"{DNS1035}",
        'spec.matchConstraints.matchPolicy: Unsupported value: "Fuzzy": supported values: "Equivalent", "Exact"',
        'spec.matchConstraints.objectSelector.matchExpressions[0].operator: Invalid value: "Near": not a valid '
        "selector operator",
        "spec.matchConstraints.resourceRules[0].resourceNames[1]: Invalid value: \"a/b\": may not contain '/'",
        'spec.matchConstraints.resourceRules[0].resourceNames[2]: Duplicate value: "web"',
        'spec.matchConstraints.resourceRules[0].operations[0]: Unsupported value: "GET": supported values: "*", '
        '"CONNECT", "CREATE", "DELETE", "UPDATE"',
        "spec.matchConstraints.excludeResourceRules[0].apiGroups: Required value",
        "spec.matchConditions[0].expression: Required value",
        "spec.matchConditions[0].name: Required value",
        'spec.variables[0].name: Invalid value: "in": must be a valid CEL identifier',
        "spec.variables[1].name: Required value: name is not specified",
        "spec.variables[1].expression: Required value: expression is not specified",
        "spec.validations[0].expression: Required value: expression is not specified",
        'spec.validations[0].messageExpression: Invalid value: "  ": must be non-empty if specified',
        'spec.validations[0].message: Invalid value: "two\\nlines": must not contain line breaks',
        'spec.validations[0].reason: Unsupported value: "Teapot": supported values: "Forbidden", "Invalid", '
        '"RequestEntityTooLarge"',
        'spec.validations[1].message: Invalid value: "   ": must be non-empty if specified',
        f'spec.auditAnnotations[0].key: Invalid value: "replicas/Bad Key": {NAME_PART}',
        f'spec.auditAnnotations[1].key: Invalid value: "replicas/Bad Key": {NAME_PART}',
        "spec.auditAnnotations[1].valueExpression: Required value: valueExpression is not specified",
        'spec.auditAnnotations[1].key: Duplicate value: "Bad Key"',
    ]


def test_param_kinds_name_a_group_version_and_a_kind():
    def param_kind(**kind) -> list[str]:
        return validate_object(policy(paramKind=kind))

    assert param_kind(apiVersion="v1", kind="ConfigMap") == param_kind(apiVersion="/v1", kind="x") == []
    assert param_kind() == ["spec.paramKind.apiVersion: Required value", "spec.paramKind.kind: Required value"]
    assert param_kind(apiVersion="a/b/c", kind="K") == [
        'spec.paramKind.apiVersion: Invalid value: "a/b/c": unexpected GroupVersion string: a/b/c']
    for api in ("example.com/", "/"):
        assert param_kind(apiVersion=api, kind="K") == [
            f'spec.paramKind.apiVersion: Invalid value: "{api}": version must be specified']


def test_audit_annotations_are_limited_and_keyed_under_the_policys_name():
    many = [{"key": f"k{i}", "valueExpression": "'x'"} for i in range(21)]
    errors = validate_object(policy(auditAnnotations=many))
    assert len(errors) == 1 and errors[0].startswith(
        'spec.auditAnnotations: Invalid value: []admissionregistration.AuditAnnotation{admissionregistration.'
        'AuditAnnotation{Key:"k0", ValueExpression:"\'x\'"}, ')
    assert errors[0].endswith("}}: must not have more than 20 auditAnnotations")
    long = "'" + "x" * 5119 + "'"
    assert validate_object(policy(auditAnnotations=[{"key": "a", "valueExpression": long}])) == [
        "spec.auditAnnotations[0].valueExpression: Required value: must not exceed 5120 bytes in length"]
    unnamed = policy(auditAnnotations=[{"key": "a", "valueExpression": "'x'"}])
    unnamed["metadata"] = {}
    assert validate_object(unnamed) == [
        "metadata.name: Required value: name or generateName is required",
        'spec.auditAnnotations[0].key: Invalid value: "a": requires metadata.name be non-empty']


def test_every_problem_of_a_binding_at_once_in_the_api_servers_order():
    bad = binding(policyName="Replicas",
                  paramRef={"name": "..", "selector": {"matchLabels": {"a": "-"}}, "parameterNotFoundAction": "Maybe"},
                  matchResources={"resourceRules": [rule(resources=[])], "matchPolicy": ""},
                  validationActions=["Deny", "Warn", "Deny", "Block"])
    assert validate_object(bad) == [
        f'spec.policyName: Invalid value: "Replicas": {SUBDOMAIN}',
        "spec.paramRef.name: Invalid value: \"..\": may not be '..'",
        "spec.paramRef.name: Forbidden: name and selector are mutually exclusive",
        'spec.paramRef.selector.matchLabels: Invalid value: "-": a valid label must be an empty string or consist of '
        "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. "
        "'MyValue',  or 'my_value',  or '12345', regex used for validation is "
        "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
        "spec.paramRef.selector: Forbidden: name and selector are mutually exclusive",
        'spec.paramRef.parameterNotFoundAction: Unsupported value: "Maybe": supported values: "Deny", "Allow"',
        'spec.matchResources.matchPolicy: Unsupported value: "": supported values: "Equivalent", "Exact"',
        "spec.matchResources.resourceRules[0].resources: Required value",
        'spec.validationActions[2]: Duplicate value: "Deny"',
        'spec.validationActions[3]: Unsupported value: "Block": supported values: "Audit", "Deny", "Warn"',
        'spec.validationActions: Invalid value: []admissionregistration.ValidationAction{"Deny", "Warn", "Deny", '
        f'"Block"}}: {BOTH_ACTIONS}',
    ]
    assert validate_object(binding(policyName="", paramRef={}, validationActions=[])) == [
        "spec.policyName: Required value",
        "spec.paramRef: Required value: one of name or selector must be specified",
        "spec.paramRef.parameterNotFoundAction: Required value",
        "spec.validationActions: Required value: at least one validation action is required",
    ]


def test_v1_defaults_fill_what_is_unset_and_keep_what_is_given():
    made = apply_defaults(policy(matchConstraints={"resourceRules": [rule()], "excludeResourceRules": [rule()]}))
    assert "namespace" not in made["metadata"] and made["spec"]["failurePolicy"] == "Fail"
    constraints = made["spec"]["matchConstraints"]
    assert {k: constraints[k] for k in ("matchPolicy", "namespaceSelector", "objectSelector")} == {
        "matchPolicy": "Equivalent", "namespaceSelector": {}, "objectSelector": {}}
    assert constraints["resourceRules"][0]["scope"] == constraints["excludeResourceRules"][0]["scope"] == "*"
    given = apply_defaults(policy(failurePolicy="Ignore", matchConstraints={
        "resourceRules": [rule(scope="Cluster")], "matchPolicy": "Exact", "objectSelector": {"matchLabels": {"a": "b"}}}))
    assert given["spec"]["failurePolicy"] == "Ignore"
    assert given["spec"]["matchConstraints"] == {
        "resourceRules": [rule(scope="Cluster")], "matchPolicy": "Exact", "objectSelector": {"matchLabels": {"a": "b"}},
        "namespaceSelector": {}}
    # A binding without matchResources matches what its policy does: nothing is added; no paramRef default.
    bare = apply_defaults(binding(paramRef={"name": "limits", "parameterNotFoundAction": "Deny"}))
    assert bare["spec"] == {"policyName": "replicas", "validationActions": ["Deny"],
                            "paramRef": {"name": "limits", "parameterNotFoundAction": "Deny"}}
    narrowed = apply_defaults(binding(matchResources={"excludeResourceRules": [rule()]}))["spec"]["matchResources"]
    assert narrowed == {"excludeResourceRules": [rule(scope="*")], "matchPolicy": "Equivalent",
                        "namespaceSelector": {}, "objectSelector": {}}


def test_manifests_policies_are_read_and_the_mutating_ones_skipped():
    docs = [Doc("m.yaml", i, obj) for i, obj in enumerate([
        policy(), binding(),
        {"apiVersion": f"{GROUP}/v1", "kind": "MutatingAdmissionPolicyBinding", "metadata": {"name": "m"}},
        {**policy(name="old"), "apiVersion": f"{GROUP}/v1beta1"},
        policy(), binding(validationActions=[]),
    ])]
    kept, warnings = split_supported(docs)
    assert [d.index for d in kept] == [0, 1, 3, 4, 5]
    assert warnings == ['m.yaml (document 3): skipping MutatingAdmissionPolicyBinding "m": emukube does not '
                        "emulate this kind"]
    assert [p.message for p in validate(kept)] == [
        'no matches for kind "ValidatingAdmissionPolicy" in version "admissionregistration.k8s.io/v1beta1" '
        "(emukube reads ValidatingAdmissionPolicy as admissionregistration.k8s.io/v1)",
        'ValidatingAdmissionPolicy "replicas" already exists in the input (first defined in m.yaml, document 1)',
        'The ValidatingAdmissionPolicyBinding "replicas-binding" is invalid: spec.validationActions: Required value: '
        "at least one validation action is required",
        'ValidatingAdmissionPolicyBinding "replicas-binding" already exists in the input (first defined in m.yaml, '
        "document 2)",
    ]


def test_served_cluster_wide_in_api_extensions_the_policy_with_a_status():
    policies, bindings = BY_KEY[POLICIES], BY_KEY[BINDINGS]
    assert (policies.kind, policies.namespaced, policies.categories, policies.subresources) == (
        "ValidatingAdmissionPolicy", False, ("api-extensions",), ("status",))
    assert (bindings.kind, bindings.namespaced, bindings.categories, bindings.subresources) == (
        "ValidatingAdmissionPolicyBinding", False, ("api-extensions",), ())
    assert policies.short_names == bindings.short_names == ()
    assert policies.definition == "io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicy"
    assert policies in APPLIED and bindings in APPLIED


def test_up_creates_them_last_the_bindings_after_their_policies():
    kinds = ["ValidatingAdmissionPolicyBinding", "ValidatingAdmissionPolicy", "Deployment",
             "ValidatingWebhookConfiguration", "Namespace"]
    assert sorted(kinds, key=lambda k: _ORDER.get(k, _ORDER[None])) == [
        "Namespace", "Deployment", "ValidatingWebhookConfiguration", "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding"]


def test_kubectls_columns():
    now = calendar.timegm((2025, 6, 1, 12, 0, 0, 0, 0, 0))
    made = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 3 * 86400))
    with_params = policy(paramKind={"apiVersion": "rules.example.com/v1", "kind": "ReplicaLimit"},
                         validations=[{"expression": "true"}, {"expression": "false"}])
    with_params["metadata"]["creationTimestamp"] = made
    table = tables.table_for(BY_KEY[POLICIES], [with_params, policy(name="plain", validations=None)], now=now)
    assert [(c["name"], c["type"], c["description"]) for c in table["columnDefinitions"][1:3]] == [
        ("Validations", "integer", "Validations indicates the number of validation rules defined in this configuration"),
        ("ParamKind", "string", "ParamKind specifies the kind of resources used to parameterize this policy")]
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Validations", "ParamKind", "Age"]
    assert [row["cells"] for row in table["rows"]] == [
        ["replicas", 2, "rules.example.com/v1/ReplicaLimit", "3d"], ["plain", 0, "<unset>", "<unknown>"]]

    refs = [None, {"name": "limits", "namespace": "default"}, {"name": "limits"},
            {"selector": {"matchLabels": {"b": "2", "a": "1"},
                          "matchExpressions": [{"key": "tier", "operator": "In", "values": ["x", "y"]},
                                               {"key": "gone", "operator": "DoesNotExist"}]}},
            {"selector": {}}, {"parameterNotFoundAction": "Deny"}]
    objects = [binding(name=f"b{i}", paramRef=ref) for i, ref in enumerate(refs)]
    table = tables.table_for(BY_KEY[BINDINGS], objects, now=now)
    assert [(c["name"], c["description"]) for c in table["columnDefinitions"][1:3]] == [
        ("PolicyName", "PolicyName indicates the policy definition which the policy binding binded to"),
        ("ParamRef", "ParamRef indicates the param resource which sets the configuration param")]
    assert [row["cells"][1:3] for row in table["rows"]] == [
        ["replicas", "<unset>"], ["replicas", "default/limits"], ["replicas", "*/limits"],
        ["replicas", "&LabelSelector{MatchLabels:map[string]string{a: 1,b: 2,},MatchExpressions:"
                     "[]LabelSelectorRequirement{LabelSelectorRequirement{Key:tier,Operator:In,Values:[x y],},"
                     "LabelSelectorRequirement{Key:gone,Operator:DoesNotExist,Values:[],},},}"],
        ["replicas", "&LabelSelector{MatchLabels:map[string]string{},MatchExpressions:"
                     "[]LabelSelectorRequirement{},}"],
        ["replicas", "<unset>"]]


def test_served_with_the_api_servers_refusal_defaults_and_an_empty_status(tmp_path):
    path = f"/apis/{GROUP}/v1/validatingadmissionpolicies"

    async def body(api):
        status, answer, _ = await api.req("POST", path, policy(validations=[{"expression": "true", "reason": "No"}]))
        assert status == 422 and answer["message"] == (
            f'ValidatingAdmissionPolicy.{GROUP} "replicas" is invalid: spec.validations[0].reason: Unsupported value: '
            '"No": supported values: "Forbidden", "Invalid", "RequestEntityTooLarge"')
        made = await api.ok("POST", path, {**policy(), "status": {"observedGeneration": 7}})
        assert "namespace" not in made["metadata"] and made["spec"]["failurePolicy"] == "Fail"
        assert made["status"] == {}  # the type checker's to write, through /status
        assert made["spec"]["matchConstraints"]["resourceRules"][0]["scope"] == "*"
        assert [o["metadata"]["name"] for o in (await api.ok("GET", path))["items"]] == ["replicas"]
        bound = await api.ok("POST", f"/apis/{GROUP}/v1/validatingadmissionpolicybindings", binding())
        assert bound["spec"] == {"policyName": "replicas", "validationActions": ["Deny"]}
    run(tmp_path, body)
