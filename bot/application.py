"""Building the Telegram Application: handlers, persistence, dedupe, errors, delivery, commands.

The same Application runs against Telegram (a token in the environment) and against the
offline simulator (tests and the sandbox pass their own request objects).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import warnings
from datetime import time as clock_time
from typing import Any

from starlette.applications import Starlette
from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeDefault,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    ApplicationHandlerStop,
    ContextTypes,
    Defaults,
    TypeHandler,
)
from telegram.request import BaseRequest, HTTPXRequest
from telegram.warnings import PTBUserWarning

from bot.app_context import AppContext
from bot.config import TelegramSettings
from bot.logs import log_update_error
from bot.persistence import DatabasePersistence
from bot.scheduler import digests_now, tick_async
from bot.sender import OutboxSender, Pacing, QuietHours
from bot.telegram_bot import KaoheBot
from handlers import (
    admin,
    audit,
    claim,
    groups,
    mine,
    privileges,
    rating,
    report,
    review,
    start,
    warn,
    whatif,
)
from handlers.common import APP_KEY, Context, KaoheApp, app, locale_of
from handlers.services import Services
from models.history import record_day
from models.migrate import refresh_statistics
from models.tables import ProcessedUpdate
from models.views import active_period
from ui.i18n import LOCALES, Translator
from ui.render import Renderer
from webapp.api import WebAppConfig, create_app
from webapp.server import web_server

log = logging.getLogger(__name__)
SENDER_KEY = "sender"
SENDER_TASK_KEY = "sender-task"
ROOT_KEY = "root"  # the AppContext, for what only the composition root reads
COMMANDS = ("report", "tasks", "score", "whatif", "rank", "warn", "pending", "claim", "delegate",
            "delegations",
            "admin", "audit", "lang", "help", "cancel")
GROUP_COMMANDS = ("bindgroup", "unbindgroup")


def build_application(
    kaohe: AppContext,
    *,
    token: str | None = None,
    request: BaseRequest | None = None,
    updates_request: BaseRequest | None = None,
    rate_limiter: bool = True,
    pacing: Pacing | None = None,
) -> KaoheApp:
    settings = kaohe.settings.telegram
    bot = KaoheBot(
        token or settings.token.get_secret_value(),
        base_url=settings.base_url, base_file_url=settings.base_file_url,
        # The sender's loop and the updates send at the same time: PTB's own default pool.
        request=request or HTTPXRequest(connection_pool_size=256),
        get_updates_request=updates_request or HTTPXRequest(),
        rate_limiter=AIORateLimiter(max_retries=2) if rate_limiter else None,
        # Every message is HTML (templates escape what people typed) and shows no link previews.
        defaults=Defaults(parse_mode=ParseMode.HTML,
                          link_preview_options=LinkPreviewOptions(is_disabled=True)),
    )
    application = (
        ApplicationBuilder()
        .bot(bot)
        .persistence(DatabasePersistence(kaohe.store))
        .context_types(ContextTypes(context=Context))
        .post_init(_post_init)
        .post_stop(_post_stop)
        .build()
    )
    application.bot_data[ROOT_KEY] = kaohe
    application.bot_data[APP_KEY] = services(kaohe)
    schedule = kaohe.settings.schedule
    application.bot_data[SENDER_KEY] = OutboxSender(
        kaohe.store, application.bot, kaohe.settings.i18n.default_locale,
        quiet=QuietHours(clock_time.fromisoformat(schedule.quiet_start),
                         clock_time.fromisoformat(schedule.quiet_end)),
        pacing=pacing,
    )
    application.add_handler(TypeHandler(Update, _once), group=-1)
    # Conversations first, so their steps win over the plain commands; fallbacks last.
    with warnings.catch_warnings():
        # Our conversations take button taps in their steps on purpose and track them per user,
        # not per message; PTB warns about that at every ConversationHandler it builds.
        warnings.filterwarnings("ignore", message=r"If 'per_message=False'",
                                category=PTBUserWarning)
        groups.register(application)  # first: in a group nothing else answers
        for feature in (report, review, claim, admin, audit, privileges, rating, whatif, warn,
                        start, mine):
            feature.register(application)
    start.register_fallbacks(application)
    application.add_handler(TypeHandler(Update, _after_update), group=1)
    application.add_error_handler(_on_error)
    return application


def services(kaohe: AppContext) -> Services:
    """What the handlers may use of the configuration and the process."""
    return Services(
        store=kaohe.store,
        rules=kaohe.rules,
        default_locale=kaohe.settings.i18n.default_locale,
        invite_ttl_days=kaohe.settings.invites.ttl_days,
        publicity_days=kaohe.settings.rating.publicity_days,
        max_delegation_days=kaohe.settings.review.max_delegation_days,
        webapp_url=kaohe.settings.webapp.public_url if kaohe.settings.webapp.enabled else "",
        queue_digests_now=lambda: digests_now(kaohe.store, kaohe.settings.schedule),
    )


def root(application: KaoheApp) -> AppContext:
    found: AppContext = application.bot_data[ROOT_KEY]
    return found


def sender(application: KaoheApp) -> OutboxSender:
    found: OutboxSender = application.bot_data[SENDER_KEY]
    return found


async def _once(update: Update, context: Context) -> None:
    """Telegram may deliver an update again (after a crash, before it saw our offset); one
    already handled is dropped here. Handled means: `_after_update` recorded it, together with
    the conversation states it left, after every handler ran."""
    store = app(context).store

    def handled() -> bool:
        with store.session() as session:
            return session.get(ProcessedUpdate, update.update_id) is not None

    if await asyncio.to_thread(handled):
        log.info("update %s delivered again; ignored", update.update_id)
        raise ApplicationHandlerStop


async def _after_update(update: Update, context: Context) -> None:
    """Record the update as handled with the conversation states it left (one transaction),
    then wake the sender for what it queued: delivery runs beside the update loop."""
    persistence = context.application.persistence
    assert isinstance(persistence, DatabasePersistence)
    await persistence.commit_update(context.application, update.update_id)
    sender(context.application).wake()


async def _on_error(update: object, context: Context) -> None:
    log_update_error(log, update, context.error)  # nothing personal: see bot/logs.py
    kaohe = root(context.application)
    admin_chat = kaohe.settings.telegram.admin_chat_id
    if admin_chat:
        text = Translator(kaohe.settings.i18n.default_locale)(
            "bot.error_report", error=type(context.error).__name__,
            update=getattr(update, "update_id", "-"))
        try:
            await context.bot.send_message(
                admin_chat, html.escape(text) + "\n<code>" + html.escape(str(context.error))[:3000]
                + "</code>", parse_mode=ParseMode.HTML)
        except Exception:  # the error report itself must never raise
            log.exception("could not report the error to the admin chat")
    if isinstance(update, Update) and update.effective_chat is not None:
        r = Renderer(locale_of(update, context))
        try:
            await update.effective_chat.send_message(r.text("bot.error_apology"))
        except Exception:
            log.exception("could not apologise to the user")


async def _post_init(application: KaoheApp) -> None:
    """Register the commands per language, start the timers and the sender's loop."""
    await register_commands(application)
    start_timers(application)
    start_sender(application)


