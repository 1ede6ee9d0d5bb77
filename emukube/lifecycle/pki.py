"""Certificates and the bearer token of a cluster's API server, made on the host at `up`.

One CA per cluster (so trusting one cluster's CA never trusts another's), and a serving
certificate signed by it for every name a client may dial: 127.0.0.1 and localhost (kubectl on
the host, through the published port), the controller's in-cluster IP, the `kubernetes` Service
names and the first Service IP (pods using the in-cluster config).

Keys are ECDSA P-256 rather than RSA 2048: generating one takes well under a millisecond instead
of tens (it happens on every `up`), handshakes are cheaper, and every client that matters takes
them (Go's crypto/tls in kubectl/helm, OpenSSL under Python's ssl and the kubernetes client);
kubeadm offers the same choice ("ECDSA-P256"). The ServiceAccount tokens' key (sa.key) is RSA
2048 all the same, as kubeadm's: verifiers of those tokens (Vault, cloud identity federation)
expect RS256. It is made in a thread of `up` while the engine starts the controller.

The extensions are the ones strict verifiers want: Go's x509 reads only SubjectAltName (never the
CN) and checks the serverAuth EKU; OpenSSL with X509_STRICT (Python 3.13's default context) also
wants a critical basicConstraints CA on the CA, keyCertSign on it, and the key identifiers.
Host-side: the controller's image has `cryptography` only for the tokens (sa_tokens.py).
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import secrets
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..apiserver.sa_tokens import new_key_pair, public_pem

CA_YEARS = 10
# emukube never rotates certificates, so the serving certificate lives as long as its CA
# (kubeadm gives one year because it renews them); a cluster kept up for years keeps working.
SERVING_YEARS = CA_YEARS
# Backdated a little, as kubeadm does, so a client whose clock lags slightly still accepts it.
BACKDATE = dt.timedelta(minutes=5)
TOKEN_BYTES = 32

FILES = ("pki/ca.crt", "pki/ca.key", "pki/apiserver.crt", "pki/apiserver.key", "pki/tokens")


@dataclass
class ClusterPKI:
    ca_cert: bytes      # PEM
    ca_key: bytes       # PEM (PKCS#8)
    server_cert: bytes  # PEM
    server_key: bytes   # PEM (PKCS#8)
    token: str          # bearer token kubectl sends
    sa_key: bytes = b""  # PEM (PKCS#1, as kubeadm's sa.key): signs ServiceAccount tokens
    sa_pub: bytes = b""  # its public half (PEM), when made with it


def make_pki(cluster: str, sans_ips: list[str], sans_dns: list[str]) -> ClusterPKI:
    """A fresh CA and serving certificate for `cluster`, and a random bearer token.

    `sans_ips`/`sans_dns` are every address and name the server answers on (the caller passes
    127.0.0.1, localhost, the controller's IP, the kubernetes.default... names, the first Service
    IP); duplicates are dropped, order is kept."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"emukube-{cluster}-ca")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        _builder(ca_name, ca_name, ca_key.public_key(), now, CA_YEARS)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")])
    cert = (
        _builder(subject, ca_name, key.public_key(), now, SERVING_YEARS)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(_sans(sans_ips, sans_dns), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    sa_key, sa_pub = new_key_pair()
    return ClusterPKI(
        ca_cert=ca_cert.public_bytes(serialization.Encoding.PEM),
        ca_key=_key_pem(ca_key),
        server_cert=cert.public_bytes(serialization.Encoding.PEM),
        server_key=_key_pem(key),
        token=secrets.token_urlsafe(TOKEN_BYTES),
        sa_key=sa_key, sa_pub=sa_pub,
    )


def _builder(subject: x509.Name, issuer: x509.Name, public_key, now: dt.datetime,
             years: int) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + dt.timedelta(days=365 * years))
    )


def _key_usage(cert_sign: bool) -> x509.KeyUsage:
    # An ECDSA serving key signs the handshake (digitalSignature); keyEncipherment is an RSA
    # key-exchange thing and is left out. The CA signs certificates only.
    return x509.KeyUsage(
        digital_signature=not cert_sign, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=cert_sign,
        crl_sign=cert_sign, encipher_only=False, decipher_only=False,
    )


def _sans(ips: list[str], names: list[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for ip in dict.fromkeys(ips):
        entries.append(x509.IPAddress(ipaddress.ip_address(ip)))
    for name in dict.fromkeys(names):
        entries.append(x509.DNSName(name))
    if not entries:
        raise ValueError("a serving certificate needs at least one IP address or DNS name")
    return x509.SubjectAlternativeName(entries)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def pki_files(p: ClusterPKI) -> dict[str, bytes]:
    """The files the API server reads, by their path under the cluster's state directory."""
    return {
        "pki/ca.crt": p.ca_cert,
        "pki/ca.key": p.ca_key,
        "pki/apiserver.crt": p.server_cert,
        "pki/apiserver.key": p.server_key,
        "pki/tokens": (p.token + "\n").encode(),
        **({"pki/sa.key": p.sa_key, "pki/sa.pub": p.sa_pub or public_pem(p.sa_key)} if p.sa_key else {}),
    }


def pki_from_files(files: dict[str, bytes]) -> ClusterPKI:
    """The inverse of pki_files; checks that each file parses and the serving key is its cert's."""
    missing = [name for name in FILES if name not in files]
    if missing:
        raise ValueError(f"cluster PKI incomplete: missing {', '.join(missing)}")
    ca = x509.load_pem_x509_certificate(files["pki/ca.crt"])
    server = x509.load_pem_x509_certificate(files["pki/apiserver.crt"])
    serialization.load_pem_private_key(files["pki/ca.key"], password=None)
    key = serialization.load_pem_private_key(files["pki/apiserver.key"], password=None)
    if _spki(key.public_key()) != _spki(server.public_key()):
        raise ValueError("pki/apiserver.key does not belong to pki/apiserver.crt")
    if server.issuer != ca.subject:
        raise ValueError("pki/apiserver.crt is not issued by pki/ca.crt")
    # The tokens file may one day grow kube-apiserver's CSV form (token,user,uid,...): the
    # token is the first field of the first non-empty line either way.
    lines = [line.strip() for line in files["pki/tokens"].decode().splitlines() if line.strip()]
    if not lines:
        raise ValueError("pki/tokens holds no token")
    return ClusterPKI(
        ca_cert=files["pki/ca.crt"], ca_key=files["pki/ca.key"],
        server_cert=files["pki/apiserver.crt"], server_key=files["pki/apiserver.key"],
        token=lines[0].split(",")[0],
        sa_key=files.get("pki/sa.key", b""),  # absent from the state volumes older emukubes made
        sa_pub=files.get("pki/sa.pub", b""),
    )


def _spki(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)
