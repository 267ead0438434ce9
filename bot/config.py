"""Configuration: config.toml, overridden key by key by KAOHE_<SECTION>__<KEY> variables.

Everything is validated at start-up; a broken file or value stops the program with a
ConfigError that names the key and what is wrong.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import replace
from datetime import date, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from models.rules import PostCategory, ProfileRule, Rules, WarningMargins
from scoring import Rational, ScoringError, policy_from_mapping, profile_from_mapping

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_FILE = PROJECT_ROOT / "config.toml"

# Policy keys a post category may override (the rest of its table is its labels).
_POLICY_KEYS = {
    "category_weights", "key_factor", "boost_range", "difficulty_range", "grade_factors",
    "innovation_cap", "collaboration", "rating",
}


_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key and the problem."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatabaseSettings(_Section):
    url: str = "sqlite:///var/kaohe.db"
    echo: bool = False
    sqlite_busy_timeout: int = Field(default=15, ge=0)


class TelegramSettings(_Section):
    token: SecretStr = SecretStr("")
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str = ""
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_secret: SecretStr = SecretStr("")
    admin_chat_id: int = 0

    def check_webhook(self) -> None:
        """Webhook mode starts only when Telegram alone can post to it: an https URL, and a
        secret token every call must carry (a forged POST then gets 403, not an answer)."""
        if not self.webhook_url.startswith("https://"):
            raise ConfigError(
                f"telegram.webhook_url: webhook mode needs the public https:// URL Telegram "
                f"posts to (got {self.webhook_url!r})")
        secret = self.webhook_secret.get_secret_value()
        if not secret:
            raise ConfigError(
                "telegram.webhook_secret: webhook mode needs a secret token; "
                "set KAOHE_TELEGRAM__WEBHOOK_SECRET in the environment")
        if not _WEBHOOK_SECRET.fullmatch(secret):
            raise ConfigError(
                "telegram.webhook_secret: 1 to 256 characters, only A-Z, a-z, 0-9, _ and - "
                "(Telegram's rule for secret_token)")


class I18nSettings(_Section):
    default_locale: Literal["zh_CN", "en"] = "zh_CN"


class TimeSettings(_Section):
    timezone: str = "Asia/Shanghai"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value


def _clock_time(value: str) -> str:
    try:
        time.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a time like 09:30") from exc
    return value


class ScheduleSettings(_Section):
    reminder_offsets_days: list[int] = Field(default_factory=lambda: [3, 1, 0])
    reminder_time: str = "09:30"
    overdue_reminders: int = Field(default=3, ge=0, le=30)
    quiet_start: str = "22:00"
    quiet_end: str = "09:00"
    review_waiting_hours: int = Field(default=24, ge=1)
    digest_weekday: int = Field(default=1, ge=1, le=7)
    digest_time: str = "10:00"
    catch_up_hours: int = Field(default=12, ge=0, le=168)
    extra_holidays: list[date] = Field(default_factory=list)
    extra_workdays: list[date] = Field(default_factory=list)

    @field_validator("reminder_time", "quiet_start", "quiet_end", "digest_time")
    @classmethod
    def _is_time(cls, value: str) -> str:
        return _clock_time(value)

    @field_validator("reminder_offsets_days")
    @classmethod
    def _offsets(cls, value: list[int]) -> list[int]:
        if any(day < 0 or day > 60 for day in value):
            raise ValueError("offsets are days before the due date, 0 to 60")
        return sorted(set(value), reverse=True)


class InviteSettings(_Section):
    ttl_days: int = Field(default=14, ge=1, le=365)


class SandboxSettings(_Section):
    folder: str = "var/sandbox"


class RatingSettings(_Section):
    publicity_days: int = Field(default=5, ge=1, le=30)


class WarningSettings(_Section):
    yellow_margin: Decimal = Field(default=Decimal(10), ge=0, le=100)
    red_margin: Decimal = Field(default=Decimal(25), ge=0, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> WarningSettings:
        if self.red_margin < self.yellow_margin:
            raise ValueError("red_margin must not be below yellow_margin")
        return self


class WorkerSettings(_Section):
    external: bool = False  # True: the bot leaves sending, scheduling and jobs to `kaohe worker`
    poll_seconds: float = Field(default=1.0, gt=0, le=60)


class ReviewSettings(_Section):
    max_delegation_days: int = Field(default=90, ge=1, le=366)


class LoggingSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    file: str = ""  # empty: standard error


class WebAppSettings(_Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8088, ge=0, le=65535)  # 0: any free port (tests)
    public_url: str = ""
    max_init_data_age: int = Field(default=86400, ge=60, le=7 * 86400)
    figures_minutes: int = Field(default=10, ge=1, le=24 * 60)

    @property
    def figures_every(self) -> timedelta | None:
        """How often the 总览's figures are worked out again (None: the dashboard is off)."""
        return timedelta(minutes=self.figures_minutes) if self.enabled else None

    @field_validator("public_url")
    @classmethod
    def _https(cls, value: str) -> str:
        if value and not value.startswith("https://"):
            raise ValueError("Telegram opens Mini Apps over HTTPS only: https://…")
        return value.rstrip("/")


