"""The plan for people: a terminal table and a Markdown report for a pull-request comment."""

from __future__ import annotations

from rich.table import Table

from datacody_dagster.envs.build import BuiltAsset, EnvBuild
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
        if c.change == "unchanged" and not c.reason and not show_unchanged:
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


def _diff_text(a: BuiltAsset) -> str:
    d = a.diff
    if d is None:
        return "new in this env" if a.status == "built" else ""
    r = d.rows
    parts = [f"+{r.added:,}", f"-{r.removed:,}"]
    if r.changed is not None:
        parts.append(f"~{r.changed:,}")
    text = " ".join(parts)
    if r.changed_columns:
        text += " (" + ", ".join(f"{c}: {n:,}" for c, n in sorted(r.changed_columns.items())) + ")"
    if d.schema:
        text += "; schema: " + ", ".join(
            f"+{c.name}"
            if c.old_type is None
            else f"-{c.name}"
            if c.new_type is None
            else f"{c.name} retyped"
            for c in d.schema
        )
    return text


def _checks_text(a: BuiltAsset) -> str:
    total = a.checks_passed + len(a.checks_failed)
    if not total:
        return ""
    text = f"{a.checks_passed}/{total} passed"
    return text + (f" (failed: {', '.join(a.checks_failed)})" if a.checks_failed else "")


def build_table(build: EnvBuild) -> Table:
    """Per rebuilt asset: status, rows, checks, and the row diff against prod."""
    table = Table(title=f"built in env `{build.env}` (data/envs/{build.env}/)", title_justify="left")
    for col in ("asset", "status", "rows", "checks", "diff vs prod (+added -removed ~changed)"):
        table.add_column(col, overflow="fold")
    for a in build.assets:
        status = a.status if not a.error else f"{a.status}: {a.error}"
        rows = f"{a.rows:,}" if a.rows is not None else ""
        table.add_row(a.asset, status, rows, _checks_text(a), _diff_text(a))
    return table


def build_markdown(build: EnvBuild) -> str:
    lines = [
        "",
        f"#### Built in env `{build.env}`",
        "",
        "| asset | status | rows | checks | diff vs prod (+added -removed ~changed) |",
        "|---|---|---|---|---|",
    ]
    for a in build.assets:
        status = a.status if not a.error else f"{a.status}: {a.error}"
        rows = f"{a.rows:,}" if a.rows is not None else ""
        lines.append(
            f"| `{a.asset}` | {_cell(status)} | {rows} | {_cell(_checks_text(a))} | {_cell(_diff_text(a))} |"
        )
    if build.blocking_failures:
        lines += ["", "**Blocking failures** (apply will refuse): " + "; ".join(build.blocking_failures)]
    return "\n".join(lines) + "\n"
