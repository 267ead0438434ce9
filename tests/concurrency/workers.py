"""What each process of tests/concurrency/test_writers.py does in one round (it imports as
little as it can: every process imports this module on its own)."""

from __future__ import annotations

import random
from decimal import Decimal
from functools import partial

from models import invites
from models.reports import approve_report, submit_report
from models.store import Ctx, Store
from tests.concurrency.crew import attempt, outcome

PROGRESS = [Decimal(n) for n in (20, 40, 40, 60, 80, 100)]  # few values: totals often tie


def _submit(cadre_id: int, task_id: int, progress: Decimal, ctx: Ctx) -> int | None:
    return submit_report(ctx, cadre_id, task_id, progress=progress).id


def approve(store: Store, job: tuple[int, int, list[int], int, int], number: int) -> list[str]:
    """A cadre submits progress on one of their tasks; the supervisor approves it at once."""
    boss_id, cadre_id, task_ids, seed, per_round = job
    rng = random.Random(seed * 1000 + number)
    outcomes = []
    for _ in range(per_round):
        task_id, progress, grade = rng.choice(task_ids), rng.choice(PROGRESS), rng.choice("ABCD")
        submitted, report = attempt(store, partial(_submit, cadre_id, task_id, progress))
        outcomes.append(submitted)
        if report is not None:
            outcomes.append(attempt(store, partial(approve_report, actor_id=boss_id,
                                                   report_id=report, grade=grade))[0])
    return outcomes


def import_weights(store: Store, job: tuple[list[bytes], int], number: int) -> list[str]:
    """`kaohe import tasks FILE`: the duty lists again, with other weights each round."""
    from ui import excel_jobs  # only this process reads workbooks

    files, admin_id = job
    kind, sheets = excel_jobs.read(files[number % len(files)], "tasks")
    return [outcome(lambda: excel_jobs.import_sheets(store, kind, sheets, actor_id=admin_id))[0]]


def submit_month(store: Store, job: tuple[int, int], number: int) -> list[str]:
    """A member of a unit submits the unit's task for round n's month."""
    cadre_id, task_id = job
    return [attempt(store, lambda ctx: submit_report(
        ctx, cadre_id, task_id, progress=Decimal(50), occurrence=f"2026-{number + 1:02d}"))[0]]


def redeem(store: Store, job: tuple[list[str], int], number: int) -> list[str]:
    """Round n's invite code, redeemed from this process's Telegram account for the round."""
    codes, telegram_base = job
    return [attempt(store, lambda ctx: invites.redeem_invite(
        ctx, codes[number], telegram_base + number))[0]]


def start_up(store: Store, job: None, number: int) -> list[str]:
    """What `kaohe run` and `kaohe worker` do first: the policy in force noted, its recompute
    queued when it changed."""
    from models.jobs import recompute_if_policy_changed

    return [attempt(store, recompute_if_policy_changed)[0]]
