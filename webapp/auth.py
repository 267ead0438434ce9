"""Telegram Mini App `initData`: checking its signature, and making one (sandbox and tests).

Telegram's documented algorithm ("Validating data received via the Mini App"): the data-check
string is every received field except `hash`, as `key=value`, sorted by key, joined by "\\n";
the secret key is HMAC-SHA256 of the bot token under the key "WebAppData"; the data is genuine
when HMAC-SHA256 of the data-check string under that secret equals `hash` (compared in constant
time). `auth_date` (seconds since the epoch) older than the configured age is refused, so a
copied link stops working.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

# How far ahead of our clock an auth_date may be (clocks drift a little).
CLOCK_SKEW_SECONDS = 60


class InitDataError(Exception):
    """The initData cannot be trusted; `reason` says why (for the audit row, not the user)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class WebAppUser:
    id: int
    language_code: str | None
    first_name: str


def _secret(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def _signature(fields: dict[str, str], bot_token: str) -> str:
    check = "\n".join(f"{key}={fields[key]}" for key in sorted(fields) if key != "hash")
    return hmac.new(_secret(bot_token), check.encode(), hashlib.sha256).hexdigest()


def check_init_data(raw: str, bot_token: str, now: datetime, max_age_seconds: int) -> WebAppUser:
    """The Telegram user the signed data names, or InitDataError."""
    if not raw or not bot_token:
        raise InitDataError("missing")
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=True)
    except ValueError as exc:
        raise InitDataError("malformed") from exc
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise InitDataError("duplicate field")
    given = fields.get("hash", "")
    if not hmac.compare_digest(_signature(fields, bot_token).encode(), given.encode()):
        raise InitDataError("bad signature")
    try:
        auth_date = int(fields["auth_date"])
        user: dict[str, Any] = json.loads(fields["user"])
        user_id = int(user["id"])
    except (KeyError, ValueError, TypeError) as exc:
        raise InitDataError("incomplete") from exc
    age = now.timestamp() - auth_date
    if age > max_age_seconds:
        raise InitDataError("stale")
    if age < -CLOCK_SKEW_SECONDS:
        raise InitDataError("from the future")
    language = user.get("language_code")
    return WebAppUser(user_id, language if isinstance(language, str) else None,
                      str(user.get("first_name", "")))


def sign_init_data(bot_token: str, user_id: int, auth_date: datetime, *,
                   first_name: str = "", language_code: str | None = "zh-hans",
                   extra: dict[str, str] | None = None) -> str:
    """initData as Telegram would hand it to the Mini App, signed with `bot_token`."""
    user: dict[str, Any] = {"id": user_id, "first_name": first_name}
    if language_code:
        user["language_code"] = language_code
    fields = {
        "auth_date": str(int(auth_date.timestamp())),
        "query_id": f"kaohe-{user_id}",
        "user": json.dumps(user, ensure_ascii=False, separators=(",", ":")),
        **(extra or {}),
    }
    fields["hash"] = _signature(fields, bot_token)
    return urlencode(fields)
