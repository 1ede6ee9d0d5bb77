"""The kube-api-access volume the ServiceAccount admission plugin adds to every pod that does not
opt out: a projected token, the cluster's CA (kube-root-ca.crt) and the namespace, mounted
read-only in each container at /var/run/secrets/kubernetes.io/serviceaccount. Pure.

The plugin names it kube-api-access-<5 random characters>; here the characters come from the
pod's namespace and name, so that the API server's admission and the controller's writes of
the same pod give the same name. The runtime serves the volume with its service-account folder
(runtime/account_volumes.py), one bind mount shared by the account's pods. The plugin's other
parts that judge the account (it must exist; its automountServiceAccountToken) are here too."""

from __future__ import annotations

import copy
import hashlib

from .workloads import safe_encode

PREFIX = "kube-api-access-"
MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
TOKEN_SECONDS = 3607  # the plugin's WarnOnlyBoundTokenExpirationSeconds


def is_api_access(volume: dict) -> bool:
    return str(volume.get("name") or "").startswith(PREFIX) and "projected" in volume


def account_of(spec: dict) -> str:
    """The pod's ServiceAccount (serviceAccount is the field's deprecated name)."""
    return spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"


def automounts(spec: dict, account: dict | None) -> bool:
    """The plugin's shouldAutomount: the pod's automountServiceAccountToken, else its
    ServiceAccount's, else true."""
    for said in (spec.get("automountServiceAccountToken"), (account or {}).get("automountServiceAccountToken")):
        if isinstance(said, bool):
            return said
    return True


def missing_account(spec: dict, namespace: str, accounts: set[str]) -> str:
    """Why the plugin refuses a pod whose ServiceAccount does not exist (`accounts`: the names the
    namespace has; admission puts `pods "NAME" is forbidden: ` before it); "" when it exists."""
    name = account_of(spec)
    if name in accounts:
        return ""
    return f'error looking up service account {namespace}/{name}: serviceaccount "{name}" not found'


def has_api_access(spec: dict) -> bool:
    return any(is_api_access(v) for v in spec.get("volumes") or [])


def volume_name(namespace: str, pod: str) -> str:
    return PREFIX + safe_encode(hashlib.sha256(f"{namespace}/{pod}".encode()).digest(), 5)


def volume(name: str) -> dict:
    return {"name": name, "projected": {"defaultMode": 0o644, "sources": [
        {"serviceAccountToken": {"expirationSeconds": TOKEN_SECONDS, "path": "token"}},
        {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}], "name": "kube-root-ca.crt"}},
        {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                                    "path": "namespace"}]}}]}}


def with_api_access(spec: dict, namespace: str, pod: str, account: dict | None = None) -> dict:
    """The pod spec as the plugin admits it: unchanged when the pod or its ServiceAccount
    (`account`, when known) opts out (automountServiceAccountToken: false) or every container
    mounts something of its own there."""
    if not automounts(spec, account):
        return spec
    volumes = spec.get("volumes") or []
    name: str | None = next((str(v["name"]) for v in volumes if is_api_access(v)), None)
    mount_name = name or volume_name(namespace, pod)
    mount = {"mountPath": MOUNT, "name": mount_name, "readOnly": True}
    out = copy.deepcopy(spec)
    needed = False
    for field in ("initContainers", "containers"):
        for container in out.get(field) or []:
            if not any(m.get("mountPath") == MOUNT for m in container.get("volumeMounts") or []):
                container["volumeMounts"] = [*(container.get("volumeMounts") or []), dict(mount)]
                needed = True
    if needed and name is None:
        out["volumes"] = [*volumes, volume(mount_name)]
    return out if needed else spec
