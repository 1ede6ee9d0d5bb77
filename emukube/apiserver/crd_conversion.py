"""Custom resources whose CRD converts them by webhook (`spec.conversion.strategy: Webhook`), as
apiextensions-apiserver 0.35 does it (pkg/apiserver/conversion/webhook_converter.go): the objects
not yet in the wanted version are sent in one ConversionReview (v1, or v1beta1 to a webhook that
takes only that) over HTTPS to the webhook's Service or URL, and what comes back is checked as the
converter checks it: the review's uid, a Success result, one object per object sent, each of the
wanted apiVersion and of the same kind, name, namespace and uid. The converted objects keep the
originals' metadata except labels and annotations, which the webhook may change.

Also the CRD's `spec.conversion` validation (validateCustomResourceConversion), whose field paths
are the internal type's (`spec.conversion.webhookClientConfig`), as kube-apiserver prints them.

The call blocks: handlers run what may need it off the event loop (handlers.converting)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Callable

from ..manifests.fielderrors import FieldErrors
from ..manifests.names import is_dns1035_label, validate_labels
from ..manifests.validate_admissionregistration import REVIEW_VERSIONS, client_config, go_slice
from . import errors, webhooks

# The API server's webhook client's own timeout: its URLs carry ?timeout=30s.
TIMEOUT = 30
_REVIEW = "apiextensions.k8s.io/{}, Kind=ConversionReview"  # gvk() of the review kube-apiserver expects back


@dataclass(frozen=True)
class Conversion:
    """What a CRD says of its conversion webhook; `service_of(namespace, name)` reads a Service."""
    crd: str
    client_config: dict
    review_versions: tuple[str, ...]
    service_of: Callable[[str, str], dict | None] = field(compare=False, hash=False, repr=False)


def of(crd: dict, service_of: Callable[[str, str], dict | None]) -> Conversion | None:
    conversion = (crd.get("spec") or {}).get("conversion") or {}
    if conversion.get("strategy") != "Webhook":
        return None
    hook = conversion.get("webhook") or {}
    return Conversion(crd["metadata"]["name"], hook.get("clientConfig") or {},
                      tuple(hook.get("conversionReviewVersions") or ()), service_of)


def gvk(api_version: str, kind: str) -> str:
    """schema.GroupVersionKind's String(), as the converter's errors name what they converted."""
    group, _, version = api_version.rpartition("/")
    return f"{group}/{version}, Kind={kind}"


# ---- the CRD's spec.conversion ------------------------------------------------------------------

def problems(spec: dict) -> list[str]:
    conversion = spec.get("conversion")
    if not isinstance(conversion, dict):
        return []
    errs = FieldErrors()
    path = "spec.conversion"
    strategy = conversion.get("strategy")
    if strategy not in ("None", "Webhook"):
        errs.not_supported(f"{path}.strategy", strategy or "", ["None", "Webhook"])
    given = conversion.get("webhook")
    hook: dict = given if isinstance(given, dict) else {}
    config, versions = hook.get("clientConfig"), hook.get("conversionReviewVersions")
    if strategy != "None" and spec.get("preserveUnknownFields") is True:
        errs.invalid(f"{path}.strategy", strategy, "must be None if spec.preserveUnknownFields is true")
    if strategy == "Webhook":
        if not isinstance(config, dict):
            errs.required(f"{path}.webhookClientConfig", "required when strategy is set to Webhook")
        else:
            client_config(config, f"{path}.webhookClientConfig", errs)
        _review_versions(versions if isinstance(versions, list) else [], f"{path}.conversionReviewVersions", errs)
    else:
        if config is not None:
            errs.forbidden(f"{path}.webhookClientConfig", "should not be set when strategy is not set to Webhook")
        if versions:
            errs.forbidden(f"{path}.conversionReviewVersions", "should not be set when strategy is not set to "
                           "Webhook")
    return errs.items


def _review_versions(versions: list, path: str, errs: FieldErrors) -> None:
    if not versions:
        errs.required(path)
        return
    seen: set = set()
    for i, version in enumerate(versions):
        if version in seen:
            errs.invalid(f"{path}[{i}]", version, "duplicate version")
            continue
        seen.add(version)
        errs.invalid_each(f"{path}[{i}]", version, is_dns1035_label(str(version)))
    if not seen & set(REVIEW_VERSIONS):
        errs.invalid(path, None, "must include at least one of " + ", ".join(REVIEW_VERSIONS),
                     shown=go_slice("string", [str(v) for v in versions]))


# ---- the conversion -----------------------------------------------------------------------------

def review_version(conversion: Conversion) -> str | None:
    """The first of the CRD's conversionReviewVersions the API server speaks."""
    return next((v for v in conversion.review_versions if v in REVIEW_VERSIONS), None)


def review(version: str, objects: list[dict], desired: str, uid: str) -> dict:
    return {"apiVersion": f"apiextensions.k8s.io/{version}", "kind": "ConversionReview",
            "request": {"uid": uid, "desiredAPIVersion": desired, "objects": objects}}


class Failed(Exception):
    """Why a conversion failed, in the converter's words after "conversion webhook for X "."""


