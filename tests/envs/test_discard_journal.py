"""An apply journal whose finish keeps failing no longer blocks prod for good: every writer
refuses with a located message naming `datacody rollback --discard-journal`, which puts back from
DVC what the apply had swapped, removes the journal and records it; prod is then consistent and
writable again (real project, DuckDB, DVC, a real SIGKILLed apply)."""

from __future__ import annotations

import json
from pathlib import Path

from datacody_dagster.checks.history import file_md5
from datacody_dagster.envs.journal import journal_path, read_journal
from datacody_dagster.versioning.cache import object_path
from datacody_dagster.versioning.env_state import PROD, load_state
from tests.envs.helpers import edit
from tests.envs.test_interrupted_apply import _crash_apply, _leftovers
from tests.envs.test_lifecycle import AMOUNT, cli, prod_md5s, prod_template, proj

__all__ = ["prod_template", "proj"]

WHERE = "data/.datacody/envs/apply.journal.json"
ESCAPE = "datacody rollback --discard-journal"


def _flat(text: str) -> str:
    return " ".join(text.split())


def _consistent(root: Path) -> None:
    """Every output prod's state names holds the bytes the state says."""
    prod = load_state(root, PROD)
    assert prod is not None
    for name, entry in prod.assets.items():
        if entry.path and entry.data_version and (root / entry.path).is_file():
            assert file_md5(root / entry.path) == entry.data_version, name


def _poisoned_half_apply(proj: Path) -> tuple[dict[str, str | None], str, str]:
    """A plan on dev, an apply killed after its first rename, and the other asset's staged copy
    deleted: finishing can no longer complete. (before md5s, swapped asset, unswapped asset)."""
    edit(proj, *AMOUNT)
    assert cli(proj, "plan", "--env", "dev").exit_code == 0
    before = prod_md5s(proj)
    _crash_apply(proj, "dev", "renamed-0")
    journal = read_journal(proj)
    assert journal is not None and journal.phase == "committing"
    swapped, waiting = journal.moves
    assert not (proj / swapped.staged).exists() and (proj / waiting.staged).exists()
    (proj / waiting.staged).unlink()
    return before, swapped.asset, waiting.asset


def test_writers_refuse_naming_the_escape_which_restores_prod(proj: Path) -> None:
    before, swapped, waiting = _poisoned_half_apply(proj)
    assert prod_md5s(proj)[f"{swapped}.parquet"] != before[f"{swapped}.parquet"]  # half applied
    for args in (
        ("materialize",),
        ("plan",),
        ("apply", "--env", "dev"),
        ("rollback", "orders"),
        ("checkout", "orders", "1"),
        ("quarantine", "publish", "orders"),
    ):
        refused = cli(proj, *args, "--wait-timeout", "5")
        text = _flat(refused.output)
        assert refused.exit_code == 1, text
        assert ESCAPE in text and "Traceback" not in text, (args, text)
    text = _flat(cli(proj, "materialize").output)
    assert f"{WHERE}: error DC300: an interrupted `apply` to prod cannot be finished" in text
    assert f"{waiting}: its staged copy" in text and "is gone" in text
    assert journal_path(proj).exists()

    escaped = cli(proj, "rollback", "--discard-journal", "--wait-timeout", "5")
    assert escaped.exit_code == 0, escaped.output
    assert "discarded the interrupted apply of plan" in _flat(escaped.output)
    assert prod_md5s(proj) == before  # the exact bytes from before the apply
    assert not journal_path(proj).exists() and _leftovers(proj) == []
    (report,) = (proj / "data/.datacody/envs/discarded").glob("*Z.json")
    recorded = json.loads(report.read_text())
    assert recorded["phase"] == "committing"
    assert {a["asset"]: (a["was"], a["now"]) for a in recorded["assets"]} == {
        swapped: ("swapped", "old (restored from DVC)"),
        waiting: ("not swapped", "old"),
    }
    assert json.loads(recorded["journal"])["plan_id"] == recorded["plan_id"]
    assert any(n.startswith("finishing it failed: ") and "is gone" in n for n in recorded["notes"])
    _consistent(proj)
    prod = load_state(proj, PROD)
    assert prod is not None and prod.assets[swapped].data_version == before[f"{swapped}.parquet"]

    # Writers work again: prod is back on the state dev was planned on, so dev applies whole.
    dev = {f"{n}.parquet": file_md5(proj / f"data/envs/dev/shop/{n}.parquet") for n in (swapped, waiting)}
    applied = cli(proj, "apply", "--env", "dev", "--wait-timeout", "5")
    assert applied.exit_code == 0, applied.output
    assert {k: v for k, v in prod_md5s(proj).items() if k in dev} == dev
    ran = cli(proj, "materialize", "--wait-timeout", "5")
    assert ran.exit_code == 0, ran.output
    _consistent(proj)
    assert cli(proj, "rollback", "--discard-journal").exit_code == 1  # nothing left to discard


