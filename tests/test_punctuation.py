"""Chinese text takes full-width punctuation (总分：98.90, not 总分: 98.90); English keeps ASCII.

Every sentence lives in a catalog and templates only lay sentences out, with the marks between
them taken from the catalog (ui/render.Punctuation). So the catalogs are scanned, and the
templates are held to having no punctuation of their own that one language would get wrong.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from ui.i18n import po_path
from ui.render import TEMPLATES_DIR, Renderer

ASCII_MARKS = ":,;()"
CHINESE = r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]"  # hanzi and full-width punctuation
# An ASCII mark with Chinese on either side (spaces between do not excuse it).
ASCII_BESIDE_CHINESE = re.compile(
    rf"{CHINESE}[ \t]*[{re.escape(ASCII_MARKS)}]|[{re.escape(ASCII_MARKS)}][ \t]*{CHINESE}")
FULL_WIDTH_MARKS = re.compile("[：，；（）、]")
JINJA = re.compile(r"{{.*?}}|{%.*?%}|{#.*?#}", re.S)


def _strings(locale: str, domain: str = "kaohe") -> dict[str, str]:
    with po_path(locale, domain).open("rb") as handle:
        catalog = read_po(handle)
    found = {}
    for message in catalog:
        if message.id:
            key = message.id if isinstance(message.id, str) else message.id[0]
            texts = message.string if isinstance(message.string, tuple) else (message.string,)
            found[str(key)] = "\n".join(str(text) for text in texts)
    return found


@pytest.mark.parametrize("domain", ["kaohe", "click"])
def test_chinese_catalog_has_no_ascii_colon_comma_or_parenthesis_beside_chinese(
        domain: str) -> None:
    offenders = {key: text for key, text in _strings("zh_CN", domain).items()
                 if ASCII_BESIDE_CHINESE.search(text)}
    assert offenders == {}


def test_english_catalog_has_no_full_width_punctuation() -> None:
    offenders = {key: text for key, text in _strings("en").items()
                 if FULL_WIDTH_MARKS.search(text)}
    assert offenders == {}


def test_templates_hold_no_punctuation_of_their_own() -> None:
    """What a template writes around its pieces is the same in every language, so any mark there
    is wrong in one of them: the marks come from `p` (the catalog's punct.* keys)."""
    offenders = {}
    for path in sorted(Path(TEMPLATES_DIR).glob("*.j2")):
        literal = JINJA.sub(" ", path.read_text(encoding="utf-8"))
        marks = re.findall(rf"[{re.escape(ASCII_MARKS)}]|{FULL_WIDTH_MARKS.pattern}|[「」]",
                           literal)
        if marks:
            offenders[path.name] = marks
    assert offenders == {}


def test_the_scan_finds_what_it_is_for() -> None:
    """The pattern itself: it must catch the mistakes the issue saw, and pass correct text."""
    for wrong in ("总分: 98.90", "邀请码: ", "进度(%)", "甲, 乙", "(较上周)"):
        assert ASCII_BESIDE_CHINESE.search(wrong), wrong
    for right in ("总分：98.90", "邀请码：", "进度（%）", "Total: 98.90", "6/12 (50%)"):
        assert not ASCII_BESIDE_CHINESE.search(right), right


def test_a_label_and_its_value_read_right_in_each_language() -> None:
    def invite(locale: str) -> str:
        cadre = type("Cadre", (), {"name": "艾丽"})()
        return Renderer(locale).render("invite_issued", cadre=cadre, code="ABCD1234",
                                       link="https://t.me/kaohe_bot?start=ABCD1234",
                                       expires=date(2026, 12, 31))

    assert "邀请码：<code>ABCD1234</code>\n绑定链接：https://t.me/" in invite("zh_CN")
    assert "Code: <code>ABCD1234</code>\nLink: https://t.me/" in invite("en")


def test_no_space_is_put_before_a_chinese_sentence_that_opens_with_a_mark() -> None:
    """`总分 {{ t(…) }}` with a sentence "（…）" would read "分 （"; such a sentence carries its own
    spacing (" (…)" in English), or the template uses p.open and p.close."""
    chinese = _strings("zh_CN")
    offenders = []
    for path in sorted(Path(TEMPLATES_DIR).glob("*.j2")):
        for key in re.findall(r' {{ t\("([a-z_.]+)"', path.read_text(encoding="utf-8")):
            if chinese.get(key, "")[:1] in ("（", "，", "：", "、"):
                offenders.append(f"{path.name}: {key}")
    assert offenders == []
