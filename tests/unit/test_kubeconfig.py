"""The kubeconfig merge/remove: kind's conventions, locking, atomic writes, kubectl's layout."""
import base64
import http.server
import json
import multiprocessing
import os
import ssl
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from emukube.lifecycle import kubeconfig as kc

CA = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

# A kubeconfig as kubectl writes one, with entries and keys emukube knows nothing of.
OTHER = """\
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: QUJD
    server: https://10.0.0.1:6443
  name: kind-kind
contexts:
- context:
    cluster: kind-kind
    namespace: shop
    user: kind-kind
  name: kind-kind
current-context: kind-kind
extensions:
- extension:
    last-update: "2024-01-01"
  name: some-tool
kind: Config
preferences:
  colors: true
users:
- name: kind-kind
  user:
    client-certificate-data: REVG
    client-key-data: R0hJ
    password: it's
    token: "123"
    username: "yes"
"""


def _cfg(cluster="demo", port=6443, token="t0k"):
    return kc.render(cluster, f"https://127.0.0.1:{port}", CA, token)


def _load(path):
    return yaml.safe_load(path.read_text())


def _names(doc, section):
    return [e["name"] for e in doc.get(section) or []]


def test_render_shape():
    cfg = _cfg()
    assert cfg["current-context"] == "emukube-demo"
    assert cfg["clusters"] == [{"name": "emukube-demo", "cluster": {
        "server": "https://127.0.0.1:6443",
        "certificate-authority-data": base64.b64encode(CA).decode()}}]
    assert cfg["users"] == [{"name": "emukube-demo", "user": {"token": "t0k"}}]
    assert cfg["contexts"] == [{"name": "emukube-demo",
                                "context": {"cluster": "emukube-demo", "user": "emukube-demo"}}]


def test_dump_is_kubectls_layout():
    text = kc.dump(_cfg())
    assert text.startswith(
        "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: ")
    assert "\ncurrent-context: emukube-demo\nkind: Config\nusers:\n" in text
    assert kc.dump(yaml.safe_load(OTHER)) == OTHER
    assert kc.dump({}) == ""
    long = {"a": "x" * 500 + " " + "y" * 500}
    assert kc.dump(long).count("\n") == 1  # never wrapped
    shared = {"k": 1}
    assert "&" not in kc.dump({"a": shared, "b": shared})  # no anchors


