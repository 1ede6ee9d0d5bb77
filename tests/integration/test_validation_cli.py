"""Bad input: the API server's words, every problem at once, exit 2, and nothing created."""

from __future__ import annotations

from conftest import run

BAD = """\
apiVersion: v1
kind: Service
metadata: {name: ok}
spec:
  selector: {app: x}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, nodePort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: two}
spec:
  selector: {app: web}
  ports: [{port: 80}, {port: 81}]
"""


def test_invalid_manifest_reports_everything_and_touches_nothing(engine):
    cluster = "tbadinput"
    result = run("up", "-", cluster=cluster, check=False, input=BAD)
    assert result.returncode == 2, result.stderr
    err = result.stderr
    assert ('The Service "web" is invalid: spec.ports[0].nodePort: Invalid value: 8080: provided port is not in '
            "the valid range. The range of valid ports is 30000-32767") in err
    assert 'The Service "two" is invalid: spec.ports[1].name: Required value' in err
    assert "<stdin> (document 2)" in err and "<stdin> (document 3)" in err
    assert "Traceback" not in err
    label = {"label": f"emukube.io/cluster={cluster}"}
    assert engine.containers.list(ignore_removed=True, all=True, filters=label) == []
    assert engine.networks.list(filters=label) == []
