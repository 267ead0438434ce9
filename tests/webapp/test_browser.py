"""The dashboard in a real browser: Debian's headless Chromium, driven by Playwright for Python.

The Mini App is served by uvicorn as `kaohe run` serves it; the page gets signed initData the
way Telegram hands it over (window.Telegram.WebApp), at a phone's 360 px. The test walks
总览 → a unit → a person and checks what is on the screen against the database's standings;
each page is saved as a screenshot in var/webapp-screenshots/ (docs/webapp.md shows one).
Nothing is downloaded: the system browser is used, and the page loads nothing from elsewhere.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlmodel import col, select

from bot.config import ScheduleSettings
from bot.jobs import JobRunner
from models import figures
from models.history import record_day
from models.store import Store
from models.tables import Cadre, Standing, Unit
from models.views import active_period
from models.warnings import by_cadre, by_unit, lights_under
from tests.conftest import FakeClock
from tests.support.world import build_world
from tests.webapp.conftest import BOSS, TOKEN, bind, decide
from webapp.api import WebAppConfig, create_app
from webapp.auth import sign_init_data
from webapp.server import web_server

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "var" / "webapp-screenshots"

pytestmark = pytest.mark.db

if not CHROMIUM.exists():
    pytest.skip("Debian's chromium is not installed at /usr/bin/chromium "
                "(.ci/run installs it: apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is missing")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def served(store: Store, clock: FakeClock) -> Iterator[tuple[str, Store]]:
    """The small world with three weeks of history, and the dashboard on a local port."""
    clock.advance(days=-21)
    world = build_world(store)
    bind(store, world, {BOSS: world.boss})
    steps = [  # who, which task, grade, progress, actual (of a numeric target)
        (world.alice, world.alice_plain.id, "B", Decimal(60), None),
        (world.bob, world.bob_task.id, "A", Decimal(100), None),
        (world.alice, world.alice_key.id, "A", None, Decimal(9)),
    ]
    for reporter, task_id, grade, progress, actual in steps:
        decide(store, reporter, task_id or 0, world.boss, grade, progress=progress,
               actual=actual)
        with store.transaction() as ctx:
            period = active_period(ctx.session)
            assert period is not None
            record_day(ctx, period)
        clock.advance(days=7)
    decide(store, world.alice, world.alice_plain.id or 0, world.boss, "A",
           progress=Decimal(100))
    server = web_server(create_app(store, WebAppConfig(TOKEN, 3600)), "127.0.0.1",
                        _free_port(), own_signals=False)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    port = server.config.port
    yield f"http://127.0.0.1:{port}/", store
    server.should_exit = True
    thread.join(timeout=10)


def _standings(store: Store, unit_name: str) -> list[tuple[str, str]]:
    """The unit's members as the database ranks them: (name, total)."""
    with store.session() as session:
        unit = session.exec(select(Unit).where(Unit.name == unit_name)).one()
        found = session.exec(
            select(col(Cadre.name), col(Standing.total))
            .join(Standing, col(Standing.cadre_id) == Cadre.id)
            .where(Standing.group_unit_id == unit.id)
            .order_by(col(Standing.total).desc(), col(Cadre.code))).all()
    return [(name, str(total)) for name, total in found]


# The dots' colours (style.css --red, --yellow, --green) as the browser computes them.
PAINT = {"red": "rgb(224, 57, 62)", "yellow": "rgb(240, 180, 0)", "green": "rgb(52, 168, 83)"}


def _lights(store: Store) -> dict[str, dict[str, str]]:
    """The worst key-task light of the boss's units and of the office's people, by name."""
    with store.session() as session:
        period = active_period(session)
        assert period is not None
        units = {u.id: u.name for u in session.exec(select(Unit)).all()}
        people = {c.id: c.name for c in session.exec(select(Cadre)).all()}
        lights = lights_under(session, period, None, store.clock().date(),
                              store.rules.warnings)
    return {"units": {units[i]: s.colour for i, s in by_unit(lights).items()
                      if units[i] in ("党政办", "榆树沟镇")},
            "people": {people[i]: s.colour for i, s in by_cadre(lights).items()
                       if people[i] in ("艾丽", "鲍勃")}}