def test_merge_into_missing_file_creates_dir_and_0600(tmp_path):
    path = tmp_path / "deep" / ".kube" / "config"
    kc.merge(path, _cfg(), make_current=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert _load(path) == _cfg()
    assert not (tmp_path / "deep" / ".kube" / "config.lock").exists()
    assert os.listdir(path.parent) == ["config"]  # no temporary left


def test_merge_keeps_others_byte_for_byte(tmp_path):
    path = tmp_path / "config"
    path.write_text(OTHER)
    kc.merge(path, _cfg(), make_current=False)
    doc = _load(path)
    assert _names(doc, "clusters") == ["kind-kind", "emukube-demo"]
    assert _names(doc, "users") == ["kind-kind", "emukube-demo"]
    assert _names(doc, "contexts") == ["kind-kind", "emukube-demo"]
    assert doc["current-context"] == "kind-kind"
    other = yaml.safe_load(OTHER)
    for key in ("extensions", "preferences", "apiVersion", "kind"):
        assert doc[key] == other[key]
    for section in kc.SECTIONS:
        assert doc[section][0] == other[section][0]
    kc.remove(path, "demo")
    assert path.read_text() == OTHER


def test_merge_replaces_same_name_in_place(tmp_path):
    path = tmp_path / "config"
    path.write_text(OTHER)
    kc.merge(path, _cfg(port=1111, token="old"), make_current=True)
    kc.merge(path, _cfg("second", port=3333), make_current=False)
    kc.merge(path, _cfg(port=2222, token="new"), make_current=False)
    doc = _load(path)
    assert _names(doc, "clusters") == ["kind-kind", "emukube-demo", "emukube-second"]
    assert doc["clusters"][1]["cluster"]["server"] == "https://127.0.0.1:2222"
    assert doc["users"][1]["user"] == {"token": "new"}
    assert doc["current-context"] == "emukube-demo"


def test_remove_exactly_ours_and_current_context(tmp_path):
    path = tmp_path / "config"
    path.write_text(OTHER)
    kc.merge(path, _cfg("a"), make_current=False)
    kc.merge(path, _cfg("b"), make_current=True)
    kc.remove(path, "a")
    doc = _load(path)
    assert _names(doc, "clusters") == ["kind-kind", "emukube-b"]
    assert doc["current-context"] == "emukube-b"  # not a's: left alone
    kc.remove(path, "b")
    doc = _load(path)
    assert "current-context" not in doc
    assert _names(doc, "users") == ["kind-kind"]
    before = path.read_text()
    kc.remove(path, "b")  # nothing left to remove: file untouched
    assert path.read_text() == before
    kc.remove(tmp_path / "missing", "b")
    assert not (tmp_path / "missing").exists()


def test_remove_leaves_a_same_named_user_of_another_cluster(tmp_path):
    path = tmp_path / "config"
    kc.merge(path, _cfg("demo-2"), make_current=False)
    kc.merge(path, _cfg("demo"), make_current=False)
    kc.remove(path, "demo")
    assert _names(_load(path), "contexts") == ["emukube-demo-2"]


def test_merge_into_file_without_header_or_empty(tmp_path):
    path = tmp_path / "config"
    path.write_text("")
    kc.merge(path, _cfg(), make_current=False)
    doc = _load(path)
    assert doc["apiVersion"] == "v1" and doc["kind"] == "Config"
    assert "current-context" not in doc
    path.write_text("- not a mapping\n")
    with pytest.raises(ValueError, match="not a kubeconfig"):
        kc.merge(path, _cfg(), make_current=False)
    path.write_text("clusters: [\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        kc.merge(path, _cfg(), make_current=False)
    assert path.read_text() == "clusters: [\n"  # left as it was


def test_merge_through_symlink_keeps_link(tmp_path):
    real = tmp_path / "real-config"
    real.write_text(OTHER)
    link = tmp_path / "config"
    link.symlink_to(real)
    kc.merge(link, _cfg(), make_current=False)
    assert link.is_symlink()
    assert "emukube-demo" in _names(_load(real), "clusters")


def _merge_one(args):
    path, i = args
    kc.merge(path, _cfg(f"c{i}", port=7000 + i), make_current=i % 2 == 0)


def test_concurrent_merges_from_8_processes(tmp_path):
    path = tmp_path / "config"
    path.write_text(OTHER)
    ctx = multiprocessing.get_context("fork")
    for _ in range(3):  # a few rounds: each replaces the previous round's entries
        with ctx.Pool(8) as pool:
            pool.map(_merge_one, [(path, i) for i in range(8)])
    doc = _load(path)
    want = ["kind-kind"] + sorted(f"emukube-c{i}" for i in range(8))
    for section in kc.SECTIONS:
        assert sorted(_names(doc, section)) == sorted(want)
        assert len(_names(doc, section)) == 9
    assert not (tmp_path / "config.lock").exists()


def test_foreign_lock_waited_for_then_taken_as_stale(tmp_path, monkeypatch):
    monkeypatch.setattr(kc, "FOREIGN_LOCK_STALE", 0.3)
    path = tmp_path / "config"
    (tmp_path / "config.lock").write_text("")  # as kubectl leaves it (or a crash)
    start = time.monotonic()
    kc.merge(path, _cfg(), make_current=True)
    assert time.monotonic() - start >= 0.3
    assert not (tmp_path / "config.lock").exists()
    assert _load(path)["current-context"] == "emukube-demo"


def test_paths_explicit_env_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    assert kc.default_path() == tmp_path / ".kube" / "config"
    assert kc.default_path("~/x") == tmp_path / "x"
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path}/only")
    assert kc.default_path() == tmp_path / "only"
    assert kc.default_path(str(tmp_path / "flag")) == tmp_path / "flag"


def test_paths_several_in_kubeconfig_as_kind(tmp_path, monkeypatch):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join(["", str(a), str(b), str(a), str(c)]))
    assert kc.search_paths() == [a, b, c]
    assert kc.default_path() == c  # none exists: the last one
    b.write_text(OTHER)
    assert kc.default_path() == b  # the first that exists
    a.write_text(OTHER)
    assert kc.default_path() == a


