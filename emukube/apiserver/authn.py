"""Who a request comes from: a client certificate the cluster's CA signed (its CN the user, its
O the groups, as kube-apiserver's x509 authenticator reads them: `kubectl certificate approve`'s
users), the cluster's admin token (the kubeconfig user and the controller, in system:masters) or
a ServiceAccount token this cluster signed (pods' in-cluster config)."""

from __future__ import annotations

import hmac
from dataclasses import replace
from typing import Callable

from ..k8s.resources import BY_KEY
from ..k8s.token_secrets import held
from . import sa_tokens
from .rbac import AUTHENTICATED, MASTERS, User, service_account_user

ADMIN = User("kubernetes-admin", (MASTERS, AUTHENTICATED))


class Authenticator:
    def __init__(self, tokens: list[str] | None, pki_dir: str | None = None):
        """tokens: the admin tokens (None: no authentication, every caller is the admin);
        pki_dir: where the ServiceAccount tokens' key is (None: one of this process only)."""
        self.tokens = tokens
        self.signer = sa_tokens.Signer(tokens[0], pki_dir) if tokens else None

    def user_for_token(self, token: str, uids: Uids | None = None) -> User | None:
        """The token's user. uids: the uids of the objects the API holds (object_uids), which a
        ServiceAccount token's account and bound objects must still be."""
        return self.review(token, uids)[0]

    def review(self, token: str, uids: Uids | None = None,
               audiences: list[str] | None = None) -> tuple[User | None, list[str]]:
        """(the token's user, the audiences both it and `audiences` name), None: this API
        server's. The admin tokens know no audience but the API server's, as kube-apiserver
        wraps its audience-agnostic authenticators."""
        wanted = audiences or [sa_tokens.ISSUER]
        if self.tokens is None or any(hmac.compare_digest(token.encode(), t.encode()) for t in self.tokens):
            return (ADMIN, [sa_tokens.ISSUER]) if sa_tokens.ISSUER in wanted else (None, [])
        found = self.signer.verify(token, wanted) if self.signer is not None else None
        user = account_user(found, uids) if found is not None else None
        return (user, found.audiences) if user is not None and found is not None else (None, [])

    def user_for(self, request, uids: Uids | None = None) -> User | None:
        if self.tokens is None:
            return ADMIN
        certified = certificate_user(request.transport.get_extra_info("peercert") if request.transport else None)
        if certified is not None:  # the x509 authenticator comes before the token ones
            return certified
        scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():  # the scheme in any case, as the API server takes it
            return None
        return self.user_for_token(token.strip(), uids)


Uids = Callable[[str, str, str], str]  # (resource, namespace, name) -> the stored object's uid, "" for none
_EXTRA = "authentication.kubernetes.io/"


class StoredObjects:
    """What a token's claims are checked against, read from the API's objects when a token
    names them: an object's uid (called as a Uids), a Secret's token."""

    def __init__(self, registry):
        self.registry = registry

    def __call__(self, resource: str, namespace: str, name: str) -> str:
        res = BY_KEY[resource]
        found = self.registry.get(res, namespace if res.namespaced else None, name)
        return (found or {}).get("metadata", {}).get("uid", "")

    def secret_token(self, namespace: str, name: str) -> str:
        """The token a Secret holds ("" for none, or a Secret being deleted)."""
        found = self.registry.get(BY_KEY["secrets"], namespace, name) or {}
        if found.get("metadata", {}).get("deletionTimestamp"):
            return ""
        return held(found, "token").decode(errors="replace")


def object_uids(registry) -> StoredObjects:
    return StoredObjects(registry)


def account_user(found: sa_tokens.Verified, uids: Uids | None) -> User | None:
    """kube-apiserver's validator (pkg/serviceaccount/claims.go): the account, and the pod,
    secret or node the token is bound to, must still exist and be the same ones (a token names
    their uids); the user's extra names the pod, the node and the token's id (its jti)."""
    uid = found.uid
    if uids is not None:
        live = uids("serviceaccounts", found.namespace, found.name)
        if not live or uid and uid != live:
            return None
        uid = live
        if found.secret_token:  # a Secret's token: as long as the Secret holds it (legacy.go)
            held = uids.secret_token(found.namespace, found.bound["secret"]["name"]) \
                if isinstance(uids, StoredObjects) else ""
            return service_account_user(found.namespace, found.name, uid=uid) \
                if hmac.compare_digest(held.encode(), found.secret_token.encode()) else None
        for kind, ref in found.bound.items():
            if kind == "node" and "pod" in found.bound:
                continue  # a pod's node is named, not checked
            if uids(f"{kind}s", found.namespace, ref["name"]) != ref["uid"] or not ref["uid"]:
                return None
    extra: dict[str, list[str]] = {}
    pod, node = found.bound.get("pod"), found.bound.get("node")
    if pod and pod["name"] and pod["uid"]:
        extra[_EXTRA + "pod-name"], extra[_EXTRA + "pod-uid"] = [pod["name"]], [pod["uid"]]
    if found.jti:
        extra[_EXTRA + "credential-id"] = [f"JTI={found.jti}"]
    if node and node["name"]:
        extra[_EXTRA + "node-name"] = [node["name"]]
        if node["uid"]:
            extra[_EXTRA + "node-uid"] = [node["uid"]]
    return replace(service_account_user(found.namespace, found.name, uid=uid), extra=extra)


def user_info(user: User) -> dict:
    """authentication/v1 UserInfo."""
    info: dict = {"username": user.name}
    if user.uid:
        info["uid"] = user.uid
    info["groups"] = list(user.groups)
    if user.extra:
        info["extra"] = {k: list(v) for k, v in user.extra.items()}
    return info


def certificate_user(peer: dict | None) -> User | None:
    """The user of a verified client certificate (ssl's getpeercert()): CN, and O as groups."""
    if not peer:
        return None
    names: dict[str, list[str]] = {}
    for rdn in peer.get("subject") or ():
        for key, value in rdn:
            names.setdefault(key, []).append(value)
    common = (names.get("commonName") or [""])[0]
    if not common:
        return None
    return User(common, (*names.get("organizationName", []), AUTHENTICATED))
