"""Serving the Mini App in the bot's own event loop (python-telegram-bot's custom-webhook
example does the same with Starlette and uvicorn): no second process to run."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Generator

import uvicorn
from starlette.applications import Starlette

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

# uvicorn (0.55, h11) never closes a connection that stops sending before its request is
# complete: it has no timeout for that, only for an idle connection between requests. What it
# does offer is set here; the rest is the TLS proxy's (docs/webapp.md "Slow clients").
# At most this many connections and requests at once; more are answered 503 at once. The
# bot's own connections (Telegram, the database) share this process's file descriptors, which
# a client holding connections open would otherwise use up.
MAX_CONNECTIONS = 256
# An idle connection between requests is closed after this (uvicorn's default, said here).
KEEP_ALIVE_SECONDS = 5
# A request's line and headers larger than this are refused (h11's default, said here; the
# initData header is about 1 KiB).
MAX_HEADERS_BYTES = 16 * 1024
# On Ctrl-C or SIGTERM, requests still running after this are cancelled, so a stuck read
# cannot keep the bot from stopping (uvicorn waits for them for ever by default).
SHUTDOWN_GRACE_SECONDS = 10


class ForegroundServer(uvicorn.Server):
    """uvicorn in the foreground of `kaohe run`: Ctrl-C or SIGTERM ends `serve()` gracefully and
    the caller then stops the bot. uvicorn itself raises the signal again once it has stopped,
    which for SIGTERM would end the process before the bot had stopped; this one does not."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        before = {sig: signal.signal(sig, self.handle_exit) for sig in STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in before.items():
                signal.signal(sig, handler)


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves the process's signals to its host (the sandbox's terminal
    loop): Ctrl-C still ends the program, and `should_exit` stops the server."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def web_server(app: Starlette, host: str, port: int, *,
               own_signals: bool = True) -> uvicorn.Server:
    """`await server.serve()` runs it until Ctrl-C or SIGTERM (own_signals) or until
    `server.should_exit` is set."""
    config = uvicorn.Config(app=app, host=host, port=port, use_colors=False,
                            log_level="warning", lifespan="off", http="h11",
                            limit_concurrency=MAX_CONNECTIONS,
                            timeout_keep_alive=KEEP_ALIVE_SECONDS,
                            h11_max_incomplete_event_size=MAX_HEADERS_BYTES,
                            timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS)
    return ForegroundServer(config) if own_signals else EmbeddedServer(config)
