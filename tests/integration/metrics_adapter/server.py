"""An external metrics adapter as KEDA's metrics server or prometheus-adapter is one, on Python's
standard library: HTTPS with the certificate of the Secret mounted at /tls, serving
external.metrics.k8s.io/v1beta1. Each metric's value is the file of its name under /values (a
ConfigMap the test changes). Each request is printed as one JSON line."""

import json
import os
import ssl
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GV = "external.metrics.k8s.io/v1beta1"
RESOURCES = {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": GV, "resources": [
    {"name": "externalmetrics", "singularName": "", "namespaced": True, "kind": "ExternalMetricValueList",
     "verbs": ["get"]}]}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def send(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path, _, query = self.path.partition("?")
        print(json.dumps({"path": path, "query": query}), flush=True)
        parts = [p for p in path.split("/") if p]
        if parts == ["apis", "external.metrics.k8s.io", "v1beta1"]:
            return self.send(200, RESOURCES)
        if len(parts) == 6 and parts[:4] == ["apis", "external.metrics.k8s.io", "v1beta1", "namespaces"]:
            name = parts[5]
            try:
                with open(os.path.join("/values", name)) as f:
                    value = f.read().strip()
            except OSError:
                return self.send(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404,
                                       "reason": "NotFound", "message": f'no metric "{name}" here'})
            now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            return self.send(200, {"kind": "ExternalMetricValueList", "apiVersion": GV, "metadata": {}, "items": [
                {"metricName": name, "metricLabels": {}, "timestamp": now, "value": value}]})
        return self.send(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "not found",
                               "reason": "NotFound", "code": 404})

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("", 8443), Handler)
tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
tls.load_cert_chain("/tls/tls.crt", "/tls/tls.key")
server.socket = tls.wrap_socket(server.socket, server_side=True)
print("serving on 8443", file=sys.stderr, flush=True)
server.serve_forever()
