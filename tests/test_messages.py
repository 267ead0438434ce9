"""Long messages in pieces Telegram accepts (ui/messages.py): measured as Telegram measures,
cut at line ends, never inside an entity or a tag."""

from __future__ import annotations

import html

from sandbox.html_check import parse_html, utf16_len
from ui.messages import MESSAGE_LIMIT, split_message


def _parsed(piece: str) -> str:
    return parse_html(piece).text  # raises on broken HTML, as Telegram would refuse it


def test_a_note_of_a_thousand_angle_brackets_is_never_cut_inside_an_entity() -> None:
    text = "<b>备注</b>\n" + html.escape("<" * 5000)
    pieces = split_message(text)
    assert len(pieces) == 3  # the heading alone (a line end), then the note cut in two
    assert all("&" not in piece.replace("&lt;", "") for piece in pieces)
    assert "".join(_parsed(piece) for piece in pieces).replace("\n", "") == "备注" + "<" * 5000
    assert all(utf16_len(_parsed(piece)) <= MESSAGE_LIMIT for piece in pieces)


def test_the_limit_counts_parsed_text_not_markup() -> None:
    # 4,000 visible characters inside many tags: far over 4,096 as source, one message parsed.
    text = "".join(f"<b>{c}</b>" for c in "字" * 4000)
    assert split_message(text) == [text]


def test_pieces_break_at_line_ends_and_a_tag_open_at_a_cut_is_closed_and_reopened() -> None:
    lines = [f"• 任务 {n:03d} &amp; 说明" for n in range(400)]
    text = "<b>逾期未报</b>\n<i>" + "\n".join(lines) + "</i>"
    pieces = split_message(text)
    assert len(pieces) > 1
    for piece in pieces:
        parsed = parse_html(piece)
        assert utf16_len(parsed.text) <= MESSAGE_LIMIT
        assert not parsed.text.startswith("\n") and "任务" in parsed.text
    assert pieces[0].endswith("</i>") and pieces[1].startswith("<i>")
    rejoined = "\n".join(_parsed(piece) for piece in pieces)
    assert rejoined == "逾期未报\n" + "\n".join(html.unescape(line) for line in lines)


def test_emoji_count_twice_as_telegram_counts_them() -> None:
    text = "📊" * 3000  # 6,000 UTF-16 units
    pieces = split_message(text)
    assert [utf16_len(p) for p in pieces] == [4096, 1904]


def test_an_indented_line_stays_with_the_item_above_it() -> None:
    """A person and the tasks indented under them are one item: the cut falls between items."""
    people = [f"• 干部{n:02d}\n" + "".join(f"  任务{k}：{'说明' * 40}\n" for k in range(5))
              for n in range(20)]
    text = "<b>未按期汇报</b>\n" + "".join(people)
    pieces = split_message(text)
    assert len(pieces) > 1
    for piece in pieces:
        assert utf16_len(_parsed(piece)) <= MESSAGE_LIMIT
        assert piece.startswith(("<b>", "• ")) and piece.rstrip().endswith(f"任务4：{'说明' * 40}")


def test_a_short_text_goes_whole_and_a_tag_left_open_is_still_closed() -> None:
    fits = "📊 <b>总分：35.23</b>\n<i>a &lt; b</i>"
    assert split_message(fits) == [fits]
    assert split_message("<b>总分 <i>35.23</i>") == ["<b>总分 <i>35.23</i></b>"]
