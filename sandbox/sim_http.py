"""The offline Telegram over HTTP, for bots in other processes (`kaohe worker`, `kaohe run`
with [telegram] base_url pointed here): tests/concurrency and bench/bench_tap.py run the
simulator in a thread and its clients as real processes.

PTB posts a method's parameters as a form (multipart when it uploads a file), each value JSON
except plain strings; they are read back as the in-process transport hands them over, using
the Bot API's own types to tell a string from a number. (The form is parsed with the standard
library: Starlette's own parser needs python-multipart, which Kaohe does not otherwise use.)
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.simulator import TelegramSimulator


@dataclass
class _Posted:
    """What sim.serve reads of PTB's RequestData."""

    parameters: dict[str, Any] = field(default_factory=dict)
    multipart_data: dict[str, tuple[str | None, bytes, str | None]] = field(default_factory=dict)


def _value(sim: TelegramSimulator, method: str, name: str, raw: str) -> Any:
    spec = sim.spec.methods.get(method, {}).get(name)
    if spec is not None and spec.types == ("String",):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _read(body: bytes, content_type: str) -> _Posted:
    """A form, urlencoded or multipart (read with the standard library's email parser)."""
    posted = _Posted()
    if not content_type.startswith("multipart/"):
        posted.parameters = dict(parse_qsl(body.decode(), keep_blank_values=True))
        return posted
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        content = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(content, bytes):
            continue
        filename = part.get_filename()
        if filename is None:
            posted.parameters[name] = content.decode()
        else:
            posted.multipart_data[name] = (filename, content, part.get_content_type())
    return posted


def app(sim: TelegramSimulator) -> Starlette:
    async def endpoint(request: Request) -> Response:
        url = str(request.url)
        if request.method == "GET":
            status, body = await sim.serve(url, "GET", None)
            return Response(body, status)
        method = request.url.path.rsplit("/", 1)[-1]
        posted = _read(await request.body(), request.headers.get("content-type", ""))
        posted.parameters = {name: _value(sim, method, name, raw)
                             for name, raw in posted.parameters.items()}
        status, body = await sim.serve(url, "POST", posted)  # type: ignore[arg-type]
        return Response(body, status, media_type="application/json")

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=["GET", "POST"])])


class SimulatorServer:
    """The simulator served on 127.0.0.1 from a thread of its own, until `stop`."""

    def __init__(self, sim: TelegramSimulator) -> None:
        self.sim = sim
        config = uvicorn.Config(app(sim), host="127.0.0.1", port=0, log_level="warning",
                                lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, daemon=True, name="telegram-sim")
        self.port = 0

    def _serve(self) -> None:
        asyncio.run(self._server.serve())

    def start(self) -> SimulatorServer:
        self._thread.start()
        while not self._server.started:
            self._thread.join(0.02)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    @property
    def base_url(self) -> str:
        """[telegram] base_url for a client of this simulator."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
