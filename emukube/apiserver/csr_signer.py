"""kube-controller-manager's CSR signing controller (pkg/controller/certificates/signer): an
approved CertificateSigningRequest for one of the kubernetes.io signers is signed by the cluster's
CA, whose certificates the API server then accepts from clients (authn.py). The certificate is
made by the openssl command, as the controller's image has no X.509 library for Python.

What a signer checks is pure (`refusal`); `issue` runs openssl."""

from __future__ import annotations

import base64
import math
import os
import re
import secrets
import subprocess
import tempfile

CLIENT = "kubernetes.io/kube-apiserver-client"
KUBELET_CLIENT = "kubernetes.io/kube-apiserver-client-kubelet"
KUBELET_SERVING = "kubernetes.io/kubelet-serving"
LEGACY = "kubernetes.io/legacy-unknown"
SIGNERS = (CLIENT, KUBELET_CLIENT, KUBELET_SERVING, LEGACY)
DEFAULT_SECONDS = 365 * 24 * 3600  # --cluster-signing-duration's default
# KeyUsage values (certificates/v1) in openssl's words: key usages, then extended ones.
KEY_USAGES = {"signing": "digitalSignature", "digital signature": "digitalSignature",
              "content commitment": "nonRepudiation", "key encipherment": "keyEncipherment",
              "key agreement": "keyAgreement", "data encipherment": "dataEncipherment", "cert sign": "keyCertSign",
              "crl sign": "cRLSign", "encipher only": "encipherOnly", "decipher only": "decipherOnly"}
EXT_USAGES = {"any": "anyExtendedKeyUsage", "server auth": "serverAuth", "client auth": "clientAuth",
              "code signing": "codeSigning", "email protection": "emailProtection", "s/mime": "emailProtection",
              "ipsec end system": "ipsecEndSystem", "ipsec tunnel": "ipsecTunnel", "ipsec user": "ipsecUser",
              "timestamping": "timeStamping", "ocsp signing": "OCSPSigning", "microsoft sgc": "msSGC",
              "netscape sgc": "nsSGC"}
_KUBELET_CLIENT = ({"digital signature", "key encipherment", "client auth"}, {"digital signature", "client auth"})
_KUBELET_SERVING = ({"digital signature", "key encipherment", "server auth"}, {"digital signature", "server auth"})
_SAN_REFUSED = {"DNS": "DNS subjectAltNames are not allowed", "email": "Email subjectAltNames are not allowed",
                "IP Address": "IP subjectAltNames are not allowed", "URI": "URI subjectAltNames are not allowed"}


class SigningError(Exception):
    """The request cannot be read (not a signed CSR): the controller retries, nothing is written."""


def approved(csr: dict) -> bool:
    conditions = (csr.get("status") or {}).get("conditions") or []
    kinds = {c.get("type") for c in conditions if c.get("status", "True") == "True"}
    return "Approved" in kinds and not kinds & {"Denied", "Failed"}


def refusal(signer: str, usages: list[str], subject: dict[str, list[str]], sans: set[str]) -> str:
    """Why the signer refuses (its SignerValidationFailure message), "" when it signs: the
    checks of the signing controller's isRequestForSignerFn. subject: the request's CN, O...;
    sans: the kinds of subjectAltName it asks for (DNS, IP Address, email, URI)."""
    if signer == CLIENT:  # validAPIServerClientUsages: any subject and names
        for usage in usages:
            if usage not in ("digital signature", "key encipherment", "client auth"):
                return f"invalid usage for client certificate: {usage}"
        return "" if "client auth" in usages else "missing required usage for client certificate: client auth"
    if signer not in (KUBELET_CLIENT, KUBELET_SERVING):
        return ""  # legacy-unknown: no restrictions, as in v1
    if subject.get("O") != ["system:nodes"]:
        return "subject organization is not system:nodes"
    serving = signer == KUBELET_SERVING
    if serving and not sans & {"DNS", "IP Address"}:
        return "DNS or IP subjectAltName is required"
    for kind in ("email", "URI") if serving else ("DNS", "email", "IP Address", "URI"):
        if kind in sans:
            return _SAN_REFUSED[kind]
    common = (subject.get("CN") or [""])[0]
    if not serving and not common.startswith("system:node:"):
        return "subject common name does not begin with system:node:"
    wanted = _KUBELET_SERVING if serving else _KUBELET_CLIENT
    if set(usages) not in wanted:
        return f"usages did not match [{' '.join(sorted(wanted[0]))}]"
    if serving and not common.startswith("system:node:"):
        return "subject common name does not begin with system:node:"
    return ""


