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
                            log_level="warning", lifespan="off")
    return ForegroundServer(config) if own_signals else EmbeddedServer(config)
