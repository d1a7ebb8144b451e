"""The environment plan as data: every asset's change, its reason, and the rebuild list.

Direct changes come from :mod:`classify`; a change spreads downstream only to assets that read
an affected column (sqlglot lineage), so a downstream asset that does not read it is reused.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from datacody_dagster.compiler.plan import Node, ProjectPlan
from datacody_dagster.envs.classify import ALL_COLUMNS, Change, DirectChange, classify_direct
from datacody_dagster.envs.lineage import ANY, column_reads
from datacody_dagster.versioning.env_state import EnvState

REBUILD: frozenset[str] = frozenset({"added", "non-breaking", "breaking", "indirect"})


@dataclass(frozen=True)
class AssetChange:
    """One row of the plan."""

    asset: str
    group: str
    change: Change
    reason: str
    affected: tuple[str, ...] = ()
    """Columns of the asset that differ for readers (``*``: its rows change)."""

    @property
    def rebuild(self) -> bool:
        return self.change in REBUILD


@dataclass(frozen=True)
class EnvPlan:
    """What applying the current specs to environment ``env`` changes."""

    env: str
    plan_id: str
    base_digest: str
    """Digest of the state planned against; apply refuses when prod moved past it."""
    changes: tuple[AssetChange, ...] = field(default=())

    @property
    def rebuild(self) -> list[str]:
        return [c.asset for c in self.changes if c.rebuild]

    @property
    def removed(self) -> list[str]:
        return [c.asset for c in self.changes if c.change == "removed"]

    def change_of(self, asset: str) -> AssetChange:
        for c in self.changes:
            if c.asset == asset:
                return c
        raise KeyError(asset)

    def to_json(self) -> dict[str, object]:
        return {
            "env": self.env,
            "plan_id": self.plan_id,
            "base_digest": self.base_digest,
            "rebuild": self.rebuild,
            "changes": [
                {
                    "asset": c.asset,
                    "group": c.group,
                    "change": c.change,
                    "reason": c.reason,
                    "affected_columns": list(c.affected),
                }
                for c in self.changes
            ],
        }


def _sorted(cols: frozenset[str]) -> tuple[str, ...]:
    return tuple(sorted(cols, key=lambda c: (c != "*", c)))


def _indirect(
    node: Node, affected: dict[str, frozenset[str]], columns: dict[str, tuple[str, ...] | None]
) -> DirectChange | None:
    """How upstream changes reach ``node`` (None: they do not)."""
    hit = {d: affected[d] for d in node.deps if affected.get(d)}
    if not hit:
        return None
    if node.kind != "sql" or node.canonical_sql is None:
        names = ", ".join(sorted(hit))
        return DirectChange("indirect", f"{node.kind} asset reads {names}, which change", ALL_COLUMNS)
    reads = column_reads(node.canonical_sql, {d: columns.get(d) for d in node.deps})
    row_hits = sorted(
        f"{t}.{c}" for t, c in reads.rows if t in hit and (hit[t] >= ALL_COLUMNS or c in hit[t] or c == ANY)
    )
    if reads.opaque or row_hits or any(cols >= ALL_COLUMNS for cols in hit.values()):
        whole = sorted(d for d, cols in hit.items() if cols >= ALL_COLUMNS)
        if whole:
            why = f"reads rows of {', '.join(whole)}, which change"
        elif row_hits:
            why = f"filters, joins or groups on changed {', '.join(row_hits)}"
        else:
            why = "lineage unknown; reads " + ", ".join(sorted(hit))
        return DirectChange("indirect", why, ALL_COLUMNS)
    out: set[str] = set()
    via: set[str] = set()
    for col, sources in reads.projections.items():
        for t, c in sources:
            if t in hit and (c in hit[t] or c == ANY):
                out.add(col)
                via.add(f"{t}.{c}")
    if not out:
        return None
    return DirectChange("indirect", f"reads changed {', '.join(sorted(via))}", frozenset(out))


def _plan_id(env: str, base_digest: str, nodes: tuple[Node, ...]) -> str:
    body = json.dumps([env, base_digest, [(n.name, n.fingerprint) for n in nodes]])
    return hashlib.sha256(body.encode()).hexdigest()[:12]


def build_env_plan(env: str, state: EnvState | None, plan: ProjectPlan) -> EnvPlan:
    """Classify every asset of ``plan`` against ``state`` (None: an empty environment)."""
    held = state.assets if state else {}
    affected: dict[str, frozenset[str]] = {}
    columns: dict[str, tuple[str, ...] | None] = {n.name: n.columns for n in plan.nodes}
    changes: list[AssetChange] = []
    for node in plan.nodes:  # topological: upstream changes are known before readers
        direct = classify_direct(held.get(node.name), node)
        spread = _indirect(node, affected, columns)
        old = held.get(node.name)
        if (
            spread is None
            and direct.change in ("unchanged", "metadata-only")
            and old is not None
            and old.columns is not None
            and node.columns is not None
            and old.columns != node.columns
        ):
            # Same SQL, other columns: a `select *` picked up an upstream change.
            added = [c for c in node.columns if c not in old.columns]
            gone = [c for c in old.columns if c not in node.columns]
            spread = DirectChange(
                "indirect",
                "columns follow upstream via *: "
                + ", ".join([f"+{c}" for c in added] + [f"-{c}" for c in gone]),
                frozenset(gone),
            )
        chosen = direct
        if spread is not None:
            if direct.change in ("unchanged", "metadata-only"):
                chosen = spread
            else:
                chosen = DirectChange(
                    direct.change, f"{direct.reason}; {spread.reason}", direct.affected | spread.affected
                )
        affected[node.name] = chosen.affected
        reason = chosen.reason
        if chosen.change == "unchanged" and any(node.deps) and any(held.get(d) for d in node.deps):
            changed_ups = [d for d in node.deps if d in {c.asset for c in changes if c.rebuild}]
            if changed_ups:
                reason = f"does not read the changed columns of {', '.join(changed_ups)}"
        changes.append(AssetChange(node.name, node.group, chosen.change, reason, _sorted(chosen.affected)))
    for name, old in sorted(held.items()):
        if name not in columns:
            changes.append(AssetChange(name, old.group, "removed", "no longer in the specs"))
    base = state.digest() if state else EnvState(env).digest()
    return EnvPlan(env=env, plan_id=_plan_id(env, base, plan.nodes), base_digest=base, changes=tuple(changes))
