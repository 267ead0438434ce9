"""The dashboard's reads as JSON: plain dictionaries, decimals as exact strings ("97.75")."""

from __future__ import annotations

from datetime import tzinfo
from decimal import Decimal
from typing import Any

from models.dashboard import Figures, LatePage, Overview, PersonPage, Quota, UnitPage, Waiting
from models.tables import Period, Unit
from models.warnings import COLOURS, LightSummary
from ui.i18n import Translator

# The page's own words (locales/*: "webapp.*"), sent once with /api/me.
STRINGS = (
    "webapp.title", "webapp.overview", "webapp.pending", "webapp.late", "webapp.back",
    "webapp.back_to_chat", "webapp.loading", "webapp.empty", "webapp.unit", "webapp.score",
    "webapp.members", "webapp.mean", "webapp.not_reported", "webapp.quota", "webapp.quota_line",
    "webapp.no_excellent_yet", "webapp.rank", "webapp.name", "webapp.total", "webapp.parts",
    "webapp.base", "webapp.key", "webapp.innovation", "webapp.collaboration",
    "webapp.distribution", "webapp.people", "webapp.line_excellent", "webapp.line_competent",
    "webapp.line_basic", "webapp.trend_chart", "webapp.tasks", "webapp.weight",
    "webapp.progress", "webapp.grade", "webapp.difficulty", "webapp.boost", "webapp.points",
    "webapp.change", "webapp.rank_unit", "webapp.rank_post", "webapp.no_score",
    "webapp.units_below", "webapp.reporter", "webapp.task", "webapp.submitted",
    "webapp.error", "webapp.refused", "webapp.my_score", "webapp.light_red",
    "webapp.light_yellow", "webapp.light_green", "webapp.more", "webapp.updated_at",
)


def strings(t: Translator) -> dict[str, str]:
    return {key.removeprefix("webapp."): t(key) for key in STRINGS}


def _d(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def period(p: Period) -> dict[str, Any]:
    return {"code": p.code, "name": p.name}


def unit_ref(unit: Unit) -> dict[str, Any]:
    return {"id": unit.id, "name": unit.name, "code": unit.code}


def quota(q: Quota) -> dict[str, Any]:
    return {"pool": q.pool, "difficulty": _d(q.difficulty), "ratio": _d(q.ratio), "slots": q.slots,
            "members": q.members, "excellent_line": _d(q.excellent_line),
            "excellent_min": _d(q.excellent_min)}


def light(summary: LightSummary) -> dict[str, Any]:
    """红黄绿: the worst key-task light and the open tasks per colour."""
    return {"colour": summary.colour,
            "counts": {colour: summary.counts[colour] for colour in COLOURS}}


def computed_at(figures: Figures[Any], tz: tzinfo) -> str | None:
    """When kept figures were worked out, HH:MM in the organisation's zone (None: just now)."""
    at = figures.computed_at
    return None if at is None else at.astimezone(tz).strftime("%H:%M")


def lights(figures: Figures[LightSummary], tz: tzinfo) -> dict[str, Any]:
    return {"lights": {str(unit_id): light(summary)
                       for unit_id, summary in figures.by_unit.items()},
            "computed_at": computed_at(figures, tz)}


def late_counts(figures: Figures[int], tz: tzinfo) -> dict[str, Any]:
    return {"counts": {str(unit_id): n for unit_id, n in figures.by_unit.items()},
            "computed_at": computed_at(figures, tz)}


def overview(view: Overview) -> dict[str, Any]:
    return {"period": period(view.period), "units": [{
        **unit_ref(s.unit), "depth": s.depth, "score": _d(s.score), "rank": s.rank,
        "mean": _d(s.mean), "members": s.members, "quota": quota(s.quota),
    } for s in view.units]}


def unit_page(page: UnitPage) -> dict[str, Any]:
    return {
        "period": period(page.period), "unit": unit_ref(page.unit), "score": _d(page.score),
        "quota": quota(page.quota), "lines": {k: _d(v) for k, v in page.lines.items()},
        "children": [unit_ref(child) for child in page.children],
        "light": light(page.light),
        "members": [{
            "cadre_id": line.member.cadre_id, "name": line.member.name,
            "rank": line.member.rank, "total": _d(line.member.total),
            "base": _d(line.member.base), "key": _d(line.member.key_points),
            "innovation": _d(line.member.innovation),
            "collaboration": _d(line.member.collaboration), "trend": line.trend,
            "light": light(line.light),
        } for line in page.members],
    }


def person_page(page: PersonPage) -> dict[str, Any]:
    s, f = page.standing, page.shown
    change = None
    if f is not None and page.week_ago is not None:
        change = f.total - page.week_ago
    return {
        "period": period(page.period),
        "cadre": {"id": page.cadre.id, "name": page.cadre.name},
        "unit": unit_ref(page.unit),
        "score": None if s is None or f is None else {
            "total": _d(f.total), "base": _d(f.base), "key": _d(f.key),
            "innovation": _d(f.innovation), "collaboration": _d(f.collaboration),
            "rank_in_unit": s.rank_in_unit, "rank_in_post": s.rank_in_post,
        },
        "change": _d(change),
        "tasks": [{
            "id": t.task_id, "title": t.title, "dimension": t.dimension, "weight": _d(t.weight),
            "progress": _d(t.progress), "grade": t.grade, "quality": _d(t.quality),
            "difficulty": _d(t.difficulty), "boost": _d(t.boost), "points": _d(t.points),
        } for t in page.tasks],
        "weekly": [{"day": day.isoformat(), "total": _d(total)} for day, total in page.weekly],
        "lines": {k: _d(v) for k, v in page.lines.items()},
    }


def pending(items: list[Waiting]) -> dict[str, Any]:
    return {"items": [{
        "reporter": w.reporter, "task": w.task, "occurrence": w.occurrence,
        "submitted_on": w.submitted_on.isoformat() if w.submitted_on else None,
    } for w in items]}


def late(page: LatePage) -> dict[str, Any]:
    """A page of 未按期汇报; `next` is the `start` of the following page (null: the last)."""
    return {"next": page.next, "units": [{
        "unit": unit_ref(entry.unit),
        "people": [{"cadre_id": cadre.id, "name": cadre.name, "tasks": titles}
                   for cadre, titles in entry.people],
    } for entry in page.units]}
