"""MutatingWebhookConfigurations and ValidatingWebhookConfigurations (admissionregistration.k8s.io/v1)
as stored objects: kube-apiserver's validation (every refusal worded as its
ValidateMutatingWebhookConfiguration words it), v1's defaults and kubectl's columns."""

from __future__ import annotations

import calendar
import time

from test_apiserver_harness import run

from emukube.apiserver import tables
from emukube.k8s.resources import BY_KEY
from emukube.manifests.defaults import apply_defaults
from emukube.manifests.load import Doc
from emukube.manifests.validate import split_supported, validate, validate_object

GROUP = "admissionregistration.k8s.io"
MUTATING = f"mutatingwebhookconfigurations.{GROUP}"
VALIDATING = f"validatingwebhookconfigurations.{GROUP}"
SUBDOMAIN = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
             "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
             "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
URL_FORM = "; desired format: https://host[/path]"


def hook(name: str = "pods.example.com", **fields) -> dict:
    """A valid webhook; `fields` replace or add to its own."""
    return {"name": name, "sideEffects": "None", "admissionReviewVersions": ["v1"],
            "clientConfig": {"service": {"name": "hooks", "namespace": "infra", "path": "/validate"}},
            "rules": [{"operations": ["CREATE", "UPDATE"], "apiGroups": [""], "apiVersions": ["v1"],
                       "resources": ["pods"]}], **fields}


def config(*webhooks: dict, kind: str = "ValidatingWebhookConfiguration", name: str = "hooks") -> dict:
    return {"apiVersion": f"{GROUP}/v1", "kind": kind, "metadata": {"name": name}, "webhooks": list(webhooks)}


