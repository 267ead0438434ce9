"""A person's tap during the Monday digest run (issue 14, item 3), on PostgreSQL.

    .venv/bin/python -m bench.bench_tap [--size 20000] [--window 60]

Two real processes against a copy of the bench database kaohe_bench_<size> (every cadre given
a Telegram account): the bot (`kaohe run`, [workers] external = true) and one worker
(`kaohe worker`), both talking to the offline Telegram over HTTP with its flood limits on
(30 messages in any rolling second, one a second per chat). The digest run for every cadre is
asked for (the job 立即发送本周简报 enqueues); while the worker delivers it, another cadre
sends /tasks about once a second and the time to the bot's answer is taken. Measured: the
answer's p50/p95 before and during the run, the run's delivery rate over the window, the 429s
and duplicates seen, and the bot's and the worker's memory (RSS, and its peak) at the end.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import col, select

from bot.config import load_settings
from models import jobs
from models.jobs import JobKind
from models.migrate import upgrade
from models.store import Store, make_engine
from models.tables import Cadre, OutboxMessage
from models.vocab import SENT
from sandbox.sim_http import SimulatorServer
from sandbox.simulator import SimMessage, TelegramSimulator

ROOT = Path(__file__).resolve().parent.parent
TELEGRAM_BASE = 1_000_000_000  # cadre n gets Telegram account TELEGRAM_BASE + n
PROBES = 20  # cadres who tap meanwhile (their chats are left out of the duplicate count)
ANSWER_WAIT = 15.0  # seconds before a tap counts as unanswered


@dataclass
class Seen:
    """What the simulator saw the bot send, from its listener (another thread)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    at: list[tuple[float, int]] = field(default_factory=list)  # (monotonic, chat) per message
    answered: dict[int, threading.Event] = field(default_factory=dict)

    def __call__(self, message: SimMessage, change: str) -> None:
        if change != "new" or not message.from_bot:
            return
        with self.lock:
            self.at.append((time.monotonic(), message.chat_id))
            waiting = self.answered.get(message.chat_id)
        if waiting is not None:
            waiting.set()


