"""A small organisation for database tests, built through the same operations as real data.

    city 昌吉市 (supervisor: mayor)
      township 榆树沟镇 (supervisor: boss)
        office 党政办 (core): alice, bob (growth), and boss's deputy
      department 退役军人事务局 (general, supervisor: chief): carol
    admin 考核办: admin
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from models import org
from models.store import Store
from models.tables import Cadre, Period, Task, Unit


@dataclass(frozen=True)
class Ids:
    """The world's row ids, typed as the ints they are once the rows are stored."""

    city: int
    township: int
    office: int
    bureau: int
    office_admin: int
    admin: int
    mayor: int
    boss: int
    deputy: int
    chief: int
    alice: int
    bob: int
    carol: int
    year: int
    alice_plain: int
    alice_key: int
    alice_monthly: int
    bob_task: int
    carol_task: int
    unit_task: int


@dataclass
class World:
    city: Unit
    township: Unit
    office: Unit
    bureau: Unit
    office_admin: Unit
    admin: Cadre
    mayor: Cadre
    boss: Cadre
    deputy: Cadre
    chief: Cadre
    alice: Cadre
    bob: Cadre
    carol: Cadre
    year: Period
    alice_plain: Task  # basic, business, percent
    alice_key: Task  # key, general, numeric target 12 场
    alice_monthly: Task  # basic, general, monthly, percent
    bob_task: Task
    carol_task: Task
    unit_task: Task  # the bureau's own key task, led by it, township co-operates

    def ids(self) -> dict[str, int]:
        return {name: getattr(self, name).id for name in self.__dataclass_fields__}

    @property
    def id(self) -> Ids:
        """`world.id.alice` is alice's id, an int (`world.id.alice` is Optional to mypy)."""
        return Ids(**self.ids())


def build_world(store: Store) -> World:
    with store.transaction() as ctx:
        city = org.add_unit(ctx, None, code="city", name="昌吉市", kind="city",
                            post_category="general")
        township = org.add_unit(ctx, None, code="yst", name="榆树沟镇", kind="township",
                                post_category="general", parent=city)
        office = org.add_unit(ctx, None, code="yst-dzb", name="党政办", kind="office",
                              post_category="core", parent=township)
        bureau = org.add_unit(ctx, None, code="va", name="退役军人事务局", kind="department",
                              post_category="general", parent=city)
        office_admin = org.add_unit(ctx, None, code="khb", name="市委考核办", kind="department",
                                    post_category="general", parent=city)

        def person(code: str, name: str, unit: Unit, **kw: object) -> Cadre:
            cadre = org.add_cadre(ctx, None, code=code, name=name, unit=unit, **kw)  # type: ignore[arg-type]
            ctx.session.flush()
            return cadre

        admin = person("A001", "考核办管理员", office_admin, is_admin=True)
        mayor = person("M001", "市领导", city)
        boss = person("B001", "镇领导", township)
        deputy = person("D001", "副镇长", township)
        chief = person("C001", "局长", bureau)
        alice = person("P001", "艾丽", office)
        bob = person("P002", "鲍勃", office, profile="growth")
        carol = person("P003", "卡萝", bureau)
        org.add_supervision(ctx, None, mayor, city)
        org.add_supervision(ctx, None, boss, township)
        org.add_supervision(ctx, None, chief, bureau)
        year = org.add_period(ctx, None, code="2026", name="2026年度", kind="year",
                              starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31), active=True)
        ctx.session.flush()
        alice_plain = org.add_task(
            ctx, None, period=year, code="T1", title="压缩业务办理时限", dimension="basic",
            category="business", weight=Decimal(10), cadre=alice, source="city_report",
            deadline=date(2026, 9, 30))
        alice_key = org.add_task(
            ctx, None, period=year, code="T2", title="举办招聘会", dimension="key",
            category="general", weight=Decimal(10), cadre=alice, source="region",
            target=Decimal(12), measure="场", deadline=date(2026, 12, 15))
        alice_monthly = org.add_task(
            ctx, None, period=year, code="T3", title="网格化巡查", dimension="basic",
            category="general", weight=Decimal(5), cadre=alice, source="unit_points",
            recurrence="monthly", deadline=date(2026, 1, 25))
        bob_task = org.add_task(
            ctx, None, period=year, code="T4", title="民族团结一家亲活动", dimension="basic",
            category="business", weight=Decimal(10), cadre=bob, source="prefecture")
        carol_task = org.add_task(
            ctx, None, period=year, code="T5", title="走访慰问驻地部队", dimension="key",
            category="business", weight=Decimal(10), cadre=carol, source="prefecture")
        unit_task = org.add_task(
            ctx, None, period=year, code="U1", title="爱国主义教育宣讲", dimension="key",
            category="business", weight=Decimal(10), unit=bureau, source="region",
            lead_unit=bureau)
        ctx.session.flush()
        org.add_cooperation(ctx, None, unit_task, township, Decimal("0.5"))
    return World(city, township, office, bureau, office_admin, admin, mayor, boss, deputy, chief,
                 alice, bob, carol, year, alice_plain, alice_key, alice_monthly, bob_task,
                 carol_task, unit_task)
