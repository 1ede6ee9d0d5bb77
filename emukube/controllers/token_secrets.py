"""kube-controller-manager's token controller, for the Secrets still made by hand (type
kubernetes.io/service-account-token: the docs' "long-lived API token for a ServiceAccount"):
observe (Secrets and ServiceAccounts as the informer holds them), decide (pure: which Secret gets
its token, CA and namespace, which goes because its account is gone), act (through the API).
Called once a tick by the control loop."""

from __future__ import annotations

import base64
from typing import Callable

from ..k8s.client import ApiError
from ..k8s.resources import BY_KEY
from ..k8s.token_secrets import ACCOUNT_NAME, ACCOUNT_UID, SERVICE_ACCOUNT_TOKEN, held
from .apiaccess import write_tolerantly

SECRETS, ACCOUNTS = BY_KEY["secrets"], BY_KEY["serviceaccounts"]
Minter = Callable[[str, str, str, str], str]  # (namespace, account, its uid, secret) -> a token


def decide(secrets: list[dict], accounts: list[dict], ca: bytes) -> list[tuple[str, dict, dict | None]]:
    """("fill", secret, its account) for a token Secret that lacks its token, or holds another
    CA or namespace; ("orphaned", secret, None) for one whose account is not there, or is
    another of that name than the uid it names (syncSecret, generateTokenIfNeeded)."""
    by_name = {(a["metadata"].get("namespace"), a["metadata"]["name"]): a for a in accounts}
    out: list[tuple[str, dict, dict | None]] = []
    for secret in secrets:
        meta = secret["metadata"]
        if secret.get("type") != SERVICE_ACCOUNT_TOKEN or meta.get("deletionTimestamp"):
            continue
        annotations = meta.get("annotations") or {}
        account = by_name.get((meta.get("namespace"), annotations.get(ACCOUNT_NAME)))
        if account is None or annotations.get(ACCOUNT_UID) not in (None, "", account["metadata"].get("uid")):
            out.append(("orphaned", secret, None))
        elif not held(secret, "token") or held(secret, "ca.crt") != ca or \
                held(secret, "namespace") != meta.get("namespace", "").encode():
            out.append(("fill", secret, account))
    return out


def filled(secret: dict, account: dict, ca: bytes, mint: Minter) -> dict:
    """The Secret with its account's uid, the CA, its namespace and a token (kept when it has one)."""
    meta, namespace = dict(secret["metadata"]), secret["metadata"].get("namespace", "default")
    uid = account["metadata"].get("uid", "")
    meta["annotations"] = {**(meta.get("annotations") or {}), ACCOUNT_UID: uid}
    token = held(secret, "token") or mint(namespace, account["metadata"]["name"], uid, meta["name"]).encode()
    data = {**(secret.get("data") or {}), "ca.crt": ca, "namespace": namespace.encode(), "token": token}
    return {**secret, "metadata": meta,
            "data": {k: v if isinstance(v, str) else base64.b64encode(v).decode() for k, v in data.items()}}


class TokenSecrets:
    def __init__(self, ctrl, mint: Minter | None, ca: bytes):
        self.ctrl, self.mint, self.ca = ctrl, mint, ca
        self.version = -1

    def sync(self) -> None:
        ctrl = self.ctrl
        if self.mint is None or ctrl.api is None or ctrl.objects_version == self.version:
            return
        self.version = ctrl.objects_version
        secrets = [o for o in ctrl.objects if o.get("kind") == "Secret"]
        accounts = [o for o in ctrl.objects if o.get("kind") == "ServiceAccount"]
        for verdict, secret, account in decide(secrets, accounts, self.ca):
            meta = secret["metadata"]
            if verdict == "fill" and account is not None:
                write_tolerantly(lambda s=secret, a=account: ctrl.api.update(SECRETS, filled(s, a, self.ca, self.mint)))
            elif self._account_gone(meta.get("namespace", "default"), meta.get("annotations") or {}):
                write_tolerantly(lambda m=meta: ctrl.api.delete(SECRETS, m.get("namespace"), m["name"],
                                                               preconditions={"uid": m.get("uid")}))

    def _account_gone(self, namespace: str, annotations: dict) -> bool:
        """Asked of the API before a Secret is deleted, as the controller does on a cache miss:
        an account and its Secret applied together may reach the informer in either order."""
        try:
            live = self.ctrl.api.get(ACCOUNTS, namespace, annotations.get(ACCOUNT_NAME) or "")
        except ApiError as exc:
            return exc.code == 404
        return annotations.get(ACCOUNT_UID) not in (None, "", live["metadata"].get("uid"))
