"""The sender's rolling-second guard (bot/sender.py `_Window`): lanes whose sends were held
up must not bunch into more than Telegram's limit in any second. On a hand-moved clock."""

from __future__ import annotations

import asyncio

from bot.sender import _Window


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
    window = _Window(clock, clock.sleep)
    window.cap = 3

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
    window = _Window(clock, clock.sleep)
    window.cap = 2
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
    window = _Window(clock, clock.sleep)

    async def run() -> None:
        for _ in range(100):
            await window.enter()

    asyncio.run(run())
    assert clock.slept == []
