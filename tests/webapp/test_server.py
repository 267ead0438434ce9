"""`kaohe run` serves the dashboard in the foreground: SIGTERM (a service manager's stop) ends
the web server gracefully and hands control back, so the bot can stop in turn; a client
holding connections open, or a stuck request, costs the bot nothing."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from webapp import server as server_module
from webapp.server import web_server


def test_sigterm_stops_the_server_and_returns_to_the_caller() -> None:
    script = textwrap.dedent("""
        import asyncio, os, signal
        from starlette.applications import Starlette
        from webapp.server import web_server

        async def main():
            server = web_server(Starlette(), "127.0.0.1", 0)
            loop = asyncio.get_running_loop()

            async def stop_soon():
                while not server.started:
                    await asyncio.sleep(0.05)
                os.kill(os.getpid(), signal.SIGTERM)

            stopper = loop.create_task(stop_soon())
            await server.serve()
            await stopper
            print("server stopped; the bot stops now")

        asyncio.run(main())
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "the bot stops now" in done.stdout


async def _serving(app: Starlette) -> tuple[uvicorn.Server, asyncio.Task[None], int]:
    server = web_server(app, "127.0.0.1", 0, own_signals=False)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    return server, task, server.servers[0].sockets[0].getsockname()[1]


async def _get(port: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTTP/1.1\r\nHost: dash\r\nConnection: close\r\n\r\n")
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return answer.split(b"\r\n", 1)[0]


async def ok(_request: Request) -> Response:
    return PlainTextResponse("ok")


def test_clients_holding_connections_open_get_no_more_than_the_limit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """uvicorn never closes a connection whose request stops half-way: without a limit, a
    client could hold open as many as it liked, using up the file descriptors the bot needs
    for Telegram and the database. Past the limit a request is answered 503 at once."""
    monkeypatch.setattr(server_module, "MAX_CONNECTIONS", 3)

    async def scenario() -> tuple[bytes, bytes]:
        server, task, port = await _serving(Starlette(routes=[Route("/", ok)]))
        slow = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]
        for _, writer in slow:
            writer.write(b"GET / HTTP/1.1\r\nHost: da")  # and nothing more
        await asyncio.sleep(0.2)
        refused = await _get(port)
        for _, writer in slow:
            writer.close()
        await asyncio.sleep(0.2)
        served = await _get(port)
        server.should_exit = True
        await task
        return refused, served

    assert asyncio.run(scenario()) == (b"HTTP/1.1 503 Service Unavailable", b"HTTP/1.1 200 OK")


def test_a_stuck_request_does_not_keep_the_server_from_stopping(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """On Ctrl-C or SIGTERM uvicorn waited for every running request, for ever by default: a
    stuck one kept `kaohe run` from stopping the bot. It is cancelled after the grace."""
    monkeypatch.setattr(server_module, "SHUTDOWN_GRACE_SECONDS", 1)

    async def stuck(_request: Request) -> Response:
        await asyncio.Event().wait()
        raise AssertionError("never answered")

    async def scenario() -> None:
        server, task, port = await _serving(Starlette(routes=[Route("/", stuck)]))
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nHost: dash\r\n\r\n")
        await asyncio.sleep(0.2)
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        writer.close()

    asyncio.run(scenario())