def start_sender(application: KaoheApp) -> asyncio.Task[None]:
    """The outbox's delivery loop, an asyncio task of its own beside the update loop. (Not
    PTB's create_task: the application waits for those when it stops, and this one never
    ends; `_post_stop` cancels it.)"""
    task = asyncio.create_task(sender(application).run(), name="outbox-sender")
    application.bot_data[SENDER_TASK_KEY] = task
    return task


async def _post_stop(application: KaoheApp) -> None:
    task: asyncio.Task[None] | None = application.bot_data.pop(SENDER_TASK_KEY, None)
    if task is not None:
        await stop_sender(application, task)


async def stop_sender(application: KaoheApp, task: asyncio.Task[None]) -> None:
    """Let the loop finish the row in hand, then make sure it is gone."""
    sender(application).stop()
    await asyncio.wait([task], timeout=10)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def register_commands(application: KaoheApp) -> None:
    """The command menu Telegram shows, in Chinese (the default) and English."""
    for locale in LOCALES:
        t = Translator(locale)
        language = None if locale == "zh_CN" else "en"
        for names, scope in ((COMMANDS, BotCommandScopeDefault()),
                             (GROUP_COMMANDS, BotCommandScopeAllGroupChats())):
            commands = [BotCommand(name, t(f"command.{name}")) for name in names]
            await application.bot.set_my_commands(commands, scope=scope, language_code=language)


