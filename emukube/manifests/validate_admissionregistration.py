"""MutatingWebhookConfiguration and ValidatingWebhookConfiguration validation
(pkg/apis/admissionregistration/validation ValidateMutatingWebhookConfiguration and
ValidateValidatingWebhookConfiguration, admissionregistration.k8s.io/v1), worded as kube-apiserver
v1.35's.

Objects are read before v1's defaults are applied: a field missing or null is unset and gets a valid
default, one given (even "") is checked as given. These are the create rules; kube-apiserver relaxes
some on update only for objects stored before the rule existed, which emukube never holds. The match
conditions' CEL is not compiled here: only names and presence are checked. The rules, match
conditions and one-of helpers are shared with validate_admission_policies.py.
"""

from __future__ import annotations

from urllib.parse import unquote

from .fielderrors import FieldErrors, join_path
from .names import is_dns1035_label, is_dns1123_subdomain, is_qualified_name, is_valid_port_num
from .text import go_quote
from .validate_workload import label_selector

WEBHOOK_KINDS = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")
REVIEW_VERSIONS = ["v1", "v1beta1"]  # the AdmissionReview versions the API server can send
# Sorted, as sets.List() prints them.
FAILURE_POLICIES = ["Fail", "Ignore"]
MATCH_POLICIES = ["Equivalent", "Exact"]
SIDE_EFFECTS = ["None", "NoneOnDryRun"]  # Some and Unknown only stay on objects stored by v1beta1
REINVOCATION_POLICIES = ["IfNeeded", "Never"]
OPERATIONS = ["*", "CONNECT", "CREATE", "DELETE", "UPDATE"]
SCOPES = ["*", "Cluster", "Namespaced"]
MAX_MATCH_CONDITIONS = 64
_URL_FORM = "; desired format: https://host[/path]"
_HOST_CHARS = "-_.~!$&'()*+,;=:[]<>\"%"  # what Go's url.Parse takes in a host besides letters and digits


def validate_webhook_configuration(obj: dict, errs: FieldErrors) -> None:
    mutating = obj.get("kind") == "MutatingWebhookConfiguration"
    names: set[str] = set()
    for i, hook in errs.maps_in(errs.get_list(obj, "webhooks", ""), "webhooks"):
        path = f"webhooks[{i}]"
        name = _webhook(hook, path, errs, mutating)
        _review_versions(hook, path, errs)
        if name and name in names:
            errs.duplicate(f"{path}.name", name)
        names.add(name)


def _webhook(hook: dict, path: str, errs: FieldErrors, mutating: bool) -> str:
    """validateMutatingWebhook / validateValidatingWebhook, in their order; returns the name."""
    name = errs.get_str(hook, "name", path)
    _fully_qualified(name, f"{path}.name", errs)
    for j, rule in errs.maps_in(errs.get_list(hook, "rules", path), f"{path}.rules"):
        rule_with_operations(rule, f"{path}.rules[{j}]", errs)
    one_of(hook, "failurePolicy", path, FAILURE_POLICIES, errs)
    one_of(hook, "matchPolicy", path, MATCH_POLICIES, errs)
    if hook.get("sideEffects") is None:  # v1 has no default: a webhook must say
        errs.required(f"{path}.sideEffects", "must specify one of " + ", ".join(SIDE_EFFECTS))
    one_of(hook, "sideEffects", path, SIDE_EFFECTS, errs)
    timeout = errs.get_int(hook, "timeoutSeconds", path)
    if timeout is not None and not 1 <= timeout <= 30:
        errs.invalid(f"{path}.timeoutSeconds", timeout, "the timeout value must be between 1 and 30 seconds")
    for key in ("namespaceSelector", "objectSelector"):
        if hook.get(key) is not None:
            label_selector(errs.get_map(hook, key, path), f"{path}.{key}", errs)
    if mutating:
        one_of(hook, "reinvocationPolicy", path, REINVOCATION_POLICIES, errs)
    client_config(errs.get_map(hook, "clientConfig", path), f"{path}.clientConfig", errs)
    match_conditions(errs.get_list(hook, "matchConditions", path), f"{path}.matchConditions", errs)
    return name


def _fully_qualified(name: str, path: str, errs: FieldErrors) -> None:
    """IsFullyQualifiedName: a DNS subdomain of three labels at least; its first complaint only."""
    if not name:
        errs.required(path)
    elif problems := is_dns1123_subdomain(name):
        errs.invalid(path, name, ",".join(problems))
    elif len(name.split(".")) < 3:
        errs.invalid(path, name, "should be a domain with at least three segments separated by dots")


def one_of(obj: dict, key: str, path: str, allowed: list[str], errs: FieldErrors) -> None:
    """An optional enum field: unset is left to the defaults, anything given must be allowed."""
    if obj.get(key) is None:
        return
    value = errs.get_str(obj, key, path)
    if isinstance(obj[key], str) and value not in allowed:
        errs.not_supported(join_path(path, key), value, allowed)


