"""The webhook configurations' printer (printMutatingWebhook, printValidatingWebhook): both show
how many webhooks a configuration registers."""

from __future__ import annotations

from .format import since


def webhook_configuration_cells(obj: dict, now: float) -> list:
    meta, webhooks = obj.get("metadata") or {}, obj.get("webhooks")
    return [meta.get("name", ""), len(webhooks) if isinstance(webhooks, list) else 0,
            since(meta.get("creationTimestamp"), now)]
