"""Excel in Telegram: an admin gets the results as an .xlsx document from /admin, sends an
import file and gets the same answer as the command line; nobody else may send one."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from io import BytesIO
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from models.excel_format import MAX_FILE_BYTES, PROBLEMS_LISTED
from models.store import Store
from models.tables import AuditEntry, Task
from tests.bot.conftest import ADMIN, ALICE
from tests.bot.harness import BotHarness
from tests.excel.support import bot_with_admin, workbook
from tests.excel.test_broken_files import COOP_HEADERS, TASK_HEADERS
from ui import excel_jobs


@pytest.fixture
def bot(store: Store) -> Iterator[BotHarness]:
    harness = bot_with_admin(store)
    yield harness
    harness.close()


def _send(bot: BotHarness, user: int, name: str, content: bytes) -> list[str]:
    before = len(bot.sim.messages(user))
    bot.feed(bot.sim.send_document(user, name, content))
    bot.settle()
    return [m.text or "" for m in bot.sim.messages(user)[before:] if m.from_bot]


def test_an_admin_gets_the_results_workbook_from_the_admin_menu(bot: BotHarness) -> None:
    bot.say(ADMIN, "/admin")
    sent = bot.tap(ADMIN, "📥 导出本期结果（Excel）")
    document = sent[-1]
    assert document.document_name == "kaohe-2026.xlsx"
    assert document.caption == "2026年度 考核结果"
    book = load_workbook(BytesIO(bot.sim.file_bytes(document.document or "")))
    assert book.sheetnames[0] == "汇总"
    names = [row[1] for row in book["汇总"].iter_rows(min_row=2, values_only=True)]
    assert {"艾丽", "鲍勃", "卡萝"} <= set(names)


def test_an_admin_imports_a_file_by_sending_it(bot: BotHarness, store: Store) -> None:
    good = workbook({
        "履职事项": [TASK_HEADERS, ("2026", "N1", "P001", None, "新增<事项>", "基础履职",
                                  "综合基础类", 6, "市政府工作报告")],
        "协同单位": [COOP_HEADERS],
    })
    assert _send(bot, ADMIN, "清单.xlsx", good) == [
        "正在检查 清单.xlsx…",
        "导入完成。\n履职事项：新增 1，更新 0，未变 0\n协同单位：新增 0，更新 0，未变 0"]
    with store.session() as session:
        task = session.exec(select(Task).where(Task.code == "N1")).one()
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "task.add")
                             .order_by(AuditEntry.id.desc())).first()  # type: ignore[union-attr]
    assert task.title == "新增<事项>"
    assert entry is not None and entry.actor_id is not None  # the admin, by name in the log

    bad = workbook({"履职事项": [TASK_HEADERS, ("2026", "N2", "P001", None, "<b>粗</b>", "基础履职",
                                             "综合基础类", "十", "市政府工作报告")]})
    answer = _send(bot, ADMIN, "bad.xlsx", bad)[-1]
    assert answer == ("文件有 1 处错误，未导入任何内容：\n"
                      "「履职事项」第 2 行「基础分值」：“十”不是数字")
    assert _send(bot, ADMIN, "notes.txt", b"just text")[-1] == (
        "文件有 1 处错误，未导入任何内容：\n这不是 Excel（.xlsx）文件。")


def test_a_long_refusal_lists_the_first_problems_in_one_message(bot: BotHarness) -> None:
    rows = [("2026", f"X{i:03d}", "NOBODY", None, "事项", "基础履职", "综合基础类", 5,
             "市政府工作报告") for i in range(150)]
    answers = _send(bot, ADMIN, "big.xlsx", workbook({"履职事项": [TASK_HEADERS, *rows]}))
    assert len(answers) == 2  # "checking", then the report: within one message
    report = answers[1].splitlines()
    assert report[0] == "文件有 150 处错误，未导入任何内容："
    assert len(report) == 1 + PROBLEMS_LISTED + 1
    assert report[PROBLEMS_LISTED] == (
        "「履职事项」第 31 行「考核干部编码」：没有编码为“NOBODY”的记录")
    assert report[-1] == "……另有 120 处错误未列出。请先改正以上各处，再重新导入。"


def test_anyone_else_sending_a_file_is_refused(bot: BotHarness, store: Store) -> None:
    content = workbook({"履职事项": [TASK_HEADERS, ("2026", "N1", "P001", None, "事项", "基础履职",
                                                 "综合基础类", 6, "市政府工作报告")]})
    assert _send(bot, ALICE, "清单.xlsx", content) == ["只有考核办管理员可以向我发送导入文件。"]
    with store.session() as session:
        assert session.exec(select(Task).where(Task.code == "N1")).first() is None


def test_an_import_runs_beside_the_update_loop_and_others_are_answered_meanwhile(
    store: Store, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The bot's own job and delivery loops run as they do in `kaohe run`. The import job is
    # held at a gate until Alice has had her answer, so the test does not depend on how fast
    # this machine checks 4,000 rows.
    bot = bot_with_admin(store, background_sender=True)
    started, gate = threading.Event(), threading.Event()
    real_import = excel_jobs.import_job

    def held_import(*args: Any, **kwargs: Any) -> Any:
        started.set()
        assert gate.wait(timeout=60), "the test never opened the gate"
        return real_import(*args, **kwargs)

    monkeypatch.setattr(excel_jobs, "import_job", held_import)
    rows = [("2026", f"X{i:04d}", "NOBODY", None, "事项", "基础履职", "综合基础类", 5,
             "市政府工作报告") for i in range(4000)]
    content = workbook({"履职事项": [TASK_HEADERS, *rows]})
    try:
        bot.feed(bot.sim.send_document(ADMIN, "big.xlsx", content))
        assert bot.last(ADMIN).body == "正在检查 big.xlsx…"
        assert bot.run(asyncio.to_thread(started.wait, 60))  # the job loop is on it
        assert "可用命令" in bot.say(ALICE, "/help")[-1].body  # answered while the import waits
        assert bot.last(ADMIN).body == "正在检查 big.xlsx…"  # still checking: Alice did not wait
        gate.set()
        bot.settle()
        assert bot.last(ADMIN).body.startswith("文件有 4000 处错误，未导入任何内容：")
    finally:
        gate.set()
        bot.close()


def test_a_file_past_the_size_limit_is_refused_without_downloading_it(bot: BotHarness) -> None:
    answers = _send(bot, ADMIN, "huge.xlsx", b"PK" + b"\0" * (MAX_FILE_BYTES + 2**20))
    assert answers[-1] == ("文件有 1 处错误，未导入任何内容：\n"
                           "文件大小 11.0 MB，超过上限 10.0 MB。请分成几个文件导入。")
    assert bot.sim.calls("getFile") == []
