"""The catalogs: every key the code uses exists, translated, in zh_CN and in en."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

from ui.i18n import LOCALES, Translator, normalize_locale, po_path

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
