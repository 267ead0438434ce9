"""Rendering what the bot says: Jinja2 templates (templates/*.html.j2) and keyed messages.

Everything is HTML for Telegram's HTML parse mode. Templates autoescape, so a task title with
<, > or & shows as written; `t(key, ...)` inside a template looks the sentence up in the
recipient's catalog. Numbers are formatted here, never in handlers.
"""

from __future__ import annotations

import html
import logging
import unicodedata
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal
from functools import cache
from pathlib import Path
from types import BuiltinMethodType
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape
from jinja2.runtime import Context

from ui.i18n import Translator, refusal_params

log = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


QUOTE_LIMIT = 30  # characters of what someone typed that a reply quotes back
_UNSHOWN = ("Cc", "Cf", "Cs")  # controls, format characters (bidi overrides), lone surrogates


def typed_quote(typed: str, limit: int = QUOTE_LIMIT) -> str:
    """What a person typed, fit to quote back in a reply ("“…”不是有效的进度"): on one line,
    without control or format characters (a right-to-left override turned the rest of our
    sentence around), and at most `limit` characters and "…" (a 4,096-character paste came back
    whole, over two messages). Plain text: `Renderer.text` escapes it as any parameter."""
    shown = "".join(ch for ch in " ".join(typed.split())
                    if unicodedata.category(ch) not in _UNSHOWN).strip()
    return shown if len(shown) <= limit else shown[:limit].rstrip() + "…"


def points(value: Decimal | int | str | None) -> str:
    """A score as shown everywhere: two decimals (the stored, rounded figure)."""
    if value is None:
        return "—"
    return f"{Decimal(value):.2f}"


def signed(value: Decimal | None) -> str:
    if value is None:
        return "—"
    return f"{value:+.2f}"


def percent(value: Decimal | str | None) -> str:
    if value is None:
        return "—"
    number = Decimal(value)
    text = f"{number:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


def plain_number(value: Decimal | int | str | None) -> str:
    """A count or coefficient without trailing zeros: 12, 1.1, 0.15."""
    if value is None:
        return "—"
    number = Decimal(value)
    if number == number.to_integral_value():
        return str(number.quantize(Decimal(1)))
    return format(number.normalize(), "f")


def boost(value: Decimal | str | None) -> str:
    """A task's dynamic boost, stored as a fraction (0.15), shown one way everywhere: "+15%"."""
    if value is None:
        return "—"
    return "+" + percent(Decimal(value) * 100)


def difficulty(value: Decimal | str | None) -> str:
    """A difficulty coefficient, shown one way everywhere: two decimals, "1.05", "1.20"."""
    if value is None:
        return "—"
    return f"{Decimal(value):.2f}"


def amount(value: Decimal | str | None, target: Decimal | str | None) -> str:
    """An amount reported on a task: "6/12" toward a numeric target, else a percentage."""
    if value is None:
        return "—"
    return f"{plain_number(value)}/{plain_number(target)}" if target is not None else percent(value)


def local_time(moment: datetime | None, zone: tzinfo) -> str:
    """A moment as the reader's clock shows it: month-day hour:minute in their unit's zone."""
    if moment is None:
        return ""
    return moment.astimezone(zone).strftime("%m-%d %H:%M")


class _Context(Context):
    """Jinja's context, calling what templates call most — the translator `t` and a date's
    isoformat — straight away. Jinja checks every call for a pass_context or
    pass_environment mark (neither of these has one) and drops its loop bookkeeping:
    a third of a digest's rendering went to those checks. Anything else goes through them."""

    def call(__self, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # the names as Jinja's
        if type(__obj) in _PLAIN_CALLS:
            kwargs.pop("_loop_vars", None)
            kwargs.pop("_block_vars", None)
            return __obj(*args, **kwargs)
        return super().call(__obj, *args, **kwargs)


_PLAIN_CALLS = (Translator, BuiltinMethodType)


@cache
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["j2", "html"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.context_class = _Context
    env.filters.update(points=points, signed=signed, percent=percent, num=plain_number,
                       local=local_time, amount=amount, boost=boost,
                       difficulty=difficulty)
    return env


@dataclass(frozen=True)
class Punctuation:
    """The marks a template puts between its pieces, in the reader's language: full-width in
    Chinese (总分：98.90、（较上周 +1.20）), ASCII in English. Templates hold no punctuation of
    their own (tests/test_punctuation.py checks), so no language gets the other's."""

    colon: str
    comma: str
    open: str
    close: str
    list: str  # between the items of a list on one line
    lquote: str
    rquote: str

    @classmethod
    def of(cls, t: Translator) -> Punctuation:
        return cls(**{name: t(f"punct.{name}") for name in cls.__dataclass_fields__})


@cache
def _template(kind: str) -> Template:
    """Compiled once per process: the environment would check the file's time on every use,
    and a digest run renders 20,000 of them."""
    return _environment().get_template(f"{kind}.html.j2")


class Renderer:
    """Renders for one locale: `render(kind, **data)` a template, `text(key, ...)` one sentence."""

    def __init__(self, locale: str) -> None:
        self.t = Translator(locale)
        self.locale = self.t.locale
        self.p = Punctuation.of(self.t)

    def render(self, kind: str, **data: Any) -> str:
        return _template(kind).render(t=self.t, p=self.p, locale=self.locale, **data).strip()

    def text(self, key: str, **params: Any) -> str:
        """One catalog sentence, its parameters escaped for HTML."""
        escaped = {k: html.escape(str(v), quote=False) for k, v in params.items()}
        return self.t(key, **escaped)

    def label(self, key: str, **params: Any) -> str:
        """A button label or plain text (Telegram shows button labels as given, no HTML)."""
        return self.t(key, **params)

    def refusal(self, code: str, params: dict[str, Any]) -> str:
        """A refusal (models/errors.py) in the person's words; a code without a sentence gets
        the generic one."""
        key = f"refused.{code}"
        if not self.t.has(key):
            log.warning("no text for refusal code %s", code)
            return self.text("refused.generic")
        # A refusal's `value` is what someone entered (a number typed, a cell): quoted short.
        return self.text(key, **{k: typed_quote(str(v)) if k == "value" else str(v)
                                 for k, v in refusal_params(self.t, params).items()})