def _painted(dot: object) -> str:
    return str(dot.evaluate(  # type: ignore[attr-defined]
        "(el) => getComputedStyle(el).backgroundColor"))


def _drawn(page: object, test_id: str) -> bool:
    """Chart.js drew on the canvas: a chart is attached and some pixels are painted."""
    return bool(page.evaluate(  # type: ignore[attr-defined]
        """(id) => {
            const canvas = document.querySelector(`[data-testid="${id}"]`);
            if (!canvas || !window.Chart || !Chart.getChart(canvas)) return false;
            const context = canvas.getContext('2d');
            const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
            for (let i = 3; i < data.length; i += 4) if (data[i] > 0) return true;
            return false;
        }""", test_id))


def _telegram(init_data: str, theme: dict[str, str], scheme: str) -> str:
    """What telegram-web-app.js leaves in the page, set before any script of ours runs."""
    return f"""window.Telegram = {{ WebApp: {{
        initData: {json.dumps(init_data)}, initDataUnsafe: {{}},
        themeParams: {json.dumps(theme)}, colorScheme: {json.dumps(scheme)},
        ready() {{}}, expand() {{}}, close() {{ window.closedByApp = true; }},
        BackButton: {{ show() {{}}, hide() {{}}, onClick() {{}} }} }} }};"""


def test_overview_unit_person_in_chromium(served: tuple[str, Store], tmp_path: Path) -> None:
    url, store = served
    init_data = sign_init_data(TOKEN, BOSS, store.clock(), first_name="镇领导")
    light = {"bg_color": "#ffffff", "text_color": "#000000", "hint_color": "#707579",
             "button_color": "#2481cc", "button_text_color": "#ffffff",
             "secondary_bg_color": "#f1f1f4", "link_color": "#2481cc"}
    shots = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 360, "height": 760},
                                    device_scale_factor=2, locale="zh-CN")
            outside: list[str] = []
            page.on("request", lambda r: outside.append(r.url)
                    if not r.url.startswith(url) else None)
            page.add_init_script(_telegram(init_data, light, "light"))
            page.goto(url)

            # 总览: the boss's township and its office, each with its quota.
            page.wait_for_selector("[data-testid=unit-row]")
            names = page.locator("[data-testid=unit-name]").all_inner_texts()
            assert sorted(names) == ["党政办", "榆树沟镇"]
            page.wait_for_function("() => ![...document.querySelectorAll('span.late')]"
                                   ".some(e => e.textContent === '…')")
            # 红黄绿: each unit's dot in its colour, as models/warnings.py gives it.
            page.wait_for_selector("[data-testid=unit-light][data-light]")
            expected = _lights(store)
            for name, colour in expected["units"].items():
                dot = page.locator("[data-testid=unit-row]", has_text=name).locator(
                    "[data-testid=unit-light]")
                assert dot.get_attribute("data-light") == colour
                assert _painted(dot) == PAINT[colour]
            shots.append(_shot(page, tmp_path, "overview"))

            # A unit: its members ranked, totals as stored, the distribution drawn.
            page.locator("[data-testid=unit-row]", has_text="党政办").click()
            page.wait_for_selector("[data-testid=member-row]")
            shown = list(zip(page.locator("[data-testid=member-name]").all_inner_texts(),
                             page.locator("[data-testid=member-total]").all_inner_texts(),
                             strict=True))
            assert shown == _standings(store, "党政办")
            for name, colour in expected["people"].items():
                dot = page.locator("[data-testid=member-row]", has_text=name).locator(
                    "[data-testid=member-light]")
                assert dot.get_attribute("data-light") == colour
                assert _painted(dot) == PAINT[colour]
            assert "红 1" in page.locator("[data-testid=unit-light-counts]").inner_text()
            assert page.locator("[data-testid=member-row]", has_text="艾丽").locator(
                "[data-trend=up]").count() == 1  # she gained since last week
            page.wait_for_function("() => window.Chart !== undefined")
            assert _drawn(page, "distribution")
            shots.append(_shot(page, tmp_path, "unit"))

            # A person: the same total and breakdown as 我的得分, the weekly trend drawn.
            page.locator("[data-testid=member-row]", has_text="艾丽").click()
            page.wait_for_selector("[data-testid=person-total]")
            alice_total = dict(_standings(store, "党政办"))["艾丽"]
            assert page.locator("[data-testid=person-name]").inner_text() == "艾丽"
            assert page.locator("[data-testid=person-total]").inner_text() == alice_total
            assert page.locator("[data-testid=task-row]").count() == 3
            assert _drawn(page, "trend")
            shots.append(_shot(page, tmp_path, "person"))

            # 返回 goes back to the unit; 返回聊天 closes the Mini App.
            page.locator("#back").click()
            page.wait_for_selector("[data-testid=member-row]")
            page.locator("#to-chat").click()
            assert page.evaluate("() => window.closedByApp") is True
            assert outside == []  # nothing fetched from the internet
        finally:
            browser.close()
    SHOTS.mkdir(parents=True, exist_ok=True)
    for shot in shots:
        shutil.copy(shot, SHOTS / shot.name)


