"""The dashboard's HTTP surface as a hostile client sees it: what a forged, flooding or
malformed request gets, and that it costs the bot nothing."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest

from models import dashboard
from models.store import Ctx
from models.tables import Cadre
from tests.webapp.conftest import ALICE, Dashboard

pytestmark = pytest.mark.db


def test_a_flood_of_requests_leaves_the_bots_threads_free(
        dash: Dashboard, monkeypatch: pytest.MonkeyPatch) -> None:
    """One viewer sends 40 requests at once, each a slow read: the bot's own database work
    (asyncio.to_thread, the loop's default executor: bot/persistence.py, the sender) still
    runs at once. Before, the reads filled every thread of that executor (at most 32) and the
    bot's work waited behind all of them."""
    slow = threading.Event()
    loaded = dashboard.viewer

    def slow_viewer(ctx: Ctx, telegram_user_id: int) -> Cadre:
        slow.wait(timeout=30)
        return loaded(ctx, telegram_user_id)

    monkeypatch.setattr(dashboard, "viewer", slow_viewer)
    headers = {"Authorization": f"tma {dash.init_data(ALICE)}"}

    async def flood() -> tuple[str, list[int]]:
        transport = httpx.ASGITransport(app=dash.client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://dash") as client:
            requests = [asyncio.create_task(client.get("/api/me", headers=headers))
                        for _ in range(40)]
            await asyncio.sleep(0.5)  # every request is in, its read waiting
            try:
                bot = await asyncio.wait_for(asyncio.to_thread(lambda: "update handled"), 5)
            except TimeoutError:
                bot = "the bot waited"
            finally:
                slow.set()
            return bot, [response.status_code for response in await asyncio.gather(*requests)]

    bot, statuses = asyncio.run(flood())
    assert bot == "update handled"
    assert statuses == [200] * 40

