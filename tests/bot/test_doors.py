"""Every kind of button, pressed by someone it is not for: refused in their language, nothing
changed, nothing private shown, one audit row. A modified client can send any callback data for
a message it holds, so these presses are forged (sim.forge_callback), not tapped."""

from __future__ import annotations

import dataclasses
import logging
import typing
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import col, select

from models.doors import Door
from models.innovation import claim_innovation
from models.reports import submit_report
from models.store import Store
from models.tables import AuditEntry, Report
from tests.bot.conftest import ALICE, BOB, CHIEF
from tests.bot.harness import BotHarness
from tests.support.snapshot import snapshot
from tests.support.world import World
from ui import callbacks
from ui.callbacks import Callback

pytestmark = pytest.mark.db

STRANGER, GROUP = 4242, -100777
BEYOND = 2**31  # one past the largest id PostgreSQL's INTEGER columns hold (SQLite's go further)
# What a press may change: the update's id (handled once) and where the person's conversation
# stands. Anything else changing is a door left open.
BOOKKEEPING = ("audit_entry", "processed_update", "bot_state")


def _facts(store: Store) -> dict[str, list[Any]]:
    return snapshot(store.engine, skip=BOOKKEEPING)


@dataclasses.dataclass
class Subjects:
    """Rows that belong to alice (a cadre of 党政办) and the units around her."""

    report: int
    claim: int
    task: int
    own_unit: int  # 党政办: bob's own unit too
    other_unit: int  # 榆树沟镇: overseen by boss, not by bob or chief
    period: int


@pytest.fixture
def subjects(bot: BotHarness, store: Store, world: World) -> Subjects:
    bot.join(world.chief, CHIEF)  # supervises 退役军人事务局 only
    kind, levels = next(iter(store.rules.innovation_points.items()))
    with store.transaction() as ctx:
        report = submit_report(ctx, world.id.alice or 0, world.id.alice_plain or 0,
                               progress=Decimal(60), note="私人备注")
        claim = claim_innovation(ctx, world.id.alice or 0, kind, next(iter(levels)), "经验推广")
    bot.say(ALICE, "/help")  # the review cards these queued go out now, before any press
    return Subjects(report=report.id or 0, claim=claim.id or 0, task=world.id.alice_key or 0,
                    own_unit=world.id.office or 0, other_unit=world.id.township or 0,
                    period=world.id.year or 0)


def _example(kind: type[Callback], s: Subjects, bot: BotHarness, world: World) -> Callback:
    """An instance of `kind` about alice's rows (the first allowed word for word fields)."""
    ids = {"report": s.report, "claim": s.claim, "task": s.task, "period": s.period,
           "objection": 1, "page": 0, "cadre": world.id.boss or 0, "delegation": 1,
           "unit": s.other_unit}
    values: dict[str, Any] = {}
    hints = typing.get_type_hints(kind)
    for field in dataclasses.fields(kind):  # type: ignore[arg-type]
        hint = hints[field.name]
        if hint is int:
            values[field.name] = ids[field.name]
        elif typing.get_origin(hint) is typing.Literal:
            values[field.name] = typing.get_args(hint)[0]
        else:
            values[field.name] = "x"
    return kind(**values)


def _refusers(kind: type[Callback]) -> list[tuple[int, int | None]]:
    """(who presses, in which group) for those the kind is not for."""
    people: list[tuple[int, int | None]] = [(STRANGER, None)]
    if not kind.in_groups:
        people.append((ALICE, GROUP))
    if kind.door is not Door.ANYONE:
        people.append((BOB, None))  # a peer of alice's, in her unit
    if kind.door not in (Door.ANYONE, Door.REVIEWER):
        people.append((CHIEF, None))  # a supervisor, of an unrelated unit
    return people


def _audit_count(store: Store) -> int:
    with store.session() as session:
        return len(session.exec(select(AuditEntry.id)).all())


def _holding_a_message(bot: BotHarness, user: int, group: int | None) -> int:
    """A bot message the user can press a forged button on, in the chat in question."""
    if group is not None:
        bot.say(user, "/help", chat=group)  # the bot points to the private chat
        return bot.sim.bot_messages(group)[-1].message_id
    if not bot.sim.bot_messages(user):
        bot.say(user, "/help")
    return bot.sim.bot_messages(user)[-1].message_id


