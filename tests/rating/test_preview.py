"""The preview: each unit's difficulty, ratio and slots, its members' grades, and a tie at the
boundary with how SCORING.md's order broke it. A pure read, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from models.rating_preview import BY_BASE, preview
from models.store import Store
from models.tables import Period
from tests.rating.support import RatingUnit
from tests.support.snapshot import snapshot
from tests.support.world import World


def _preview(store: Store, world: World):  # type: ignore[no-untyped-def]
    with store.session() as session:
        period = session.get(Period, world.id.year)
        assert period is not None
        return preview(session, store.rules, period)


def test_quota_follows_the_units_difficulty_and_the_tie_is_named(
    store: Store, world: World, rated: RatingUnit
) -> None:
    before = snapshot(store.engine)
    result = _preview(store, world)
    assert snapshot(store.engine) == before  # a preview writes nothing

    unit = next(u for u in result.pools if u.code == "pdb")
    assert (unit.difficulty, unit.ratio, unit.slots) == (Fraction(6, 5), Fraction(2, 5), 2)
    assert [(m.code, m.total, m.rank, m.grade) for m in unit.members] == [
        ("R1", Decimal("95.00"), 1, "excellent"),
        ("R2", Decimal("92.00"), 2, "excellent"),
        ("R3", Decimal("92.00"), 2, "competent"),
        ("R4", Decimal("80.00"), 4, "competent"),
        ("R5", Decimal("50.00"), 5, "incompetent"),
    ]
    tie = unit.tie
    assert tie is not None
    assert [m.code for m in tie.inside] == ["R2"] and [m.code for m in tie.outside] == ["R3"]
    assert (tie.total, tie.decided_by) == (Decimal("92.00"), BY_BASE)
    assert (tie.inside_value, tie.outside_value) == ("92.0000", "90.0000")


def test_units_without_own_tasks_get_the_base_ratio_and_no_false_tie(
    store: Store, world: World, rated: RatingUnit
) -> None:
    result = _preview(store, world)
    township = next(u for u in result.pools if u.code == "yst")
    # D 1 -> 20 %: two rated members give no slot at all, so nobody is excellent, no tie.
    assert (township.difficulty, township.ratio, township.slots) == (1, Fraction(1, 5), 0)
    assert [m.code for m in township.members] == ["P001", "P002"]
    assert {m.grade for m in township.members} == {"incompetent"}
    assert township.tie is None
    # Every active cadre is in exactly one pool: rated, or (no task) not rated.
    rated_codes = [m.code for u in result.pools for m in u.members]
    assert sorted(rated_codes) == sorted(["P001", "P002", "P003", "R1", "R2", "R3", "R4", "R5"])
    skipped = [n.code for u in result.pools for n in u.not_rated]
    assert sorted(skipped) == sorted(["A001", "M001", "B001", "D001", "C001"])
