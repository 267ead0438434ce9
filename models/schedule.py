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
        cal = self.rules.calendar
        # Reminders of a due date D fall between a few days before D and a few workdays after
        # it: only tasks whose due dates are near the window can have one in it.
        slack = max(self.rules.offsets_days, default=0) + 3 * (self.rules.overdue_reminders + 2)
        first, last = start.date() - timedelta(days=slack + 15), end.date() + timedelta(
            days=slack + 15)
        tasks = self.session.exec(
            select(Task).where(
                Task.period_id == period.id, col(Task.cadre_id).is_not(None),
                (col(Task.recurrence) != "once")
                | (col(Task.deadline).between(first, last)),
            )
        ).all()
        if not tasks:
            return []
        settled = self._settled([t.id for t in tasks if t.id is not None])
        cadres = {c.id: c for c in self.session.exec(
            select(Cadre).where(col(Cadre.id).in_({t.cadre_id for t in tasks}), col(Cadre.active))
        ).all()}
        planned: list[Planned] = []
        for task in tasks:
            cadre = cadres.get(task.cadre_id)
            if cadre is None:
                continue
            zone = _zone(self.units.get(cadre.unit_id), self.zone)
            for occurrence in occurrences(task.recurrence, task.deadline, period.starts_on,
                                          period.ends_on):
                due = occurrence.due
                if due is None or not first <= due <= last:
                    continue
                if (task.id, occurrence.key) in settled:
                    continue
                planned += self._for_occurrence(task, cadre, occurrence.key, due, zone, cal)
        return planned

    def _settled(self, task_ids: list[int]) -> set[tuple[int | None, str]]:
        """(task, occurrence) pairs with a submission waiting or approved: nobody is reminded."""
        result: set[tuple[int | None, str]] = set()
        for chunk in range(0, len(task_ids), 5000):
            rows = self.session.exec(select(Report.task_id, Report.occurrence).where(
                col(Report.task_id).in_(task_ids[chunk:chunk + 5000]),
                col(Report.state).in_((SUBMITTED, APPROVED)),
            )).all()
            result |= {(task_id, occurrence) for task_id, occurrence in rows}
        return result

    def _for_occurrence(self, task: Task, cadre: Cadre, occurrence: str, due: date,
                        zone: ZoneInfo, cal: WorkCalendar) -> list[Planned]:
        base = {"task_id": task.id, "occurrence": occurrence, "due": due.isoformat()}
        at = self.rules.reminder_time
        planned = []
        days_seen: set[date] = set()
        for offset in self.rules.offsets_days:
            day = cal.workday_on_or_before(due - timedelta(days=offset))
            if day in days_seen:
                continue  # two offsets moved onto the same workday: one reminder
            days_seen.add(day)
            planned.append(Planned(
                cadre.id, None, Kind.DEADLINE_REMINDER, {**base, "days_left": (due - day).days},
                f"remind:{task.id}:{occurrence}:{offset}", _moment(day, at, zone)))
        for n in range(1, self.rules.overdue_reminders + 1):
            day = cal.nth_workday_after(due, n)
            planned.append(Planned(
                cadre.id, None, Kind.OVERDUE_REMINDER, {**base, "days_late": (day - due).days},
                f"overdue:{task.id}:{occurrence}:{n}", _moment(day, at, zone)))
        day = cal.nth_workday_after(due, self.rules.overdue_reminders + 1)
        for boss in self._supervisors(cadre.unit_id):
            planned.append(Planned(
                boss, None, Kind.OVERDUE_ESCALATION, {**base, "cadre_id": cadre.id},
                f"escalate:{task.id}:{occurrence}:{boss}", _moment(day, at, zone)))
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
        """Once a workday, at reminder time: supervisors with a submission waiting too long."""
        waiting = self.session.exec(select(Report, Task).join(Task, col(Task.id) == Report.task_id)
                                    .where(Report.state == SUBMITTED)).all()
        planned: list[Planned] = []
        day = start.astimezone(self.zone).date()
        while waiting and day <= end.astimezone(self.zone).date():
            if self.rules.calendar.is_workday(day):
                moment = _moment(day, self.rules.reminder_time, self.zone)
                for boss, count in self._too_old(waiting, moment).items():
                    planned.append(Planned(boss, None, Kind.REVIEW_WAITING, {"count": count},
                                           f"waiting:{boss}:{day.isoformat()}", moment))
            day += timedelta(days=1)
        return planned

    def _too_old(self, waiting: Sequence[tuple[Report, Task]],
                 moment: datetime) -> dict[int, int]:
        """Per supervisor, how many submissions had waited longer than allowed at `moment`."""
        old: dict[int, int] = defaultdict(int)
        for report, task in waiting:
            if report.submitted_at is None:
                continue
            if moment - report.submitted_at < self.rules.review_waiting:
                continue
            unit_id = task.unit_id if task.unit_id is not None else self._cadre_unit(task.cadre_id)
            for boss in self._supervisors(unit_id):
                if boss != report.reporter_id:
                    old[boss] += 1
        return old

    def _cadre_unit(self, cadre_id: int | None) -> int:
        cadre = None if cadre_id is None else self.session.get(Cadre, cadre_id)
        return cadre.unit_id if cadre is not None else 0

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
