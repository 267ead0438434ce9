"""Naming a person or a task by tapping instead of typing a code.

A dialog that needs a cadre or a task shows the units first (`Picker.start`); a unit tapped
shows its people, or its tasks in the active period, page by page. An organisation whose units
fit on one page sees them all at once; a larger one (a prefecture has hundreds) walks its tree:
the top unit's page lists the units right below it (▸) before its own people, and so on down,
with a button back up. Anything typed meanwhile is
searched by code and by name (one match is taken at once, several are offered as buttons).
However the choice is made, the dialog's `chosen(update, context, person, id)` gets the id and
checks it as it always did (the operation it leads to checks the right again). The buttons are
kinds of ui/callbacks.py: the office's (door ADMIN, a `purpose` per dialog, so a button of one
dialog is never taken by another) and /delegate's (door REVIEWER).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, ConversationHandler, MessageHandler, filters

from handlers.common import (
    MENU_KEYS,
    Context,
    Person,
    answer,
    choice_markup,
    edit_or_send,
    menu_labels,
    person,
    read,
    short,
)
from handlers.dispatch import on
from models import picking
from models.doors import Door
from models.tables import Cadre, Task, Unit
from models.views import active_period
from ui.callbacks import (
    Callback,
    DelegateCadre,
    DelegateUnit,
    DelegateUnits,
    OfficePick,
    PickCadre,
    PickTask,
    PickUnit,
    PickUnits,
)
from ui.render import Renderer, typed_quote

PER_PAGE = 8
UNITS_PER_PAGE = 16  # two to a row: unit names are short, and an office has hundreds
SEARCH_SHOWN = 8  # a search offers at most this many buttons, and says how many matched

# What a person types in a picker's step is searched; the menu's buttons keep their meaning.
TYPED = filters.TEXT & ~filters.COMMAND & ~filters.Text(
    [label for key in MENU_KEYS for label in menu_labels(key)])
Chosen = Callable[[Update, Context, Person, int], Awaitable[str | int]]
Item = Cadre | Task


@dataclass(frozen=True)
class Picker:
    """One dialog's picker: who may use it, what it lists and the buttons it makes."""

    door: Door
    prompt: str  # catalog key of the question above the units
    units_button: Callable[[int], Callback]  # a page of the units
    unit_button: Callable[[int, int], Callback]  # a page of a unit's people or tasks
    item_button: Callable[[int], Callback]  # this cadre, or this task
    purpose: OfficePick | None = None  # None: /delegate's picker
    tasks: bool = False  # tasks of the active period, else people
    key_only: bool = False  # a unit's key tasks only (a boost)
    with_inactive: bool = False  # people who were deactivated too

    async def start(self, update: Update, context: Context, p: Person) -> None:
        """The units, in a message of their own (the menu tapped to get here stays)."""
        await self._units(update, context, p, 0, fresh=True)

    def handlers(self, state: str, chosen: Chosen) -> list[BaseHandler[Any, Context, Any]]:
        """What the dialog's `state` listens to while it waits for the choice."""

        async def typed(update: Update, context: Context) -> str | int:
            return await self.search(update, context, state, chosen)

        return [*self.taps(state, chosen), MessageHandler(TYPED, typed)]

    def taps(self, state: str, chosen: Chosen) -> list[BaseHandler[Any, Context, Any]]:
        """The buttons' handlers alone (a state shared by several pickers searches itself)."""

        async def units(update: Update, context: Context, p: Person, page: int) -> str:
            await _answered(update)
            await self._units(update, context, p, page)
            return state

        async def unit(update: Update, context: Context, p: Person, unit_id: int,
                       page: int) -> str:
            await _answered(update)
            await self._unit(update, context, p, unit_id, page)
            return state

        async def item(update: Update, context: Context, p: Person, item_id: int) -> str | int:
            await _answered(update)
            return await chosen(update, context, p, item_id)

        return self._taps(units, unit, item)

    async def search(self, update: Update, context: Context, state: str,
                     chosen: Chosen) -> str | int:
        """What was typed, searched: one match is chosen, else the dialog stays in `state`."""
        p = await person(update, context, self.door)
        message = update.effective_message
        if p is None or message is None:
            return ConversationHandler.END
        found = await self._search(update, context, p, message.text or "")
        return state if found is None else await chosen(update, context, p, found)

    def _taps(self, units: Callable[..., Awaitable[str]], unit: Callable[..., Awaitable[str]],
              item: Callable[..., Awaitable[str | int]]) -> list[BaseHandler[Any, Context, Any]]:
        purpose = self.purpose
        if purpose is None:
            return [on(DelegateUnits, lambda u, c, p, tap: units(u, c, p, tap.page)),
                    on(DelegateUnit, lambda u, c, p, tap: unit(u, c, p, tap.unit, tap.page)),
                    on(DelegateCadre, lambda u, c, p, tap: item(u, c, p, tap.cadre))]
        return [
            on(PickUnits, lambda u, c, p, tap: units(u, c, p, tap.page),
               when=lambda tap: tap.purpose == purpose),
            on(PickUnit, lambda u, c, p, tap: unit(u, c, p, tap.unit, tap.page),
               when=lambda tap: tap.purpose == purpose),
            on(PickCadre, lambda u, c, p, tap: item(u, c, p, tap.cadre),
               when=lambda tap: tap.purpose == purpose and not self.tasks),
            on(PickTask, lambda u, c, p, tap: item(u, c, p, tap.task),
               when=lambda tap: tap.purpose == purpose and self.tasks),
        ]

    # -- what is shown ----------------------------------------------------------------------

    async def _units(self, update: Update, context: Context, p: Person, page: int, *,
                     fresh: bool = False) -> None:
        def load(session: Session) -> tuple[bool, list[Unit]]:
            if picking.unit_count(session) <= UNITS_PER_PAGE:
                return False, picking.units(session)
            return True, picking.child_units(session, None)

        tree, units = await read(context, load)
        show = answer if fresh else edit_or_send
        if tree and len(units) == 1:  # the top unit's page is where the walk starts
            await self._unit(update, context, p, units[0].id or 0, page, show=show)
            return
        markup = choice_markup(p.r, units, page, UNITS_PER_PAGE,
                               lambda u: self.unit_button(u.id or 0, 0).button(
                                   p.r.label("picker.unit_button", name=u.name) if tree
                                   else u.name),
                               self.units_button, columns=2)
        await show(update, p.r.text(self.prompt), markup)

    async def _unit(self, update: Update, context: Context, p: Person, unit_id: int,
                    page: int, *, show: Callable[..., Awaitable[Any]] = edit_or_send) -> None:
        unit, place, items, owners = await read(context, lambda s: self._unit_items(s, unit_id))
        if unit is None:  # removed since the list was shown (the door lets any id through)
            await answer(update, p.r.text("picker.no_unit"))
            return
        if items is None:
            await answer(update, p.r.text("bot.no_active_period"))
            return
        back = [[button] for button in [self._back(p.r, unit, place)] if button is not None]
        if not items:
            empty = "picker.no_tasks" if self.tasks else "picker.no_cadres"
            await show(update, p.r.text(empty, unit=unit.name), InlineKeyboardMarkup(back))
            return
        at_top = place is not None and place.top
        markup = choice_markup(p.r, items, page, PER_PAGE,
                               lambda item: self._button(p.r, item, owners),
                               self.units_button if at_top
                               else (lambda n: self.unit_button(unit_id, n)), back)
        heading = (p.r.text(self.prompt) if at_top  # the walk's first page asks the question
                   else p.r.text(self._pick_key, unit=unit.name))
        await show(update, heading, markup)

    def _unit_items(self, session: Session, unit_id: int) -> tuple[
            Unit | None, _Place | None, list[Unit | Item] | None, dict[int, str]]:
        """The unit, where it sits in a walked tree (None: all units fit on one page), and what
        its page lists: the units right below it, then its people or its tasks."""
        unit = session.get(Unit, unit_id)
        if unit is None:
            return None, None, [], {}
        place: _Place | None = None
        below: list[Unit | Item] = []
        if picking.unit_count(session) > UNITS_PER_PAGE:
            roots = picking.child_units(session, None)
            parent = session.get(Unit, unit.parent_id) if unit.parent_id is not None else None
            place = _Place(top=len(roots) == 1 and roots[0].id == unit.id, parent=parent,
                           parent_is_top=len(roots) == 1 and parent is not None
                           and roots[0].id == parent.id)
            below = list(picking.child_units(session, unit_id))
        if not self.tasks:
            people = picking.unit_cadres(session, unit_id, with_inactive=self.with_inactive)
            return unit, place, below + list(people), {}
        period = active_period(session)
        if period is None:
            return unit, place, None, {}
        tasks = picking.unit_tasks(session, period.id or 0, unit_id, key_only=self.key_only)
        return unit, place, below + list(tasks), picking.owner_names(session, tasks)

    def _back(self, r: Renderer, unit: Unit, place: _Place | None) -> InlineKeyboardButton | None:
        """Back to all units (one page of them), or one step up the tree (none at its top)."""
        if place is None:
            return self.units_button(0).button(r.label("picker.back"))
        if place.parent is None:
            return None if place.top else self.units_button(0).button(r.label("picker.back"))
        up = (self.units_button(0) if place.parent_is_top
              else self.unit_button(place.parent.id or 0, 0))
        return up.button(r.label("picker.up", name=place.parent.name))

    @property
    def _pick_key(self) -> str:
        if not self.tasks:
            return "picker.pick_cadre"
        return "picker.pick_key_task" if self.key_only else "picker.pick_task"

    def _button(self, r: Renderer, item: Unit | Item,
                owners: dict[int, str]) -> InlineKeyboardButton:
        if isinstance(item, Unit):  # a unit below, in a walked tree
            return self.unit_button(item.id or 0, 0).button(
                r.label("picker.unit_button", name=item.name))
        if isinstance(item, Task):
            return self.item_button(item.id or 0).button(r.label(
                "picker.task_button", title=short(item.title, 20), owner=owners.get(item.id or 0)))
        key = "picker.cadre_button" if item.active else "picker.cadre_button_inactive"
        return self.item_button(item.id or 0).button(r.label(key, name=item.name,
                                                             code=item.code))

    async def _search(self, update: Update, context: Context, p: Person,
                      typed: str) -> int | None:
        """The id of the one cadre or task the text names; else None, and the person was shown
        the matches to tap (and the units whose name matches), or told nothing matched."""
        text = typed.strip()[:64]

        def find(session: Session) -> _Matches | None:
            units = picking.units_named(session, text, SEARCH_SHOWN)
            if not self.tasks:
                people = picking.find_cadres(session, text, SEARCH_SHOWN,
                                             with_inactive=self.with_inactive)
                return _Matches(people.rows, people.total, {}, units)
            period = active_period(session)
            if period is None:
                return None
            tasks = picking.find_tasks(session, period.id or 0, text, SEARCH_SHOWN)
            return _Matches(tasks.rows, tasks.total, picking.owner_names(session, tasks.rows),
                            units)

        found = await read(context, find)
        if found is None:
            await answer(update, p.r.text("bot.no_active_period"))
            return None
        if found.total == 1:
            return found.rows[0].id
        what = "tasks" if self.tasks else "cadres"
        if found.total == 0 and not found.units:
            await answer(update, p.r.text(f"picker.none_{what}", text=typed_quote(text)))
            return None
        lines = [p.r.text(f"picker.found_{what}", count=found.total)] if found.total else []
        if found.total > len(found.rows):
            lines.append(p.r.text("picker.found_more", shown=len(found.rows)))
        if found.units:
            lines.append(p.r.text("picker.found_units", text=typed_quote(text)))
        rows = [[self._button(p.r, item, found.owners)] for item in found.rows]
        rows += [[self.unit_button(unit.id or 0, 0).button(
            p.r.label("picker.unit_button", name=unit.name))] for unit in found.units]
        await answer(update, "\n".join(lines), InlineKeyboardMarkup(rows))
        return None


