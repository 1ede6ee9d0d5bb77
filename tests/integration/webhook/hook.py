"""An admission webhook as teams write them, on Python's standard library: HTTPS with the
certificate of the Secret mounted at /tls, AdmissionReview v1 in and out. Each review it
answers is printed as one JSON line (kubectl logs shows what the API server sent).

/mutate:   pods get the label hook.emukube.test/seen=true; a pod annotated
           hook.emukube.test/inject=true gets a sidecar container.
/validate: a ConfigMap with a key "forbidden" is denied (403), others pass with a warning;
           a pod labelled deny=true is denied; a ConfigMap labelled protected=true may not be deleted;
           `kubectl exec ... -- rm ...` is denied.
/convert:  ConversionReview v1 for the Kubernetes e2e tests' CRD (crd_conversion_webhook.go):
           v1's spec.hostPort "HOST:PORT" is v2's spec.host and spec.port; a hostPort without a
           colon fails the conversion."""

import base64
import json
import ssl
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def mutate(req):
    obj = req.get("object") or {}
    meta = obj.get("metadata") or {}
    ops = []
    if not meta.get("labels"):
        ops.append({"op": "add", "path": "/metadata/labels", "value": {}})
    ops.append({"op": "add", "path": "/metadata/labels/hook.emukube.test~1seen", "value": "true"})
    if (meta.get("annotations") or {}).get("hook.emukube.test/inject") == "true":
        image = obj["spec"]["containers"][0]["image"]
        ops.append({"op": "add", "path": "/spec/containers/-", "value": {
            "name": "sidecar", "image": image, "command": ["sh", "-c", "echo sidecar injected; exec sleep 3600"]}})
    return {"allowed": True, "patchType": "JSONPatch", "patch": base64.b64encode(json.dumps(ops).encode()).decode()}


def validate(req):
    kind, op = req["kind"]["kind"], req["operation"]
    if op == "CONNECT":
        if "rm" in ((req.get("object") or {}).get("command") or []):
            return {"allowed": False, "status": {"code": 403, "reason": "Forbidden",
                                                 "message": "exec of rm is not allowed"}}
        return {"allowed": True}
    if kind == "ConfigMap" and op == "DELETE":
        labels = ((req.get("oldObject") or {}).get("metadata") or {}).get("labels") or {}
        if labels.get("protected") == "true":
            return {"allowed": False, "status": {"code": 403, "reason": "Forbidden",
                                                 "message": "this ConfigMap is protected"}}
        return {"allowed": True}
    obj = req.get("object") or {}
    if kind == "ConfigMap":
        if "forbidden" in (obj.get("data") or {}):
            return {"allowed": False, "status": {"code": 403, "reason": "Forbidden",
                                                 "message": 'key "forbidden" is not allowed'}}
        return {"allowed": True, "warnings": [f"configmap {req.get('name', '')} checked by the test webhook"]}
    if kind == "Pod" and ((obj.get("metadata") or {}).get("labels") or {}).get("deny") == "true":
        return {"allowed": False, "status": {"message": "pods labelled deny=true are not allowed"}}
    return {"allowed": True}


def converted(obj, desired):
    """One object in apiVersion `desired`, or ValueError."""
    spec = dict(obj.get("spec") or {})
    if desired.endswith("/v2") and "hostPort" in spec:
        value = spec.pop("hostPort")
        host, colon, port = value.partition(":")
        if not colon:
            raise ValueError(f"invalid hostPort value '{value}'")
        spec.update(host=host, port=port)
    elif desired.endswith("/v1") and "host" in spec:
        spec["hostPort"] = f"{spec.pop('host')}:{spec.pop('port', '')}"
    return {**obj, "apiVersion": desired, "spec": spec}


def convert(req):
    try:
        objects = [converted(o, req["desiredAPIVersion"]) for o in req["objects"]]
    except ValueError as exc:
        return {"uid": req["uid"], "result": {"status": "Failure", "message": str(exc)}}
    return {"uid": req["uid"], "convertedObjects": objects, "result": {"status": "Success"}}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        review = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        req = review["request"]
        if self.path.startswith("/convert"):
            print(json.dumps({"path": self.path, "desired": req["desiredAPIVersion"],
                              "from": [o["apiVersion"] for o in req["objects"]]}), flush=True)
            return self.answer({"apiVersion": review["apiVersion"], "kind": "ConversionReview",
                                "response": convert(req)})
        answer = mutate(req) if self.path.startswith("/mutate") else validate(req)
        print(json.dumps({"path": self.path, "operation": req["operation"], "kind": req["kind"]["kind"],
                          "name": req.get("name", ""), "namespace": req.get("namespace", ""),
                          "dryRun": req.get("dryRun"), "user": req["userInfo"].get("username"),
                          "allowed": answer["allowed"]}), flush=True)
        self.answer({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                     "response": {"uid": req["uid"], **answer}})

    def answer(self, review):
        body = json.dumps(review).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("", 8443), Handler)
tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
tls.load_cert_chain("/tls/tls.crt", "/tls/tls.key")
server.socket = tls.wrap_socket(server.socket, server_side=True)
print("serving on 8443", file=sys.stderr, flush=True)
server.serve_forever()
