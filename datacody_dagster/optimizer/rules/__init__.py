"""Heuristic rules, one module each; RULES is the order they run in."""

from __future__ import annotations

from datacody_dagster.optimizer.rules import (
    costly_check,
    duplicates,
    failing_check,
    false_alarms,
    freshness,
    incremental,
    partitions,
    schedule_vs_upstream,
    stale,
    view_fanout,
)
from datacody_dagster.optimizer.rules.base import Rule, RuleContext, Thresholds

RULES: tuple[Rule, ...] = (
    *duplicates.RULES,
    *view_fanout.RULES,
    *schedule_vs_upstream.RULES,
    *incremental.RULES,
    *partitions.RULES,
    *failing_check.RULES,
    *false_alarms.RULES,
    *costly_check.RULES,
    *stale.RULES,
    *freshness.RULES,
)

__all__ = ["RULES", "Rule", "RuleContext", "Thresholds"]
