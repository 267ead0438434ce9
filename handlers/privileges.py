"""Taking rights back in the bot: /delegations lists the delegations a supervisor gave (an
admin: everyone's) with a button to revoke each; 管理 → 人员权限 lets an admin pick a cadre
(handlers/picker.py: by unit, or a name or staff code typed), revoke their supervisions and
deactivate them. The buttons' doors
(ui/callbacks.py DelegationRevoke, SupervisionRevoke, CadreDeactivate) let only those they are
for press them, and every change goes through models/privileges.py, which checks the right
again and audits it.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    CommandHandler,
    ConversationHandler,
)

from handlers.common import (
    Context,
    Person,
    answer,
    canceller,
    menu,
    person,
    read,
    refuse,
    run,
)
from handlers.dispatch import on
from handlers.picker import office_picker
from models.doors import Door
from models.errors import Refused
from models.privileges import (
    deactivate_cadre,
    delegations,
    revoke_delegation,
    revoke_supervision,
    supervisions_of,
)
from models.tables import Cadre, Unit
from ui.callbacks import AdminAction, CadreDeactivate, DelegationRevoke, SupervisionRevoke

WHO = "pv_who"
KEY = "privileges"
SHOWN = 10  # revoke buttons under one list
PICKER = office_picker("privileges", "picker.ask_cadre", with_inactive=True)


async def list_delegations(update: Update, context: Context) -> None:
    """/delegations: the ones this supervisor gave that run or are to come (admins: all)."""
    p = await person(update, context, Door.REVIEWER)
    if p is None:
        return
    today = context.kaohe.store.today()
    lines = await read(context, lambda s: delegations(
        s, today, supervisor_id=None if p.admin else p.id))
    if not lines:
        await answer(update, p.r.text("privileges.none"))
        return
    text = "\n".join([p.r.text("privileges.list_title", count=len(lines))] + [
        p.r.text("privileges.line", id=line.id, supervisor=line.supervisor,
                 delegate=line.delegate, starts=line.starts_on, ends=line.ends_on,
                 state=p.r.label(f"privileges.state.{line.state(today)}"))
        for line in lines])
    rows = [[DelegationRevoke(line.id).button(
        p.r.label("privileges.revoke_button", id=line.id, delegate=line.delegate))]
        for line in lines[:SHOWN]]
    await answer(update, text, InlineKeyboardMarkup(rows))


async def revoke(update: Update, context: Context, p: Person, tap: DelegationRevoke) -> None:
    query = update.callback_query
    assert query is not None
    try:
        revoked = await run(context, lambda ctx: revoke_delegation(ctx, p.id, tap.delegation))
    except Refused as refusal:
        await refuse(update, context, refusal)  # answers the tap: an alert
        return
    await query.answer()
    delegate = await read(context, lambda s: s.get(Cadre, revoked.delegate_id))
    await query.edit_message_text(p.r.text("privileges.revoked", id=tap.delegation,
                                           delegate=delegate.name if delegate else ""))


# -- an admin manages one cadre's rights ------------------------------------------------------


async def _admin(update: Update, context: Context) -> Person | None:
    return await person(update, context, Door.ADMIN)


async def ask_cadre(update: Update, context: Context, p: Person, tap: AdminAction) -> str:
    assert update.callback_query is not None
    await update.callback_query.answer()
    await PICKER.start(update, context, p)
    return WHO


async def show_cadre(update: Update, context: Context, p: Person, cadre_id: int) -> str | int:
    """The cadre tapped or found: their unit, state and supervisions, with what can be done."""
    found = await read(context, lambda s: _card_data(s, cadre_id))
    if found is None:
        await answer(update, p.r.text("picker.no_cadre"))
        return WHO
    cadre, unit, supervised = found
    text = p.r.text("privileges.card", name=cadre.name, code=cadre.code, unit=unit.name,
                    state=p.r.label("privileges.active" if cadre.active
                                    else "privileges.inactive"),
                    units="、".join(u.name for u in supervised)
                    or p.r.label("privileges.no_units"))
    assert cadre.id is not None
    rows = [[SupervisionRevoke(cadre.id, u.id or 0).button(
        p.r.label("privileges.revoke_supervision_button", unit=u.name))]
        for u in supervised[:SHOWN]]
    if cadre.active and cadre.id != p.id:
        rows.append([CadreDeactivate("ask", cadre.id).button(
            p.r.label("privileges.deactivate_button"))])
    await answer(update, text, InlineKeyboardMarkup(rows) if rows else menu(p))
    return ConversationHandler.END


def _card_data(session: Session, cadre_id: int) -> tuple[Cadre, Unit, list[Unit]] | None:
    cadre = session.get(Cadre, cadre_id)
    if cadre is None or cadre.id is None:
        return None
    unit = session.get(Unit, cadre.unit_id)
    assert unit is not None
    return cadre, unit, supervisions_of(session, cadre.id)


async def end_supervision(update: Update, context: Context, p: Person,
                          tap: SupervisionRevoke) -> None:
    assert update.callback_query is not None
    try:
        await run(context, lambda ctx: revoke_supervision(ctx, p.id, tap.cadre, tap.unit))
    except Refused as refusal:
        await refuse(update, context, refusal)  # answers the tap: an alert
        return
    await update.callback_query.answer()
    cadre, unit = await read(context, lambda s: (s.get(Cadre, tap.cadre), s.get(Unit, tap.unit)))
    await answer(update, p.r.text("privileges.supervision_revoked",
                                  name=cadre.name if cadre else "",
                                  unit=unit.name if unit else ""), menu(p))


async def deactivation(update: Update, context: Context, p: Person,
                       tap: CadreDeactivate) -> None:
    """ask: are you sure? yes: deactivate. no: leave it."""
    query = update.callback_query
    assert query is not None
    if tap.step != "yes":
        await query.answer()
    if tap.step == "no":
        await query.edit_message_text(p.r.text("privileges.cancelled"))
        return
    if tap.step == "ask":
        cadre = await read(context, lambda s: s.get(Cadre, tap.cadre))
        if cadre is None:
            return
        await answer(update, p.r.text("privileges.confirm_deactivate", name=cadre.name),
                     InlineKeyboardMarkup([[
                         CadreDeactivate("yes", tap.cadre).button(
                             p.r.label("privileges.confirm_yes")),
                         CadreDeactivate("no", tap.cadre).button(
                             p.r.label("privileges.confirm_no"))]]))
        return
    try:
        cadre = await run(context, lambda ctx: deactivate_cadre(ctx, p.id, tap.cadre))
    except Refused as refusal:
        await refuse(update, context, refusal)  # answers the tap: an alert
        return
    await query.answer()
    await query.edit_message_text(p.r.text("privileges.deactivated", name=cadre.name))


def register(application: Application[Any, Context, Any, Any, Any, Any]) -> None:
    application.add_handler(ConversationHandler(
        entry_points=[on(AdminAction, ask_cadre, when=lambda tap: tap.action == "privileges")],
        states={WHO: PICKER.handlers(WHO, show_cadre)},
        fallbacks=[CommandHandler("cancel", canceller(KEY, "privileges.cancelled"))],
        name="privileges", persistent=True, allow_reentry=True,
    ))
    application.add_handler(CommandHandler("delegations", list_delegations))
    application.add_handler(on(DelegationRevoke, revoke))
    application.add_handler(on(SupervisionRevoke, end_supervision))
    application.add_handler(on(CadreDeactivate, deactivation))
