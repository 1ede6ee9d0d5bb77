"""Protobuf request bodies as the real kubectl 1.35 sends them, decoded into the JSON it would send.

The fixtures in fixtures/protobuf/ are bodies captured from kubectl (a loopback HTTP server that
answers discovery and records POSTs) next to `--dry-run=client -o json` of the same command;
`python tests/unit/test_protobuf.py` captures them again. The .proto files come from
scripts/ensure-protos.sh (setup runs it): without them these tests fail, they do not skip."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from protobuf_wire import envelope  # noqa: F401
from protobuf_wire import field_bytes as _len
from protobuf_wire import field_int as _int
from protobuf_wire import varint as _varint

from emukube.apiserver import protobuf

FIXTURES = Path(__file__).parent / "fixtures" / "protobuf"
KUBECTL = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "kubectl"
BLOB = bytes(range(256)) + b"\xff\xfe binary, not UTF-8"

# name -> kubectl arguments; every one of these sends protobuf except `run` (its client is dynamic).
COMMANDS = {
    "deployment": ["create", "deployment", "web", "--image=nginx:1", "--replicas=3", "--port=80"],
    "deployment-zero": ["create", "deployment", "zero", "--image=nginx:1", "--replicas=0"],
    "service-nodeport": ["create", "service", "nodeport", "web", "--tcp=80:8080"],
    "service-clusterip": ["create", "service", "clusterip", "cip", "--tcp=80:http", "--tcp=53:5353"],
    "secret": ["create", "secret", "generic", "s", "--from-literal=a=b"],
    "secret-binary": ["create", "secret", "generic", "sb", "--from-file=blob={blob}", "--type=Opaque"],
    "configmap": ["create", "configmap", "c", "--from-literal=x=y"],
    "configmap-binary": ["create", "configmap", "bin", "--from-file=blob={blob}", "--from-literal=k=v"],
    "namespace": ["create", "namespace", "ns1"],
    "role": ["create", "role", "r", "--verb=get", "--resource=pods"],
    # The Job copies the served CronJob's template: probes, volumes, quantities, timestamps, managedFields.
    "job-from-cronjob": ["create", "job", "jx", "--from=cronjob/cj"],
    "run": ["run", "p", "--image=busybox", "--restart=Never", "--labels=a=b", "--", "sleep", "1"],
}
SENDS_JSON = {"run"}


@pytest.fixture(scope="module")
def protos() -> str:
    root = protobuf.default_dir()
    core = os.path.join(root, "k8s.io", "api", "core", "v1")
    if not (os.path.isfile(os.path.join(core, "generated.proto")) and os.path.isfile(os.path.join(core, "types.go"))):
        pytest.fail(f"the Kubernetes .proto files are missing at {root}: run scripts/ensure-protos.sh "
                    "(scripts/setup.sh does)", pytrace=False)
    return root


def fixture_names() -> list[str]:
    return sorted(p.stem for p in FIXTURES.glob("*.bin"))


# ---- what kubectl sent, decoded ------------------------------------------------------------------------

@pytest.mark.parametrize("name", fixture_names())
def test_captured_body_decodes_to_the_json_kubectl_sends(protos, name):
    body = (FIXTURES / f"{name}.bin").read_bytes()
    expected_text = (FIXTURES / f"{name}.json").read_text(encoding="utf-8")
    obj = protobuf.decode(body)
    assert obj == json.loads(expected_text)
    # Same keys in the same order too (Go writes struct fields in declaration order).
    assert json.dumps(obj, indent=4, ensure_ascii=False) == json.dumps(json.loads(expected_text), indent=4,
                                                                      ensure_ascii=False)


def test_the_fixtures_cover_what_matters():
    names = set(fixture_names())
    assert {"deployment", "service-nodeport", "secret", "configmap", "job-from-cronjob"} <= names
    for name in names:
        assert (FIXTURES / f"{name}.bin").read_bytes().startswith(protobuf.MAGIC), name


def test_go_rules_in_the_rich_job(protos):
    job = protobuf.decode((FIXTURES / "job-from-cronjob.bin").read_bytes())
    spec, pod = job["spec"], job["spec"]["template"]["spec"]
    assert spec["parallelism"] == 0 and spec["backoffLimit"] == 0  # pointers set to zero stay
    assert pod["terminationGracePeriodSeconds"] == 0 and pod["enableServiceLinks"] is False
    assert pod["volumes"][0] == {"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}}  # VolumeSource inlined
    main = pod["containers"][0]
    assert main["livenessProbe"]["httpGet"]["port"] == 8080  # ProbeHandler inlined, IntOrString as int
    assert main["readinessProbe"]["tcpSocket"]["port"] == "http"
    assert main["env"][0] == {"name": "A"}  # value "" dropped: omitempty
    assert main["ports"][1] == {"containerPort": 53, "protocol": "UDP"}  # hostPort 0 dropped
    assert main["resources"]["requests"] == {"cpu": "250m", "memory": "64Mi"}
    meta = job["spec"]["template"]["metadata"]
    assert meta["creationTimestamp"] == "2026-12-03T07:22:51Z"
    assert meta["managedFields"][0]["fieldsV1"] == {"f:metadata": {"f:labels": {".": {}, "f:app": {}}}}
    assert job["metadata"]["annotations"]["note"] == "grüße ✓"


def test_binary_data_is_base64(protos):
    import base64
    cm = protobuf.decode((FIXTURES / "configmap-binary.bin").read_bytes())
    assert base64.b64decode(cm["binaryData"]["blob"]) == BLOB and cm["data"] == {"k": "v"}
    secret = protobuf.decode((FIXTURES / "secret-binary.bin").read_bytes())
    assert base64.b64decode(secret["data"]["blob"]) == BLOB and secret["type"] == "Opaque"


# ---- hand-made bodies: kinds kubectl does not create ------------------------------------------------


def _meta(name: str) -> bytes:
    return _len(1, _len(1, name.encode()) + _len(2, b"") + _len(3, b"") + _int(7, 0) + _len(8, b""))


def test_lease_micro_times_and_pointer_zeros(protos):
    stamp = _int(1, 1796282571) + _int(2, 123456789)  # 2026-12-03T07:22:51.123456789Z
    spec = _len(1, b"node-a") + _int(2, 0) + _len(3, stamp) + _len(4, _int(1, 1796282571)) + _int(5, 0)
    obj = protobuf.decode(envelope("coordination.k8s.io/v1", "Lease", _meta("l") + _len(2, spec)))
    assert obj == {"kind": "Lease", "apiVersion": "coordination.k8s.io/v1", "metadata": {"name": "l"},
                   "spec": {"holderIdentity": "node-a", "leaseDurationSeconds": 0,
                            "acquireTime": "2026-12-03T07:22:51.123456Z", "renewTime": "2026-12-03T07:22:51.000000Z",
                            "leaseTransitions": 0}}


def test_event_zero_times_are_null_like_go(protos):
    raw = _meta("e") + _len(2, b"") + _len(7, b"Started") + _len(13, b"") + _len(14, b"") + _int(15, 0)
    obj = protobuf.decode(envelope("events.k8s.io/v1", "Event", raw))
    # eventTime has no omitempty; the deprecated Times have it, but omitempty never drops a struct.
    assert obj == {"kind": "Event", "apiVersion": "events.k8s.io/v1", "metadata": {"name": "e"},
                   "eventTime": None, "reason": "Started", "deprecatedFirstTimestamp": None,
                   "deprecatedLastTimestamp": None}


def test_controller_revision_raw_extension_is_embedded_json(protos):
    data = _len(1, b'{"spec":{"template":{"x":[1,2]}}}')
    obj = protobuf.decode(envelope("apps/v1", "ControllerRevision", _meta("cr") + _len(2, data) + _int(3, 0)))
    assert obj["data"] == {"spec": {"template": {"x": [1, 2]}}}
    assert obj["revision"] == 0  # `json:"revision"`: no omitempty, the zero stays


def test_negative_ints_and_packed_repeated(protos):
    # PodSecurityContext.supplementalGroups (repeated int64, 4) packed; runAsUser (2) = -1 as Go sends it.
    psc = _int(2, -1) + _len(4, _varint(1) + _varint(2) + _varint(300))
    pod_spec = _len(14, psc)
    obj = protobuf.decode(envelope("v1", "Pod", _meta("p") + _len(2, pod_spec)))
    assert obj["spec"]["securityContext"] == {"runAsUser": -1, "supplementalGroups": [1, 2, 300]}


def test_delete_options_resolve_to_meta_in_any_group(protos):
    raw = _int(1, 30) + _len(2, _len(1, b"uid-1")) + _len(4, b"Foreground") + _len(5, b"All")
    obj = protobuf.decode(envelope("apps/v1", "DeleteOptions", raw))
    assert obj == {"kind": "DeleteOptions", "apiVersion": "apps/v1", "gracePeriodSeconds": 30,
                   "preconditions": {"uid": "uid-1"}, "propagationPolicy": "Foreground", "dryRun": ["All"]}


def test_unknown_fields_are_skipped(protos):
    raw = _meta("c") + _len(2, _len(1, b"k") + _len(2, b"v")) + _len(99, b"from a newer version") + _int(98, 7)
    assert protobuf.decode(envelope("v1", "ConfigMap", raw))["data"] == {"k": "v"}


def test_json_raw_in_an_envelope(protos):
    body = envelope("v1", "ConfigMap", b'{"metadata":{"name":"j"}}', content_type=b"application/json")
    assert protobuf.decode(body) == {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "j"}}


@pytest.mark.parametrize("body, message", [
    (b"", "magic"),
    (b'{"kind":"ConfigMap"}', "magic"),
    (b"k8s\x00\xff\xff", "truncated varint"),
    (b"k8s\x00" + _varint(1 << 3 | 2) + _varint(50) + b"short", "truncated"),
    (b"k8s\x00" + _varint(1 << 3 | 3), "wire type 3"),
    (b"k8s\x00", "apiVersion/kind"),
    (envelope("v1", "NoSuchKind", b""), "no protobuf schema for v1 NoSuchKind"),
    (envelope("nosuch.example.com/v1", "Widget", b""), "no protobuf schema"),
    (envelope("v1", "ConfigMap", _int(1, 5)), "wire type 0 for a message"),
    (envelope("v1", "ConfigMap", _len(1, _int(1, 5))), "wire type 0 for a string"),
    (envelope("apps/v1", "ControllerRevision", _len(2, _len(1, b"{not json"))), "not JSON"),
    (protobuf.MAGIC + _len(1, _len(1, b"v1") + _len(2, b"ConfigMap")) + _len(3, b"gzip"), "content encoding"),
])
def test_garbage_is_a_value_error(protos, body, message):
    with pytest.raises(ValueError, match=message):
        protobuf.decode(body)




# ---- the parser, the Go tags and the directory, on a tree of their own ---------------------------------

DEMO_PROTO = '''
/* a block comment with message Fake { in it */
syntax = "proto2";
package k8s.io.api.demo.v1;  // trailing comment
import public "k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto";
option go_package = "k8s.io/api/demo/v1";

// Thing is a demo.
message Thing {
  optional .k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta metadata = 1;
  optional string name = 2;
  optional int32 count = 3 [default = 0];
  map<string, bytes> blobs = 4;
  repeated sint64 deltas = 5;
  optional Inner inner = 6;
  enum Mode { A = 0; B = 1; }
  optional Mode mode = 7;
  message Inner {
    option (x) = true;
    reserved 2;
    optional bool on = 1;
    optional Leaf leaf = 3;
    message Leaf { optional double ratio = 1; }
  }
  optional Inner.Leaf leaf = 8;
}

message Node {
  optional Node child = 1;
}
'''
DEMO_GO = '''package v1

type Thing struct {
	metav1.TypeMeta `json:",inline"`
	// a comment with `json:"x" protobuf:"bytes,9,opt,name=x"` in it
	metav1.ObjectMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`
	Name string `json:"name,omitempty" protobuf:"bytes,2,opt,name=name"`
	Count *int32 `json:"count,omitempty" protobuf:"varint,3,opt,name=count"`
	Blobs map[string][]byte `json:"blobs,omitempty" protobuf:"bytes,4,rep,name=blobs"`
	Deltas []int64 `json:"deltas" protobuf:"zigzag64,5,rep,name=deltas"`
	Inner `json:",inline" protobuf:"bytes,6,opt,name=inner"`
}
'''


def _demo_tree(tmp_path: Path, protos: str, with_go: bool) -> str:
    meta = Path(protos, "k8s.io/apimachinery/pkg/apis/meta/v1")
    for dep in ("apis/meta/v1", "runtime", "runtime/schema"):
        target = tmp_path / "k8s.io/apimachinery/pkg" / dep
        target.mkdir(parents=True)
        shutil.copy(Path(protos, "k8s.io/apimachinery/pkg", dep, "generated.proto"), target)
    shutil.copy(meta / "types.go", tmp_path / "k8s.io/apimachinery/pkg/apis/meta/v1")
    demo = tmp_path / "k8s.io/api/demo/v1"
    demo.mkdir(parents=True)
    (demo / "generated.proto").write_text(DEMO_PROTO)
    if with_go:
        (demo / "types.go").write_text(DEMO_GO)
    return str(tmp_path)


def _demo_body() -> bytes:
    leaf = _varint(1 << 3 | 1) + struct.pack("<d", 0.25)
    inner = _int(1, 0) + _len(3, leaf)
    blobs = _len(4, _len(1, b"k") + _len(2, b"\x00\x01")) + _len(4, _len(1, b"e"))  # "e": no value
    raw = (_meta("t") + _len(2, b"") + _int(3, 0) + blobs
           + _int(5, 3) + _int(5, 4) + _len(6, inner) + _int(7, 1) + _len(8, leaf))
    return envelope("demo/v1", "Thing", raw)


def test_without_go_tags_present_zero_values_stay(protos, tmp_path):
    root = _demo_tree(tmp_path, protos, with_go=False)
    obj = protobuf.decode(_demo_body(), root)
    assert obj == {"kind": "Thing", "apiVersion": "demo/v1", "metadata": {"name": "t"}, "name": "", "count": 0,
                   "blobs": {"k": "AAE=", "e": ""}, "deltas": [-2, 2], "inner": {"on": False, "leaf": {"ratio": 0.25}},
                   "mode": 1, "leaf": {"ratio": 0.25}}


def test_go_tags_drop_omitempty_zeros_keep_pointers_and_inline(protos, tmp_path):
    root = _demo_tree(tmp_path, protos, with_go=True)
    obj = protobuf.decode(_demo_body(), root)
    assert obj == {"kind": "Thing", "apiVersion": "demo/v1", "metadata": {"name": "t"}, "count": 0,
                   "blobs": {"k": "AAE=", "e": ""}, "deltas": [-2, 2], "on": False, "leaf": {"ratio": 0.25},
                   "mode": 1}
    assert list(obj)[2:5] == ["metadata", "count", "blobs"]


def test_deep_nesting_is_a_value_error(protos, tmp_path):
    root = _demo_tree(tmp_path, protos, with_go=False)
    raw = b""
    for _ in range(20):
        raw = _len(1, raw)
    assert protobuf.decode(envelope("demo/v1", "Node", raw), root)["child"]["child"]["child"]
    for _ in range(200):
        raw = _len(1, raw)
    with pytest.raises(ValueError, match="nested too deeply"):
        protobuf.decode(envelope("demo/v1", "Node", raw), root)


def test_files_are_parsed_lazily_and_once(protos, tmp_path):
    root = str(tmp_path / "copy")
    shutil.copytree(protos, root)
    protobuf.decode((FIXTURES / "configmap.bin").read_bytes(), root)
    loaded = {path for path, parsed in protobuf.schemas(root).files.items() if parsed is not None}
    assert "k8s.io/api/core/v1/generated.proto" in loaded
    assert "k8s.io/api/apps/v1/generated.proto" not in loaded
    first = protobuf.schemas(root).messages["k8s.io.api.core.v1.ConfigMap"]
    protobuf.decode((FIXTURES / "deployment.bin").read_bytes(), root)
    assert protobuf.schemas(root).messages["k8s.io.api.core.v1.ConfigMap"] is first


def test_directory_from_the_environment(protos, tmp_path, monkeypatch):
    monkeypatch.setenv("EMUKUBE_PROTOS", str(tmp_path / "nowhere"))
    assert protobuf.default_dir() == str(tmp_path / "nowhere")
    with pytest.raises(protobuf.MissingProtos, match="ensure-protos.sh"):
        protobuf.decode((FIXTURES / "configmap.bin").read_bytes())
    monkeypatch.setenv("EMUKUBE_PROTOS", protos)
    assert protobuf.decode((FIXTURES / "configmap.bin").read_bytes())["data"] == {"x": "y"}


def test_missing_package_file_says_so(protos, tmp_path):
    root = tmp_path / "partial"
    shutil.copytree(Path(protos, "k8s.io/apimachinery"), root / "k8s.io/apimachinery")
    shutil.copytree(Path(protos, "k8s.io/api/core"), root / "k8s.io/api/core")
    with pytest.raises(ValueError, match="no protobuf schema for apps/v1 Deployment"):
        protobuf.decode((FIXTURES / "deployment.bin").read_bytes(), str(root))


def test_bad_proto_text_is_reported():
    with pytest.raises(ValueError, match="expected '='"):
        protobuf.parse_proto("package a.b; message M { optional string x 1; }", "bad.proto")


# ---- the same, live from the real kubectl ----------------------------------------------------------------

def test_live_kubectl_bodies_decode_to_its_json(protos, tmp_path):
    assert KUBECTL.exists(), f"{KUBECTL} is missing: run scripts/ensure-kubectl.sh (part of make setup)"
    with KubectlCapture(tmp_path) as cap:
        for name in ("deployment", "service-nodeport", "secret", "configmap", "job-from-cronjob", "run"):
            content_type, body = cap.post_body(COMMANDS[name])
            expected = cap.client_json(COMMANDS[name])
            if name in SENDS_JSON:
                assert content_type == "application/json" and json.loads(body) == expected, name
            else:
                assert content_type == "application/vnd.kubernetes.protobuf", name
                assert protobuf.decode(body) == expected, name


class KubectlCapture:
    """A loopback API server just good enough for kubectl: discovery, GET of the CronJob, and POSTs,
    which it records and answers with a stub of the kind created."""

    RESOURCES = {"v1": [("pods", "Pod"), ("services", "Service"), ("configmaps", "ConfigMap"), ("secrets", "Secret"),
                        ("namespaces", "Namespace")],
                 "apps/v1": [("deployments", "Deployment")], "batch/v1": [("jobs", "Job"), ("cronjobs", "CronJob")],
                 "rbac.authorization.k8s.io/v1": [("roles", "Role")]}

    def __init__(self, work: Path):
        self.work, self.posts = Path(work), []
        (self.work / "blob").write_bytes(BLOB)

    def __enter__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        (self.work / "kubeconfig").write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "c",
            "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{self.server.server_address[1]}"}}],
            "users": [{"name": "u", "user": {"token": "t"}}],
            "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u", "namespace": "default"}}]}))
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def kubectl(self, args: list[str]) -> subprocess.CompletedProcess:
        args = [a.replace("{blob}", str(self.work / "blob")) for a in args]
        return subprocess.run([str(KUBECTL), "--kubeconfig", str(self.work / "kubeconfig"),
                               "--cache-dir", str(self.work / "cache"), *args],
                              capture_output=True, text=True, timeout=60)

    def post_body(self, args: list[str]) -> tuple[str, bytes]:
        self.posts.clear()
        result = self.kubectl(args)
        assert result.returncode == 0 and len(self.posts) == 1, (args, result.stderr, len(self.posts))
        return self.posts[0]

    def client_json(self, args: list[str]) -> dict:
        at = args.index("--") if "--" in args else len(args)  # flags before the container's command
        result = self.kubectl(args[:at] + ["--dry-run=client", "-o", "json"] + args[at:])
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def _handler(self):
        capture = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, code: int, obj: dict):
                data = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                found = capture.answer_get(self.path.split("?")[0])
                self.reply(200 if found else 404, found or {"kind": "Status", "apiVersion": "v1", "code": 404,
                                                            "status": "Failure", "reason": "NotFound"})

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                capture.posts.append((self.headers.get("Content-Type"), body))
                gv, kind = capture.kind_of(self.path.split("?")[0])
                self.reply(201, {"apiVersion": gv, "kind": kind, "metadata": {"name": "x", "namespace": "default"}})

        return Handler

    def answer_get(self, path: str) -> dict | None:
        if path == "/api":
            return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
        if path == "/apis":
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": gv.split("/")[0], "versions": [{"groupVersion": gv, "version": "v1"}],
                 "preferredVersion": {"groupVersion": gv, "version": "v1"}} for gv in self.RESOURCES if "/" in gv]}
        gv = "v1" if path == "/api/v1" else path[len("/apis/"):]
        if gv in self.RESOURCES:
            return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": [
                {"name": plural, "singularName": kind.lower(), "namespaced": kind != "Namespace", "kind": kind,
                 "verbs": ["create", "get", "list", "update", "patch", "delete"]}
                for plural, kind in self.RESOURCES[gv]]}
        if path == "/apis/batch/v1/namespaces/default/cronjobs/cj":
            return json.loads((FIXTURES / "cronjob-cj.json").read_text(encoding="utf-8"))
        return None

    def kind_of(self, path: str) -> tuple[str, str]:
        parts = path.strip("/").split("/")
        gv = "v1" if parts[0] == "api" else f"{parts[1]}/{parts[2]}"
        plural = parts[-1]
        return gv, next((k for p, k in self.RESOURCES.get(gv, []) if p == plural), "Status")


def capture_fixtures() -> None:
    """Captures every command's body and its `--dry-run=client -o json` into fixtures/protobuf/."""
    with tempfile.TemporaryDirectory() as work, KubectlCapture(Path(work)) as cap:
        for name, args in COMMANDS.items():
            content_type, body = cap.post_body(args)
            print(f"{name}: {content_type}, {len(body)} bytes")
            if name in SENDS_JSON:
                continue
            (FIXTURES / f"{name}.bin").write_bytes(body)
            (FIXTURES / f"{name}.json").write_text(json.dumps(cap.client_json(args), indent=4, ensure_ascii=False)
                                                   + "\n", encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:] not in ([], ["--capture"]):
        sys.exit("usage: python tests/unit/test_protobuf.py [--capture]  (re-captures fixtures/protobuf/)")
    capture_fixtures()