def rule(**fields) -> dict:
    return {"operations": ["*"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*"], **fields}


def test_a_full_configuration_and_an_empty_one_are_valid():
    everything = hook(failurePolicy="Ignore", matchPolicy="Exact", timeoutSeconds=30, sideEffects="NoneOnDryRun",
                      admissionReviewVersions=["v1", "v1beta1"], reinvocationPolicy="IfNeeded",
                      namespaceSelector={"matchExpressions": [{"key": "tier", "operator": "In", "values": ["a"]}]},
                      objectSelector={"matchLabels": {"app": "web"}},
                      matchConditions=[{"name": "not-system", "expression": "!('system' in request.namespace)"}],
                      rules=[rule(resources=["pods", "pods/status", "deployments/*", "*/scale"],
                                  operations=["CREATE", "DELETE", "CONNECT"], scope="Namespaced")])
    assert validate_object(config(everything, kind="MutatingWebhookConfiguration")) == []
    assert validate_object(config(hook(clientConfig={"url": "https://hooks.example.com:8443/validate"}))) == []
    assert validate_object(config()) == []


def test_every_problem_of_a_webhook_at_once_in_the_api_servers_order():
    bad = {"name": "pods", "rules": [{"operations": ["GET", "*"], "apiGroups": [], "apiVersions": ["*", "v1", ""],
                                      "resources": ["*/*", "pods"], "scope": "Everywhere"}],
           "failurePolicy": "Maybe", "matchPolicy": "", "timeoutSeconds": 31, "reinvocationPolicy": "Always",
           "namespaceSelector": {"matchExpressions": [{"key": "tier", "operator": "Near"}]},
           "clientConfig": {}, "admissionReviewVersions": ["v2", "v2", "V3"]}
    assert validate_object(config(bad, kind="MutatingWebhookConfiguration")) == [
        'webhooks[0].name: Invalid value: "pods": should be a domain with at least three segments separated by dots',
        "webhooks[0].rules[0].operations: Invalid value: []admissionregistration.OperationType{\"GET\", \"*\"}: "
        "if '*' is present, must not specify other operations",
        'webhooks[0].rules[0].operations[0]: Unsupported value: "GET": supported values: "*", "CONNECT", "CREATE", '
        '"DELETE", "UPDATE"',
        "webhooks[0].rules[0].apiGroups: Required value",
        "webhooks[0].rules[0].apiVersions: Invalid value: []string{\"*\", \"v1\", \"\"}: if '*' is present, must "
        "not specify other API versions",
        "webhooks[0].rules[0].apiVersions[2]: Required value",
        "webhooks[0].rules[0].resources: Invalid value: []string{\"*/*\", \"pods\"}: if '*/*' is present, must not "
        "specify other resources",
        'webhooks[0].rules[0].scope: Unsupported value: "Everywhere": supported values: "*", "Cluster", "Namespaced"',
        'webhooks[0].failurePolicy: Unsupported value: "Maybe": supported values: "Fail", "Ignore"',
        'webhooks[0].matchPolicy: Unsupported value: "": supported values: "Equivalent", "Exact"',
        "webhooks[0].sideEffects: Required value: must specify one of None, NoneOnDryRun",
        "webhooks[0].timeoutSeconds: Invalid value: 31: the timeout value must be between 1 and 30 seconds",
        'webhooks[0].namespaceSelector.matchExpressions[0].operator: Invalid value: "Near": not a valid selector '
        "operator",
        'webhooks[0].reinvocationPolicy: Unsupported value: "Always": supported values: "IfNeeded", "Never"',
        "webhooks[0].clientConfig: Required value: exactly one of url or service is required",
        'webhooks[0].admissionReviewVersions[1]: Invalid value: "v2": duplicate version',
        'webhooks[0].admissionReviewVersions[2]: Invalid value: "V3": a DNS-1035 label must consist of lower case '
        "alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character "
        "(e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
        'webhooks[0].admissionReviewVersions: Invalid value: []string{"v2", "v2", "V3"}: must include at least one '
        "of v1, v1beta1",
    ]


def test_names_side_effects_and_review_versions_across_webhooks():
    assert validate_object(config(
        hook("", sideEffects="Some", admissionReviewVersions=[]), hook("Hooks.example.com", sideEffects="Unknown"),
        hook("a.example.com"), hook("a.example.com"), hook("b.example.com", reinvocationPolicy="Sometimes"))) == [
        "webhooks[0].name: Required value",
        'webhooks[0].sideEffects: Unsupported value: "Some": supported values: "None", "NoneOnDryRun"',
        "webhooks[0].admissionReviewVersions: Required value: must specify one of v1, v1beta1",
        f'webhooks[1].name: Invalid value: "Hooks.example.com": {SUBDOMAIN}',
        'webhooks[1].sideEffects: Unsupported value: "Unknown": supported values: "None", "NoneOnDryRun"',
        'webhooks[3].name: Duplicate value: "a.example.com"',
    ]  # reinvocationPolicy is a mutating webhook's field only: a validating one's is not looked at


def test_urls_must_be_https_to_a_host_without_user_query_or_fragment():
    def url(value: str) -> list[str]:
        return validate_object(config(hook(clientConfig={"url": value})))

    assert url("http://me:secret@hooks.example.com/v?dry=1#top") == [
        f'webhooks[0].clientConfig.url: Invalid value: "http": \'https\' is the only allowed URL scheme{URL_FORM}',
        'webhooks[0].clientConfig.url: Invalid value: "me:secret": user information is not permitted in the URL',
        'webhooks[0].clientConfig.url: Invalid value: "top": fragments are not permitted in the URL',
        'webhooks[0].clientConfig.url: Invalid value: "dry=1": query parameters are not permitted in the URL',
    ]
    assert url("hooks.example.com/validate") == [
        f'webhooks[0].clientConfig.url: Invalid value: "": \'https\' is the only allowed URL scheme{URL_FORM}',
        f'webhooks[0].clientConfig.url: Invalid value: "": host must be provided{URL_FORM}',
    ]
    assert url("https://hooks:web/") == [
        'webhooks[0].clientConfig.url: Required value: url must be a valid URL: parse "https://hooks:web/": invalid '
        f'port ":web" after host{URL_FORM}']
    assert url(":443") == [
        'webhooks[0].clientConfig.url: Required value: url must be a valid URL: parse ":443": missing protocol '
        f"scheme{URL_FORM}"]
    assert url("https://hooks example.com") == [
        'webhooks[0].clientConfig.url: Required value: url must be a valid URL: parse "https://hooks example.com": '
        f'invalid character " " in host name{URL_FORM}']
    assert url("HTTPS://[::1]:8443/x?") == []  # Go lowercases the scheme; an empty query is none
    both = hook(clientConfig={"url": "https://a.example.com", "service": {"name": "s", "namespace": "n"}})
    assert validate_object(config(both)) == [
        "webhooks[0].clientConfig: Required value: exactly one of url or service is required"]


def test_service_references_and_their_paths():
    def service(**ref) -> list[str]:
        return validate_object(config(hook(clientConfig={"service": ref})))

    # kube-apiserver passes name and namespace to ValidateWebhookService the other way round.
    assert service(name="hooks") == [
        "webhooks[0].clientConfig.service.name: Required value: service name is required"]
    assert service(namespace="infra", port=0) == [
        "webhooks[0].clientConfig.service.namespace: Required value: service namespace is required",
        "webhooks[0].clientConfig.service.port: Invalid value: 0: port is not valid: must be between 1 and 65535, "
        "inclusive"]
    ok = {"name": "hooks", "namespace": "infra"}
    assert service(**ok, path="/") == service(**ok, path="") == service(**ok, path="/a/b.c/") == []
    assert service(**ok, path="//") == [
        'webhooks[0].clientConfig.service.path: Invalid value: "//": segment[0] may not be empty']
    assert service(**ok, path="validate//Pods") == [
        "webhooks[0].clientConfig.service.path: Invalid value: \"validate//Pods\": must start with a '/'",
        'webhooks[0].clientConfig.service.path: Invalid value: "validate//Pods": segment[1] may not be empty',
        f'webhooks[0].clientConfig.service.path: Invalid value: "validate//Pods": segment[2]: {SUBDOMAIN}',
    ]


def test_resource_forms_and_wildcards():
    def resources(*names: str) -> list[str]:
        return validate_object(config(hook(rules=[rule(resources=list(names))])))

    assert resources("*") == resources("*/*") == resources("pods", "pods/log", "*/status") == []
    assert resources() == ["webhooks[0].rules[0].resources: Required value"]
    assert resources("pods/*", "pods/log", "*/scale", "deployments/scale", "") == [
        "webhooks[0].rules[0].resources[1]: Invalid value: \"pods/log\": if 'pods/*' is present, must not specify "
        "pods/log",
        "webhooks[0].rules[0].resources[3]: Invalid value: \"deployments/scale\": if '*/scale' is present, must not "
        "specify deployments/scale",
        "webhooks[0].rules[0].resources[4]: Required value",
    ]
    assert resources("*", "pods") == [
        "webhooks[0].rules[0].resources: Invalid value: []string{\"*\", \"pods\"}: if '*' is present, must not "
        "specify other resources without subresources"]
    assert resources("pods", "*") == []  # as kube-apiserver has it: only the last entry without a "/" counts
    assert validate_object(config(hook(rules=[rule(operations=[], apiGroups=["*", "apps"])]))) == [
        "webhooks[0].rules[0].operations: Required value",
        "webhooks[0].rules[0].apiGroups: Invalid value: []string{\"*\", \"apps\"}: if '*' is present, must not "
        "specify other API groups",
    ]


def test_match_conditions_need_a_name_and_an_expression_but_their_cel_is_not_compiled():
    conditions = [{"name": "a", "expression": "  "}, {"expression": "true"}, {"name": "x/y/z", "expression": "("},
                  {"name": "a", "expression": "true"}]
    errors = validate_object(config(hook(matchConditions=conditions)))
    assert errors[:2] == ["webhooks[0].matchConditions[0].expression: Required value",
                          "webhooks[0].matchConditions[1].name: Required value"]
    assert errors[2].startswith('webhooks[0].matchConditions[2].name: Invalid value: "x/y/z": a qualified name')
    assert errors[3:] == ['webhooks[0].matchConditions[3].name: Duplicate value: "a"']
    many = [{"name": f"c{i}", "expression": "true"} for i in range(65)]
    assert validate_object(config(hook(matchConditions=many))) == [
        "webhooks[0].matchConditions: Too many: 65: must have at most 64 items"]


def test_v1_defaults_fill_what_is_unset_and_keep_what_is_given():
    given = hook(timeoutSeconds=5, failurePolicy="Ignore",
                 clientConfig={"service": {"name": "hooks", "namespace": "infra", "port": 8443}})
    mutating = apply_defaults(config(hook(), given, kind="MutatingWebhookConfiguration"))
    first, second = mutating["webhooks"]
    assert {k: first[k] for k in ("failurePolicy", "matchPolicy", "namespaceSelector", "objectSelector",
                                  "timeoutSeconds", "reinvocationPolicy")} == {
        "failurePolicy": "Fail", "matchPolicy": "Equivalent", "namespaceSelector": {}, "objectSelector": {},
        "timeoutSeconds": 10, "reinvocationPolicy": "Never"}
    assert first["rules"][0]["scope"] == "*" and first["clientConfig"]["service"]["port"] == 443
    assert (second["timeoutSeconds"], second["failurePolicy"], second["clientConfig"]["service"]["port"]) == \
        (5, "Ignore", 8443)
    validating = apply_defaults(config(hook(clientConfig={"url": "https://a.example.com"})))
    assert "reinvocationPolicy" not in validating["webhooks"][0] and "namespace" not in validating["metadata"]
    assert validating["webhooks"][0]["clientConfig"] == {"url": "https://a.example.com"}


def test_manifests_webhooks_are_read_and_the_groups_other_kinds_skipped():
    docs = [Doc("m.yaml", i, obj) for i, obj in enumerate([
        config(hook()), config(hook(), kind="MutatingWebhookConfiguration"),
        {"apiVersion": f"{GROUP}/v1", "kind": "MutatingAdmissionPolicy", "metadata": {"name": "p"}},
        {"apiVersion": f"{GROUP}/v1", "kind": "ValidatingWebhookConfig", "metadata": {"name": "typo"}},
        {**config(hook(), name="old"), "apiVersion": f"{GROUP}/v1beta1"},
    ])]
    kept, warnings = split_supported(docs)
    assert [d.index for d in kept] == [0, 1, 3, 4]
    assert warnings == ['m.yaml (document 3): skipping MutatingAdmissionPolicy "p": emukube does not emulate '
                        "this kind"]
    assert [p.message for p in validate(kept)] == [
        'no matches for kind "ValidatingWebhookConfig" in version "admissionregistration.k8s.io/v1" (did you mean '
        "ValidatingWebhookConfiguration, admissionregistration.k8s.io/v1?)",
        'no matches for kind "ValidatingWebhookConfiguration" in version "admissionregistration.k8s.io/v1beta1" '
        "(emukube reads ValidatingWebhookConfiguration as admissionregistration.k8s.io/v1)",
    ]


def test_kubectls_columns_count_the_webhooks():
    now = calendar.timegm((2025, 6, 1, 12, 0, 0, 0, 0, 0))
    made = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 3 * 86400))
    obj = {**config(hook(), hook("b.example.com")), "metadata": {"name": "hooks", "creationTimestamp": made}}
    for key in (MUTATING, VALIDATING):
        table = tables.table_for(BY_KEY[key], [obj, config(name="none")], now=now)
        assert [(c["name"], c["type"]) for c in table["columnDefinitions"]] == [
            ("Name", "string"), ("Webhooks", "integer"), ("Age", "string")]
        assert table["columnDefinitions"][1]["description"] == \
            "Webhooks indicates the number of webhooks registered in this configuration"
        assert [row["cells"] for row in table["rows"]] == [["hooks", 2, "3d"], ["none", 0, "<unknown>"]]


def test_served_cluster_wide_with_the_api_servers_refusal_and_defaults(tmp_path):
    path = f"/apis/{GROUP}/v1/validatingwebhookconfigurations"

    async def body(api):
        status, answer, _ = await api.req("POST", path, config(hook(sideEffects=None, timeoutSeconds=0)))
        assert status == 422 and answer["message"] == (
            f'ValidatingWebhookConfiguration.{GROUP} "hooks" is invalid: [webhooks[0].sideEffects: Required value: '
            "must specify one of None, NoneOnDryRun, webhooks[0].timeoutSeconds: Invalid value: 0: the timeout value "
            "must be between 1 and 30 seconds]")
        assert [c["field"] for c in answer["details"]["causes"]] == ["webhooks[0].sideEffects",
                                                                    "webhooks[0].timeoutSeconds"]
        made = await api.ok("POST", path, config(hook()))
        assert "namespace" not in made["metadata"] and made["webhooks"][0]["timeoutSeconds"] == 10
        assert [o["metadata"]["name"] for o in (await api.ok("GET", path))["items"]] == ["hooks"]
    run(tmp_path, body)
