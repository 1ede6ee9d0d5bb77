"""The ValidatingAdmissionPolicy plugin (k8s.io/apiserver/pkg/admission/plugin/policy/validating):
each ValidatingAdmissionPolicyBinding applies its policy's CEL validations to the writes both
match (resource rules, exclusions, namespace and object selectors, matchConditions), with the
binding's params; a failed validation denies (422 by default, or its reason's code), warns or is
only audited, as the binding's validationActions say. Worded as the plugin's dispatcher words it.

Runs in the API server's writes after PodSecurity, beside the validating webhooks."""

from __future__ import annotations

from ..k8s.resources import Resource, by_kind
from ..plan.selectors import label_selector
from . import cel, errors
from .webhooks import EXEMPT_KINDS, Request, labels_of, rule_matches, selectors_match

POLICIES = "validatingadmissionpolicies.admissionregistration.k8s.io"
BINDINGS = "validatingadmissionpolicybindings.admissionregistration.k8s.io"
_CODES = {"Forbidden": 403, "Unauthorized": 401, "RequestEntityTooLarge": 413, "Invalid": 422}


class _Denied(Exception):
    """One decision to deny: its message and reason."""

    def __init__(self, message: str, reason: str = "Invalid"):
        super().__init__(message)
        self.message, self.reason = message, reason


def _named_rule_matches(rule: dict, req: Request) -> bool:
    """A NamedRuleWithOperations: the webhook rule, then resourceNames (any when empty)."""
    names = rule.get("resourceNames") or []
    return rule_matches(rule, req) and (not names or req.name in names)


def resources_match(match: dict, req: Request, namespace_labels: dict, *, rules_required: bool) -> bool:
    """MatchResources: a resource rule (a binding's may leave them to its policy's), no exclusion,
    then the selectors."""
    rules = match.get("resourceRules") or []
    if (rules or rules_required) and not any(_named_rule_matches(r, req) for r in rules):
        return False
    if any(_named_rule_matches(r, req) for r in match.get("excludeResourceRules") or []):
        return False
    return selectors_match(match, req, namespace_labels)


def request_variable(req: Request) -> dict:
    """The `request` CEL variable: the AdmissionRequest's fields (CreateAdmissionRequest)."""
    res = req.resource
    gvk = {"group": res.group, "version": res.version, "kind": res.kind}
    gvr = {"group": res.group, "version": res.version, "resource": res.plural}
    return {"kind": gvk, "resource": gvr, "subResource": req.subresource, "requestKind": gvk,
            "requestResource": gvr, "requestSubResource": req.subresource, "name": req.name,
            "namespace": req.namespace, "operation": req.operation, "userInfo": req.user, "dryRun": req.dry_run,
            "options": req.options or None}


def _value(expression: str, variables: dict):
    try:
        return cel.evaluate(expression, variables)
    except cel.CelError as exc:
        raise cel.CelError(f"expression '{expression}' resulted in error: {exc}") from None


def decisions(policy: dict, variables: dict) -> list[tuple[str, str]]:
    """(message, reason) of each validation that does not hold; CelError for one that fails to
    evaluate (the failurePolicy's to weigh). variables: object, oldObject, request, params,
    namespaceObject; the policy's own `variables` are added, in order."""
    spec = policy.get("spec") or {}
    scope = dict(variables)
    computed: dict = {}
    for variable in spec.get("variables") or []:
        scope["variables"] = computed
        computed[variable.get("name", "")] = _value(variable.get("expression", ""), scope)
    scope["variables"] = computed
    for condition in spec.get("matchConditions") or []:
        if _value(condition.get("expression", ""), scope) is not True:
            return []
    out = []
    for validation in spec.get("validations") or []:
        expression = validation.get("expression", "")
        if _value(expression, scope) is True:
            continue
        message = ""
        if validation.get("messageExpression"):
            try:
                found = cel.evaluate(validation["messageExpression"], scope)
                message = found.strip() if isinstance(found, str) and "\n" not in found else ""
            except cel.CelError:
                message = ""  # a broken messageExpression falls back, as the plugin's does
        message = message or (validation.get("message") or "").strip() or f"failed expression: {expression.strip()}"
        out.append((message, validation.get("reason") or "Invalid"))
    return out


