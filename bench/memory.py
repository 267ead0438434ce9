"""Peak memory of the bot process doing its heaviest work on a large organisation.

    python -m bench.memory DATABASE_URL

Builds the real Application (on the offline simulator), then, as the bot would on a Monday
morning: plans and queues the week's digests for everyone, renders every one of them the way
the sender does (50 at a time), and approves a report. Prints the peak resident set size (MB)
of this process, read from the kernel (VmHWM).
"""

from __future__ import annotations

import resource
import sys
from datetime import date
from pathlib import Path

from sqlmodel import col, select

from bot.app_context import AppContext
from bot.application import build_application, sender
from bot.config import load_settings
from bot.scheduler import schedule_rules
from models.outbox import Due, Kind, enqueue_planned
from models.schedule import Planner
from models.store import Store, make_engine
from models.tables import Cadre, OutboxMessage, Period
from sandbox.simulator import TelegramSimulator

DIGEST_DAY = date(2026, 11, 23)


def main(url: str) -> None:
    settings = load_settings()
    store = Store(make_engine(url), settings.rules())
    sim = TelegramSimulator(rate_limits=False)
    context = AppContext(settings=settings, engine=store.engine, rules=store.rules, store=store)
    application = build_application(context, token=sim.token, request=sim.request(),
                                     updates_request=sim.request(), rate_limiter=False)
    outbox = sender(application)
    with store.transaction() as ctx:
        period = ctx.session.exec(select(Period).where(col(Period.is_active))).one()
        planned = Planner(ctx.session, schedule_rules(settings.schedule), store.tz) \
            .digests_for_week(period, DIGEST_DAY, at=ctx.now)
        queued = enqueue_planned(ctx, [p for p in planned if p.kind == "digest_cadre"])
    with store.session() as session:
        ids = list(session.exec(select(OutboxMessage.id).where(
            OutboxMessage.kind == "digest_cadre").order_by(col(OutboxMessage.id))).all())
    rendered = 0
    for first in range(0, len(ids), 50):
        with store.session() as session:
            rows = session.exec(select(OutboxMessage).where(
                col(OutboxMessage.id).in_(ids[first:first + 50]))).all()
            ready = [Due(row, Kind(row.kind), session.get(Cadre, row.recipient_id), silent=False)
                     for row in rows]
            rendered += sum(1 for card in outbox._premade_digests(session, ready).values()
                            if card is not None)
    print(f"queued {queued} digests, rendered {rendered}; peak RSS {peak_megabytes():.0f} MB")


def peak_megabytes() -> float:
    """This process's peak resident set. Linux's VmHWM, because ru_maxrss survives exec and
    would report the parent's peak when a large benchmark process started this one."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main(sys.argv[1])
