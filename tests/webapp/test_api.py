"""The dashboard's API on both databases: what a viewer sees, and every refusal audited."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from urllib.parse import parse_qsl, urlencode

import pytest
from sqlmodel import col, select

from models.facts import AssesseeRef
from models.rating_pools import excellence_line, pool_of
from models.reports import return_report
from models.shown import shown_score
from models.tables import Cadre, Period, Report
from models.vocab import SUBMITTED
from models.warnings import board_lights
from scoring import round_half_up
from tests.rating.support import build_rating_unit
from tests.webapp.conftest import (
    ADMIN,
    ALICE,
    BOSS,
    MAX_AGE,
    MAYOR,
    OTHER_BOT,
    STRANGER,
    Dashboard,
    decide,
)
from ui.rating_cards import difficulty_text
from webapp.present import light

pytestmark = pytest.mark.db


def _names(rows: object) -> list[str]:
    assert isinstance(rows, list)
    return [row["name"] for row in rows]


def test_a_supervisor_sees_their_units_ranked_with_quota(dash: Dashboard) -> None:
    status, me = dash.get("/api/me", BOSS)
    assert status == 200
    assert (me["name"], me["role"], me["locale"]) == ("镇领导", "supervisor", "zh_CN")
    assert me["strings"]["overview"] == "总览"

    status, body = dash.get("/api/overview", BOSS)
    assert status == 200
    # The township and its office: never the bureau, which the boss does not oversee.
    assert sorted(_names(body["units"])) == ["党政办", "榆树沟镇"]
    office = next(u for u in body["units"] if u["name"] == "党政办")
    assert office["members"] == 2
    alice, bob = dash.standing(dash.world.alice), dash.standing(dash.world.bob)
    assert Decimal(office["mean"]) == round_half_up(
        Fraction(alice.total + bob.total) / 2, 2)
    # The office is rated in the township's pool: the quota shown is the pool's. No unit
    # task: D = 1, ratio 20 %, floor(0.2 × 2) = 0 slots, no 优秀 line.
    township = next(u for u in body["units"] if u["name"] == "榆树沟镇")
    assert office["quota"] == township["quota"] == {
        "pool": "榆树沟镇", "difficulty": "1.00", "ratio": "0.2000", "slots": 0, "members": 2,
        "excellent_line": None, "excellent_min": "90.00"}

    status, late = dash.get("/api/late-counts", BOSS)
    assert status == 200
    # Alice's monthly patrol is overdue for past months; Bob's one task has no deadline.
    assert late["counts"] == {str(dash.world.office.id): 1}


def test_the_quota_is_the_rating_pools_as_the_rating_gives_it(dash: Dashboard) -> None:
    """评定办 (tests/rating/support.py) is a pool of five with two places: its quota on the
    overview and on its page is what the annual rating computes from exact facts."""
    rated = build_rating_unit(dash.store, dash.world)
    with dash.store.session() as session:
        pool = pool_of(session, dash.store.rules, dash.world.year, rated.people["R1"].id or 0)
    assert pool is not None
    expected = {"pool": "评定办", "difficulty": "1.20", "ratio": "0.4000", "slots": 2,
                "members": 5, "excellent_line": "92.00", "excellent_min": "90.00"}
    assert (pool.name, difficulty_text(pool.difficulty), pool.slots, len(pool.members),
            str(excellence_line(pool))) == ("评定办", "1.20", 2, 5, "92.00")
    assert pool.ratio == Fraction(2, 5)

    status, body = dash.get("/api/overview", ADMIN)
    assert status == 200
    assert next(u for u in body["units"] if u["name"] == "评定办")["quota"] == expected
    status, page = dash.get(f"/api/unit/{rated.unit.id}", ADMIN)
    assert status == 200 and page["quota"] == expected


def test_a_unit_shows_members_as_the_database_ranks_them(dash: Dashboard) -> None:
    status, body = dash.get(f"/api/unit/{dash.world.office.id}", BOSS)
    assert status == 200
    members = body["members"]
    assert isinstance(members, list)
    alice, bob = dash.standing(dash.world.alice), dash.standing(dash.world.bob)
    expected = sorted([(alice.rank_in_unit, "艾丽", str(alice.total)),
                       (bob.rank_in_unit, "鲍勃", str(bob.total))])
    assert [(m["rank"], m["name"], m["total"]) for m in members] == expected
    # 红黄绿 as 排行榜 shows them (models/warnings.py): each member's and the unit's.
    with dash.store.session() as session:
        board = board_lights(session, dash.world.office.id or 0, dash.now().date(),
                             dash.store.rules.warnings)
    assert board is not None
    assert {m["name"]: m["light"] for m in members} == {
        "艾丽": light(board.of(dash.world.alice.id or 0)),
        "鲍勃": light(board.of(dash.world.bob.id or 0))}
    assert body["light"] == light(board.unit)
    # Alice's monthly patrol is overdue (red) but not a key task; her key task is on track.
    assert members[[m["name"] for m in members].index("艾丽")]["light"] == {
        "colour": "green", "counts": {"red": 1, "yellow": 0, "green": 1}}
    status, lights = dash.get("/api/lights", BOSS)
    assert status == 200
    assert lights["lights"][str(dash.world.office.id)] == body["light"]
    assert set(lights["lights"]) == {str(dash.world.office.id), str(dash.world.township.id)}
    assert body["lines"] == {"excellent": "90.00", "competent": "70.00", "basic": "60.00"}


def test_a_persons_breakdown_adds_up_as_my_score_shows_it(dash: Dashboard) -> None:
    standing = dash.standing(dash.world.alice)
    status, body = dash.get(f"/api/person/{dash.world.alice.id}", BOSS)
    assert status == 200
    score = body["score"]
    assert score["total"] == str(standing.total)
    assert score["base"] == str(standing.base)
    tasks = {t["title"]: t for t in body["tasks"]}
    assert set(tasks) == {"压缩业务办理时限", "举办招聘会", "网格化巡查"}
    for task_id, part in standing.breakdown.items():
        shown = next(t for t in tasks.values() if str(t["id"]) == task_id)
        assert (shown["weight"], shown["points"], shown["grade"], shown["difficulty"]) == (
            part["weight"], part["points"], part["grade"], part["difficulty"])
    assert tasks["压缩业务办理时限"]["grade"] == "A"
    # Today's total closes the weekly series (history is kept nightly by the bot).
    assert body["weekly"][-1] == {"day": "2026-06-15", "total": str(standing.total)}

    # A cadre sees their own page, in English when Telegram says so.
    status, mine = dash.get(f"/api/person/{dash.world.alice.id}", ALICE, language="en")
    assert status == 200 and mine["score"] == score
    status, me = dash.get("/api/me", ALICE, language="en")
    assert (me["role"], me["strings"]["my_score"]) == ("cadre", "My score")


def test_pending_and_not_reported_for_the_viewers_units(dash: Dashboard) -> None:
    status, body = dash.get("/api/pending", BOSS)
    assert status == 200
    assert [(i["reporter"], i["task"]) for i in body["items"]] == [
        ("艾丽", "网格化巡查")]
    status, body = dash.get("/api/late", BOSS)
    assert status == 200
    assert [(u["unit"]["name"], [p["name"] for p in u["people"]])
            for u in body["units"]] == [("党政办", ["艾丽"])]
    assert body["next"] is None  # one page holds them all
    # The mayor oversees the city, so the bureau's own queue is theirs to see too.
    status, body = dash.get("/api/overview", MAYOR)
    assert "退役军人事务局" in _names(body["units"])


def test_the_admin_sees_every_unit(dash: Dashboard) -> None:
    status, body = dash.get("/api/overview", ADMIN)
    assert status == 200
    assert len(_names(body["units"])) == 5


def _tampered(data: str) -> str:
    fields = dict(parse_qsl(data))
    fields["user"] = fields["user"].replace(str(ALICE), str(BOSS))  # pretend to be the boss
    return urlencode(fields)


@pytest.mark.parametrize(("case", "status", "action", "reason"), [
    ("tampered", 401, "refused.webapp_bad_init_data", "bad signature"),
    ("stale", 401, "refused.webapp_bad_init_data", "stale"),
    ("other_bot", 401, "refused.webapp_bad_init_data", "bad signature"),
    ("no_header", 401, "refused.webapp_bad_init_data", "no tma authorization"),
    ("unbound", 403, "refused.webapp_unbound", None),
    ("outside_subtree", 404, "refused.forbidden", None),  # answered as not found (test_hostile)
    ("cadre_peeks", 404, "refused.forbidden", None),
])
def test_refusals_are_audited(dash: Dashboard, case: str, status: int, action: str,
                              reason: str | None) -> None:
    before = len(dash.audit())
    world = dash.world
    path = f"/api/unit/{world.office.id}"
    if case == "tampered":
        got = dash.get(path, raw=_tampered(dash.init_data(ALICE)))
    elif case == "stale":
        got = dash.get(path, BOSS, age=timedelta(seconds=MAX_AGE + 1))
    elif case == "other_bot":
        got = dash.get(path, BOSS, token=OTHER_BOT)
    elif case == "no_header":
        response = dash.client.get(path)
        got = (response.status_code, response.json())
    elif case == "unbound":
        got = dash.get("/api/overview", STRANGER)
    elif case == "outside_subtree":
        path = f"/api/unit/{world.bureau.id}"  # the boss supervises the township only
        got = dash.get(path, BOSS)
    else:
        path = f"/api/person/{world.bob.id}"
        got = dash.get(path, ALICE)
    code, body = got
    assert code == status
    assert body["error"] == ("not_found" if status == 404 else action.removeprefix("refused."))
    assert isinstance(body["message"], str) and body["message"]
    entries = dash.audit()
    assert len(entries) == before + 1
    entry = entries[-1]
    assert entry.action == action
    if reason is not None:
        assert entry.after == {"reason": reason}
    if case == "unbound":
        assert entry.after == {"telegram_user": str(STRANGER)}
    if case == "outside_subtree":
        assert (entry.actor_id, entry.entity, entry.entity_id) == (
            world.boss.id, "unit", world.bureau.id)
    if case == "cadre_peeks":
        assert (entry.actor_id, entry.entity, entry.entity_id) == (
            world.alice.id, "cadre", world.bob.id)


def test_a_fresh_signature_within_the_age_passes(dash: Dashboard) -> None:
    status, _ = dash.get("/api/me", BOSS, age=timedelta(seconds=MAX_AGE - 5))
    assert status == 200


def test_a_deactivated_cadre_is_refused(dash: Dashboard) -> None:
    with dash.store.transaction() as ctx:
        cadre = ctx.session.get(Cadre, dash.world.bob.id)
        assert cadre is not None
        cadre.active = False
    status, body = dash.get("/api/me", 1002)
    assert (status, body["error"]) == (403, "webapp_unbound")


def test_the_page_and_its_script_are_served_from_here(dash: Dashboard) -> None:
    page = dash.client.get("/")
    assert page.status_code == 200 and "tg-shim.js" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for name in ("app.js", "tg-shim.js", "chart.umd.min.js", "style.css"):
        assert dash.client.get(f"/static/{name}").status_code == 200
    # Nothing on the page is fetched from elsewhere.
    assert "http" not in page.text.replace('http-equiv', '')


def test_a_persons_page_shows_the_figures_my_score_shows(dash: Dashboard) -> None:
    """Alice's tasks at awkward values (tests/bot/test_numbers.py): exactly 41.7636 + 21 +
    0.21375 = 62.97735. One by one her task lines round to 41.76, 21.00 and 0.21 (62.97) beside
    a base of 62.98; 我的得分 gives the missing hundredth to the largest remainder (0.22), and
    the dashboard's page of the same person must show the same lines, adding up the same way."""
    world = dash.world
    decide(dash.store, world.alice, world.alice_plain.id or 0, world.boss, "B",
           progress=Decimal("77.34"))
    decide(dash.store, world.alice, world.alice_key.id or 0, world.boss, "A", actual=Decimal(7))
    with dash.store.session() as session:
        waiting = session.exec(select(Report).where(
            Report.task_id == world.alice_monthly.id, Report.state == SUBMITTED)).one()
    with dash.store.transaction() as ctx:  # the office sends the waiting one back
        return_report(ctx, world.boss.id or 0, waiting.id or 0, "请核实")
    decide(dash.store, world.alice, world.alice_monthly.id or 0, world.boss, "C",
           progress=Decimal(38))
    with dash.store.session() as session:
        period = session.exec(select(Period).where(col(Period.is_active))).one()
        figures = shown_score(session, dash.store.rules, period,
                              AssesseeRef.cadre(world.alice.id or 0))
    assert figures is not None
    status, body = dash.get(f"/api/person/{world.alice.id}", ALICE)
    assert status == 200
    score, tasks = body["score"], body["tasks"]
    assert [(t["id"], t["weight"], t["quality"], t["points"]) for t in tasks] == [
        (line.task_id, str(line.weight), str(line.quality), str(line.points))
        for line in figures.tasks]
    assert (score["total"], score["base"], score["key"], score["innovation"],
            score["collaboration"]) == tuple(str(v) for v in (
                figures.total, figures.base, figures.key, figures.innovation,
                figures.collaboration))
    assert sum(Decimal(t["points"]) for t in tasks) == Decimal(score["base"])
    assert Decimal(score["base"]) + Decimal(score["innovation"]) + Decimal(
        score["collaboration"]) == Decimal(score["total"])


def test_a_units_mean_is_rounded_half_up(dash: Dashboard) -> None:
    """艾丽 76.20 and 鲍勃 66.41: the 党政办's mean is exactly 71.305, shown as 71.31 (四舍五入,
    as SCORING.md rounds every figure shown), not 71.30 (a Decimal's default, half to even)."""
    world = dash.world
    decide(dash.store, world.bob, world.bob_task.id or 0, world.boss, "C",
           progress=Decimal("80.5"))
    alice, bob = dash.standing(world.alice), dash.standing(world.bob)
    assert (alice.total, bob.total) == (Decimal("76.20"), Decimal("66.41"))
    status, body = dash.get("/api/overview", BOSS)
    assert status == 200
    office = next(u for u in body["units"] if u["name"] == "党政办")
    assert office["mean"] == "71.31"
