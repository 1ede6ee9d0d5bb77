"""The host's way into a cluster's API server: its address (the controller's published port on
127.0.0.1) and credentials (CA and token from the state volume, read through the controller),
and writing a desired set of objects through it."""

from __future__ import annotations

import base64
import json
import time

from ..errors import EmukubeError
from ..k8s.client import ApiError, Credentials, KubeClient
from ..k8s.names import SYSTEM_NAMESPACES
from ..k8s.resources import BY_KEY, Resource, by_kind
from ..k8s.token_secrets import ACCOUNT_UID, SERVICE_ACCOUNT_TOKEN
from ..runtime.settings import STATE_DIR
from . import kubeconfig

API_PORT = "6443/tcp"
_clients: dict[str, KubeClient] = {}  # controller id -> client (one process, one CLI command)
_stale_entries: set[str] = set()  # clusters whose kubeconfig entry by_kubeconfig found not answering

# Server-side fields a desired object never carries: comparing without them tells "unchanged".
_SERVER_FIELDS = ("uid", "resourceVersion", "generation", "managedFields", "creationTimestamp")
# Annotations controllers keep on objects users own (the Deployment's revision): kept on update.
_CONTROLLER_ANNOTATIONS = ("deployment.kubernetes.io/", "pv.kubernetes.io/", "volume.kubernetes.io/",
                           "volume.beta.kubernetes.io/")


def published_port(controller) -> int | None:
    ports = ((controller.attrs.get("HostConfig") or {}).get("PortBindings") or {}).get(API_PORT) or []
    for binding in ports:
        if binding.get("HostPort"):
            return int(binding["HostPort"])
    return None


def credentials_of(controller) -> Credentials:
    held = _clients.get(controller.id)
    if held is not None:  # copied out of a new cluster's controller once per command, not twice
        return held.creds
    port = published_port(controller)
    known = _from_kubeconfig(controller, port)
    if known is not None:
        return known
    from ..runtime import engine

    ca = engine.read_file(controller, "/state/pki/ca.crt")
    tokens = engine.read_file(controller, "/state/pki/tokens")
    if port is None or not ca or not tokens:
        raise EmukubeError(f"the controller {controller.name} serves no API (made by an older emukube: "
                           "run `emukube down` and `emukube up` again)")
    return Credentials(server=f"https://127.0.0.1:{port}", ca_pem=ca, token=tokens.decode().split()[0])


def remember(controller, files: dict[str, tuple[bytes, int]]) -> None:
    """The CA and token `up` just made for a new controller (its PKI files by path): its API is
    reached without copying them back out of it."""
    ca, tokens = files.get(f"{STATE_DIR}/pki/ca.crt"), files.get(f"{STATE_DIR}/pki/tokens")
    port = published_port(controller)
    if ca and tokens and port is not None:
        creds = Credentials(server=f"https://127.0.0.1:{port}", ca_pem=ca[0], token=tokens[0].decode().split()[0])
        _clients[controller.id] = KubeClient(creds)


def _from_kubeconfig(controller, port: int | None) -> Credentials | None:
    """The cluster's entry `up` merged into the kubeconfig, if it names this API: reading it is
    much quicker than copying the files out of the controller."""
    from ..runtime import labels as L

    cluster = controller.labels.get(L.CLUSTER, "")
    known = kubeconfig.credentials(cluster) if cluster not in _stale_entries else None
    return known if known is not None and known.server == f"https://127.0.0.1:{port}" else None


def by_kubeconfig(cluster: str) -> KubeClient | None:
    """A client of the cluster's API found from its kubeconfig entry alone, when the server
    there answers and proves itself with the entry's CA (each cluster has its own): no engine
    call, so a verb that only reads the API (`get`) need not import the docker SDK, which took
    longer than the rest of the verb. None when there is no entry or it is stale (the cluster
    removed by hand, or made again with another CA and port): then ask the engine."""
    creds = kubeconfig.credentials(cluster)
    if creds is None:
        return None
    try:  # briefly: a port another program took since may accept and never answer
        if KubeClient(creds, timeout=5).request("GET", "/readyz").get("text", "").strip() == "ok":
            return KubeClient(creds)
    except (ApiError, OSError, ValueError):
        pass
    _stale_entries.add(cluster)  # nor trusted once the engine has told where the API is
    return None


