"""What `emukube up` shows while a cluster comes up: images, network, DNS, pods and Services,
each with a spinner until it is there. On a terminal it is a live display (rich) on stderr;
otherwise one plain line per change. Fed by the controller's status report (status.json:
waiting, pods, services) and, for DNS, by the CoreDNS container's state."""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.console import Console, Group
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from ..k8s.applied import SYSTEM_SERVICES
from ..lifecycle import ops
from ..plan.network import ClusterNet
from ..runtime import engine
from ..runtime.dns import dns_name
from ..runtime.report import Report
from ..runtime.settings import Settings

POD_KINDS = ("Deployment", "StatefulSet", "ReplicaSet", "ReplicationController")


@dataclass
class Step:
    name: str
    text: str = "..."
    done: bool = False


def desired_pods(objects: list[dict]) -> int:
    """How many pods the applied objects ask for, at least: a DaemonSet counts one (the nodes it
    fits are the controller's to find; its other pods count once they exist)."""
    return sum(o["spec"].get("replicas", 1) for o in objects if o["kind"] in POD_KINDS) + \
        sum(1 for o in objects if o["kind"] in ("Pod", "DaemonSet"))




def counts(status: Report, objects: list[dict]) -> tuple[int, int, int, int]:
    """(ready pods, desired pods, answering Services, Services) from a status report. A Service
    whose proxy answers but would still fail a client (no endpoints, nothing listening) does
    not count as answering. Only the applied Services count: a total that grew from 7 to 8
    once the report came read as an eighth Service of the user's."""
    pods = [p for p in status.pods.values() if p.get("phase") != "Terminating"]
    wanted = max(desired_pods(objects), len(pods))
    # The API server's own (kubernetes, kube-dns) are reported too, but nobody applied them.
    services = [s for key, s in status.services.items() if key not in SYSTEM_SERVICES]
    return (sum(1 for p in pods if p.get("ready")), wanted,
            sum(1 for s in services if s.answering and not s.problem),
            max(len(services), sum(1 for o in objects if o["kind"] == "Service")))


def service_problems(status: Report) -> list[str]:
    """"ns/name: why", for each Service the controller found answering yet failing clients."""
    return [f"{key}: {s.problem} (emukube explain svc/{key.split('/', 1)[1]} -n {key.split('/', 1)[0]})"
            for key, s in sorted(status.services.items()) if s.problem]


class UpProgress:
    def __init__(self, client, cluster: str, live: bool):
        self.client, self.cluster, self.is_live = client, cluster, live
        self.console = Console(stderr=True)
        self.steps = {name: Step(name) for name in ("images", "network", "DNS", "pods", "services")}
        self.waiting: list[str] = []
        self.objects: list[dict] = []
        self.net: ClusterNet | None = None
        self._live: Live | None = None
        self._dns_checked = 0.0

    # ---- feeding --------------------------------------------------------------------------
    def set(self, name: str, text: str, done: bool) -> None:
        step = self.steps[name]
        if (step.text, step.done) == (text, done):
            return
        step.text, step.done = text, done
        if not self.is_live:
            self.console.print(f"{name:<9} {text}", highlight=False, soft_wrap=True)

    def applied(self, objects: list[dict]) -> None:
        """After apply: the images and the network are in place, the controller is starting.
        `objects`: what the cluster now holds, as the apply knew them (listed again through the
        API, they cost it 25 requests while it starts every pod)."""
        state = ops.read_state(self.client, self.cluster, kinds=())
        self.objects, self.net = objects, state.net
        images = Settings.of_container(state.controller).images if state.controller else {}
        used = sorted(set(images.values()))
        self.set("images", ", ".join(used) or "present", True)
        if state.net is not None:
            self.set("network", f"{state.net.network_name} {state.net.subnet}", True)
        self.check_dns(force=True)
        self.set("pods", f"0/{desired_pods(self.objects)} ready", False)
        self.set("services", f"0/{sum(1 for o in self.objects if o['kind'] == 'Service')} answering", False)

    def check_dns(self, force: bool = False) -> None:
        if self.steps["DNS"].done or self.net is None or (not force and time.monotonic() - self._dns_checked < 1):
            return
        self._dns_checked = time.monotonic()
        dns = engine.get_container(self.client, dns_name(self.cluster))
        if dns is not None and dns.status == "running":
            self.set("DNS", f"CoreDNS running at {self.net.dns_ip}", True)
        else:
            self.set("DNS", f"starting CoreDNS at {self.net.dns_ip}", False)

    def update(self, status: Report) -> None:
        """The wait loop's progress callback: one status report."""
        ready, wanted, answering, services = counts(status, self.objects)
        self.set("pods", f"{ready}/{wanted} ready", ready >= wanted and not any(
            w.startswith("pod ") for w in status.waiting))
        # While pods are still starting, a Service without endpoints is only waiting for them:
        # named as a problem once every pod is ready (a selector matching none of them, say).
        problems = service_problems(status) if ready >= wanted else []
        self.set("services", "; ".join([f"{answering}/{services} answering", *problems]),
                 answering + len(problems) >= services)
        self.waiting = status.waiting[:5]
        self.check_dns()
        if self._live is not None:
            self._live.refresh()

    # ---- showing --------------------------------------------------------------------------
    def render(self):
        self.check_dns()
        grid = Table.grid(padding=(0, 1))
        for step in self.steps.values():
            mark = Text("✓", style="green") if step.done else Spinner("dots", style="cyan")
            grid.add_row(mark, Text(step.name, style="bold"), Text(step.text))
        lines = [Text(f"  ... {w}", style="dim", overflow="ellipsis", no_wrap=True) for w in self.waiting]
        return Group(grid, *lines)

    def __enter__(self) -> UpProgress:
        if self.is_live:
            self._live = Live(get_renderable=self.render, console=self.console, refresh_per_second=8,
                              transient=False, redirect_stdout=False, redirect_stderr=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._live is not None:
            self.waiting = [] if exc[0] is None else self.waiting
            self._live.__exit__(*exc)
            self._live = None
