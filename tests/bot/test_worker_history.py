"""A worker's daily history of standings (bot/worker.py) waits while its sender is busy: read
and written for every cadre, it would compete with a digest run's rendering for the
interpreter lock. It waits only so long."""

from __future__ import annotations

from unittest.mock import patch

from bot.worker import HISTORY_AFTER_IDLE, HISTORY_WAITS_AT_MOST, Worker


class Sender:
    def __init__(self) -> None:
        self.idle = float("inf")

    def idle_for(self) -> float:
        return self.idle


def _worker(sender: Sender) -> Worker:
    worker = Worker.__new__(Worker)  # only what the decision reads
    worker.sender = sender  # type: ignore[assignment]
    worker._history_due = None
    return worker


def test_the_history_waits_while_the_sender_is_busy_and_runs_once_it_is_idle() -> None:
    sender = Sender()
    worker = _worker(sender)
    with patch("time.monotonic", return_value=100.0):
        sender.idle = 0.5
        assert not worker._history_may_run()
        sender.idle = HISTORY_AFTER_IDLE
        assert worker._history_may_run()


def test_the_history_waits_at_most_so_long() -> None:
    sender = Sender()
    worker = _worker(sender)
    sender.idle = 0.5  # a run that never ends
    with patch("time.monotonic", return_value=100.0):
        assert not worker._history_may_run()
    with patch("time.monotonic", return_value=100.0 + HISTORY_WAITS_AT_MOST):
        assert worker._history_may_run()


def test_a_worker_that_has_sent_nothing_records_it_at_once() -> None:
    assert _worker(Sender())._history_may_run()
