"""The sandbox: Kaohe on the demo data over the offline Telegram, chatted with in a terminal.

Run by `kaohe run` when no Telegram token is configured. You pick who you are (a cadre, a
supervisor, an administrator of the demo organisation, or a Telegram user nobody has invited
yet), then type as in Telegram; the bot's messages show with their buttons numbered, its toasts
(callback answers) under them, and the photos and documents it sends are saved to files named
on screen. What to type is the catalog's "sandbox.help".

The simulated Telegram lives in a folder ([sandbox] folder, var/sandbox): quit and start again
and it is the same Telegram — update ids go on growing, chats keep their history and menus, file
ids stay valid (sandbox/sim_saved.py).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import func
from sqlmodel import col, select
from telegram import Update

from bot import logs
from bot.app_context import AppContext
from bot.application import (
    build_application,
    dashboard,
    register_commands,
    sender,
    start_sender,
    start_timers,
    stop_sender,
)
from models import invites
from models.tables import Cadre, ProcessedUpdate, Supervision, Unit
from sandbox.simulator import SimMessage, SimulatorError, TelegramSimulator
from ui.i18n import Translator
from webapp.auth import sign_init_data
from webapp.server import web_server

TELEGRAM_ID_BASE = 880_000_000  # + the cadre's id: the demo people's Telegram accounts
NEW_USER_BASE = 890_000_000  # + n: Telegram users nobody has invited yet (`!new`)
RECEIVED = "received"  # what the bot sent, as files, under the sandbox folder


@dataclass
class Persona:
    telegram_id: int
    name: str
    role: str  # "admin", "supervisor", "cadre", or "new" (not bound to anyone)
    unit: str
    cadre_id: int | None = None


def _personas(kaohe: AppContext) -> list[Persona]:
    """The demo's administrator, a supervisor with a queue, and a few cadres."""
    with kaohe.store.session() as session:
        admin = session.exec(
            select(Cadre).where(col(Cadre.is_admin)).order_by(col(Cadre.id))
        ).first()
        bosses = session.exec(
            select(Cadre).join(Supervision, col(Supervision.cadre_id) == Cadre.id)
            .order_by(col(Cadre.id))
        ).all()
        boss_ids = {b.id for b in bosses}
        cadres = session.exec(
            select(Cadre).where(col(Cadre.is_admin).is_(False), col(Cadre.id).not_in(boss_ids))
            .order_by(col(Cadre.id))
        ).all()
        units = {u.id: u.name for u in session.exec(select(Unit)).all()}
    chosen: list[tuple[Cadre, str]] = []
    if admin is not None:
        chosen.append((admin, "admin"))
    chosen += [(b, "supervisor") for b in bosses if b.id != (admin.id if admin else None)][:3]
    chosen += [(c, "cadre") for c in cadres[:4]]
    return [Persona(TELEGRAM_ID_BASE + (c.id or 0), c.name, role, units[c.unit_id], c.id)
            for c, role in chosen]


def _bind(kaohe: AppContext, people: list[Persona]) -> None:
    """Each demo persona's Telegram account is bound with an invite code like anyone's."""
    with kaohe.store.session() as session:
        admin = session.exec(select(Cadre).where(col(Cadre.is_admin))).first()
        bound = {c.id: c.telegram_user_id for c in session.exec(select(Cadre)).all()}
    if admin is None or admin.id is None:
        return  # an install without an admin yet: `kaohe admin invite` makes the first one
    for persona in people:
        if persona.cadre_id is not None and bound.get(persona.cadre_id) is None:
            with kaohe.store.transaction() as ctx:
                code = invites.issue_invite(ctx, admin.id, persona.cadre_id).code
                invites.redeem_invite(ctx, code, persona.telegram_id)


def _last_update_id(kaohe: AppContext) -> int:
    with kaohe.store.session() as session:
        found = session.exec(select(func.max(ProcessedUpdate.update_id))).one()
    return int(found or 0)


