"""Building the Telegram Application: handlers, persistence, errors, delivery, commands (each
update in one transaction, duplicates dropped: bot/updates.py).

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
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import (
    ApplicationBuilder,
    ContextTypes,
)
from telegram.request import BaseRequest
from telegram.warnings import PTBUserWarning

from bot.app_context import AppContext
from bot.budget import SendBudget, shared_budget
from bot.config import TelegramSettings
from bot.jobs import JobRunner, telegram_fetch
from bot.logs import log_update_error
from bot.persistence import DatabasePersistence
from bot.scheduler import tick_async
from bot.sender import OutboxSender, Pacing, QuietHours, local_budget
from bot.telegram_bot import make_bot
from bot.updates import UpdateApplication
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
from models.tables import Job, OutboxMessage
from models.views import active_period
from ui.i18n import LOCALES, Translator
from ui.render import Renderer
from webapp.api import WebAppConfig, create_app
from webapp.server import web_server

log = logging.getLogger(__name__)
SENDER_KEY = "sender"
BUDGET_KEY = "send-budget"
SENDER_TASK_KEY = "sender-task"
JOBS_KEY = "jobs"
JOBS_TASK_KEY = "jobs-task"
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
    budget = send_budget(kaohe, pacing or Pacing())
    bot = make_bot(settings, token, request=request, updates_request=updates_request,
                   rate_limiter=rate_limiter, budget=budget)
    application = (
        ApplicationBuilder()
        .application_class(UpdateApplication)  # each update in one transaction
        .bot(bot)
        .persistence(DatabasePersistence(kaohe.store))
        .context_types(ContextTypes(context=Context))
        .post_init(_post_init)
        .post_stop(_post_stop)
        .build()
    )
    application.bot_data[ROOT_KEY] = kaohe
    application.bot_data[BUDGET_KEY] = budget
    application.bot_data[APP_KEY] = services(kaohe)
    schedule = kaohe.settings.schedule
    application.bot_data[SENDER_KEY] = OutboxSender(
        kaohe.store, application.bot, kaohe.settings.i18n.default_locale,
        quiet=QuietHours(clock_time.fromisoformat(schedule.quiet_start),
                         clock_time.fromisoformat(schedule.quiet_end)),
        pacing=pacing, budget=budget,
    )
    application.bot_data[JOBS_KEY] = JobRunner(kaohe.store, schedule,
                                               on_done=application.bot_data[SENDER_KEY].wake,
                                               fetch=telegram_fetch(application.bot))
    application.bot_data[APP_KEY].wake_jobs = application.bot_data[JOBS_KEY].wake
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
    assert isinstance(application, UpdateApplication)
    # Delivery and jobs run beside the update loop: wake each for what an update queued, once
    # committed (and only then: a needless look at the outbox is a write transaction).
    application.committed.append((OutboxMessage.__tablename__, sender(application).wake))
    application.committed.append((Job.__tablename__, job_runner(application).wake))
    application.add_error_handler(_on_error)
    return application


def send_budget(kaohe: AppContext, pacing: Pacing) -> SendBudget:
    """Telegram's overall limit as this process draws from it: shared in the database with
    the `kaohe worker` processes when they send, in memory when everything is in here."""
    shared = (shared_budget(kaohe.store.engine.url, "bot") if kaohe.settings.workers.external
              else None)
    return shared or local_budget(pacing)


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
    )


def root(application: KaoheApp) -> AppContext:
    found: AppContext = application.bot_data[ROOT_KEY]
    return found


def sender(application: KaoheApp) -> OutboxSender:
    found: OutboxSender = application.bot_data[SENDER_KEY]
    return found


def job_runner(application: KaoheApp) -> JobRunner:
    found: JobRunner = application.bot_data[JOBS_KEY]
    return found


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
    """Register the commands per language; start the timers, the sender's and the jobs' loops
    unless [workers] external leaves them to `kaohe worker` (bot/worker.py)."""
    await register_commands(application)
    if root(application).settings.workers.external:
        log.info("sending, scheduling and jobs are left to `kaohe worker` processes")
        return
    start_timers(application)
    start_sender(application)


def start_sender(application: KaoheApp) -> asyncio.Task[None]:
    """The outbox's delivery loop, an asyncio task of its own beside the update loop. (Not
    PTB's create_task: the application waits for those when it stops, and this one never
    ends; `_post_stop` cancels it.)"""
    task = asyncio.create_task(sender(application).run(), name="outbox-sender")
    application.bot_data[SENDER_TASK_KEY] = task
    # The heavy jobs' loop (bot/jobs.py) runs beside it, started and stopped with it.
    application.bot_data[JOBS_TASK_KEY] = asyncio.create_task(job_runner(application).run(),
                                                              name="jobs")
    return task


async def _post_stop(application: KaoheApp) -> None:
    task: asyncio.Task[None] | None = application.bot_data.pop(SENDER_TASK_KEY, None)
    if task is not None:
        await stop_sender(application, task)
    budget: SendBudget = application.bot_data[BUDGET_KEY]
    await budget.close()


async def stop_sender(application: KaoheApp, task: asyncio.Task[None]) -> None:
    """Let the loop finish the row in hand, then make sure it is gone; the jobs' loop
    finishes the job in hand (it commits or rolls back whole)."""
    jobs_task: asyncio.Task[None] | None = application.bot_data.pop(JOBS_TASK_KEY, None)
    if jobs_task is not None:
        job_runner(application).stop()
        await asyncio.wait([jobs_task])
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
    if await tick_async(kaohe.store, kaohe.settings.schedule,
                        kaohe.settings.webapp.figures_every):
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
