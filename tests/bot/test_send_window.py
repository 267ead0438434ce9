"""The send budget in one process (bot/budget.py `LocalBudget`): lanes whose sends were held
up must not bunch into more than Telegram's limit in any second, and the bot's answers to
people find a slot the outbox left them. On a hand-moved clock."""

from __future__ import annotations

import asyncio

from bot.budget import LocalBudget


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)  # others' turn, as a real pause gives


def test_a_send_waits_until_the_oldest_of_the_second_is_a_second_old() -> None:
    clock = Clock()
    window = LocalBudget(clock, clock.sleep, cap=3)

    async def run() -> None:
        for _ in range(3):  # three sends leave at once and are answered half a second later
            await window.enter()
        clock.now = 0.5
        for _ in range(3):
            window.leave()
        clock.now = 0.6
        await window.enter()  # the fourth waits for the first answer to be a second old

    asyncio.run(run())
    assert clock.now >= 1.5
    assert clock.slept  # it waited on the clock, not by spinning


def test_sends_in_flight_count_too() -> None:
    clock = Clock()
    window = LocalBudget(clock, clock.sleep, cap=2)
    answered: list[float] = []

    async def run() -> None:
        await window.enter()
        await window.enter()

        async def answer_later() -> None:
            await asyncio.sleep(0)
            clock.now = max(clock.now, 0.2)
            window.leave()
            answered.append(clock.now)

        later = asyncio.create_task(answer_later())
        await window.enter()  # waits while both are in flight, then a second after the answer
        await later

    asyncio.run(run())
    assert answered == [0.2] and clock.now >= 1.2


def test_no_cap_means_no_waiting() -> None:
    clock = Clock()
    window = LocalBudget(clock, clock.sleep, cap=0)

    async def run() -> None:
        for _ in range(100):
            await window.enter()

    asyncio.run(run())
    assert clock.slept == []


def test_the_outbox_leaves_the_bot_a_slot_while_it_answers_people() -> None:
    clock = Clock()
    budget = LocalBudget(clock, clock.sleep, cap=3, reserve=1)

    async def run() -> None:
        await budget.enter(priority=True)  # the bot answers someone
        budget.leave(priority=True)
        clock.now = 1.5  # that answer left the rolling second; the bot still counts as busy
        await budget.enter()
        await budget.enter()
        budget.leave()
        budget.leave()
        await budget.enter()  # the third would take the bot's slot: it waits for the first
        assert 2.5 <= clock.now < 3.0  # to be a second old

    asyncio.run(run())


def test_the_bot_takes_the_last_slot_at_once() -> None:
    clock = Clock()
    budget = LocalBudget(clock, clock.sleep, cap=3, reserve=1)

    async def run() -> None:
        await budget.enter(priority=True)
        await budget.enter()
        await budget.enter(priority=True)  # the reserve was its own: a free slot is the bot's
        assert clock.now == 0.0

    asyncio.run(run())


def test_an_idle_bot_leaves_the_outbox_every_slot() -> None:
    clock = Clock()
    budget = LocalBudget(clock, clock.sleep, cap=3, reserve=1)

    async def run() -> None:
        for _ in range(3):
            await budget.enter()

    asyncio.run(run())
    assert clock.slept == []
