"""Over the whole demo organisation, for every cadre, through the real bot: the parts /score
shows sum to the total it shows (which is the stored total), and the task lines to the base.
And the demo's rating pools give its best cadres a chance at 优秀. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlmodel import col, select

from bot.demo_data import build_demo
from models.rating_preview import preview
from models.store import Store
from models.tables import Cadre, Period, Standing
from tests.bot.harness import BotHarness

NUMBER = r"(-?\d+\.\d\d)"


@pytest.fixture
def demo(store: Store) -> Iterator[BotHarness]:
    build_demo(store)
    harness = BotHarness(store)
    yield harness
    harness.close()


def test_every_demo_cadres_score_adds_up(demo: BotHarness, store: Store) -> None:
    with store.session() as session:
        period = session.exec(select(Period).where(col(Period.is_active))).one()
        cadres = session.exec(select(Cadre).where(col(Cadre.active))
                              .order_by(col(Cadre.id))).all()
        totals = {s.cadre_id: s.total for s in session.exec(
            select(Standing).where(Standing.period_id == period.id,
                                   col(Standing.cadre_id).is_not(None))).all()}
    checked = 0
    for number, cadre in enumerate(cadres, start=1):
        if cadre.id not in totals:
            continue
        user = 700000 + number
        demo.join(cadre, user)
        text = "\n".join(m.body for m in demo.say(user, "/score"))
        total = Decimal(_one(rf"总分：{NUMBER}", text))
        parts = [Decimal(p) for p in re.findall(rf"(?:基础得分|创新加分|协同加分) {NUMBER}",
                                                _line("= 基础得分", text))]
        base = Decimal(_one(rf"基础得分：{NUMBER}", text))
        lines = [Decimal(p) for p in re.findall(rf"→ {NUMBER} 分", text)]
        assert total == totals[cadre.id], cadre.code
        assert sum(parts) == total, (cadre.code, parts, total)
        assert parts[0] == base and sum(lines) == base, (cadre.code, lines, base)
        checked += 1
    assert checked >= 60


def test_the_demos_pools_let_a_small_units_best_cadre_be_excellent(store: Store) -> None:
    """Rated unit by unit, most demo units (3-4 people) had no 优秀 place at all."""
    build_demo(store)
    with store.session() as session:
        period = session.exec(select(Period).where(col(Period.is_active))).one()
        pools = preview(session, store.rules, period).pools
    with_slots = [p for p in pools if p.slots > 0]
    assert len(with_slots) >= len([p for p in pools if p.members]) - 1
    assert all(m.grade != "excellent" or m.total >= 90 for p in pools for m in p.members)


def _one(pattern: str, text: str) -> str:
    found = re.search(pattern, text)
    assert found is not None, (pattern, text)
    return found.group(1)


def _line(start: str, text: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(start))
