"""Configuration: the file's defaults, environment overrides, and errors that name the key."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parent.parent


def _write(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text((ROOT / "config.toml").read_text(encoding="utf-8") + "\n" + extra,
                    encoding="utf-8")
    return path


def test_defaults_load_and_give_every_policy() -> None:
    settings = load_settings(ROOT / "config.toml")
    rules = settings.rules()
    assert settings.time.timezone == "Asia/Shanghai"
    assert settings.i18n.default_locale == "zh_CN"
    core = rules.policy("core")
    assert (core.category_weights["business"], core.category_weights["general"]) == (
        Fraction(60), Fraction(40))
    assert rules.policy("general").category_weights["business"] == 50
    assert set(rules.profiles) == {"standard", "growth", "veteran"}
    assert str(rules.default_difficulty("region")) == "1.2"
    assert rules.innovation_value("commendation", "region") == 4


def test_relative_sqlite_path_is_resolved_against_the_file(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, ""))
    assert settings.database_url == f"sqlite:///{tmp_path}/var/kaohe.db"


def test_environment_overrides_any_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAOHE_DATABASE__URL", "postgresql+psycopg://kaohe@db/kaohe")
    monkeypatch.setenv("KAOHE_TELEGRAM__TOKEN", "123:abc")
    monkeypatch.setenv("KAOHE_TIME__TIMEZONE", "Asia/Urumqi")
    settings = load_settings(ROOT / "config.toml")
    assert settings.database_url == "postgresql+psycopg://kaohe@db/kaohe"
    assert settings.telegram.token.get_secret_value() == "123:abc"
    assert settings.time.timezone == "Asia/Urumqi"
    assert settings.i18n.default_locale == "zh_CN"  # untouched keys keep the file's value


@pytest.mark.parametrize("section, line, named", [
    ("time", "timezone = 'Mars/Olympus'", "time.timezone"),
    ("invites", "ttl_days = 'soon'", "invites.ttl_days"),
    ("telegram", "mode = 'carrier-pigeon'", "telegram.mode"),
    ("database", "urll = 'x'", "database.urll"),
    ("webapp", "public_url = 'http://kaohe.example'", "webapp.public_url"),  # HTTPS only
    ("webapp", "max_init_data_age = 5", "webapp.max_init_data_age"),
])
def test_a_bad_value_names_the_key(tmp_path: Path, section: str, line: str, named: str) -> None:
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    key = line.split("=")[0].strip()
    # Replace the key's line in the shipped file, or add the key under its section header.
    broken, count = re.subn(rf"^{key}\s*=.*$", line, text, count=1, flags=re.MULTILINE)
    if not count:
        broken = text.replace(f"[{section}]", f"[{section}]\n{line}", 1)
    path = tmp_path / "config.toml"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        load_settings(path)


def test_a_bad_scoring_table_names_the_key(tmp_path: Path) -> None:
    text = (ROOT / "config.toml").read_text(encoding="utf-8").replace(
        "[scoring.post_categories.core]", "[scoring.post_categories.core]\nkey_factr = 2", 1)
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"scoring\.post_categories\.core.*key_factr"):
        load_settings(path)


def test_difficulty_source_outside_range_is_refused(tmp_path: Path) -> None:
    text = (ROOT / "config.toml").read_text(encoding="utf-8").replace(
        "region = 1.2       #", "region = 1.5       #", 1)
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"scoring\.difficulty_sources\.region"):
        load_settings(path)


def test_secrets_in_the_file_are_refused(tmp_path: Path) -> None:
    text = (ROOT / "config.toml").read_text(encoding="utf-8").replace(
        'token = ""', 'token = "123:abc"', 1)
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="KAOHE_TELEGRAM__TOKEN"):
        load_settings(path)


def test_broken_toml_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[database\nurl = ", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(path)


def test_every_key_has_a_comment() -> None:
    """Each key is explained where it first appears: a comment on its line or just above it
    (a key repeated in later tables, like a profile's factors, shares that explanation)."""
    lines = (ROOT / "config.toml").read_text(encoding="utf-8").splitlines()
    documented: set[str] = set()
    keys: set[str] = set()
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "[")) or "=" not in stripped:
            continue
        key = stripped.split("=")[0].strip()
        keys.add(key)
        above = lines[index - 1].strip() if index else ""
        if "#" in stripped or above.startswith("#"):
            documented.add(key)
    assert sorted(keys - documented) == []
