"""What a person looks at: my tasks, my score, the standings (and who has not reported)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import Session
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CommandHandler, MessageHandler, filters

from handlers.common import (
    Context,
    KaoheApp,
    Person,
    answer,
    app,
    edit_or_send,
    menu_labels,
    pager,
    paginate,
    person,
    read,
)
from handlers.dispatch import on
from handlers.whatif import task_buttons
from models.facts import AssesseeRef
from models.insight import ScoreInsight, score_insight
from models.ranks import RankedStanding
from models.shown import ShownScore, shown_score
from models.tables import Period, Unit
from models.views import (
    TaskLine,
    UnitRanking,
    active_period,
    not_reported,
    overseen_roots,
    overseen_units,
    reportable_tasks,
    standing_of,
    total_a_week_ago,
    unit_board,
    unit_rankings,
)
from models.warnings import board_lights
from ui.callbacks import RankMissing, RankUnit, RankUnits, TasksPage

TASKS_PER_PAGE = 8
UNITS_PER_PAGE = 8
UNIT_BUTTONS = 20  # units under a ranking with a button each; 查看其他单位 lists them all


# -- my tasks ---------------------------------------------------------------------------------


async def tasks(update: Update, context: Context) -> None:
    p = await person(update, context)
    if p is None:
        return
    await _tasks_page(update, context, p, 0)


async def tasks_page(update: Update, context: Context, p: Person, tap: TasksPage) -> None:
    assert update.callback_query is not None
    await update.callback_query.answer()
    await _tasks_page(update, context, p, tap.page)


async def _tasks_page(update: Update, context: Context, p: Person, page: int) -> None:
    today = app(context).store.today()

    def load(session: Session) -> tuple[Period | None, list[TaskLine]]:
        period = active_period(session)
        return period, ([] if period is None else reportable_tasks(session, p.cadre, period, today))

    period, lines = await read(context, load)
    if period is None:
        await answer(update, p.r.text("bot.no_active_period"))
        return
    # Key tasks first, then routine duties; most urgent first within each.
    lines.sort(key=lambda line: line.task.dimension != "key")
    shown = paginate(lines, page, TASKS_PER_PAGE)
    text = p.r.render("tasks", period=period, lines=shown.shown, count=len(lines), today=today)
    rows = task_buttons(p.r, shown.shown, p.id)  # 推演 (handlers/whatif.py)
    if row := pager(p.r, TasksPage, shown):
        rows.append(row)
    await edit_or_send(update, text, InlineKeyboardMarkup(rows) if rows else None)


# -- my score ---------------------------------------------------------------------------------


@dataclass
class ScoreView:
    period: Period
    standing: RankedStanding | None
    week_ago: Decimal | None
    unit: Unit | None
    shown: ShownScore | None  # the figures, adding up (models/shown.py)
    insight: ScoreInsight | None = None  # 提分建议, the 优秀 line, the trend (models/insight.py)


async def score(update: Update, context: Context) -> None:
    p = await person(update, context)
    if p is None:
        return
    today, rules = app(context).store.today(), app(context).rules

    def load(session: Session) -> ScoreView | None:
        period = active_period(session)
        if period is None:
            return None
        standing = standing_of(session, period, cadre_id=p.id)
        figures = None if standing is None else shown_score(
            session, rules, period, AssesseeRef.cadre(p.id))
        lines = reportable_tasks(session, p.cadre, period, today)
        return ScoreView(period, standing, total_a_week_ago(session, period, p.id, today),
                         session.get(Unit, p.cadre.unit_id), figures,
                         score_insight(session, rules, period, p.cadre, today, standing, lines))

    view = await read(context, load)
    if view is None:
        await answer(update, p.r.text("bot.no_active_period"))
        return
    post = rules.post_categories.get(p.cadre.post_category)
    post_label = (post.label_zh if p.r.locale == "zh_CN" else post.label_en) if post else ""
    change = None
    if view.standing is not None and view.week_ago is not None:
        change = view.standing.total - view.week_ago
    await answer(update, p.r.render(
        "score", cadre=p.cadre, view=view, s=view.standing, shown=view.shown, change=change,
        post_label=post_label,
    ))


# -- standings --------------------------------------------------------------------------------


async def rank(update: Update, context: Context) -> None:
    """Everyone sees their unit's people; a leader (supervisor, delegate, admin) first sees the
    units they oversee ranked by the units' own scores, each a button to its people."""
    p = await person(update, context)
    if p is None:
        return
    if p.supervisor or p.admin:
        today = app(context).store.today()

        def load(session: Session) -> tuple[Period | None, list[UnitRanking]]:
            period = active_period(session)
            if period is None:
                return None, []
            return period, unit_rankings(session, period, overseen_roots(session, p.cadre, today))

        period, rankings = await read(context, load)
        if period is not None and rankings:
            await _unit_rankings(update, p, period, rankings)
            return
    await _board(update, context, p, p.cadre.unit_id)


