"""The `kaohe` command line: database, demo data, checks and standings for the assessment office.

Messages come from locales/ in the chosen language (--lang, else the configured default).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from sqlmodel import col, select

from bot.app_context import AppContext, build_context
from bot.cli_i18n import LocalisedGroup
from bot.config import ConfigError
from bot.logs import configure as configure_logging
from models.errors import Refused
from models.jobs import recompute_if_policy_changed
from models.migrate import pending, upgrade
from models.ranks import CADRE, UNIT, RankBook
from models.standings import check as check_standings
from models.tables import Cadre, Period, Standing, Unit
from ui.i18n import LOCALES, Translator, refusal_params

# Piped output (logs, CI) gets a wide table rather than rich's 80-column default.
_PIPED_WIDTH = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 160
console = Console(highlight=False, width=_PIPED_WIDTH)


class CliState:
    def __init__(self, lang: str | None) -> None:
        self._lang = lang
        self._context: AppContext | None = None

    @property
    def lang(self) -> str | None:
        """The language chosen with --lang, if any."""
        return self._lang

    @property
    def context(self) -> AppContext:
        if self._context is None:
            self._context = build_context()
        return self._context

    @property
    def t(self) -> Translator:
        if self._lang:
            return Translator(self._lang)
        try:
            return Translator(self.context.settings.i18n.default_locale)
        except ConfigError:
            return Translator("zh_CN")


def _fail(message: str, code: int = 2) -> None:
    console.print(f"[red]{message}[/red]")
    sys.exit(code)


def _guarded(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn configuration errors and refusals into a clear message and an exit code."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        state: CliState = click.get_current_context().obj
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            _fail(state.t("cli.config_error", error=str(exc)))
        except Refused as exc:
            _fail(describe_refusal(state.t, exc))

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


def describe_refusal(t: Translator, refusal: Refused) -> str:
    key = f"refused.{refusal.code}"
    if not t.has(key):
        return t("refused.generic", code=str(refusal))
    return t(key, **{k: str(v) for k, v in refusal_params(t, refusal.params).items()})


@click.group("kaohe", cls=LocalisedGroup)
@click.option("--lang", type=click.Choice(LOCALES), help="Language of messages (zh_CN or en).")
@click.pass_context
def main(ctx: click.Context, lang: str | None) -> None:
    """Kaohe 考核: performance assessment of cadres and units."""
    ctx.obj = CliState(lang)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.pass_obj
@_guarded
def db_upgrade(state: CliState) -> None:
    """Apply pending migrations."""
    engine = state.context.engine
    todo = pending(engine)
    upgrade(engine)
    console.print(state.t("cli.db.upgraded", count=len(todo)))


@main.command("demo-data")
@click.pass_obj
@_guarded
def demo_data(state: CliState) -> None:
    """Create the fictional demo organisation (refused if the database already has units)."""
    upgrade(state.context.engine)
    _build_demo(state)


def _build_demo(state: CliState) -> None:
    from bot.demo_data import build_demo  # imported on use: only these commands need it

    context = state.context
    console.print(state.t("cli.demo.building", url=context.safe_database_url))
    summary = build_demo(context.store)
    console.print(state.t("cli.demo.built", units=summary.units, cadres=summary.cadres,
                          tasks=summary.tasks, reports=summary.reports))


def _period(state: CliState, code: str | None) -> Period:
    if pending(state.context.engine):  # an empty or older database: say what to run
        _fail(state.t("cli.db.not_ready"))
    with state.context.store.session() as session:
        query = select(Period).where(Period.code == code) if code else select(Period).where(
            col(Period.is_active)
        )
        period = session.exec(query).first()
    if period is None:
        _fail(state.t("cli.no_period", code=code or "-"))
    assert period is not None
    return period


@main.command("check")
@click.option("--period", "period_code", help="Period code (default: the active period).")
@click.pass_obj
@_guarded
def check(state: CliState, period_code: str | None) -> None:
    """Rebuild every score from stored facts and list each standing that differs."""
    context = state.context
    period = _period(state, period_code)
    with context.store.snapshot() as session:  # one moment, even with writers at work
        differences = check_standings(session, context.rules, period,
                                      workers=os.cpu_count() or 1)  # both cores
        count = len(session.exec(select(Standing.id).where(Standing.period_id == period.id)).all())
    if not differences:
        console.print(state.t("cli.check.clean", period=period.code, count=count))
        return
    table = Table(title=state.t("cli.check.title", period=period.code, count=len(differences)))
    for header in ("cli.col.assessee", "cli.col.field", "cli.col.stored", "cli.col.computed"):
        table.add_column(state.t(header))
    for diff in differences:
        table.add_row(diff.assessee, diff.field, diff.stored, diff.computed)
    console.print(table)
    sys.exit(1)


def places(totals: list[Any]) -> list[int]:
    """Competition places of totals already sorted high to low: equal totals share a place."""
    found: list[int] = []
    for position, total in enumerate(totals, start=1):
        found.append(found[-1] if found and totals[position - 2] == total else position)
    return found


def print_standings(state: CliState, period: Period, limit: int | None = None) -> None:
    """The period's standings: cadres by total, then the assessed units. The first column is
    the place in the list as sorted; the ranks (within the post category, within the unit,
    among sibling units) follow under their own names."""
    t = state.t
    with state.context.store.session() as session:
        units = {u.id: u for u in session.exec(select(Unit)).all()}
        rows = session.exec(
            select(Standing, Cadre).join(Cadre, col(Cadre.id) == Standing.cadre_id)
            .where(Standing.period_id == period.id)
            .order_by(col(Standing.total).desc(), col(Standing.base).desc(), col(Cadre.code))
        ).all()
        unit_rows = session.exec(
            select(Standing).where(Standing.period_id == period.id,
                                   col(Standing.unit_id).is_not(None))
            .order_by(col(Standing.total).desc(), col(Standing.base).desc())
        ).all()
        books = {kind: RankBook(session, period.id or 0, kind) for kind in (CADRE, UNIT)}
    rules = state.context.rules

    def label(category: str) -> str:
        post = rules.post_categories[category]
        return post.label_zh if t.locale == "zh_CN" else post.label_en

    table = Table(title=t("cli.standings.cadres", period=period.name))
    for key in ("cli.col.place", "cli.col.name", "cli.col.unit", "cli.col.post",
                "cli.col.rank_post", "cli.col.rank_unit", "cli.col.base", "cli.col.key",
                "cli.col.innovation", "cli.col.collaboration", "cli.col.total"):
        numeric = key.endswith(("place", "rank_post", "rank_unit"))
        table.add_column(t(key), justify="right" if numeric else "left")
    shown = list(zip(places([s.total for s, _ in rows]), rows, strict=True))
    for place, (standing, cadre) in shown[:limit] if limit else shown:
        unit = units[cadre.unit_id]
        table.add_row(str(place), cadre.name, unit.name, label(standing.post_category),
                      str(books[CADRE].in_post(standing.post_category, standing.total)),
                      str(books[CADRE].in_unit(standing.group_unit_id, standing.total)),
                      str(standing.base), str(standing.key_points), str(standing.innovation),
                      str(standing.collaboration), f"[bold]{standing.total}[/bold]")
    console.print(table)
    if unit_rows:
        utable = Table(title=t("cli.standings.units", period=period.name))
        for key in ("cli.col.place", "cli.col.unit", "cli.col.rank_siblings", "cli.col.base",
                    "cli.col.innovation", "cli.col.collaboration", "cli.col.total",
                    "cli.col.difficulty"):
            numeric = key.endswith(("place", "rank_siblings"))
            utable.add_column(t(key), justify="right" if numeric else "left")
        for place, standing in zip(places([s.total for s in unit_rows]), unit_rows,
                                   strict=True):
            unit = units[standing.unit_id]
            rank = books[UNIT].in_unit(standing.group_unit_id, standing.total)
            utable.add_row(str(place), unit.name, str(rank),
                           str(standing.base), str(standing.innovation),
                           str(standing.collaboration), f"[bold]{standing.total}[/bold]",
                           str(standing.difficulty))
        console.print(utable)


@main.command("standings")
@click.option("--period", "period_code", help="Period code (default: the active period).")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Show only the first N cadres.")
@click.pass_obj
@_guarded
def standings(state: CliState, period_code: str | None, limit: int | None) -> None:
    """Print the standings of a period as the scoring core computed them."""
    print_standings(state, _period(state, period_code), limit)


@main.command("demo")
@click.pass_obj
@_guarded
def demo(state: CliState) -> None:
    """Run Kaohe on the demo organisation: build it on first use, then show the standings."""
    context = state.context
    upgrade(context.engine)
    with context.store.session() as session:
        empty = session.exec(select(Unit.id)).first() is None
    if empty:
        _build_demo(state)
    print_standings(state, _period(state, None))


@main.command("run")
@click.pass_obj
@_guarded
def run(state: CliState) -> None:
    """Run the bot: on Telegram when a token is configured, else the sandbox on the demo data."""
    context = state.context
    token = context.settings.telegram.token.get_secret_value()
    # The sandbox chat runs in this terminal: there, standard error shows warnings only.
    configure_logging(context.settings.logging, context.settings.config_dir,
                      terminal_chat=not token)
    upgrade(context.engine)
    # A changed [scoring] policy: its recompute is a job (bot/jobs.py), run beside the bot.
    context.store.run(recompute_if_policy_changed)
    if not token:
        with context.store.session() as session:
            empty = session.exec(select(Unit.id)).first() is None
        if empty:
            _build_demo(state)
        from sandbox.terminal import run_sandbox  # imported on use: the simulator is big

        run_sandbox(context, state.t.locale)
        return
    from bot.application import run_bot

    console.print(state.t("cli.run.telegram", mode=context.settings.telegram.mode))
    run_bot(context)


@main.command("worker")
@click.pass_obj
@_guarded
def worker(state: CliState) -> None:
    """Send the outbox, tick the scheduler and run heavy jobs beside the bot ([workers])."""
    context = state.context
    if not context.settings.telegram.token.get_secret_value():
        _fail(state.t("cli.worker.no_token"))
    if pending(context.engine):  # the bot (or `kaohe db upgrade`) migrates, never a worker
        _fail(state.t("cli.db.not_ready"))
    configure_logging(context.settings.logging, context.settings.config_dir,
                      terminal_chat=False)
    from bot.worker import run_worker

    console.print(state.t("cli.worker.started", url=context.safe_database_url))
    run_worker(context)


# Commands kept in their own modules register themselves on `main` when imported.
from bot import cli_admin, cli_audit, cli_excel, cli_privileges, cli_rating  # noqa: E402, F401

if __name__ == "__main__":
    main()
