"""The names a ServiceAccount token Secret (type kubernetes.io/service-account-token) is known by,
for those who read one without validating it (what `up` compares, the token controller)."""

SERVICE_ACCOUNT_TOKEN = "kubernetes.io/service-account-token"
ACCOUNT_NAME = "kubernetes.io/service-account.name"
ACCOUNT_UID = "kubernetes.io/service-account.uid"