async def _unit_rankings(update: Update, p: Person, period: Period,
                         rankings: list[UnitRanking]) -> None:
    units = [line.unit for ranking in rankings for line in ranking.lines]
    buttons = [RankUnit(unit.id or 0).button(unit.name) for unit in units[:UNIT_BUTTONS]]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    rows.append([RankUnit(p.cadre.unit_id).button(p.r.label("rank.own_unit")),
                 RankUnits(0).button(p.r.label("rank.other_units"))])
    await answer(update, p.r.render("rank_units", period=period, rankings=rankings),
                 InlineKeyboardMarkup(rows))


async def rank_unit(update: Update, context: Context, p: Person, tap: RankUnit) -> None:
    """A unit's standings: one's own, or one overseen (the door checked which)."""
    assert update.callback_query is not None
    await update.callback_query.answer()
    await _board(update, context, p, tap.unit, edit=True)


async def rank_units(update: Update, context: Context, p: Person, tap: RankUnits) -> None:
    assert update.callback_query is not None
    await update.callback_query.answer()
    await _unit_list(update, context, p, tap.page)


async def rank_missing(update: Update, context: Context, p: Person, tap: RankMissing) -> None:
    assert update.callback_query is not None
    await update.callback_query.answer()
    await _missing(update, context, p, tap.unit)


async def _allowed_units(context: Context, p: Person) -> list[Unit]:
    today = app(context).store.today()
    return await read(context, lambda session: overseen_units(session, p.cadre, today))


async def _board(update: Update, context: Context, p: Person, unit_id: int,
                 edit: bool = False) -> None:
    """`unit_id` is the person's own unit, or one the door let them oversee."""
    overseen = await _allowed_units(context, p)

    def load(session: Session) -> tuple[Period | None, object]:
        period = active_period(session)
        unit = session.get(Unit, unit_id)
        if period is None or unit is None:
            return period, None
        return period, unit_board(session, period, unit, p.cadre)

    period, board = await read(context, load)
    # Supervisors see each person's and the unit's 红黄绿 light (models/warnings.py).
    lights = await read(context, lambda session: board_lights(
        session, unit_id, app(context).store.today(), app(context).rules.warnings)
    ) if overseen else None
    if period is None or board is None:
        await answer(update, p.r.text("bot.no_active_period"))
        return
    rows = []
    if overseen:
        rows.append([RankUnits(0).button(p.r.label("rank.other_units")),
                     RankMissing(unit_id).button(p.r.label("rank.not_reported"))])
    text = p.r.render("rank", period=period, board=board, lights=lights)
    markup = InlineKeyboardMarkup(rows) if rows else None
    if edit:
        await edit_or_send(update, text, markup)
    else:
        await answer(update, text, markup)


async def _unit_list(update: Update, context: Context, p: Person, page: int) -> None:
    units = await _allowed_units(context, p)
    shown = paginate(units, page, UNITS_PER_PAGE)
    rows = [[RankUnit(unit.id or 0).button(unit.name)] for unit in shown.shown]
    nav = pager(p.r, RankUnits, shown)
    if nav:
        rows.append(nav)
    await edit_or_send(update, p.r.text("rank.pick_unit"), InlineKeyboardMarkup(rows))


async def _missing(update: Update, context: Context, p: Person, unit_id: int) -> None:
    """`unit_id` is a unit the door let this person oversee."""
    today = app(context).store.today()

    def load(session: Session) -> tuple[Unit | None, list[object]]:
        period = active_period(session)
        unit = session.get(Unit, unit_id)
        if period is None or unit is None:
            return unit, []
        return unit, list(not_reported(session, period, unit, today))

    unit, missing = await read(context, load)
    await answer(update, p.r.render("not_reported", unit=unit, missing=missing[:30],
                                    more=max(0, len(missing) - 30), today=today))


def register(application: KaoheApp) -> None:
    application.add_handler(CommandHandler("tasks", tasks))
    application.add_handler(MessageHandler(filters.Text(menu_labels("tasks")), tasks))
    application.add_handler(on(TasksPage, tasks_page))
    application.add_handler(CommandHandler("score", score))
    application.add_handler(MessageHandler(filters.Text(menu_labels("score")), score))
    application.add_handler(CommandHandler("rank", rank))
    application.add_handler(MessageHandler(filters.Text(menu_labels("rank")), rank))
    application.add_handler(on(RankUnit, rank_unit))
    application.add_handler(on(RankUnits, rank_units))
    application.add_handler(on(RankMissing, rank_missing))
