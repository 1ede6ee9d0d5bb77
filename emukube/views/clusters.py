"""`emukube ls`: the clusters on the engine, like `docker compose ls` and `kind get clusters`,
from the engine's summaries of their containers (one listing, no cluster's API asked)."""

from __future__ import annotations

from ..lifecycle.connection import API_PORT
from ..runtime import labels as L


def cluster_rows(names: list[str], summaries: list[dict]) -> list[list[str]]:
    """NAME, STATUS, PODS (running/all), API, CONTEXT for each cluster name. A cluster whose
    controller is gone (leftovers of an interrupted `down`, say) is "incomplete"; one whose
    controller does not run (stopped by hand: after an engine restart Docker starts it again)
    is "stopped" until the next `up`."""
    rows = []
    for name in names:
        mine = [s for s in summaries if (s.get("Labels") or {}).get(L.CLUSTER) == name]
        controller = next((s for s in mine if s["Labels"].get(L.ROLE) == L.Role.CONTROLLER), None)
        pods = [s for s in mine if s["Labels"].get(L.ROLE) in L.ROLES_POD]
        running = sum(1 for s in pods if s.get("State") == "running")
        if controller is None:
            status, api = "incomplete", "<none>"
        else:
            status = "running" if controller.get("State") == "running" else "stopped"
            port = next((p for p in controller.get("Ports") or []
                         if f"{p.get('PrivatePort')}/{p.get('Type')}" == API_PORT and p.get("PublicPort")), None)
            api = f"https://{port.get('IP') or '127.0.0.1'}:{port['PublicPort']}" if port else "<none>"
        rows.append([name, status, f"{running}/{len(pods)}", api, f"emukube-{name}"])
    return rows
