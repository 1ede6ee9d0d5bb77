"""kube-aggregator's part of kube-apiserver (k8s.io/kube-aggregator 0.35): APIServices
(apiregistration.k8s.io/v1) and the API groups they delegate to other servers.

- Every group/version this server serves has a Local APIService, as the autoregister and CRD
  registration controllers make them (`kubectl get apiservices`: `v1.apps   Local   True`).
- An APIService naming a Service claims its group/version: requests under /apis/GROUP/VERSION
  are relayed over HTTPS to the Service's ClusterIP (verified as NAME.NAMESPACE.svc against
  `caBundle`, unless `insecureSkipTLSVerify`), with the requester in X-Remote-User, X-Remote-Group
  and X-Remote-Extra-* and this server's front-proxy client certificate, as kube-apiserver sends
  them; /apis lists the group, and the server's own discovery answers for its version.
- The availability controller's checks (the Service, its port, ready endpoints, then discovery)
  set the Available condition in its words; an unavailable APIService answers 503.
- The ConfigMap kube-system/extension-apiserver-authentication tells aggregated servers which
  client CA and front-proxy CA to trust (k8s.io/apiserver reads it). The front-proxy CA is made
  with openssl the first time an APIService names a Service (the image has no X.509 library)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import ssl
import subprocess
import tempfile
import threading

from ..k8s.resources import BY_KEY, Resource, served
from . import errors
from .objects import WriteOpts, now_iso

log = logging.getLogger("emukube.apiserver.aggregation")
GROUP = "apiregistration.k8s.io"
KEY = f"apiservices.{GROUP}"
MANAGER = "kube-apiserver"
CHECK_EVERY = 2.0
# The Local APIServices are written this long after start, when `up` has usually finished (their
# ~40 writes cost 45 ms of the server's CPU while it starts every pod), or at the first request
# that reads them, whichever comes first.
FIRST_PASS_AFTER = 5.0
DISCOVERY_TIMEOUT = 5.0
AUTH_CONFIG_MAP = "extension-apiserver-authentication"
FRONT_PROXY = ("front-proxy-ca.crt", "front-proxy-ca.key", "front-proxy-client.crt", "front-proxy-client.key")
# kube-apiserver's apiVersionPriorities (cmd/kube-apiserver/app/aggregator.go and
# pkg/controlplane/apiserver/aggregator.go) for what this server serves: (group, version minimum).
PRIORITIES = {
    ("", "v1"): (18000, 1), ("apps", "v1"): (17800, 15), ("events.k8s.io", "v1"): (17750, 15),
    ("authentication.k8s.io", "v1"): (17700, 15), ("authorization.k8s.io", "v1"): (17600, 15),
    ("autoscaling", "v1"): (17500, 15), ("autoscaling", "v2"): (17500, 30), ("batch", "v1"): (17400, 15),
    ("certificates.k8s.io", "v1"): (17300, 15), ("networking.k8s.io", "v1"): (17200, 15),
    ("policy", "v1"): (17100, 15), ("rbac.authorization.k8s.io", "v1"): (17000, 15),
    ("storage.k8s.io", "v1"): (16800, 15), ("apiextensions.k8s.io", "v1"): (16700, 15),
    ("admissionregistration.k8s.io", "v1"): (16700, 15), ("scheduling.k8s.io", "v1"): (16600, 15),
    ("coordination.k8s.io", "v1"): (16500, 15), ("node.k8s.io", "v1"): (16300, 15),
    ("discovery.k8s.io", "v1"): (16200, 15), ("resource.k8s.io", "v1"): (16200, 21),
    ("flowcontrol.apiserver.k8s.io", "v1"): (16100, 21),
    ("apiregistration.k8s.io", "v1"): (18000, 15),
    # served here, where a cluster has metrics-server's (whose chart says 100, 100)
    ("metrics.k8s.io", "v1beta1"): (100, 100),
}
CRD_PRIORITY = (1000, 100)  # crdregistration: "CRDs should have relatively low priority"
METRICS_GROUP = "metrics.k8s.io"
AUTOMANAGED = "kube-aggregator.kubernetes.io/automanaged"  # "onstart": built in; "true": a CRD's
_LOCAL_CONDITION = {"type": "Available", "status": "True", "reason": "Local",
                    "message": "Local APIServices are always available"}


def resource() -> Resource:
    return BY_KEY[KEY]


def name_of(group: str, version: str) -> str:
    return f"{version}.{group}"


def is_local(apiservice: dict) -> bool:
    return not (apiservice.get("spec") or {}).get("service")


def local_apiservice(group: str, version: str, priority: tuple[int, int], custom: bool = False) -> dict:
    return {"apiVersion": f"{GROUP}/v1", "kind": "APIService",
            "metadata": {"name": name_of(group, version), "labels": {AUTOMANAGED: "true" if custom else "onstart"}},
            "spec": {"group": group, "version": version, "groupPriorityMinimum": priority[0],
                     "versionPriority": priority[1]},
            "status": {"conditions": [{**_LOCAL_CONDITION, "lastTransitionTime": now_iso()}]}}


def served_versions() -> dict[tuple[str, str], tuple[tuple[int, int], bool]]:
    """Each group/version served here: its priorities (a custom resource's: CRD_PRIORITY), and
    whether a CRD serves it."""
    out = {(METRICS_GROUP, "v1beta1"): (PRIORITIES[(METRICS_GROUP, "v1beta1")], False)}
    for r in served():
        gv, custom = (r.group, r.version), hasattr(r, "crd")
        out.setdefault(gv, (PRIORITIES.get(gv, CRD_PRIORITY if custom else (15000, 9)), custom))
    return out


def ensure_local(registry) -> None:
    """Local APIServices for what is served now; those of groups no longer served (a deleted
    CRD's) go. One a user replaced with a Service-backed one is left to them."""
    wanted = served_versions()
    have = {o["metadata"]["name"]: o for o in registry.list(resource(), None)[0]}
    for (group, version), (priority, custom) in wanted.items():
        if name_of(group, version) not in have:
            _write(registry, "create", local_apiservice(group, version, priority, custom))
    for name, obj in have.items():
        spec = obj.get("spec") or {}
        if is_local(obj) and (spec.get("group", ""), spec.get("version", "")) not in wanted:
            with contextlib.suppress(errors.ApiError):
                from .objects import DeleteOpts

                registry.delete(resource(), None, name, DeleteOpts())


def _write(registry, how: str, obj: dict, old: dict | None = None) -> None:
    try:
        if how == "create":  # a create drops status (the status subresource's own): written after
            status = obj.get("status")
            made = registry.create(resource(), obj, WriteOpts(manager=MANAGER), admit=False)
            if status:
                registry.update(resource(), made, {**made, "status": status},
                                WriteOpts(manager=MANAGER, subresource="status"), admit=False)
        else:
            registry.update(resource(), old, obj, WriteOpts(manager=MANAGER, subresource="status"), admit=False)
    except errors.ApiError as exc:  # written meanwhile
        log.info("apiservice %s not written: %s", obj["metadata"]["name"], exc)


# ---- which groups are delegated ---------------------------------------------------------------

class Delegations:
    """The Service-backed APIServices, read from the store once per change of any APIService."""

    def __init__(self, store):
        self.store = store
        self._cached: dict[tuple[str, str], dict] | None = None
        self._lock = threading.Lock()

    def forget(self) -> None:
        with self._lock:
            self._cached = None

    def all(self) -> dict[tuple[str, str], dict]:
        with self._lock:
            if self._cached is None:
                items, _ = self.store.list(KEY)
                # metrics.k8s.io stays served here (metrics.py): a metrics-server in a pod has no
                # kubelet to read from, so its APIService is checked and shown, never routed to
                self._cached = {((o.get("spec") or {}).get("group", ""), (o.get("spec") or {}).get("version", "")): o
                                for o in items if not is_local(o)
                                and (o.get("spec") or {}).get("group") not in ("", METRICS_GROUP)}
            return self._cached

    def of(self, group: str, version: str) -> dict | None:
        found = self.all()
        return found.get((group, version)) if found else None

    def groups(self) -> dict[str, list[str]]:
        """Delegated groups and their versions, highest versionPriority first."""
        out: dict[str, list[tuple[int, str]]] = {}
        for (group, version), obj in self.all().items():
            out.setdefault(group, []).append((-int((obj.get("spec") or {}).get("versionPriority") or 0), version))
        return {g: [v for _, v in sorted(vs)] for g, vs in out.items()}


def available(apiservice: dict) -> bool:
    return any(c.get("type") == "Available" and c.get("status") == "True"
               for c in (apiservice.get("status") or {}).get("conditions") or [])


# ---- the front proxy's PKI and the ConfigMap aggregated servers read ------------------------------

def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], capture_output=True, timeout=30, check=True)


