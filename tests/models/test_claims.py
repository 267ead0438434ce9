"""Claims with leases (models/claims.py): what two senders or two workers take never overlaps,
and what a killed one held is taken over once its lease ran out."""

from __future__ import annotations

import os
import socket
import threading

import pytest

from models import claims, jobs, outbox
from models.jobs import JobKind
from models.outbox import Kind, QuietHours
from models.store import Store
from models.tables import Job, OutboxMessage
from tests.conftest import FakeClock


def _queue(store: Store, chats: range, per_chat: int = 1) -> None:
    with store.transaction() as ctx:
        for chat in chats:
            for n in range(per_chat):
                outbox.enqueue(ctx, Kind.REVIEW_REQUEST, {"report_id": n}, chat_id=chat)


def _pick(store: Store, claimant: str, limit: int = 10) -> list[tuple[int, int]]:
    """(row id, chat) of what `claimant` claims now."""
    with store.transaction() as ctx:
        due = outbox.pick_due(ctx, QuietHours(), limit=limit, claimant=claimant)
        return [(item.row.id or 0, item.row.chat_id or 0) for item in due]


def test_senders_picking_at_once_never_share_a_row(store: Store) -> None:
    _queue(store, range(1000, 1060))
    names = [f"sender-{n}" for n in range(6)]
    taken: dict[str, list[int]] = {}
    start = threading.Barrier(len(names))

    def sender(name: str) -> None:
        start.wait()  # all pick at the same moment, each ten rows
        taken[name] = [row_id for row_id, _ in _pick(store, name, limit=10)]

    threads = [threading.Thread(target=sender, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [row_id for rows in taken.values() for row_id in rows]
    assert len(every) == len(set(every)) == 60  # each row to one sender; all of them taken


def test_a_chat_with_a_row_held_by_one_sender_waits_for_it(store: Store) -> None:
    _queue(store, range(1500, 1502), per_chat=2)  # two chats, two messages each
    held = _pick(store, "a", limit=1)
    assert len(held) == 1
    chats = {chat for _, chat in _pick(store, "b")}
    assert chats == {1501 if held[0][1] == 1500 else 1500}  # not the chat "a" is sending to


def test_a_killed_senders_rows_are_taken_over_when_its_lease_runs_out(
        store: Store, clock: FakeClock) -> None:
    _queue(store, range(2000, 2003))
    held = _pick(store, "killed")
    assert len(held) == 3
    assert _pick(store, "other") == []  # its lease runs
    clock.advance(seconds=outbox.LEASE.total_seconds() - 1)
    assert _pick(store, "other") == []
    clock.advance(seconds=2)
    assert sorted(_pick(store, "other")) == sorted(held)
    # Should the first come back to life, it must not send them: they are not its any more.
    assert not outbox.renew(store, held[0][0], "killed")
    assert outbox.renew(store, held[0][0], "other")


def test_the_embedded_bot_takes_back_its_own_claims_after_a_restart(store: Store) -> None:
    _queue(store, range(3000, 3002))
    first = _pick(store, "embedded")
    assert sorted(_pick(store, "embedded")) == sorted(first)


def test_a_sent_row_is_never_picked_again(store: Store) -> None:
    _queue(store, range(4000, 4001))
    [(row_id, _)] = _pick(store, "a")
    outbox.mark_sent(store, row_id, 1, 99)
    assert _pick(store, "a") == [] and _pick(store, "b") == []
    with store.session() as session:
        row = session.get(OutboxMessage, row_id)
        assert row is not None and row.state == "sent"


def test_two_workers_never_run_the_same_job_and_a_dead_ones_job_is_taken_over(
        store: Store, clock: FakeClock) -> None:
    with store.transaction() as ctx:
        for _ in range(2):
            jobs.enqueue(ctx, JobKind.DIGESTS)
    first, second = jobs.claim(store, "a"), jobs.claim(store, "b")
    assert first is not None and second is not None and first.id != second.id
    assert jobs.claim(store, "c") is None  # both held
    clock.advance(seconds=jobs.LEASE.total_seconds() + 1)  # "a" was killed meanwhile
    again = jobs.claim(store, "c")
    assert again is not None and again.id in (first.id, second.id)
    with store.transaction() as ctx:  # the late one cannot finish it any more
        assert jobs.finish(ctx, again.id or 0, "a" if again.id == first.id else "b", {}) is None
    with store.transaction() as ctx:
        assert jobs.finish(ctx, again.id or 0, "c", {"count": 1}) is not None
    with store.session() as session:
        done = session.get(Job, again.id)
        assert done is not None and done.state == "done" and done.attempts == 2


def test_a_job_queued_twice_under_one_key_runs_once(store: Store) -> None:
    with store.transaction() as ctx:
        assert jobs.enqueue(ctx, JobKind.RECOMPUTE, {"period_id": 1}, dedupe_key="k")
    with store.transaction() as ctx:
        assert jobs.enqueue(ctx, JobKind.RECOMPUTE, {"period_id": 1}, dedupe_key="k") is None
    assert jobs.waiting(store) == 1



def test_a_sender_stopping_cleanly_leaves_its_unsent_rows_to_the_others(store: Store) -> None:
    _queue(store, range(5000, 5003))
    held = _pick(store, "stopping")
    outbox.mark_sent(store, held[0][0], 1, None)
    assert outbox.release(store, "stopping") == 2
    assert sorted(_pick(store, "other")) == sorted(held[1:])  # at once, not after the lease


def test_workers_share_the_rate_among_the_live_ones(store: Store, clock: FakeClock) -> None:
    assert claims.heartbeat(store, "w1") == 1
    assert claims.heartbeat(store, "w2") == 2  # each now sends at half the overall rate
    claims.sign_off(store, "w2")  # a clean stop: its share goes back at once
    assert claims.heartbeat(store, "w1") == 1
    claims.heartbeat(store, "w3")
    clock.advance(seconds=claims.HEARTBEAT_ALIVE.total_seconds() + 1)  # w3 was killed
    assert claims.heartbeat(store, "w1") == 1


def test_workers_in_containers_alike_still_claim_apart(store: Store,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Two `kaohe worker` replicas in containers: each is process 1, and their hostnames (a
    compose file's `hostname:`, or Kubernetes pod names past 40 characters) agree. They used to
    get one claimant's name, so each took the rows the other held as its own and every
    message of a digest run went out twice."""
    names = []
    for pod in ("kaohe-assessment-worker-prod-5d8f7c9b6d-x7k2p",
                "kaohe-assessment-worker-prod-5d8f7c9b6d-q4m9z"):
        with monkeypatch.context() as patch:
            patch.setattr(os, "getpid", lambda: 1)
            patch.setattr(socket, "gethostname", lambda pod=pod: pod)
            names.append(claims.worker_name())
    first, second = names
    _queue(store, range(1000, 1010))
    assert _pick(store, first) and _pick(store, second) == []
