"""Probe results in the kubelet's words (its Unhealthy events: "Readiness probe failed: ...")."""

from http_stub import answering, closed_port

from emukube.controllers.probes import run_probe


def test_refused_connections_read_as_gos_dialer_words_them():
    port = closed_port()
    ok, why = run_probe({"httpGet": {"path": "/readyz", "port": port}}, "127.0.0.1", {}, None)
    assert not ok
    assert why == f'Get "http://127.0.0.1:{port}/readyz": dial tcp 127.0.0.1:{port}: connect: connection refused'
    ok, why = run_probe({"tcpSocket": {"port": port}}, "127.0.0.1", {}, None)
    assert (ok, why) == (False, f"dial tcp 127.0.0.1:{port}: connect: connection refused")


def test_a_bad_status_and_a_failed_command():
    with answering(503) as port:
        probe = {"httpGet": {"path": "/", "port": "web"}}
        spec = {"containers": [{"ports": [{"name": "web", "containerPort": port}]}]}
        assert run_probe(probe, "127.0.0.1", spec, None) == (False, "HTTP probe failed with statuscode: 503")
    failing = {"exec": {"command": ["cat", "/tmp/healthy"]}}
    said = "cat: can't open '/tmp/healthy': No such file or directory\n"
    assert run_probe(failing, "", {}, lambda cmd: (1, said)) == (False, said.rstrip("\n"))
    assert run_probe(failing, "", {}, lambda cmd: (0, "")) == (True, "")
    assert run_probe(failing, "", {}, lambda cmd: (3, "")) == (False, "command ['cat', '/tmp/healthy'] exited with 3")
