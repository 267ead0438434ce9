"""`kaohe audit` on both databases: each filter narrows the log to what it names."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from click.testing import CliRunner

from bot.cli import console, main
from models.reports import approve_report, submit_report
from models.store import Store
from tests.support.world import World, build_world


@pytest.fixture
def world(store: Store) -> World:
    return build_world(store)


@pytest.fixture
def audit(store: Store, world: World, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("KAOHE_DATABASE__URL",
                       store.engine.url.render_as_string(hide_password=False))
    with store.transaction() as ctx:
        report = submit_report(ctx, world.id.alice or 0, world.id.alice_plain or 0,
                               progress=Decimal(80))
        approve_report(ctx, world.id.boss or 0, report.id or 0, "A")
        submit_report(ctx, world.id.carol or 0, world.id.carol_task or 0, progress=Decimal(30))
    return CliRunner()


def entries(runner: CliRunner, *args: str) -> list[dict[str, object]]:
    result = runner.invoke(main, ["audit", "--json", *args])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def test_each_filter_narrows_the_log(audit: CliRunner, world: World) -> None:
    about_alice = entries(audit, "--person", "P001", "--action", "report.")
    assert [e["action"] for e in about_alice] == ["report.approved", "report.submit"]
    assert {e["cadre_id"] for e in about_alice} == {world.id.alice}
    # The boss did the approving: his entries include it, though it is about Alice.
    assert "report.approved" in [e["action"] for e in entries(audit, "--person", "B001")]
    assert [e["action"] for e in entries(audit, "--task", "T5", "--period", "2026")] == [
        "report.submit"]
    township_only = entries(audit, "--unit", "yst", "--action", "report.")
    with_offices = entries(audit, "--unit", "yst", "--below", "--action", "report.")
    assert township_only == [] and len(with_offices) == 2
    assert entries(audit, "--since", "2099-01-01") == []


def test_the_table_shows_who_did_what_and_the_change(audit: CliRunner,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """In words, in the reader's language and the configured zone's time (issue 13 §4)."""
    monkeypatch.setattr(console, "width", 400)  # one table row on one line
    result = audit.invoke(main, ["audit", "--person", "P001", "--action", "report.approved"])
    assert result.exit_code == 0, result.output
    assert "审计日志（1 条，最新在前，Asia/Shanghai 时间）" in result.output
    row = next(line for line in result.output.splitlines() if "镇领导" in line)
    cells = [cell.strip() for cell in row.strip("│ ").split("│")]
    assert cells == ["2026-06-15 10:00", "镇领导", "通过汇报", "汇报", "艾丽", "压缩业务办理时限",
                     "党政办", "2026年度",
                     "状态：待审批 → 已通过、审批人：— → 镇领导、评价等次：— → A 优、"
                     "审批时间：— → 2026-06-15 10:00"]
    english = audit.invoke(main, ["--lang", "en", "audit", "--person", "P001",
                                  "--action", "report.approved"])
    row = next(line for line in english.output.splitlines() if "镇领导" in line)
    assert [cell.strip() for cell in row.strip("│ ").split("│")][2:4] == [
        "Approved a report", "Report"]
    assert ("state: waiting for review → approved, reviewer: — → 镇领导, grade: — → A Excellent, "
            "decided at: — → 2026-06-15 10:00") in row


def test_a_new_row_says_what_it_holds_and_names_what_its_ids_point_at(
        audit: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console, "width", 400)
    result = audit.invoke(main, ["audit", "--action", "supervision.add"])
    assert "│ 设定分管 │ 分管 │" in result.output
    assert "人员：镇领导、单位：榆树沟镇" in result.output
    assert "→" not in result.output.split("┩", 1)[1]  # nothing "changed" from nothing


def test_unknown_codes_and_bad_dates_are_clear_and_fail(audit: CliRunner) -> None:
    unknown = audit.invoke(main, ["--lang", "en", "audit", "--unit", "nowhere"])
    assert unknown.exit_code == 2 and "No unit with code nowhere" in unknown.output
    bad = audit.invoke(main, ["audit", "--since", "２０２６年"])
    assert bad.exit_code == 2 and "日期格式不正确" in bad.output
    nothing = audit.invoke(main, ["audit", "--action", "no.such"])
    assert nothing.exit_code == 0 and "没有符合条件的审计记录。" in nothing.output
