"""Who a request comes from: a client certificate the cluster's CA signed (its CN the user, its
O the groups, as kube-apiserver's x509 authenticator reads them: `kubectl certificate approve`'s
users), the cluster's admin token (the kubeconfig user and the controller, in system:masters) or
a ServiceAccount token this cluster signed (pods' in-cluster config)."""

from __future__ import annotations

import hmac

from ..k8s.resources import BY_KEY
from . import sa_tokens
from .rbac import AUTHENTICATED, MASTERS, User, service_account_user

ADMIN = User("kubernetes-admin", (MASTERS, AUTHENTICATED))


class Authenticator:
    def __init__(self, tokens: list[str] | None, pki_dir: str | None = None, jwks_uri: str = ""):
        """tokens: the admin tokens (None: no authentication, every caller is the admin);
        pki_dir: where the ServiceAccount tokens' key is (None: one of this process only)."""
        self.tokens = tokens
        self.signer = sa_tokens.Signer(tokens[0], pki_dir, jwks_uri) if tokens else None

    def user_for_token(self, token: str, uid_of=None) -> User | None:
        """uid_of(namespace, name): a ServiceAccount's uid ("" when it is not stored)."""
        if self.tokens is None:
            return ADMIN
        if any(hmac.compare_digest(token.encode(), t.encode()) for t in self.tokens):
            return ADMIN
        account = self.signer.verify(token) if self.signer is not None else None
        if account is None:
            return None
        namespace, name, uid = account
        if uid_of is None:
            return service_account_user(namespace, name)
        # As kube-apiserver's validator: the account must still exist, and be the one the token
        # was made for (a token names its uid when made by TokenRequest).
        live = uid_of(namespace, name)
        if not live or uid and uid != live:
            return None
        return service_account_user(namespace, name, uid=live)

    def user_for(self, request, uid_of=None) -> User | None:
        if self.tokens is None:
            return ADMIN
        certified = certificate_user(request.transport.get_extra_info("peercert") if request.transport else None)
        if certified is not None:  # the x509 authenticator comes before the token ones
            return certified
        scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():  # the scheme in any case, as the API server takes it
            return None
        return self.user_for_token(token.strip(), uid_of)


def account_uids(registry):
    """A function (namespace, name) -> that ServiceAccount's uid, "" when it is not stored."""
    def uid_of(namespace: str, name: str) -> str:
        account = registry.get(BY_KEY["serviceaccounts"], namespace, name)
        return (account or {}).get("metadata", {}).get("uid", "")
    return uid_of


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
