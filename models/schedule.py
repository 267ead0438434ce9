"""What the scheduler sends and when: deadline reminders, overdue reminders and escalation,
supervisors' waiting-queue reminders, and the weekly digests.

Planning is a pure function of stored facts and a time window: `plan(session, rules, start,
end)` lists every message whose moment falls in (start, end]. Each planned message has a
dedupe key, so planning the same window twice (a restart, a catch-up) queues nothing twice;
the outbox row is the truth of what was sent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from models.access import unit_chain
from models.occurrences import occurrences
from models.outbox import Kind, Planned
from models.tables import Cadre, Period, Report, Supervision, Task, Unit
from models.vocab import APPROVED, SUBMITTED
from models.workdays import WorkCalendar


@dataclass(frozen=True)
class ScheduleRules:
    """The [schedule] settings, as planning needs them."""

    offsets_days: tuple[int, ...] = (3, 1, 0)
    reminder_time: time = time(9, 30)
    overdue_reminders: int = 3
    review_waiting: timedelta = timedelta(hours=24)
    digest_weekday: int = 1  # 1 = Monday
    digest_time: time = time(10, 0)
    calendar: WorkCalendar = field(default_factory=WorkCalendar)


def _zone(unit: Unit | None, default: ZoneInfo) -> ZoneInfo:
    return ZoneInfo(unit.timezone) if unit is not None and unit.timezone else default


def _moment(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone).astimezone(ZoneInfo("UTC"))


@dataclass(frozen=True)
class _DueMoments:
    """The reminder days and UTC moments of one due date in one zone."""

    reminders: list[tuple[int, date, datetime]]  # (offset in days, day, moment)
    overdue: list[tuple[int, date, datetime]]  # (nth workday after, day, moment)
    escalation: datetime


class Planner:
    def __init__(self, session: Session, rules: ScheduleRules, default_zone: ZoneInfo) -> None:
        self.session = session
        self.rules = rules
        self.zone = default_zone
        self.units = {u.id: u for u in session.exec(select(Unit)).all()}
        # Supervisors per unit, read once: every reminder and queue check asks for them.
        bosses: dict[int, list[int]] = defaultdict(list)
        for cadre_id, unit_id in session.exec(select(Supervision.cadre_id,
                                                     Supervision.unit_id)).all():
            bosses[unit_id].append(cadre_id)
        self.bosses = {unit_id: sorted(ids) for unit_id, ids in bosses.items()}
        self._due_cache: dict[tuple[date, str], _DueMoments] = {}

    def plan(self, start: datetime, end: datetime) -> list[Planned]:
        period = self.session.exec(select(Period).where(col(Period.is_active))).first()
        if period is None:
            return []
        planned = self._deadlines(period, start, end)
        planned += self._waiting_reviews(start, end)
        planned += self._digests(period, start, end)
        return [p for p in planned if start < p.at <= end]

    # -- deadlines --------------------------------------------------------------------------

    def _deadlines(self, period: Period, start: datetime, end: datetime) -> list[Planned]:
        # Reminders of a due date D fall between a few days before D and a few workdays after
        # it: only tasks whose due dates are near the window can have one in it.
        slack = max(self.rules.offsets_days, default=0) + 3 * (self.rules.overdue_reminders + 2)
        first, last = start.date() - timedelta(days=slack + 15), end.date() + timedelta(
            days=slack + 15)
        # Plain rows, not ORM objects: a tick runs every minute over every recurring task.
        tasks = self.session.exec(
            select(col(Task.id), col(Task.cadre_id), Task.recurrence, col(Task.deadline)).where(
                Task.period_id == period.id, col(Task.cadre_id).is_not(None),
                (col(Task.recurrence) != "once")
                | (col(Task.deadline).between(first, last)),
            ).order_by(col(Task.id))
        ).all()
        if not tasks:
            return []
        cadre_units = dict(self.session.exec(
            select(Cadre.id, Cadre.unit_id).where(
                col(Cadre.id).in_({cadre_id for _, cadre_id, _, _ in tasks}), col(Cadre.active))
        ).all())
        # Occurrences depend only on the recurrence and deadline (the period is fixed here),
        # and thousands of tasks share them: work each out once.
        near = {(recurrence, deadline): [
            (occurrence.key, occurrence.due)
            for occurrence in occurrences(recurrence, deadline, period.starts_on, period.ends_on)
            if occurrence.due is not None and first <= occurrence.due <= last]
            for recurrence, deadline in {(row[2], row[3]) for row in tasks}}
        settled = self._settled([task_id for task_id, *_ in tasks if task_id is not None],
                                {key for keys in near.values() for key, _ in keys})
        window = (start, end)
        planned: list[Planned] = []
        for task_id, cadre_id, recurrence, deadline in tasks:
            unit_id = cadre_units.get(cadre_id)
            if cadre_id is None or unit_id is None:
                continue
            zone = _zone(self.units.get(unit_id), self.zone)
            for key, due in near[(recurrence, deadline)]:
                if (task_id, key) in settled:
                    continue
                planned += self._for_occurrence(task_id, cadre_id, unit_id, key, due, zone,
                                                window)
        return planned

    def _settled(self, task_ids: list[int],
                 occurrence_keys: set[str]) -> set[tuple[int | None, str]]:
        """(task, occurrence) pairs with a submission waiting or approved: nobody is reminded.
        Only the occurrences asked about (those near the window), not the whole year's."""
        result: set[tuple[int | None, str]] = set()
        if not occurrence_keys:
            return result
        for chunk in range(0, len(task_ids), 5000):
            rows = self.session.exec(select(Report.task_id, Report.occurrence).where(
                col(Report.task_id).in_(task_ids[chunk:chunk + 5000]),
                col(Report.occurrence).in_(sorted(occurrence_keys)),
                col(Report.state).in_((SUBMITTED, APPROVED)),
            )).all()
            result |= {(task_id, occurrence) for task_id, occurrence in rows}
        return result

    def _due_moments(self, due: date, zone: ZoneInfo) -> _DueMoments:
        """When the reminders of a due date go out in a zone; the same for every task due
        that day, so worked out once per planner."""
        cached = self._due_cache.get((due, zone.key))
        if cached is not None:
            return cached
        cal, at = self.rules.calendar, self.rules.reminder_time
        reminders: list[tuple[int, date, datetime]] = []
        days_seen: set[date] = set()
        for offset in self.rules.offsets_days:
            day = cal.workday_on_or_before(due - timedelta(days=offset))
            if day in days_seen:
                continue  # two offsets moved onto the same workday: one reminder
            days_seen.add(day)
            reminders.append((offset, day, _moment(day, at, zone)))
        overdue = []
        for n in range(1, self.rules.overdue_reminders + 1):
            day = cal.nth_workday_after(due, n)
            overdue.append((n, day, _moment(day, at, zone)))
        day = cal.nth_workday_after(due, self.rules.overdue_reminders + 1)
        moments = _DueMoments(reminders, overdue, _moment(day, at, zone))
        self._due_cache[(due, zone.key)] = moments
        return moments

    def _for_occurrence(self, task_id: int | None, cadre_id: int, unit_id: int,
                        occurrence: str, due: date, zone: ZoneInfo,
                        window: tuple[datetime, datetime]) -> list[Planned]:
        """The occurrence's reminders that fall in the window (start, end]."""
        start, end = window
        moments = self._due_moments(due, zone)
        base = {"task_id": task_id, "occurrence": occurrence, "due": due.isoformat()}
        planned = []
        for offset, day, moment in moments.reminders:
            if start < moment <= end:
                planned.append(Planned(
                    cadre_id, None, Kind.DEADLINE_REMINDER,
                    {**base, "days_left": (due - day).days},
                    f"remind:{task_id}:{occurrence}:{offset}", moment))
        for n, day, moment in moments.overdue:
            if start < moment <= end:
                planned.append(Planned(
                    cadre_id, None, Kind.OVERDUE_REMINDER,
                    {**base, "days_late": (day - due).days},
                    f"overdue:{task_id}:{occurrence}:{n}", moment))
        if start < moments.escalation <= end:
            for boss in self._supervisors(unit_id):
                planned.append(Planned(
                    boss, None, Kind.OVERDUE_ESCALATION, {**base, "cadre_id": cadre_id},
                    f"escalate:{task_id}:{occurrence}:{boss}", moments.escalation))
        return planned

    def _supervisors(self, unit_id: int) -> list[int]:
        """Who supervises the unit: the nearest unit up the tree that has supervisors."""
        unit = self.units.get(unit_id)
        for ancestor in reversed([] if unit is None else unit_chain(unit)):
            if ancestor in self.bosses:
                return self.bosses[ancestor]
        return []

    # -- supervisors' queues ------------------------------------------------------------------

    def _waiting_reviews(self, start: datetime, end: datetime) -> list[Planned]:
        """Once a workday, at reminder time on the supervisor's unit's clock: supervisors with
        a submission waiting too long."""
        waiting = self._waiting()
        if not waiting:
            return []
        zones: dict[str, ZoneInfo] = {}
        zone_of: dict[int, str] = {}  # supervisor -> the key of their unit's zone
        for boss, unit_id in self.session.exec(select(Cadre.id, Cadre.unit_id).where(
                col(Cadre.id).in_({b for _, bosses in waiting for b in bosses}))).all():
            zone = _zone(self.units.get(unit_id), self.zone)
            zones[zone.key], zone_of[boss or 0] = zone, zone.key
        planned: list[Planned] = []
        for key, zone in sorted(zones.items()):
            day = start.astimezone(zone).date()
            while day <= end.astimezone(zone).date():
                if self.rules.calendar.is_workday(day):
                    moment = _moment(day, self.rules.reminder_time, zone)
                    for boss, count in self._too_old(waiting, moment).items():
                        if zone_of.get(boss) == key:
                            planned.append(Planned(
                                boss, None, Kind.REVIEW_WAITING, {"count": count},
                                f"waiting:{boss}:{day.isoformat()}", moment))
                day += timedelta(days=1)
        return planned

    def _waiting(self) -> list[tuple[datetime, list[int]]]:
        """Each submission waiting for review: when it was submitted and which supervisors
        (other than its reporter) it waits for. Read as plain rows in one query."""
        rows = self.session.exec(
            select(Report.submitted_at, Report.reporter_id, Task.unit_id, Cadre.unit_id)
            .join(Task, col(Task.id) == Report.task_id)
            .outerjoin(Cadre, col(Cadre.id) == Task.cadre_id)
            .where(Report.state == SUBMITTED).order_by(col(Report.id))
        ).all()
        waiting = []
        for submitted_at, reporter_id, task_unit, cadre_unit in rows:
            if submitted_at is None:
                continue
            unit_id = task_unit if task_unit is not None else (cadre_unit or 0)
            waiting.append((submitted_at, [boss for boss in self._supervisors(unit_id)
                                           if boss != reporter_id]))
        return waiting

    def _too_old(self, waiting: Sequence[tuple[datetime, list[int]]],
                 moment: datetime) -> dict[int, int]:
        """Per supervisor, how many submissions had waited longer than allowed at `moment`."""
        old: dict[int, int] = defaultdict(int)
        for submitted_at, bosses in waiting:
            if moment - submitted_at < self.rules.review_waiting:
                continue
            for boss in bosses:
                old[boss] += 1
        return old

    # -- weekly digests -------------------------------------------------------------------------

    def digest_moment(self, day: date, zone: ZoneInfo) -> datetime:
        return _moment(day, self.rules.digest_time, zone)

    def _digests(self, period: Period, start: datetime, end: datetime) -> list[Planned]:
        planned = []
        day = start.astimezone(self.zone).date()
        while day <= end.astimezone(self.zone).date() + timedelta(days=1):
            if day.isoweekday() == self.rules.digest_weekday:
                planned += self.digests_for_week(period, day)
            day += timedelta(days=1)
        return planned

    def digests_for_week(self, period: Period, day: date,
                         at: datetime | None = None) -> list[Planned]:
        """Every digest of the week whose digest day is `day`, each at its recipient's local
        digest time (or at `at`, for "send now")."""
        week = day.isoformat()
        planned = []
        people = self.session.exec(select(Cadre.id, Cadre.unit_id).where(
            col(Cadre.active), col(Cadre.telegram_user_id).is_not(None))).all()
        bosses: dict[int, list[int]] = defaultdict(list)  # supervisor -> units supervised
        for supervised, ids in self.bosses.items():
            for boss_id in ids:
                bosses[boss_id].append(supervised)
        payload = {"period_id": period.id, "week": week}
        for cadre_id, cadre_unit in people:
            zone = _zone(self.units.get(cadre_unit), self.zone)
            moment = at or self.digest_moment(day, zone)
            planned.append(Planned(cadre_id, None, Kind.DIGEST_CADRE, payload,
                                   f"digest:cadre:{cadre_id}:{week}", moment))
            for unit_id in bosses.get(cadre_id or 0, []):
                planned.append(Planned(cadre_id, None, Kind.DIGEST_SUPERVISOR,
                                       {**payload, "unit_id": unit_id},
                                       f"digest:unit:{unit_id}:{cadre_id}:{week}", moment))
        # The assessment office: the city-wide 红黄绿 counts per unit (ui/insight_digest.py).
        for admin_id, admin_unit in self.session.exec(select(Cadre.id, Cadre.unit_id).where(
                col(Cadre.active), col(Cadre.is_admin),
                col(Cadre.telegram_user_id).is_not(None))).all():
            moment = at or self.digest_moment(day, _zone(self.units.get(admin_unit), self.zone))
            planned.append(Planned(admin_id, None, Kind.DIGEST_OFFICE, payload,
                                   f"digest:office:{admin_id}:{week}", moment))
        for unit in self.units.values():
            if unit.group_chat_id:
                moment = at or self.digest_moment(day, _zone(unit, self.zone))
                planned.append(Planned(None, unit.group_chat_id, Kind.DIGEST_GROUP,
                                       {"period_id": period.id, "week": week,
                                        "unit_id": unit.id},
                                       f"digest:group:{unit.id}:{week}", moment))
        return planned