class ScoringSettings(BaseModel):
    """The scoring tables as written in the file; `rules()` turns them into checked policies."""

    model_config = ConfigDict(extra="allow")  # the base policy's keys sit directly in [scoring]

    post_categories: dict[str, dict[str, Any]] = Field(default_factory=dict)
    profiles: dict[str, dict[str, Any]] = Field(default_factory=dict)
    difficulty_sources: dict[str, Decimal] = Field(default_factory=dict)
    innovation_points: dict[str, dict[str, Decimal]] = Field(default_factory=dict)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="KAOHE_", env_nested_delimiter="__", extra="forbid", case_sensitive=False
    )

    database: DatabaseSettings = DatabaseSettings()
    telegram: TelegramSettings = TelegramSettings()
    i18n: I18nSettings = I18nSettings()
    time: TimeSettings = TimeSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    invites: InviteSettings = InviteSettings()
    rating: RatingSettings = RatingSettings()
    warnings: WarningSettings = WarningSettings()
    review: ReviewSettings = ReviewSettings()
    logging: LoggingSettings = LoggingSettings()
    webapp: WebAppSettings = WebAppSettings()
    workers: WorkerSettings = WorkerSettings()
    sandbox: SandboxSettings = SandboxSettings()
    scoring: ScoringSettings = ScoringSettings()

    # Where the file was; relative SQLite paths are resolved against its folder.
    config_dir: Path = PROJECT_ROOT

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's values arrive as init arguments; the environment wins over them.
        return (env_settings, init_settings)

    @property
    def database_url(self) -> str:
        """The database URL with a relative SQLite path made absolute against the config folder."""
        url = self.database.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            return prefix + str(self.config_dir / url[len(prefix):])
        return url

    @property
    def sandbox_folder(self) -> Path:
        """Where the sandbox keeps its Telegram, relative paths against the config folder."""
        return self.config_dir / self.sandbox.folder

    def rules(self) -> Rules:
        """The scoring policy per post category, profiles and point tables, checked."""
        margins = WarningMargins(self.warnings.yellow_margin, self.warnings.red_margin)
        return replace(build_rules(self.scoring), warnings=margins)


def build_rules(scoring: ScoringSettings) -> Rules:
    extra = scoring.model_extra or {}
    try:
        base = policy_from_mapping(extra)
    except ScoringError as exc:
        raise ConfigError(f"scoring: {exc}") from exc
    categories: dict[str, PostCategory] = {}
    for name, table in scoring.post_categories.items():
        overrides = {k: v for k, v in table.items() if k in _POLICY_KEYS}
        unknown = set(table) - _POLICY_KEYS - {"label_zh", "label_en"}
        if unknown:
            raise ConfigError(f"scoring.post_categories.{name}: unknown key {sorted(unknown)[0]!r}")
        try:
            policy = policy_from_mapping(overrides, base=base)
        except ScoringError as exc:
            raise ConfigError(f"scoring.post_categories.{name}: {exc}") from exc
        categories[name] = PostCategory(
            name, str(table.get("label_zh", name)), str(table.get("label_en", name)), policy
        )
    if not categories:
        raise ConfigError("scoring.post_categories: at least one post category is required")
    profiles: dict[str, ProfileRule] = {}
    for name, table in scoring.profiles.items():
        unknown = set(table) - {"label_zh", "label_en", "innovation_factor", "dimension_factors"}
        if unknown:
            raise ConfigError(f"scoring.profiles.{name}: unknown key {sorted(unknown)[0]!r}")
        factors = {k: v for k, v in table.items() if not k.startswith("label_")}
        try:
            profile = profile_from_mapping(factors)
        except ScoringError as exc:
            raise ConfigError(f"scoring.profiles.{name}: {exc}") from exc
        profiles[name] = ProfileRule(
            name, str(table.get("label_zh", name)), str(table.get("label_en", name)), profile
        )
    if "standard" not in profiles:
        raise ConfigError("scoring.profiles: the 'standard' profile is required")
    low, high = base.difficulty_range
    for source, coefficient in scoring.difficulty_sources.items():
        if not low <= Rational(coefficient) <= high:
            raise ConfigError(
                f"scoring.difficulty_sources.{source}: {coefficient} outside [{low}, {high}]"
            )
    for kind, levels in scoring.innovation_points.items():
        for level, points in levels.items():
            if points < 0:
                raise ConfigError(f"scoring.innovation_points.{kind}.{level}: must not be negative")
    return Rules(
        post_categories=categories,
        profiles=profiles,
        difficulty_sources=dict(scoring.difficulty_sources),
        innovation_points={k: dict(v) for k, v in scoring.innovation_points.items()},
    )


def _format_validation_error(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"])
        lines.append(f"{key}: {error['msg']}")
    return "; ".join(lines)


def config_path() -> Path:
    return Path(os.environ.get("KAOHE_CONFIG", DEFAULT_CONFIG_FILE))


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Read the file, apply the environment, check everything; ConfigError if anything is off."""
    path = path or config_path()
    try:
        with path.open("rb") as handle:
            data: dict[str, Any] = tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: configuration file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    for section, key in (("telegram", "token"), ("telegram", "webhook_secret")):
        if data.get(section, {}).get(key):
            raise ConfigError(
                f"{section}.{key}: secrets do not belong in {path.name}; "
                f"set KAOHE_{section.upper()}__{key.upper()} in the environment"
            )
    data["config_dir"] = path.resolve().parent
    for section, values in overrides.items():
        data.setdefault(section, {}).update(values)
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_format_validation_error(exc)}") from exc
    settings.rules()  # fail now, not at the first approval
    return settings