@pytest.mark.parametrize("kind", Callback.KINDS, ids=lambda kind: kind.__name__)
def test_every_kind_is_refused_to_those_it_is_not_for(
        kind: type[Callback], bot: BotHarness, store: Store, world: World,
        subjects: Subjects, caplog: pytest.LogCaptureFixture) -> None:
    bot.sim.add_user(STRANGER, "路人", language_code="en")
    bot.sim.add_group(GROUP, "党政办工作群")
    data = _example(kind, subjects, bot, world).data
    for user, group in _refusers(kind):
        chat = group or user
        message_id = _holding_a_message(bot, user, group)
        before, audits = _facts(store), _audit_count(store)
        shown = len(bot.sim.messages(chat))
        bot.feed(bot.sim.forge_callback(user, message_id, data, chat_id=group))
        who = f"{kind.__name__} pressed by {user} in {chat}"
        alert = bot.alert()
        if user == STRANGER:  # unbound, with an English client: told how to bind, in English
            assert "invite code" in alert, who
        else:
            assert "权限" in alert or "私聊" in alert, f"{who}: {alert}"
        assert len(bot.sim.messages(chat)) == shown, f"{who}: something was posted"
        assert _facts(store) == before, f"{who}: something changed"
        assert _audit_count(store) == audits + 1, f"{who}: not audited exactly once"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("kind", [k for k in Callback.KINDS
                                  if int in typing.get_type_hints(k).values()],
                         ids=lambda kind: kind.__name__)
def test_an_id_beyond_the_database_is_refused_without_an_error(
        kind: type[Callback], bot: BotHarness, store: Store, world: World,
        subjects: Subjects, caplog: pytest.LogCaptureFixture) -> None:
    example = _example(kind, subjects, bot, world)
    hints = typing.get_type_hints(kind)
    forged = dataclasses.replace(example, **{  # type: ignore[type-var]
        f.name: BEYOND for f in dataclasses.fields(kind)  # type: ignore[arg-type]
        if hints[f.name] is int})
    data = kind.template.format(**dataclasses.asdict(forged))  # type: ignore[call-overload]
    message_id = _holding_a_message(bot, ALICE, None)
    before, audits = _facts(store), _audit_count(store)
    shown = len(bot.sim.messages(ALICE))
    bot.feed(bot.sim.forge_callback(ALICE, message_id, data))
    assert "失效" in bot.alert()
    assert len(bot.sim.messages(ALICE)) == shown  # no apology for an error: there was none
    assert _facts(store) == before
    assert _audit_count(store) == audits + 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_forged_open_card_shows_nothing_of_someone_elses_report(
        bot: BotHarness, store: Store, world: World, subjects: Subjects) -> None:
    """rv:o:<id> of alice's report, by bob (a peer) and chief (another unit's supervisor)."""
    data = callbacks.ReviewOpen(subjects.report).data
    for user in (BOB, CHIEF):
        message_id = _holding_a_message(bot, user, None)
        shown = len(bot.sim.messages(user))
        bot.feed(bot.sim.forge_callback(user, message_id, data))
        assert len(bot.sim.messages(user)) == shown  # no card, no photo, no note
        assert "私人备注" not in bot.alert() and "权限" in bot.alert()
    with store.session() as session:
        refusals = session.exec(select(AuditEntry).where(
            AuditEntry.action == "refused.forbidden", AuditEntry.entity == "report",
            AuditEntry.entity_id == subjects.report).order_by(col(AuditEntry.id))).all()
    assert [(row.after or {}).get("callback") for row in refusals] == [data, data]
    assert [row.actor_id for row in refusals] == [world.id.bob, world.id.chief]


def test_the_reviewer_still_opens_the_card(bot: BotHarness, store: Store, world: World,
                                           subjects: Subjects) -> None:
    """The door opens for the one it is for: boss reviews 党政办's work."""
    from tests.bot.conftest import BOSS

    message_id = _holding_a_message(bot, BOSS, None)
    bot.feed(bot.sim.forge_callback(BOSS, message_id, callbacks.ReviewOpen(subjects.report).data))
    assert "私人备注" in bot.last(BOSS).body
    with store.session() as session:
        assert session.get(Report, subjects.report) is not None


def test_every_kind_fits_telegram_and_parses_back(bot: BotHarness, world: World,
                                                  subjects: Subjects) -> None:
    for kind in Callback.KINDS:
        example = _example(kind, subjects, bot, world)
        assert len(example.data.encode()) <= callbacks.CALLBACK_DATA_LIMIT
        assert callbacks.kind_of(example.data) is kind
        assert kind.parse(example.data) == example


