"""`kaohe standings` columns say what they hold: the first is the place in the list as sorted
(by total), the stored ranks follow under their own names; `rate --publish --days 0` is refused
rather than publishing for the default five days."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from bot.cli import main
from models.store import Store
from tests.rating.support import RatingUnit
from tests.support.snapshot import snapshot


@pytest.fixture
def runner(store: Store, rated: RatingUnit, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("KAOHE_DATABASE__URL",
                       store.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("COLUMNS", "240")
    return CliRunner()


def _rows(table: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.split("│")[1:-1]]
            for line in table.splitlines() if line.startswith("│")]


def _header(table: str) -> list[str]:
    line = next(line for line in table.splitlines() if line.startswith("┃"))
    return [cell.strip() for cell in line.split("┃")[1:-1]]


def test_the_first_column_is_the_place_by_total(runner: CliRunner) -> None:
    result = runner.invoke(main, ["standings", "--period", "2026"])
    assert result.exit_code == 0, result.output
    cadres, units = result.output.split("单位得分排行")
    assert _header(cadres)[:6] == ["名次", "姓名", "单位", "岗位类别", "岗位类别排名",
                                   "单位内排名"]
    rows = _rows(cadres)
    totals = [row[-1] for row in rows]
    assert totals == sorted(totals, key=float, reverse=True)
    places = [int(row[0]) for row in rows]
    assert [row[1] for row in rows[:5]] == ["甲一", "乙二", "丙三", "丁四", "戊五"]
    assert places[:5] == [1, 2, 2, 4, 5]  # 乙二 and 丙三 share 92.00
    assert places == [1 + sum(float(t) > float(total) for t in totals) for total in totals]
    assert _header(units)[:3] == ["名次", "单位", "同级单位排名"]
    assert "单位内排名" not in _header(units)

    limited = runner.invoke(main, ["standings", "--limit", "2"])
    assert [row[0] for row in _rows(limited.output.split("单位得分排行")[0])] == ["1", "2"]


def test_publish_for_zero_days_is_refused_and_publishes_nothing(
        runner: CliRunner, store: Store) -> None:
    before = snapshot(store.engine)
    zero = runner.invoke(main, ["rate", "--publish", "--days", "0", "--by", "A001"])
    assert zero.exit_code == 2
    assert "'--days' 的值无效：0 不在允许的范围 1<=x<=30 内。" in zero.output
    assert snapshot(store.engine) == before
    english = runner.invoke(main, ["--lang", "en", "rate", "--publish", "--days", "0",
                                   "--by", "A001"])
    assert "Invalid value for '--days': 0 is not in the range 1<=x<=30." in english.output
    assert snapshot(store.engine) == before
