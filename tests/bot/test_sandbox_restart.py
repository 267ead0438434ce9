"""The sandbox as a new user meets it: quit it, start it again, and it is the same Telegram —
the bot answers at once, menus included; files sent before the restart still open; a Telegram
user nobody invited yet can redeem a code; toasts show, and what the bot sends is saved."""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Callable
from pathlib import Path

from sqlmodel import select

from bot.app_context import AppContext
from bot.application import sender
from bot.config import load_settings
from models import invites
from models.store import Store
from models.tables import Cadre, OutboxMessage
from sandbox.simulator import TelegramSimulator
from sandbox.terminal import Terminal
from tests.bot.conftest import ALICE, BOSS
from tests.bot.harness import BotHarness
from tests.conftest import FakeClock
from tests.support.world import World


def _kaohe(store: Store) -> AppContext:
    return AppContext(settings=load_settings(), engine=store.engine, rules=store.rules,
                      store=store)


def _sandbox(store: Store, folder: Path,
             prepare: Callable[[Terminal], None] | None = None) -> Terminal:
    """A sandbox as `kaohe run` starts one, on its folder (Telegram's flood limits off: the
    script types faster than anyone could)."""
    terminal = Terminal(_kaohe(store), out=lambda line: None,
                        simulator=TelegramSimulator(rate_limits=False), folder=folder)
    if prepare is not None:
        prepare(terminal)
    return terminal


def _run(terminal: Terminal, *script: str) -> str:
    """Type the script into the sandbox; what the screen showed, prompts and input included."""
    printed: list[str] = []
    terminal.out = printed.append
    lines = list(script)

    def read_line(prompt: str) -> str:
        if not lines:
            raise EOFError
        line = lines.pop(0)
        printed.append(prompt + line)
        return line

    asyncio.run(terminal.run(read_line))
    return "\n".join(printed)


def _number(terminal: Terminal, name: str) -> str:
    return "@" + str(next(i for i, p in enumerate(terminal.people, start=1) if p.name == name))


def _after(text: str, prompt: str) -> str:
    """What the screen showed after the last time `prompt` was typed."""
    return text.rsplit(prompt, 1)[-1]


def test_a_restarted_sandbox_answers_at_once_with_its_menu(
        store: Store, world: World, tmp_path: Path) -> None:
    folder = tmp_path / "sandbox"
    first = _sandbox(store, folder)
    alice = _number(first, "艾丽")
    shown = _run(first, alice, "*3", "!quit")
    assert "艾丽 · 2026年度 得分" in _after(shown, "艾丽> *3")

    # Started again: the same Telegram, so the update ids go on and Alice's menu is there.
    second = _sandbox(store, folder)
    shown = _run(second, alice, "*3", "*2", "!quit")
    assert "已接着上次的沙盒继续" in shown
    assert "*1 汇报进度   *2 我的任务   *3 我的得分" in shown
    assert "2026年度 得分" in _after(shown, "艾丽> *3").split("艾丽> *2")[0]
    assert "没有这个菜单按钮" not in shown
    assert second.sim.errors() == []


def test_a_card_queued_before_a_restart_arrives_with_its_photo(
        store: Store, world: World, tmp_path: Path, clock: FakeClock) -> None:
    folder = tmp_path / "sandbox"
    # Telegram fails the first photo: the card waits in the outbox when the sandbox quits.
    first = _sandbox(store, folder, lambda t: t.sim.fail_next("sendPhoto", "500"))
    alice, boss = _number(first, "艾丽"), _number(first, "镇领导")
    _run(first, alice, "*1", "#1", "60", "!photo", "#1", "#1", "#1", "!quit")
    with store.session() as session:
        waiting = session.exec(select(OutboxMessage).where(
            OutboxMessage.kind == "review_request")).one()
    assert waiting.state == "pending" and waiting.message_id is None

    clock.advance(minutes=5)
    second = _sandbox(store, folder)
    shown = _run(second, boss, "#1", "!quit")
    assert "艾丽" in shown and "#1 A 优" in shown
    # Grading shows Telegram's toast over the chat.
    assert "💬 已通过：A 优" in _after(shown, "镇领导> #1")
    photos = [m for m in second.sim.bot_messages(second.people[
        int(boss[1:]) - 1].telegram_id) if m.photo]
    assert photos, "the evidence photo sent before the restart opens after it"
    assert "佐证材料未能随本卡片发送" not in shown
    assert second.sim.errors() == []
    # The photo the bot sent is saved to a file the screen names.
    saved = sorted((folder / "received").iterdir())
    assert saved and saved[0].read_bytes().startswith(b"\x89PNG")
    assert str(saved[0]) in shown

    # Someone cleans out the stored files: the chat still shows, the photo just has no file.
    shutil.rmtree(folder / "files")
    third = _sandbox(store, folder)
    shown = _run(third, boss, "!chat", "!quit")
    assert "［照片］" in shown and "已由 镇领导 审批通过（A 优）" in shown


