"""Admission webhooks: the MutatingAdmissionWebhook and ValidatingAdmissionWebhook plugins of
kube-apiserver (k8s.io/apiserver/pkg/admission/plugin/webhook). A write a configuration's rules
and selectors match is sent to the webhook as an AdmissionReview (v1, or v1beta1 to a webhook that
takes only that) over HTTPS: to a Service's ClusterIP, verified as `NAME.NAMESPACE.svc` against
its caBundle, or to a URL. Mutating webhooks answer with JSONPatches applied in turn, validating
webhooks allow or deny. Denials, failures to call and dry-run refusals are worded as the API
server words them.

The calls block, so a write that may need them runs off the event loop (handlers.run_write).
The rule and selector matching and the reading of answers are pure; `Admitter` does the calls."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import ssl
import uuid
from dataclasses import dataclass, field, replace
from typing import Callable
from urllib.parse import urlsplit

import jsonpatch

from ..k8s.resources import BY_KEY, Resource
from ..plan.selectors import label_selector
from . import errors

GROUP = "admissionregistration.k8s.io"
MUTATING = f"mutatingwebhookconfigurations.{GROUP}"
VALIDATING = f"validatingwebhookconfigurations.{GROUP}"
# Never sent to webhooks (rules.IsExemptAdmissionConfigurationResource): a webhook that refuses
# everything must stay removable.
EXEMPT_KINDS = {"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "ValidatingAdmissionPolicy",
                "ValidatingAdmissionPolicyBinding", "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding"}
DEFAULT_TIMEOUT = 10
_OPTIONS_KIND = {"CREATE": "CreateOptions", "UPDATE": "UpdateOptions", "DELETE": "DeleteOptions"}


@dataclass(frozen=True)
class Hook:
    configuration: str
    spec: dict  # one entry of the configuration's webhooks
    mutating: bool

    @property
    def name(self) -> str:
        return str(self.spec.get("name", ""))


@dataclass
class Request:
    """admission.Attributes: what is being done, to what, by whom."""

    operation: str  # CREATE, UPDATE, DELETE
    resource: Resource
    namespace: str
    name: str
    user: dict  # authentication/v1 UserInfo
    dry_run: bool = False
    subresource: str = ""
    obj: dict | None = None
    old: dict | None = None
    options: dict = field(default_factory=dict)


class CallFailed(Exception):
    """ErrCallingWebhook: the webhook could not be asked, or its answer made no sense. Under
    failurePolicy Ignore the request goes on without it."""


# ---- which webhooks a request goes to (pure) ------------------------------------------------------

def hooks_of(configurations: list[dict], mutating: bool) -> list[Hook]:
    """Every webhook, configurations in name order, each one's webhooks in its order (the
    API server's hook source sorts configurations by name)."""
    out = []
    for conf in sorted(configurations, key=lambda c: (c.get("metadata") or {}).get("name", "")):
        for spec in conf.get("webhooks") or []:
            out.append(Hook((conf.get("metadata") or {}).get("name", ""), spec, mutating))
    return out


def _listed(items: list | None, wanted: str) -> bool:
    return any(item == "*" or item == wanted for item in items or [])


def rule_matches(rule: dict, req: Request) -> bool:
    """rules.Matcher: scope, operation, group, version, and resource/subresource with wildcards."""
    res = req.resource
    scope = rule.get("scope") or "*"
    cluster_wide = res.key == "namespaces" or not req.namespace
    if (scope == "Namespaced" and cluster_wide) or (scope == "Cluster" and not cluster_wide) or \
            scope not in ("*", "Namespaced", "Cluster"):
        return False
    if not _listed(rule.get("operations"), req.operation):
        return False
    if not (_listed(rule.get("apiGroups"), res.group) and _listed(rule.get("apiVersions"), res.version)):
        return False
    for entry in rule.get("resources") or []:
        plural, _, sub = str(entry).partition("/")
        if plural in ("*", res.plural) and sub in ("*", req.subresource):
            return True
    return False


