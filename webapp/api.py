"""The Mini App: its page and its JSON API, as one Starlette application.

Every API call carries `Authorization: tma <initData>`. The signature and age are checked here
(webapp/auth.py); who the Telegram user is, and what they may see, models/dashboard.py decides.
A refusal becomes 401 (untrusted data), 403 (unbound) or 404 (no such unit or person, or not
theirs to see: the same answer), and models/ has written its audit row by then. Database work
runs on the dashboard's own threads, so the bot's event loop, which this application shares,
never waits on it, and neither do the bot's own threads (below).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.convertors import IntegerConvertor, register_url_convertor
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from models import dashboard
from models.errors import NotFound, Refused
from models.store import Ctx, Store
from models.tables import Cadre
from ui.i18n import LOCALES, Translator, normalize_locale, refusal_params
from webapp import present
from webapp.auth import InitDataError, WebAppUser, check_init_data
from webapp.throttle import AuditThrottle

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
F = TypeVar("F")

# Threads of the dashboard's own for its reads. asyncio.to_thread would queue them in the loop's
# default executor with the bot's database work (bot/persistence.py, the sender, the jobs): one
# viewer sending a few hundred requests at once held every update behind them for seconds.
# Here they wait for each other only.
READER_THREADS = 2


class RowId(IntegerConvertor):
    """An id in a path: ASCII digits, few enough for int() (a forged id of thousands of digits
    made it raise: a 500); one too large for any row is the models' 404."""

    regex = "[0-9]{1,20}"


register_url_convertor("row_id", RowId())

STATUS = {"webapp_bad_init_data": 401, "webapp_unbound": 403, "forbidden": 403,
          "not_found": 404, "no_active_period": 409}


@dataclass(frozen=True)
class WebAppConfig:
    bot_token: str
    max_init_data_age: int  # seconds
    default_locale: str = "zh_CN"


@dataclass
class Viewer:
    cadre: Cadre
    t: Translator


Reader = Callable[[Ctx, Viewer, Request], dict[str, Any]]
Endpoint = Callable[[Request], Awaitable[Response]]


