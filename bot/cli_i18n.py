"""The command line in the user's language, --help and usage errors included.

The language is settled before click parses anything: --lang if given, else the configured
default ([i18n] default_locale), else Chinese. Then

- each command's help comes from the kaohe catalog under `cli.help.<command path>`, and each
  option's under `cli.opt.<command path>.<option>` (the English in the source is what `en` says);
- click's own words (Usage, Options, "Error: …", "Invalid value for …") come from
  locales/<locale>/LC_MESSAGES/click.po, keyed by click's English text, which English needs no
  catalog for. Click looks them up with gettext through module-level names, which are pointed at
  that catalog here.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import Any

import click
import click.core
import click.decorators
import click.exceptions
import click.formatting
import click.parser
import click.termui
import click.types

from bot.config import ConfigError, load_settings
from ui.i18n import DEFAULT_LOCALE, LOCALES, Translator, translations

CLICK_DOMAIN = "click"
_CLICK_MODULES: tuple[ModuleType, ...] = (
    click.core, click.decorators, click.exceptions, click.formatting, click.parser,
    click.termui, click.types,
)
_speaking = {"locale": DEFAULT_LOCALE}


def _gettext(message: str) -> str:
    return translations(_speaking["locale"], CLICK_DOMAIN).gettext(message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_speaking["locale"], CLICK_DOMAIN).ngettext(singular, plural, n)


def chosen_locale(args: Sequence[str]) -> str:
    """--lang from the arguments if it names a language we speak, else the configured one."""
    for index, arg in enumerate(args):
        if arg == "--":
            break
        value = None
        if arg == "--lang" and index + 1 < len(args):
            value = args[index + 1]
        elif arg.startswith("--lang="):
            value = arg.partition("=")[2]
        if value in LOCALES:
            return value
    try:
        return load_settings().i18n.default_locale
    except ConfigError:
        return DEFAULT_LOCALE


def speak(locale: str, command: click.Command) -> None:
    """From now on click, and `command` with everything under it, speak `locale`."""
    _speaking["locale"] = locale if locale in LOCALES else DEFAULT_LOCALE
    for module in _CLICK_MODULES:
        if hasattr(module, "_"):
            module._ = _gettext  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = _ngettext  # type: ignore[attr-defined]
    _localise(command, (), Translator(_speaking["locale"]))


def help_keys(command: click.Command, path: tuple[str, ...] = ()) -> dict[str, str]:
    """Every catalog key the command tree's help needs, with the source's English text."""
    found = {_key("cli.help", path): _original(command, "help")}
    for param in command.params:
        if isinstance(param, click.Option) and param.name:
            found[_key("cli.opt", (*path, param.name))] = _original(param, "help")
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            found.update(help_keys(sub, (*path, name)))
    return found


def _localise(command: click.Command, path: tuple[str, ...], t: Translator) -> None:
    command.help = _said(t, _key("cli.help", path), _original(command, "help"))
    for param in command.params:
        if isinstance(param, click.Option) and param.name:
            param.help = _said(t, _key("cli.opt", (*path, param.name)), _original(param, "help"))
    # Click makes the --help option once per command, in the language of that moment.
    command._help_option = None
    command.context_class = _Context
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            _localise(sub, (*path, name), t)


def _key(prefix: str, path: tuple[str, ...]) -> str:
    return ".".join((prefix, *path)).replace("-", "_")


def _original(thing: Any, attribute: str) -> str:
    """The text the source gave (kept aside the first time, as localising replaces it)."""
    kept = f"_kaohe_source_{attribute}"
    if not hasattr(thing, kept):
        setattr(thing, kept, getattr(thing, attribute) or "")
    text: str = getattr(thing, kept)
    return text


def _said(t: Translator, key: str, source: str) -> str | None:
    text = t(key) if t.has(key) else source
    return text or None


class _Formatter(click.HelpFormatter):
    """Headings end with a full-width colon in Chinese ("选项：")."""

    def write_heading(self, heading: str) -> None:
        colon = "：" if _speaking["locale"] == "zh_CN" else ":"
        self.write(f"{'':>{self.current_indent}}{heading}{colon}\n")


class _Context(click.Context):
    formatter_class = _Formatter


class LocalisedGroup(click.Group):
    """The root command: settles the language before click reads the arguments."""

    def main(self, args: Sequence[str] | None = None, *more: Any, **options: Any) -> Any:
        import sys

        arguments = list(sys.argv[1:] if args is None else args)
        speak(chosen_locale(arguments), self)
        return super().main(arguments, *more, **options)
