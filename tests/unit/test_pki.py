"""The cluster PKI: certificate contents, a real TLS handshake against it, file round trip."""
import ipaddress
import socket
import ssl
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from emukube.lifecycle.pki import ClusterPKI, make_pki, pki_files, pki_from_files

IPS = ["127.0.0.1", "172.30.0.2", "10.96.0.1"]
NAMES = ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
         "kubernetes.default.svc.cluster.local"]


@pytest.fixture(scope="module")
def pki() -> ClusterPKI:
    return make_pki("demo", IPS, NAMES)


def test_ca_is_a_ca(pki):
    ca = x509.load_pem_x509_certificate(pki.ca_cert)
    assert ca.subject.rfc4514_string() == "CN=emukube-demo-ca"
    assert ca.issuer == ca.subject
    bc = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca
    ku = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.key_cert_sign
    lifetime = ca.not_valid_after_utc - ca.not_valid_before_utc
    assert lifetime.days >= 365 * 10
    assert isinstance(ca.public_key(), ec.EllipticCurvePublicKey)
    assert ca.public_key().curve.name == "secp256r1"


def test_serving_cert_names_and_usages(pki):
    cert = x509.load_pem_x509_certificate(pki.server_cert)
    ca = x509.load_pem_x509_certificate(pki.ca_cert)
    assert cert.issuer == ca.subject
    cert.verify_directly_issued_by(ca)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address(i) for i in IPS]
    assert sans.get_values_for_type(x509.DNSName) == NAMES
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in eku
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_token_is_32_random_urlsafe_bytes(pki):
    other = make_pki("demo", IPS, NAMES)
    assert len(pki.token) == 43  # base64url of 32 bytes, unpadded
    assert set(pki.token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert other.token != pki.token and other.ca_cert != pki.ca_cert


def test_duplicate_sans_dropped_and_none_refused():
    p = make_pki("x", ["127.0.0.1", "127.0.0.1"], ["localhost"])
    cert = x509.load_pem_x509_certificate(p.server_cert)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert len(sans) == 2
    with pytest.raises(ValueError):
        make_pki("x", [], [])


def test_files_round_trip(pki):
    files = pki_files(pki)
    assert sorted(files) == ["pki/apiserver.crt", "pki/apiserver.key", "pki/ca.crt",
                             "pki/ca.key", "pki/sa.key", "pki/sa.pub", "pki/tokens"]
    assert files["pki/tokens"] == (pki.token + "\n").encode()
    assert files["pki/ca.crt"].startswith(b"-----BEGIN CERTIFICATE-----")
    assert files["pki/apiserver.key"].startswith(b"-----BEGIN PRIVATE KEY-----")
    # kubeadm's sa.key and sa.pub: RSA 2048 in PKCS#1, its public half as a PUBLIC KEY
    assert files["pki/sa.key"].startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    sa = serialization.load_pem_private_key(files["pki/sa.key"], password=None)
    assert isinstance(sa, rsa.RSAPrivateKey) and sa.key_size == 2048
    assert serialization.load_pem_public_key(files["pki/sa.pub"]).public_numbers() == sa.public_key().public_numbers()
    assert pki_from_files(files) == pki
    older = pki_from_files({k: v for k, v in files.items() if not k.startswith("pki/sa.")})
    assert older.sa_key == b"" and "pki/sa.key" not in pki_files(older)  # a volume an older emukube made


def test_files_checked(pki):
    files = pki_files(pki)
    with pytest.raises(ValueError, match="missing pki/tokens"):
        pki_from_files({k: v for k, v in files.items() if k != "pki/tokens"})
    other = pki_files(make_pki("other", IPS, NAMES))
    with pytest.raises(ValueError, match="does not belong"):
        pki_from_files({**files, "pki/apiserver.key": other["pki/apiserver.key"]})
    with pytest.raises(ValueError, match="not issued by"):
        pki_from_files({**files, "pki/ca.crt": other["pki/ca.crt"]})


def _serve_once(pki: ClusterPKI, tmp_path) -> tuple[int, threading.Thread]:
    """A TLS server on loopback presenting the serving cert; answers one connection."""
    (tmp_path / "crt").write_bytes(pki.server_cert)
    (tmp_path / "key").write_bytes(pki.server_key)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tmp_path / "crt", tmp_path / "key")
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def run():
        with listener:
            conn, _ = listener.accept()
            try:
                with ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.sendall(b"hello " + tls.recv(16))
            except (ssl.SSLError, OSError):
                pass  # the client refused the certificate: the test side says why

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return port, thread


def _client(ca_pem: bytes) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cadata=ca_pem.decode())
    # What Python 3.13 turns on by default: RFC 5280 strictness (critical CA basicConstraints,
    # key identifiers, ...). Passing it here keeps the certs good for newer clients too.
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    return ctx


@pytest.mark.parametrize("server_name", ["127.0.0.1", "localhost", "kubernetes.default.svc",
                                         "10.96.0.1"])
def test_real_handshake_verifies(pki, tmp_path, server_name):
    port, thread = _serve_once(pki, tmp_path)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with _client(pki.ca_cert).wrap_socket(raw, server_hostname=server_name) as tls:
            tls.sendall(b"world")
            assert tls.recv(64) == b"hello world"
            assert tls.getpeercert()["subject"] == ((("commonName", "kube-apiserver"),),)
    thread.join(5)


def test_handshake_fails_for_unlisted_name_and_foreign_ca(pki, tmp_path):
    port, thread = _serve_once(pki, tmp_path)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
            _client(pki.ca_cert).wrap_socket(raw, server_hostname="example.com")
    thread.join(5)
    port, thread = _serve_once(pki, tmp_path)
    foreign = make_pki("other", IPS, NAMES)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer"):
            _client(foreign.ca_cert).wrap_socket(raw, server_hostname="127.0.0.1")
    thread.join(5)
