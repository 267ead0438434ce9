"""A unit built for the annual rating on top of the small world (tests/support/world.py).

    评定办 (general post, its own key task from the region: D = 1.2, ratio 40 %, 5 members: 2 slots)
      R1 95.00 · R2 92.00 (base 92) · R3 92.00 (base 90 + innovation 2) · R4 80.00 · R5 50.00

R2 and R3 tie on 92.00 at the boundary of the second slot; R2's higher base puts it inside.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from models import org
from models.innovation import approve_claim, claim_innovation
from models.reports import approve_report, submit_report
from models.standings import refresh_all
from models.store import Store
from models.tables import Cadre, Task, Unit
from tests.support.world import World

# (staff code, name, task source, progress, innovation claimed)
MEMBERS = (
    ("R1", "甲一", "city_report", 95, False),
    ("R2", "乙二", "city_report", 92, False),
    ("R3", "丙三", "unit_points", 100, True),
    ("R4", "丁四", "city_report", 80, False),
    ("R5", "戊五", "city_report", 50, False),
)


@dataclass
class RatingUnit:
    unit: Unit
    people: dict[str, Cadre]  # by staff code
    tasks: dict[str, Task]  # each member's one task, by staff code
    unit_task: Task


def build_rating_unit(store: Store, world: World) -> RatingUnit:
    people: dict[str, Cadre] = {}
    tasks: dict[str, Task] = {}
    with store.transaction() as ctx:
        unit = org.add_unit(ctx, None, code="pdb", name="评定办", kind="department",
                            post_category="general", parent=world.city)
        for code, name, _source, _progress, _claims in MEMBERS:
            people[code] = org.add_cadre(ctx, None, code=code, name=name, unit=unit)
        ctx.session.flush()
        for code, _name, source, _progress, _claims in MEMBERS:
            tasks[code] = org.add_task(
                ctx, None, period=world.year, code=f"RT-{code}", title=f"{code} 的履职事项",
                dimension="basic", category="business", weight=Decimal(10),
                cadre=people[code], source=source)
        unit_task = org.add_task(
            ctx, None, period=world.year, code="RT-U", title="评定办重点任务", dimension="key",
            category="business", weight=Decimal(10), unit=unit, source="region")
    for code, _name, _source, progress, claims in MEMBERS:
        with store.transaction() as ctx:
            report = submit_report(ctx, people[code].id or 0, tasks[code].id or 0,
                                   progress=Decimal(progress))
            approve_report(ctx, world.id.admin or 0, report.id or 0, "A")
        if claims:
            with store.transaction() as ctx:
                claim = claim_innovation(ctx, people[code].id or 0, "commendation", "city",
                                         "市级表彰")
                approve_claim(ctx, world.id.admin or 0, claim.id or 0)
    with store.transaction() as ctx:  # every assessee has a standing, as after the demo build
        refresh_all(ctx, world.year)
    return RatingUnit(unit, people, tasks, unit_task)
