"""ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding validation
(pkg/apis/admissionregistration/validation ValidateValidatingAdmissionPolicy and
ValidateValidatingAdmissionPolicyBinding, admissionregistration.k8s.io/v1), worded as kube-apiserver
v1.35's.

As for the webhook configurations, objects are read before v1's defaults: a policy's failurePolicy
and the match resources' matchPolicy and selectors are then never missing, only wrong. The CEL of
the validations, message expressions, variables, audit annotations and match conditions is not
compiled here: only its presence and form are checked.
"""

from __future__ import annotations

import re

from .fielderrors import FieldErrors
from .names import is_dns1035_label, is_dns1123_subdomain, is_qualified_name, is_valid_path_segment_name
from .text import go_quote
from .validate_admissionregistration import (
    FAILURE_POLICIES,
    MATCH_POLICIES,
    go_slice,
    match_conditions,
    one_of,
    rule_with_operations,
)
from .validate_workload import label_selector

# Sorted, as sets.List() prints them.
REASONS = ["Forbidden", "Invalid", "RequestEntityTooLarge"]
VALIDATION_ACTIONS = ["Audit", "Deny", "Warn"]
PARAMETER_NOT_FOUND_ACTIONS = ["Deny", "Allow"]  # a literal list in validateParamRef, not sorted
MAX_AUDIT_ANNOTATIONS = 20
MAX_VALUE_EXPRESSION_BYTES = 5 * 1024  # below the 10 KiB an audit annotation's value may reach
_CEL_IDENTIFIER = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
_CEL_RESERVED = {"true", "false", "null", "in", "as", "break", "const", "continue", "else", "for", "function", "if",
                 "import", "let", "loop", "package", "namespace", "return", "var", "void", "while"}
_LINE_BREAK = re.compile(r"[\n\r]")  # the line breaks of CEL's grammar
_BOTH_ACTIONS = ("must not contain both Deny and Warn (repeating the same validation failure information in the API "
                 "response and headers serves no purpose)")


def validate_admission_policy(obj: dict, errs: FieldErrors) -> None:
    """validateValidatingAdmissionPolicySpec, in its order."""
    spec = errs.get_map(obj, "spec", "")
    one_of(spec, "failurePolicy", "spec", FAILURE_POLICIES, errs)
    if spec.get("paramKind") is not None:
        _param_kind(errs.get_map(spec, "paramKind", "spec"), "spec.paramKind", errs)
    if spec.get("matchConstraints") is None:
        errs.required("spec.matchConstraints")
    else:
        constraints = errs.get_map(spec, "matchConstraints", "spec")
        _match_resources(constraints, "spec.matchConstraints", errs)
        if not constraints.get("resourceRules"):  # the rules give the expressions their object's type
            errs.required("spec.matchConstraints.resourceRules")
    match_conditions(errs.get_list(spec, "matchConditions", "spec"), "spec.matchConditions", errs)
    for i, variable in errs.maps_in(errs.get_list(spec, "variables", "spec"), "spec.variables"):
        _variable(variable, f"spec.variables[{i}]", errs)
    validations = errs.get_list(spec, "validations", "spec")
    audits = errs.get_list(spec, "auditAnnotations", "spec")
    if not validations and not audits:
        for key in ("validations", "auditAnnotations"):
            errs.required(f"spec.{key}", "validations or auditAnnotations must contain at least one item")
        return
    for i, validation in errs.maps_in(validations, "spec.validations"):
        _validation(validation, f"spec.validations[{i}]", errs)
    if len(audits) > MAX_AUDIT_ANNOTATIONS:
        errs.invalid("spec.auditAnnotations", None, f"must not have more than {MAX_AUDIT_ANNOTATIONS} auditAnnotations",
                     shown=_go_audit_annotations(audits))
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    keys: set[str] = set()
    for i, audit in errs.maps_in(audits, "spec.auditAnnotations"):
        key = _audit_annotation(audit, name if isinstance(name, str) else "", f"spec.auditAnnotations[{i}]", errs)
        if key in keys:
            errs.duplicate(f"spec.auditAnnotations[{i}].key", key)
        keys.add(key)


