"""What a person looks at: my tasks, my score, the standings (and who has not reported)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import Session
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from handlers.common import (
    Context,
    Person,
    answer,
    app,
    button,
    edit_or_send,
    int_arg,
    menu_labels,
    pager,
    person,
    read,
)
from models.tables import Period, Standing, Unit
from models.views import (
    TaskLine,
    active_period,
    not_reported,
    overseen_units,
    reportable_tasks,
    standing_of,
    total_a_week_ago,
    unit_board,
)

TASKS_PER_PAGE = 8
UNITS_PER_PAGE = 8


# -- my tasks ---------------------------------------------------------------------------------


async def tasks(update: Update, context: Context) -> None:
    p = await person(update, context)
    if p is None:
        return
    await _tasks_page(update, context, p, 0)


async def tasks_page(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    p = await person(update, context)
    if p is None:
        await query.answer()
        return
    await query.answer()
    await _tasks_page(update, context, p, int_arg(query.data, 2) or 0)


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
    pages = max(1, -(-len(lines) // TASKS_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    shown = lines[page * TASKS_PER_PAGE:(page + 1) * TASKS_PER_PAGE]
    text = p.r.render("tasks", period=period, lines=shown, count=len(lines), today=today)
    row = pager(p.r, "tasks:p", page, pages)
    await edit_or_send(update, text, InlineKeyboardMarkup([row]) if row else None)


# -- my score ---------------------------------------------------------------------------------


@dataclass
class ScoreView:
    period: Period
    standing: Standing | None
    week_ago: Decimal | None
    unit: Unit | None
    titles: dict[str, str]


async def score(update: Update, context: Context) -> None:
    p = await person(update, context)
    if p is None:
        return
    today = app(context).store.today()

    def load(session: Session) -> ScoreView | None:
        period = active_period(session)
        if period is None:
            return None
        standing = standing_of(session, period, cadre_id=p.id)
        titles = {}
        if standing is not None:
            lines = reportable_tasks(session, p.cadre, period, today)
            titles = {str(line.task.id): line.task.title for line in lines}
        return ScoreView(period, standing, total_a_week_ago(session, period, p.id, today),
                         session.get(Unit, p.cadre.unit_id), titles)

    view = await read(context, load)
    if view is None:
        await answer(update, p.r.text("bot.no_active_period"))
        return
    rules = app(context).rules
    post = rules.post_categories.get(p.cadre.post_category)
    post_label = (post.label_zh if p.r.locale == "zh_CN" else post.label_en) if post else ""
    change = None
    if view.standing is not None and view.week_ago is not None:
        change = view.standing.total - view.week_ago
    await answer(update, p.r.render(
        "score", cadre=p.cadre, view=view, s=view.standing, change=change, post_label=post_label,
    ))


# -- standings --------------------------------------------------------------------------------


async def rank(update: Update, context: Context) -> None:
    p = await person(update, context)
    if p is None:
        return
    await _board(update, context, p, p.cadre.unit_id)


async def rank_callback(update: Update, context: Context) -> None:
    """rank:u:<unit> shows a unit; rank:l:<page> lists units to pick; rank:m:<unit> who is late."""
    query = update.callback_query
    assert query is not None and query.data is not None
    p = await person(update, context)
    await query.answer()
    if p is None:
        return
    action, number = query.data.split(":")[1], int_arg(query.data, 2) or 0
    if action == "u":
        await _board(update, context, p, number, edit=True)
    elif action == "l":
        await _unit_list(update, context, p, number)
    elif action == "m":
        await _missing(update, context, p, number)


async def _allowed_units(context: Context, p: Person) -> list[Unit]:
    today = app(context).store.today()
    return await read(context, lambda session: overseen_units(session, p.cadre, today))


async def _board(update: Update, context: Context, p: Person, unit_id: int,
                 edit: bool = False) -> None:
    overseen = await _allowed_units(context, p)
    if unit_id != p.cadre.unit_id and unit_id not in {u.id for u in overseen}:
        await answer(update, p.r.text("refused.forbidden", action="rank"))
        return

    def load(session: Session) -> tuple[Period | None, object]:
        period = active_period(session)
        unit = session.get(Unit, unit_id)
        if period is None or unit is None:
            return period, None
        return period, unit_board(session, period, unit, p.cadre)

    period, board = await read(context, load)
    if period is None or board is None:
        await answer(update, p.r.text("bot.no_active_period"))
        return
    rows = []
    if overseen:
        rows.append([button(p.r.label("rank.other_units"), "rank:l:0"),
                     button(p.r.label("rank.not_reported"), f"rank:m:{unit_id}")])
    text = p.r.render("rank", period=period, board=board)
    markup = InlineKeyboardMarkup(rows) if rows else None
    if edit:
        await edit_or_send(update, text, markup)
    else:
        await answer(update, text, markup)


async def _unit_list(update: Update, context: Context, p: Person, page: int) -> None:
    units = await _allowed_units(context, p)
    pages = max(1, -(-len(units) // UNITS_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    shown = units[page * UNITS_PER_PAGE:(page + 1) * UNITS_PER_PAGE]
    rows = [[button(unit.name, f"rank:u:{unit.id}")] for unit in shown]
    nav = pager(p.r, "rank:l", page, pages)
    if nav:
        rows.append(nav)
    await edit_or_send(update, p.r.text("rank.pick_unit"), InlineKeyboardMarkup(rows))


async def _missing(update: Update, context: Context, p: Person, unit_id: int) -> None:
    overseen = await _allowed_units(context, p)
    if unit_id not in {u.id for u in overseen}:
        await answer(update, p.r.text("refused.forbidden", action="rank"))
        return
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


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler("tasks", tasks))
    application.add_handler(MessageHandler(filters.Text(menu_labels("tasks")), tasks))
    application.add_handler(CallbackQueryHandler(tasks_page, pattern=r"^tasks:p:\d+$"))
    application.add_handler(CommandHandler("score", score))
    application.add_handler(MessageHandler(filters.Text(menu_labels("score")), score))
    application.add_handler(CommandHandler("rank", rank))
    application.add_handler(MessageHandler(filters.Text(menu_labels("rank")), rank))
    application.add_handler(CallbackQueryHandler(rank_callback, pattern=r"^rank:[ulm]:\d+$"))
