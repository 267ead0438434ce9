"""`kaohe rate` on both databases: the preview table, publishing, objections listed and
answered, refusals in the user's language, in Chinese and English."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from bot.cli import main
from models import rating
from models.store import Store
from tests.rating.support import RatingUnit
from tests.support.snapshot import snapshot
from tests.support.world import World


@pytest.fixture
def runner(store: Store, rated: RatingUnit, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("KAOHE_DATABASE__URL",
                       store.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("COLUMNS", "240")
    return CliRunner()


def test_preview_shows_quota_and_tie_and_writes_nothing(runner: CliRunner, store: Store) -> None:
    before = snapshot(store.engine)
    result = runner.invoke(main, ["rate", "--period", "2026", "--members"])
    assert result.exit_code == 0, result.output
    assert snapshot(store.engine) == before
    line = next(row for row in result.output.splitlines() if row.startswith("│ 评定办（"))
    # pool │ D │ ratio │ slots │ members │ excellent │ line, 未参评, tie
    assert [cell.strip() for cell in line.split("│")[2:7]] == ["1.20", "40%", "2", "5", "2"]
    flat = "".join(ch for ch in result.output if ch not in "│ \n")  # cells wrap in the table
    assert "乙二（R2）入选，丙三（R3）未入选" in flat
    assert "优秀线92.00分（名额内最后一位，且须达到90.00分）" in flat
    assert "未参评1人：考核办管理员（A001，本期没有考核任务）" in flat
    assert "称职" in result.output
    member = next(row for row in result.output.splitlines() if "丙三" in row and "称职" in row)
    assert "│ 丙三（R3）" in member  # the members table: a name and its code, full-width
    assert "评定池 市委考核办 · 难度 1.00 · 优秀比例 20% · 名额 0" in result.output
    assert "考核办管理员（A001）" in result.output
    assert "未参评（本期没有考核任务）" in result.output

    english = runner.invoke(main, ["--lang", "en", "rate", "--period", "2026"])
    assert "Not published yet" in english.output and "40%" in english.output


def test_publish_list_and_answer_objections(
    runner: CliRunner, store: Store, world: World, rated: RatingUnit
) -> None:
    refused = runner.invoke(main, ["rate", "--publish", "--by", "B001"])
    assert refused.exit_code == 2 and "没有权限" in refused.output
    assert runner.invoke(main, ["rate", "--publish"]).exit_code == 2  # who is doing it?

    published = runner.invoke(main, ["rate", "--publish", "--days", "3", "--by", "A001"])
    assert published.exit_code == 0, published.output
    assert "已公示 2026年度，公示期至" in published.output and "（3 天）" in published.output
    with store.transaction() as ctx:
        objection = rating.lodge_objection(ctx, rated.people["R4"].id or 0,
                                           world.id.year or 0, "请复核我的得分")
    listed = runner.invoke(main, ["rate", "--objections"])
    assert "请复核我的得分" in listed.output and "待答复" in listed.output

    answered = runner.invoke(main, ["rate", "--answer", str(objection.id), "--dismiss",
                                    "--reason", "得分无误", "--by", "A001"])
    assert answered.exit_code == 0, answered.output
    assert f"异议 #{objection.id} 已答复：驳回" in answered.output
    early = runner.invoke(main, ["--lang", "en", "rate", "--finalise", "--by", "A001"])
    assert early.exit_code == 2 and "finalise after it ends" in early.output
