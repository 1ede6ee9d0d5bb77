"""The server's Tables printed as kubectl prints them: priority-0 columns (and priority 1 with
-o wide), upper-cased headers, cells padded to the widest plus three spaces; with several
kinds, names as kind.group/name; with -A a NAMESPACE column first; --show-labels a LABELS one."""

from __future__ import annotations

from ..k8s.resources import Resource


def _cell(value) -> str:
    if value is None:
        return "<none>"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def table_lines(table: dict, resource: Resource, *, wide: bool = False, all_namespaces: bool = False,
                with_kind: bool = False, show_labels: bool = False) -> list[str]:
    cols = [(i, c) for i, c in enumerate(table.get("columnDefinitions") or [])
            if c.get("priority", 0) == 0 or wide]
    header = [c["name"].upper() for _, c in cols]
    rows = []
    for row in table.get("rows") or []:
        meta = (row.get("object") or {}).get("metadata") or {}
        cells = [_cell(row["cells"][i]) if i < len(row["cells"]) else "" for i, _ in cols]
        if with_kind and cells:
            prefix = resource.singular if not resource.group else f"{resource.singular}.{resource.group}"
            cells[0] = f"{prefix}/{cells[0]}"
        if all_namespaces:
            cells.insert(0, meta.get("namespace", ""))
        if show_labels:
            labels = meta.get("labels") or {}
            cells.append(",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "<none>")
        rows.append(cells)
    if all_namespaces:
        header.insert(0, "NAMESPACE")
    if show_labels:
        header.append("LABELS")
    return pad([header, *rows])


def pad(rows: list[list[str]]) -> list[str]:
    if not rows:
        return []
    widths = [max(len(r[i]) for r in rows if i < len(r)) for i in range(len(rows[0]))]
    out = []
    for row in rows:
        cells = [c.ljust(widths[i] + 3) if i < len(row) - 1 else c for i, c in enumerate(row)]
        out.append("".join(cells).rstrip())
    return out
