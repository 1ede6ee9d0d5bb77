"""CertificateSigningRequest validation (pkg/apis/certificates/validation, certificates.k8s.io/v1),
worded as kube-apiserver v1.35's: ValidateCertificateSigningRequestCreate for a new request, and
the updates through /status and /approval.

The request is checked as far as the standard library can: base64, then its first PEM block's
type. Its DER and signature are not (Go's ParseCertificateRequest and CheckSignature): the API
server's image has no X.509 library; the signer verifies the signature before it signs. The
allowances kube-apiserver makes for objects stored by older versions (v1beta1's legacy signer,
duplicate usages) are left out: emukube holds only what these rules let in.
"""

from __future__ import annotations

import base64
from typing import Callable

from . import pem
from .fielderrors import FieldErrors, base64_bytes, base64_error
from .names import is_dns1123_label, is_dns1123_subdomain
from .text import go_quote

# KeyUsage values, sorted as sets.List() prints them.
USAGES = sorted(["signing", "digital signature", "content commitment", "key encipherment", "key agreement",
                 "data encipherment", "cert sign", "crl sign", "encipher only", "decipher only", "any",
                 "server auth", "client auth", "code signing", "email protection", "s/mime", "ipsec end system",
                 "ipsec tunnel", "ipsec user", "timestamping", "ocsp signing", "microsoft sgc", "netscape sgc"])
LEGACY_SIGNER = "kubernetes.io/legacy-unknown"  # v1beta1's default; v1 refuses it
MIN_SECONDS = 600
# Condition types that may only be True, and the statuses any other may have (sorted).
TRUE_ONLY = ("Approved", "Denied", "Failed")
STATUSES = ["False", "True", "Unknown"]
_DOMAIN_MAX, _LABEL_MAX = 253, 63


def validate_certificate_signing_request(obj: dict, errs: FieldErrors) -> None:
    """validateCertificateSigningRequest's spec checks, in its order. Status is not checked: the
    API server empties it before validating a new request (and emukube's create does so too)."""
    spec = errs.get_map(obj, "spec", "")
    _request(spec, errs)
    usages = [u for _, u in errs.strings_in(errs.get_list(spec, "usages", "spec"), "spec.usages")]
    if not usages:
        errs.required("spec.usages")
    for i, usage in enumerate(usages):
        if usage not in USAGES:
            errs.not_supported(f"spec.usages[{i}]", usage, USAGES)
    for i, usage in enumerate(usages):
        if usage in usages[:i]:
            errs.duplicate(f"spec.usages[{i}]", usage)
    signer = errs.get_str(spec, "signerName", "spec")
    if signer == LEGACY_SIGNER:
        errs.invalid("spec.signerName", signer, "the legacy signerName is not allowed via this API version")
    else:
        validate_signer_name("spec.signerName", signer, errs)
    seconds = errs.get_int(spec, "expirationSeconds", "spec")
    if seconds is not None and seconds < MIN_SECONDS:
        errs.invalid("spec.expirationSeconds", seconds,
                     f"may not specify a duration less than {MIN_SECONDS} seconds (10 minutes)")


def _request(spec: dict, errs: FieldErrors) -> None:
    """certificates.ParseCSR's first step: a PEM block of type CERTIFICATE REQUEST. The value is
    shown as Go's JSON of the []byte (its base64, cut short as every long value here is)."""
    value = spec.get("request")
    if value is not None and not isinstance(value, str):
        errs.get_str(spec, "request", "spec")  # the type error
        return
    if value and (bad := base64_error(value)):  # a decoding error in kube-apiserver (a 400)
        errs.invalid("spec.request", value, bad)
        return
    raw = base64_bytes(value or "") or b""
    block, _ = pem.decode(raw)
    if block is None or block.type != "CERTIFICATE REQUEST":
        errs.invalid("spec.request", None if value is None else base64.b64encode(raw).decode(),
                     "PEM block type must be CERTIFICATE REQUEST")


def validate_signer_name(path: str, name: str, errs: FieldErrors) -> None:
    """ValidateSignerName (pkg/apis/core/validation): DOMAIN/PATH, the domain of two DNS labels at
    least, each dot-separated part of the path a DNS subdomain; the first bad label only."""
    if not name:
        errs.required(path)
        return
    parts = name.split("/")
    if len(parts) != 2:
        errs.invalid(path, name, "must be a fully qualified domain and path of the form 'example.com/signer-name'")
        return
    domain, rest = parts
    if len(domain) > _DOMAIN_MAX:
        errs.too_long(path, _DOMAIN_MAX)
    _first_bad_label(path, domain, is_dns1123_label, errs)  # each label at most 63 characters
    if "." not in domain:
        errs.invalid(path, domain, "should be a domain with at least two segments separated by dots")
    _first_bad_label(path, rest, is_dns1123_subdomain, errs)  # room for a whole resource name in one
    limit = _DOMAIN_MAX + (_DOMAIN_MAX + _LABEL_MAX + 1) + 1
    if len(name) > limit:
        errs.too_long(path, limit)


