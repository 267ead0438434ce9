"""The demo organisation: a fictional 昌吉市 (Changji city) assessed the way the seed article tells.

Townships and a street with their core offices (乡镇"五办五中心", 街道"三办三中心"), the veterans'
affairs bureau and the party school from the same newspaper page, and the assessment office.
65 cadres, each with a duty list of basic and key items from every source level, numeric targets
and monthly items, a few boosted key tasks, unit tasks with "1+N" co-operation and a decomposed
township task, innovation claims, and reports: approved with grades, waiting, and returned.

Everything is built through the same operations the bot uses (so audit entries and standings are
what real use would leave) and is deterministic for a given seed and day.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlmodel import SQLModel, col, func, select

from models import org
from models.access import reviewers_of
from models.cooperation import confirm_cooperation
from models.errors import Refused
from models.innovation import approve_claim, claim_innovation
from models.occurrences import occurrences
from models.reports import (
    approve_report,
    reject_report,
    return_report,
    save_draft,
    submit_report,
)
from models.standings import check, refresh_all
from models.store import Ctx, Store
from models.tables import Cadre, Cooperation, InnovationClaim, Period, Report, Task, Unit

# code, name, kind, post category, parent code
UNITS: tuple[tuple[str, str, str, str, str | None], ...] = (
    ("cj", "昌吉市", "city", "general", None),
    ("cj-khb", "市委考核办", "department", "general", "cj"),
    ("cj-tyjr", "市退役军人事务局", "department", "general", "cj"),
    ("cj-dx", "市委党校", "department", "general", "cj"),
    ("ysg", "榆树沟镇", "township", "general", "cj"),
    ("ysg-dzb", "榆树沟镇党政办", "office", "core", "ysg"),
    ("ysg-jfb", "榆树沟镇经济发展办", "office", "core", "ysg"),
    ("ysg-shb", "榆树沟镇社会事务办", "office", "core", "ysg"),
    ("ysg-pab", "榆树沟镇平安建设办", "office", "core", "ysg"),
    ("ysg-bmzx", "榆树沟镇便民服务中心", "office", "core", "ysg"),
    ("sgz", "三工镇", "township", "general", "cj"),
    ("sgz-dzb", "三工镇党政办", "office", "core", "sgz"),
    ("sgz-jfb", "三工镇经济发展办", "office", "core", "sgz"),
    ("sgz-dqzx", "三工镇党群服务中心", "office", "core", "sgz"),
    ("nbl", "宁边路街道", "street", "general", "cj"),
    ("nbl-dzb", "宁边路街道党政办", "office", "core", "nbl"),
    ("nbl-sqb", "宁边路街道社区建设办", "office", "core", "nbl"),
    ("nbl-zfzx", "宁边路街道综合执法中心", "office", "core", "nbl"),
)

# The people with a role (names invented, like everyone's in the demo):
# unit code -> (name, profile, is_admin, supervises the unit)
NAMED: dict[str, list[tuple[str, str, bool, bool]]] = {
    "cj": [("周建华", "standard", False, True)],  # 市领导, supervises the city
    "cj-khb": [("罗静怡", "standard", True, True), ("韩雪", "growth", True, False),
               ("马文才", "standard", False, False)],
    "cj-tyjr": [("邓国华", "standard", False, True), ("苏晓宇", "growth", False, False),
                ("吕永昌", "veteran", False, False), ("宋志军", "standard", False, False)],
    "cj-dx": [("贺立新", "standard", False, True), ("叶雨桐", "standard", False, False)],
    "ysg": [("刘志刚", "standard", False, True), ("阿依努尔·木合塔尔", "standard", False, False)],
    "sgz": [("陈国强", "standard", False, True), ("努尔兰·叶尔肯", "standard", False, False)],
    "nbl": [("杨丽萍", "standard", False, True), ("古丽米拉·吐尔洪", "standard", False, False)],
}
# How many more (generated) people each unit has.
EXTRA_PEOPLE = {"cj-tyjr": 2, "cj-dx": 3, "ysg": 1, "sgz": 1, "nbl": 1, "office": 4}

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙朱胡郭何高林罗郑梁宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭汪范金石廖贾夏付方白邹孟熊秦邱江尹薛段雷侯龙史陶贺顾毛"
    "郝龚邵万钱严武戴孔汤"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂英华建国志红玉兰文斌海波宁鹏飞晨阳雪梅"
    "欣怡浩然子涵嘉诚思远佳琪宇航"
)
MINORITY = ("迪丽娜尔·艾则孜", "买合木提·阿不都", "叶尔波拉提·哈山", "热依汗古丽·吐尔逊",
            "阿不都热合曼·依明", "哈丽旦·肉孜", "加娜尔·别克", "艾力·玉素甫")

# A duty item template: title, dimension, category, source, target, measure, recurrence
Template = tuple[str, str, str, str, int | None, str | None, str]
OFFICE_TASKS: tuple[Template, ...] = (
    ("政务服务事项网上可办率提升", "basic", "business", "city_report", None, None, "once"),
    ("网格化巡查", "basic", "general", "unit_points", None, None, "monthly"),
    ("矛盾纠纷排查化解", "key", "business", "prefecture", 40, "件", "once"),
    ("就业技能培训", "key", "business", "region", 200, "人次", "once"),
    ("“民族团结一家亲”结亲走访", "basic", "general", "prefecture", None, None, "quarterly"),
    ("爱国主义教育宣讲", "basic", "general", "prefecture", 10, "场", "once"),
    ("安全生产隐患排查", "basic", "business", "city_report", None, None, "monthly"),
    ("党建工作台账规范化", "basic", "general", "unit_points", None, None, "once"),
    ("人居环境整治", "key", "general", "city_report", None, None, "once"),
    ("惠民政策宣讲", "basic", "general", "prefecture", 12, "场", "once"),
    ("高标准农田建设协调", "key", "business", "region", None, None, "once"),
)
TOWNSHIP_LEADER_TASKS: tuple[Template, ...] = (
    ("乡村振兴重点项目推进", "key", "business", "region", None, None, "once"),
    ("招商引资项目落地", "key", "business", "prefecture", 5, "个", "once"),
    ("基层党建述职评议", "basic", "general", "city_report", None, None, "once"),
    ("信访积案化解", "key", "general", "prefecture", 10, "件", "once"),
    ("班子理论学习", "basic", "general", "unit_points", None, None, "monthly"),
)
VETERANS_TASKS: tuple[Template, ...] = (  # the bureau's year as the seed page tells it
    ("举办退役军人专场招聘会", "key", "business", "region", 15, "场", "once"),
    ("提供就业岗位", "key", "business", "region", 1500, "个", "once"),
    ("走访慰问驻地部队", "key", "business", "prefecture", 20, "次", "once"),
    ("国防教育巡回宣讲", "basic", "general", "prefecture", 12, "场", "once"),
    ("组织保密测试", "basic", "general", "unit_points", 3, "次", "once"),
    ("压缩退役军人事务办理时限", "basic", "business", "city_report", None, None, "once"),
    ("优抚对象走访慰问", "basic", "business", "city_report", None, None, "quarterly"),
    ("“庭州老兵”志愿服务", "basic", "general", "unit_points", 30, "场次", "once"),
    ("主题党日活动", "basic", "general", "unit_points", None, None, "monthly"),
)
SCHOOL_TASKS: tuple[Template, ...] = (
    ("主体班次教学", "basic", "business", "city_report", 20, "期", "once"),
    ("优秀教学成果交流", "basic", "business", "prefecture", 2, "次", "once"),
    ("专题党课打磨", "key", "business", "prefecture", 5, "门", "once"),
    ("科研课题结项", "key", "business", "region", 3, "项", "once"),
    ("理论研讨论文", "basic", "business", "prefecture", 4, "篇", "once"),
    ("送教下基层", "basic", "general", "unit_points", None, None, "quarterly"),
    ("教学质量评估", "basic", "general", "unit_points", None, None, "once"),
)
OFFICE_OF_ASSESSMENT_TASKS: tuple[Template, ...] = (
    ("履职事项清单编制", "key", "business", "city_report", None, None, "once"),
    ("季度考核数据汇总", "basic", "business", "unit_points", None, None, "quarterly"),
    ("考核结果分析报告", "basic", "general", "unit_points", None, None, "once"),
    ("履职事项清单培训", "basic", "general", "city_report", 6, "场", "once"),
)
# The units assessed as a whole: unit code -> its own tasks.
UNIT_TASKS: dict[str, tuple[Template, ...]] = {
    "ysg": (("高标准农田建设", "key", "business", "region", 5000, "亩", "once"),
            ("人居环境整治提升", "key", "general", "city_report", None, None, "once")),
    "sgz": (("设施农业提质增效", "key", "business", "prefecture", None, None, "once"),
            ("平安乡镇创建", "basic", "general", "city_report", None, None, "once")),
    "nbl": (("老旧小区改造", "key", "business", "region", 12, "个", "once"),
            ("社区治理示范创建", "basic", "general", "city_report", None, None, "once")),
    "cj-tyjr": (("双拥模范城创建", "key", "business", "region", None, None, "once"),
                ("退役军人服务保障体系建设", "basic", "general", "prefecture", None, None,
                 "once")),
    "cj-dx": (("全市干部教育培训", "key", "business", "prefecture", 30, "期", "once"),),
}
# "1+N": the lead unit's task, the co-operating unit and its share; confirmed or still pending.
COOPERATIONS = (
    ("cj-tyjr", "双拥模范城创建", "ysg", "0.5", True),
    ("cj-tyjr", "双拥模范城创建", "sgz", "0.3", True),
    ("cj-tyjr", "双拥模范城创建", "nbl", "0.2", False),
    ("cj-dx", "全市干部教育培训", "cj-khb", "0.4", True),
)
# A township task decomposed to the offices that do the work (they report, the town sees it).
DECOMPOSED = ("ysg", "人居环境整治提升", ("ysg-shb", "ysg-pab"))
INNOVATIONS = (  # kind, level, description; the last two stay waiting for the office's review
    ("commendation", "region", "获评自治区民族团结进步模范个人"),
    ("experience", "prefecture", "退役军人服务站“一站式”经验在全州推广"),
    ("reform", "city", "推行“网格+调解”工作法，矛盾纠纷就地化解率提高"),
    ("commendation", "prefecture", "专题党课入选全州党校系统优质课程"),
    ("experience", "region", "履职事项清单考核做法被自治区刊物刊发"),
    ("reform", "prefecture", "便民服务“一窗通办”改革成效显著"),
    ("commendation", "city", "获评全市优秀共产党员"),
    ("experience", "city", "社区议事协商经验在全市推广"),
)
WEIGHTS = (Decimal(5), Decimal(8), Decimal(10), Decimal(10), Decimal(12), Decimal(15))
DEADLINES = ((3, 31), (6, 30), (9, 30), (10, 31), (11, 30), (12, 20))
RETURN_REASON = "请补充佐证材料（活动照片或工作台账）后重新提交。"
REJECT_REASON = "所报事项与本任务不符，请核实后按对应任务重新填报。"


@dataclass(frozen=True)
class DemoSummary:
    units: int
    cadres: int
    tasks: int
    reports: int
    claims: int
    period_code: str
    # Who to be in the sandbox: an administrator, a supervisor with a queue, and a cadre.
    admin_id: int
    supervisor_id: int
    cadre_id: int


class _Builder:
    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.used_names: set[str] = set()
        self.unit_ids: dict[str, int] = {}
        self.diligence: dict[str, float] = {}  # cadre code -> how well their work goes, 0.4-1

    # -- the organisation -----------------------------------------------------------------

    def organisation(self, ctx: Ctx, year: int) -> Period:
        period = org.add_period(ctx, None, code=str(year), name=f"{year}年度", kind="year",
                                starts_on=date(year, 1, 1), ends_on=date(year, 12, 31),
                                active=True)
        ctx.session.flush()
        for quarter in range(1, 5):
            first = date(year, quarter * 3 - 2, 1)
            last = date(year + 1, 1, 1) if quarter == 4 else date(year, quarter * 3 + 1, 1)
            org.add_period(ctx, None, code=f"{year}Q{quarter}", name=f"{year}年第{quarter}季度",
                           kind="quarter", starts_on=first,
                           ends_on=last - timedelta(days=1), parent=period)
        units: dict[str, Unit] = {}
        for code, name, kind, category, parent in UNITS:
            units[code] = org.add_unit(ctx, None, code=code, name=name, kind=kind,
                                       post_category=category,
                                       parent=None if parent is None else units[parent])
            self.unit_ids[code] = units[code].id or 0
        number = 0
        for code, _name, kind, _category, _parent in UNITS:
            people = [(n, p, a, s) for n, p, a, s in NAMED.get(code, [])]
            extra = EXTRA_PEOPLE.get(code, EXTRA_PEOPLE["office"] if kind == "office" else 0)
            people += [(self._name(), self._profile(), False, False) for _ in range(extra)]
            for name, profile, is_admin, supervises in people:
                number += 1
                self.used_names.add(name)
                cadre = org.add_cadre(ctx, None, code=f"CJ{number:04d}", name=name,
                                      unit=units[code], profile=profile, is_admin=is_admin)
                ctx.session.flush()
                weak = self.random.random() < 0.1
                self.diligence[cadre.code] = self.random.uniform(*(0.4, 0.6) if weak else (0.6, 1))
                if supervises:
                    org.add_supervision(ctx, None, cadre, units[code])
        ctx.session.flush()
        return period

    def rehearse(self, store: Store, year: int) -> None:
        """Lay out the organisation and duty lists as the demo does, then roll them back, for
        when they come from elsewhere (an Excel import): the builder's random draws that follow
        (who works how well, which reports are late) are then the demo's own."""
        try:
            with store.transaction() as ctx:
                self.duty_lists(ctx, self.organisation(ctx, year))
                raise _Rehearsed
        except _Rehearsed:
            pass

    def adopt(self, store: Store) -> None:
        """Take the units' ids from the database (they differ when it was laid out elsewhere)."""
        with store.session() as session:
            self.unit_ids = {u.code: u.id or 0 for u in session.exec(select(Unit)).all()}

    def _name(self) -> str:
        while True:
            if self.random.random() < 0.12:
                name = self.random.choice(MINORITY)
            else:
                given = "".join(self.random.choice(GIVEN) for _ in range(self.random.randint(1, 2)))
                name = self.random.choice(SURNAMES) + given
            if name not in self.used_names:
                self.used_names.add(name)
                return name

    def _profile(self) -> str:
        roll = self.random.random()
        return "growth" if roll < 0.12 else "veteran" if roll < 0.2 else "standard"

    # -- duty lists -----------------------------------------------------------------------

    def duty_lists(self, ctx: Ctx, period: Period) -> None:
        cadres = ctx.session.exec(select(Cadre).order_by(col(Cadre.id))).all()
        units = {u.id: u for u in ctx.session.exec(select(Unit)).all()}
        for cadre in cadres:
            unit = units[cadre.unit_id]
            pool = self._pool(unit)
            if not pool:
                continue  # the city's leader reviews; nobody lists duties for them here
            count = min(len(pool), self.random.randint(4, 6))
            for index, template in enumerate(self.random.sample(pool, count), start=1):
                self._add_task(ctx, period, f"{cadre.code}-{index:02d}", template, cadre=cadre)
        for code, templates in UNIT_TASKS.items():
            unit = units[self.unit_ids[code]]
            for index, template in enumerate(templates, start=1):
                self._add_task(ctx, period, f"{code.upper()}-U{index}", template, unit=unit,
                               lead_unit=unit)
        ctx.session.flush()
        lead_code, title, offices = DECOMPOSED
        parent = self._unit_task(ctx, lead_code, title)
        for index, office in enumerate(offices, start=1):
            org.add_task(ctx, None, period=period, code=f"{office.upper()}-D{index}",
                         title=f"{title}（分解）", dimension=parent.dimension,
                         category=parent.category, weight=Decimal(10),
                         unit=units[self.unit_ids[office]], source=parent.source,
                         deadline=parent.deadline, parent=parent)
        for lead, task_title, partner, share, _confirmed in COOPERATIONS:
            task = self._unit_task(ctx, lead, task_title)
            org.add_cooperation(ctx, None, task, units[self.unit_ids[partner]], Decimal(share))
        ctx.session.flush()

    def _pool(self, unit: Unit) -> tuple[Template, ...]:
        if unit.kind == "office":
            return OFFICE_TASKS
        if unit.kind in ("township", "street"):
            return TOWNSHIP_LEADER_TASKS
        return {"cj-tyjr": VETERANS_TASKS, "cj-dx": SCHOOL_TASKS,
                "cj-khb": OFFICE_OF_ASSESSMENT_TASKS}.get(unit.code, ())

    def _add_task(self, ctx: Ctx, period: Period, code: str, template: Template,
                  **owner: object) -> Task:
        title, dimension, category, source, target, measure, recurrence = template
        month, day = self.random.choice(DEADLINES)
        # Key tasks from the region that higher levels watch closely are boosted now and then.
        boost = None
        if dimension == "key" and source == "region" and self.random.random() < 0.3:
            boost = self.random.choice((Decimal("0.1"), Decimal("0.15"), Decimal("0.2")))
        return org.add_task(
            ctx, None, period=period, code=code, title=title, dimension=dimension,
            category=category, weight=self.random.choice(WEIGHTS), source=source, boost=boost,
            target=None if target is None else Decimal(target), measure=measure,
            deadline=date(period.starts_on.year, month, day), recurrence=recurrence,
            **owner,  # type: ignore[arg-type]
        )

    def _unit_task(self, ctx: Ctx, unit_code: str, title: str) -> Task:
        task = ctx.session.exec(select(Task).where(
            Task.unit_id == self.unit_ids[unit_code], Task.title == title
        )).one()
        return task

    # -- the year's work so far -------------------------------------------------------------

    def work(self, store: Store, period: Period, admin_id: int) -> None:
        """Reports on each task, one transaction per task, as people would over the year."""
        with store.session() as session:
            tasks = session.exec(
                select(Task).where(Task.period_id == period.id).order_by(col(Task.id))
            ).all()
        for task in tasks:
            with store.transaction() as ctx:
                self._work_on(ctx, task, admin_id)

    def _work_on(self, ctx: Ctx, task: Task, admin_id: int) -> None:
        assert task.id is not None
        reporter = self._reporter(ctx, task)
        if reporter is None or (task.parent_id is None and _has_children(ctx, task)):
            return  # a decomposed task's progress is its parts'
        quality = self._quality(reporter.code)
        today = ctx.today
        period = ctx.session.get(Period, task.period_id)
        assert period is not None
        due = [o for o in occurrences(task.recurrence, task.deadline, period.starts_on,
                                      period.ends_on) if o.starts <= today]
        if task.recurrence != "once":
            due = [o for o in due if o.due is not None and o.due < today]
        for occurrence in due:
            if task.recurrence != "once" and self.random.random() > 0.4 + 0.6 * quality:
                continue  # this month was missed
            progress, actual = self._amount(task, quality)
            report = submit_report(ctx, reporter.id or 0, task.id, occurrence=occurrence.key,
                                   progress=progress, actual=actual, note=_note(task))
            # Some cadres' latest reports wait for review or were sent back (a unit's never do).
            roll = self.random.random() if task.cadre_id is not None else 1.0
            if occurrence is due[-1] and roll < 0.12:
                continue
            reviewer = self._reviewer(ctx, task, reporter, admin_id)
            if roll < 0.16:
                return_report(ctx, reviewer, report.id or 0, RETURN_REASON)
                continue
            if roll < 0.17:
                reject_report(ctx, reviewer, report.id or 0, REJECT_REASON)
                continue
            approve_report(ctx, reviewer, report.id or 0, _grade(quality))
        if task.cadre_id is not None and self.random.random() < 0.04:
            # Started on the phone and not sent yet.
            save_draft(ctx, reporter.id or 0, task.id, note="材料整理中")

    def _reporter(self, ctx: Ctx, task: Task) -> Cadre | None:
        if task.cadre_id is not None:
            return ctx.session.get(Cadre, task.cadre_id)
        # A unit's own work is reported by its first member (its leader for a town).
        return ctx.session.exec(
            select(Cadre).where(Cadre.unit_id == task.unit_id).order_by(col(Cadre.id))
        ).first()

    def _reviewer(self, ctx: Ctx, task: Task, reporter: Cadre, admin_id: int) -> int:
        unit = ctx.session.get(Unit, task.unit_id if task.unit_id is not None else
                               reporter.unit_id)
        assert unit is not None
        for reviewer in reviewers_of(ctx, unit):
            if reviewer.id != reporter.id:
                return reviewer.id or 0
        # The unit's own supervisor reports: the one above reviews (the city's, else the office).
        city_boss = ctx.session.exec(
            select(Cadre).where(Cadre.unit_id == self.unit_ids["cj"]).order_by(col(Cadre.id))
        ).first()
        return (city_boss.id or 0) if city_boss is not None else admin_id

    def _quality(self, cadre_code: str) -> float:
        base = self.diligence.get(cadre_code, 0.8)
        return min(1.0, max(0.2, self.random.gauss(base, 0.08)))

    def _amount(self, task: Task, quality: float) -> tuple[Decimal | None, Decimal | None]:
        """(progress, actual) of a report: even a weak year gets half of the work done."""
        done = 0.5 + 0.5 * quality
        if task.target is not None:
            return None, Decimal(round(float(task.target) * done))
        return Decimal(100 if done > 0.95 else round(100 * done)), None

    # -- innovation and co-operation --------------------------------------------------------

    def extras(self, store: Store, admin_id: int) -> None:
        with store.session() as session:
            claimants = session.exec(
                select(Cadre.id).where(col(Cadre.is_admin).is_(False)).order_by(col(Cadre.id))
            ).all()
        chosen = self.random.sample(list(claimants), len(INNOVATIONS))
        for index, (cadre_id, (kind, level, text)) in enumerate(
            zip(chosen, INNOVATIONS, strict=True)
        ):
            with store.transaction() as ctx:
                claim = claim_innovation(ctx, cadre_id or 0, kind, level, text)
                ctx.session.flush()
                if index < len(INNOVATIONS) - 2:
                    approve_claim(ctx, admin_id, claim.id or 0)
        for lead, title, partner, _share, confirmed in COOPERATIONS:
            if not confirmed:
                continue
            with store.transaction() as ctx:
                task = self._unit_task(ctx, lead, title)
                cooperation = ctx.session.exec(select(Cooperation).where(
                    Cooperation.task_id == task.id,
                    Cooperation.unit_id == self.unit_ids[partner],
                )).one()
                confirm_cooperation(ctx, admin_id, cooperation.id or 0)


