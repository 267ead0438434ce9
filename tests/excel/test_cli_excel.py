"""The `kaohe` commands on a SQLite file: template, import (refused, then done, then again),
export in its three forms."""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from bot.cli import main
from tests.excel.support import save, workbook
from tests.excel.test_broken_files import CADRE_HEADERS, UNIT_HEADERS
from tests.excel.test_hostile_files import _parts, _zipped

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'kaohe.db'}"
    monkeypatch.setenv("KAOHE_DATABASE__URL", url)
    return url


def test_template_import_and_export_from_the_command_line(database: str, tmp_path: Path) -> None:
    runner = CliRunner()
    roster = tmp_path / "roster.xlsx"
    assert runner.invoke(main, ["template", "roster", str(roster)]).exit_code == 0
    book = load_workbook(roster)
    units, cadres = book["单位"], book["干部"]
    units.delete_rows(2, 10)
    cadres.delete_rows(2, 10)
    units.append(["city", "昌吉市", "市", None, "一般岗位"])
    units.append(["khb", "市委考核办", "部门", "city", "一般岗位"])
    cadres.append(["A001", "罗静怡", "khb", None, None, "是"])
    cadres.append(["A002", "韩雪", "nowhere", None, "成长"])
    roster.write_bytes(save(book))

    refused = runner.invoke(main, ["--lang", "en", "import", "roster", str(roster)])
    assert refused.exit_code == 1
    assert refused.output.strip().splitlines()[-3:] == [
        "The file has 2 problem(s); nothing was imported:",
        "Sheet “干部”, row 3, column “所在单位编码”: nothing has the code “nowhere”",
        "Sheet “干部”, row 3, column “个人系数档”: “成长” is not one of: 标准、成长系数、余热系数",
    ]
    cadres.delete_rows(3)
    roster.write_bytes(save(book))
    done = runner.invoke(main, ["import", "roster", str(roster)])
    assert done.exit_code == 0, done.output
    assert "单位：新增 2，更新 0，未变 0" in done.output
    again = runner.invoke(main, ["import", "roster", str(roster), "--by", "A001"])
    assert again.exit_code == 0, again.output
    assert "没有任何改动" in again.output and "干部：新增 0，更新 0，未变 1" in again.output

    exported = tmp_path / "out.xlsx"
    result = runner.invoke(main, ["export", "roster", str(exported)])
    assert result.exit_code == 0, result.output
    assert [r[0] for r in load_workbook(exported)["单位"].iter_rows(min_row=2,
                                                                  values_only=True)] == [
        "city", "khb"]
    # No period yet: the results export says which period it could not find.
    missing = runner.invoke(main, ["--lang", "en", "export", "--period", "2026", str(exported)])
    assert missing.exit_code == 2 and "2026" in missing.output


def test_a_huge_file_or_a_device_is_refused_without_reading_it(
    database: str, tmp_path: Path
) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    huge = tmp_path / "huge.xlsx"
    with huge.open("wb") as handle:  # 200 MB, sparse: takes no disk
        handle.truncate(200 * 2**20)
    tracemalloc.start()
    try:
        result = runner.invoke(main, ["import", "roster", str(huge)])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "文件有 1 处错误，未导入任何内容：",
        "文件大小 200.0 MB，超过上限 10.0 MB。请分成几个文件导入。"]
    assert peak < 20 * 2**20  # its size was known before any of it was read
    # A device has no size and no end: at most the limit and one byte are read.
    endless = runner.invoke(main, ["import", "roster", "/dev/zero"])
    assert endless.exit_code == 1
    assert endless.output.strip().splitlines() == [
        "文件有 1 处错误，未导入任何内容：", "文件超过上限 10.0 MB。请分成几个文件导入。"]


def test_openpyxl_s_warnings_are_not_printed_our_answer_is(database: str, tmp_path: Path) -> None:
    # Excel and WPS write drop-downs that point at another sheet as an extension openpyxl does
    # not read ("Data Validation extension is not supported and will be removed"), a warning
    # that meant nothing to the office and came before the answer on the command line.
    parts = _parts(workbook({"单位": [UNIT_HEADERS, ("city", "昌吉市", "市", None, "一般岗位")],
                             "干部": [CADRE_HEADERS, ("A001", "罗静怡", "city")]}))
    parts["xl/worksheets/sheet2.xml"] = parts["xl/worksheets/sheet2.xml"].replace(
        b"</worksheet>", b'<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}"/>'
                         b'<ext uri="{00000000-0000-0000-0000-000000000000}"/></extLst>'
                         b"</worksheet>")
    path = tmp_path / "roster.xlsx"
    path.write_bytes(_zipped(parts))
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAOHE_")}
    env.update(KAOHE_DATABASE__URL=database)
    kaohe = "from bot.cli import main; main()"  # as the console script does
    done = subprocess.run([sys.executable, "-c", kaohe, "import", "roster", str(path)],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "干部：新增 1，更新 0，未变 0" in done.stdout