def may_match(hook: Hook, req: Request) -> bool:
    """Whether the rules match (selectors aside): enough to know a request needs no webhook."""
    return req.resource.kind not in EXEMPT_KINDS and any(rule_matches(r, req) for r in hook.spec.get("rules") or [])


def labels_of(obj: dict | None) -> dict:
    return ((obj or {}).get("metadata") or {}).get("labels") or {}


def selectors_match(match: dict, req: Request, namespace_labels: dict | None) -> bool:
    """A namespaceSelector (not for cluster-scoped objects, but for Namespaces, whose own labels
    it reads) and an objectSelector (the new object's labels or the old one's), as webhooks and
    policies weigh them."""
    if req.namespace or req.resource.key == "namespaces":
        selector = match.get("namespaceSelector") or {}
        if selector and not label_selector(selector, namespace_labels or {}):
            return False
    selector = match.get("objectSelector") or {}
    return not selector or any(label_selector(selector, labels_of(o)) for o in (req.obj, req.old) if o is not None)


def should_call(hook: Hook, req: Request, namespace_labels: dict | None) -> bool:
    """ShouldCallHook: the rules, then the selectors."""
    return may_match(hook, req) and selectors_match(hook.spec, req, namespace_labels)


# ---- the review and its answer (pure) -------------------------------------------------------------

def review_version(hook: Hook) -> str:
    """The first AdmissionReview version the webhook accepts that the API server speaks."""
    return next((v for v in hook.spec.get("admissionReviewVersions") or [] if v in ("v1", "v1beta1")), "v1")


def review(hook: Hook, req: Request, uid: str) -> dict:
    """The AdmissionReview, as CreateV1AdmissionReview fills it (v1beta1's has the same fields)."""
    res = req.resource
    # A CONNECT's object is its options (PodExecOptions...), and the review names that kind.
    kind = str((req.obj or {}).get("kind") or res.kind) if req.operation == "CONNECT" else res.kind
    gvk = {"group": res.group, "version": res.version, "kind": kind}
    gvr = {"group": res.group, "version": res.version, "resource": res.plural}
    request: dict = {"uid": uid, "kind": gvk, "resource": gvr}
    if req.subresource:
        request["subResource"] = req.subresource
    request.update({"requestKind": gvk, "requestResource": gvr})
    if req.subresource:
        request["requestSubResource"] = req.subresource
    if req.name:
        request["name"] = req.name
    if req.namespace:
        request["namespace"] = req.namespace
    options = {"kind": _OPTIONS_KIND[req.operation], "apiVersion": "meta.k8s.io/v1", **req.options} \
        if req.operation in _OPTIONS_KIND else None
    request.update({"operation": req.operation, "userInfo": req.user, "object": req.obj, "oldObject": req.old,
                    "dryRun": req.dry_run, "options": options})
    return {"kind": "AdmissionReview", "apiVersion": f"admission.k8s.io/{review_version(hook)}", "request": request}


@dataclass(frozen=True)
class Answer:
    allowed: bool
    patch: list  # JSONPatch operations (mutating webhooks only)
    status: dict  # the Status a denial carries
    warnings: list[str]