def test_old_bytes_missing_from_dvc_keep_the_new_ones_and_the_state_says_so(proj: Path) -> None:
    before, swapped, waiting = _poisoned_half_apply(proj)
    new = file_md5(proj / f"data/warehouse/shop/{swapped}.parquet")
    object_path(proj, str(before[f"{swapped}.parquet"])).unlink()  # the only copy of the old bytes
    escaped = cli(proj, "rollback", "--discard-journal")
    assert escaped.exit_code == 0, escaped.output
    assert "re-plan" in _flat(escaped.output)
    (report,) = (proj / "data/.datacody/envs/discarded").glob("*Z.json")
    outcome = {a["asset"]: a for a in json.loads(report.read_text())["assets"]}[swapped]
    assert outcome["was"] == "swapped" and outcome["now"].startswith("new (kept: ")
    assert "not in the local DVC cache" in outcome["now"]
    assert new in (proj / f"data/warehouse/shop/{swapped}.parquet.dvc").read_text()  # versioned as kept
    assert prod_md5s(proj)[f"{swapped}.parquet"] == new
    assert prod_md5s(proj)[f"{waiting}.parquet"] == before[f"{waiting}.parquet"]
    _consistent(proj)
    refused = cli(proj, "apply", "--env", "dev")  # prod is neither before nor after the plan
    assert refused.exit_code == 1 and "prod moved" in refused.output
    assert cli(proj, "materialize").exit_code == 0


def test_an_unreadable_journal_is_named_and_discarded(proj: Path) -> None:
    before = prod_md5s(proj)
    path = journal_path(proj)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"plan_id": "p1", "env": "dev", "pha', encoding="utf-8")  # cut short
    staged = proj / "data/warehouse/shop/.orders.parquet.apply-p1"
    staged.write_bytes(b"half a copy")
    refused = cli(proj, "materialize")
    text = _flat(refused.output)
    assert refused.exit_code == 1 and "Traceback" not in text
    assert f"{WHERE}: error DC300" in text and "the journal is unreadable" in text and ESCAPE in text
    escaped = cli(proj, "rollback", "--discard-journal")
    assert escaped.exit_code == 0, escaped.output
    out = _flat(escaped.output)
    assert "the journal is unreadable" in out and "removed staged copy data/warehouse/shop/.orders" in out
    assert not path.exists() and not staged.exists() and prod_md5s(proj) == before
    (kept,) = (proj / "data/.datacody/envs/discarded").glob("*.journal.json")
    assert kept.read_text() == '{"plan_id": "p1", "env": "dev", "pha'
    assert cli(proj, "materialize").exit_code == 0


def test_a_journal_that_can_still_be_finished_is_finished_not_discarded(proj: Path) -> None:
    edit(proj, *AMOUNT)
    assert cli(proj, "plan", "--env", "dev").exit_code == 0
    env = proj / "data/envs/dev/shop"
    _crash_apply(proj, "dev", "renamed-0")  # every staged copy still whole
    moves = read_journal(proj).moves  # type: ignore[union-attr]
    new = {f"{m.asset}.parquet": file_md5(env / f"{m.asset}.parquet") for m in moves}
    escaped = cli(proj, "rollback", "--discard-journal", "--wait-timeout", "5")
    assert escaped.exit_code == 0, escaped.output
    text = _flat(escaped.output)
    assert "could still be finished: rolled forward; nothing was discarded" in text, text
    assert {k: v for k, v in prod_md5s(proj).items() if k in new} == new  # the plan's bytes, all
    assert not journal_path(proj).exists() and _leftovers(proj) == []
    assert not (proj / "data/.datacody/envs/discarded").exists()
    _consistent(proj)
