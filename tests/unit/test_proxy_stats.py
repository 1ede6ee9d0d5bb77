"""`emukube top`: HAProxy's `show stat` and nginx's session lines as per-Service and per-pod counts."""

from emukube.diagnose.top import ServiceStats, parse_show_stat, parse_udp_sessions, pod_rows, service_rows

SHOW_STAT = """# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,status
stats,FRONTEND,,,0,0,4096,9,0,0,0,OPEN
stats,BACKEND,0,0,0,0,410,0,0,0,0,UP
tcp-80,FRONTEND,,,1,1,4096,10,500,2000,0,OPEN
tcp-80,web-a,0,0,0,1,,4,200,800,,no check
tcp-80,web-b,0,0,1,1,,6,300,1200,,no check
tcp-80,BACKEND,0,0,1,1,410,10,500,2000,0,UP
tcp-443,FRONTEND,,,0,1,4096,2,10,20,0,OPEN
tcp-443,web-a,0,0,0,1,,2,10,20,,no check
tcp-443,BACKEND,0,0,0,1,410,2,10,20,0,UP
"""


def test_show_stat_adds_the_service_ports_and_splits_by_pod():
    total, pods = parse_show_stat(SHOW_STAT)
    assert (total.active, total.sessions, total.bytes_in, total.bytes_out) == (1, 12, 510, 2020)
    assert {k: v.sessions for k, v in pods.items()} == {"web-a": 6, "web-b": 6}
    assert parse_show_stat("") == parse_show_stat("Unknown command")


def test_udp_sessions_are_counted_per_pod_by_address():
    log = "\n".join([
        "2026/01/01 [notice] 1#1: signal process started",
        "udp-session 53 10.96.130.1:5353 30 60 200",
        "udp-session 53 10.96.130.2:5353 30 61 200",
        "udp-session 53 10.96.130.9:5353, 10.96.130.1:5353 30 60 200",
    ])
    total, pods = parse_udp_sessions(log, {"10.96.130.1": "web-a", "10.96.130.2": "web-b"})
    assert (total.active, total.sessions, total.bytes_in, total.bytes_out) == (None, 3, 90, 181)
    assert {k: v.sessions for k, v in pods.items()} == {"web-a": 2, "web-b": 1}


def test_tables_like_kubectl_top():
    total, pods = parse_show_stat(SHOW_STAT)
    stats = [ServiceStats("default", "web", "TCP", total, pods)]
    assert service_rows(stats) == [["SERVICE", "PROTOCOL", "ACTIVE", "CONNECTIONS", "BYTES-IN", "BYTES-OUT"],
                                   ["web", "TCP", "1", "12", "510", "2Ki"]]
    assert pod_rows(stats, namespaced=True)[1:] == [["default", "web-a", "web", "TCP", "0", "6", "50%"],
                                                    ["default", "web-b", "web", "TCP", "1", "6", "50%"]]
