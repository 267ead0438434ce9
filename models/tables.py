"""The database schema: every table Kaohe keeps, in one place.

Conventions: exact decimals are `Scaled` (see models/types.py), times are UTC (`UTCDateTime`),
dates are calendar dates in the organisation's timezone. An assessee is a cadre or a unit; rows
that belong to an assessee carry `cadre_id` or `unit_id`, exactly one of them (a CHECK says so).
Vocabularies (dimension, state, ...) are stored as short strings, listed in models/vocab.py.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Optional

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Float,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, Relationship, SQLModel

from models.types import Scaled, UTCDateTime

# Row ids are INTEGER on PostgreSQL (32 bits; SQLite's go further): a larger one is forged, and
# must not reach a query, where PostgreSQL refuses it and the transaction with it.
ID_MAX = 2**31 - 1
ONE_ASSESSEE = "(cadre_id IS NULL) <> (unit_id IS NULL)"
ONE_WAITING = "report_one_waiting"  # the partial unique index: one submission waits per occurrence


class Unit(SQLModel, table=True):
    """An organisational unit: the city, a department, township or street, or an office in one."""

    __tablename__ = "unit"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_type=String(64), unique=True)  # stable key used by imports
    name: str = Field(sa_type=String(200))
    kind: str = Field(sa_type=String(16))  # city, department, township, street, office
    parent_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    # Materialised ancestry "/1/4/9/" (own id last) so "is X inside Y" is one LIKE.
    path: str = Field(default="", sa_type=String(400), index=True)
    post_category: str = Field(sa_type=String(32))
    timezone: str | None = Field(default=None, sa_type=String(64))  # overrides the configured one
    group_chat_id: int | None = Field(default=None, sa_type=BigInteger)
    # A rating pool 评定池 (True), not one (False), or the default (None): each unit directly
    # below the city is one (models/rating_pools.py).
    rating_pool: bool | None = None


class Cadre(SQLModel, table=True):
    """A person who is assessed, and who may also supervise units or administer the system."""

    __tablename__ = "cadre"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_type=String(64), unique=True)  # stable key (staff number) for imports
    name: str = Field(sa_type=String(100))
    unit_id: int = Field(foreign_key="unit.id", index=True)
    post_category: str = Field(sa_type=String(32))
    profile: str = Field(default="standard", sa_type=String(32))
    is_admin: bool = False
    active: bool = True
    telegram_user_id: int | None = Field(default=None, sa_type=BigInteger, unique=True)
    locale: str | None = Field(default=None, sa_type=String(8))


class Supervision(SQLModel, table=True):
    """A supervisor 分管领导 of a unit reviews the work of the unit and every unit below it."""

    __tablename__ = "supervision"

    cadre_id: int = Field(foreign_key="cadre.id", primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", primary_key=True, index=True)


class Delegation(SQLModel, table=True):
    """A supervisor lets another cadre review in their place between two dates (inclusive)."""

    __tablename__ = "delegation"
    __table_args__ = (CheckConstraint("starts_on <= ends_on", name="delegation_dates"),)

    id: int | None = Field(default=None, primary_key=True)
    supervisor_id: int = Field(foreign_key="cadre.id", index=True)
    delegate_id: int = Field(foreign_key="cadre.id", index=True)
    starts_on: date
    ends_on: date
    created_at: datetime = Field(sa_type=UTCDateTime)
    # Revoked early by the supervisor or an admin: it no longer counts, and stays for the record.
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_by: int | None = Field(default=None, foreign_key="cadre.id")


class Period(SQLModel, table=True):
    """An assessment period: a year, or a quarter inside it. Exactly one is active."""

    __tablename__ = "period"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_type=String(16), unique=True)  # "2026", "2026Q1"
    name: str = Field(sa_type=String(100))
    kind: str = Field(sa_type=String(8))  # year, quarter
    parent_id: int | None = Field(default=None, foreign_key="period.id")
    starts_on: date
    ends_on: date
    is_active: bool = False
    locked: bool = False


class Task(SQLModel, table=True):
    """One duty item 履职事项 on an assessee's list for a period."""

    __tablename__ = "task"
    __table_args__ = (
        CheckConstraint(ONE_ASSESSEE, name="task_one_assessee"),
        UniqueConstraint("period_id", "code", name="task_period_code"),
        # Partial: most tasks are a cadre's, and an index full of NULL unit ids makes the
        # planner scan the table instead when it looks up unit tasks.
        Index("task_period_cadre", "period_id", "cadre_id",
              sqlite_where=text("cadre_id IS NOT NULL"),
              postgresql_where=text("cadre_id IS NOT NULL")),
        Index("task_period_unit", "period_id", "unit_id",
              sqlite_where=text("unit_id IS NOT NULL"),
              postgresql_where=text("unit_id IS NOT NULL")),
        # The parts of decomposed tasks, looked up on every recompute; few tasks have a parent.
        Index("task_parent", "parent_id", sqlite_where=text("parent_id IS NOT NULL"),
              postgresql_where=text("parent_id IS NOT NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_type=String(64))  # stable key within the period, used by imports
    period_id: int = Field(foreign_key="period.id")
    cadre_id: int | None = Field(default=None, foreign_key="cadre.id")
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    title: str = Field(sa_type=String(300))
    dimension: str = Field(sa_type=String(8))  # basic, key
    category: str = Field(sa_type=String(32))  # business, general
    weight: Decimal = Field(sa_type=Scaled(2))
    source: str | None = Field(default=None, sa_type=String(32))  # region, prefecture, ...
    difficulty: Decimal = Field(sa_type=Scaled(3))
    boost: Decimal | None = Field(default=None, sa_type=Scaled(3))
    target: Decimal | None = Field(default=None, sa_type=Scaled(4))  # numeric target, or None: %
    measure: str | None = Field(default=None, sa_type=String(16))  # unit of measure: 场, 人, 次
    deadline: date | None = None
    recurrence: str = Field(default="once", sa_type=String(16))  # once, monthly, quarterly
    parent_id: int | None = Field(default=None, foreign_key="task.id")
    lead_unit_id: int | None = Field(default=None, foreign_key="unit.id")


class Cooperation(SQLModel, table=True):
    """A unit that co-operates on a task another unit leads ("1+N"), with its share of the work."""

    __tablename__ = "cooperation"
    __table_args__ = (UniqueConstraint("task_id", "unit_id", name="cooperation_task_unit"),)

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id")
    unit_id: int = Field(foreign_key="unit.id", index=True)
    share: Decimal = Field(sa_type=Scaled(3))  # 0 < share <= 1
    confirmed_by: int | None = Field(default=None, foreign_key="cadre.id")
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Report(SQLModel, table=True):
    """A progress report on one occurrence of a task, and its review."""

    __tablename__ = "report"
    __table_args__ = (
        # Covering what 未按期汇报 and 红黄绿 read per task (models/overdue.py,
        # models/light_counts.py): the table row is not visited.
        Index("report_task_occurrence_state", "task_id", "occurrence", "state", "progress",
              "actual"),
        # One submission per task occurrence waits for review at a time (models/reports.py
        # takes turns on the task's row; this is the database's own guard).
        Index(ONE_WAITING, "task_id", "occurrence", unique=True,
              sqlite_where=text("state = 'submitted'"),
              postgresql_where=text("state = 'submitted'")),
        Index("report_state", "state"),
        # A cadre's decisions of the week, for the digests.
        Index("report_reporter_decided", "reporter_id", "decided_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id")
    occurrence: str = Field(default="", sa_type=String(16))  # "" once, "2026-03", "2026Q1"
    reporter_id: int = Field(foreign_key="cadre.id")
    progress: Decimal | None = Field(default=None, sa_type=Scaled(2))  # percent, plain tasks
    actual: Decimal | None = Field(default=None, sa_type=Scaled(4))  # count, numeric targets
    note: str = Field(default="", sa_type=Text)
    evidence: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    state: str = Field(default="draft", sa_type=String(16))
    reviewer_id: int | None = Field(default=None, foreign_key="cadre.id")
    grade: str | None = Field(default=None, sa_type=String(1))
    reason: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(sa_type=UTCDateTime)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class InnovationClaim(SQLModel, table=True):
    """A claimed innovation item 创新突破 (commendation, reform result, experience promoted)."""

    __tablename__ = "innovation_claim"
    __table_args__ = (CheckConstraint(ONE_ASSESSEE, name="claim_one_assessee"),)

    id: int | None = Field(default=None, primary_key=True)
    period_id: int = Field(foreign_key="period.id", index=True)
    cadre_id: int | None = Field(default=None, foreign_key="cadre.id", index=True)
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    kind: str = Field(sa_type=String(32))
    level: str = Field(sa_type=String(32))
    points: Decimal = Field(sa_type=Scaled(3))
    description: str = Field(sa_type=Text)
    evidence: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    state: str = Field(default="submitted", sa_type=String(16))  # submitted, approved, rejected
    claimant_id: int = Field(foreign_key="cadre.id")
    reviewer_id: int | None = Field(default=None, foreign_key="cadre.id")
    reason: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(sa_type=UTCDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Standing(SQLModel, table=True):
    """An assessee's current score in a period, as the scoring core computed it.

    `group_unit_id` is the unit it ranks in (a cadre's own unit; a unit's parent). Its ranks
    are not stored but counted from the totals when read (models/ranks.py, migration 0013).
    """

    __tablename__ = "standing"
    __table_args__ = (
        CheckConstraint(ONE_ASSESSEE, name="standing_one_assessee"),
        Index("standing_period_cadre", "period_id", "cadre_id", unique=True,
              sqlite_where=text("cadre_id IS NOT NULL"),
              postgresql_where=text("cadre_id IS NOT NULL")),
        Index("standing_period_unit", "period_id", "unit_id", unique=True,
              sqlite_where=text("unit_id IS NOT NULL"),
              postgresql_where=text("unit_id IS NOT NULL")),
        # Rank groups, one index per kind of assessee: partial, so that counting the members
        # above a total reads the index alone (models/ranks.py). The cadres' carry cadre_id:
        # SQLite reads a partial index alone only if it holds the columns of its condition
        # (a post category's histogram, read per batch of digests: 4.3 → 2.0 ms, migration 0015).
        Index("standing_cadre_group_total", "period_id", "group_unit_id", "total", "cadre_id",
              sqlite_where=text("cadre_id IS NOT NULL"),
              postgresql_where=text("cadre_id IS NOT NULL")),
        Index("standing_cadre_post_total", "period_id", "post_category", "total", "cadre_id",
              sqlite_where=text("cadre_id IS NOT NULL"),
              postgresql_where=text("cadre_id IS NOT NULL")),
        Index("standing_unit_group_total", "period_id", "group_unit_id", "total",
              sqlite_where=text("unit_id IS NOT NULL"),
              postgresql_where=text("unit_id IS NOT NULL")),
        Index("standing_unit_post_total", "period_id", "post_category", "total",
              sqlite_where=text("unit_id IS NOT NULL"),
              postgresql_where=text("unit_id IS NOT NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    period_id: int = Field(foreign_key="period.id")
    cadre_id: int | None = Field(default=None, foreign_key="cadre.id")
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    group_unit_id: int | None = Field(default=None, foreign_key="unit.id")
    post_category: str = Field(sa_type=String(32))
    base: Decimal = Field(sa_type=Scaled(2))
    key_points: Decimal = Field(sa_type=Scaled(2))  # the key-task part of base
    innovation: Decimal = Field(sa_type=Scaled(2))
    collaboration: Decimal = Field(sa_type=Scaled(2))
    total: Decimal = Field(sa_type=Scaled(2))
    difficulty: Decimal = Field(sa_type=Scaled(2))
    computed_at: datetime = Field(sa_type=UTCDateTime)
    # The per-task breakdown lives in its own table: it is large (a few KB for 40 tasks) and
    # an approval rewriting the row, or a rank count reading it, would move kilobytes.
    # Loaded with the standing (one extra query per batch), so it reads after the session too.
    detail: Optional["StandingBreakdown"] = Relationship(
        sa_relationship_kwargs={"uselist": False, "cascade": "all, delete-orphan",
                                "lazy": "selectin"})

    @property
    def breakdown(self) -> dict[str, Any]:
        """Per task: weight (share after boost), points, quality and coefficients, rounded."""
        return self.detail.breakdown if self.detail is not None else {}


class StandingBreakdown(SQLModel, table=True):
    """A standing's per-task breakdown, for display (kept beside the standing, not in it)."""

    __tablename__ = "standing_breakdown"

    standing_id: int | None = Field(default=None, foreign_key="standing.id", primary_key=True)
    breakdown: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class AuditEntry(SQLModel, table=True):
    """Append-only: who did what to which row, the row before and after, and when."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("audit_cadre", "cadre_id"),
        Index("audit_task", "task_id"),
        Index("audit_unit", "unit_id"),
        Index("audit_period", "period_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    actor_id: int | None = Field(default=None, foreign_key="cadre.id")  # None: the system
    action: str = Field(sa_type=String(48))
    entity: str = Field(sa_type=String(32))
    entity_id: int | None = None
    # Scope columns, so the log can be filtered by person, task, unit and period.
    period_id: int | None = None
    unit_id: int | None = None
    cadre_id: int | None = None
    task_id: int | None = None
    before: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    after: dict[str, Any] | None = Field(default=None, sa_type=JSON)


class InviteCode(SQLModel, table=True):
    """A random, single-use, expiring code that binds a Telegram account to a cadre.

    Only a hash of the code is kept (models/invites.py): the code itself is shown once, to the
    admin who issued it, and is neither stored nor audited."""

    __tablename__ = "invite_code"

    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(sa_type=String(64), unique=True)
    cadre_id: int = Field(foreign_key="cadre.id", index=True)
    created_by: int | None = Field(default=None, foreign_key="cadre.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    used_by_telegram_id: int | None = Field(default=None, sa_type=BigInteger)


class InviteFailure(SQLModel, table=True):
    """A failed invite redemption by a Telegram account, to limit guessing per account."""

    __tablename__ = "invite_failure"
    __table_args__ = (Index("invite_failure_user_at", "telegram_user_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    telegram_user_id: int = Field(sa_type=BigInteger)
    at: datetime = Field(sa_type=UTCDateTime)


class OutboxMessage(SQLModel, table=True):
    """A notification to send: written in the same transaction as the change it tells of."""

    __tablename__ = "outbox_message"
    __table_args__ = (Index("outbox_due", "state", "not_before"),
                      Index("outbox_claimed", "claimed_until"))

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    recipient_id: int | None = Field(default=None, foreign_key="cadre.id")  # None: a group chat
    chat_id: int | None = Field(default=None, sa_type=BigInteger)
    kind: str = Field(sa_type=String(48))  # names the template: models.outbox.Kind
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    # What it was rendered as, stored before the first send (so a retry sends the same text),
    # and how many of those parts Telegram has confirmed.
    rendered: list[dict[str, Any]] | None = Field(default=None, sa_type=JSON)
    parts_sent: int = 0
    # Makes "send this once" enforceable: a second row with the same key is not written.
    dedupe_key: str | None = Field(default=None, sa_type=String(160), unique=True)
    state: str = Field(default="pending", sa_type=String(16))  # models.vocab: pending, sent, …
    attempts: int = 0
    not_before: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_type=Text)
    # The Telegram message it became, so a later change can edit it (a decided review card).
    message_id: int | None = Field(default=None, sa_type=BigInteger)
    # Which sender holds the row and until when (a lease: models/claims.py). Another sender
    # takes it only after the lease ran out, so two workers never send it both.
    claimed_by: str | None = Field(default=None, sa_type=String(64))
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Job(SQLModel, table=True):
    """Heavy work the bot hands to a worker (models/jobs.py): the digest run, a recompute, an
    import sent to the bot (its file in the payload until done), the rating preview."""

    __tablename__ = "job"
    __table_args__ = (Index("job_waiting", "state", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(sa_type=String(32))  # models.jobs.JobKind
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    dedupe_key: str | None = Field(default=None, sa_type=String(160), unique=True)
    requested_by: int | None = Field(default=None, foreign_key="cadre.id")  # told when done
    state: str = Field(default="pending", sa_type=String(16))  # pending, done, failed
    attempts: int = 0
    created_at: datetime = Field(sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, sa_type=String(64))
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    result: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    last_error: str | None = Field(default=None, sa_type=Text)


class Worker(SQLModel, table=True):
    """A running sender (a `kaohe worker`, or the bot itself): its heartbeat. The live ones
    share Telegram's overall rate."""

    __tablename__ = "worker"

    name: str = Field(sa_type=String(64), primary_key=True)
    started_at: datetime = Field(sa_type=UTCDateTime)
    seen_at: datetime = Field(sa_type=UTCDateTime)


class SendSlot(SQLModel, table=True):
    """A message sent as the bot, in Telegram's rolling second: shared by the bot and every
    `kaohe worker` on PostgreSQL (bot/budget.py). Times are the database's clock, in seconds
    since the epoch; `answered_at` is empty while the send is in flight."""

    __tablename__ = "send_slot"

    id: int | None = Field(default=None, sa_type=BigInteger, primary_key=True)
    holder: str = Field(sa_type=String(64))
    priority: bool  # one of the bot's answers to a person, not the outbox
    taken_at: float = Field(sa_type=Float)
    answered_at: float | None = Field(default=None, sa_type=Float)


class StandingHistory(SQLModel, table=True):
    """A day's total and ranks per assessee, so people see how they moved since last week."""

    __tablename__ = "standing_history"
    __table_args__ = (
        CheckConstraint(ONE_ASSESSEE, name="history_one_assessee"),
        Index("history_cadre_day", "period_id", "cadre_id", "taken_on", unique=True,
              sqlite_where=text("cadre_id IS NOT NULL"),
              postgresql_where=text("cadre_id IS NOT NULL")),
        Index("history_unit_day", "period_id", "unit_id", "taken_on", unique=True,
              sqlite_where=text("unit_id IS NOT NULL"),
              postgresql_where=text("unit_id IS NOT NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    period_id: int = Field(foreign_key="period.id")
    cadre_id: int | None = Field(default=None, foreign_key="cadre.id")
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    taken_on: date
    total: Decimal = Field(sa_type=Scaled(2))
    rank_in_unit: int = 0
    rank_in_post: int = 0


class BotState(SQLModel, table=True):
    """What python-telegram-bot persists (conversation states, user data), written through on
    every update so a restart resumes each conversation where it stood."""

    __tablename__ = "bot_state"

    kind: str = Field(sa_type=String(64), primary_key=True)  # "conversation:report", "user_data"
    key: str = Field(sa_type=String(128), primary_key=True)  # the conversation key or user id
    data: Any = Field(default=None, sa_type=JSON, nullable=True)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ProcessedUpdate(SQLModel, table=True):
    """Telegram update ids already handled: an update delivered twice is handled once."""

    __tablename__ = "processed_update"

    update_id: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    handled_at: datetime = Field(sa_type=UTCDateTime, index=True)


# -- the annual rating (models/rating.py, docs/rating.md) ---------------------------------------


class RatingRun(SQLModel, table=True):
    """A period's annual rating once published: under 公示 (publicity), final (the period is
    locked), or unlocked again by an admin. One row per period; no row means preview only."""

    __tablename__ = "rating_run"

    id: int | None = Field(default=None, primary_key=True)
    period_id: int = Field(foreign_key="period.id", unique=True)
    state: str = Field(sa_type=String(16))  # publicity, final, unlocked
    round: int = 1  # how many times it was published (a new 公示 after an unlock is round 2)
    publicity_days: int
    publicity_ends_on: date  # the last day objections are taken, in the organisation's timezone
    published_at: datetime = Field(sa_type=UTCDateTime)
    published_by: int | None = Field(default=None, foreign_key="cadre.id")
    finalised_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finalised_by: int | None = Field(default=None, foreign_key="cadre.id")


class RatingGrade(SQLModel, table=True):
    """A cadre's annual grade in a period: as published for 公示, and as finalised."""

    __tablename__ = "rating_grade"
    __table_args__ = (UniqueConstraint("period_id", "cadre_id", name="rating_grade_period_cadre"),)

    id: int | None = Field(default=None, primary_key=True)
    period_id: int = Field(foreign_key="period.id")
    cadre_id: int = Field(foreign_key="cadre.id")
    unit_id: int = Field(foreign_key="unit.id")  # the unit whose quota it was rated under
    # Grades are excellent, competent, basic, incompetent. The published ones are empty for a
    # cadre first rated at finalisation (after an unlock, say), who was not in the 公示.
    published_total: Decimal | None = Field(default=None, sa_type=Scaled(2))
    published_rank: int | None = None
    published_grade: str | None = Field(default=None, sa_type=String(16))
    final_total: Decimal | None = Field(default=None, sa_type=Scaled(2))
    final_rank: int | None = None
    final_grade: str | None = Field(default=None, sa_type=String(16))


class Objection(SQLModel, table=True):
    """A cadre's objection 异议 to their published grade, and the admin's answer to it."""

    __tablename__ = "objection"
    __table_args__ = (UniqueConstraint("period_id", "cadre_id", name="objection_period_cadre"),)

    id: int | None = Field(default=None, primary_key=True)
    period_id: int = Field(foreign_key="period.id")
    cadre_id: int = Field(foreign_key="cadre.id")
    reason: str = Field(sa_type=Text)
    lodged_at: datetime = Field(sa_type=UTCDateTime)
    state: str = Field(default="open", sa_type=String(16))  # open, upheld, dismissed
    answered_by: int | None = Field(default=None, foreign_key="cadre.id")
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answer: str | None = Field(default=None, sa_type=Text)


class UnitFigures(SQLModel, table=True):
    """A unit's figures on the dashboard's 总览 for one day, worked out beside the bot
    (models/figures.py): at a city's scale they take seconds, too long for a page load."""

    __tablename__ = "unit_figures"

    period_id: int = Field(foreign_key="period.id", primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", primary_key=True)
    for_day: date  # the day they are true for, in the organisation's timezone
    computed_at: datetime = Field(sa_type=UTCDateTime)  # when the database was read
    colour: str = Field(sa_type=String(8))  # 红黄绿: the worst key-task light
    red: int = 0  # open tasks per colour
    yellow: int = 0
    green: int = 0
    late: int = 0  # members with a task due and unreported (未按期汇报)
