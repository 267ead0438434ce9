"""Telegram's flood limits and injected faults: the two reasons a correct call can still fail.

The limits are measured on an injectable clock so that a test can hit a 429 and then move time
forward instead of sleeping.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from sandbox.sim_errors import too_many_requests

FaultKind = Literal["429", "500", "timeout", "network"]


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """30 sends per rolling second overall; per private chat a bucket of 5 refilled 1 a second;
    per group 20 per rolling minute."""

    GLOBAL_PER_SECOND = 30
    PRIVATE_BURST = 5
    PRIVATE_PER_SECOND = 1.0
    GROUP_PER_MINUTE = 20

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._global: deque[float] = deque()
        self._groups: dict[int, deque[float]] = {}
        self._private: dict[int, _Bucket] = {}

    def acquire(self, chat_id: int, *, group: bool) -> None:
        """Count one sending call, or raise 429 with the seconds until it would be allowed."""
        now = self._clock()
        wait = max(self._global_wait(now), self._chat_wait(chat_id, group, now))
        if wait > 0:
            raise too_many_requests(max(1, math.ceil(wait)))
        self._global.append(now)
        if group:
            self._groups.setdefault(chat_id, deque()).append(now)
        else:
            self._private[chat_id].tokens -= 1

    def _global_wait(self, now: float) -> float:
        _expire(self._global, now - 1.0)
        if len(self._global) < self.GLOBAL_PER_SECOND:
            return 0.0
        return self._global[-self.GLOBAL_PER_SECOND] + 1.0 - now

    def _chat_wait(self, chat_id: int, group: bool, now: float) -> float:
        if group:
            sent = self._groups.setdefault(chat_id, deque())
            _expire(sent, now - 60.0)
            if len(sent) < self.GROUP_PER_MINUTE:
                return 0.0
            return sent[-self.GROUP_PER_MINUTE] + 60.0 - now
        bucket = self._private.setdefault(chat_id, _Bucket(self.PRIVATE_BURST, now))
        elapsed = max(0.0, now - bucket.stamp)
        bucket.tokens = min(self.PRIVATE_BURST, bucket.tokens + elapsed * self.PRIVATE_PER_SECOND)
        bucket.stamp = now
        if bucket.tokens >= 1.0:
            return 0.0
        return (1.0 - bucket.tokens) / self.PRIVATE_PER_SECOND


def _expire(stamps: deque[float], before_or_at: float) -> None:
    while stamps and stamps[0] <= before_or_at:
        stamps.popleft()


@dataclass
class Fault:
    method: str | None
    kind: FaultKind
    remaining: int
    retry_after: int


class FaultPlan:
    """Faults queued by a test, consumed by the next matching calls in order."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(self, method: str | None, kind: FaultKind, count: int, retry_after: int) -> None:
        if count < 1:
            raise ValueError("count must be at least 1")
        self._faults.append(Fault(method, kind, count, retry_after))

    def take(self, method: str) -> Fault | None:
        for fault in self._faults:
            if fault.method is None or fault.method == method:
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                return fault
        return None
