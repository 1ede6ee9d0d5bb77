"""Atomic and idempotent: validated before Docker is touched, `up` twice changes nothing, and
`down` leaves nothing, even of a half-made cluster. (Interrupted `up`s: test_lifecycle_interrupted.)"""

from __future__ import annotations

from conftest import run
from leftovers import APP, Clusters, containers, made_by, wait_for, write_app

from emukube.client.cluster import Cluster
from emukube.lifecycle import code, ops
from emukube.runtime.images import resolve

CLUSTERS = Clusters("tlc")
no_leftovers = CLUSTERS.fixture()
name = CLUSTERS.name


# -- validated before Docker is touched -------------------------------------------------

def test_a_failed_allocation_creates_nothing(engine, tmp_path):
    cluster = name("alloc")
    bad = APP.replace("selector: {app: web}\n  ports", "clusterIP: 10.200.0.1\n  selector: {app: web}\n  ports")
    result = run("up", str(write_app(tmp_path, text=bad)), cluster=cluster, check=False)
    assert result.returncode == 2
    assert 'The Service "web" is invalid: spec.clusterIPs: Invalid value: []string{"10.200.0.1"}' in result.stderr
    assert "Traceback" not in result.stderr
    assert made_by(engine, cluster) == []


def test_a_missing_system_image_creates_nothing(engine, tmp_path):
    cluster = name("image")
    result = run("up", str(write_app(tmp_path)), cluster=cluster, check=False,
                 env={"EMUKUBE_IMAGE_CONTROLLER": "emukube/no-such-image:0"})
    assert result.returncode == 2
    assert result.stderr.strip() == 'error: image "emukube/no-such-image:0" (the controller) is not present on the engine'
    assert made_by(engine, cluster) == []


# -- idempotent -------------------------------------------------------------------------

def code_version() -> str:
    return code.version()


def test_up_twice_changes_nothing_the_second_time(engine, tmp_path):
    cluster = name("twice")
    path = write_app(tmp_path)
    first = run("up", str(path), cluster=cluster, timeout=300)
    code = code_version()
    assert first.stdout.splitlines()[:3] == ["deployment/web created", "service/web created",
                                             "configmap/settings created"]
    before = containers(engine, cluster)
    assert len(before) == 6  # controller, CoreDNS, the node proxy, 2 pods, 1 proxy
    second = run("up", str(path), cluster=cluster, timeout=300)
    again = run("apply", str(path), "--no-wait", cluster=cluster)
    assert second.stdout.splitlines()[:3] == ["deployment/web unchanged", "service/web unchanged",
                                              "configmap/settings unchanged"]
    assert "configured" not in again.stdout and "created" not in again.stdout
    after = containers(engine, cluster)
    if code_version() != code:  # emukube's code was edited meanwhile: a new controller is right
        before.pop(ops.controller_name(cluster)), after.pop(ops.controller_name(cluster))
    assert after == before  # same ids, none restarted
    run("down", cluster=cluster)
    assert made_by(engine, cluster) == []


# -- down -------------------------------------------------------------------------------

def test_down_removes_a_half_made_cluster(engine):
    """Only the network, a volume and some containers (one never started), no controller."""
    cluster = name("half")
    client = Cluster(cluster).client
    # As `up` makes it: planned and created again elsewhere when another test's network took the subnet first.
    net, _ = ops.plan_with_network(client, ops.read_state(client, cluster), [])
    labels = {"emukube.io/cluster": cluster, "emukube.io/role": "pod"}
    pause = resolve(client, "pause")
    engine.volumes.create(f"{cluster}_default_p_data", labels={"emukube.io/cluster": cluster})
    running = engine.containers.run(pause, name=f"{cluster}_pod_default_a", labels=labels, detach=True,
                                    network=net.network_name)
    engine.containers.create(pause, name=f"{cluster}_pod_default_b", labels=labels, network=net.network_name)
    assert running.status in ("created", "running")
    assert len(made_by(engine, cluster)) == 4
    result = run("down", cluster=cluster)
    assert f"cluster {cluster} removed" in result.stdout
    assert made_by(engine, cluster) == []
    assert run("down", cluster=cluster).returncode == 0  # and again: nothing to do is fine


def test_down_after_the_controller_was_removed_by_hand(engine, tmp_path):
    cluster = name("noctl")
    run("up", str(write_app(tmp_path, replicas=1)), "--no-wait", cluster=cluster)
    wait_for(lambda: len(containers(engine, cluster)) >= 3, "the pods")
    engine.containers.get(ops.controller_name(cluster)).remove(force=True)
    run("down", cluster=cluster)
    assert made_by(engine, cluster) == []
