"""The address plan of one cluster: every address is derived from the cluster's /16.

  10.N.0.1        Docker's gateway (the host)
  10.N.0.2        the controller
  10.N.0.10       CoreDNS (the address kubeadm gives kube-dns in 10.96.0.0/12)
  10.N.0.11       the Ingress controller (plan/ingress.py), while any Ingress exists
  10.N.0.0/18     Service ClusterIPs (allocated from 10.N.1.0 up; below is reserved)
  (the `kubernetes` Service has the controller's address: the API server listens on 443 too)
  10.N.128.0/17   pod IPs
  127.0.(100+i).x LoadBalancer EXTERNAL-IPs on the host's loopback (i = N - 96), x < 254
  127.0.(100+i).254 the Ingresses' ADDRESS: the Ingress controller's port 80 on the host
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

FIRST_OCTET = 10
FIRST_SECOND_OCTET = 96  # the default cluster gets 10.96.0.0/16, like kubeadm's service range
MAX_CLUSTERS = 32


@dataclass(frozen=True)
class ClusterNet:
    name: str
    index: int  # 0 for 10.96.0.0/16, 1 for 10.97.0.0/16, ...

    @property
    def network_name(self) -> str:
        return f"emukube-{self.name}"

    @property
    def _b(self) -> int:
        return FIRST_SECOND_OCTET + self.index

    @property
    def subnet(self) -> str:
        return f"10.{self._b}.0.0/16"

    @property
    def gateway(self) -> str:
        return f"10.{self._b}.0.1"

    @property
    def controller_ip(self) -> str:
        return f"10.{self._b}.0.2"

    @property
    def dns_ip(self) -> str:
        return f"10.{self._b}.0.10"

    @property
    def apiserver_service_ip(self) -> str:
        """The `kubernetes` Service's ClusterIP. Kubernetes takes the first address of its
        Service range and DNATs it to the API servers; here the API server holds it itself (the
        controller's address, port 443 beside 6443), so the Service needs no proxy container."""
        return self.controller_ip

    @property
    def service_cidr(self) -> str:
        return f"10.{self._b}.0.0/18"

    @property
    def pod_cidr(self) -> str:
        return f"10.{self._b}.128.0/17"

    def service_ip_pool(self) -> range:
        """Integer addresses ClusterIPs are allocated from (10.N.1.0 .. 10.N.63.254)."""
        first = int(ipaddress.IPv4Address(f"10.{self._b}.1.0"))
        last = int(ipaddress.IPv4Address(f"10.{self._b}.63.254"))
        return range(first, last + 1)

    def pod_ip_pool(self) -> range:
        first = int(ipaddress.IPv4Address(f"10.{self._b}.128.2"))
        last = int(ipaddress.IPv4Address(f"10.{self._b}.255.254"))
        return range(first, last + 1)

    @property
    def ingress_ip(self) -> str:
        return f"10.{self._b}.0.11"

    @property
    def ingress_address(self) -> str:
        """Where the host reaches the Ingress controller, as a LoadBalancer Service's EXTERNAL-IP."""
        return f"127.0.{100 + self.index}.254"

    def lb_ip_pool(self) -> list[str]:
        return [f"127.0.{100 + self.index}.{i}" for i in range(1, 254)]

    @classmethod
    def from_subnet(cls, name: str, subnet: str) -> ClusterNet:
        second = int(subnet.split(".")[1])
        return cls(name=name, index=second - FIRST_SECOND_OCTET)


def choose_index(taken_subnets: set[str]) -> int | None:
    """The first /16 of our series that no existing Docker network uses."""
    taken = [ipaddress.ip_network(s, strict=False) for s in taken_subnets if ":" not in s]
    for index in range(MAX_CLUSTERS):
        candidate = ipaddress.ip_network(f"10.{FIRST_SECOND_OCTET + index}.0.0/16")
        if not any(candidate.overlaps(t) for t in taken):
            return index
    return None


def in_cidr(ip: str, cidr: str) -> bool:
    try:
        return ipaddress.ip_address(ip) in ipaddress.ip_network(cidr)
    except ValueError:
        return False