def test_a_new_telegram_user_redeems_an_invite_code_after_a_restart(
        store: Store, world: World, tmp_path: Path) -> None:
    folder = tmp_path / "sandbox"
    _run(_sandbox(store, folder), "!quit")
    with store.transaction() as ctx:
        code = invites.issue_invite(ctx, world.admin.id or 0, world.carol.id or 0).code

    sandbox = _sandbox(store, folder)
    shown = _run(sandbox, "!new", f"/start {code}", "*3", "!quit")
    assert "现在您是 新用户1（未绑定）" in shown
    assert "您还没有绑定考核账号" in shown
    assert "卡萝，您好" in _after(shown, f"新用户1> /start {code}")
    assert "卡萝 · 2026年度 得分" in _after(shown, "新用户1> *3")
    with store.session() as session:
        carol = session.exec(select(Cadre).where(Cadre.id == world.carol.id)).one()
    assert carol.telegram_user_id == sandbox.people[-1].telegram_id

    # Next time the new user is on the list, under the name they are bound to.
    again = _sandbox(store, folder)
    assert again.people[-1].name == "卡萝"



def test_a_card_whose_evidence_telegram_does_not_know_arrives_and_says_so(
        bot: BotHarness, store: Store, clock: FakeClock) -> None:
    bot.sim.fail_next("sendPhoto", "500")  # the card is still waiting when Telegram changes
    bot.press(ALICE, "汇报进度")
    bot.tap(ALICE, next(b for b in bot.last(ALICE).button_texts() if "压缩业务办理时限" in b))
    bot.say(ALICE, "60")
    bot.photo(ALICE)
    bot.tap(ALICE, "完成")
    bot.tap(ALICE, "跳过")
    bot.tap(ALICE, "✅ 提交")
    assert not any("待审批汇报" in text for text in bot.texts(BOSS))

    # Another Telegram (a new bot token, a wiped sandbox): the photo's file id means nothing.
    other = BotHarness(store)
    other.sim.add_user(BOSS, "镇领导")
    clock.advance(minutes=5)
    other.run(sender(other.app).drain())
    card = other.last(BOSS)
    text = card.text or ""
    assert "待审批汇报" in text and "压缩业务办理时限" in text
    # The line saying so comes just before the card's text (the evidence's place).
    assert any("⚠️ 佐证材料未能随本卡片发送" in (m.text or "")
               for m in other.sim.bot_messages(BOSS))
    assert card.button_texts()[:4] == ["A 优", "B 良", "C 合格", "D 不合格"]
    assert not any(m.photo for m in other.sim.bot_messages(BOSS))
    with store.session() as session:
        row = session.exec(select(OutboxMessage).where(
            OutboxMessage.kind == "review_request")).one()
    assert row.state == "sent"
    other.close()


def test_the_sandbox_in_english(store: Store, world: World, tmp_path: Path) -> None:
    sandbox = Terminal(_kaohe(store), out=lambda line: None,
                       simulator=TelegramSimulator(rate_limits=False),
                       folder=tmp_path / "sandbox", locale="en")
    shown = _run(sandbox, _number(sandbox, "艾丽"), "*9", "!quit")
    assert "Kaohe · offline sandbox" in shown and "become a new Telegram user" in shown
    assert "— You are now 艾丽 (cadre) —" in shown
    assert "Hello, 艾丽!" in shown  # the people's Telegram speaks English, so the bot does
    assert "? No such menu button." in shown
    assert not re.search(r"[现您没有这个]", shown.replace("艾丽", "").replace("考核办管理员", ""))
