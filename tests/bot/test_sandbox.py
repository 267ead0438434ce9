"""The sandbox terminal chat, scripted as a new user would type it: a cadre reports, their
supervisor approves, the cadre sees the new score and rank."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import parse_qs, urlsplit

import httpx

from bot.app_context import AppContext
from bot.config import load_settings
from models.store import Store
from sandbox.simulator import TelegramSimulator
from sandbox.terminal import Terminal
from tests.support.world import World


def test_terminal_chat_report_approve_score(store: Store, world: World) -> None:
    settings = load_settings(webapp={"port": 0})  # any free port: tests run side by side
    kaohe = AppContext(settings=settings, engine=store.engine, rules=store.rules, store=store)
    printed: list[str] = []
    # Typed faster than anyone could: Telegram's flood limits would only make the test wait.
    terminal = Terminal(kaohe, out=printed.append,
                        simulator=TelegramSimulator(rate_limits=False))
    number = {p.name: i for i, p in enumerate(terminal.people, start=1)}
    script = [
        f"@{number['艾丽']}", "*1",  # 汇报进度
        "#1",  # the most urgent task
        "abc", "100",  # a letter is refused, then the progress
        "#1", "#1",  # skip evidence, skip the note
        "#1",  # ✅ 提交
        f"@{number['镇领导']}", "#1",  # the card: A 优
        f"@{number['艾丽']}", "*3",  # 我的得分
        "!quit",
    ]

    def read_line(prompt: str) -> str:
        if not script:
            raise EOFError
        line = script.pop(0)
        printed.append(prompt + line)
        return line

    asyncio.run(terminal.run(read_line))
    text = "\n".join(printed)
    assert "请选择要汇报的任务" in text
    assert "不是有效的进度" in text
    assert "已提交，等待分管领导审批" in text
    assert "待审批汇报" in text and "#1 A 优" in text
    # The supervisor's first visit opens the chat as Telegram's Start button does, although
    # the card was there first: their menu, with 待审批, is shown.
    assert re.search(r"\*\d 待审批", text.split("现在您是 镇领导")[1])
    assert "已由 镇领导 审批通过（A 优）" in text
    assert "已审批通过（A 优）" in text and "单位内第 1 名" in text
    assert "总分：" in text.split("艾丽> *3")[-1]



def test_terminal_prints_a_signed_dashboard_link_that_opens(store: Store, world: World) -> None:
    """A newcomer opens 📊 看板 in a desktop browser from the link the sandbox prints."""
    kaohe = AppContext(settings=load_settings(webapp={"port": 0}), engine=store.engine,
                       rules=store.rules, store=store)
    printed: list[str] = []
    terminal = Terminal(kaohe, out=printed.append,
                        simulator=TelegramSimulator(rate_limits=False))
    number = {p.name: i for i, p in enumerate(terminal.people, start=1)}
    script = [f"@{number['镇领导']}", "!web", "!quit"]
    answers: list[httpx.Response] = []

    def read_line(prompt: str) -> str:
        links = re.findall(r"📊 看板：(\S+)", "\n".join(printed))
        # The server runs in the terminal's event loop while it waits for a line.
        if prompt.startswith("镇领导") and links and not answers:
            link = urlsplit(links[-1])
            init_data = parse_qs(link.fragment)["tgWebAppData"][0]
            base = f"{link.scheme}://{link.netloc}"
            answers.append(httpx.get(base + "/"))
            answers.append(httpx.get(base + "/api/me",
                                     headers={"Authorization": f"tma {init_data}"}))
        return script.pop(0) if script else "!quit"

    asyncio.run(terminal.run(read_line))
    page, me = answers
    assert page.status_code == 200 and "tg-shim.js" in page.text
    assert me.status_code == 200
    assert (me.json()["name"], me.json()["role"]) == ("镇领导", "supervisor")
