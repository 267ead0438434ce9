"""Several writer processes on one PostgreSQL database at once (issue 12, section 1).

Every operation either succeeds or is refused cleanly (no deadlock or serialisation error
reaches the caller), and `kaohe check` (models.standings.check) finds no difference between the
stored standings and ranks and those recomputed from the stored facts, after every round.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import delete, select

from models import invites, org
from models.exporting import task_rows
from models.jobs import POLICY, JobKind
from models.privileges import deactivate_cadre
from models.reports import approve_report, submit_report
from models.standings import check, refresh_all
from models.store import Store, make_engine
from models.tables import BotState, Job, Period, Standing
from tests.concurrency.conftest import Database
from tests.concurrency.crew import attempt, in_step
from tests.concurrency.workers import (
    PROGRESS,
    approve,
    import_weights,
    redeem,
    start_up,
    submit_month,
)
from ui import workbooks
from ui.i18n import Translator

pytestmark = pytest.mark.concurrency


@dataclass(frozen=True)
class Office:
    period_id: int
    admin_id: int
    boss_id: int
    movers: list[tuple[int, list[int]]]  # cadres whose reports the processes approve: their tasks


def build_office(store: Store, movers: int, bystanders: int = 4) -> Office:
    """One office (post category "general"): `movers` cadres with three tasks each, and
    bystanders whose totals stay where an approval put them, between the others'."""
    with store.transaction() as ctx:
        city = org.add_unit(ctx, None, code="city", name="昌吉市", kind="city",
                            post_category="general")
        office = org.add_unit(ctx, None, code="conc", name="并发办", kind="office",
                              post_category="general", parent=city)
        ctx.session.flush()
        admin = org.add_cadre(ctx, None, code="A001", name="考核办", unit=city, is_admin=True)
        boss = org.add_cadre(ctx, None, code="B001", name="分管领导", unit=city)
        year = org.add_period(ctx, None, code="2026", name="2026年度", kind="year",
                              starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31),
                              active=True)
        ctx.session.flush()
        org.add_supervision(ctx, None, boss, city)
        people = [org.add_cadre(ctx, None, code=f"P{n:02d}", name=f"干部{n}", unit=office)
                  for n in range(movers + bystanders)]
        ctx.session.flush()
        tasks: dict[int, list[int]] = {}
        for n, cadre in enumerate(people):
            owned = []
            for k, (dimension, category) in enumerate(
                    [("basic", "general"), ("basic", "business"), ("key", "business")]):
                task = org.add_task(ctx, None, period=year, code=f"T{n:02d}{k}", title="台账",
                                    dimension=dimension, category=category,
                                    weight=Decimal(10 + 5 * k), cadre=cadre,
                                    source="city_report")
                ctx.session.flush()
                owned.append(task.id or 0)
            tasks[cadre.id or 0] = owned
        refresh_all(ctx, year)
        ids = [cadre.id or 0 for cadre in people]
        office_ids = (year.id or 0, admin.id or 0, boss.id or 0)
    rng = random.Random(5)
    for cadre_id in ids[movers:]:  # the bystanders' standings, approved one after another
        with store.transaction() as ctx:
            report = submit_report(ctx, cadre_id, tasks[cadre_id][0],
                                   progress=rng.choice(PROGRESS))
            approve_report(ctx, office_ids[2], report.id or 0, "B")
    return Office(*office_ids, movers=[(cadre_id, tasks[cadre_id]) for cadre_id in ids[:movers]])


def differences_after_each_round(
        store: Store, period_id: int) -> tuple[list[tuple[int, str]], Callable[[int], None]]:
    """`kaohe check`'s differences, found between rounds (with the round), and the checker."""
    found: list[tuple[int, str]] = []

    def between(number: int) -> None:
        with store.session() as session:
            period = session.get(Period, period_id)
            assert period is not None
            found.extend((number, str(d)) for d in check(session, store.rules, period))

    return found, between


def test_eight_processes_approving_in_one_unit_and_post_category(database: Database) -> None:
    office = build_office(database.store, movers=8)
    rounds, per_round = 5, 3
    differences, between = differences_after_each_round(database.store, office.period_id)
    jobs: list[Any] = [(approve, (office.boss_id, cadre_id, task_ids, seed, per_round))
                       for seed, (cadre_id, task_ids) in enumerate(office.movers)]
    outcomes = in_step(database.url, jobs, rounds, between)
    every = Counter(o for job in outcomes for o in job)
    assert every == {"ok": 2 * rounds * per_round * len(jobs)}, every
    assert differences == []


def duty_lists(store: Store, period_id: int, shift: int) -> bytes:
    """The period's duty-list workbook as `kaohe export tasks` writes it, every weight + shift."""
    with store.session() as session:
        period = session.get(Period, period_id)
        assert period is not None
        rows = task_rows(session, store.rules, period)
    for row in rows["tasks"]:
        row["weight"] += shift
    return workbooks.import_workbook("tasks", store.rules, Translator("zh_CN"), rows)