def test_a_press_forged_on_a_photo_or_document_is_refused_as_stale(
        bot: BotHarness, store: Store, world: World, caplog: pytest.LogCaptureFixture) -> None:
    """None of the bot's photos or documents carries a button, and text cannot be edited onto
    one: a press forged on one (a page, a period, a language) got the error apology."""
    from tests.bot.conftest import ADMIN

    bot.say(ADMIN, "/admin")
    bot.tap(ADMIN, "📤 导入 Excel")
    document = next(m for m in reversed(bot.sim.bot_messages(ADMIN)) if m.document)
    for data in (callbacks.TasksPage(0).data, callbacks.AdminPeriod(world.id.year).data,
                 callbacks.Language("en").data):
        before, audits = _facts(store), _audit_count(store)
        shown = len(bot.sim.messages(ADMIN))
        bot.feed(bot.sim.forge_callback(ADMIN, document.message_id, data))
        assert "失效" in bot.alert(), data
        assert len(bot.sim.messages(ADMIN)) == shown, data
        assert _facts(store) == before, data
        assert _audit_count(store) == audits + 1, data
    assert not bot.sim.errors()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_rating_button_for_a_period_that_does_not_exist_is_answered(
        bot: BotHarness, store: Store, world: World, caplog: pytest.LogCaptureFixture) -> None:
    """The office's door checks the admin, not the period: 公示 or 定档 of a period id no row
    has (a forged button) reached the question and failed there with the error apology."""
    from tests.bot.conftest import ADMIN

    message_id = _holding_a_message(bot, ADMIN, None)
    before = _facts(store)
    for action in ("pub", "fin"):
        data = callbacks.RatingAction(action, world.id.year + 999).data
        told = len(bot.sim.messages(ADMIN))
        bot.feed(bot.sim.forge_callback(ADMIN, message_id, data))
        said = [m.body for m in bot.sim.messages(ADMIN)[told:]]
        assert said == ["这个考核周期已不存在，请重新打开管理菜单。"], said
    assert _facts(store) == before
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_an_id_in_other_digits_is_refused_as_forged(
        bot: BotHarness, store: Store, world: World, subjects: Subjects,
        caplog: pytest.LogCaptureFixture) -> None:
    """No button of ours spells an id in full-width or Arabic-Indic digits: such data was read
    as the report it spells (the grade given, the audit row holding the odd spelling). Now it
    is forged: refused as a stale button, audited, nothing changed."""
    from tests.bot.conftest import BOSS

    spellings = [str(subjects.report).translate(str.maketrans("0123456789", digits))
                 for digits in ("０１２３４５６７８９", "٠١٢٣٤٥٦٧٨٩", "०१२३४५६७८९")]
    message_id = _holding_a_message(bot, BOSS, None)
    for spelled in spellings:
        data = f"rv:{spelled}:A"
        with store.session() as session:
            last = max((i or 0 for i in session.exec(select(AuditEntry.id)).all()), default=0)
        before, shown = _facts(store), len(bot.sim.messages(BOSS))
        bot.feed(bot.sim.forge_callback(BOSS, message_id, data))
        assert "失效" in bot.alert(), data
        assert len(bot.sim.messages(BOSS)) == shown, data
        assert _facts(store) == before, data
        with store.session() as session:
            rows = session.exec(select(AuditEntry).where(
                col(AuditEntry.id) > last).order_by(col(AuditEntry.id))).all()
        assert [(row.action, (row.after or {}).get("callback")) for row in rows] == [
            ("refused.stale_button", data)], data
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_claim_kind_or_level_no_table_has_is_refused_as_stale(
        bot: BotHarness, store: Store, caplog: pytest.LogCaptureFixture) -> None:
    """cl:k:<kind> and cl:l:<level> carry a word: one the innovation table does not have (a
    forged button, or one left from a table since changed) was answered silently."""
    from tests.bot.conftest import BOB

    asked = bot.say(BOB, "/claim")[-1]
    for data, step in (("cl:k:nope", "经验推广"), ("cl:l:nope", "市级（1 分）")):
        with store.session() as session:
            last = max((i or 0 for i in session.exec(select(AuditEntry.id)).all()), default=0)
        shown = len(bot.sim.messages(BOB))
        bot.feed(bot.sim.forge_callback(BOB, asked.message_id, data))
        assert "失效" in bot.alert() and bot.sim.callback_answers()[-1]["show_alert"], data
        assert len(bot.sim.messages(BOB)) == shown, data
        with store.session() as session:
            rows = session.exec(select(AuditEntry).where(col(AuditEntry.id) > last)).all()
        assert [(row.action, (row.after or {}).get("callback")) for row in rows] == [
            ("refused.stale_button", data)], data
        bot.tap(BOB, step)  # the claim goes on from where it was
    assert "请简要描述" in bot.last(BOB).body
    assert not bot.sim.errors()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
