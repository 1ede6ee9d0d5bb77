"""A normal user as the Kubernetes docs make one ("Certificates and Certificate Signing Requests"):
openssl's key and CSR, a CertificateSigningRequest, `kubectl certificate approve`, the certificate
the cluster's CA signs, a Role for the user, and kubectl with that certificate in its kubeconfig
acting as the user, refused what RBAC does not grant."""

from __future__ import annotations

import base64
import json
import subprocess

import pytest
import yaml
from conftest import HERE, wait_until
from kubectl_tools import Kube

MANIFEST = HERE / "manifests" / "incluster.yaml"  # any small cluster


@pytest.fixture(scope="module")
def kube(cluster, tmp_path_factory) -> Kube:
    return Kube(cluster.name, tmp_path_factory.mktemp("kube"))


def openssl(*args: str, cwd) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def request(kube: Kube, name: str, csr: bytes, usages: list[str], seconds: int = 86400) -> None:
    kube("apply", "-f", "-", input=json.dumps({
        "apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest", "metadata": {"name": name},
        "spec": {"request": base64.b64encode(csr).decode(), "signerName": "kubernetes.io/kube-apiserver-client",
                 "expirationSeconds": seconds, "usages": usages}}))


def condition(kube: Kube, name: str) -> list[str]:
    rows = [line.split() for line in kube.lines("get", "csr", name)]
    assert rows[0] == ["NAME", "AGE", "SIGNERNAME", "REQUESTOR", "REQUESTEDDURATION", "CONDITION"], rows
    return rows[1]


def test_a_user_with_a_signed_certificate_acts_within_their_role(kube, tmp_path):
    openssl("genrsa", "-out", "myuser.key", "2048", cwd=tmp_path)
    openssl("req", "-new", "-key", "myuser.key", "-out", "myuser.csr", "-subj", "/CN=myuser/O=developers",
            cwd=tmp_path)
    request(kube, "myuser", (tmp_path / "myuser.csr").read_bytes(), ["client auth"])
    row = condition(kube, "myuser")
    assert row[2:] == ["kubernetes.io/kube-apiserver-client", "kubernetes-admin", "24h", "Pending"], row
    spec = kube.obj("get", "csr", "myuser")["spec"]
    assert spec["username"] == "kubernetes-admin" and "system:masters" in spec["groups"]

    kube("certificate", "approve", "myuser")
    assert condition(kube, "myuser")[-1] == "Approved,Issued"
    cert = base64.b64decode(kube("get", "csr", "myuser", "-o", "jsonpath={.status.certificate}").stdout)
    (tmp_path / "myuser.crt").write_bytes(cert)
    approved = kube.obj("get", "csr", "myuser")["status"]["conditions"][0]
    assert (approved["type"], approved["reason"]) == ("Approved", "KubectlApprove")

    kube("create", "role", "developer", "--verb=create", "--verb=get", "--verb=list", "--verb=update",
         "--verb=delete", "--resource=pods")
    kube("create", "rolebinding", "developer-binding-myuser", "--role=developer", "--user=myuser")
    kube("config", "set-credentials", "myuser", f"--client-key={tmp_path / 'myuser.key'}",
         f"--client-certificate={tmp_path / 'myuser.crt'}", "--embed-certs=true")
    cluster = yaml.safe_load(kube.config.read_text())["clusters"][0]["name"]
    kube("config", "set-context", "myuser", f"--cluster={cluster}", "--user=myuser")

    who = kube("auth", "whoami", "--context=myuser").stdout
    assert "myuser" in who and "developers" in who and "system:authenticated" in who, who
    kube("run", "mine", "--image=emukube/echo:1.0", "--context=myuser")
    assert kube("get", "pods", "--context=myuser").stdout.splitlines()[0].split()[0] == "NAME"
    refused = kube("get", "services", "--context=myuser", check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip() == ('Error from server (Forbidden): services is forbidden: User "myuser" cannot '
                                      'list resource "services" in API group "" in the namespace "default"'), \
        refused.stderr


def test_a_denied_request_gets_no_certificate(kube, tmp_path):
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "k.pem",
            "-out", "r.csr", "-subj", "/CN=mallory", cwd=tmp_path)
    request(kube, "mallory", (tmp_path / "r.csr").read_bytes(), ["client auth"], seconds=3600)
    kube("certificate", "deny", "mallory")
    wait_until(lambda: condition(kube, "mallory")[-1] == "Denied", "the Denied condition")
    assert condition(kube, "mallory")[4] == "60m"
    assert "certificate" not in kube.obj("get", "csr", "mallory")["status"]


def test_the_signer_fails_usages_a_client_certificate_may_not_have(kube, tmp_path):
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "k.pem",
            "-out", "s.csr", "-subj", "/CN=server", cwd=tmp_path)
    request(kube, "server", (tmp_path / "s.csr").read_bytes(), ["digital signature", "server auth"])
    kube("certificate", "approve", "server")
    assert condition(kube, "server")[-1] == "Approved,Failed"
    failed = kube.obj("get", "csr", "server")["status"]["conditions"][-1]
    assert (failed["type"], failed["reason"], failed["message"]) == (
        "Failed", "SignerValidationFailure", "invalid usage for client certificate: server auth")
