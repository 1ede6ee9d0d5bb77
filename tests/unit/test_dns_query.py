"""`emukube dns`: the names a pod's resolver tries, and reading dig's answer."""

from __future__ import annotations

import pytest

from emukube.diagnose.dns_query import DnsAnswer, candidates, not_found_message, parse_dig, record_type
from emukube.errors import EmukubeError


def test_short_names_go_through_the_search_list_first():
    assert candidates("web", "A", "shop") == [
        "web.shop.svc.cluster.local.", "web.svc.cluster.local.", "web.cluster.local.", "web."]
    assert candidates("web.other", "A", "default")[1] == "web.other.svc.cluster.local."


def test_names_with_five_dots_or_a_final_dot_are_asked_as_they_are_first():
    assert candidates("web.default.svc.cluster.local.", "A", "default") == ["web.default.svc.cluster.local."]
    five = "_http._tcp.web.default.svc.cluster.local"
    assert candidates(five, "SRV", "default")[0] == five + "."
    assert len(candidates(five, "SRV", "default")) == 4


def test_ptr_of_an_address_asks_its_reverse_name():
    assert candidates("10.96.1.7", "PTR", "default") == ["7.1.96.10.in-addr.arpa."]
    assert candidates("7.1.96.10.in-addr.arpa.", "PTR", "default") == ["7.1.96.10.in-addr.arpa."]


def test_record_type_is_checked():
    assert record_type("srv") == "SRV"
    with pytest.raises(EmukubeError, match='unknown record type "MX2"'):
        record_type("MX2")


DIG_NXDOMAIN = """;; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: NXDOMAIN, id: 63163
;; flags: qr aa rd; QUERY: 1, ANSWER: 0, AUTHORITY: 1, ADDITIONAL: 1

;; OPT PSEUDOSECTION:
; EDNS: version: 0, flags:; udp: 1232
"""

DIG_ANSWER = """;; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 1
;; flags: qr aa rd; QUERY: 1, ANSWER: 2, AUTHORITY: 0, ADDITIONAL: 1

;; ANSWER SECTION:
hl.default.svc.cluster.local. 5\tIN\tA\t10.97.169.195
hl.default.svc.cluster.local. 5\tIN\tA\t10.97.242.100
"""


def test_parse_dig():
    assert parse_dig(DIG_NXDOMAIN) == ("NXDOMAIN", ())
    status, records = parse_dig(DIG_ANSWER)
    assert status == "NOERROR" and len(records) == 2 and records[0].endswith("10.97.169.195")


def test_messages_use_nslookup_words():
    assert not_found_message(DnsAnswer("nosuch", "NXDOMAIN", ())) == "** server can't find nosuch: NXDOMAIN"
    assert not_found_message(DnsAnswer("web", "NOERROR", ())) == "*** Can't find web: No answer"