def front_proxy_files(pki_dir: str) -> dict[str, str] | None:
    """Paths of the front-proxy CA and client certificate, made once (EC P-256, ten years, as
    kubeadm's are made with a longer life); None when openssl is missing or fails."""
    paths = {name: os.path.join(pki_dir, name) for name in FRONT_PROXY}
    if all(os.path.exists(p) for p in paths.values()):
        return paths
    try:
        with tempfile.TemporaryDirectory() as work:
            csr, ext = os.path.join(work, "client.csr"), os.path.join(work, "ext")
            with open(ext, "w") as f:
                f.write("keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n")
            _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", paths["front-proxy-ca.key"], "-out", paths["front-proxy-ca.crt"], "-days", "3650",
                     "-subj", "/CN=front-proxy-ca")
            _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", paths["front-proxy-client.key"], "-out", csr, "-subj", "/CN=front-proxy-client")
            _openssl("x509", "-req", "-in", csr, "-CA", paths["front-proxy-ca.crt"], "-CAkey",
                     paths["front-proxy-ca.key"], "-CAcreateserial", "-out", paths["front-proxy-client.crt"],
                     "-days", "3650", "-extfile", ext)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("no front-proxy certificate: %s", exc)
        return None
    return paths


def authentication_config_map(client_ca: bytes | None, front_proxy_ca: bytes | None) -> dict:
    """kube-system/extension-apiserver-authentication as kube-apiserver publishes it."""
    data: dict[str, str] = {}
    if client_ca:
        data["client-ca-file"] = client_ca.decode()
    if front_proxy_ca:
        data.update({"requestheader-allowed-names": json.dumps(["front-proxy-client"]),
                     "requestheader-client-ca-file": front_proxy_ca.decode(),
                     "requestheader-extra-headers-prefix": json.dumps(["X-Remote-Extra-"]),
                     "requestheader-group-headers": json.dumps(["X-Remote-Group"]),
                     "requestheader-username-headers": json.dumps(["X-Remote-User"])})
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": AUTH_CONFIG_MAP, "namespace": "kube-system"}, "data": data}