def answer_of(body: object, uid: str, mutating: bool, version: str = "v1") -> Answer:
    """VerifyAdmissionResponse; CallFailed with its words when the answer is not one. A v1beta1
    answer is read as leniently as the API server reads it (no uid or patchType checked)."""
    if not isinstance(body, dict) or not isinstance(body.get("response"), dict):
        raise CallFailed("received invalid webhook response: webhook response was absent")
    resp = body["response"]
    if version == "v1beta1":
        resp = {**resp, "patchType": "JSONPatch" if mutating and resp.get("patch") else None}
        if not mutating:
            resp.pop("patch", None)
    elif resp.get("uid") != uid:
        raise CallFailed(f'received invalid webhook response: expected response.uid="{uid}", '
                         f'got "{resp.get("uid", "")}"')
    elif (body.get("apiVersion"), body.get("kind")) != ("admission.k8s.io/v1", "AdmissionReview"):
        got = f'{body.get("apiVersion") or ""}, Kind={body.get("kind") or ""}'
        raise CallFailed("received invalid webhook response: expected webhook response of "
                         f"admission.k8s.io/v1, Kind=AdmissionReview, got {got}")
    patch, patch_type = resp.get("patch"), resp.get("patchType")
    if not mutating and patch:
        raise CallFailed("received invalid webhook response: validating webhook may not return response.patch")
    if not mutating and patch_type is not None:
        raise CallFailed("received invalid webhook response: validating webhook may not return "
                         "response.patchType")
    if patch and patch_type is None:
        raise CallFailed("received invalid webhook response: webhook returned response.patch but not "
                         "response.patchType")
    if not patch and patch_type is not None:
        raise CallFailed("received invalid webhook response: webhook returned response.patchType but not "
                         "response.patch")
    ops: list = []
    if patch and resp.get("allowed"):
        if patch_type != "JSONPatch":
            raise CallFailed(f'unsupported patch type "{patch_type}"')
        try:
            ops = json.loads(base64.b64decode(patch))
        except (ValueError, TypeError) as exc:
            raise CallFailed(f"received undecodable patch in webhook response: {exc}") from None
        if not isinstance(ops, list):
            raise CallFailed("received undecodable patch in webhook response: not a JSON array")
    return Answer(bool(resp.get("allowed")), ops, resp.get("status") if isinstance(resp.get("status"), dict) else {},
                  [str(w) for w in resp.get("warnings") or []])


def denial(hook: Hook, status: dict) -> errors.ApiError:
    """ToStatusErr: the webhook's Status, at least a 400, its message prefixed with who denied."""
    by = f'admission webhook "{hook.name}" denied the request'
    code = status["code"] if isinstance(status.get("code"), int) else 0
    message = status.get("message") or status.get("reason") or ""
    text = f"{by}: {message}" if message else f"{by} without explanation"
    return errors.ApiError(max(code, 400), str(status.get("reason") or ""), text, status.get("details"))


def call_failure(hook: Hook, why: str) -> errors.ApiError:
    """NewInternalError(ErrCallingWebhook)."""
    message = f'failed calling webhook "{hook.name}": {why}'
    return errors.ApiError(500, "InternalError", f"Internal error occurred: {message}",
                           {"causes": [{"message": message}]})


def dry_run_refusal(hook: Hook) -> errors.ApiError | None:
    """A dry run may only reach webhooks that say they have no side effects."""
    if hook.spec.get("sideEffects") in ("None", "NoneOnDryRun"):
        return None
    return errors.bad_request(f'admission webhook "{hook.name}" does not support dry run')


# ---- the call ---------------------------------------------------------------------------------------

def trusting(ca_bundle: str | None) -> ssl.SSLContext:
    """A TLS client context trusting a base64 PEM bundle, else the system's CAs; ValueError or
    ssl.SSLError for a bundle that is not one (callers word it as their API server does)."""
    if not ca_bundle:
        return ssl.create_default_context()
    return ssl.create_default_context(cadata=base64.b64decode(ca_bundle).decode())


class AddressedHttps(http.client.HTTPSConnection):
    """To an address, verified as a name: the Service's ClusterIP, its certificate's DNS name."""

    def __init__(self, name: str, address: str, port: int, context: ssl.SSLContext, timeout: float):
        super().__init__(name, port, context=context, timeout=timeout)
        self._address, self._tls = address, context

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def _dial_error(exc: OSError, address: str, port: int) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"tls: failed to verify certificate: x509: {exc.verify_message}"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "context deadline exceeded"
    if isinstance(exc, ConnectionRefusedError):
        return f"dial tcp {address}:{port}: connect: connection refused"
    return f"dial tcp {address}:{port}: {exc.strerror or exc}"


@dataclass(frozen=True)
class Target:
    url: str  # as the API server names it in errors
    name: str  # the TLS name
    address: str  # where to connect
    port: int
    path: str


