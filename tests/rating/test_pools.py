"""Rating pools: who is rated with whom, the pool's difficulty D, the 未参评, and the small
function other features use to show "the 优秀 line". On SQLite and PostgreSQL.

The small world (tests/support/world.py) by default: the city's own pool (the mayor),
榆树沟镇 (the township's people and its 党政办), 退役军人事务局, 市委考核办 and 评定办
(tests/rating/support.py).
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from sqlmodel import select

from models import org
from models.rating_pools import excellence_line, pool_of
from models.rating_preview import RatingPreview, preview
from models.reports import approve_report, submit_report
from models.standings import refresh_all
from models.store import Store
from models.tables import Cadre, Period, Unit
from tests.rating.support import RatingUnit
from tests.support.world import World


def _preview(store: Store, world: World) -> RatingPreview:
    with store.session() as session:
        period = session.get(Period, world.year.id)
        assert period is not None
        return preview(session, store.rules, period)


def _pools(store: Store, world: World) -> dict[str, tuple[list[str], list[str], list[str]]]:
    """Pool code -> (units held, rated members, not rated), by name and staff code."""
    return {p.code: (list(p.unit_names), [m.code for m in p.members],
                     [n.code for n in p.not_rated]) for p in _preview(store, world).pools}


def _mark(store: Store, code: str, pool: bool | None) -> None:
    with store.transaction() as ctx:
        unit = ctx.session.exec(select(Unit).where(Unit.code == code)).one()
        parent = ctx.session.get(Unit, unit.parent_id) if unit.parent_id else None
        org.update_unit(ctx, None, unit, name=unit.name, kind=unit.kind,
                        post_category=unit.post_category, parent=parent,
                        timezone=unit.timezone, rating_pool=pool)


def test_by_default_each_unit_below_the_city_is_a_pool_of_its_subtree(
    store: Store, world: World, rated: RatingUnit
) -> None:
    assert _pools(store, world) == {
        "city": (["昌吉市"], [], ["M001"]),
        # The township's 党政办 is rated with the township: one quota for both.
        "yst": (["榆树沟镇", "党政办"], ["P001", "P002"], ["B001", "D001"]),
        "va": (["退役军人事务局"], ["P003"], ["C001"]),
        "khb": (["市委考核办"], [], ["A001"]),
        "pdb": (["评定办"], ["R1", "R2", "R3", "R4", "R5"], []),
    }
    skipped = _preview(store, world).not_rated(world.mayor.id or 0)
    assert skipped is not None and skipped[1].reason == "no_tasks"


def test_a_pool_marked_in_the_roster_takes_its_subtree_out_of_the_one_above(
    store: Store, world: World, rated: RatingUnit
) -> None:
    _mark(store, "yst-dzb", True)  # the 党政办 is a pool of its own
    _mark(store, "va", False)  # the bureau is none: its people go to the city's pool
    pools = _pools(store, world)
    assert pools["yst-dzb"] == (["党政办"], ["P001", "P002"], [])
    assert pools["yst"] == (["榆树沟镇"], [], ["B001", "D001"])
    assert pools["city"] == (["昌吉市", "退役军人事务局"], ["P003"], ["C001", "M001"])
    assert "va" not in pools


def test_the_pools_difficulty_weighs_its_own_and_its_sub_units_tasks_by_share(
    store: Store, world: World
) -> None:
    with store.transaction() as ctx:
        year = ctx.session.get(Period, world.year.id)
        assert year is not None
        township = ctx.session.get(Unit, world.township.id)
        office = ctx.session.get(Unit, world.office.id)
        # The township: one task from the region, D 1.2. Its office: 0.9 at a quarter of the
        # shares and 1.0 at three quarters, D 0.975. Each unit's shares sum to 100.
        org.add_task(ctx, None, period=year, code="UT", title="镇重点", dimension="basic",
                     category="business", weight=Decimal(10), unit=township, source="region")
        org.add_task(ctx, None, period=year, code="UO1", title="办要点", dimension="basic",
                     category="business", weight=Decimal(10), unit=office, source="unit_points")
        org.add_task(ctx, None, period=year, code="UO2", title="办报告", dimension="basic",
                     category="business", weight=Decimal(30), unit=office, source="city_report")
    pool = next(p for p in _preview(store, world).pools if p.code == "yst")
    assert pool.difficulty == (100 * Fraction(6, 5) + 100 * Fraction(39, 40)) / 200
    assert pool.difficulty == Fraction(87, 80)  # 1.0875
    assert pool.ratio == Fraction(1, 5) + Fraction(1, 5) * (Fraction(7, 80) / Fraction(1, 5))

    _mark(store, "yst-dzb", True)  # a nested pool's tasks are its own
    pools = {p.code: p for p in _preview(store, world).pools}
    assert pools["yst"].difficulty == Fraction(6, 5)
    assert pools["yst-dzb"].difficulty == Fraction(39, 40)


def test_pooling_small_units_gives_their_best_cadre_a_place(
    store: Store, world: World
) -> None:
    """Two offices of three: alone each has floor(0.2 x 3) = 0 places; in the township's pool
    of eight (with 艾丽 and 鲍勃) there is one, and the best cadre at 94.45 takes it."""
    progress = {"Q1": Decimal("94.45"), "Q2": Decimal(80), "Q3": Decimal(75),
                "Q4": Decimal(91), "Q5": Decimal(70), "Q6": Decimal(60)}
    with store.transaction() as ctx:
        year = ctx.session.get(Period, world.year.id)
        township = ctx.session.get(Unit, world.township.id)
        assert year is not None and township is not None
        offices = [org.add_unit(ctx, None, code=f"yst-{n}", name=f"第{n}办", kind="office",
                                post_category="general", parent=township) for n in (1, 2)]
        people = {}
        for number, code in enumerate(progress):
            people[code] = org.add_cadre(ctx, None, code=code, name=f"干部{code}",
                                         unit=offices[number // 3])
        ctx.session.flush()
        tasks = {code: org.add_task(ctx, None, period=year, code=f"T-{code}", title="事项",
                                    dimension="basic", category="business",
                                    weight=Decimal(10), cadre=cadre, source="city_report")
                 for code, cadre in people.items()}
    for code, value in progress.items():
        with store.transaction() as ctx:
            report = submit_report(ctx, people[code].id or 0, tasks[code].id or 0,
                                   progress=value)
            approve_report(ctx, world.admin.id or 0, report.id or 0, "A")
    with store.transaction() as ctx:
        year = ctx.session.get(Period, world.year.id)
        assert year is not None
        refresh_all(ctx, year)

    pool = next(p for p in _preview(store, world).pools if p.code == "yst")
    assert (pool.unit_names, pool.ratio, pool.slots) == (
        ("榆树沟镇", "党政办", "第1办", "第2办"), Fraction(1, 5), 1)
    assert [(m.code, m.total, m.grade) for m in pool.members[:2]] == [
        ("Q1", Decimal("94.45"), "excellent"), ("Q4", Decimal("91.00"), "competent")]
    assert excellence_line(pool) == Decimal("94.45")

    # The function other features use gives the same pool, loading only that pool's facts.
    with store.session() as session:
        period = session.get(Period, world.year.id)
        q6 = session.exec(select(Cadre).where(Cadre.code == "Q6")).one()
        assert period is not None
        mine = pool_of(session, store.rules, period, q6.id or 0)
        nobody = pool_of(session, store.rules, period, 10**6)
    assert mine == pool and nobody is None


def test_no_slot_means_no_excellence_line(store: Store, world: World, rated: RatingUnit) -> None:
    pools = {p.code: p for p in _preview(store, world).pools}
    assert (pools["va"].slots, excellence_line(pools["va"])) == (0, None)
    assert (pools["pdb"].slots, excellence_line(pools["pdb"])) == (2, Decimal("92.00"))
