"""`kaohe delegation`, `kaohe supervision`, `kaohe cadre`: taking rights back from the command
line. Changes name the admin doing them with --by (a staff code), so the audit log says who."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click
from rich.table import Table
from sqlmodel import select

from bot.cli import CliState, _fail, _guarded, console, main
from bot.cli_rating import _admin_id
from models.privileges import (
    deactivate_cadre,
    delegations,
    revoke_delegation,
    revoke_supervision,
)
from models.store import Ctx
from models.tables import Cadre, Unit

T = TypeVar("T")
_BY = click.option("--by", "admin_code", help="Staff code of the admin doing it.")


def _run(state: CliState, operation: Callable[[Ctx], T]) -> T:
    with state.context.store.transaction() as ctx:
        return operation(ctx)


def _cadre(state: CliState, code: str) -> Cadre:
    with state.context.store.session() as session:
        cadre = session.exec(select(Cadre).where(Cadre.code == code.strip())).first()
    if cadre is None:
        _fail(state.t("cli.privileges.unknown_cadre", code=code))
        raise SystemExit(2)  # for the type checker: _fail exits
    return cadre


def _unit(state: CliState, code: str) -> Unit:
    with state.context.store.session() as session:
        unit = session.exec(select(Unit).where(Unit.code == code.strip())).first()
    if unit is None:
        _fail(state.t("cli.privileges.unknown_unit", code=code))
        raise SystemExit(2)
    return unit


@main.group()
def delegation() -> None:
    """Review delegations: list them, revoke one."""


@delegation.command("list")
@click.option("--person", "person_code", help="Only those this supervisor gave (staff code).")
@click.option("--all", "ended_too", is_flag=True, help="Also those over or revoked.")
@click.pass_obj
@_guarded
def delegation_list(state: CliState, person_code: str | None, ended_too: bool) -> None:
    """Delegations running or still to come, newest first."""
    t, store = state.t, state.context.store
    supervisor_id = None if person_code is None else _cadre(state, person_code).id
    today = store.today()
    with store.session() as session:
        lines = delegations(session, today, supervisor_id=supervisor_id, ended_too=ended_too,
                            limit=500)
    if not lines:
        console.print(t("cli.privileges.none"))
        return
    table = Table(title=t("cli.privileges.title"))
    for key in ("cli.col.delegation", "cli.col.supervisor", "cli.col.delegate",
                "cli.col.dates", "cli.col.state"):
        table.add_column(t(key))
    for line in lines:
        table.add_row(str(line.id), line.supervisor, line.delegate,
                      f"{line.starts_on} ~ {line.ends_on}",
                      t(f"privileges.state.{line.state(today)}"))
    console.print(table)


@delegation.command("revoke")
@click.argument("delegation_id", type=click.IntRange(min=1, max=2**31 - 1))
@_BY
@click.pass_obj
@_guarded
def delegation_revoke(state: CliState, delegation_id: int, admin_code: str | None) -> None:
    """Revoke a delegation (its number, from `kaohe delegation list`)."""
    admin_id = _admin_id(state, admin_code)
    revoked = _run(state, lambda ctx: revoke_delegation(ctx, admin_id, delegation_id))
    with state.context.store.session() as session:
        names = {c.id: c.name for c in session.exec(select(Cadre).where(
            Cadre.id.in_([revoked.supervisor_id, revoked.delegate_id]))).all()}  # type: ignore[union-attr]
    console.print(state.t("cli.privileges.revoked", id=delegation_id,
                          supervisor=names[revoked.supervisor_id],
                          delegate=names[revoked.delegate_id]))


@main.group()
def supervision() -> None:
    """Supervision 分管: revoke one."""


@supervision.command("revoke")
@click.argument("cadre_code")
@click.argument("unit_code")
@_BY
@click.pass_obj
@_guarded
def supervision_revoke(state: CliState, cadre_code: str, unit_code: str,
                       admin_code: str | None) -> None:
    """The cadre (staff code) no longer supervises the unit (unit code)."""
    admin_id = _admin_id(state, admin_code)
    cadre, unit = _cadre(state, cadre_code), _unit(state, unit_code)
    _run(state, lambda ctx: revoke_supervision(ctx, admin_id, cadre.id or 0, unit.id or 0))
    console.print(state.t("cli.privileges.supervision_revoked", name=cadre.name, unit=unit.name))


@main.group()
def cadre() -> None:
    """Cadres: deactivate one."""


@cadre.command("deactivate")
@click.argument("cadre_code")
@_BY
@click.pass_obj
@_guarded
def cadre_deactivate(state: CliState, cadre_code: str, admin_code: str | None) -> None:
    """The cadre leaves: no more use of Kaohe, supervisions end, out of the open periods' ranks."""
    admin_id = _admin_id(state, admin_code)
    found = _cadre(state, cadre_code)
    _run(state, lambda ctx: deactivate_cadre(ctx, admin_id, found.id or 0))
    console.print(state.t("cli.privileges.deactivated", name=found.name, code=found.code))