def target_of(config: dict, timeout: int, service_of: Callable[[str, str], dict | None]) -> Target:
    """Where a clientConfig points: a URL, or a Service resolved to its ClusterIP and port as
    ResolveCluster does; CallFailed, worded as the API server's, when it cannot be resolved."""
    if config.get("url"):  # validation allows no query of its own
        url = urlsplit(config["url"])
        path = f"{url.path or '/'}?timeout={timeout}s"
        return Target(f"{url.scheme}://{url.netloc}{path}", url.hostname or "", url.hostname or "", url.port or 443,
                      path)
    svc_ref = config.get("service") or {}
    ns, name, port = svc_ref.get("namespace", ""), svc_ref.get("name", ""), int(svc_ref.get("port") or 443)
    host = f"{name}.{ns}.svc"
    path = f"{svc_ref.get('path') or '/'}?timeout={timeout}s"
    url = f"https://{host}:{port}{path}"
    svc = service_of(ns, name)
    if svc is None:
        raise CallFailed(f'failed to call webhook: Post "{url}": service "{name}" not found')
    spec = svc.get("spec") or {}
    if spec.get("type") == "ExternalName":
        return Target(url, host, spec.get("externalName", ""), port, path)
    if spec.get("clusterIP") in (None, "", "None"):
        raise CallFailed(f'failed to call webhook: Post "{url}": cannot route to service with ClusterIP "None"')
    if not any(p.get("port") == port for p in spec.get("ports") or []):
        raise CallFailed(f'failed to call webhook: Post "{url}": no service port {port} found for service "{name}"')
    return Target(url, host, spec["clusterIP"], port, path)


def post(target: Target, ca_bundle: str | None, body: bytes, timeout: float) -> object:
    """The AdmissionReview POSTed, its answer decoded; CallFailed with Go's wording of what went wrong."""
    try:
        context = trusting(ca_bundle)
    except (ValueError, ssl.SSLError) as exc:
        raise CallFailed(f"could not get REST client: unable to load root certificates: {exc}") from None
    conn = AddressedHttps(target.name, target.address, target.port, context, timeout)
    try:
        conn.request("POST", target.path, body=body, headers={
            "Content-Type": "application/json", "Accept": "application/json, */*",
            "User-Agent": "kube-apiserver-admission"})
        resp = conn.getresponse()
        raw = resp.read()
    except OSError as exc:
        raise CallFailed(f'failed to call webhook: Post "{target.url}": '
                         f"{_dial_error(exc, target.address, target.port)}") from None
    except http.client.HTTPException as exc:
        raise CallFailed(f'failed to call webhook: Post "{target.url}": {exc!r}') from None
    finally:
        conn.close()
    if resp.status >= 300:
        raise CallFailed(f"failed to call webhook: an error on the server ({raw[:200].decode(errors='replace')}) "
                         "has prevented the request from succeeding")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise CallFailed(f"failed to call webhook: {exc}") from None


# ---- one request's admission ------------------------------------------------------------------------