def strings_of(obj: dict, key: str, path: str, errs: FieldErrors) -> list[str]:
    """The strings of a list field; entries of another type are errors and dropped."""
    return [s for _, s in errs.strings_in(errs.get_list(obj, key, path), join_path(path, key))]


def go_slice(type_: str, items: list[str]) -> str:
    """Go's %#v of a string slice, as field.Invalid shows a whole list."""
    return f"[]{type_}{{" + ", ".join(go_quote(s) for s in items) + "}"


def rule_with_operations(rule: dict, path: str, errs: FieldErrors) -> None:
    """validateRuleWithOperations, then validateRule with subresources allowed."""
    operations = strings_of(rule, "operations", path, errs)
    if not operations:
        errs.required(f"{path}.operations")
    if len(operations) > 1 and "*" in operations:
        errs.invalid(f"{path}.operations", None, "if '*' is present, must not specify other operations",
                     shown=go_slice("admissionregistration.OperationType", operations))
    for i, op in enumerate(operations):
        if op not in OPERATIONS:
            errs.not_supported(f"{path}.operations[{i}]", op, OPERATIONS)
    for key, what in (("apiGroups", "API groups"), ("apiVersions", "API versions")):
        values = strings_of(rule, key, path, errs)
        if not values:
            errs.required(f"{path}.{key}")
        if len(values) > 1 and "*" in values:
            errs.invalid(f"{path}.{key}", None, f"if '*' is present, must not specify other {what}",
                         shown=go_slice("string", values))
    for i, version in enumerate(rule["apiVersions"] if isinstance(rule.get("apiVersions"), list) else []):
        if version == "":  # a group may be "" (the core group), a version may not
            errs.required(f"{path}.apiVersions[{i}]")
    _resources(strings_of(rule, "resources", path, errs), f"{path}.resources", errs)
    one_of(rule, "scope", path, SCOPES, errs)


def _resources(resources: list[str], path: str, errs: FieldErrors) -> None:
    """validateResources: "pods", "pods/status", "pods/*", "*/status", "*" or "*/*", and no entry
    another already covers."""
    if not resources:
        errs.required(path)
    any_sub: set[str] = set()  # x of "x/*"
    any_resource: set[str] = set()  # y of "*/y"
    double = single = plain = False
    for i, item in enumerate(resources):
        if not item:
            errs.required(f"{path}[{i}]")
            continue
        double |= item == "*/*"
        single |= item == "*"
        resource, slash, sub = item.partition("/")
        if not slash:
            plain = item != "*"  # as the API server has it: the last entry without a "/" decides
            continue
        if resource in any_sub:
            errs.invalid(f"{path}[{i}]", item, f"if '{resource}/*' is present, must not specify {item}")
        if sub in any_resource:
            errs.invalid(f"{path}[{i}]", item, f"if '*/{sub}' is present, must not specify {item}")
        if sub == "*":
            any_sub.add(resource)
        if resource == "*":
            any_resource.add(sub)
    if len(resources) > 1 and double:
        errs.invalid(path, None, "if '*/*' is present, must not specify other resources",
                     shown=go_slice("string", resources))
    if single and plain:
        errs.invalid(path, None, "if '*' is present, must not specify other resources without subresources",
                     shown=go_slice("string", resources))


def _review_versions(hook: dict, where: str, errs: FieldErrors) -> None:
    """validateAdmissionReviewVersions: v1 has no default; one the API server can send must be there."""
    versions = strings_of(hook, "admissionReviewVersions", where, errs)
    path = f"{where}.admissionReviewVersions"
    if not versions:
        errs.required(path, "must specify one of " + ", ".join(REVIEW_VERSIONS))
        return
    seen: set[str] = set()
    for i, version in enumerate(versions):
        if version in seen:
            errs.invalid(f"{path}[{i}]", version, "duplicate version")
            continue
        seen.add(version)
        errs.invalid_each(f"{path}[{i}]", version, is_dns1035_label(version))
    if not seen & set(REVIEW_VERSIONS):
        errs.invalid(path, None, "must include at least one of " + ", ".join(REVIEW_VERSIONS),
                     shown=go_slice("string", versions))


def client_config(config: dict, path: str, errs: FieldErrors) -> None:
    url, service = config.get("url"), config.get("service")
    if (url is None) == (service is None):
        errs.required(path, "exactly one of url or service is required")
    elif isinstance(url, str):
        _url(url, f"{path}.url", errs)
    elif url is not None:
        errs.get_str(config, "url", path)  # the type error
    else:
        _service(errs.get_map(config, "service", path), f"{path}.service", errs)


