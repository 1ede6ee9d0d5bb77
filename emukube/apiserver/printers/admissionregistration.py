"""The admissionregistration printers: the webhook configurations' (printMutatingWebhook,
printValidatingWebhook) show how many webhooks a configuration registers;
printValidatingAdmissionPolicy its validations and paramKind, printValidatingAdmissionPolicyBinding
its policy and paramRef."""

from __future__ import annotations

from .format import since

VALIDATIONS_DOC = "Validations indicates the number of validation rules defined in this configuration"
PARAM_KIND_DOC = "ParamKind specifies the kind of resources used to parameterize this policy"
POLICY_NAME_DOC = "PolicyName indicates the policy definition which the policy binding binded to"
PARAM_REF_DOC = "ParamRef indicates the param resource which sets the configuration param"
_UNSET = "<unset>"


def webhook_configuration_cells(obj: dict, now: float) -> list:
    meta, webhooks = obj.get("metadata") or {}, obj.get("webhooks")
    return [meta.get("name", ""), len(webhooks) if isinstance(webhooks, list) else 0,
            since(meta.get("creationTimestamp"), now)]


def admission_policy_cells(obj: dict, now: float) -> list:
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    validations, kind = spec.get("validations"), spec.get("paramKind")
    param_kind = f"{kind.get('apiVersion') or ''}/{kind.get('kind') or ''}" if isinstance(kind, dict) else _UNSET
    return [meta.get("name", ""), len(validations) if isinstance(validations, list) else 0, param_kind,
            since(meta.get("creationTimestamp"), now)]


def admission_policy_binding_cells(obj: dict, now: float) -> list:
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    return [meta.get("name", ""), spec.get("policyName") or "", _param_ref(spec.get("paramRef")),
            since(meta.get("creationTimestamp"), now)]


def _param_ref(ref: object) -> str:
    """The printer cannot tell a cluster-scoped param from one in any namespace: a name without a
    namespace is "*/name". A selector is shown as Go prints the LabelSelector struct, not as a query."""
    if not isinstance(ref, dict):
        return _UNSET
    if ref.get("name"):
        return f"{ref.get('namespace') or '*'}/{ref['name']}"
    if isinstance(ref.get("selector"), dict):
        return _go_label_selector(ref["selector"])
    return _UNSET


def _go_label_selector(selector: dict) -> str:
    """(*metav1.LabelSelector).String(), the generated protobuf one: labels sorted by key."""
    labels = selector.get("matchLabels")
    labels = labels if isinstance(labels, dict) else {}
    expressions = selector.get("matchExpressions")
    expressions = expressions if isinstance(expressions, list) else []
    shown_labels = "".join(f"{k}: {labels[k]}," for k in sorted(labels))
    shown_expressions = "".join(
        f"LabelSelectorRequirement{{Key:{e.get('key') or ''},Operator:{e.get('operator') or ''},"
        f"Values:[{' '.join(str(v) for v in e.get('values') or [])}],}},"
        for e in expressions if isinstance(e, dict))
    return (f"&LabelSelector{{MatchLabels:map[string]string{{{shown_labels}}},"
            f"MatchExpressions:[]LabelSelectorRequirement{{{shown_expressions}}},}}")
