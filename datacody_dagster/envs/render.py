"""The plan for people: a terminal table and a Markdown report for a pull-request comment."""

from __future__ import annotations

from rich.table import Table

from datacody_dagster.envs.plan import EnvPlan

_STYLE = {
    "added": "green",
    "removed": "red",
    "breaking": "red",
    "non-breaking": "yellow",
    "indirect": "magenta",
    "metadata-only": "cyan",
    "unchanged": "dim",
}


def _action(change: str, rebuild: bool) -> str:
    if rebuild:
        return "rebuild"
    if change == "removed":
        return "drop"
    if change == "metadata-only":
        return "update metadata"
    return "reuse"


def plan_table(plan: EnvPlan, show_unchanged: bool = True) -> Table:
    """Rich table: asset, change, action, affected columns, reason."""
    table = Table(title=f"plan {plan.plan_id} for env `{plan.env}`", title_justify="left")
    for col in ("asset", "change", "action", "affected columns", "reason"):
        table.add_column(col, overflow="fold")
    for c in plan.changes:
        if c.change == "unchanged" and not show_unchanged:
            continue
        style = _STYLE.get(c.change, "")
        table.add_row(
            c.asset,
            f"[{style}]{c.change}[/{style}]" if style else c.change,
            _action(c.change, c.rebuild),
            ", ".join(c.affected),
            c.reason,
        )
    return table


def summary_line(plan: EnvPlan) -> str:
    counts: dict[str, int] = {}
    for c in plan.changes:
        counts[c.change] = counts.get(c.change, 0) + 1
    parts = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    rebuild = ", ".join(plan.rebuild) or "nothing"
    return f"{parts}. Rebuild: {rebuild}."


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def plan_markdown(plan: EnvPlan) -> str:
    """A Markdown report: summary, the rebuild list, and every changed asset with its reason."""
    lines = [
        f"### datacody plan `{plan.plan_id}` for env `{plan.env}`",
        "",
        summary_line(plan),
        "",
        "| asset | change | action | affected columns | reason |",
        "|---|---|---|---|---|",
    ]
    for c in plan.changes:
        if c.change == "unchanged" and not c.reason:
            continue
        affected = ", ".join(f"`{a}`" for a in c.affected)
        lines.append(
            f"| `{c.asset}` | {c.change} | {_action(c.change, c.rebuild)} | {affected} | {_cell(c.reason)} |"
        )
    unchanged = [c.asset for c in plan.changes if c.change == "unchanged" and not c.reason]
    if unchanged:
        lines += ["", f"Unchanged: {', '.join(f'`{u}`' for u in unchanged)}."]
    return "\n".join(lines) + "\n"
