"""Free texts and typed amounts as the operations take them (bot and command line alike):
limited in length, cleaned of NUL and other control characters, huge counts refused; on
SQLite and PostgreSQL, with nothing changed by a refusal."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import select

from models import limits
from models.admin import set_boost, set_difficulty
from models.errors import Refused
from models.innovation import claim_innovation, reject_claim
from models.reports import return_report, save_draft, submit_report
from models.store import Store
from models.tables import InnovationClaim, Report
from tests.support.snapshot import refused_without_change
from tests.support.world import World, build_world
from ui.i18n import LOCALES, Translator


@pytest.fixture
def world(store: Store) -> World:
    return build_world(store)


def test_clean_text_drops_control_characters_and_keeps_lines() -> None:
    assert limits.clean_text("a\x00b\x07c\x1b[31m\r\nd\te\ud800\x85f") == "abc[31m\nd\tef"
    assert limits.checked_text(limits.NOTE, "  \x00 ") == ""
    with pytest.raises(Refused) as caught:
        limits.checked_text(limits.REASON, "长" * 501)
    assert (caught.value.code, caught.value.params) == ("reason_too_long",
                                                        {"max": 500, "length": 501})


@pytest.mark.parametrize("rule", [limits.NOTE, limits.REASON, limits.DESCRIPTION,
                                  limits.FILE_NAME])
def test_every_rule_has_its_refusals_in_both_languages(rule: limits.TextRule) -> None:
    for locale in LOCALES:
        t = Translator(locale)
        for code in (f"{rule.name}_required", f"{rule.name}_too_long"):
            assert t.has(f"refused.{code}"), (locale, code)


def test_texts_are_stored_clean_and_overlong_ones_refused(store: Store, world: World) -> None:
    with store.transaction() as ctx:
        report = submit_report(ctx, world.id.alice, world.id.alice_plain, progress=Decimal(50),
                               note="第一\x00阶段", evidence=[
                                   {"type": "document", "file_id": "f", "name": "台\x00账.pdf"}])
        ctx.session.flush()
        report_id = report.id or 0

    def long_reason() -> None:
        with store.transaction() as ctx:
            return_report(ctx, world.id.boss, report_id, "长" * 10_000)

    refused_without_change(store.engine, "reason_too_long", long_reason)
    with store.transaction() as ctx:
        return_report(ctx, world.id.boss, report_id, "请补充\x00照片")
    with store.session() as session:
        stored = session.exec(select(Report)).one()
    assert (stored.note, stored.reason, stored.evidence[0]["name"]) == (
        "第一阶段", "请补充照片", "台账.pdf")

    def long_description() -> None:
        with store.transaction() as ctx:
            claim_innovation(ctx, world.id.bob, "reform", "city", "改" * 1001)

    refused_without_change(store.engine, "description_too_long", long_description)
    with store.transaction() as ctx:
        claim_id = claim_innovation(ctx, world.id.bob, "reform", "city", "改\x00革").id or 0

    def long_reject() -> None:
        with store.transaction() as ctx:
            reject_claim(ctx, world.id.admin, claim_id, "x" * 10_000)

    refused_without_change(store.engine, "reason_too_long", long_reject)

    def nul_reject() -> None:
        with store.transaction() as ctx:
            reject_claim(ctx, world.id.admin, claim_id, "\x00")

    refused_without_change(store.engine, "reason_required", nul_reject)
    with store.session() as session:
        assert session.exec(select(InnovationClaim)).one().description == "改革"



def test_amounts_past_the_columns_are_refused_not_crashed(store: Store, world: World) -> None:
    def huge_count() -> None:
        with store.transaction() as ctx:
            save_draft(ctx, world.id.alice, world.id.alice_key,
                       actual=Decimal("99999999999999999999999"))

    refused_without_change(store.engine, "actual_too_large", huge_count)
    for value, code in ((Decimal("NaN"), "boost_out_of_range"),
                        (Decimal("0.1555"), "too_precise")):
        def boost(value: Decimal = value) -> None:
            with store.transaction() as ctx:
                set_boost(ctx, world.id.admin, world.id.alice_key, value)

        refused_without_change(store.engine, code, boost)

    for precise in ("1.0001", "1." + "0" * 40 + "1"):  # the second rounds to 1 at 28 digits
        def precise_difficulty(precise: str = precise) -> None:
            with store.transaction() as ctx:
                set_difficulty(ctx, world.id.admin, world.id.alice_plain, Decimal(precise))

        refused_without_change(store.engine, "too_precise", precise_difficulty)


@pytest.mark.parametrize("text, places", [
    ("1", 0), ("1.0000", 0), ("80.50", 1), ("0.000", 0), ("1E+2", 0), ("1.5E-3", 4),
    ("33.333", 3), ("1." + "0" * 40 + "1", 41), ("-0.10", 1), ("NaN", 0),
])
def test_decimal_places_are_counted_exactly_without_trailing_zeros(text: str,
                                                                   places: int) -> None:
    assert limits.decimal_places(Decimal(text)) == places
