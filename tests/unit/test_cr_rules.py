"""A CRD's x-kubernetes-validations (apiserver/cr_rules.py) from literal schemas and objects: where
each rule runs, its messages, reasons and fieldPath, transition rules and ratcheting, worded as
apiextensions-apiserver 0.35 words them."""

from __future__ import annotations

from emukube.apiserver import cr_rules

REPLICAS = {"type": "object", "properties": {"spec": {
    "type": "object",
    "properties": {"replicas": {"type": "integer"}, "minReplicas": {"type": "integer"},
                   "maxReplicas": {"type": "integer"}},
    "x-kubernetes-validations": [
        {"rule": "self.minReplicas <= self.replicas", "message": "replicas should be greater than or equal to "
                                                                 "minReplicas."},
        {"rule": "self.replicas <= self.maxReplicas", "message": "replicas should be smaller than or equal to "
                                                                 "maxReplicas."}]}}}


def cron(**spec) -> dict:
    return {"apiVersion": "stable.example.com/v1", "kind": "CronTab", "metadata": {"name": "c", "uid": "u"},
            "spec": spec}


def test_the_docs_example():
    assert cr_rules.validate(cron(minReplicas=0, replicas=5, maxReplicas=10), None, REPLICAS, []) == ([], [])
    errors, _ = cr_rules.validate(cron(minReplicas=0, replicas=20, maxReplicas=10), None, REPLICAS, [])
    assert errors == ["spec: Invalid value: replicas should be smaller than or equal to maxReplicas."]


def test_a_rule_without_message_says_the_rule_and_a_scalar_shows_its_value():
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {"name": {
        "type": "string", "x-kubernetes-validations": [{"rule": "self.startsWith('web-')"}]}}}}}
    errors, _ = cr_rules.validate(cron(name="db"), None, schema, [])
    assert errors == ['spec.name: Invalid value: "db": failed rule: self.startsWith(\'web-\')']


def test_the_root_rule_is_at_nil_and_sees_name_but_not_other_metadata():
    schema = {"type": "object", "x-kubernetes-validations": [
        {"rule": "self.metadata.name.size() < 3 && !has(self.metadata.uid)", "message": "short names only"}]}
    assert cr_rules.validate(cron(), None, schema, []) == ([], [])
    obj = cron()
    obj["metadata"]["name"] = "long"
    assert cr_rules.validate(obj, None, schema, [])[0] == ["<nil>: Invalid value: short names only"]


def test_message_expression_reason_and_field_path():
    schema = {"type": "object", "properties": {"spec": {"type": "object", "x-kubernetes-validations": [
        {"rule": "self.replicas < 5", "messageExpression": "'too many: ' + string(self.replicas)",
         "fieldPath": ".replicas", "reason": "FieldValueForbidden"},
        {"rule": "has(self.owner)", "reason": "FieldValueRequired", "message": "owner is required"},
        {"rule": "self.replicas != 7", "messageExpression": "self.nope", "message": "not seven"}]}}}
    errors, _ = cr_rules.validate(cron(replicas=7), None, schema, [])
    assert errors == ["spec.replicas: Forbidden: too many: 7", "spec: Required value: owner is required",
                      "spec: Invalid value: not seven"]


def test_an_evaluation_error_names_the_rule():
    schema = {"type": "object", "properties": {"spec": {"type": "object", "x-kubernetes-validations": [
        {"rule": "self.missing > 1"}]}}}
    assert cr_rules.validate(cron(), None, schema, [])[0] == [
        'spec: Invalid value: "object": no such key: missing evaluating rule: self.missing > 1']


def test_items_and_map_values_are_each_checked():
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "ports": {"type": "array", "items": {"type": "integer", "x-kubernetes-validations": [
            {"rule": "self > 1024", "message": "unprivileged ports only"}]}},
        "labels": {"type": "object", "additionalProperties": {"type": "string", "x-kubernetes-validations": [
            {"rule": "self.size() <= 3"}]}}}}}}
    errors, _ = cr_rules.validate(cron(ports=[8080, 80], labels={"a": "abc", "b": "abcd"}), None, schema, [])
    assert errors == ["spec.ports[1]: Invalid value: 80: unprivileged ports only",
                      'spec.labels.b: Invalid value: "abcd": failed rule: self.size() <= 3']


