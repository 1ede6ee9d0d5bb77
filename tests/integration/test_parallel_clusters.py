"""Clusters made side by side (pytest-xdist): distinct subnets and nodePorts even when made at
the same moment, and leftovers of a killed run found by label."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import docker
import httpx
import pytest
from conftest import run

from emukube import Cluster
from emukube.errors import EmukubeError
from emukube.lifecycle import ops
from emukube.runtime import labels as L

ONE_WEB = Path(__file__).parent / "manifests" / "one-web.yaml"


def test_clusters_made_at_the_same_moment_do_not_collide(engine):
    names = [f"pc{os.getpid() % 100000}{i}" for i in range(2)]
    made: dict[str, Cluster] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def make(name: str) -> None:
        start.wait()
        try:
            made[name] = Cluster.up(ONE_WEB, name=name, timeout=150)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=make, args=(n,)) for n in names]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        assert not errors, errors
        subnets = {made[n].snapshot().state.net.subnet for n in names}
        urls = {made[n].url("svc/web") for n in names}
        assert len(subnets) == 2 and len(urls) == 2, (subnets, urls)
        for url in urls:
            assert httpx.get(url + "/hostname", timeout=10).text == "web"
        # `emukube ls` lists both among whatever else runs on the engine, with their API addresses.
        listed = run("ls").stdout.splitlines()
        assert listed[0].split() == ["NAME", "STATUS", "PODS", "API", "CONTEXT"], listed
        rows = {line.split()[0]: line.split() for line in listed[1:]}
        for n in names:
            server = made[n].kubeconfig()["clusters"][0]["cluster"]["server"]
            assert rows[n] == [n, "running", "1/1", server, f"emukube-{n}"], listed
        assert set(names) <= set(run("ls", "-q").stdout.split())
    finally:
        for n in names:
            Cluster(n).down()


def test_a_subnet_taken_meanwhile_is_retried_with_the_next(engine):
    name = f"pt{os.getpid() % 100000}sub"
    state = ops.read_state(engine, name)
    squatter = None
    for _ in range(20):  # a cluster of a parallel test may take the planned subnet first: plan again
        planned = ops.plan_network(engine, name)
        # Someone else (any network) takes that subnet between our planning and creating.
        try:
            squatter = engine.networks.create(f"{name}-squatter", driver="bridge", ipam=docker.types.IPAMConfig(
                pool_configs=[docker.types.IPAMPool(subnet=planned.subnet)]))
            break
        except docker.errors.APIError as exc:
            if "overlaps" not in str(exc):
                raise
    assert squatter is not None, "every planned subnet was taken before the squatter could take it"
    try:
        net = planned
        try:
            ops.create_network(engine, planned)
        except ops.SubnetTaken:
            net, _ = ops.plan_with_network(engine, state, [])
        assert net.subnet != planned.subnet
        assert ops.read_state(engine, name).net.subnet == net.subnet
    finally:
        Cluster(name).down()
        squatter.remove()


def test_half_made_clusters_are_found_by_label_and_removed(engine):
    """What a killed `up` leaves (a network and volumes, no controller) is still a cluster to
    `down --all`; the finder is tested by name here, as others' clusters run meanwhile."""
    name = f"po{os.getpid() % 100000}orph"
    ops.plan_with_network(engine, ops.read_state(engine, name), [])  # its network, as `up` makes it
    engine.volumes.create(f"emukube-{name}-state", labels={L.CLUSTER: name})
    lone_volume = f"po{os.getpid() % 100000}vol"
    engine.volumes.create(f"emukube-{lone_volume}-dns", labels={L.CLUSTER: lone_volume})
    try:
        assert ops.all_clusters(engine, f"po{os.getpid() % 100000}") == sorted([name, lone_volume])
        assert ops.read_state(engine, name).controller is None
    finally:
        for found in ops.all_clusters(engine, f"po{os.getpid() % 100000}"):
            ops.down(engine, found)
    assert ops.all_clusters(engine, f"po{os.getpid() % 100000}") == []
    assert not engine.volumes.list(filters={"label": f"{L.CLUSTER}={name}"})


def test_a_node_port_held_by_another_program_is_named(engine, tmp_path):
    """Allocation avoids other clusters' nodePorts; one a non-emukube program holds is refused
    before anything is made (or, taken in a race after planning, named in `up`'s wait message
    while the controller retries), and nothing is left behind."""
    holder = socket.socket()
    taken = ops.other_clusters_node_ports(engine, "")
    port = next(p for p in range(31900, 32700) if p not in taken and _bind(holder, p))
    holder.listen()
    manifest = tmp_path / "held.yaml"
    manifest.write_text(ONE_WEB.read_text().replace("ports: [{port: 80, targetPort: 8080}]",
                                                    f"ports: [{{port: 80, targetPort: 8080, nodePort: {port}}}]"))
    name = f"ph{os.getpid() % 100000}held"
    try:
        with pytest.raises(EmukubeError) as failed:
            Cluster.up(manifest, name=name, timeout=30)
    finally:
        holder.close()
    assert f"127.0.0.1:{port}" in str(failed.value) or f"{port} on 127.0.0.1" in str(failed.value), failed.value
    assert "in use" in str(failed.value)
    assert ops.all_clusters(engine, name) == []


def _bind(sock: socket.socket, port: int) -> bool:
    try:
        sock.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