def _openssl(*args: str, data: bytes | None = None) -> bytes:
    done = subprocess.run(["openssl", *args], input=data, capture_output=True, timeout=30)
    if done.returncode != 0:
        raise SigningError(done.stderr.decode(errors="replace").strip().splitlines()[-1:] or "openssl failed")
    return done.stdout


def subject_of(pem: bytes) -> tuple[dict[str, list[str]], set[str]]:
    """The CSR's subject (CN, O, ...) and the kinds of subjectAltName it asks for; SigningError
    when its signature does not verify."""
    text = _openssl("req", "-verify", "-noout", "-text", "-nameopt", "sep_multiline,utf8", data=pem).decode()
    subject: dict[str, list[str]] = {}
    block = text.partition("Subject:")[2].partition("Subject Public Key Info")[0]
    for key, value in re.findall(r"^\s+(\w+)=(.*)$", block, re.M):
        subject.setdefault(key, []).append(value.strip())
    names = text.partition("Subject Alternative Name:")[2].strip().splitlines()[:1]
    sans = {entry.split(":")[0].strip() for entry in (names[0].split(",") if names else []) if ":" in entry}
    return subject, sans


def extensions(usages: list[str]) -> str:
    """The openssl extension file for these usages."""
    keys = sorted({KEY_USAGES[u] for u in usages if u in KEY_USAGES})
    ext = sorted({EXT_USAGES[u] for u in usages if u in EXT_USAGES})
    lines = ["basicConstraints=critical,CA:FALSE", "authorityKeyIdentifier=keyid"]
    if keys:
        lines.append("keyUsage=critical," + ",".join(keys))
    if ext:
        lines.append("extendedKeyUsage=" + ",".join(ext))
    return "\n".join(lines) + "\n"


def issue(csr: dict, pki_dir: str) -> dict | None:
    """The status the signing controller writes for this CSR: its certificate, or a Failed
    condition; None when it is not this controller's to sign (not approved, another signer,
    signed already)."""
    spec, status = csr.get("spec") or {}, csr.get("status") or {}
    if spec.get("signerName") not in SIGNERS or not approved(csr) or status.get("certificate"):
        return None
    pem = base64.b64decode(spec.get("request") or "")
    subject, sans = subject_of(pem)
    usages = list(spec.get("usages") or [])
    if why := refusal(spec["signerName"], usages, subject, sans):
        return {**status, "conditions": [*(status.get("conditions") or []), {
            "type": "Failed", "status": "True", "reason": "SignerValidationFailure", "message": why}]}
    seconds = int(spec.get("expirationSeconds") or DEFAULT_SECONDS)
    with tempfile.TemporaryDirectory() as work:
        ext, request = os.path.join(work, "ext.cnf"), os.path.join(work, "csr.pem")
        with open(ext, "w", encoding="utf-8") as f:
            f.write(extensions(usages))
        with open(request, "wb") as f:
            f.write(pem)
        # openssl 3.0 counts validity in whole days: a shorter request gets one day.
        cert = _openssl("x509", "-req", "-in", request, "-CA", os.path.join(pki_dir, "ca.crt"),
                        "-CAkey", os.path.join(pki_dir, "ca.key"), "-set_serial", f"0x{secrets.token_hex(16)}",
                        "-days", str(max(1, math.ceil(seconds / 86400))), "-extfile", ext, "-sha256")
    return {**status, "certificate": base64.b64encode(cert).decode()}
