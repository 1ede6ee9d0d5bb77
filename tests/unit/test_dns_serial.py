"""Zone serials and the DNS files the controller writes: CoreDNS takes a zone only when its SOA
serial differs from the one it holds, and re-reads the Corefile only when told (SIGUSR1)."""

from __future__ import annotations

from emukube.plan.types import DnsPlan, DnsService
from emukube.render import render_corefile, render_zones
from emukube.render.coredns import MAX_SERIAL, ZONE_RELOAD, next_serial, zone_serial
from emukube.runtime.dns import ZoneWriter


def plan(serial: int, cidrs=("10.96.0.0/16",), ip="10.96.1.1") -> DnsPlan:
    svc = DnsService("default", "web", "ClusterIP", cluster_ip=ip)
    return DnsPlan((svc,), serial=serial, dns_ip="10.96.0.10", reverse_cidrs=cidrs)


def test_zone_serial_reads_what_render_zones_wrote():
    for text in render_zones(plan(1795352869)).values():
        assert zone_serial(text) == 1795352869
    assert zone_serial("") is None
    assert zone_serial("; not a zone\n") is None


def test_next_serial_follows_the_clock_and_never_repeats():
    assert next_serial(None, 1700000000.7) == 1700000000
    assert next_serial(1600000000, 1700000000.2) == 1700000000
    # several writes within one second, or a clock behind the last serial: previous + 1
    assert next_serial(1700000000, 1700000000.9) == 1700000001
    assert next_serial(1700000005, 1700000001) == 1700000006
    assert next_serial(MAX_SERIAL, 10) == 1  # wraps inside 1 .. 2**32-1
    assert next_serial(None, 0) == 1


def test_zone_reload_interval_is_below_one_second():
    value = ZONE_RELOAD
    seconds = float(value[:-2]) / 1000 if value.endswith("ms") else float(value.rstrip("s"))
    assert 0 < seconds < 1
    assert f"reload {ZONE_RELOAD}" in render_corefile(plan(1))


def test_zone_writer_bumps_serial_only_for_new_content(tmp_path):
    writer = ZoneWriter(str(tmp_path))
    first = writer.write(lambda s: plan(s))
    assert first.zones and first.corefile
    serial = zone_serial((tmp_path / "zones" / "db.cluster.local").read_text())
    assert not writer.write(lambda s: plan(s))  # same records: nothing written
    again = writer.write(lambda s: plan(s, ip="10.96.1.2"))
    assert again.zones and not again.corefile  # new records, same Corefile: no SIGUSR1 needed
    assert zone_serial((tmp_path / "zones" / "db.cluster.local").read_text()) > serial
    assert not list(tmp_path.rglob(".*.tmp"))  # atomic writes leave no temporary files


def test_zone_writer_reports_a_new_corefile(tmp_path):
    writer = ZoneWriter(str(tmp_path))
    writer.write(lambda s: plan(s))
    change = writer.write(lambda s: plan(s, cidrs=("10.96.0.0/16", "10.200.0.0/16")))
    assert change.corefile
    assert (tmp_path / "zones" / "db.200.10.in-addr.arpa").is_file()
    assert "200.10.in-addr.arpa:53" in (tmp_path / "Corefile").read_text()


def test_a_new_controller_continues_after_the_serial_on_disk(tmp_path):
    ahead = 4_000_000_000  # a previous controller bumped past the clock
    old = ZoneWriter(str(tmp_path))
    old.serial = ahead - 1
    old.write(lambda s: plan(s))
    assert zone_serial((tmp_path / "zones" / "db.cluster.local").read_text()) == ahead
    new = ZoneWriter(str(tmp_path))
    result = new.write(lambda s: plan(s, ip="10.96.1.9"))
    assert result.zones and not result.corefile  # the Corefile on disk is already right
    assert zone_serial((tmp_path / "zones" / "db.cluster.local").read_text()) == ahead + 1