def validate_admission_policy_binding(obj: dict, errs: FieldErrors) -> None:
    """validateValidatingAdmissionPolicyBindingSpec, in its order."""
    spec = errs.get_map(obj, "spec", "")
    policy = errs.get_str(spec, "policyName", "spec")
    if not policy:
        errs.required("spec.policyName")
    else:
        errs.invalid_each("spec.policyName", policy, is_dns1123_subdomain(policy))
    if spec.get("paramRef") is not None:
        _param_ref(errs.get_map(spec, "paramRef", "spec"), "spec.paramRef", errs)
    if spec.get("matchResources") is not None:  # unset: the policy's matchConstraints alone
        _match_resources(errs.get_map(spec, "matchResources", "spec"), "spec.matchResources", errs)
    _validation_actions(spec, "spec.validationActions", errs)


def _param_kind(kind: dict, path: str, errs: FieldErrors) -> None:
    """validateParamKind: the group and version as an APIService's, the kind a DNS label in any case."""
    api = errs.get_str(kind, "apiVersion", path)
    if not api:
        errs.required(f"{path}.apiVersion")
    elif api.count("/") > 1:
        errs.invalid(f"{path}.apiVersion", api, f"unexpected GroupVersion string: {api}")
    else:
        group, _, version = api.rpartition("/")
        if group and (problems := is_dns1123_subdomain(group)):
            errs.invalid(f"{path}.apiVersion", group, ",".join(problems))
        if not version:
            errs.invalid(f"{path}.apiVersion", api, "version must be specified")
        elif problems := is_dns1035_label(version):
            errs.invalid(f"{path}.apiVersion", version, ",".join(problems))
    name = errs.get_str(kind, "kind", path)
    if not name:
        errs.required(f"{path}.kind")
    elif problems := is_dns1035_label(name.lower()):
        errs.invalid(f"{path}.kind", name, "may have mixed case, but should otherwise match: " + ",".join(problems))


def _match_resources(match: dict, path: str, errs: FieldErrors) -> None:
    """validateMatchResources. Its selectors are checked strictly (no invalid label value let by,
    as webhooks stored before kubernetes#99139 are)."""
    one_of(match, "matchPolicy", path, MATCH_POLICIES, errs)
    for key in ("namespaceSelector", "objectSelector"):
        if match.get(key) is not None:
            label_selector(errs.get_map(match, key, path), f"{path}.{key}", errs)
    for key in ("resourceRules", "excludeResourceRules"):
        for i, rule in errs.maps_in(errs.get_list(match, key, path), f"{path}.{key}"):
            _named_rule(rule, f"{path}.{key}[{i}]", errs)


def _named_rule(rule: dict, path: str, errs: FieldErrors) -> None:
    """validateNamedRuleWithOperations: resource names that fit in a URL, once each, then the rule."""
    seen: set[str] = set()
    for i, name in errs.strings_in(errs.get_list(rule, "resourceNames", path), f"{path}.resourceNames"):
        errs.invalid_each(f"{path}.resourceNames[{i}]", name, is_valid_path_segment_name(name))
        if name in seen:
            errs.duplicate(f"{path}.resourceNames[{i}]", name)
        seen.add(name)
    rule_with_operations(rule, path, errs)


def _variable(variable: dict, path: str, errs: FieldErrors) -> None:
    """validateVariable, without compiling the expression."""
    name = errs.get_str(variable, "name", path)
    if not name.strip():
        errs.required(f"{path}.name", "name is not specified")
    elif not _CEL_IDENTIFIER.fullmatch(name) or name in _CEL_RESERVED:  # expressions name it variables.<name>
        errs.invalid(f"{path}.name", name, "must be a valid CEL identifier")
    if not errs.get_str(variable, "expression", path).strip():
        errs.required(f"{path}.expression", "expression is not specified")


