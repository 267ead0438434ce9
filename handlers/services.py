"""What the handlers need from the composition root, and nothing more.

bot/ builds one `Services` per Application from its configuration; handlers read it through
the typed context (handlers/common.py `Context.kaohe`), so that handlers depend on nothing above.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from models.rules import Rules
from models.store import Store


@dataclass
class Services:
    store: Store
    rules: Rules
    default_locale: str = "zh_CN"
    invite_ttl_days: int = 14
    publicity_days: int = 5
    max_delegation_days: int = 90  # config.toml [review]
    # The Mini App dashboard's HTTPS address ([webapp] public_url; empty: no 📊 看板 button).
    webapp_url: str = ""
    # Wakes this process's job loop for a job queued outside an update's transaction (an
    # import, once its file is downloaded); an update's own jobs wake it when it commits.
    wake_jobs: Callable[[], None] = lambda: None
