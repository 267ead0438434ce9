"""/admin for the assessment office: boost a key task, set a difficulty, issue an invite code,
switch the active period, review innovation claims. Every change goes through an audited
models operation, which checks on the server that the actor is an admin.

A task or a person is named with handlers/picker.py (a unit, then its tasks or people; or a
name typed), and what would be refused whatever comes next is said as soon as it is named
(a boost on a basic task); an invite for a cadre already bound, and a period switch, ask
first, saying what would change."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlmodel import Session, col, select
from telegram import InlineKeyboardMarkup, InputFile, Update
from telegram.ext import (
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from handlers import audit, excel
from handlers.amounts import normalize
from handlers.common import (
    Context,
    KaoheApp,
    Person,
    answer,
    app,
    canceller,
    menu,
    menu_labels,
    person,
    read,
    refusal_text,
    refuse,
    run,
)
from handlers.dispatch import on
from handlers.picker import office_picker
from models import jobs
from models.admin import (
    activate_period,
    check_task_change,
    period_switch,
    set_boost,
    set_difficulty,
)
from models.doors import Door
from models.errors import Refused
from models.invites import issue_invite
from models.jobs import JobKind
from models.outbox import failed_deliveries
from models.tables import Cadre, Period, Supervision, Task, Unit
from models.views import (
    active_period,
    blocked_people,
    waiting_claims,
)
from scoring import plain
from ui import cards, digests
from ui.callbacks import (
    AdminAction,
    AdminActionName,
    AdminPeriod,
    AdminPeriodConfirm,
    InviteBound,
)
from ui.cards import Card
from ui.delivery import delivery_problems
from ui.render import typed_quote

VALUE, CADRE, INVITE_SURE = "value", "cadre", "invite_sure"
TASK = {"boost": "task", "difficulty": "task_difficulty"}  # a state each: a picker each
KEY = "admin"
PICKERS = {"boost": office_picker("boost", "picker.ask_key_task", tasks=True, key_only=True),
           "difficulty": office_picker("difficulty", "picker.ask_task", tasks=True)}
INVITE = office_picker("invite", "picker.ask_cadre")


async def _admin(update: Update, context: Context) -> Person | None:
    return await person(update, context, Door.ADMIN)


async def begin(update: Update, context: Context) -> str | int:
    p = await _admin(update, context)
    if p is None:
        return ConversationHandler.END
    actions: tuple[AdminActionName, ...] = (
        "boost", "difficulty", "invite", "period", "claims", "digest_preview", "digest_now",
        "blocked", "privileges", "rating", "audit")  # 人员权限 opens handlers/privileges.py,
    # 年度评定 handlers/rating.py
    rows = [[AdminAction(action).button(p.r.label(f"admin.{action}"))] for action in actions]
    # -- Excel: the buttons open handlers/excel.py --
    rows.append([AdminAction("xlsx").button(p.r.label("admin.excel_export")),
                 AdminAction("xlsx_in").button(p.r.label("admin.excel_import"))])
    rows.append([AdminAction("x").button(p.r.label("admin.close"))])
    await answer(update, p.r.text("admin.menu"), InlineKeyboardMarkup(rows))
    return ConversationHandler.END


async def chosen(update: Update, context: Context, p: Person, tap: AdminAction) -> str | int:
    query = update.callback_query
    assert query is not None
    await query.answer()
    action = tap.action
    context.memory[KEY] = {"action": action}
    if action == "boost" or action == "difficulty":
        await PICKERS[action].start(update, context, p)
        return TASK[action]
    if action == "invite":
        await INVITE.start(update, context, p)
        return CADRE
    if action == "period":
        await _periods(update, context, p)
    elif action == "claims":
        await _claims(update, context, p)
    elif action == "digest_preview":
        await _digest_preview(update, context, p)
    elif action == "digest_now":
        # The run for thousands is a job beside the bot (bot/jobs.py); the admin is told when
        # it is queued, through the outbox.
        await run(context, lambda ctx: jobs.enqueue(ctx, JobKind.DIGESTS, requested_by=p.id))
        await answer(update, p.r.text("admin.digest_queued"))
    elif action == "audit":
        await audit.show_latest(update, context, p)
    elif action == "blocked":
        names = await read(context, blocked_people)
        failed = await read(context, failed_deliveries)
        await answer(update, delivery_problems(p.r, names, failed, app(context).store.tz))
    return ConversationHandler.END


async def _digest_preview(update: Update, context: Context, p: Person) -> None:
    """The admin's own digest, and their first supervised unit's, sent to them right now."""
    today = app(context).store.today()

    def build(session: Session) -> list[Card]:
        period = active_period(session)
        if period is None:
            return []
        payload = {"period_id": period.id, "week": today.isoformat()}
        rules = app(context).rules
        found = [digests.cadre_digest(session, payload, p.r, p.cadre, rules=rules)]
        unit_id = session.exec(select(Supervision.unit_id).where(
            Supervision.cadre_id == p.id)).first()
        if unit_id is not None:
            found.append(digests.supervisor_digest(session, {**payload, "unit_id": unit_id},
                                                   p.r, digests.chart, margins=rules.warnings))
        return [card for card in found if card is not None]

    chat = update.effective_chat
    assert chat is not None
    for card in await read(context, build):
        if card.photo is not None:
            await chat.send_photo(InputFile(card.photo, filename="chart.png"))
        await answer(update, card.text, card.markup)


async def task_named(update: Update, context: Context, p: Person, task_id: int) -> str | int:
    """A task tapped or found: whether it may be changed at all is said now, before any value
    is asked (a basic task cannot be boosted; one's own, or one in a locked period, not at all)."""
    entered: dict[str, Any] = context.memory.get(KEY) or {}
    action = entered.get("action")
    if action != "boost" and action != "difficulty":
        return ConversationHandler.END
    try:
        found = await run(context, lambda ctx: check_task_change(ctx, p.id, task_id, action))
    except Refused as refusal:
        if refusal.code == "boost_key_only":
            title = await read(context, lambda s: s.get(Task, task_id))
            await answer(update, p.r.text("admin.boost_not_key",
                                          title=title.title if title else ""))
        else:
            await answer(update, refusal_text(p.r, refusal))
        return TASK[action]
    entered["task"] = found.id
    key = "admin.ask_boost" if action == "boost" else "admin.ask_difficulty"
    current = found.boost if action == "boost" else found.difficulty
    await answer(update, p.r.text(key, title=found.title,
                                  current="—" if current is None else format(current, "f")))
    return VALUE


async def value(update: Update, context: Context) -> str | int:
    p = await _admin(update, context)
    message = update.effective_message
    entered: dict[str, Any] = context.memory.get(KEY) or {}
    if p is None or message is None or "task" not in entered:
        return ConversationHandler.END
    text = normalize(message.text or "").rstrip("%")
    try:
        number = Decimal(text)
        if not number.is_finite():  # NaN, Infinity: Decimal reads them, no one means them
            raise InvalidOperation
    except InvalidOperation:
        await answer(update, p.r.text("admin.not_a_number", value=typed_quote(message.text or "")))
        return VALUE
    if entered["action"] == "boost":
        boost = None if number == 0 else number / 100  # typed as a percentage: 15 means 15 %
        operation = lambda ctx: set_boost(ctx, p.id, entered["task"], boost)  # noqa: E731
    else:
        operation = lambda ctx: set_difficulty(ctx, p.id, entered["task"], number)  # noqa: E731
    try:
        await run(context, operation)
    except Refused as refusal:
        if refusal.code == "boost_out_of_range":  # the admin typed a percentage: answer in one
            low, high = app(context).rules.policy("general").boost_range
            await answer(update, p.r.text("admin.boost_range", low=_percent(low),
                                          high=_percent(high)))
        else:
            await answer(update, refusal_text(p.r, refusal))
        return VALUE
    context.memory.pop(KEY, None)
    await answer(update, p.r.text("admin.saved"), menu(p))
    return ConversationHandler.END


def _percent(fraction: Any) -> str:
    return plain(fraction * 100)


async def cadre_named(update: Update, context: Context, p: Person, cadre_id: int) -> str | int:
    """A cadre tapped or found for an invite: one already bound is named, with the choice to go
    on (redeeming the code moves the binding to whoever redeems it) or stop."""
    found = await read(context, lambda s: s.get(Cadre, cadre_id))
    if found is None or not found.active:
        await answer(update, p.r.text("admin.invite_inactive",
                                      name=found.name if found else ""))
        return CADRE
    if found.telegram_user_id is None:
        return await _issue(update, context, p, found)
    context.memory[KEY] = {"action": "invite", "cadre": cadre_id}
    unit = await read(context, lambda s: s.get(Unit, found.unit_id))
    await answer(update, p.r.text("admin.invite_bound", name=found.name, code=found.code,
                                  unit=unit.name if unit else ""),
                 InlineKeyboardMarkup([[
                     InviteBound("go", cadre_id).button(p.r.label("admin.invite_bound_go")),
                     InviteBound("stop", cadre_id).button(p.r.label("admin.invite_bound_stop"))]]))
    return INVITE_SURE


async def invite_bound(update: Update, context: Context, p: Person,
                       tap: InviteBound) -> str | int:
    query = update.callback_query
    assert query is not None
    entered: dict[str, Any] = context.memory.get(KEY) or {}
    if entered.get("cadre") != tap.cadre:  # a button of an earlier question
        await query.answer(p.r.label("bot.stale_button"), show_alert=True)
        return INVITE_SURE
    await query.answer()
    context.memory.pop(KEY, None)
    await query.edit_message_reply_markup(None)
    found = await read(context, lambda s: s.get(Cadre, tap.cadre))
    if tap.step == "stop" or found is None:
        await answer(update, p.r.text("admin.invite_not_issued",
                                      name=found.name if found else ""), menu(p))
        return ConversationHandler.END
    return await _issue(update, context, p, found)


async def _issue(update: Update, context: Context, p: Person, found: Cadre) -> int:
    ttl = app(context).invite_ttl_days
    try:
        invite = await run(context, lambda ctx: issue_invite(ctx, p.id, found.id or 0, ttl))
    except Refused as refusal:
        await answer(update, refusal_text(p.r, refusal), menu(p))
        return ConversationHandler.END
    context.memory.pop(KEY, None)
    link = f"https://t.me/{context.bot.username}?start={invite.code}"
    await answer(update, p.r.render("invite_issued", cadre=found, code=invite.code, link=link,
                                    expires=invite.expires_at.astimezone(
                                        app(context).store.tz).date()), menu(p))
    return ConversationHandler.END


async def _periods(update: Update, context: Context, p: Person) -> None:
    periods = await read(context, lambda s: list(s.exec(
        select(Period).order_by(col(Period.starts_on), col(Period.kind).desc())).all()))
    rows = [[AdminPeriod(period.id or 0).button(("● " if period.is_active else "") + period.name)]
            for period in periods[:30]]
    await answer(update, p.r.text("admin.pick_period"), InlineKeyboardMarkup(rows))


async def period_chosen(update: Update, context: Context, p: Person, tap: AdminPeriod) -> None:
    """Asks first, saying what a switch changes for everyone."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    switch = await read(context, lambda s: period_switch(s, tap.period))
    if switch is None:
        await answer(update, p.r.text("admin.period_gone"))
        return
    if switch.current is not None and switch.current.id == switch.target.id:
        await query.edit_message_text(p.r.text("admin.period_already", name=switch.target.name))
        return
    text = p.r.text("admin.period_confirm", target=switch.target.name, tasks=switch.tasks,
                    people=switch.people,
                    current=switch.current.name if switch.current else "—")
    if switch.tasks == 0:
        text += "\n" + p.r.text("admin.period_confirm_empty", target=switch.target.name)
    await query.edit_message_text(text, reply_markup=InlineKeyboardMarkup([[
            AdminPeriodConfirm("ok", tap.period).button(p.r.label("admin.period_switch")),
            AdminPeriodConfirm("no", tap.period).button(p.r.label("admin.period_keep"))]]))


async def period_confirmed(update: Update, context: Context, p: Person,
                           tap: AdminPeriodConfirm) -> None:
    query = update.callback_query
    assert query is not None
    if tap.step == "no":
        await query.answer()
        current = await read(context, active_period)
        await query.edit_message_text(p.r.text(
            "admin.period_kept", name=current.name if current else "—"))
        return
    try:
        period = await run(context, lambda ctx: activate_period(ctx, p.id, tap.period))
    except Refused as refusal:
        await refuse(update, context, refusal)  # answers the tap: an alert
        return
    await query.answer()
    await query.edit_message_text(p.r.text("admin.period_active", name=period.name))


async def _claims(update: Update, context: Context, p: Person) -> None:
    waiting = await read(context, waiting_claims)
    if not waiting:
        await answer(update, p.r.text("admin.no_claims"))
        return
    for claim in waiting[:10]:
        claim_id = claim.id or 0
        card = await read(context, lambda s: cards.claim_card(s, claim_id, p.r))  # noqa: B023
        if card is not None:
            await answer(update, card.text, card.markup)


async def close(update: Update, context: Context, p: Person, tap: AdminAction) -> int:
    query = update.callback_query
    assert query is not None
    await query.answer()
    await query.edit_message_reply_markup(None)
    context.memory.pop(KEY, None)
    return ConversationHandler.END


cancel = canceller(KEY, "admin.cancelled")


def _in(*actions: str) -> Callable[[AdminAction], bool]:
    return lambda tap: tap.action in actions


def register(application: KaoheApp) -> None:
    typed = filters.TEXT & ~filters.COMMAND
    application.add_handler(ConversationHandler(
        entry_points=[on(AdminAction, chosen, when=_in("boost", "difficulty", "invite"))],
        states={**{state: PICKERS[action].handlers(state, task_named)
                   for action, state in TASK.items()},
                VALUE: [MessageHandler(typed, value)],
                CADRE: INVITE.handlers(CADRE, cadre_named),
                INVITE_SURE: [on(InviteBound, invite_bound)]},
        fallbacks=[CommandHandler("cancel", cancel)],
        name="admin", persistent=True, allow_reentry=True,
    ))
    application.add_handler(CommandHandler("admin", begin))
    application.add_handler(MessageHandler(filters.Text(menu_labels("admin")), begin))
    application.add_handler(on(AdminAction, chosen, when=_in(
        "period", "claims", "digest_preview", "digest_now", "blocked", "audit")))
    application.add_handler(on(AdminPeriod, period_chosen))
    application.add_handler(on(AdminPeriodConfirm, period_confirmed))
    application.add_handler(on(AdminAction, close, when=_in("x")))
    excel.register(application)  # -- Excel: export button, import by sending a file --