def _validation(validation: dict, path: str, errs: FieldErrors) -> None:
    """validateValidation: the message goes to a single line of the API's answer."""
    if not errs.get_str(validation, "expression", path).strip():
        errs.required(f"{path}.expression", "expression is not specified")
    message_expression = errs.get_str(validation, "messageExpression", path)
    if message_expression and not message_expression.strip():
        errs.invalid(f"{path}.messageExpression", message_expression, "must be non-empty if specified")
    message = errs.get_str(validation, "message", path)
    if message and not message.strip():
        errs.invalid(f"{path}.message", message, "must be non-empty if specified")
    elif _LINE_BREAK.search(message.strip()):
        errs.invalid(f"{path}.message", message, "must not contain line breaks")
    one_of(validation, "reason", path, REASONS, errs)


def _audit_annotation(audit: dict, policy: str, path: str, errs: FieldErrors) -> str:
    """validateAuditAnnotation; returns the key. The audit event's annotation is "<policy>/<key>",
    which must be a qualified name."""
    key = errs.get_str(audit, "key", path)
    if policy:
        errs.invalid_each(f"{path}.key", f"{policy}/{key}", is_qualified_name(f"{policy}/{key}"))
    else:
        errs.invalid(f"{path}.key", key, "requires metadata.name be non-empty")
    value = errs.get_str(audit, "valueExpression", path).strip()
    if not value:
        errs.required(f"{path}.valueExpression", "valueExpression is not specified")
    elif len(value.encode()) > MAX_VALUE_EXPRESSION_BYTES:
        errs.required(f"{path}.valueExpression", f"must not exceed {MAX_VALUE_EXPRESSION_BYTES} bytes in length")
    return key


def _go_audit_annotations(audits: list) -> str:
    """Go's %#v of the []AuditAnnotation that field.Invalid shows whole."""
    items = []
    for audit in audits:
        fields = [audit.get(k) if isinstance(audit, dict) else None for k in ("key", "valueExpression")]
        key, value = (go_quote(v if isinstance(v, str) else "") for v in fields)
        items.append(f"admissionregistration.AuditAnnotation{{Key:{key}, ValueExpression:{value}}}")
    return "[]admissionregistration.AuditAnnotation{" + ", ".join(items) + "}"


def _param_ref(ref: dict, path: str, errs: FieldErrors) -> None:
    """validateParamRef: one object by name, or those a selector matches, and what to do without."""
    name, selector = errs.get_str(ref, "name", path), ref.get("selector")
    if name:
        errs.invalid_each(f"{path}.name", name, is_valid_path_segment_name(name))
        if selector is not None:
            errs.forbidden(f"{path}.name", "name and selector are mutually exclusive")
    if selector is not None:
        label_selector(errs.get_map(ref, "selector", path), f"{path}.selector", errs)
        if name:
            errs.forbidden(f"{path}.selector", "name and selector are mutually exclusive")
    if not name and selector is None:
        errs.required(path, "one of name or selector must be specified")
    action = errs.get_str(ref, "parameterNotFoundAction", path)
    if not action:  # v1 has no default: a binding must say
        errs.required(f"{path}.parameterNotFoundAction")
    elif action not in PARAMETER_NOT_FOUND_ACTIONS:
        errs.not_supported(f"{path}.parameterNotFoundAction", action, PARAMETER_NOT_FOUND_ACTIONS)


def _validation_actions(spec: dict, path: str, errs: FieldErrors) -> None:
    """validateValidationActions: at least one, each once; Deny and Warn would say the same twice."""
    actions = errs.strings_in(errs.get_list(spec, "validationActions", "spec"), path)
    seen: set[str] = set()
    for i, action in actions:
        if action not in VALIDATION_ACTIONS:
            errs.not_supported(f"{path}[{i}]", action, VALIDATION_ACTIONS)
        if action in seen:
            errs.duplicate(f"{path}[{i}]", action)
        seen.add(action)
    if {"Deny", "Warn"} <= seen:
        errs.invalid(path, None, _BOTH_ACTIONS,
                     shown=go_slice("admissionregistration.ValidationAction", [a for _, a in actions]))
    if not seen:
        errs.required(path, "at least one validation action is required")
