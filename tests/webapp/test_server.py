"""`kaohe run` serves the dashboard in the foreground: SIGTERM (a service manager's stop) ends
the web server gracefully and hands control back, so the bot can stop in turn."""

from __future__ import annotations

import subprocess
import sys
import textwrap


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
