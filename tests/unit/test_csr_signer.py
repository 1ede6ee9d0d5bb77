"""The CSR signing controller's checks (pure) and one certificate signed through openssl; the
x509 authenticator's reading of a verified client certificate."""

from __future__ import annotations

import base64
import subprocess

import pytest

from emukube.apiserver import csr_signer
from emukube.apiserver.authn import certificate_user
from emukube.apiserver.csr_signer import CLIENT, KUBELET_CLIENT, KUBELET_SERVING, LEGACY, refusal
from emukube.lifecycle.pki import make_pki

NODE = {"CN": ["system:node:node-1"], "O": ["system:nodes"]}


@pytest.mark.parametrize("signer, usages, subject, sans, why", [
    (CLIENT, ["client auth"], {"CN": ["u"]}, {"DNS"}, ""),  # any subject and names
    (CLIENT, ["digital signature", "key encipherment", "client auth"], {}, set(), ""),
    (CLIENT, ["client auth", "server auth"], {}, set(), "invalid usage for client certificate: server auth"),
    (CLIENT, ["digital signature"], {}, set(), "missing required usage for client certificate: client auth"),
    (KUBELET_CLIENT, ["digital signature", "client auth"], NODE, set(), ""),
    (KUBELET_CLIENT, ["client auth"], NODE, set(), "usages did not match [client auth digital signature key "
                                                   "encipherment]"),
    (KUBELET_CLIENT, ["client auth"], {"CN": ["system:node:n"], "O": ["x"]}, set(),
     "subject organization is not system:nodes"),
    (KUBELET_CLIENT, ["client auth"], NODE, {"IP Address"}, "IP subjectAltNames are not allowed"),
    (KUBELET_SERVING, ["digital signature", "server auth"], NODE, set(), "DNS or IP subjectAltName is required"),
    (KUBELET_SERVING, ["digital signature", "server auth"], NODE, {"DNS"}, ""),
    (KUBELET_SERVING, ["digital signature", "server auth"], {"CN": ["n"], "O": ["system:nodes"]}, {"DNS"},
     "subject common name does not begin with system:node:"),
    (LEGACY, ["server auth"], {}, {"URI"}, ""),
])
def test_each_signer_checks_what_kube_controller_managers_does(signer, usages, subject, sans, why):
    assert refusal(signer, usages, subject, sans) == why


def csr(tmp_path, subject: str) -> bytes:
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(tmp_path / "k"), "-out", str(tmp_path / "r"), "-subj", subject],
                   check=True, capture_output=True)
    return (tmp_path / "r").read_bytes()


def test_an_approved_request_is_signed_by_the_cluster_ca_with_its_usages(tmp_path):
    pki = make_pki("c", [], ["x"])
    (tmp_path / "ca.crt").write_bytes(pki.ca_cert)
    (tmp_path / "ca.key").write_bytes(pki.ca_key)
    obj = {"spec": {"signerName": CLIENT, "request": base64.b64encode(csr(tmp_path, "/CN=ann/O=dev")).decode(),
                    "usages": ["digital signature", "client auth"], "expirationSeconds": 600},
           "status": {"conditions": [{"type": "Approved", "status": "True"}]}}
    assert csr_signer.issue({**obj, "status": {}}, str(tmp_path)) is None  # pending: not signed
    status = csr_signer.issue(obj, str(tmp_path))
    assert status is not None and status["conditions"] == obj["status"]["conditions"]
    (tmp_path / "ann.crt").write_bytes(base64.b64decode(status["certificate"]))
    verify = subprocess.run(["openssl", "verify", "-CAfile", str(tmp_path / "ca.crt"), str(tmp_path / "ann.crt")],
                            capture_output=True, text=True)
    assert verify.returncode == 0, verify.stderr
    text = subprocess.run(["openssl", "x509", "-in", str(tmp_path / "ann.crt"), "-noout", "-text"],
                          capture_output=True, text=True, check=True).stdout
    assert "Subject: CN = ann, O = dev" in text and "TLS Web Client Authentication" in text
    assert "Digital Signature" in text and "CA:FALSE" in text
    refused = csr_signer.issue({**obj, "spec": {**obj["spec"], "usages": ["server auth"]}}, str(tmp_path))
    assert refused is not None and refused["conditions"][-1] == {
        "type": "Failed", "status": "True", "reason": "SignerValidationFailure",
        "message": "invalid usage for client certificate: server auth"}


def test_a_client_certificate_names_the_user_and_its_groups():
    peer = {"subject": ((("organizationName", "dev"),), (("organizationName", "ops"),), (("commonName", "ann"),))}
    user = certificate_user(peer)
    assert user is not None and (user.name, user.groups) == ("ann", ("dev", "ops", "system:authenticated"))
    assert certificate_user({}) is None and certificate_user(None) is None
