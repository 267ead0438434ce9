"""Webhook mode: it starts only with an https URL and a secret token, and the real webhook server
(PTB's, on tornado) answers 403 to a POST without the right secret and handles one with it.
The server listens on loopback; Telegram is the simulator."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from bot.application import WEBHOOK_PATH, webhook_options
from bot.cli import main
from bot.config import ConfigError, Settings, load_settings
from models.store import Store
from tests.bot.conftest import ALICE
from tests.bot.harness import BotHarness
from tests.support.world import World

SECRET = "kaohe_webhook-s3cret"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _webhook_settings(**telegram: object) -> Settings:
    return load_settings(telegram={"mode": "webhook", "webhook_url":
                                   "https://kaohe.example.org/telegram", **telegram})


def test_webhook_mode_refuses_to_start_without_a_secret_or_https() -> None:
    with pytest.raises(ConfigError,
                       match=r"telegram\.webhook_secret.*KAOHE_TELEGRAM__WEBHOOK_SECRET"):
        webhook_options(_webhook_settings().telegram)
    with pytest.raises(ConfigError, match=r"telegram\.webhook_url.*https://"):
        webhook_options(_webhook_settings(webhook_url="http://kaohe.example.org/telegram",
                                          webhook_secret=SECRET).telegram)
    with pytest.raises(ConfigError, match=r"telegram\.webhook_secret: 1 to 256"):
        webhook_options(_webhook_settings(webhook_secret="has spaces").telegram)
    options = webhook_options(_webhook_settings(webhook_secret=SECRET).telegram)
    assert (options["secret_token"], options["listen"]) == (SECRET, "127.0.0.1")


def test_kaohe_run_in_webhook_mode_without_a_secret_stops_with_the_key_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAOHE_DATABASE__URL", f"sqlite:///{tmp_path / 'kaohe.db'}")
    monkeypatch.setenv("KAOHE_TELEGRAM__TOKEN", "123456:not-a-real-token")
    monkeypatch.setenv("KAOHE_TELEGRAM__MODE", "webhook")
    monkeypatch.setenv("KAOHE_TELEGRAM__WEBHOOK_URL", "https://kaohe.example.org/telegram")
    result = CliRunner().invoke(main, ["--lang", "en", "run"])
    assert result.exit_code == 2, result.output
    assert "telegram.webhook_secret" in result.output


@pytest.fixture
def hooked(store: Store, world: World) -> Iterator[BotHarness]:
    harness = BotHarness(store, _webhook_settings(webhook_secret=SECRET))
    harness.join(world.alice, ALICE)
    yield harness
    harness.close()


def test_the_real_webhook_server_answers_403_without_the_secret_and_handles_with_it(
    hooked: BotHarness,
) -> None:
    bot = hooked
    port = _free_port()
    options = {**webhook_options(bot.settings.telegram), "port": port}
    url = f"http://127.0.0.1:{port}/{WEBHOOK_PATH}"

    async def scenario() -> list[int]:
        updater = bot.app.updater
        assert updater is not None
        await updater.start_webhook(**options)
        await bot.app.start()
        statuses = []
        try:
            async with httpx.AsyncClient() as client:
                for headers in ({}, {SECRET_HEADER: "guessed"}, {SECRET_HEADER: SECRET}):
                    before = len(bot.sim.bot_messages(ALICE))
                    update = bot.sim.send_text(ALICE, "/help")
                    response = await client.post(url, content=json.dumps(update), headers={
                        "Content-Type": "application/json", **headers})
                    statuses.append(response.status_code)
                    for _ in range(100):  # the update is handled on the loop, after the 200
                        if len(bot.sim.bot_messages(ALICE)) > before:
                            break
                        await asyncio.sleep(0.05)
                    statuses.append(len(bot.sim.bot_messages(ALICE)) - before)
        finally:
            await updater.stop()
            await bot.app.stop()
        return statuses

    assert bot.run(scenario()) == [403, 0, 403, 0, 200, 1]
    assert "可用命令" in bot.last(ALICE).body  # the help, answered to the one real update
    [(_, hook)] = bot.sim.calls("setWebhook")  # Telegram was told the URL and the secret
    assert (hook["url"], hook["secret_token"]) == ("https://kaohe.example.org/telegram", SECRET)