# The real kubectl (scripts/ensure-kubectl.sh puts it beside the venv's python): it must read
# what merge writes, write it back the same, and trust the cluster's certificate (Go's TLS).
KUBECTL = Path(sys.executable).parent / "kubectl"
def _kubectl(path, *args, **kw):
    # Provided by `make setup`: a missing kubectl fails these tests, it never skips them.
    assert KUBECTL.exists(), f"{KUBECTL} is missing: run scripts/ensure-kubectl.sh (part of make setup)"
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(path.parent), "KUBECONFIG": str(path)}
    return subprocess.run([str(KUBECTL), *args], env=env, capture_output=True, text=True,
                          timeout=60, **kw)


def test_kubectl_reads_and_writes_the_same_bytes(tmp_path):
    path = tmp_path / "config"
    kc.merge(path, _cfg("a"), make_current=False)
    kc.merge(path, _cfg("b"), make_current=True)
    out = _kubectl(path, "config", "view", "--raw")
    assert out.returncode == 0, out.stderr
    assert out.stdout == path.read_text()
    assert _kubectl(path, "config", "current-context").stdout == "emukube-b\n"
    # kubectl rewriting the file (here: a namespace on our context) changes nothing else.
    before = path.read_text()
    assert _kubectl(path, "config", "set-context", "emukube-a", "--namespace=x").returncode == 0
    assert path.read_text() == before.replace(
        "    cluster: emukube-a\n", "    cluster: emukube-a\n    namespace: x\n")


class _Version(http.server.BaseHTTPRequestHandler):
    seen: list = []

    def do_GET(self):
        self.seen.append((self.path, self.headers.get("Authorization")))
        body = json.dumps({"major": "1", "minor": "35", "gitVersion": "v1.35.0-emukube"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("tls_name", [None, "kubernetes.default.svc", "localhost"])
def test_kubectl_trusts_the_cluster_cert_and_sends_the_token(tmp_path, tls_name):
    from emukube.lifecycle.pki import make_pki

    pki = make_pki("demo", ["127.0.0.1", "10.96.0.1"],
                   ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                    "kubernetes.default.svc.cluster.local"])
    (tmp_path / "crt").write_bytes(pki.server_cert)
    (tmp_path / "key").write_bytes(pki.server_key)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tmp_path / "crt", tmp_path / "key")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Version)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Version.seen = []
    try:
        path = tmp_path / "config"
        kc.merge(path, kc.render("demo", f"https://127.0.0.1:{server.server_port}",
                                 pki.ca_cert, pki.token), make_current=True)
        extra = ["--tls-server-name", tls_name] if tls_name else []
        out = _kubectl(path, *extra, "get", "--raw", "/version")
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["gitVersion"] == "v1.35.0-emukube"
        assert ("/version", f"Bearer {pki.token}") in _Version.seen
        # Another cluster's CA is refused by Go's verifier.
        foreign = make_pki("other", ["127.0.0.1"], ["localhost"])
        kc.merge(path, kc.render("demo", f"https://127.0.0.1:{server.server_port}",
                                 foreign.ca_cert, pki.token), make_current=True)
        out = _kubectl(path, "get", "--raw", "/version")
        assert out.returncode != 0 and "certificate signed by unknown authority" in out.stderr
    finally:
        server.shutdown()
        server.server_close()


def test_credentials_of_an_entry_up_merged(tmp_path):
    path = tmp_path / "config"
    path.write_text(OTHER)
    kc.merge(path, kc.render("shop", "https://127.0.0.1:40123", CA, "tok"), make_current=False)
    creds = kc.credentials("shop", path)
    assert (creds.server, creds.ca_pem, creds.token) == ("https://127.0.0.1:40123", CA, "tok")
    assert kc.credentials("other", path) is None  # no entry of that name
    assert kc.credentials("shop", tmp_path / "missing") is None


@pytest.mark.parametrize("broken", [
    {"certificate-authority-data": "not base64!"},
    {"certificate-authority-data": ""},
    {"server": None},
])
def test_credentials_of_an_entry_of_another_shape_are_none(tmp_path, broken):
    cfg = kc.render("shop", "https://127.0.0.1:40123", CA, "tok")
    cfg["clusters"][0]["cluster"].update(broken)
    path = tmp_path / "config"
    kc.merge(path, cfg, make_current=True)
    assert kc.credentials("shop", path) is None