def create_app(store: Store, config: WebAppConfig) -> Starlette:
    """The dashboard for one bot: its page, its static files and /api/*."""
    readers = ThreadPoolExecutor(READER_THREADS, thread_name_prefix="dashboard")
    throttle = AuditThrottle()

    def authenticate(request: Request) -> WebAppUser | InitDataError:
        scheme, _, raw = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "tma":
            return InitDataError("no tma authorization")
        try:
            return check_init_data(raw.strip(), config.bot_token, store.clock(),
                                   config.max_init_data_age)
        except InitDataError as error:
            return error

    def answer(request: Request, reader: Reader) -> Callable[[], tuple[int, dict[str, Any]]]:
        """The work for a worker thread: check, load the viewer, read, or refuse."""
        user = authenticate(request)

        def work() -> tuple[int, dict[str, Any]]:
            locale = config.default_locale
            if isinstance(user, WebAppUser):
                locale = normalize_locale(user.language_code, config.default_locale)
            try:
                with store.reading() as ctx:
                    if isinstance(user, InitDataError):
                        # Anyone can send these: audited at most once a minute per client.
                        address = request.client.host if request.client else ""
                        raise dashboard.bad_init_data(
                            user.reason, throttle.admit(address, ctx.now))
                    cadre = dashboard.viewer(ctx, user.id)
                    if cadre.locale in LOCALES:
                        locale = cadre.locale or locale
                    return 200, reader(ctx, Viewer(cadre, Translator(locale)), request)
            except Refused as refusal:
                if refusal.code == "forbidden" and refusal.entity is not None:
                    # A unit or person outside the viewer's reach is answered as one that does
                    # not exist (a 403 told a cadre which ids exist); store.reading() has
                    # audited it as forbidden all the same.
                    refusal = NotFound(refusal.entity, refusal.entity_id)
                t = Translator(locale)
                key = f"refused.{refusal.code}"
                params = refusal_params(t, refusal.params)
                text = t(key, **{k: str(v) for k, v in params.items()}) \
                    if t.has(key) else t("refused.generic", code=refusal.code)
                return STATUS.get(refusal.code, 400), {"error": refusal.code, "message": text}
            except Exception:
                # A failure of ours (the database away, a bug): logged with its traceback,
                # answered in the viewer's language as JSON the page can show. Starlette's
                # own answer was "Internal Server Error" as plain text, which the page could
                # not read and showed as a JavaScript parse error.
                log.exception("dashboard: %s failed", request.url.path)
                return 500, {"error": "internal", "message": Translator(locale)("webapp.error")}

        return work

    def endpoint(reader: Reader) -> Endpoint:
        async def handle(request: Request) -> Response:
            status, body = await asyncio.get_running_loop().run_in_executor(
                readers, answer(request, reader))
            return JSONResponse(body, status_code=status,
                                headers={"Cache-Control": "no-store"})
        return handle

    def me(ctx: Ctx, v: Viewer, _request: Request) -> dict[str, Any]:
        return {"cadre_id": v.cadre.id, "name": v.cadre.name, "unit_id": v.cadre.unit_id,
                "role": dashboard.role_of(ctx, v.cadre), "locale": v.t.locale,
                "strings": present.strings(v.t)}

    def unit(ctx: Ctx, v: Viewer, request: Request) -> dict[str, Any]:
        return present.unit_page(dashboard.unit_page(ctx, v.cadre,
                                                     int(request.path_params["unit_id"])))

    def person(ctx: Ctx, v: Viewer, request: Request) -> dict[str, Any]:
        return present.person_page(dashboard.person_page(ctx, v.cadre,
                                                         int(request.path_params["cadre_id"])))

    def late(ctx: Ctx, v: Viewer, request: Request) -> dict[str, Any]:
        # ASCII digits only: str.isdigit() takes "²" too, which int() refuses (a 500).
        start = request.query_params.get("start", "0")
        first = int(start) if start.isascii() and start.isdigit() and len(start) <= 20 else 0
        return present.late(dashboard.late(ctx, v.cadre, first))

    def kept(figures: dashboard.Figures[F]) -> dashboard.Figures[F]:
        """Figures worked out now, none being kept for today: ask for the job that keeps them."""
        if figures.computed_at is None:
            dashboard.ask_for_figures(store)
        return figures

    async def index(_request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    routes = [
        Route("/", index),
        Route("/api/me", endpoint(me)),
        Route("/api/overview", endpoint(
            lambda ctx, v, _: present.overview(dashboard.overview(ctx, v.cadre)))),
        Route("/api/late-counts", endpoint(
            lambda ctx, v, _: present.late_counts(kept(dashboard.late_counts(ctx, v.cadre)),
                                                  ctx.tz))),
        Route("/api/lights", endpoint(
            lambda ctx, v, _: present.lights(kept(dashboard.unit_lights(ctx, v.cadre)),
                                             ctx.tz))),
        Route("/api/unit/{unit_id:row_id}", endpoint(unit)),
        Route("/api/person/{cadre_id:row_id}", endpoint(person)),
        Route("/api/pending", endpoint(
            lambda ctx, v, _: present.pending(dashboard.pending(ctx, v.cadre)))),
        Route("/api/late", endpoint(late)),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    return Starlette(routes=routes, middleware=[Middleware(SecurityHeaders)])


class SecurityHeaders:
    """Everything the page needs is served from here (Chart.js is vendored): say so."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                # frame-ancestors: default-src does not cover it, and without it any site
                # could frame the page. Telegram's apps open it in a web view of their own;
                # Telegram Web (web.telegram.org) in an iframe.
                headers["Content-Security-Policy"] = (
                    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                    "frame-ancestors 'self' https://web.telegram.org; base-uri 'none'; "
                    "form-action 'none'")
                headers["X-Content-Type-Options"] = "nosniff"
            await send(message)

        await self.app(scope, receive, with_headers)
