"""A pod's NetworkPolicy rules (plan/pod_firewall.py) as `iptables-restore` input for the filter
table of its network namespace. Each load replaces the whole table, so an empty Firewall clears it."""

from __future__ import annotations

from emukube.plan.pod_firewall import Accept, Firewall


def _accept(chain: str, side: str, rule: Accept) -> str:
    words = [f"-A {chain}"]
    if rule.peer:
        words.append(f"{side} {rule.peer}")
    if rule.protocol:
        proto = rule.protocol.lower()
        words.append(f"-p {proto}" + (f" -m {proto} --dport {rule.ports}" if rule.ports else ""))
    return " ".join(words + ["-j ACCEPT"])


def _chain(chain: str, side: str, accepts: tuple[Accept, ...] | None, pods: tuple[str, ...]) -> list[str]:
    if accepts is None:
        return []
    # Replies of connections already let through, then what the policies allow; then every new
    # connection from (or to) another pod is dropped. Other addresses are not the policies' to judge.
    return ([f"-A {chain} -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"] +
            [_accept(chain, side, a) for a in accepts] + [f"-A {chain} {side} {ip} -j DROP" for ip in pods])


def render_pod_firewall(fw: Firewall) -> str:
    lines = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]"]
    lines += _chain("INPUT", "-s", fw.inbound, fw.pods) + _chain("OUTPUT", "-d", fw.outbound, fw.pods)
    return "\n".join(lines + ["COMMIT", ""])