def _copy(server: str, size: int, name: str) -> str:
    """A database of our own from the bench template (retried while someone is connected)."""
    admin = create_engine(server + "postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        for attempt in range(30):
            try:
                conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "kaohe_bench_{size}"'))
                break
            except Exception:
                if attempt == 29:
                    raise
                time.sleep(2)
        # The copy's pages on disk before the run: the server writing gigabytes back
        # meanwhile would compete with the run it is meant to measure.
        conn.execute(text("CHECKPOINT"))
    admin.dispose()
    return server + name


def _drop(server: str, name: str) -> None:
    admin = create_engine(server + "postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _prepare(url: str, sim: TelegramSimulator) -> tuple[Store, list[int]]:
    """Everyone bound to a Telegram account; the probes' accounts."""
    engine = make_engine(url)
    upgrade(engine)
    store = Store(engine, load_settings().rules())
    with store.transaction() as ctx:
        ctx.session.execute(text("UPDATE cadre SET telegram_user_id = :base + id"),
                            {"base": TELEGRAM_BASE})
        ctx.session.execute(text("DELETE FROM outbox_message"))
    store.run(jobs.recompute_if_policy_changed)  # the standings are of today's policy
    with store.session() as session:
        people = session.exec(select(Cadre.telegram_user_id, Cadre.name)
                              .order_by(col(Cadre.id))).all()
    for telegram_id, name in people:
        sim.add_user(telegram_id or 0, name)
    return store, [telegram_id or 0 for telegram_id, _ in people[-PROBES:]]


def _environment(url: str, telegram: SimulatorServer) -> dict[str, str]:
    return {**os.environ, "KAOHE_DATABASE__URL": url,
            "KAOHE_TELEGRAM__TOKEN": telegram.sim.token,
            "KAOHE_TELEGRAM__BASE_URL": telegram.base_url,
            "KAOHE_TELEGRAM__BASE_FILE_URL": telegram.base_file_url,
            "KAOHE_WORKERS__EXTERNAL": "true", "KAOHE_WEBAPP__ENABLED": "false",
            "KAOHE_LOGGING__LEVEL": "INFO",
            "KAOHE_SCHEDULE__QUIET_START": "00:00", "KAOHE_SCHEDULE__QUIET_END": "00:00"}


def _start(command: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """The process, its log in var/bench/tap-<command>.log (a pipe nobody reads would fill)."""
    log = ROOT / "var" / "bench" / f"tap-{command}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as sink:
        return subprocess.Popen([sys.executable, "-m", "bot.cli", command], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=sink)


def _tap(sim: TelegramSimulator, seen: Seen, user: int) -> float | None:
    """/tasks from `user`; milliseconds to the bot's first answer (None: none came)."""
    answered = threading.Event()
    with seen.lock:
        seen.answered[user] = answered
    started = time.monotonic()
    sim.send_text(user, "/tasks")
    if not answered.wait(ANSWER_WAIT):
        return None
    with seen.lock:
        del seen.answered[user]
    return (time.monotonic() - started) * 1000


def _taps(sim: TelegramSimulator, seen: Seen, probes: list[int], seconds: float) -> list[float]:
    found, until, n = [], time.monotonic() + seconds, 0
    while time.monotonic() < until:
        took = _tap(sim, seen, probes[n % len(probes)])
        n += 1
        found.append(took if took is not None else ANSWER_WAIT * 1000)
        time.sleep(max(0.0, 1.0 - (took or 0) / 1000))  # about one a second
    return found


def _memory(pid: int) -> tuple[float, float]:
    """(RSS, peak RSS) in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text()
                  .splitlines() if ":" in line)
    return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)


def _wait_for(condition: object, what: str, seconds: float = 180) -> None:
    until = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        if time.monotonic() > until:
            raise TimeoutError(what)
        time.sleep(0.2)


@dataclass
class TapFigures:
    size: int
    idle_ms: list[float]
    busy_ms: list[float]
    delivered: int
    window_s: float
    flood_waits: int
    duplicates: int
    bot_mb: tuple[float, float]
    worker_mb: tuple[float, float]

    @property
    def rate(self) -> float:
        return self.delivered / self.window_s


def measure(server: str, size: int, window: float = 60.0) -> TapFigures:
    name = f"kaohe_tap_{size}_{os.getpid()}"
    url = _copy(server, size, name)
    telegram = SimulatorServer(TelegramSimulator()).start()  # real clock, flood limits on
    sim, seen = telegram.sim, Seen()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        store, probes = _prepare(url, sim)
        sim.on_bot_message(seen)
        env = _environment(url, telegram)
        bot = _start("run", env)
        processes.append(bot)
        _wait_for(lambda: sim.calls("getUpdates"), "the bot polling")
        idle = _taps(sim, seen, probes, min(window / 3, 20))
        worker = _start("worker", env)
        processes.append(worker)
        store.run(lambda ctx: jobs.enqueue(ctx, JobKind.DIGESTS))
        with seen.lock:
            already = len(seen.at)
        _wait_for(lambda: len(seen.at) > already + 60, "the digest run starting")
        started = time.monotonic()
        busy = _taps(sim, seen, probes, window)
        ended = time.monotonic()
        bot_mb, worker_mb = _memory(bot.pid), _memory(worker.pid)
        probe_chats = set(probes)
        with seen.lock:
            delivered = sum(1 for at, chat in seen.at
                            if started <= at < ended and chat not in probe_chats)
        flood = sum(1 for _, error in sim.errors() if "Too Many Requests" in error)
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(120)  # a clean stop: the work in hand is finished first
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGUSR1)  # its threads' stacks, into its log
                time.sleep(2)
                raise
        duplicates = _duplicates(store, sim, probe_chats)
        store.engine.dispose()
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
        telegram.stop()
        _drop(server, name)
    return TapFigures(size, idle, busy, delivered, ended - started, flood, duplicates,
                      bot_mb, worker_mb)


def _duplicates(store: Store, sim: TelegramSimulator, left_out: set[int]) -> int:
    """Messages in chats beyond the parts of the rows sent to them."""
    parts = Counter[int]()
    with store.session() as session:
        for chat, rendered in session.exec(select(OutboxMessage.chat_id, OutboxMessage.rendered)
                                           .where(OutboxMessage.state == SENT)).all():
            parts[chat or 0] += len(rendered or [])
    return sum(max(0, len(sim.bot_messages(chat)) - count) for chat, count in parts.items()
               if chat not in left_out)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def section(figures: TapFigures) -> str:
    """The markdown section of docs/PERFORMANCE.md."""
    f = figures

    def taps(values: list[float]) -> str:
        return (f"p50 {statistics.median(values):.0f} ms, p95 {percentile(values, 0.95):.0f} ms"
                f" ({len(values)} taps)")

    rate_goal = "met" if f.rate >= 0.95 * 30 else "missed"
    tap_goal = "met" if percentile(f.busy_ms, 0.95) <= 200 else "missed"
    bot_goal = "met" if f.bot_mb[0] <= 150 else "missed"
    return "\n".join([
        f"## A person's tap during the Monday digest run ({f.size:,} cadres, PostgreSQL)",
        "",
        "The bot (`kaohe run`, `[workers] external = true`) and one `kaohe worker` as separate "
        "processes, both on the offline Telegram over HTTP with its flood limits on; the "
        "digest run for every cadre goes out through the worker while another cadre sends "
        "/tasks about once a second (bench/bench_tap.py).",
        "",
        "| measure | figure | goal |",
        "|---|---|---|",
        f"| /tasks answered, bot alone | {taps(f.idle_ms)} | |",
        f"| /tasks answered, during the run | {taps(f.busy_ms)} | p95 ≤ 200 ms: {tap_goal} |",
        f"| run delivered over {f.window_s:.0f} s | {f.delivered} messages, "
        f"{f.rate:.1f}/s ({f.rate / 30:.0%} of 30/s) | ≥ 95 %: {rate_goal} |",
        f"| 429s / duplicates | {f.flood_waits} / {f.duplicates} | 0 / 0 |",
        f"| bot RSS (peak) | {f.bot_mb[0]:.0f} MB ({f.bot_mb[1]:.0f} MB) | ≤ 150 MB: "
        f"{bot_goal} |",
        f"| worker RSS (peak) | {f.worker_mb[0]:.0f} MB ({f.worker_mb[1]:.0f} MB) | |",
        "",
    ])


def run(server: str, size: int, window: float = 60.0) -> str:
    """What `python -m bench` calls: the section, measured."""
    return section(measure(server, size, window))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=20000)
    parser.add_argument("--window", type=float, default=60.0)
    args = parser.parse_args()
    server = os.environ.get("KAOHE_BENCH_POSTGRES_URL",
                            "postgresql+psycopg://postgres@127.0.0.1:5432/")
    make_url(server)  # refused early when malformed
    print(run(server, args.size, args.window))


if __name__ == "__main__":
    main()
