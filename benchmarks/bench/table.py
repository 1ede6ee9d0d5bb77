"""The one table the benchmark prints (plain text) and records (Markdown)."""

from __future__ import annotations

from .measure import Row, fmt

HEADER = ("#", "measure", "emukube", "baseline", "vs baseline", "goal", "result", "runs")


def cells(row: Row) -> tuple[str, ...]:
    if row.error:
        return (row.section, row.measure, "-", row.baseline, "", row.goal.text if row.goal else "",
                "ERROR: " + row.error, "")
    base = f"{fmt(row.base, row.unit)} {row.baseline}" if row.base_samples else row.baseline
    runs = str(len(row.samples))
    if row.base_samples and len(row.base_samples) != len(row.samples):
        runs += f"/{len(row.base_samples)}"
    result = row.verdict() + (f" ({row.note})" if row.note else "")
    return (row.section, row.measure, fmt(row.value, row.unit), base.strip(), row.comparison(),
            row.goal.text if row.goal else "", result.strip(), runs)


def text(rows: list[Row]) -> str:
    table = [HEADER] + [cells(r) for r in rows]
    # The result column may be long (notes): leave it unpadded at the end of the line.
    order = [0, 1, 2, 3, 4, 5, 7, 6]
    widths = {i: max(len(line[i]) for line in table) for i in order[:-1]}
    out = []
    for n, line in enumerate(table):
        out.append("  ".join(line[i].ljust(widths[i]) if i in widths else line[i] for i in order).rstrip())
        if n == 0:
            out.append("  ".join("-" * widths[i] if i in widths else "------" for i in order))
    return "\n".join(out)


def markdown(rows: list[Row]) -> str:
    order = [0, 1, 2, 3, 4, 5, 6, 7]
    lines = ["| " + " | ".join(HEADER[i] for i in order) + " |",
             "|" + "|".join("---" for _ in order) + "|"]
    for r in rows:
        c = cells(r)
        lines.append("| " + " | ".join(c[i].replace("|", "\\|") for i in order) + " |")
    return "\n".join(lines)