class Terminal:
    def __init__(self, kaohe: AppContext, out: Callable[[str], None] = print,
                 simulator: TelegramSimulator | None = None, *, folder: Path | None = None,
                 locale: str | None = None) -> None:
        """`folder` keeps the simulated Telegram across runs and receives the files the bot
        sends; without one the sandbox starts afresh and forgets everything when it ends."""
        self.kaohe = kaohe
        self.out = out
        self.t = Translator(locale or kaohe.settings.i18n.default_locale)
        self.language_code = "zh-hans" if self.t.locale == "zh_CN" else "en"
        self.folder = folder
        self.sim = simulator or TelegramSimulator()
        self.resumed = folder is not None and self.sim.load(folder)
        self.people = _personas(kaohe)
        self.people += self._strangers()
        self.current = self.people[0] if self.people else None
        self.updates: list[dict[str, Any]] = []
        self._answers_seen = len(self.sim.callback_answers())
        self.sim.on_bot_message(self._shown)
        self.dashboard_url: str | None = None  # where the sandbox serves the Mini App

    def _strangers(self) -> list[Persona]:
        """Telegram users made with `!new` in an earlier run (bound to a cadre since, or not)."""
        known = {p.telegram_id for p in self.people}
        ids = [i for i in self.sim.user_ids() if i >= NEW_USER_BASE and i not in known]
        with self.kaohe.store.session() as session:
            bound = {c.telegram_user_id: c for c in session.exec(
                select(Cadre).where(col(Cadre.telegram_user_id).in_(ids))).all()}
        return [self._stranger(i, bound.get(i)) for i in ids]

    def _stranger(self, telegram_id: int, cadre: Cadre | None) -> Persona:
        if cadre is None:
            name = self.t("sandbox.new_user_name", n=telegram_id - NEW_USER_BASE)
            return Persona(telegram_id, name, "new", "—")
        return Persona(telegram_id, cadre.name, "cadre", "—", cadre.id)

    # -- showing --------------------------------------------------------------------------

    def _shown(self, message: SimMessage, change: str) -> None:
        if self.current is None:
            return
        if message.chat_id != self.current.telegram_id:
            other = next((p for p in self.people if p.telegram_id == message.chat_id), None)
            if other is not None and change == "new":
                self.out(self.t("sandbox.new_message_for", name=other.name))
            return
        if change == "deleted":
            return
        self.out(self._render(message, edited=change == "edited"))

    def _render(self, message: SimMessage, edited: bool = False) -> str:
        who = "🤖" if message.from_bot else "🧑"
        body = message.text or message.caption or ""
        if message.photo:
            body = f"{self.t('sandbox.photo')}{self._saved(message, message.photo)} {body}"
        if message.document:
            name = message.document_name or "document"
            body = (f"{self.t('sandbox.document', name=name)}"
                    f"{self._saved(message, message.document, name)} {body}")
        mark = self.t("sandbox.edited") if edited else ""
        lines = [f"{who}{mark} {body.strip()}"]
        number = 0
        for row in message.buttons():
            labels = []
            for text, _data in row:
                number += 1
                labels.append(f"#{number} {text}")
            lines.append("   " + "   ".join(labels))
        return "\n".join(lines)

    def _saved(self, message: SimMessage, file_id: str, name: str | None = None) -> str:
        """Save a file the bot sent under received/ and say where; nothing without a folder."""
        if self.folder is None or not message.from_bot:
            return ""
        try:
            content = self.sim.file_bytes(file_id)
        except SimulatorError:  # its content was deleted from the folder: show the message
            return ""
        if name is None:
            name = "photo.png" if content.startswith(b"\x89PNG") else "photo.jpg"
        path = self.folder / RECEIVED / f"{message.chat_id}-{message.message_id}-{name}"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        return self.t("sandbox.saved", path=str(path))

    def _toasts(self) -> None:
        """The callback answers the bot gave since the last look: Telegram shows them as a
        toast (or an alert box) over the chat."""
        answers = self.sim.callback_answers()
        for answer in answers[self._answers_seen:]:
            if answer.get("text"):
                key = "sandbox.alert" if answer.get("show_alert") else "sandbox.toast"
                self.out(self.t(key, text=answer["text"]))
        self._answers_seen = len(answers)

    def _menu(self) -> str:
        if self.current is None:
            return ""
        labels = self.sim.reply_keyboard(self.current.telegram_id) or []
        return "   ".join(f"*{i} {label}" for i, label in enumerate(labels, start=1))

    def who(self) -> None:
        for index, persona in enumerate(self.people, start=1):
            mark = "▶" if persona is self.current else " "
            role = self.t(f"sandbox.role.{persona.role}")
            self.out(f" {mark} @{index} {persona.name} · {role} · {persona.unit}")

    # -- acting ---------------------------------------------------------------------------

    def act(self, line: str) -> bool:
        """Carry out one line typed by the user; False to quit. What the user did is queued in
        `self.updates` for the bot."""
        line = line.strip()
        if self.current is None or not line:
            return True
        me = self.current.telegram_id
        try:
            if line in ("!quit", "!q", "!exit"):
                return False
            if line in ("!help", "!h", "?"):
                self.out(self.t("sandbox.help"))
            elif line == "!who":
                self.who()
            elif line == "!new":
                self._new_user()
            elif line.startswith("@") and line[1:].isdigit():
                self._switch(int(line[1:]))
            elif line == "!web":
                self._web_link()
            elif line == "!chat":
                for message in self.sim.messages(me)[-12:]:
                    self.out(self._render(message))
            elif line == "!photo":
                self.updates.append(self.sim.send_photo(me))
            elif line == "!doc":
                self.updates.append(self.sim.send_document(
                    me, "台账.pdf", b"%PDF-1.4 sandbox", mime_type="application/pdf"))
            elif line.startswith("#") and line[1:].isdigit():
                self._tap(int(line[1:]))
            elif line.startswith("*") and line[1:].isdigit():
                labels = self.sim.reply_keyboard(me) or []
                index = int(line[1:]) - 1
                if 0 <= index < len(labels):
                    self.updates.append(self.sim.press(me, labels[index]))
                else:
                    self.out(self.t("sandbox.no_menu_button"))
            else:
                self.updates.append(self.sim.send_text(me, line))
        except Exception as exc:  # a wrong tap must not end the session
            self.out(self.t("sandbox.failed", error=str(exc)))
        return True

    def _new_user(self) -> None:
        """A Telegram user nobody has invited yet: they can redeem an invite code."""
        taken = [p.telegram_id for p in self.people if p.telegram_id >= NEW_USER_BASE]
        telegram_id = max(taken, default=NEW_USER_BASE) + 1
        persona = self._stranger(telegram_id, None)
        self.sim.add_user(telegram_id, persona.name, language_code=self.language_code)
        self.people.append(persona)
        self._switch(len(self.people))
        self.out(self.t("sandbox.new_user_hint"))

    def _switch(self, number: int) -> None:
        if 1 <= number <= len(self.people):
            self.current = self.people[number - 1]
            self.out(self.t("sandbox.now_you_are", name=self.current.name,
                            role=self.t(f"sandbox.role.{self.current.role}")))
            history = self.sim.messages(self.current.telegram_id)
            # First visit: open the chat as Telegram's Start button does. The demo binds people
            # who never wrote to the bot, and a card may wait for them already: without /start
            # they would have no menu (in Telegram they would have pressed Start to bind).
            if not any(not message.from_bot for message in history):
                self.updates.append(self.sim.send_text(self.current.telegram_id, "/start"))
            for message in history[-5:]:
                self.out(self._render(message))
            self._web_link()
        else:
            self.out(self.t("sandbox.no_person"))

    def _tap(self, number: int) -> None:
        assert self.current is not None
        for message in reversed(self.sim.bot_messages(self.current.telegram_id)):
            flat = [data or text for row in message.buttons() for text, data in row]
            if flat:
                if 1 <= number <= len(flat):
                    self.updates.append(self.sim.tap(self.current.telegram_id,
                                                     message.message_id, flat[number - 1]))
                else:
                    self.out(self.t("sandbox.no_button"))
                return
        self.out(self.t("sandbox.nothing_to_tap"))

    def _save(self) -> None:
        if self.folder is not None:
            self.sim.save(self.folder)

    def link_for(self, persona: Persona) -> str | None:
        """The dashboard as this person would open it from Telegram: initData signed with the
        sandbox bot's token, in the URL hash as Telegram passes it (webapp/static/tg-shim.js)."""
        if self.dashboard_url is None:
            return None
        data = sign_init_data(self.sim.token, persona.telegram_id, self.kaohe.store.clock(),
                              first_name=persona.name)
        return f"{self.dashboard_url}#tgWebAppData={quote(data, safe='')}"

    def _web_link(self) -> None:
        link = self.link_for(self.current) if self.current is not None else None
        if link is not None:
            self.out(self.t("sandbox.dashboard_link", link=link))

    async def _serve_dashboard(self) -> tuple[Any, asyncio.Task[None]] | None:
        """The Mini App on [webapp] host and port, in this event loop; None if it cannot."""
        web = self.kaohe.settings.webapp
        if not web.enabled:
            return None
        server = web_server(dashboard(self.kaohe, self.sim.token), web.host, web.port,
                            own_signals=False)

        async def serve() -> None:
            try:
                await server.serve()
            except SystemExit:  # uvicorn's answer to a port in use
                self.out(self.t("sandbox.dashboard_failed", address=f"{web.host}:{web.port}"))

        task = asyncio.create_task(serve())
        for _ in range(100):
            if server.started or task.done():
                break
            await asyncio.sleep(0.05)
        if not server.started:
            return None
        port = server.servers[0].sockets[0].getsockname()[1]  # the real one, when port = 0
        host = "127.0.0.1" if web.host in ("0.0.0.0", "") else web.host
        self.dashboard_url = f"http://{host}:{port}/"
        return server, task

    # -- running --------------------------------------------------------------------------

    async def run(self, read_line: Callable[[str], str] = input) -> None:
        """The real Application, fed each thing the user does and answering before the next
        prompt (the timers, such as outbox delivery, run as in production)."""
        for persona in self.people:  # the sandbox's language is its people's Telegram's
            self.sim.add_user(persona.telegram_id, persona.name,
                              language_code=self.language_code)
        _bind(self.kaohe, self.people)
        # Telegram's update ids only grow: never below one this database has handled.
        self.sim.continue_update_ids(_last_update_id(self.kaohe))
        application = build_application(
            self.kaohe, token=self.sim.token, request=self.sim.request(),
            updates_request=self.sim.request(),
        )
        self.out(self.t("sandbox.banner"))
        if self.resumed and self.folder is not None:
            self.out(self.t("sandbox.resumed", folder=str(self.folder)))
        self.out(self.t("sandbox.help"))
        self.who()
        served = await self._serve_dashboard()
        self._web_link()
        try:
            async with application:
                await register_commands(application)
                await application.start()
                start_timers(application)
                delivery = start_sender(application)
                if self.current is not None:
                    self.updates.append(self.sim.send_text(self.current.telegram_id, "/start"))
                await self._converse(application, read_line)
                await stop_sender(application, delivery)
                await application.stop()
        finally:
            self._save()
            if served is not None:
                server, task = served
                server.should_exit = True
                await task

    async def _converse(self, application: Any, read_line: Callable[[str], str]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while self.updates:
                update = Update.de_json(self.updates.pop(0), application.bot)
                await application.process_update(update)
            # The sender runs beside the updates; wait for it before the next prompt so that
            # what the bot sends is printed above it.
            await sender(application).drain()
            self._toasts()
            self._save()
            menu = self._menu()
            if menu:
                self.out("  " + menu)
            name = self.current.name if self.current else ""
            try:
                line = await loop.run_in_executor(None, read_line, f"{name}> ")
            except EOFError:
                return
            if not self.act(line):
                return


def _log_to_file(folder: Path) -> Path:
    """The bot's log goes to a file, not across the prompt (warnings too, such as a calendar
    library's about a year it has no data for)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "kaohe.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(logs.FORMAT))  # as bot/logs.py writes every log
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    logging.captureWarnings(True)
    return path


def run_sandbox(kaohe: AppContext, locale: str | None = None) -> None:
    """Block in the terminal chat until the user quits."""
    t = Translator(locale or kaohe.settings.i18n.default_locale)
    folder = kaohe.settings.sandbox_folder
    log_path = _log_to_file(folder)
    if not sys.stdin.isatty():
        print(t("sandbox.no_tty"))
    print(t("sandbox.log_file", path=str(log_path)))
    asyncio.run(Terminal(kaohe, folder=folder, locale=t.locale).run())
