"""initData as Telegram documents it: signature, age, and what is refused."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode

import pytest

from webapp.auth import InitDataError, check_init_data, sign_init_data

TOKEN = "123456:ABC"
NOW = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)


def test_documented_algorithm_by_hand() -> None:
    """The check agrees with Telegram's recipe computed independently here."""
    fields = {"auth_date": str(int(NOW.timestamp())), "query_id": "AAE",
              "user": '{"id":7,"first_name":"王","language_code":"zh-hans"}'}
    check = "\n".join(f"{k}={fields[k]}" for k in sorted(fields))
    secret = hmac.new(b"WebAppData", TOKEN.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    user = check_init_data(urlencode(fields), TOKEN, NOW, 60)
    assert (user.id, user.language_code, user.first_name) == (7, "zh-hans", "王")


def test_round_trip_and_field_order() -> None:
    data = sign_init_data(TOKEN, 42, NOW, language_code="en")
    reordered = urlencode(list(reversed(parse_qsl(data))))
    assert check_init_data(reordered, TOKEN, NOW, 60).id == 42


@pytest.mark.parametrize(("data", "now", "reason"), [
    ("", NOW, "missing"),
    ("not a query string", NOW, "malformed"),
    (sign_init_data(TOKEN, 1, NOW) + "&hash=00", NOW, "duplicate field"),
    (sign_init_data("999:OTHER", 1, NOW), NOW, "bad signature"),
    (sign_init_data(TOKEN, 1, NOW - timedelta(seconds=61)), NOW, "stale"),
    (sign_init_data(TOKEN, 1, NOW + timedelta(hours=1)), NOW, "from the future"),
    (sign_init_data(TOKEN, 1, NOW, extra={"user": "{}"}), NOW, "incomplete"),
])
def test_refused(data: str, now: datetime, reason: str) -> None:
    with pytest.raises(InitDataError) as caught:
        check_init_data(data, TOKEN, now, 60)
    assert caught.value.reason == reason
