"""What the horizontal pod autoscaler reads from the custom and external metrics APIs, as
k8s.io/metrics' clients ask them: custom.metrics.k8s.io (Pods and Object metrics; its version found
by discovery, so a cluster without an adapter says "no custom metrics API ... registered") and
external.metrics.k8s.io (External metrics). Either is served by whatever APIService an adapter
registered (prometheus-adapter, KEDA's metrics server): emukube serves neither itself, as no
cluster does by default. Errors are worded as the clients word them."""

from __future__ import annotations

from ..apiserver.selectors import selector_string
from ..k8s.client import ApiError, KubeClient
from ..k8s.resources import served
from ..plan.hpa_metrics import Reading, milli

CUSTOM = "custom.metrics.k8s.io"
EXTERNAL = "external.metrics.k8s.io"
CUSTOM_VERSIONS = ("v1beta2", "v1beta1")  # what the client speaks, preferred first
# client-go's words for an answer that is not the adapter's own Status (NewGenericServerResponse)
GENERIC = {404: "the server could not find the requested resource",
           503: "the server is currently unable to handle the request"}


def readings(api: KubeClient, metrics: list[dict], namespace: str, pod_selector: str) -> dict[int, Reading]:
    """index in spec.metrics -> what its API answered, for the Pods, Object and External ones."""
    out: dict[int, Reading] = {}
    version: str | None = None
    for i, m in enumerate(metrics):
        kind = m.get("type")
        if kind in ("Pods", "Object"):
            if version is None:
                version = _custom_version(api)
            out[i] = _custom(api, version, m, namespace, pod_selector)
        elif kind == "External":
            out[i] = _external(api, m.get("external") or {}, namespace)
    return out


def _custom_version(api: KubeClient) -> str:
    """The version of custom.metrics.k8s.io to ask (apiVersionsFromDiscovery), "" for none."""
    try:
        groups = api.request("GET", "/apis").get("groups") or []
    except (ApiError, OSError):
        return ""
    group = next((g for g in groups if g.get("name") == CUSTOM), None)
    if group is None:
        return ""
    preferred = ((group.get("preferredVersion") or {}).get("version")) or ""
    if preferred in CUSTOM_VERSIONS:
        return preferred
    offered = {v.get("version") for v in group.get("versions") or []}
    return next((v for v in CUSTOM_VERSIONS if v in offered), "-")


def _custom(api: KubeClient, version: str, spec: dict, namespace: str, pod_selector: str) -> Reading:
    fetching = "unable to fetch metrics from custom metrics API: "
    if not version:
        return Reading(error=fetching + f"no custom metrics API ({CUSTOM}) registered")
    if version == "-":
        return Reading(error=fetching + f"no known available metric versions found for {CUSTOM}")
    pods = spec.get("type") == "Pods"
    source = (spec.get("pods") if pods else spec.get("object")) or {}
    metric = source.get("metric") or {}
    query = {"metricLabelSelector": selector_string(metric.get("selector")) or None}
    if pods:
        resource, name, query["labelSelector"] = "pods", "*", pod_selector
        path = f"/apis/{CUSTOM}/{version}/namespaces/{namespace}/pods/*/{metric.get('name', '')}"
    else:
        described = source.get("describedObject") or {}
        group = str(described.get("apiVersion", "")).rpartition("/")[0]  # any version of the group: a GroupKind
        res = next((r for r in served() if r.group == group and r.kind == described.get("kind")), None)
        if res is None:  # the RESTMapper's words
            return Reading(error=fetching + f'no matches for kind "{described.get("kind", "")}" in group "{group}"')
        resource = res.plural + (f".{res.group}" if res.group else "")
        name = described.get("name", "")
        path = f"/apis/{CUSTOM}/{version}/namespaces/{namespace}/metrics/{metric.get('name', '')}" \
            if described.get("kind") == "Namespace" else \
            f"/apis/{CUSTOM}/{version}/namespaces/{namespace}/{resource}/{name}/{metric.get('name', '')}"
    try:
        items = api.request("GET", path, query={k: v for k, v in query.items() if v}).get("items") or []
    except ApiError as exc:
        return Reading(error=fetching + _worded(exc, f"{resource}.{CUSTOM}", name))
    if pods:
        if not items:
            return Reading(error="no metrics returned from custom metrics API")
        return Reading({(i.get("describedObject") or {}).get("name", ""): milli(i.get("value")) for i in items})
    if len(items) != 1:
        return Reading(error=fetching + f"the custom metrics API server returned {len(items)} results when we "
                                        "asked for exactly one")
    return Reading({"": milli(items[0].get("value"))})


def _external(api: KubeClient, source: dict, namespace: str) -> Reading:
    metric = source.get("metric") or {}
    name = metric.get("name", "")
    path = f"/apis/{EXTERNAL}/v1beta1/namespaces/{namespace}/{name}"
    try:
        selector = selector_string(metric.get("selector"))
        items = api.request("GET", path, query={"labelSelector": selector} if selector else None).get("items") or []
    except ApiError as exc:
        return Reading(error="unable to fetch metrics from external metrics API: " + _worded(exc, f"{name}.{EXTERNAL}"))
    if not items:
        return Reading(error="no metrics returned from external metrics API")
    return Reading({str(n): milli(i.get("value")) for n, i in enumerate(items)})


def _worded(exc: ApiError, resource: str, name: str = "") -> str:
    """The adapter's own message; client-go's generic one, with what was asked, for an answer
    that is not the adapter's (an API nobody serves, an adapter that is down)."""
    generic = GENERIC.get(exc.code)
    if generic is None or exc.message not in (generic, f"HTTP {exc.code}", "service unavailable"):
        return exc.message
    return f"{generic} (get {resource}{' ' + name if name else ''})"
