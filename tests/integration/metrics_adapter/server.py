"""A metrics adapter as prometheus-adapter or KEDA's metrics server is one, on Python's standard
library: HTTPS with the certificate of the Secret mounted at /tls, serving
external.metrics.k8s.io/v1beta1 and custom.metrics.k8s.io/v1beta2 (pods' and Deployments'
metrics). Each metric is the file of its name under /values (a ConfigMap the test changes): an
external or object metric's value, or a JSON object of pod name -> value. Each request is printed as one JSON line."""

import json
import os
import ssl
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GV = "external.metrics.k8s.io/v1beta1"
CUSTOM = "custom.metrics.k8s.io/v1beta2"
RESOURCES = {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": GV, "resources": [
    {"name": "externalmetrics", "singularName": "", "namespaced": True, "kind": "ExternalMetricValueList",
     "verbs": ["get"]}]}
CUSTOM_RESOURCES = {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": CUSTOM, "resources": [
    {"name": "pods/requests_per_second", "singularName": "", "namespaced": True, "kind": "MetricValueList",
     "verbs": ["get"]},
    {"name": "deployments.apps/hits", "singularName": "", "namespaced": True, "kind": "MetricValueList",
     "verbs": ["get"]}]}


def read(name):
    try:
        with open(os.path.join("/values", name)) as f:
            return f.read().strip()
    except OSError:
        return None


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


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
        if parts == ["apis", "custom.metrics.k8s.io", "v1beta2"]:
            return self.send(200, CUSTOM_RESOURCES)
        value = read(parts[-1]) if len(parts) >= 6 and parts[3] == "namespaces" else None
        if len(parts) == 6 and parts[:3] == ["apis", "external.metrics.k8s.io", "v1beta1"] and value is not None:
            return self.send(200, {"kind": "ExternalMetricValueList", "apiVersion": GV, "metadata": {}, "items": [
                {"metricName": parts[5], "metricLabels": {}, "timestamp": now(), "value": value}]})
        custom = len(parts) == 8 and parts[:3] == ["apis", "custom.metrics.k8s.io", "v1beta2"] and value is not None
        if custom and parts[5:7] == ["pods", "*"]:
            return self.send(200, {"kind": "MetricValueList", "apiVersion": CUSTOM, "metadata": {}, "items": [
                {"describedObject": {"kind": "Pod", "namespace": parts[4], "name": pod, "apiVersion": "/v1"},
                 "metric": {"name": parts[7]}, "timestamp": now(), "value": v} for pod, v in json.loads(value).items()]})
        if custom and parts[5] == "deployments.apps":  # an object's metric
            return self.send(200, {"kind": "MetricValueList", "apiVersion": CUSTOM, "metadata": {}, "items": [
                {"describedObject": {"kind": "Deployment", "namespace": parts[4], "name": parts[6],
                                     "apiVersion": "apps/v1"},
                 "metric": {"name": parts[7]}, "timestamp": now(), "value": value}]})
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
