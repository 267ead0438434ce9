"""Translations: gettext catalogs in locales/<locale>/LC_MESSAGES/kaohe.po, read with Babel.

Message ids are stable keys ("cli.check.clean", "refused.period_locked"); both catalogs, zh_CN
and en, hold the sentences, so Python holds none. The .po files are read directly (no compile
step), once per locale.
"""

from __future__ import annotations

import gettext
from collections.abc import Mapping
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
DOMAIN = "kaohe"


def po_path(locale: str, domain: str = DOMAIN) -> Path:
    return LOCALES_DIR / locale / "LC_MESSAGES" / f"{domain}.po"


@cache
def translations(locale: str, domain: str = DOMAIN) -> gettext.NullTranslations:
    """The catalog for a locale (an unknown locale gets the default one). Another domain holds
    a library's own messages under their English text (click.po: the command line's usage and
    errors); where a locale has no such file, the English text stands."""
    if locale not in LOCALES:
        locale = DEFAULT_LOCALE
    path = po_path(locale, domain)
    if domain != DOMAIN and not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale, domain=domain)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def normalize_locale(value: str | None, default: str = DEFAULT_LOCALE) -> str:
    """Map what Telegram or the environment says ("zh-hans", "en_US.UTF-8") onto our locales."""
    if not value:
        return default
    lowered = value.lower().replace("-", "_")
    if lowered.startswith("zh"):
        return "zh_CN"
    if lowered.startswith("en"):
        return "en"
    return default


class Translator:
    """Looks up keyed messages in one locale and fills in their {placeholders}."""

    def __init__(self, locale: str) -> None:
        self.locale = locale if locale in LOCALES else DEFAULT_LOCALE
        self._catalog = translations(self.locale)

    def __call__(self, key: str, **params: Any) -> str:
        text = self._catalog.gettext(key)
        return text.format(**params) if params else text

    def ngettext(self, key: str, plural_key: str, n: int, **params: Any) -> str:
        text = self._catalog.ngettext(key, plural_key, n)
        return text.format(n=n, **params)

    def has(self, key: str) -> bool:
        return self._catalog.gettext(key) != key


def refusal_params(t: Translator, params: Mapping[str, Any]) -> dict[str, Any]:
    """A refusal's parameters as its sentence shows them: what was not found (`what`, a table's
    name: "period") in the reader's words ("entity.period": 考核周期), not the table's."""
    what = params.get("what")
    if what is None or not t.has(f"entity.{what}"):
        return dict(params)
    return {**params, "what": t(f"entity.{what}")}