def client_for(controller) -> KubeClient:
    api = _clients.get(controller.id)
    if api is None:
        api = _clients[controller.id] = KubeClient(credentials_of(controller))
    return api


def wait_ready(api: KubeClient, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if api.request("GET", "/readyz").get("text", "").strip() == "ok":
                return
        except (ApiError, OSError):
            pass
        if time.monotonic() > deadline:
            raise EmukubeError(f"the cluster's API server did not answer within {timeout:.0f}s "
                               "(see `docker logs` of its controller)")
        time.sleep(0.05)


def list_objects(api: KubeClient, resources: list[Resource]) -> list[dict]:
    out = []
    for res in resources:
        try:
            listed = api.list(res)
        except ApiError as exc:
            if exc.code != 404:
                raise
            continue  # a kind an older emukube's API server did not serve: none stored there
        for item in listed.get("items", []):
            item.setdefault("kind", res.kind)
            item.setdefault("apiVersion", res.api_version)
            out.append(item)
    return out


def comparable(obj: dict) -> str:
    """An object as its author wrote it: without what the server adds, for `unchanged`."""
    copy = json.loads(json.dumps(obj))
    copy.pop("status", None)
    if copy.get("kind") == "Secret" and isinstance(copy.get("stringData"), dict):
        # The API server stores stringData folded into data, base64-encoded.
        folded = {k: base64.b64encode(v.encode()).decode() for k, v in copy.pop("stringData").items()
                  if isinstance(v, str)}
        copy["data"] = {**(copy.get("data") or {}), **folded}
    if copy.get("kind") == "Pod":
        (copy.get("spec") or {}).pop("nodeName", None)  # the scheduler's (the controller's) to set
    if copy.get("kind") == "Secret" and copy.get("type") == SERVICE_ACCOUNT_TOKEN:  # the token controller's
        for key in ("token", "ca.crt", "namespace"):
            (copy.get("data") or {}).pop(key, None)
        ((copy.get("metadata") or {}).get("annotations") or {}).pop(ACCOUNT_UID, None)
        if not copy.get("data"):
            copy.pop("data", None)
    if copy.get("kind") == "ClusterRole" and copy.get("aggregationRule"):
        copy.pop("rules", None)  # the aggregation controller's to fill
    if copy.get("kind") == "CertificateSigningRequest":  # who asked: the API server records it
        for key in ("username", "uid", "groups", "extra"):
            (copy.get("spec") or {}).pop(key, None)
    if copy.get("kind") == "PersistentVolumeClaim":  # the binder's and admission's to set
        for key in ("volumeName", "storageClassName"):
            (copy.get("spec") or {}).pop(key, None)
        copy.get("metadata", {}).pop("finalizers", None)
    meta = copy.get("metadata", {})
    for key in _SERVER_FIELDS:
        meta.pop(key, None)
    meta["annotations"] = {k: v for k, v in (meta.get("annotations") or {}).items()
                           if not k.startswith(_CONTROLLER_ANNOTATIONS)}
    for key in ("annotations", "labels"):
        if not meta.get(key):
            meta.pop(key, None)
    return json.dumps(copy, sort_keys=True)


def _keep_controller_annotations(body: dict, old: dict) -> None:
    kept = {k: v for k, v in ((old.get("metadata") or {}).get("annotations") or {}).items()
            if k.startswith(_CONTROLLER_ANNOTATIONS)}
    if kept:
        body["metadata"]["annotations"] = {**kept, **(body["metadata"].get("annotations") or {})}


def _key(obj: dict) -> tuple[str, str, str]:
    meta = obj["metadata"]
    return obj["kind"], meta.get("namespace", "") if obj["kind"] not in ("Namespace", "Node") else "", meta["name"]


def sync(api: KubeClient, desired: list[dict], current: list[dict]) -> dict[str, int]:
    """Create or update each desired object that differs from the current one. Returns, per
    resource, the newest resourceVersion written: the controller has acted on them once it
    saw those."""
    written: dict[str, int] = {}
    have = {_key(o): o for o in current}
    want = {_key(o) for o in desired}
    # What others refer to first (as Helm orders an install): namespaces, also those only named
    # by objects (emukube creates them, as `up` always did), then configs and Services (whose
    # variables pods get when they start), then workloads, and admission configurations last.
    desired = sorted(desired, key=lambda o: _ORDER.get(o["kind"], _ORDER[None]))
    named = {ns for o in desired if (ns := (o.get("metadata") or {}).get("namespace"))} - set(SYSTEM_NAMESPACES)
    for ns in sorted(named - {k[2] for k in have if k[0] == "Namespace"} - {k[2] for k in want if k[0] == "Namespace"}):
        try:
            api.create(BY_KEY["namespaces"], {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        except ApiError as exc:
            if exc.code != 409:
                raise
    for obj in desired:
        res = by_kind(obj["apiVersion"], obj["kind"])
        if res is None:
            continue
        old = have.get(_key(obj))
        if old is not None and comparable(old) == comparable(obj):
            continue
        body = json.loads(json.dumps(obj))
        body["metadata"].pop("creationTimestamp", None)
        if old is None:
            stored = _create_or_replace(api, res, body)
        else:
            stored = _update(api, res, body, old)
        _note(written, res, stored)
    return written


_FIRST = ("Namespace", "ResourceQuota", "ServiceAccount", "Secret", "ConfigMap", "StorageClass", "PriorityClass",
          "RuntimeClass", "IngressClass", "PersistentVolume", "PersistentVolumeClaim",
          "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Service", "Node")
# As Helm installs them: registered before the workload that serves it, a webhook failing closed
# would refuse the rest of the manifests. A binding puts its policy in force: it too comes after
# what the policy could refuse, and after the policy.
_LAST = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "ValidatingAdmissionPolicy",
         "ValidatingAdmissionPolicyBinding")
_ORDER = {kind: i for i, kind in enumerate((*_FIRST, None, *_LAST))}  # None: every kind named in neither


CONFLICT_RETRIES = 5  # as kubectl apply retries a patch the object changed under


def _update(api: KubeClient, res: Resource, body: dict, old: dict) -> dict:
    """Update from `old`; when a controller wrote the object meanwhile (its status, its
    annotations: a 409 Conflict), again from what the server holds now."""
    declared = body["metadata"]
    attempts = CONFLICT_RETRIES
    while True:
        body["metadata"] = {**declared, "resourceVersion": old["metadata"].get("resourceVersion")}
        _keep_controller_annotations(body, old)
        try:
            return api.update(res, body, fieldManager="emukube")
        except ApiError as exc:
            if exc.code != 409 or exc.reason != "Conflict" or not attempts:
                raise
        attempts -= 1
        old = api.get(res, declared.get("namespace"), declared["name"])


def _create_or_replace(api: KubeClient, res: Resource, body: dict) -> dict:
    try:
        return api.create(res, body, fieldManager="emukube")
    except ApiError as exc:
        if exc.code != 409 or exc.reason != "AlreadyExists":
            raise
    meta = body["metadata"]
    return _update(api, res, body, api.get(res, meta.get("namespace"), meta["name"]))


def _note(written: dict[str, int], res: Resource, stored: dict) -> None:
    rv = (stored.get("metadata") or {}).get("resourceVersion", "")
    if rv.isdigit():
        written[res.key] = max(written.get(res.key, 0), int(rv))