def test_a_transition_rule_runs_only_on_update():
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {"replicas": {
        "type": "integer", "x-kubernetes-validations": [
            {"rule": "self >= oldSelf", "message": "replicas may not decrease"}]}}}}}
    assert cr_rules.validate(cron(replicas=1), None, schema, []) == ([], [])
    assert cr_rules.validate(cron(replicas=1), cron(replicas=3), schema, [])[0] == [
        "spec.replicas: Invalid value: 1: replicas may not decrease"]
    assert cr_rules.validate(cron(replicas=1), cron(), schema, []) == ([], [])  # nothing to compare with


def test_an_unchanged_invalid_value_is_a_warning_on_update():
    # (a CRD whose rule came after the object): only the rest of the object changes
    new = {**cron(minReplicas=0, replicas=20, maxReplicas=10), "status": {"seen": True}}
    errors, warnings = cr_rules.validate(new, cron(minReplicas=0, replicas=20, maxReplicas=10), REPLICAS, [])
    assert errors == [] and warnings == [
        "spec: Invalid value: replicas should be smaller than or equal to maxReplicas."]
    # the invalid part itself changed: refused
    errors, _ = cr_rules.validate(cron(minReplicas=0, replicas=21, maxReplicas=10),
                                  cron(minReplicas=0, replicas=20, maxReplicas=10), REPLICAS, [])
    assert errors == ["spec: Invalid value: replicas should be smaller than or equal to maxReplicas."]


def test_list_map_items_correlate_by_key():
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {"items": {
        "type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
        "items": {"type": "object", "x-kubernetes-validations": [
            {"rule": "self.size == oldSelf.size", "message": "size is immutable"}]}}}}}}
    old = cron(items=[{"name": "a", "size": 1}, {"name": "b", "size": 2}])
    new = cron(items=[{"name": "b", "size": 3}, {"name": "a", "size": 1}, {"name": "c", "size": 9}])
    assert cr_rules.validate(new, old, schema, [])[0] == ["spec.items[0]: Invalid value: size is immutable"]


def test_schema_errors_that_block_the_rules():
    assert cr_rules.validate(cron(), None, REPLICAS, ['spec.replicas: Invalid value: "string": spec.replicas in '
                                                      'body must be of type integer: "string"']) == (
        [cr_rules.NOT_CHECKED], [])


def test_the_crds_rules_are_checked_when_it_is_written():
    schema = {"type": "object", "properties": {"spec": {"type": "object", "x-kubernetes-validations": [
        {"rule": "self.a >"}, {"rule": "self.a > 1", "reason": "Bad"}, {"rule": "self.a > 1", "message": ""},
        {"rule": "self.a\n> 1"}, {"rule": "self.a > 1", "optionalOldSelf": True}]}}}
    at = "spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations"
    problems = cr_rules.schema_problems(schema, "spec.versions[0].schema.openAPIV3Schema")
    assert problems[0].startswith(
        f'{at}[0].rule: Invalid value: {{"Rule":"self.a \\u003e","Message":"","MessageExpression":"","Reason":null,'
        '"FieldPath":"","OptionalOldSelf":null}: compilation failed: ERROR: <input>:1:9: Syntax error: ')
    assert problems[1:] == [
        f'{at}[1].reason: Unsupported value: "Bad": supported values: "FieldValueDuplicate", '
        '"FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired"',
        f'{at}[2].message: Invalid value: "": must be non-empty if specified',
        f"{at}[3].message: Required value: message must be specified if rule contains line breaks",
        f"{at}[4].optionalOldSelf: Invalid value: true: may not be set if oldSelf is not used in rule"]