def converted_objects(answer: object, version: str, uid: str) -> list:
    """getConvertedObjectsFromResponse."""
    if not isinstance(answer, dict):
        raise Failed(f"failed: unrecognized response type: {type(answer).__name__}")
    got = gvk(str(answer.get("apiVersion") or ""), str(answer.get("kind") or ""))
    if got != _REVIEW.format(version):
        raise Failed(f"failed: expected webhook response of {_REVIEW.format(version)}, got {got}")
    response = answer.get("response")
    if not isinstance(response, dict):
        raise Failed("failed: no response provided")
    if response.get("uid") != uid:
        raise Failed(f'failed: expected response.uid="{uid}", got "{response.get("uid") or ""}"')
    given = response.get("result")
    result: dict = given if isinstance(given, dict) else {}
    if result.get("status") != "Success":
        message = result.get("message")
        raise Failed(f"failed: {message}" if message else
                     f"failed: response.result.status was '{result.get('status') or ''}', not 'Success'")
    objects = response.get("convertedObjects")
    return objects if isinstance(objects, list) else []


def _checked(original: dict, converted: object, desired: str, index: int | None) -> dict:
    """validateConvertedObject and restoreObjectMeta. `index` is None for a single object: the
    converter words its failures differently for one object and for a list's items."""
    at = "object" if index is None else f"converted object at index {index}"
    if not isinstance(converted, dict):
        raise Failed(f"returned invalid {at}: Object 'Kind' is missing in '{json.dumps(converted)}'")
    typed = "object at index 0" if index is None else at
    if converted.get("apiVersion") != desired:
        raise Failed(f"returned invalid {typed}: invalid groupVersion (expected {desired}, received "
                     f"{converted.get('apiVersion') or ''})")
    if converted.get("kind") != original.get("kind"):
        raise Failed(f"returned invalid {typed}: invalid kind (expected {original.get('kind')}, received "
                     f"{converted.get('kind') or ''})")
    meta = original.get("metadata") or {}
    new_meta = converted.get("metadata")
    given_meta = new_meta if isinstance(new_meta, dict) else {}
    for key, word in (("name", "name"), ("namespace", "namespace"), ("uid", "UID")):
        if (meta.get(key) or "") != (given_meta.get(key) or ""):
            raise Failed(f"returned invalid {at}: must have the same {word}: {meta.get(key) or ''} != "
                         f"{given_meta.get(key) or ''}")
    bad = "returned invalid metadata" + ("" if index is None else f" in object at index {index}")
    if not isinstance(new_meta, dict):
        raise Failed(f"{bad}: missing metadata in converted object")
    restored = json.loads(json.dumps(meta))
    for key, path in (("labels", "metadata.labels"), ("annotations", "metadata.annotation")):
        given = new_meta.get(key)
        if given is None:
            restored.pop(key, None)
            continue
        if not isinstance(given, dict):
            raise Failed(f"{bad}: invalid metadata.{key} of type {type(given).__name__} in converted object")
        for k, v in given.items():
            if not isinstance(v, str):
                raise Failed(f"{bad}: metadata.{key}[{k}] must be a string, but is {type(v).__name__} in "
                             "converted object")
        if key == "labels" and given != (meta.get(key) or {}):
            errs = FieldErrors()
            validate_labels(errs, given, path)
            if errs.items:
                raise Failed(f"{bad}: " + (errs.items[0] if len(errs.items) == 1 else
                                           "[" + ", ".join(errs.items) + "]"))
        restored[key] = dict(given)
    return {**converted, "metadata": restored}


def convert(conversion: Conversion, objects: list[dict], desired: str, named: str, listed: bool = False,
            send: Callable[..., object] = webhooks.post) -> list[dict]:
    """`objects` in apiVersion `desired`: those already in it as they are, the others converted by
    the webhook in one review. `named` is the GroupVersionKind the errors name (the object's, or the
    list's: `listed`). Raises errors.ApiError: a 500 whose Status has no reason, as kube-apiserver answers an
    error that is not a Status (kubectl prints `Error from server: conversion webhook for ...`)."""
    sent = [o for o in objects if o.get("apiVersion") != desired]
    if not sent:
        return objects
    try:
        version = review_version(conversion)
        if version is None:
            raise Failed("no supported conversion review versions")
        uid = str(uuid.uuid4())
        body = json.dumps(review(version, sent, desired, uid), separators=(",", ":")).encode()
        try:
            target = webhooks.target_of(conversion.client_config, TIMEOUT, conversion.service_of)
            answer = send(target, conversion.client_config.get("caBundle"), body, TIMEOUT)
        except webhooks.CallFailed as exc:
            raise Failed("failed: " + str(exc).removeprefix("failed to call webhook: ")) from None
        back = converted_objects(answer, version, uid)
        if len(back) != len(sent):
            raise Failed(f"returned {len(back)} objects, expected {len(sent)}")
        single = len(objects) == 1 and not listed
        done = iter(_checked(o, c, desired, None if single else i) for i, (o, c) in enumerate(zip(sent, back)))
        return [o if o.get("apiVersion") == desired else next(done) for o in objects]
    except Failed as exc:
        text = str(exc)
        raise errors.ApiError(500, "", f"conversion webhook for {named} {text}"
                              if not text.startswith("no supported") else text) from None
