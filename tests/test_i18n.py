"""The catalogs: every key the code uses exists, translated, in zh_CN and in en."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

from bot.cli import describe_refusal
from models.errors import NotFound
from ui.i18n import LOCALES, Translator, normalize_locale, po_path
from ui.render import Renderer

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "ui", "webapp", "sandbox", "models")
SOURCES = [p for d in PACKAGES for p in (ROOT / d).rglob("*.py")]


def _catalog(locale: str) -> dict[str, str]:
    with po_path(locale).open("rb") as handle:
        catalog = read_po(handle)
    return {str(m.id): str(m.string) for m in catalog if m.id}


def test_both_catalogs_have_the_same_keys_all_translated() -> None:
    zh, en = _catalog("zh_CN"), _catalog("en")
    assert set(zh) == set(en)
    assert [k for k, v in zh.items() if not v] == []
    assert [k for k, v in en.items() if not v] == []


def test_no_key_is_defined_twice() -> None:
    # gettext keeps one of two same keys silently: the other sentence is never seen.
    for locale in LOCALES:
        text = po_path(locale).read_text(encoding="utf-8")
        keys = re.findall(r'^msgid "(.+)"$', text, flags=re.MULTILINE)
        assert sorted(k for k in set(keys) if keys.count(k) > 1) == [], locale


def test_placeholders_agree_between_languages() -> None:
    zh, en = _catalog("zh_CN"), _catalog("en")
    for key in zh:
        assert set(re.findall(r"{(\w+)}", zh[key])) == set(re.findall(r"{(\w+)}", en[key])), key


def test_every_key_the_code_names_is_in_the_catalog() -> None:
    keys = set(_catalog("zh_CN"))
    used = set()
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r'\bt\("([a-z_.]+)"', text))
        used |= {f"refused.{code}" for code in re.findall(r'Refused\(\s*"([a-z_]+)"', text)}
        used |= {f"cli.col.{c}" for c in re.findall(r'"cli\.col\.([a-z_]+)"', text)}
    used |= {"refused.not_found", "refused.forbidden"}  # raised by NotFound and Forbidden
    assert sorted(used - keys) == []


def test_translator_fills_placeholders_and_falls_back() -> None:
    assert Translator("en")("refused.progress_out_of_range", value="150").endswith("150.")
    assert "150" in Translator("zh_CN")("refused.progress_out_of_range", value="150")
    assert Translator("fr").locale == "zh_CN"
    assert set(LOCALES) == {"zh_CN", "en"}
    assert normalize_locale("zh-hans") == "zh_CN"
    assert normalize_locale("en-US") == "en"
    assert normalize_locale("ru") == "zh_CN"


def _not_found_entities() -> set[str]:
    """Every `what` a not_found refusal is raised with: NotFound("report", ...),
    Refused("not_found", what="unit", ...), and access.load(ctx, Model, ...) (the table's name)."""
    from models import tables
    found: set[str] = set()
    for path in (ROOT / "models").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(r'NotFound\(\s*"(\w+)"', text))
        found |= set(re.findall(r'Refused\(\s*"not_found",\s*what="(\w+)"', text))
        found |= {str(getattr(tables, name).__tablename__)
                  for name in re.findall(r"\bload\(\s*ctx,\s*(\w+)", text)}
    return found


def test_what_was_not_found_is_named_in_the_readers_words() -> None:
    """"找不到该记录（period 1000）" named the table in a Chinese sentence: every kind of row a
    not_found refusal names has a word in both catalogs, and the sentence uses it."""
    entities = _not_found_entities()
    assert {"unit", "cadre", "period", "task", "report", "innovation_claim"} <= entities
    for locale in LOCALES:
        t = Translator(locale)
        assert sorted(e for e in entities if not t.has(f"entity.{e}")) == [], locale
    r_zh, r_en = Renderer("zh_CN"), Renderer("en")
    assert r_zh.refusal("not_found", {"what": "period", "id": 1000}) == (
        "找不到该记录（考核周期 1000）。")
    assert r_en.refusal("not_found", {"what": "innovation_claim", "id": 7}) == (
        "Not found (innovation claim 7).")
    assert describe_refusal(Translator("zh_CN"), NotFound("report", 5)) == (
        "找不到该记录（汇报 5）。")