@dataclass(frozen=True)
class _Place:
    """Where a unit's page sits in a walked tree."""

    top: bool  # the one unit at the top: its page is the first one shown
    parent: Unit | None
    parent_is_top: bool  # going up leads to the first page


@dataclass(frozen=True)
class _Matches:
    rows: Sequence[Item]
    total: int
    owners: dict[int, str]
    units: list[Unit]


async def _answered(update: Update) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer()


def office_picker(purpose: OfficePick, prompt: str, *, tasks: bool = False,
                  key_only: bool = False, with_inactive: bool = False) -> Picker:
    """The picker of an office dialog (/admin): its buttons carry the dialog's purpose."""

    def item(item_id: int) -> Callback:
        return PickTask(purpose, item_id) if tasks else PickCadre(purpose, item_id)

    return Picker(door=Door.ADMIN, prompt=prompt,
                  units_button=lambda page: PickUnits(purpose, page),
                  unit_button=lambda unit, page: PickUnit(purpose, unit, page),
                  item_button=item, purpose=purpose, tasks=tasks, key_only=key_only,
                  with_inactive=with_inactive)


def delegate_picker() -> Picker:
    """/delegate's picker: a supervisor chooses who reviews in their place."""
    return Picker(door=Door.REVIEWER, prompt="picker.ask_delegate", units_button=DelegateUnits,
                  unit_button=DelegateUnit, item_button=DelegateCadre)
