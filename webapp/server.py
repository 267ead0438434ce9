"""Serving the Mini App in the bot's own event loop (python-telegram-bot's custom-webhook
example does the same with Starlette and uvicorn): no second process to run."""

from __future__ import annotations

import contextlib
from collections.abc import Generator

import uvicorn
from starlette.applications import Starlette


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves the process's signals to its host (the sandbox's terminal
    loop): Ctrl-C still ends the program, and `should_exit` stops the server."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def web_server(app: Starlette, host: str, port: int, *,
               own_signals: bool = True) -> uvicorn.Server:
    """`await server.serve()` runs it until Ctrl-C (own_signals) or `server.should_exit`."""
    config = uvicorn.Config(app=app, host=host, port=port, use_colors=False,
                            log_level="warning", lifespan="off")
    return uvicorn.Server(config) if own_signals else EmbeddedServer(config)
