"""The bot's side of the dashboard: 📊 看板 beside the message field once the account is bound."""

from __future__ import annotations

import pytest

from bot.config import load_settings
from models.store import Store
from tests.bot.harness import BotHarness
from tests.support.world import build_world

pytestmark = pytest.mark.db

URL = "https://kaohe.example.gov.cn"


def test_start_sets_the_dashboard_menu_button(store: Store) -> None:
    world = build_world(store)
    bot = BotHarness(store, load_settings(webapp={"public_url": URL + "/"}))
    try:
        bot.join(world.boss, 2001)
        bot.join(world.alice, 1001, language="en")
        buttons = {params["chat_id"]: params["menu_button"]
                   for _, params in bot.sim.calls("setChatMenuButton")}
        assert buttons[2001] == {"type": "web_app", "text": "📊 看板", "web_app": {"url": URL}}
        assert buttons[1001]["text"] == "📊 Dashboard"  # a cadre opens their own page
    finally:
        bot.close()


def test_no_public_url_no_button(store: Store) -> None:
    world = build_world(store)
    bot = BotHarness(store)
    try:
        bot.join(world.boss, 2001)
        assert bot.sim.calls("setChatMenuButton") == []
    finally:
        bot.close()
