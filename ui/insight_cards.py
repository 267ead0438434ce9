"""Cards of issue 15 that the outbox sends: a supervisor's 提醒 from /warn."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from models.tables import Cadre, Task
from ui.cards import Card
from ui.render import Renderer


def warn_reminder(session: Session, payload: dict[str, Any], r: Renderer) -> Card | None:
    """The reminder a supervisor sent from /warn, with the button to report now."""
    task = session.get(Task, payload.get("task_id"))
    if task is None:
        return None
    boss = session.get(Cadre, payload.get("from_id"))
    text = r.render("warn_reminder", task=task, payload=payload, boss=boss.name if boss else "")
    markup = InlineKeyboardMarkup([[InlineKeyboardButton(r.label("remind.report_now"),
                                                         callback_data=f"rep:t:{task.id}")]])
    return Card(text, markup)
