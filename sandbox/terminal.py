"""The sandbox: Kaohe on the demo data over the offline Telegram, chatted with in a terminal.

Run by `kaohe run` when no Telegram token is configured. You pick who you are (a cadre, a
supervisor, an administrator of the demo organisation), then type as in Telegram; the bot's
messages show with their buttons numbered. The real Application runs on the simulator.

    text        sent as a message (a menu label works like tapping it)
    #3          tap inline button 3 of the latest message that has buttons
    *2          press menu button 2
    !photo      send a photo (evidence)      !doc   send a document
    @2          become person 2              !who   list the people
    !chat       show this chat again         !quit  leave
    !web        a link to the 📊 看板 dashboard as this person (opens in a desktop browser)
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sqlmodel import col, select
from telegram import Update

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
from models.tables import Cadre, Supervision, Unit
from sandbox.simulator import SimMessage, TelegramSimulator
from ui.i18n import Translator
from webapp.auth import sign_init_data
from webapp.server import web_server

TELEGRAM_ID_BASE = 880_000_000


@dataclass
class Persona:
    cadre_id: int
    telegram_id: int
    name: str
    role: str
    unit: str


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
    return [Persona(c.id or 0, TELEGRAM_ID_BASE + (c.id or 0), c.name, role, units[c.unit_id])
            for c, role in chosen]


def _bind(kaohe: AppContext, sim: TelegramSimulator, people: list[Persona]) -> None:
    """Each persona has a sandbox Telegram account, bound with an invite code like anyone's."""
    with kaohe.store.session() as session:
        admin = session.exec(select(Cadre).where(col(Cadre.is_admin))).first()
        bound = {c.id: c.telegram_user_id for c in session.exec(select(Cadre)).all()}
    assert admin is not None and admin.id is not None
    for persona in people:
        sim.add_user(persona.telegram_id, persona.name, language_code="zh-hans")
        if bound.get(persona.cadre_id) is None:
            with kaohe.store.transaction() as ctx:
                code = invites.issue_invite(ctx, admin.id, persona.cadre_id).code
                invites.redeem_invite(ctx, code, persona.telegram_id)


class Terminal:
    def __init__(self, kaohe: AppContext, out: Callable[[str], None] = print,
                 simulator: TelegramSimulator | None = None) -> None:
        self.kaohe = kaohe
        self.out = out
        self.t = Translator(kaohe.settings.i18n.default_locale)
        self.sim = simulator or TelegramSimulator()
        self.people = _personas(kaohe)
        self.current = self.people[0] if self.people else None
        self.updates: list[dict[str, Any]] = []
        self.sim.on_bot_message(self._shown)
        self.dashboard_url: str | None = None  # where the sandbox serves the Mini App

    # -- showing --------------------------------------------------------------------------

    def _shown(self, message: SimMessage, change: str) -> None:
        if self.current is None:
            return
        if message.chat_id != self.current.telegram_id:
            other = next((p for p in self.people if p.telegram_id == message.chat_id), None)
            if other is not None and change == "new":
                self.out(f"  (→ {other.name} 收到一条新消息 / new message for {other.name})")
            return
        if change == "deleted":
            return
        self.out(self._render(message, edited=change == "edited"))

    def _render(self, message: SimMessage, edited: bool = False) -> str:
        who = "🤖" if message.from_bot else "🧑"
        body = message.text or message.caption or ""
        if message.photo:
            body = "[照片 photo] " + body
        if message.document:
            body = f"[文件 {message.document_name or 'document'}] " + body
        lines = [f"{who}{' (已编辑 edited)' if edited else ''} {body}"]
        number = 0
        for row in message.buttons():
            labels = []
            for text, _data in row:
                number += 1
                labels.append(f"#{number} {text}")
            lines.append("   " + "   ".join(labels))
        return "\n".join(lines)

    def _menu(self) -> str:
        if self.current is None:
            return ""
        labels = self.sim.reply_keyboard(self.current.telegram_id) or []
        return "   ".join(f"*{i} {label}" for i, label in enumerate(labels, start=1))

    def who(self) -> None:
        for index, persona in enumerate(self.people, start=1):
            mark = "▶" if persona is self.current else " "
            self.out(f" {mark} @{index} {persona.name} · {persona.role} · {persona.unit}")

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
            if line == "!who":
                self.who()
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
                    self.out("  ? 没有这个菜单按钮 / no such menu button")
            else:
                self.updates.append(self.sim.send_text(me, line))
        except Exception as exc:  # a wrong tap must not end the session
            self.out(f"  ? {exc}")
        return True

    def _switch(self, number: int) -> None:
        if 1 <= number <= len(self.people):
            self.current = self.people[number - 1]
            self.out(f"— 现在您是 {self.current.name}（{self.current.role}）—")
            history = self.sim.messages(self.current.telegram_id)
            if not history:  # first visit: open the chat as Telegram's Start button does
                self.updates.append(self.sim.send_text(self.current.telegram_id, "/start"))
            for message in history[-5:]:
                self.out(self._render(message))
            self._web_link()
        else:
            self.out("  ? 没有这个人 / no such person")

    def _tap(self, number: int) -> None:
        assert self.current is not None
        for message in reversed(self.sim.bot_messages(self.current.telegram_id)):
            flat = [data or text for row in message.buttons() for text, data in row]
            if flat:
                if 1 <= number <= len(flat):
                    self.updates.append(self.sim.tap(self.current.telegram_id,
                                                     message.message_id, flat[number - 1]))
                else:
                    self.out("  ? 没有这个按钮 / no such button")
                return
        self.out("  ? 没有可点的按钮 / nothing to tap")

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
            self.out(f"  📊 看板 / dashboard: {link}")

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
                self.out(f"  (看板无法在 {web.host}:{web.port} 启动 / the dashboard could not "
                         f"start on {web.host}:{web.port})")

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
        _bind(self.kaohe, self.sim, self.people)
        application = build_application(
            self.kaohe, token=self.sim.token, request=self.sim.request(),
            updates_request=self.sim.request(),
        )
        self.out(self.t("sandbox.banner"))
        self.out(__doc__.split("\n\n", 2)[2] if __doc__ else "")
        self.who()
        served = await self._serve_dashboard()
        self._web_link()
        async with application:
            await register_commands(application)
            await application.start()
            start_timers(application)
            delivery = start_sender(application)
            if self.current is not None:
                self.updates.append(self.sim.send_text(self.current.telegram_id, "/start"))
            loop = asyncio.get_running_loop()
            while True:
                while self.updates:
                    update = Update.de_json(self.updates.pop(0), application.bot)
                    await application.process_update(update)
                # The sender runs beside the updates; wait for it before the next prompt so
                # that what the bot sends is printed above it.
                await sender(application).drain()
                menu = self._menu()
                if menu:
                    self.out("  " + menu)
                name = self.current.name if self.current else ""
                try:
                    line = await loop.run_in_executor(None, read_line, f"{name}> ")
                except EOFError:
                    break
                if not self.act(line):
                    break
            await stop_sender(application, delivery)
            await application.stop()
        if served is not None:
            server, task = served
            server.should_exit = True
            await task


def run_sandbox(kaohe: AppContext) -> None:
    """Block in the terminal chat until the user quits."""
    if not sys.stdin.isatty():
        print(Translator(kaohe.settings.i18n.default_locale)("sandbox.no_tty"))
    asyncio.run(Terminal(kaohe).run())
