"""`emukube curl` and `emukube run`, and the Python API under them, against a real cluster."""

from __future__ import annotations

import os
import re

import pexpect
from conftest import EMUKUBE, HERE

from emukube import Cluster

MANIFEST = HERE / "manifests" / "access.yaml"
ANSWERED = re.compile(r"^\* answered by pod/(\S+) \((\S+):8080\) via service/web \((\S+):(\d+)\)$", re.M)


def test_curl_names_the_pod_that_answered(cluster):
    pods = set(cluster.pods("web-"))
    for target, port in (("svc/web/hostname", "80"), ("svc/web:alt/hostname", "8000"), ("web:8000/hostname", "8000")):
        result = cluster.emukube("curl", target)
        found = ANSWERED.search(result.stderr)
        assert found, result.stderr
        assert result.stdout == found.group(1) and result.stdout in pods  # the echo app says its name
        assert found.group(3) == cluster.svc_field("web", 2) and found.group(4) == port


def test_curl_says_why_nothing_answered(cluster):
    none = cluster.emukube("curl", "svc/nobody", check=False)
    assert none.returncode == 7 and "curl: (7)" in none.stderr
    assert "service/nobody" in none.stderr and "has no ready endpoints" in none.stderr
    wrong = cluster.emukube("curl", "svc/wrongport/hostname", check=False)
    assert wrong.returncode == 52, wrong.stderr
    refused = re.search(r"passed the call to (?:one of )?pod/(web-\S+) \(\S+:9999\).*which refused", wrong.stderr)
    assert refused and refused.group(1) in cluster.pods("web-"), wrong.stderr


def test_curl_usage_errors_are_kubectl_like(cluster):
    missing = cluster.emukube("curl", "svc/nope", check=False)
    assert missing.returncode == 2 and 'services "nope" not found' in missing.stderr
    bad = cluster.emukube("curl", "deploy/web", check=False)
    assert bad.returncode == 2 and "svc/NAME[:PORT][/PATH]" in bad.stderr
    port = cluster.emukube("curl", "svc/web:81", check=False)
    assert port.returncode == 2 and "no TCP port '81'" in port.stderr
    assert "Traceback" not in missing.stderr + bad.stderr + port.stderr


def test_run_rm_prints_the_output_passes_the_exit_code_and_deletes_the_pod(cluster):
    pods = cluster.pods("web-")
    out = cluster.emukube("run", "--rm", "client", "--image", "emukube/echo:1.0", "--",
                          "sh", "-c", "curl -s http://web/hostname; echo; cat /etc/resolv.conf; exit 3", check=False)
    assert out.returncode == 3, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] in pods and any(line.startswith("search default.svc.cluster.local") for line in lines)
    assert out.stderr.strip().endswith('pod "client" deleted from default namespace')
    assert "client" not in cluster.pods()


def test_a_detached_run_pod_is_listed_kept_and_never_awaited(cluster):
    created = cluster.emukube("run", "sleeper", "--image", "emukube/echo:1.0", "--", "sleep", "600")
    assert created.stdout.strip() == "pod/sleeper created"
    taken = cluster.emukube("run", "sleeper", "--image", "emukube/echo:1.0", check=False)
    assert taken.returncode == 2 and 'pods "sleeper" already exists' in taken.stderr
    try:
        # A new desired state replaces the controller, which must neither remove the pod nor wait for it.
        cluster.emukube("scale", "deployment/web", "--replicas", "3", "--wait", "--timeout", "150s", timeout=200)
        row = [line.split() for line in cluster.emukube("get", "pods").stdout.splitlines() if line.startswith("sleeper ")]
        assert row and row[0][1:3] == ["1/1", "Running"], row
    finally:
        cluster.emukube("scale", "deployment/web", "--replicas", "2", check=False)
        cluster.emukube("delete", "pod", "sleeper", check=False)
    assert "sleeper" not in cluster.pods()


def test_run_refuses_unknown_namespaces_and_invalid_names(cluster):
    ns = cluster.emukube("run", "--rm", "x", "--image", "emukube/echo:1.0", "-n", "nowhere", "--", "true", check=False)
    assert ns.returncode == 2 and 'namespaces "nowhere" not found' in ns.stderr
    bad = cluster.emukube("run", "Bad_Name", "--image", "emukube/echo:1.0", check=False)
    assert bad.returncode == 2 and 'The Pod "Bad_Name" is invalid: metadata.name' in bad.stderr


def test_run_it_is_a_shell_inside_the_cluster(cluster):
    env = dict(os.environ, EMUKUBE_CLUSTER=cluster.name)
    shell = pexpect.spawn(EMUKUBE, ["run", "--rm", "-it", "shell", "--image", "emukube/echo:1.0", "--", "sh"],
                          env=env, encoding="utf-8", timeout=120, dimensions=(40, 160))
    try:
        shell.expect(r"[#$] ")  # the first prompt is there: attached before the shell started
        shell.sendline("nslookup web >/dev/null && curl -s http://web/hostname; echo; hostname")
        shell.expect(r"(web-\S+)\r\n")
        assert shell.match.group(1) in cluster.pods("web-")
        shell.expect("shell\r\n")
        shell.sendline("exit 4")
        shell.expect('pod "shell" deleted')
        shell.expect(pexpect.EOF)
    finally:
        shell.close(force=True)
    assert shell.exitstatus == 4
    assert "shell" not in cluster.pods()


def test_python_api_run_and_curl(cluster):
    c = Cluster(cluster.name)
    result = c.run("apiclient", "emukube/echo:1.0", ["curl", "-s", "http://web/hostname"])
    assert result.exit_code == 0 and result.stdout in cluster.pods("web-")
    called = c.curl("svc/web/echo?msg=pizza")
    assert called.exit_code == 0 and called.body == "pizza" and called.answered_by[0] in cluster.pods("web-")
