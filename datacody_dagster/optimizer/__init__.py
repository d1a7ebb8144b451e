"""The optimizer runtime: signals from the Dagster instance, heuristic rules, LLM review, proposals.

Proposals are typed spec patches (:mod:`.model`), stored as files (:mod:`.store`), applied only on
request (:mod:`.patches`), delivered by a sensor and a schedule (:mod:`.dagster_defs`).
"""

from __future__ import annotations

from datacody_dagster.optimizer.model import Proposal

__all__ = ["Proposal"]