class Policies:
    """The policies and bindings of the store, applied to one write."""

    def __init__(self, store):
        self.store = store

    def _list(self, key: str, namespace: str | None = None) -> list[dict]:
        return self.store.list(key, namespace)[0]

    def configured(self) -> bool:
        return bool(self._list(BINDINGS))

    def _namespace(self, req: Request) -> dict | None:
        name = req.name if req.resource.key == "namespaces" else req.namespace
        if req.resource.key == "namespaces" and req.obj is not None:
            return req.obj
        try:
            return self.store.get("namespaces", None, name) if name else None
        except Exception:  # noqa: BLE001 - the store's NotFound
            return None

    def _params(self, policy: dict, binding: dict, req: Request) -> list[dict | None]:
        """CollectParams: [None] without a paramKind; the paramRef's object(s) otherwise."""
        kind = (policy.get("spec") or {}).get("paramKind")
        if not kind:
            return [None]
        ref = (binding.get("spec") or {}).get("paramRef")
        resource = by_kind(kind.get("apiVersion", ""), kind.get("kind", ""))
        if resource is None:
            raise _Denied(f"failed to configure binding: paramKind kind `{kind.get('kind', '')}` not known")
        if not ref:
            raise _Denied("failed to configure binding: no paramRef in binding")
        namespace = (ref.get("namespace") or req.namespace or None) if resource.namespaced else None
        found = [o for o in self._list(resource.key, namespace)
                 if (o.get("metadata") or {}).get("name") == ref["name"]] if ref.get("name") else \
            [o for o in self._list(resource.key, namespace) if label_selector(ref.get("selector") or {}, labels_of(o))]
        if found:
            return list(found)
        if ref.get("parameterNotFoundAction") == "Deny":
            raise _Denied("failed to configure binding: no params found for policy binding with `Deny` "
                          "parameterNotFoundAction")
        return []

    def admit(self, req: Request, warnings: list[str]) -> None:
        """Raise the first denial; add the warnings of bindings that warn."""
        if req.resource.kind in EXEMPT_KINDS:
            return
        policies = {p["metadata"]["name"]: p for p in self._list(POLICIES)}
        namespace = self._namespace(req)
        ns_labels = labels_of(namespace)
        denied: list[tuple[dict, dict, _Denied]] = []
        for binding in sorted(self._list(BINDINGS), key=lambda b: b["metadata"]["name"]):
            bspec = binding.get("spec") or {}
            policy = policies.get(bspec.get("policyName", ""))
            if policy is None:
                continue
            pspec = policy.get("spec") or {}
            if not resources_match(pspec.get("matchConstraints") or {}, req, ns_labels, rules_required=True):
                continue
            if bspec.get("matchResources") and not resources_match(bspec["matchResources"], req, ns_labels,
                                                                   rules_required=False):
                continue
            failing = pspec.get("failurePolicy") or "Fail"
            try:
                for param in self._params(policy, binding, req):
                    variables = {"object": req.obj, "oldObject": req.old, "request": request_variable(req),
                                 "params": param, "namespaceObject": namespace}
                    try:
                        found = decisions(policy, variables)
                    except cel.CelError as exc:
                        if failing == "Ignore":
                            continue
                        found = [(str(exc), "Invalid")]
                    for message, reason in found:
                        self._act(policy, binding, _Denied(message, reason), denied, warnings)
            except _Denied as exc:
                if failing != "Ignore":
                    denied.append((policy, binding, exc))
        if denied:
            raise _refusal(req, *denied[0])

    @staticmethod
    def _act(policy: dict, binding: dict, decision: _Denied, denied: list, warnings: list[str]) -> None:
        for action in (binding.get("spec") or {}).get("validationActions") or []:
            if action == "Deny":
                denied.append((policy, binding, decision))
            elif action == "Warn":
                warnings.append(f"Validation failed for ValidatingAdmissionPolicy '{policy['metadata']['name']}' "
                                f"with binding '{binding['metadata']['name']}': {decision.message}")


def _refusal(req: Request, policy: dict, binding: dict, decision: _Denied) -> errors.ApiError:
    """admission.NewForbidden's wording, with the decision's reason and its code."""
    message = (f"ValidatingAdmissionPolicy '{policy['metadata']['name']}' with binding "
               f"'{binding['metadata']['name']}' denied request: {decision.message}")
    res: Resource = req.resource
    text = f'{res.key} "{req.name}" is forbidden: {message}'
    details = {"name": req.name, **({"group": res.group} if res.group else {}), "kind": res.plural,
               "causes": [{"message": message}]}
    return errors.ApiError(_CODES.get(decision.reason, 422), decision.reason, text, details)
