"""/audit: the assessment office reads the latest entries of the audit log in the bot, in words,
in the admin's language and their unit's time zone: the same words as `kaohe audit` (which
filters and goes further back), from ui/audit_words.py."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session
from telegram import Update
from telegram.ext import CommandHandler

from handlers.common import Context, KaoheApp, Person, answer, app, person, read
from models.audit_log import AuditFilter, names_for, search
from models.doors import Door
from models.views import zone_of
from ui.audit_words import AuditWords

ENTRIES_SHOWN = 15


@dataclass(frozen=True)
class AuditLine:
    when: str
    actor: str
    action: str
    target: str
    change: str


async def audit_log(update: Update, context: Context) -> None:
    p = await person(update, context, Door.ADMIN)  # others are refused, audited
    if p is not None:
        await show_latest(update, context, p)


async def show_latest(update: Update, context: Context, p: Person) -> None:
    """The latest entries, for an admin (/audit, or 管理 → 审计日志)."""
    default_zone = app(context).store.tz

    def load(session: Session) -> list[AuditLine]:
        entries = search(session, AuditFilter(limit=ENTRIES_SHOWN))
        words = AuditWords(p.r.t, zone_of(session, p.cadre, default_zone),
                           names_for(session, entries))
        return [AuditLine(words.when(e), words.actor(e), words.action(e), words.target(e),
                          words.change(e)) for e in entries]

    lines = await read(context, load)
    await answer(update, p.r.render("audit", lines=lines))


def register(application: KaoheApp) -> None:
    application.add_handler(CommandHandler("audit", audit_log))