class _Rehearsed(Exception):
    """Ends a rehearsal's transaction, so that it rolls back."""


def _has_children(ctx: Ctx, task: Task) -> bool:
    return ctx.session.exec(select(Task.id).where(Task.parent_id == task.id)).first() is not None


def _note(task: Task) -> str:
    return f"{task.title}：按计划推进，相关台账已归档。"


def _grade(quality: float) -> str:
    if quality >= 0.85:
        return "A"
    if quality >= 0.7:
        return "B"
    if quality >= 0.55:
        return "C"
    return "D"


def _count(store: Store, model: type[SQLModel]) -> int:
    with store.session() as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def build_demo(store: Store, *, year: int | None = None, seed: int = 2026,
               organise: Callable[[Store], None] | None = None) -> DemoSummary:
    """Build the demo organisation and its year so far. Refused when units exist already.

    `organise` lays out the organisation and duty lists instead of the builder (an import of
    the demo's own, from Excel, say); the year's work then follows as in the demo.
    """
    if _count(store, Unit):
        raise Refused("demo_exists")
    builder = _Builder(seed)
    if organise is None:
        with store.transaction() as ctx:
            builder.duty_lists(ctx, builder.organisation(ctx, year or ctx.today.year))
    else:
        builder.rehearse(store, year or store.today().year)
        organise(store)
        builder.adopt(store)
    with store.session() as session:
        period = session.exec(select(Period).where(col(Period.is_active))).one()
        admin = session.exec(
            select(Cadre).where(col(Cadre.is_admin)).order_by(col(Cadre.id))
        ).first()
        supervisor = session.exec(select(Cadre).where(Cadre.name == "刘志刚")).one()
        cadre = session.exec(select(Cadre).where(Cadre.name == "苏晓宇")).one()
    assert admin is not None and admin.id is not None
    builder.work(store, period, admin.id)
    builder.extras(store, admin.id)
    with store.transaction() as ctx:
        refresh_all(ctx, period)
    with store.session() as session:
        differences = check(session, store.rules, period)
    if differences:
        raise RuntimeError(f"demo data does not check: {differences[:3]}")
    return DemoSummary(
        units=_count(store, Unit), cadres=_count(store, Cadre), tasks=_count(store, Task),
        reports=_count(store, Report), claims=_count(store, InnovationClaim),
        period_code=period.code,
        admin_id=admin.id, supervisor_id=supervisor.id or 0, cadre_id=cadre.id or 0,
    )
