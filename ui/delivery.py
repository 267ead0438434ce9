"""What admins see of delivery problems: who blocked the bot, and messages that failed for good
(Telegram refused them, or they could not be rendered)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from models.outbox import FailedDelivery, Kind
from ui.render import Renderer

KINDS = frozenset(kind.value for kind in Kind)


def delivery_problems(r: Renderer, blocked: list[str], failed: tuple[int, list[FailedDelivery]],
                      zone: ZoneInfo) -> str:
    text = (r.text("admin.blocked_list", names=r.p.list.join(blocked)) if blocked
            else r.text("admin.blocked_none"))
    count, latest = failed
    if count == 0:
        return text
    lines = [r.text("admin.failed_line",
                    name=item.name or r.label("admin.failed_group"),
                    kind=(r.label(f"outbox.kind.{item.kind}") if item.kind in KINDS
                          else item.kind),  # a kind this version does not know: as stored
                    at=item.at.astimezone(zone).strftime("%m-%d %H:%M"),
                    error=item.error[:120])
             for item in latest]
    return "\n\n".join((text, r.text("admin.failed_list", count=count), "\n".join(lines)))
