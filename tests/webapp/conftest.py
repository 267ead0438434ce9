"""The dashboard over the small world: bound accounts, a few decided reports, a signed client."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import col, select
from starlette.testclient import TestClient

from models import invites
from models.ranks import RankedStanding, ranked
from models.reports import approve_report, submit_report
from models.store import Store
from models.tables import AuditEntry, Cadre, Standing
from tests.support.world import World, build_world
from webapp.api import WebAppConfig, create_app
from webapp.auth import sign_init_data

TOKEN = "123456:TEST-dashboard-token"
OTHER_BOT = "654321:another-bots-token"
MAX_AGE = 3600
# Telegram ids of the world's people (a stranger is bound to nobody).
ALICE, BOB, BOSS, MAYOR, ADMIN, STRANGER = 1001, 1002, 2001, 2002, 3001, 4242


@dataclass
class Dashboard:
    store: Store
    world: World
    client: TestClient

    def init_data(self, telegram_id: int, *, token: str = TOKEN, age: timedelta = timedelta(0),
                  language: str = "zh-hans") -> str:
        return sign_init_data(token, telegram_id, self.now() - age, first_name="x",
                              language_code=language)

    def now(self) -> datetime:
        return self.store.clock()

    def get(self, path: str, telegram_id: int | None = None, *, raw: str | None = None,
            token: str = TOKEN, age: timedelta = timedelta(0),
            language: str = "zh-hans") -> tuple[int, Any]:
        """The status and the JSON body (Any: tests read it as the page does)."""
        data = raw if raw is not None else self.init_data(
            telegram_id or 0, token=token, age=age, language=language)
        response = self.client.get(path, headers={"Authorization": f"tma {data}"})
        return response.status_code, response.json()

    def audit(self) -> list[AuditEntry]:
        with self.store.session() as session:
            return list(session.exec(select(AuditEntry).order_by(col(AuditEntry.id))).all())

    def standing(self, cadre: Cadre) -> RankedStanding:
        with self.store.session() as session:
            return ranked(session, session.exec(
                select(Standing).where(Standing.cadre_id == cadre.id)).one())


def bind(store: Store, world: World, people: dict[int, Cadre]) -> None:
    for telegram_id, cadre in people.items():
        with store.transaction() as ctx:
            code = invites.issue_invite(ctx, world.admin.id or 0, cadre.id or 0).code
            invites.redeem_invite(ctx, code, telegram_id)


def decide(store: Store, reporter: Cadre, task_id: int, reviewer: Cadre, grade: str | None, *,
           progress: Decimal | None = None, actual: Decimal | None = None) -> None:
    """Submit a report, and approve it with `grade` unless None (then it waits)."""
    with store.transaction() as ctx:
        report = submit_report(ctx, reporter.id or 0, task_id, progress=progress, actual=actual)
        ctx.session.flush()
        report_id = report.id or 0
    if grade is not None:
        with store.transaction() as ctx:
            approve_report(ctx, reviewer.id or 0, report_id, grade)


@pytest.fixture
def dash(store: Store) -> Dashboard:
    world = build_world(store)
    bind(store, world, {ALICE: world.alice, BOB: world.bob, BOSS: world.boss,
                        MAYOR: world.mayor, ADMIN: world.admin})
    decide(store, world.alice, world.alice_plain.id or 0, world.boss, "A", progress=Decimal(100))
    decide(store, world.alice, world.alice_key.id or 0, world.boss, "B", actual=Decimal(6))
    decide(store, world.bob, world.bob_task.id or 0, world.boss, "C", progress=Decimal(80))
    decide(store, world.carol, world.carol_task.id or 0, world.chief, "A", progress=Decimal(100))
    decide(store, world.alice, world.alice_monthly.id or 0, world.boss, None,
           progress=Decimal(90))
    app = create_app(store, WebAppConfig(bot_token=TOKEN, max_init_data_age=MAX_AGE))
    return Dashboard(store, world, TestClient(app))