def _first_bad_label(path: str, segment: str, check: Callable[[str], list[str]], errs: FieldErrors) -> None:
    """The complaints about the first bad dot-separated label only: the rest would repeat them."""
    for label in segment.split("."):
        if problems := check(label):
            errs.invalid_each(path, segment, [f"validating label {go_quote(label)}: {p}" for p in problems])
            return


def validate_csr_update(new: dict, old: dict, subresource: str = "") -> list[str]:
    """ValidateCertificateSigningRequest{,Status,Approval}Update after the strategy's
    prepare_for_update: the new status's conditions and certificate, then what an update may not
    do (remove an Approved, Denied or Failed condition; add or change Approved or Denied but
    through /approval; set the certificate but through /status, or change one once set).
    subresource: "", "status" or "approval". The metadata rules are the caller's."""
    errs = FieldErrors()
    status = errs.get_map(new, "status", "")
    conditions = [c for _, c in errs.maps_in(errs.get_list(status, "conditions", "status"), "status.conditions")]
    _conditions(conditions, errs)
    certificate = errs.get_str(status, "certificate", "status")
    old_certificate = (old.get("status") or {}).get("certificate") or ""
    changed = _decoded(certificate) != _decoded(old_certificate)
    if changed:  # content already stored is not checked again
        _certificate(certificate, errs)
    before = (old.get("status") or {}).get("conditions") or []
    for kind in TRUE_ONLY:
        if len(_of_type(conditions, kind)) < len(_of_type(before, kind)):
            errs.forbidden("status.conditions", f'updates may not remove a condition of type "{kind}"')
    for kind in ("Approved", "Denied"):
        now, then = _of_type(conditions, kind), _of_type(before, kind)
        if subresource == "approval" or len(now) < len(then):
            continue
        if len(now) > len(then):
            errs.forbidden("status.conditions", f'updates may not add a condition of type "{kind}"')
        elif now != then:  # kube-apiserver appends a cmp.Diff of the two
            errs.forbidden("status.conditions", f'updates may not modify a condition of type "{kind}"')
    if changed and subresource != "status":
        errs.forbidden("status.certificate", "updates may not set certificate content")
    elif changed and old_certificate:
        errs.forbidden("status.certificate", "updates may not modify existing certificate content")
    return errs.items


def _of_type(conditions: list, kind: str) -> list:
    return [c for c in conditions if isinstance(c, dict) and c.get("type") == kind]


def _decoded(text: str) -> bytes:
    """The certificate's bytes, so a different base64 of the same content is no change."""
    raw = base64_bytes(text)
    return text.encode() if raw is None else raw


def _conditions(conditions: list[dict], errs: FieldErrors) -> None:
    """validateConditions: a type and a status each, the three known types only True, Approved
    and Denied not both, no type twice."""
    seen: set[str] = set()
    for i, condition in enumerate(conditions):
        path = f"status.conditions[{i}]"
        kind = errs.get_str(condition, "type", path)
        if not kind:
            errs.required(f"{path}.type")
        allowed = ["True"] if kind in TRUE_ONLY else STATUSES
        state = errs.get_str(condition, "status", path)
        if not state:
            errs.required(f"{path}.status")
        elif state not in allowed:
            errs.not_supported(f"{path}.status", state, allowed)
        other = {"Approved": "Denied", "Denied": "Approved"}.get(kind)
        if other in seen:
            errs.invalid(f"{path}.type", kind, "Approved and Denied conditions are mutually exclusive")
        if kind in seen:
            errs.duplicate(f"{path}.type", kind)
        seen.add(kind)


def _certificate(text: str, errs: FieldErrors) -> None:
    """validateCertificate: none yet, or one or more CERTIFICATE blocks without headers (text
    around them is allowed); the content is never shown."""
    if not text:
        return
    path, shown = "status.certificate", "<certificate data>"
    if bad := base64_error(text):
        errs.invalid(path, shown, bad)
        return
    rest, blocks = base64_bytes(text) or b"", 0
    while True:
        block, rest = pem.decode(rest)
        if block is None:
            break
        if block.type != "CERTIFICATE":
            errs.invalid(path, shown, f"only CERTIFICATE PEM blocks are allowed, found {go_quote(block.type)}")
            return
        if block.has_headers:
            errs.invalid(path, shown, "no PEM block headers are permitted")
            return
        blocks += 1
    if not blocks:
        errs.invalid(path, shown, "must contain at least one CERTIFICATE PEM block")
