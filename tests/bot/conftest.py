"""Fixtures for conversation tests: the small world, and the real bot over the simulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from models.store import Store
from tests.bot.harness import BotHarness
from tests.support.world import World, build_world

# Telegram user ids of the world's people.
ALICE, BOB, BOSS, MAYOR, ADMIN, CHIEF, DEPUTY = 1001, 1002, 2001, 2002, 3001, 2003, 2004


@pytest.fixture
def world(store: Store) -> World:
    return build_world(store)


@pytest.fixture
def bot(store: Store, world: World) -> Iterator[BotHarness]:
    harness = BotHarness(store)
    for cadre, telegram_id in ((world.alice, ALICE), (world.bob, BOB), (world.boss, BOSS),
                               (world.mayor, MAYOR), (world.admin, ADMIN)):
        harness.join(cadre, telegram_id)
    yield harness
    harness.close()
