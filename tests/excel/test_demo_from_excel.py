"""Must show: importing the demo organisation from Excel gives the same standings as the
demo-data command. The demo is built; its roster and duty lists are written to workbooks and
imported into an empty database; the demo's year of work is done there too; every standing,
breakdown and rank must be equal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import col, select

from bot.demo_data import build_demo
from models.ranks import ranked
from models.rules import Rules
from models.store import Store, make_engine
from models.tables import Cadre, Period, Standing, Task, Unit
from tests.conftest import FakeClock
from ui import excel_jobs
from ui.i18n import Translator

T = Translator("zh_CN")


def _standings(store: Store) -> dict[tuple[str, str], dict[str, Any]]:
    """Every standing by its assessee's code, task ids replaced by task codes."""
    with store.session() as session:
        cadres = {c.id: c.code for c in session.exec(select(Cadre))}
        units = {u.id: u.code for u in session.exec(select(Unit))}
        tasks = {str(t.id): t.code for t in session.exec(select(Task))}
        found = {}
        for s in session.exec(select(Standing).order_by(col(Standing.id))).all():
            owner = ("cadre", cadres[s.cadre_id]) if s.cadre_id else ("unit", units[s.unit_id])
            found[owner] = {
                "group": units.get(s.group_unit_id), "post": s.post_category, "base": s.base,
                "key": s.key_points, "innovation": s.innovation,
                "collaboration": s.collaboration, "total": s.total, "difficulty": s.difficulty,
                "rank_in_unit": ranked(session, s).rank_in_unit,
                "rank_in_post": ranked(session, s).rank_in_post,
                "breakdown": {tasks[k]: v for k, v in s.breakdown.items()},
            }
    return found


def test_the_demo_imported_from_excel_scores_the_same(
        store: Store, engine: Engine, rules: Rules, clock: FakeClock, tmp_path: Path) -> None:
    demo = build_demo(store)
    with store.session() as session:
        period = session.exec(select(Period).where(Period.code == demo.period_code)).one()
    roster = excel_jobs.export_roster(store, T)
    duty_lists = excel_jobs.export_tasks(store, period, T)
    expected = _standings(store)

    # A second, empty database of the same kind.
    if engine.dialect.name == "sqlite":
        other_engine = make_engine(f"sqlite:///{tmp_path / 'from-excel.db'}")
        from models.migrate import upgrade

        upgrade(other_engine)
    else:  # the same PostgreSQL database, emptied: what it held is captured above
        from tests.conftest import _truncate_postgres

        _truncate_postgres(engine)
        other_engine = engine
    other = Store(other_engine, rules, timezone="Asia/Shanghai", clock=clock)

    def from_excel(target: Store) -> None:
        for content in (roster, duty_lists):
            result = excel_jobs.import_file(target, content)
            assert result.changed and not any(c.updated for c in result.counts.values())

    summary = build_demo(other, organise=from_excel)
    assert (summary.units, summary.cadres, summary.tasks, summary.reports, summary.claims) == (
        demo.units, demo.cadres, demo.tasks, demo.reports, demo.claims)
    got = _standings(other)
    assert len(got) == len(expected) > 60
    assert got == expected
    if other_engine is not engine:
        other_engine.dispose()
