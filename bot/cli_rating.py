"""`kaohe rate`: the annual rating from the command line (docs/rating.md).

Without an action it previews, rating pool by rating pool: the units it holds, its difficulty,
excellence ratio, slots, members, the 优秀 line, who is not rated and why, and any tie at the
slot boundary (with --members, every member's grade). The actions change data and
name the admin doing them with --by (a staff code), so the audit log says who it was.
"""

from __future__ import annotations

import click
from rich.table import Table
from sqlmodel import Session, col, select

from bot.cli import CliState, _fail, _guarded, _period, console, main
from models import rating
from models.rating_preview import RatingPreview, preview
from models.store import Ctx
from models.tables import Cadre, Period
from ui.rating_cards import difficulty_text, pool_rows, ratio_text, status_text
from ui.render import Punctuation


@main.command("rate")
@click.option("--period", "period_code", help="Period code (default: the active period).")
@click.option("--members", is_flag=True, help="Also list every member's grade, unit by unit.")
@click.option("--publish", is_flag=True, help="Publish the grades for 公示.")
@click.option("--days", type=click.IntRange(1, 30), default=None,
              help="Days of 公示, counting today (default: [rating] publicity_days).")
@click.option("--objections", is_flag=True, help="List the period's objections.")
@click.option("--answer", "objection_id", type=int, help="Answer this objection (its number).")
@click.option("--uphold/--dismiss", default=None, help="With --answer: the decision.")
@click.option("--finalise", is_flag=True, help="Store the final grades and lock the period.")
@click.option("--unlock", is_flag=True, help="Unlock a finalised period (needs --reason).")
@click.option("--reason", help="The reason for --answer or --unlock.")
@click.option("--by", "admin_code", help="Staff code of the admin doing the action.")
@click.pass_obj
@_guarded
def rate(state: CliState, period_code: str | None, members: bool, publish: bool,
         days: int | None, objections: bool, objection_id: int | None, uphold: bool | None,
         finalise: bool, unlock: bool, reason: str | None, admin_code: str | None) -> None:
    """The annual rating: preview, publish (公示), objections, finalise, unlock."""
    period = _period(state, period_code)
    actions = [name for name, chosen in (("publish", publish), ("answer", objection_id),
                                         ("finalise", finalise), ("unlock", unlock)) if chosen]
    if len(actions) > 1:
        _fail(state.t("cli.rate.one_action"))
    if actions:
        _act(state, period, actions[0], admin_code, days=days, objection_id=objection_id,
             uphold=uphold, reason=reason)
    elif objections:
        _print_objections(state, period)
    else:
        _print_preview(state, period, members)


def _act(state: CliState, period: Period, action: str, admin_code: str | None, *,
         days: int | None, objection_id: int | None, uphold: bool | None,
         reason: str | None) -> None:
    store, t = state.context.store, state.t
    admin_id = _admin_id(state, admin_code)
    period_id = period.id or 0
    if action in ("answer", "unlock") and not reason:
        _fail(t("cli.rate.need_reason"))
    if action == "answer" and uphold is None:
        _fail(t("cli.rate.one_action"))
    def act(ctx: Ctx) -> str:
        if action == "publish":
            chosen = days if days is not None else state.context.settings.rating.publicity_days
            run = rating.publish(ctx, admin_id, period_id, chosen)
            return t("cli.rate.published", period=period.name,
                     until=run.publicity_ends_on.isoformat(), days=chosen)
        if action == "answer":
            objection = rating.answer_objection(ctx, admin_id, objection_id or 0, bool(uphold),
                                                reason or "")
            return t("cli.rate.answered", id=objection.id,
                     state=t(f"objection.state.{objection.state}"))
        if action == "finalise":
            rating.finalise(ctx, admin_id, period_id)
            return t("cli.rate.finalised", period=period.name)
        rating.unlock(ctx, admin_id, period_id, reason or "")
        return t("cli.rate.unlocked", period=period.name)

    console.print(store.run(act))


def _admin_id(state: CliState, code: str | None) -> int:
    """The acting admin; whether they are one is checked by the operation itself."""
    if not code:
        _fail(state.t("cli.rate.need_admin"))
    with state.context.store.session() as session:
        cadre = session.exec(select(Cadre).where(Cadre.code == (code or "").strip(),
                                                 col(Cadre.active))).first()
    if cadre is None or cadre.id is None:
        _fail(state.t("cli.rate.unknown_admin", code=code))
        raise SystemExit(2)  # for the type checker: _fail exits
    return cadre.id


def _print_preview(state: CliState, period: Period, members: bool) -> None:
    t, context = state.t, state.context
    with context.store.session() as session:
        rated = preview(session, context.rules, period)
        run = rating.run_of(session, period.id or 0)
    table = Table(title=t("cli.rate.title", period=period.name, state=status_text(t, run)))
    for key in ("pool", "difficulty", "ratio", "slots", "members", "excellent", "tie"):
        table.add_column(t(f"cli.col.{key}"),
                         justify="right" if key in ("slots", "members", "excellent") else "left")
    for row in pool_rows(t, rated.figures()):
        notes = "\n".join(n for n in (row.line, row.not_rated, row.tie) if n)
        table.add_row(f"{row.name}{row.units}", row.difficulty, row.ratio, str(row.slots),
                      str(row.members), str(row.excellent), notes)
    console.print(table)
    if members:
        _print_members(state, rated)


def _print_members(state: CliState, rated: RatingPreview) -> None:
    t = state.t
    p = Punctuation.of(t)
    for pool in rated.pools:
        table = Table(title=t("cli.rate.members", unit=pool.name,
                              difficulty=difficulty_text(pool.difficulty),
                              ratio=ratio_text(pool.ratio), slots=pool.slots))
        for key in ("rank_pool", "name", "total", "grade"):
            table.add_column(t(f"cli.col.{key}"))
        for member in pool.members:
            table.add_row(str(member.rank), f"{member.name}{p.open}{member.code}{p.close}",
                          format(member.total, "f"), t(f"rating.grade.{member.grade}"))
        for skipped in pool.not_rated:
            table.add_row("", f"{skipped.name}{p.open}{skipped.code}{p.close}", "",
                          t("rating.not_rated_grade",
                            reason=t(f"rating.not_rated.{skipped.reason}")))
        console.print(table)


def _print_objections(state: CliState, period: Period) -> None:
    t = state.t
    p = Punctuation.of(t)
    with state.context.store.session() as session:
        rows = [(o, _name(session, p, o.cadre_id), _name(session, p, o.answered_by))
                for o in rating.objections(session, period.id or 0)]
    if not rows:
        console.print(t("objection.none"))
        return
    table = Table(title=t("cli.rate.objections", period=period.name))
    for key in ("objection", "name", "state", "reason", "answer"):
        table.add_column(t(f"cli.col.{key}"))
    for objection, name, answered_by in rows:
        answer = f"{answered_by}{p.colon}{objection.answer}" if objection.answer else ""
        table.add_row(f"#{objection.id}", name, t(f"objection.state.{objection.state}"),
                      objection.reason, answer)
    console.print(table)


def _name(session: Session, p: Punctuation, cadre_id: int | None) -> str:
    cadre = None if cadre_id is None else session.get(Cadre, cadre_id)
    return "" if cadre is None else f"{cadre.name}{p.open}{cadre.code}{p.close}"
