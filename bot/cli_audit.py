"""`kaohe audit`: read the audit log, filtered by person, task, unit, period, action and time."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any

import click
from rich.table import Table
from sqlmodel import Session, col, select

from bot.cli import CliState, _fail, _guarded, _period, console, main
from models.audit_log import AuditFilter, Names, names_for, search
from models.tables import AuditEntry, Cadre, Task, Unit
from ui.audit_words import AuditWords


def _one(session: Session, state: CliState, model: Any, code: str, what: str) -> Any:
    row = session.exec(select(model).where(model.code == code.strip())).first()
    if row is None:
        _fail(state.t("cli.audit.unknown", what=state.t(f"cli.audit.{what}"), code=code))
    return row


def _day(state: CliState, value: str | None, *, end: bool = False) -> datetime | None:
    """A local calendar date as the UTC moment it starts (or, for --until, ends)."""
    if value is None:
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        _fail(state.t("cli.audit.bad_date", value=value))
        raise
    if end:
        day += timedelta(days=1)
    return datetime.combine(day, time(0), tzinfo=state.context.store.tz)


@main.command("audit")
@click.option("--person", help="Staff code: entries about this cadre or done by them.")
@click.option("--task", "task_code", help="Task code (with --period when codes repeat).")
@click.option("--unit", "unit_code", help="Unit code.")
@click.option("--below", is_flag=True, help="With --unit: the units below it too.")
@click.option("--period", "period_code", help="Period code.")
@click.option("--action", help='An action ("report.approve"), or a prefix ending in "."')
@click.option("--since", help="From this date (YYYY-MM-DD, local).")
@click.option("--until", help="Up to and including this date.")
@click.option("--limit", default=200, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_obj
@_guarded
def audit(state: CliState, person: str | None, task_code: str | None, unit_code: str | None,
          below: bool, period_code: str | None, action: str | None, since: str | None,
          until: str | None, limit: int, as_json: bool) -> None:
    """Who did what, to which row, before and after, and when (newest first)."""
    period = _period(state, period_code) if period_code else None
    with state.context.store.session() as session:
        wanted = AuditFilter(
            person_id=_one(session, state, Cadre, person, "person").id if person else None,
            task_id=_task(session, state, task_code, period) if task_code else None,
            unit_ids=_units(session, state, unit_code, below) if unit_code else (),
            period_id=period.id if period else None, action=action,
            since=_day(state, since), until=_day(state, until, end=True), limit=limit,
        )
        entries = search(session, wanted)
        names = names_for(session, entries)
    if as_json:
        for entry in entries:
            click.echo(json.dumps(_as_dict(entry), ensure_ascii=False))
        return
    if not entries:
        console.print(state.t("cli.audit.none"))
        return
    console.print(_table(state, entries, names))


def _task(session: Session, state: CliState, code: str, period: Any) -> int:
    query = select(Task).where(Task.code == code.strip())
    if period is not None:
        query = query.where(Task.period_id == period.id)
    found = session.exec(query).all()
    if not found:
        _fail(state.t("cli.audit.unknown", what=state.t("cli.audit.task"), code=code))
    if len(found) > 1:
        _fail(state.t("cli.audit.ambiguous_task", code=code))
    return found[0].id or 0


def _units(session: Session, state: CliState, code: str, below: bool) -> tuple[int, ...]:
    unit: Unit = _one(session, state, Unit, code, "unit")
    if not below:
        return (unit.id or 0,)
    ids = session.exec(select(Unit.id).where(col(Unit.path).startswith(unit.path))).all()
    return tuple(i for i in ids if i is not None)


def _table(state: CliState, entries: list[AuditEntry], names: Names) -> Table:
    """In words and local time (ui/audit_words.py); --json keeps the codes and UTC moments."""
    zone = state.context.store.tz
    table = Table(title=state.t("cli.audit.title", count=len(entries), zone=str(zone)))
    for key in ("at", "actor", "action", "row", "person", "task", "unit", "period", "change"):
        table.add_column(state.t(f"cli.audit.col.{key}"))
    words = AuditWords(state.t, zone, names)
    for e in entries:
        table.add_row(
            words.when(e), words.actor(e), words.action(e), words.target(e),
            names.cadres.get(e.cadre_id or 0, ""), names.tasks.get(e.task_id or 0, ""),
            names.units.get(e.unit_id or 0, ""), names.periods.get(e.period_id or 0, ""),
            words.change(e),
        )
    return table


def _as_dict(entry: AuditEntry) -> dict[str, Any]:
    return {"id": entry.id, "at": entry.at.isoformat(), "actor_id": entry.actor_id,
            "action": entry.action, "entity": entry.entity, "entity_id": entry.entity_id,
            "period_id": entry.period_id, "unit_id": entry.unit_id,
            "cadre_id": entry.cadre_id, "task_id": entry.task_id,
            "before": entry.before, "after": entry.after}
