"""Logging: time and level on every line, to standard error or a file (config.toml [logging]).

Logs leave personal data out. An update is named by its id, its chat type and what it asked
for (a command or a button's prefix), never by who sent it or what they wrote; an error by its
type and where it happened, not by its message (a database error's message quotes the row).
"""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path
from typing import Any

from telegram import Update

from bot.config import LoggingSettings

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries that log every request at INFO: httpx puts the bot token in each URL it logs.
_QUIET = ("httpx", "httpcore", "apscheduler")


def configure(settings: LoggingSettings, config_dir: Path, *,
              terminal_chat: bool = False) -> logging.Handler:
    """Route the root logger to one handler, replacing any set before; returns it. With
    `terminal_chat` (the sandbox chat shares the terminal) standard error gets warnings only."""
    level = logging.getLevelName(settings.level)
    handler: logging.Handler
    if settings.file:
        path = Path(settings.file)
        path = path if path.is_absolute() else config_dir / path
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
        if terminal_chat:
            level = max(level, logging.WARNING)
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in _QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    return handler


def describe_update(update: object) -> str:
    """'update 42 (private, /report)': what an update was, with nothing personal in it."""
    if not isinstance(update, Update):
        return "no update (a timer)" if update is None else f"a {type(update).__name__}"
    chat = update.effective_chat
    where = chat.type if chat is not None else "no chat"
    return f"update {update.update_id} ({where}, {_asked_for(update)})"


def _asked_for(update: Update) -> str:
    if update.callback_query is not None:
        data = update.callback_query.data or ""
        return "button " + (data.split(":", 1)[0] or "-")  # the prefix names the handler
    message = update.effective_message
    if message is not None:
        text = message.text or ""
        if text.startswith("/"):
            return text.split()[0].split("@", 1)[0]  # the command, not its arguments
        if message.document is not None:
            return "a file"
        if message.photo:
            return "a photo"
        return "a message"
    return "other"


def describe_error(error: BaseException | None) -> str:
    """The error's type and its stack (file, line, function), without its message or the
    source lines (a literal there could be anything)."""
    if error is None:
        return "unknown error"
    frames = traceback.extract_tb(error.__traceback__)
    stack = "\n".join(f"  {frame.filename}:{frame.lineno} in {frame.name}" for frame in frames)
    name = f"{type(error).__module__}.{type(error).__qualname__}"
    return f"{name}\n{stack}" if stack else name


def log_update_error(log: logging.Logger, update: object, error: BaseException | None,
                     **extra: Any) -> None:
    log.error("error while handling %s: %s", describe_update(update), describe_error(error),
              **extra)
