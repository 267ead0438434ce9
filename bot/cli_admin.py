"""`kaohe admin invite STAFF_CODE`: the way into a fresh install, and a spare key for the office.

An invite code binds a Telegram account to a cadre (`/start CODE` in the bot). In the bot only
an admin issues them, so the first admin of an install gets theirs here: while no active admin
exists, the named cadre (imported with the roster) is made one. Later the command issues codes
for admins only, unless --make-admin says the office makes the cadre an admin too.
"""

from __future__ import annotations

import click
from sqlmodel import col, select

from bot.cli import CliState, _fail, _guarded, console, main
from models import invites
from models.migrate import upgrade
from models.tables import Cadre


@main.group("admin")
def admin() -> None:
    """The assessment office's administrators."""


@admin.command("invite")
@click.argument("staff_code")
@click.option("--days", type=click.IntRange(1, 365), default=None,
              help="Days the code stays valid (default: [invites] ttl_days).")
@click.option("--make-admin", is_flag=True,
              help="Make the cadre an administrator first (recorded in the audit log).")
@click.pass_obj
@_guarded
def admin_invite(state: CliState, staff_code: str, days: int | None, make_admin: bool) -> None:
    """Print an invite code for an administrator; the first one of an install is made here."""
    context, t = state.context, state.t
    upgrade(context.engine)
    with context.store.session() as session:
        cadre = session.exec(select(Cadre).where(Cadre.code == staff_code.strip(),
                                                 col(Cadre.active))).first()
    if cadre is None or cadre.id is None:
        _fail(t("cli.admin.unknown", code=staff_code))
        raise SystemExit(2)  # for the type checker: _fail exits
    ttl = days if days is not None else context.settings.invites.ttl_days
    with context.store.transaction() as ctx:
        invite, made = invites.issue_office_invite(ctx, cadre.id, ttl, make_admin=make_admin)
        code, expires = invite.code, invite.invite.expires_at
    if made:
        console.print(t("cli.admin.made", name=cadre.name, code=cadre.code), markup=False)
    local = expires.astimezone(context.store.tz).strftime("%Y-%m-%d %H:%M")
    console.print(t("cli.admin.invite", name=cadre.name, invite=code, expires=local),
                  markup=False)