def _url(text: str, path: str, errs: FieldErrors) -> None:
    """webhook.ValidateWebhookURL with https required."""
    try:
        scheme, user, host, query, fragment = _parse_url(text)
    except ValueError as exc:
        errs.required(path, f"url must be a valid URL: {exc}{_URL_FORM}")
        return
    if scheme != "https":
        errs.invalid(path, scheme, "'https' is the only allowed URL scheme" + _URL_FORM)
    if not host:
        errs.invalid(path, host, "host must be provided" + _URL_FORM)
    if user is not None:
        errs.invalid(path, user, "user information is not permitted in the URL")
    if fragment:
        errs.invalid(path, fragment, "fragments are not permitted in the URL")
    if query:
        errs.invalid(path, query, "query parameters are not permitted in the URL")


def _parse_url(raw: str) -> tuple[str, str | None, str, str, str]:
    """Go's url.Parse, as far as these checks see it: (scheme, userinfo or None, host, raw query,
    fragment), or ValueError worded as Go's *url.Error. Percent-escapes are not checked."""
    before, _, fragment = raw.partition("#")
    problem = f"parse {go_quote(before)}: "
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in before):
        raise ValueError(problem + "net/url: invalid control character in URL")
    scheme, rest = "", before
    for i, c in enumerate(before):
        if c == ":":
            if i == 0:
                raise ValueError(problem + "missing protocol scheme")
            scheme, rest = before[:i].lower(), before[i + 1:]
            break
        if not (c.isascii() and (c.isalpha() or (i and (c.isdigit() or c in "+-.")))):
            break
    rest, _, query = rest.partition("?")
    if not scheme and not rest.startswith("/") and ":" in rest.partition("/")[0]:
        raise ValueError(problem + "first path segment in URL cannot contain colon")
    if not rest.startswith("//") or (not scheme and rest.startswith("///")):
        return scheme, None, "", query, unquote(fragment)  # no authority: no host
    authority = rest[2:].partition("/")[0]
    user, at, host = authority.rpartition("@")
    if host.startswith("[") and "]" not in host:
        raise ValueError(problem + "missing ']' in host")
    port = host[host.rfind("]") + 1:] if host.startswith("[") else host[host.rfind(":"):] if ":" in host else ""
    if port and (port[0] != ":" or any(c not in "0123456789" for c in port[1:])):
        raise ValueError(problem + f"invalid port {go_quote(port)} after host")
    if bad := next((c for c in host if c.isascii() and not c.isalnum() and c not in _HOST_CHARS), None):
        raise ValueError(problem + f"invalid character {go_quote(bad)} in host name")
    return scheme, user if at else None, host, query, unquote(fragment)


def _service(service: dict, path: str, errs: FieldErrors) -> None:
    """webhook.ValidateWebhookService. kube-apiserver passes the service's name where the function
    takes its namespace and the other way round (kubernetes#141353), so a missing namespace is
    reported at .name and a missing name at .namespace, as it words them."""
    if not errs.get_str(service, "namespace", path):
        errs.required(f"{path}.name", "service name is required")
    if not errs.get_str(service, "name", path):
        errs.required(f"{path}.namespace", "service namespace is required")
    port = errs.get_int(service, "port", path)  # unset: v1 defaults it to 443
    if port is not None and (problems := is_valid_port_num(port)):
        errs.invalid(f"{path}.port", port, "port is not valid: " + ", ".join(problems))
    if service.get("path") is None:
        return
    url_path = errs.get_str(service, "path", path)
    if url_path in ("", "/"):
        return
    if url_path == "//":
        errs.invalid(f"{path}.path", url_path, "segment[0] may not be empty")
        return
    if not url_path.startswith("/"):
        errs.invalid(f"{path}.path", url_path, "must start with a '/'")
    steps = url_path[1:]  # the first character goes, "/" or not, as in the API server
    for i, step in enumerate((steps[:-1] if steps.endswith("/") else steps).split("/")):
        if not step:
            errs.invalid(f"{path}.path", url_path, f"segment[{i}] may not be empty")
            continue
        for problem in is_dns1123_subdomain(step):
            errs.invalid(f"{path}.path", url_path, f"segment[{i}]: {problem}")


def match_conditions(conditions: list, path: str, errs: FieldErrors) -> None:
    """validateMatchConditions, without compiling the expressions."""
    if len(conditions) > MAX_MATCH_CONDITIONS:
        errs.too_many(path, len(conditions), MAX_MATCH_CONDITIONS)
    names: set[str] = set()
    for i, condition in errs.maps_in(conditions, path):
        item = f"{path}[{i}]"
        if not errs.get_str(condition, "expression", item).strip():
            errs.required(f"{item}.expression")
        name = errs.get_str(condition, "name", item)
        if not name:
            errs.required(f"{item}.name")
            continue
        errs.invalid_each(f"{item}.name", name, is_qualified_name(name))
        if name in names:
            errs.duplicate(f"{item}.name", name)
        names.add(name)
