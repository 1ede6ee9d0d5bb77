"""NetworkPolicy (networking.k8s.io/v1) validation, called directly: every refusal worded as
kube-apiserver v1.35's ValidateNetworkPolicySpec, ValidateNetworkPolicyPort, ValidateNetworkPolicyPeer
and ValidateIPBlock word it."""

from __future__ import annotations

from emukube.manifests.fielderrors import FieldErrors
from emukube.manifests.validate_networking import validate_network_policy

PORT_RANGE = "must be between 1 and 65535, inclusive"
BAD_CIDR = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
SUBSET = "must be a strict subset of `cidr`"
PEER = "spec.ingress[0].from"


def policy(spec: dict) -> list[str]:
    errs = FieldErrors()
    validate_network_policy({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                             "metadata": {"name": "np"}, "spec": spec}, errs)
    return errs.items


def ingress_from(*peers: dict) -> list[str]:
    return policy({"podSelector": {}, "ingress": [{"from": list(peers)}]})


def ingress_ports(*ports: dict) -> list[str]:
    return policy({"podSelector": {}, "ingress": [{"ports": list(ports)}]})


def block(cidr: str, *excepted: str) -> dict:
    return {"ipBlock": {"cidr": cidr, "except": list(excepted)}}


def test_a_default_deny_policy_is_valid():
    assert policy({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}) == []


def test_a_policy_with_peers_and_ports_is_valid():
    assert policy({
        "podSelector": {"matchLabels": {"app": "db"}},
        "ingress": [{
            "from": [
                {"podSelector": {"matchLabels": {"app": "api"}}},
                {"namespaceSelector": {"matchExpressions": [{"key": "env", "operator": "In", "values": ["prod"]}]},
                 "podSelector": {}},  # both selectors: pods of the selected namespaces
                block("172.17.0.0/16", "172.17.1.0/24", "172.17.2.0/24"),
            ],
            "ports": [{"protocol": "TCP", "port": 5432}, {"port": "metrics"},
                      {"protocol": "UDP", "port": 32000, "endPort": 32768}, {"protocol": "SCTP"}],
        }],
        "egress": [{"to": [block("2001:db8::/32", "2001:db8:1::/48"), {"namespaceSelector": {}}],
                    "ports": [{"port": 53, "endPort": 53}]}],
        "policyTypes": ["Ingress", "Egress"],
    }) == []


def test_a_protocol_other_than_tcp_udp_or_sctp_is_unsupported():
    assert ingress_ports({"protocol": "ICMP"}, {"protocol": "tcp", "port": 80}, {"protocol": ""}) == [
        'spec.ingress[0].ports[0].protocol: Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"',
        'spec.ingress[0].ports[1].protocol: Unsupported value: "tcp": supported values: "TCP", "UDP", "SCTP"',
        'spec.ingress[0].ports[2].protocol: Unsupported value: "": supported values: "TCP", "UDP", "SCTP"',
    ]


def test_a_port_must_be_a_number_in_range_or_an_iana_name():
    assert ingress_ports({"port": 0}, {"port": 65536}, {"port": "HTTP"}, {"port": "8080"}) == [
        f"spec.ingress[0].ports[0].port: Invalid value: 0: {PORT_RANGE}",
        f"spec.ingress[0].ports[1].port: Invalid value: 65536: {PORT_RANGE}",
        'spec.ingress[0].ports[2].port: Invalid value: "HTTP": '
        "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
        'spec.ingress[0].ports[2].port: Invalid value: "HTTP": must contain at least one letter (a-z)',
        'spec.ingress[0].ports[3].port: Invalid value: "8080": must contain at least one letter (a-z)',
    ]


def test_end_port_needs_a_numeric_port_no_greater_than_it():
    assert ingress_ports({"port": 9000, "endPort": 8000}, {"port": 80, "endPort": 70000},
                         {"port": "http", "endPort": 90}, {"endPort": 90}) == [
        "spec.ingress[0].ports[0].endPort: Invalid value: 8000: must be greater than or equal to `port`",
        f"spec.ingress[0].ports[1].endPort: Invalid value: 70000: {PORT_RANGE}",
        "spec.ingress[0].ports[2].endPort: Invalid value: 90: may not be specified when `port` is non-numeric",
        "spec.ingress[0].ports[3].endPort: Invalid value: 90: may not be specified when `port` is not specified",
    ]


def test_a_peer_must_name_something_and_an_ip_block_must_stand_alone():
    assert ingress_from({}, {"podSelector": None}, {**block("10.0.0.0/8"), "namespaceSelector": {}},
                        {**block("10.0.0.0/8"), "podSelector": {}, "namespaceSelector": {}}) == [
        f"{PEER}[0]: Required value: must specify a peer",
        f"{PEER}[1]: Required value: must specify a peer",  # null is unset, unlike {}
        f"{PEER}[2]: Forbidden: may not specify both ipBlock and another peer",
        f"{PEER}[3]: Forbidden: may not specify both ipBlock and another peer",
    ]


