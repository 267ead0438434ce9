"""The Bot API as data: which methods exist and what their parameters must look like.

Telegram quietly ignores unknown parameters and fields; the simulator refuses them, naming the
culprit, so that a misspelt keyword or a wrong type fails in a test instead of doing nothing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sandbox.sim_errors import bad_request

DEFAULT_SPEC = Path(__file__).with_name("bot-api.min.json")
# python-telegram-bot's Defaults (bot/application.py sets parse_mode and link previews) put these
# into every call that goes through its message path, editMessageReplyMarkup included. Telegram
# ignores them where a method has no such parameter, and their names cannot be misspelt, so the
# simulator lets exactly these through (and only these).
DEFAULTS_PTB_INSERTS = frozenset({"parse_mode", "link_preview_options", "disable_notification",
                                  "protect_content", "allow_sending_without_reply"})
_DISCRIMINATOR = re.compile(r'(?:must be|always) "?([A-Za-z0-9_\-]+)"?$')


@dataclass(frozen=True)
class Upload:
    """A file the bot uploaded with its request (multipart), standing in for an InputFile."""

    name: str
    content: bytes
    mime_type: str

    def __repr__(self) -> str:
        return f"Upload({self.name!r}, {len(self.content)} bytes, {self.mime_type!r})"


@dataclass(frozen=True)
class FieldSpec:
    name: str
    types: tuple[str, ...]
    required: bool
    fixed: str | None  # the only value a "type" discriminator field may take


@dataclass(frozen=True)
class TypeSpec:
    name: str
    fields: dict[str, FieldSpec]
    subtypes: tuple[str, ...]


def _fields(raw: list[dict[str, Any]]) -> dict[str, FieldSpec]:
    found = {}
    for item in raw:
        is_kind = item["name"] == "type"
        match = _DISCRIMINATOR.search(item.get("description", "")) if is_kind else None
        found[item["name"]] = FieldSpec(
            item["name"], tuple(item["types"]), bool(item["required"]),
            match.group(1) if match else None,
        )
    return found


class ApiSpec:
    """Methods and types of one Bot API version, with a checker for call parameters."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.version: str = raw.get("version", "")
        self.methods = {name: _fields(m.get("fields", [])) for name, m in raw["methods"].items()}
        self.types = {
            name: TypeSpec(name, _fields(t.get("fields", [])), tuple(t.get("subtypes", [])))
            for name, t in raw["types"].items()
        }

    @classmethod
    def load(cls, path: Path | None = None) -> ApiSpec:
        return _load_cached(str(path or DEFAULT_SPEC))

    def has_method(self, method: str) -> bool:
        return method in self.methods

    def check_call(self, method: str, params: dict[str, Any]) -> None:
        """Raise a 400 ApiError for an unknown, missing or mistyped parameter."""
        fields = self.methods[method]
        for name in params:
            if name not in fields and name not in DEFAULTS_PTB_INSERTS:
                raise bad_request(f'unknown parameter "{name}" for method {method}')
        for spec in fields.values():
            if spec.name not in params:
                if spec.required:
                    raise bad_request(f'parameter "{spec.name}" is required for method {method}')
                continue
            error = self.check_value(params[spec.name], spec.types, spec.name)
            if error:
                raise bad_request(error)

    def check_value(self, value: Any, types: tuple[str, ...], path: str) -> str | None:
        """None if `value` matches one of `types` ("Integer", "Array of X", an object type)."""
        if isinstance(value, list):
            inner = tuple(t.removeprefix("Array of ") for t in types if t.startswith("Array of "))
            if not inner:
                return _wrong_type(path, types, value)
            for index, item in enumerate(value):
                error = self.check_value(item, inner, f"{path}[{index}]")
                if error:
                    return error
            return None
        plain = tuple(t for t in types if not t.startswith("Array of "))
        if isinstance(value, dict):
            objects = [t for t in plain if t in self.types]
            if not objects:
                return _wrong_type(path, types, value)
            return self._check_union(value, self._concrete(objects), path)
        if any(_scalar_matches(value, t) for t in plain):
            return None
        return _wrong_type(path, types, value)

    def _concrete(self, names: list[str]) -> list[str]:
        """Abstract types (InputMedia, BotCommandScope, ...) stand for their subtypes."""
        out: list[str] = []
        for name in names:
            subtypes = self.types[name].subtypes
            out.extend(self._concrete(list(subtypes)) if subtypes else [name])
        return out

    def _check_union(self, value: dict[str, Any], candidates: list[str], path: str) -> str | None:
        errors = {}
        for name in candidates:
            error = self._check_object(value, self.types[name], path)
            if error is None:
                return None
            errors[name] = error
        return errors[max(candidates, key=lambda name: self._affinity(value, name))]

    def _affinity(self, value: dict[str, Any], name: str) -> tuple[bool, int]:
        """How much `value` looks like type `name`, to report the most relevant error."""
        fields = self.types[name].fields
        kind = fields.get("type")
        same_kind = kind is not None and kind.fixed is not None and value.get("type") == kind.fixed
        return same_kind, sum(key in fields for key in value) - sum(k not in fields for k in value)

    def _check_object(self, value: dict[str, Any], spec: TypeSpec, path: str) -> str | None:
        if not spec.fields:
            return None  # an opaque placeholder such as CallbackGame
        for key in value:
            if key not in spec.fields:
                return f'unknown field "{key}" in {path} ({spec.name})'
        for field in spec.fields.values():
            if field.name not in value:
                if field.required:
                    return f'field "{field.name}" is required in {path} ({spec.name})'
                continue
            item, where = value[field.name], f"{path}.{field.name}"
            if field.fixed is not None and item != field.fixed:
                return f'{where} must be "{field.fixed}" in {spec.name}, got {item!r}'
            error = self.check_value(item, field.types, where)
            if error:
                return error
        return None


@lru_cache(maxsize=4)
def _load_cached(path: str) -> ApiSpec:
    return ApiSpec(json.loads(Path(path).read_text(encoding="utf-8")))


def _scalar_matches(value: Any, type_name: str) -> bool:
    if type_name == "Integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_name == "Float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if type_name == "String":
        return isinstance(value, str)
    if type_name == "Boolean":
        return isinstance(value, bool)
    if type_name == "True":
        return value is True
    if type_name == "InputFile":
        return isinstance(value, Upload)
    return False


def _wrong_type(path: str, types: tuple[str, ...], value: Any) -> str:
    kind = "Upload" if isinstance(value, Upload) else type(value).__name__
    return f'wrong type of "{path}": expected {" or ".join(types)}, got {kind}'