def publish_authentication(registry, front_proxy_ca: bytes | None) -> None:
    config_maps = BY_KEY["configmaps"]
    wanted = authentication_config_map(registry.root_ca, front_proxy_ca)
    old = registry.get(config_maps, "kube-system", AUTH_CONFIG_MAP)
    try:
        if old is None:
            registry.create(config_maps, wanted, WriteOpts(manager=MANAGER), admit=False)
        elif (old.get("data") or {}) != wanted["data"]:
            registry.update(config_maps, old, {**old, "data": wanted["data"]}, WriteOpts(manager=MANAGER),
                            admit=False)
    except errors.ApiError as exc:
        log.info("%s not written: %s", AUTH_CONFIG_MAP, exc)


# ---- the availability controller ---------------------------------------------------------------

def _service_ref(apiservice: dict) -> tuple[str, str, int]:
    ref = (apiservice.get("spec") or {}).get("service") or {}
    return ref.get("namespace", ""), ref.get("name", ""), int(ref.get("port") or 443)


def endpoint_problem(apiservice: dict, service: dict | None, slices: list[dict]) -> tuple[str, str, str] | None:
    """(status, reason, message) when the Service or its endpoints fail the controller's checks
    (remote_available_controller.go), before any discovery request; None when they pass."""
    namespace, name, port = _service_ref(apiservice)
    if service is None:
        return "False", "ServiceNotFound", f'service/{name} in "{namespace}" is not present'
    spec = service.get("spec") or {}
    if spec.get("type", "ClusterIP") != "ClusterIP":
        return None
    port_spec = next((p for p in spec.get("ports") or [] if p.get("port") == port), None)
    if port_spec is None:
        return "False", "ServicePortError", f'service/{name} in "{namespace}" is not listening on port {port}'
    if not slices:
        return "False", "EndpointsNotFound", f'cannot find endpointslices for service/{name} in "{namespace}"'
    port_name = port_spec.get("name") or ""
    for piece in slices:
        ready = any((e.get("conditions") or {}).get("ready") is not False for e in piece.get("endpoints") or [])
        if ready and any((p.get("name") or "") == port_name and p.get("port") is not None
                         for p in piece.get("ports") or []):
            return None
    return ("False", "MissingEndpoints",
            f'endpointslices for service/{name} in "{namespace}" have no addresses with port name "{port_name}"')