def start_timers(application: KaoheApp) -> None:
    """Plan reminders and digests every minute, and keep the daily history of standings."""
    jobs = application.job_queue
    if jobs is not None:
        jobs.run_repeating(_tick_job, interval=60, first=3, name="scheduler")
        jobs.run_daily(_history_job, time=clock_time(0, 5, tzinfo=application.bot_data[
            APP_KEY].store.tz), name="history")
        jobs.run_once(_history_job, when=2, name="history-now")


async def _tick_job(context: Context) -> None:
    """Reminders and digests that fell due since the last tick (see bot/scheduler.py)."""
    kaohe = root(context.application)
    if await tick_async(kaohe.store, kaohe.settings.schedule):
        sender(context.application).wake()


async def _history_job(context: Context) -> None:
    """Once a night (and at start): the day's standings into history, fresh planner stats."""
    store = app(context).store

    def snapshot() -> None:
        with store.transaction() as ctx:
            period = active_period(ctx.session)
            if period is not None:
                record_day(ctx, period)
        refresh_statistics(store.engine)

    await asyncio.to_thread(snapshot)


WEBHOOK_PATH = "telegram"  # the server answers POSTs to /telegram; the proxy forwards there


def webhook_options(settings: TelegramSettings) -> dict[str, Any]:
    """The webhook server's arguments; ConfigError (naming the key) when webhook mode is not
    safe to start: no https URL or no secret token."""
    settings.check_webhook()
    return {
        "listen": settings.webhook_listen, "port": settings.webhook_port,
        "url_path": WEBHOOK_PATH, "webhook_url": settings.webhook_url,
        "secret_token": settings.webhook_secret.get_secret_value(),
        "allowed_updates": Update.ALL_TYPES,
    }


def dashboard(kaohe: AppContext, token: str) -> Starlette:
    """The Mini App (webapp/) for the bot with this token."""
    return create_app(kaohe.store, WebAppConfig(
        bot_token=token, max_init_data_age=kaohe.settings.webapp.max_init_data_age,
        default_locale=kaohe.settings.i18n.default_locale))


def run_bot(kaohe: AppContext) -> None:
    """Run against Telegram (or a self-hosted Bot API server) until stopped: long polling, or
    a webhook with a secret token, as config.toml's [telegram] says; with the Mini App
    dashboard beside it in the same event loop when [webapp] is enabled."""
    settings = kaohe.settings.telegram
    options = webhook_options(settings) if settings.mode == "webhook" else None  # refused first
    application = build_application(kaohe)
    if kaohe.settings.webapp.enabled:
        asyncio.run(_run_with_dashboard(kaohe, application, options))
    elif options is not None:
        application.run_webhook(**options)
    else:
        application.run_polling(allowed_updates=Update.ALL_TYPES)


async def _run_with_dashboard(kaohe: AppContext, application: KaoheApp,
                              webhook: dict[str, Any] | None) -> None:
    """python-telegram-bot's custom-webhook pattern: the Application runs in this loop, uvicorn
    serves the dashboard in the foreground until Ctrl-C (or SIGTERM), then the bot stops."""
    settings, web = kaohe.settings.telegram, kaohe.settings.webapp
    server = web_server(dashboard(kaohe, settings.token.get_secret_value()), web.host, web.port)
    updater = application.updater
    assert updater is not None
    async with application:
        await _post_init(application)
        await application.start()
        if webhook is not None:
            await updater.start_webhook(**webhook)
        else:
            await updater.start_polling(allowed_updates=Update.ALL_TYPES)
        try:
            await server.serve()
        finally:
            await updater.stop()
            await application.stop()
