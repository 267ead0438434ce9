"""The dashboard's HTTP surface as a hostile client sees it: what a forged, flooding or
malformed request gets, and that it costs the bot nothing."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import httpx
import httpx2
import pytest
from starlette.testclient import TestClient

from models import dashboard
from models.store import Ctx
from models.tables import Cadre
from tests.conftest import FakeClock
from tests.webapp.conftest import ALICE, BOSS, Dashboard
from webapp.throttle import AuditThrottle

pytestmark = pytest.mark.db


def test_a_flood_of_requests_leaves_the_bots_threads_free(
        dash: Dashboard, monkeypatch: pytest.MonkeyPatch) -> None:
    """One viewer sends 40 requests at once, each a slow read: the bot's own database work
    (asyncio.to_thread, the loop's default executor: bot/persistence.py, the sender) still
    runs at once. Before, the reads filled every thread of that executor (at most 32) and the
    bot's work waited behind all of them."""
    slow = threading.Event()
    loaded = dashboard.viewer

    def slow_viewer(ctx: Ctx, telegram_user_id: int) -> Cadre:
        slow.wait(timeout=30)
        return loaded(ctx, telegram_user_id)

    monkeypatch.setattr(dashboard, "viewer", slow_viewer)
    headers = {"Authorization": f"tma {dash.init_data(ALICE)}"}

    async def flood() -> tuple[str, list[int]]:
        transport = httpx.ASGITransport(app=dash.client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://dash") as client:
            requests = [asyncio.create_task(client.get("/api/me", headers=headers))
                        for _ in range(40)]
            await asyncio.sleep(0.5)  # every request is in, its read waiting
            try:
                bot = await asyncio.wait_for(asyncio.to_thread(lambda: "update handled"), 5)
            except TimeoutError:
                bot = "the bot waited"
            finally:
                slow.set()
            return bot, [response.status_code for response in await asyncio.gather(*requests)]

    bot, statuses = asyncio.run(flood())
    assert bot == "update handled"
    assert statuses == [200] * 40



def _get(dash: Dashboard, path: str, telegram_id: int = BOSS) -> httpx2.Response:
    """What the page's fetch gets (Starlette's TestClient is built on httpx2)."""
    return dash.client.get(path, headers={"Authorization": f"tma {dash.init_data(telegram_id)}"})


@pytest.mark.parametrize("path", [
    "/api/unit/2147483648",  # past PostgreSQL's INTEGER: it refused the comparison
    "/api/person/2147483648",
    "/api/unit/9223372036854775808",  # past SQLite's 64 bits
    "/api/person/99999999999999999999",
])
def test_an_id_beyond_any_row_is_not_found(dash: Dashboard, path: str) -> None:
    """A forged id too large for the database is answered as any unknown id, in Chinese
    (before: 500, Internal Server Error, as plain text the page could not read)."""
    response = _get(dash, path)
    assert response.status_code == 404
    body = response.json()
    assert body["error"] == "not_found" and body["message"].startswith("找不到该记录")
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(("kind", "telegram_id", "language"), [
    ("unit", BOSS, "zh-hans"),  # the boss supervises the township, not the bureau
    ("person", ALICE, "zh-hans"),  # a cadre asks for a colleague's page
    ("person", ALICE, "en"),
])
def test_an_id_out_of_reach_is_answered_as_one_that_does_not_exist(
        dash: Dashboard, kind: str, telegram_id: int, language: str) -> None:
    """A 403 for an id out of reach and a 404 for one that does not exist let a cadre probe
    which unit and cadre ids exist: both get the same answer now, in the viewer's language,
    and the attempt is still audited as forbidden."""
    world = dash.world
    hidden = world.bureau.id if kind == "unit" else world.bob.id
    missing = 2147483000  # no row has it
    before = len(dash.audit())
    refused = dash.get(f"/api/{kind}/{hidden}", telegram_id, language=language)
    absent = dash.get(f"/api/{kind}/{missing}", telegram_id, language=language)
    assert refused[0] == absent[0] == 404
    assert refused[1] == {**absent[1], "message": absent[1]["message"].replace(
        str(missing), str(hidden))}
    words = {("unit", "zh-hans"): "找不到该记录（单位 ",
             ("person", "zh-hans"): "找不到该记录（干部 ",
             ("person", "en"): "Not found (cadre "}[kind, language]
    assert refused[1]["message"].startswith(words)
    entries = dash.audit()[before:]
    assert [(e.action, e.entity, e.entity_id) for e in entries] == [
        ("refused.forbidden", "unit" if kind == "unit" else "cadre", hidden)]


@pytest.mark.parametrize("path", [
    "/api/unit/" + "1" * 5000,  # int() takes at most 4,300 digits: it raised (a 500)
    "/api/person/" + "0" * 4999 + "6",
    "/api/unit/１",  # full-width digits name no route
])
def test_an_id_of_too_many_digits_names_no_page(dash: Dashboard, path: str) -> None:
    assert _get(dash, path).status_code == 404


@pytest.mark.parametrize("start", ["²", "٣", "9" * 5000, "-1", "x"])
def test_a_malformed_start_of_late_is_the_first_page(dash: Dashboard, start: str) -> None:
    """A `start` that str.isdigit() took but int() refused ("²", thousands of digits) made a
    500, and Arabic-Indic "٣" was read as 3: anything but ASCII digits is the first page."""
    first = _get(dash, "/api/late")
    response = _get(dash, f"/api/late?start={start}")
    assert response.status_code == 200
    assert response.json() == first.json()


def test_a_failure_of_ours_is_answered_in_the_viewers_words(
        dash: Dashboard, monkeypatch: pytest.MonkeyPatch) -> None:
    """The database away or a bug: the client gets JSON with the page's words and the usual
    headers, nothing of the failure (before: "Internal Server Error" as plain text, which the
    page showed as a JavaScript parse error); the traceback goes to the log."""
    def broken(*_args: object) -> None:
        raise RuntimeError("connection to /var/lib/secret failed")

    monkeypatch.setattr(dashboard, "overview", broken)
    client = TestClient(dash.client.app, raise_server_exceptions=False)
    response = client.get("/api/overview",
                          headers={"Authorization": f"tma {dash.init_data(BOSS)}"})
    assert response.status_code == 500
    assert response.json() == {"error": "internal", "message": "加载失败，请稍后重试。"}
    assert "secret" not in response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_only_telegram_web_may_frame_the_page(dash: Dashboard) -> None:
    """default-src does not cover frame-ancestors: without it any site could frame the page
    (clickjacking). Telegram Web opens Mini Apps in an iframe of web.telegram.org."""
    for path in ("/", "/static/app.js", "/api/me"):
        policy = dash.client.get(path).headers["content-security-policy"]
        assert "frame-ancestors 'self' https://web.telegram.org" in policy


def test_a_flood_of_bad_init_data_is_refused_and_audited_once_a_minute_per_client(
        dash: Dashboard, clock: FakeClock) -> None:
    """Each request with bad initData wrote an audit row: anyone could grow the audit table
    without limit. Every one is still refused; a client address gets one row a minute, and
    its next row says how many went unrecorded."""
    before = len(dash.audit())
    flooder = TestClient(dash.client.app, client=("203.0.113.7", 40000))
    statuses = [flooder.get("/api/overview", headers={"Authorization": "tma forged"}).status_code
                for _ in range(200)]
    assert statuses == [401] * 200
    other = TestClient(dash.client.app, client=("198.51.100.2", 40000))
    assert other.get("/api/me").status_code == 401
    rows = dash.audit()[before:]
    assert [(e.action, e.after) for e in rows] == [
        ("refused.webapp_bad_init_data", {"reason": "malformed"}),
        ("refused.webapp_bad_init_data", {"reason": "no tma authorization"})]
    clock.advance(seconds=61)
    response = flooder.get("/api/overview", headers={"Authorization": "tma forged"})
    assert response.status_code == 401
    assert response.json()["message"].startswith("无法确认您的身份")
    assert [e.after for e in dash.audit()[before + 2:]] == [
        {"reason": "malformed", "unrecorded": "199"}]


def test_many_addresses_share_a_bounded_number_of_rows(caplog: pytest.LogCaptureFixture) -> None:
    """A client with more addresses than are kept: once every kept address had its row this
    minute, the rest share one row a minute; what they left unrecorded is logged."""
    throttle = AuditThrottle(size=3)
    now = datetime(2026, 6, 15, tzinfo=UTC)
    for minute in range(2):
        at = now + timedelta(minutes=minute)
        admitted = [throttle.admit(f"2001:db8::{minute}:{n}", at) for n in range(100)]
        assert admitted == [0, 0, 0, 0] + [None] * 96
    assert "96 requests with bad initData from * were not audited" in caplog.text