def _tls(apiservice: dict, files: dict[str, str] | None) -> ssl.SSLContext:
    from .webhooks import trusting

    spec = apiservice.get("spec") or {}
    context = trusting(None if spec.get("insecureSkipTLSVerify") else spec.get("caBundle"))
    if spec.get("insecureSkipTLSVerify"):
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    if files is not None:
        context.load_cert_chain(files["front-proxy-client.crt"], files["front-proxy-client.key"])
    return context


def discovery_problem(apiservice: dict, address: str, files: dict[str, str] | None) -> str | None:
    """The discovery check: GET https://CLUSTERIP:PORT/apis/GROUP/VERSION as system:kube-aggregator;
    its failure in the controller's words, or None."""
    import http.client

    from .webhooks import AddressedHttps

    spec = apiservice.get("spec") or {}
    namespace, name, port = _service_ref(apiservice)
    path = f"/apis/{spec.get('group')}/{spec.get('version')}" if spec.get("group") else f"/api/{spec.get('version')}"
    url = f"https://{address}:{port}{path}"
    try:
        context = _tls(apiservice, files)
        conn = AddressedHttps(f"{name}.{namespace}.svc", address, port, context, DISCOVERY_TIMEOUT)
        try:
            conn.request("GET", path, headers={"X-Remote-User": "system:kube-aggregator",
                                               "X-Remote-Group": "system:masters", "Accept": "application/json"})
            status = conn.getresponse().status
        finally:
            conn.close()
    except ssl.SSLCertVerificationError as exc:
        return f'failing or missing response from {url}: Get "{url}": tls: failed to verify certificate: ' \
               f"x509: {exc.verify_message}"
    except TimeoutError:
        return f"timed out waiting for {url}"
    except ConnectionRefusedError:
        return f'failing or missing response from {url}: Get "{url}": dial tcp {address}:{port}: connect: ' \
               "connection refused"
    except (OSError, ValueError, http.client.HTTPException) as exc:
        return f'failing or missing response from {url}: Get "{url}": {exc}'
    if not 200 <= status < 300:
        return f"bad status from {url}: {status}"
    return None


def set_available(apiservice: dict, status: str, reason: str, message: str) -> dict | None:
    """The APIService with its Available condition so, or None when it already says that."""
    conditions = list((apiservice.get("status") or {}).get("conditions") or [])
    old = next((c for c in conditions if c.get("type") == "Available"), None)
    if old is not None and (old.get("status"), old.get("reason"), old.get("message")) == (status, reason, message):
        return None
    when = old["lastTransitionTime"] if old is not None and old.get("status") == status and \
        old.get("lastTransitionTime") else now_iso()
    new_condition = {"type": "Available", "status": status, "lastTransitionTime": when, "reason": reason,
                     "message": message}
    others = [c for c in conditions if c.get("type") != "Available"]
    return {**apiservice, "status": {**(apiservice.get("status") or {}), "conditions": [new_condition, *others]}}