class Admitter:
    """The webhooks of one write. The store gives the configurations, namespaces and Services;
    `send` is post() (a test may give another)."""

    def __init__(self, store, user: dict, *, send: Callable[..., object] = post):
        self.store, self.user, self.send = store, user, send
        self._listed: list[Hook] | None = None  # read once a write

    def _list(self, key: str) -> list[dict]:
        return self.store.list(key)[0] if key in BY_KEY else []

    def configured(self, req: Request, operations: tuple[str, ...]) -> bool:
        """Whether any webhook's rules match one of these operations (cheap: no selectors, no calls)."""
        hooks = self._hooks()
        return any(may_match(h, replace(req, operation=op)) for op in operations for h in hooks)

    def _hooks(self) -> list[Hook]:
        if self._listed is None:
            self._listed = hooks_of(self._list(MUTATING), True) + hooks_of(self._list(VALIDATING), False)
        return self._listed

    def _namespace_labels(self, req: Request) -> dict | None:
        if req.resource.key == "namespaces" and req.operation in ("CREATE", "UPDATE"):
            return labels_of(req.obj)
        name = req.name if req.resource.key == "namespaces" else req.namespace
        try:
            return labels_of(self.store.get("namespaces", None, name))
        except Exception:  # noqa: BLE001 - a namespace being made with its first object: no labels
            return {}

    def _service(self, namespace: str, name: str) -> dict | None:
        try:
            return self.store.get("services", namespace, name)
        except Exception:  # noqa: BLE001 - the store's NotFound
            return None

    def _ask(self, hook: Hook, req: Request, warnings: list[str]) -> Answer | None:
        """The webhook's answer; None when it could not be asked and its failurePolicy is Ignore."""
        if req.dry_run and (refusal := dry_run_refusal(hook)) is not None:
            raise refusal
        uid = str(uuid.uuid4())
        timeout = int(hook.spec.get("timeoutSeconds") or DEFAULT_TIMEOUT)
        try:
            target = target_of(hook.spec.get("clientConfig") or {}, timeout, self._service)
            body = json.dumps(review(hook, req, uid), separators=(",", ":")).encode()
            answer = answer_of(self.send(target, (hook.spec.get("clientConfig") or {}).get("caBundle"), body,
                                         timeout), uid, hook.mutating, review_version(hook))
        except CallFailed as exc:
            if hook.spec.get("failurePolicy") == "Ignore":
                return None
            raise call_failure(hook, str(exc)) from None
        warnings.extend(answer.warnings)
        if not answer.allowed:
            raise denial(hook, answer.status)
        return answer

    def _called(self, hook: Hook, req: Request) -> bool:
        """should_call, then the webhook's matchConditions (CEL): any false skips it; one that
        fails to evaluate refuses the request (403) under failurePolicy Fail, else skips it."""
        if not should_call(hook, req, self._namespace_labels(req)):
            return False
        conditions = hook.spec.get("matchConditions") or []
        if not conditions:
            return True
        from . import cel
        from .policies import request_variable

        variables = {"object": req.obj, "oldObject": req.old, "request": request_variable(req)}
        failed = []
        for condition in conditions:
            expression = condition.get("expression", "")
            try:
                if cel.evaluate(expression, variables) is False:
                    return False
            except cel.CelError as exc:
                failed.append(f"expression '{expression}' resulted in error: {exc}")
        if failed and hook.spec.get("failurePolicy") == "Ignore":
            return False
        if failed:
            name = req.name
            raise errors.ApiError(403, "Forbidden", f'{req.resource.key} "{name}" is forbidden: '
                                  + (failed[0] if len(failed) == 1 else "[" + ", ".join(failed) + "]"),
                                  {"name": name, **({"group": req.resource.group} if req.resource.group else {}),
                                   "kind": req.resource.plural})
        return True

    def mutate(self, req: Request, warnings: list[str]) -> bool:
        """Each mutating webhook in turn, its patch applied to req.obj; whether anything changed."""
        changed = False
        for hook in (h for h in self._hooks() if h.mutating):
            if not self._called(hook, req):
                continue
            answer = self._ask(hook, req, warnings)
            if answer is None or not answer.patch:
                continue
            if req.obj is None:
                raise errors.ApiError(500, "InternalError", f'Internal error occurred: admission webhook '
                                      f'"{hook.name}" attempted to modify the object, which is not supported '
                                      "for this operation")
            try:
                patched = jsonpatch.apply_patch(req.obj, answer.patch)
            except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError) as exc:
                raise errors.ApiError(500, "InternalError", f"Internal error occurred: {exc}") from None
            if patched != req.obj:
                changed = True
                req.obj.clear()
                req.obj.update(patched)
        return changed

    def validate(self, req: Request, warnings: list[str]) -> None:
        """Every validating webhook that matches; the first denial or failure is the answer."""
        for hook in (h for h in self._hooks() if not h.mutating):
            if self._called(hook, req):
                self._ask(hook, req, warnings)
