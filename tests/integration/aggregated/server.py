"""An aggregated API server as the sample-apiserver is one, on Python's standard library: HTTPS
with the certificate of the Secret mounted at /tls; it believes X-Remote-User and X-Remote-Group
only from a client presenting a certificate the front-proxy CA (mounted at /front-proxy/ca.crt,
taken from kube-system/extension-apiserver-authentication) signed for front-proxy-client, as
k8s.io/apiserver's request-header authenticator does. It serves wardle.example.com/v1alpha1
flunders: each one says who asked for it. Each request is printed as one JSON line."""

import json
import ssl
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GV = "wardle.example.com/v1alpha1"
RESOURCES = {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": GV, "resources": [
    {"name": "flunders", "singularName": "flunder", "namespaced": True, "kind": "Flunder",
     "verbs": ["get", "list", "watch"], "shortNames": ["fl"]}]}


def flunder(namespace, name, user, groups):
    return {"apiVersion": GV, "kind": "Flunder",
            "metadata": {"name": name, "namespace": namespace, "resourceVersion": "1",
                         "creationTimestamp": "2026-01-01T00:00:00Z",
                         "annotations": {"wardle.example.com/asked-by": user,
                                         "wardle.example.com/groups": ",".join(groups)}},
            "spec": {"reference": "emukube"}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def identity(self):
        cert = self.connection.getpeercert()
        subject = dict(x[0] for x in (cert or {}).get("subject", ()))
        if subject.get("commonName") != "front-proxy-client":
            return None, []
        return self.headers.get("X-Remote-User"), self.headers.get_all("X-Remote-Group") or []

    def send(self, code, body, chunks=None):
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        if chunks is None:
            data = json.dumps(body).encode()
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for chunk in chunks:
            data = (json.dumps(chunk) + "\n").encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")

    def do_GET(self):
        user, groups = self.identity()
        path, _, query = self.path.partition("?")
        print(json.dumps({"path": path, "user": user, "groups": groups}), flush=True)
        if user is None:
            return self.send(401, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                   "message": "Unauthorized", "reason": "Unauthorized", "code": 401})
        parts = [p for p in path.split("/") if p]
        if parts == ["apis", "wardle.example.com", "v1alpha1"]:
            return self.send(200, RESOURCES)
        if len(parts) >= 6 and parts[:4] == ["apis", "wardle.example.com", "v1alpha1", "namespaces"] \
                and parts[5] == "flunders":
            namespace = parts[4]
            if len(parts) == 7:
                return self.send(200, flunder(namespace, parts[6], user, groups))
            items = [flunder(namespace, "hello", user, groups)]
            if "watch=" in query:
                return self.send(200, None, [{"type": "ADDED", "object": items[0]}])
            return self.send(200, {"apiVersion": GV, "kind": "FlunderList", "metadata": {"resourceVersion": "1"},
                                   "items": items})
        return self.send(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "not found",
                               "reason": "NotFound", "code": 404})

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("", 8443), Handler)
tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
tls.load_cert_chain("/tls/tls.crt", "/tls/tls.key")
tls.verify_mode = ssl.CERT_OPTIONAL
tls.load_verify_locations("/front-proxy/ca.crt")
server.socket = tls.wrap_socket(server.socket, server_side=True)
print("serving on 8443", file=sys.stderr, flush=True)
server.serve_forever()