def install(registry) -> Availability:
    """The aggregator over this registry: its view of APIServices follows their writes, and a
    CRD's writes bring its Local APIServices; run() is its availability controller."""
    delegations = Delegations(registry.store)
    registry.after_write[KEY] = [delegations.forget]
    registry.after_write["customresourcedefinitions.apiextensions.k8s.io"] = [lambda: ensure_local(registry)]
    return Availability(registry, delegations)


class Availability:
    """Checks each Service-backed APIService every CHECK_EVERY seconds and writes its condition."""

    def __init__(self, registry, delegations: Delegations):
        self.registry, self.delegations = registry, delegations
        self.files: dict[str, str] | None = None
        self.started = False

    def check(self, apiservice: dict) -> tuple[str, str, str]:
        namespace, name, _ = _service_ref(apiservice)
        service = self.registry.get(BY_KEY["services"], namespace, name)
        slices = [s for s in self.registry.list(BY_KEY["endpointslices.discovery.k8s.io"], namespace)[0]
                  if ((s.get("metadata") or {}).get("labels") or {}).get("kubernetes.io/service-name") == name]
        problem = endpoint_problem(apiservice, service, slices)
        if problem is not None:
            return problem
        assert service is not None
        spec = service.get("spec") or {}
        address = str(spec.get("externalName") if spec.get("type") == "ExternalName" else spec.get("clusterIP", ""))
        failed = discovery_problem(apiservice, address, self.files)
        if failed is not None:
            return "False", "FailedDiscoveryCheck", failed
        return "True", "Passed", "all checks passed"

    def front_proxy(self) -> dict[str, str] | None:
        """The front-proxy PKI, made and published the first time an APIService needs it."""
        if self.files is None and self.registry.pki_dir is not None:
            self.files = front_proxy_files(self.registry.pki_dir)
            if self.files is not None:
                with open(self.files["front-proxy-ca.crt"], "rb") as f:
                    publish_authentication(self.registry, f.read())
        return self.files

    def sweep(self) -> None:
        remote = list(self.delegations.all().values())
        if remote:
            self.front_proxy()
        for apiservice in remote:
            name = apiservice["metadata"]["name"]
            changed = set_available(apiservice, *self.check(apiservice))
            if changed is not None:
                current = self.registry.get(resource(), None, name)
                if current is not None and current["metadata"].get("resourceVersion") == \
                        apiservice["metadata"].get("resourceVersion"):
                    _write(self.registry, "update", changed, current)

    def publish(self) -> None:
        """At start: the ConfigMap aggregated servers read (the client CA; the front proxy's CA
        once an earlier run made it)."""
        front = self.registry.pki_dir and os.path.join(self.registry.pki_dir, "front-proxy-ca.crt")
        if front and os.path.exists(front):
            self.front_proxy()
        else:
            publish_authentication(self.registry, None)

    def first(self) -> None:
        """The Local APIServices, once."""
        if not self.started:
            self.started = True
            ensure_local(self.registry)

    async def run(self) -> None:
        # The first pass on the event loop (a thread still writing when a test's server stops
        # would outlive its store). Only the checks' HTTPS requests go to a thread, when there
        # is an APIService to check.
        try:
            self.publish()
        except Exception:  # noqa: BLE001
            log.exception("publishing %s", AUTH_CONFIG_MAP)
        await asyncio.sleep(FIRST_PASS_AFTER)
        try:
            self.first()
        except Exception:  # noqa: BLE001
            log.exception("making the Local APIServices")
        while True:
            try:
                if self.delegations.all():
                    await asyncio.to_thread(self.sweep)
            except Exception:  # noqa: BLE001 - one bad APIService must not stop the controller
                log.exception("checking APIServices")
            await asyncio.sleep(CHECK_EVERY)