def test_an_ip_block_needs_a_valid_cidr_before_its_excepts_are_read():
    assert ingress_from({"ipBlock": {}}, block("300.0.0.0/8", "junk"), block("10.0.0.0/33"),
                        block("10.0.0.0"), block("fe80::/10%eth0"), block("10.0.0.0/8", "10.1.0.0/x")) == [
        f"{PEER}[0].ipBlock.cidr: Required value",
        f'{PEER}[1].ipBlock.cidr: Invalid value: "300.0.0.0/8": {BAD_CIDR}',  # "junk" is never looked at
        f'{PEER}[2].ipBlock.cidr: Invalid value: "10.0.0.0/33": {BAD_CIDR}',
        f'{PEER}[3].ipBlock.cidr: Invalid value: "10.0.0.0": {BAD_CIDR}',
        f'{PEER}[4].ipBlock.cidr: Invalid value: "fe80::/10%eth0": {BAD_CIDR}',
        f'{PEER}[5].ipBlock.except[0]: Invalid value: "10.1.0.0/x": {BAD_CIDR}',
    ]


def test_each_except_must_be_a_strict_subset_of_the_cidr():
    assert ingress_from(block("10.0.0.0/16", "10.0.0.0/16", "10.0.0.0/8", "192.168.0.0/24",
                              "10.0.5.0/24", "2001:db8::/64")) == [
        f'{PEER}[0].ipBlock.except[0]: Invalid value: "10.0.0.0/16": {SUBSET}',  # equal is not strict
        f'{PEER}[0].ipBlock.except[1]: Invalid value: "10.0.0.0/8": {SUBSET}',
        f'{PEER}[0].ipBlock.except[2]: Invalid value: "192.168.0.0/24": {SUBSET}',
        f'{PEER}[0].ipBlock.except[4]: Invalid value: "2001:db8::/64": {SUBSET}',
    ]


def test_cidrs_are_parsed_as_sloppily_as_v1_35_does():
    # Leading zeros and bits past the prefix pass: strict IP/CIDR validation is an alpha gate, off.
    # An IPv4-mapped IPv6 range counts as IPv4 when Go checks containment.
    assert ingress_from(block("010.0.0.1/8", "10.1.0.0/016", "::ffff:10.2.0.0/112")) == []


def test_policy_types_are_ingress_or_egress():
    assert policy({"podSelector": {}, "policyTypes": ["ingress", "Egress"]}) == [
        'spec.policyTypes[0]: Unsupported value: "ingress": supported values: "Ingress", "Egress"',
    ]


def test_more_than_two_policy_types_are_refused_as_a_whole():
    assert policy({"podSelector": {}, "policyTypes": ["Ingress", "Egress", "Both"]}) == [
        'spec.policyTypes: Invalid value: []networking.PolicyType{"Ingress", "Egress", "Both"}: '
        "may not specify more than two policyTypes",
    ]


def test_selectors_are_validated_as_label_selectors():
    assert policy({"podSelector": {"matchExpressions": [{"key": "app", "operator": "In"}]},
                   "egress": [{"to": [{"namespaceSelector": {"matchExpressions": [
                       {"key": "env", "operator": "Has"}]}}]}]}) == [
        "spec.podSelector.matchExpressions[0].values: Required value: "
        "must be specified when `operator` is 'In' or 'NotIn'",
        'spec.egress[0].to[0].namespaceSelector.matchExpressions[0].operator: Invalid value: "Has": '
        "not a valid selector operator",
    ]


def test_all_problems_are_reported_at_once_ingress_then_egress_then_policy_types():
    assert policy({
        "podSelector": {},
        "ingress": [{"ports": [{"protocol": "ICMP", "port": 0}], "from": [{}]}],
        "egress": [{"ports": [{"endPort": 5}], "to": [block("10.0.0.0/24", "10.0.1.0/24")]}],
        "policyTypes": ["Sideways"],
    }) == [
        'spec.ingress[0].ports[0].protocol: Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"',
        f"spec.ingress[0].ports[0].port: Invalid value: 0: {PORT_RANGE}",
        f"{PEER}[0]: Required value: must specify a peer",
        "spec.egress[0].ports[0].endPort: Invalid value: 5: may not be specified when `port` is not specified",
        f'spec.egress[0].to[0].ipBlock.except[0]: Invalid value: "10.0.1.0/24": {SUBSET}',
        'spec.policyTypes[0]: Unsupported value: "Sideways": supported values: "Ingress", "Egress"',
    ]