def test_importing_weights_while_approvals_run(database: Database) -> None:
    office = build_office(database.store, movers=6)
    files = [duty_lists(database.store, office.period_id, shift) for shift in (7, 0, 3)]
    rounds, per_round = 4, 3
    differences, between = differences_after_each_round(database.store, office.period_id)
    jobs: list[Any] = [(import_weights, (files, office.admin_id))]
    jobs += [(approve, (office.boss_id, cadre_id, task_ids, seed, per_round))
             for seed, (cadre_id, task_ids) in enumerate(office.movers)]
    outcomes = in_step(database.url, jobs, rounds, between)
    every = Counter(o for job in outcomes for o in job)
    assert every == {"ok": rounds + 2 * rounds * per_round * len(office.movers)}, every
    assert differences == []


MONTHS = 8  # rounds of the one-winner races below: a fresh occurrence (or code) each round


def test_two_members_submitting_one_occurrence_at_once(database: Database) -> None:
    office = build_office(database.store, movers=2, bystanders=0)
    with database.store.transaction() as ctx:
        unit = org.unit_by_code(ctx, "conc")
        year = ctx.session.get(Period, office.period_id)
        assert year is not None
        task = org.add_task(ctx, None, period=year, code="U1", title="网格化巡查",
                            dimension="basic", category="general", weight=Decimal(5),
                            unit=unit, source="unit_points", recurrence="monthly",
                            deadline=date(2026, 1, 25))
        ctx.session.flush()
        task_id = task.id or 0
    jobs: list[Any] = [(submit_month, (cadre_id, task_id)) for cadre_id, _ in office.movers]
    first, second = in_step(database.url, jobs, MONTHS)
    for month in zip(first, second, strict=True):
        assert sorted(month) == ["ok", "refused:already_waiting"], (first, second)


def test_two_people_redeeming_one_invite_code_at_once(database: Database) -> None:
    office = build_office(database.store, movers=MONTHS, bystanders=0)
    with database.store.transaction() as ctx:
        codes = [invites.issue_invite(ctx, office.admin_id, cadre_id).code
                 for cadre_id, _ in office.movers]
    jobs: list[Any] = [(redeem, (codes, 10_000)), (redeem, (codes, 20_000))]
    first, second = in_step(database.url, jobs, MONTHS)
    for redemptions in zip(first, second, strict=True):
        assert sorted(redemptions) == ["ok", "refused:invite_used"], (first, second)


def test_the_bot_and_workers_starting_at_once_note_the_policy_once(database: Database) -> None:
    """A deployment's processes (`kaohe run` and its `kaohe worker`s) started together: each
    notes the scoring policy in force at start. On a fresh database they all found no note and
    all but one died at start on the note's primary key; after a policy change, one recompute
    is queued, however many start."""
    build_office(database.store, movers=1, bystanders=0)

    def between(number: int) -> None:  # the next start: a fresh install, then a changed policy
        with database.store.transaction() as ctx:
            jobs = ctx.session.exec(select(Job.kind)).all()
            assert jobs == ([] if number % 2 == 0 else [JobKind.RECOMPUTE.value]), jobs
            ctx.session.execute(delete(Job))
            note = ctx.session.get(BotState, POLICY)
            assert note is not None
            if number % 2 == 0:
                note.data = "the policy before"
            else:
                ctx.session.delete(note)

    rounds, processes = 6, 4
    outcomes = in_step(database.url, [(start_up, None)] * processes, rounds, between)
    assert Counter(o for job in outcomes for o in job) == {"ok": rounds * processes}, outcomes


def _waiting_on_a_lock(store: Store, others_than: int) -> bool:
    with store.engine.connect() as connection:
        return bool(connection.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database() AND pid <> :me"), {"me": others_than}).scalar())


def test_a_cadre_deactivated_while_their_report_is_approved_leaves_the_ranks(
        database: Database) -> None:
    """`kaohe cadre deactivate` while the supervisor approves the cadre's report: the cadre
    leaves the standings either way. The approval used to read the cadre as still active,
    wait for the standing the deactivation had deleted, find it gone and write it again: the
    one who left stayed in everyone's ranks, and `kaohe check` listed the standing."""
    store = database.store
    office = build_office(store, movers=1, bystanders=2)
    cadre_id, task_ids = office.movers[0]
    report = store.run(lambda ctx: submit_report(ctx, cadre_id, task_ids[0],
                                                 progress=Decimal(80)).id)
    approver = Store(make_engine(database.url), store.rules, timezone="Asia/Shanghai",
                     clock=store.clock)
    outcomes: list[str] = []
    with store.transaction() as ctx:  # the command line's transaction, not committed yet
        deactivate_cadre(ctx, office.admin_id, cadre_id)
        me = ctx.session.connection().connection.dbapi_connection.info.backend_pid  # type: ignore[union-attr]
        approving = threading.Thread(target=lambda: outcomes.append(attempt(
            approver, partial(approve_report, actor_id=office.boss_id, report_id=report or 0,
                              grade="A"))[0]))
        approving.start()
        deadline = time.monotonic() + 10
        while not _waiting_on_a_lock(approver, me) and time.monotonic() < deadline:
            time.sleep(0.05)
    approving.join(30)
    approver.engine.dispose()
    assert outcomes == ["ok"]
    with store.session() as session:
        period = session.get(Period, office.period_id)
        assert period is not None
        assert session.exec(select(Standing).where(Standing.cadre_id == cadre_id)).all() == []
        assert check(session, store.rules, period) == []