def _shot(page: object, folder: Path, name: str) -> Path:
    path = folder / f"webapp-{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


def test_stale_link_shows_the_refusal(served: tuple[str, Store]) -> None:
    url, store = served
    old = sign_init_data(TOKEN, BOSS, store.clock() - timedelta(days=2))
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 360, "height": 640})
            # Without window.Telegram the shim reads the launch data from the hash.
            page.goto(url + "#tgWebAppData=" + quote(old))
            page.wait_for_selector("[data-testid=error]")
            assert "身份" in page.locator("[data-testid=error]").inner_text()
        finally:
            browser.close()


def test_telegrams_dark_theme_is_followed(served: tuple[str, Store], tmp_path: Path) -> None:
    url, store = served
    init_data = sign_init_data(TOKEN, BOSS, store.clock())
    dark = {"bg_color": "#17212b", "text_color": "#f5f5f5", "hint_color": "#708499",
            "button_color": "#5288c1", "button_text_color": "#ffffff",
            "secondary_bg_color": "#232e3c", "link_color": "#6ab3f3"}
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 360, "height": 760},
                                    device_scale_factor=2)
            page.add_init_script(_telegram(init_data, dark, "dark"))
            page.goto(url)
            page.locator("[data-testid=unit-row]", has_text="党政办").click()
            page.wait_for_selector("[data-testid=member-row]")
            assert _drawn(page, "distribution")
            colours = page.evaluate("""() => [getComputedStyle(document.body).backgroundColor,
                                               getComputedStyle(document.body).color]""")
            assert colours == ["rgb(23, 33, 43)", "rgb(245, 245, 245)"]
            shot = _shot(page, tmp_path, "unit-dark")
        finally:
            browser.close()
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, SHOTS / shot.name)


def test_the_overview_says_when_its_kept_figures_were_worked_out(
        served: tuple[str, Store], clock: FakeClock) -> None:
    """The FIGURES job kept them at 10:00; opened at 10:07, the overview shows its lights in
    the colours models/warnings.py gives and says 更新于 10:00 (the organisation's zone)."""
    url, store = served
    with store.transaction() as ctx:
        figures.queue(ctx)
    assert asyncio.run(JobRunner(store, ScheduleSettings()).drain()) == 1
    kept_at = store.clock().astimezone(store.tz).strftime("%H:%M")
    clock.advance(minutes=7)
    init_data = sign_init_data(TOKEN, BOSS, store.clock())
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 360, "height": 760}, locale="zh-CN")
            page.add_init_script(_telegram(init_data, {}, "light"))
            page.goto(url)
            page.wait_for_selector("[data-testid=unit-light][data-light]")
            for name, colour in _lights(store)["units"].items():
                assert page.locator("[data-testid=unit-row]", has_text=name).locator(
                    "[data-testid=unit-light]").get_attribute("data-light") == colour
            assert page.locator("[data-testid=figures-updated]").inner_text() == \
                f"更新于 {kept_at}"
        finally:
            browser.close()
