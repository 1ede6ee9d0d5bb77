"""The names a ServiceAccount token Secret (type kubernetes.io/service-account-token) is known by,
and what it holds, for those who read one without validating it (what `up` compares, the token
controller, the API server's check of its token)."""

import base64

SERVICE_ACCOUNT_TOKEN = "kubernetes.io/service-account-token"
ACCOUNT_NAME = "kubernetes.io/service-account.name"
ACCOUNT_UID = "kubernetes.io/service-account.uid"


def held(secret: dict, key: str) -> bytes:
    """One value of the Secret's data, decoded (b"" for none, or one not base64)."""
    try:
        return base64.b64decode((secret.get("data") or {}).get(key) or "")
    except ValueError:
        return b""
