"""One port for both protocols: the first bytes of a connection choose gRPC or HTTP/1.1.

grpcio cannot serve HTTP/1.1 nor adopt a socket it did not accept (grpc/grpc#8043), and aiohttp
speaks no HTTP/2. So the main port is an asyncio server of our own: a connection that opens with
the HTTP/2 preface (gRPC clients send it at once, "prior knowledge") is relayed byte for byte to
the gRPC server's private listener (a Unix socket where there are any); any other connection is
handed, with the bytes read so far, to aiohttp's protocol, which then owns the socket. The HTTP-only
port is served the same way, without the gRPC choice.

A connection must have sent the preface, or a whole HTTP request head, within `head_timeout_s` of
opening: until then it stays here (HTTP's bytes are handed over only with the end of the head), and a
timer closes it if it stalls, whatever aiohttp version runs (older ones have no timer of their own
before a first request). After the hand-over, idleness is aiohttp's keep-alive and gRPC's
own business: a request in progress, a live feed or a call in progress is never idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import socket
import tempfile
from collections.abc import Callable
from typing import cast

from aiohttp import web
from aiohttp.web_runner import BaseSite

from ..config import MAX_HTTP_HEADERS, MAX_HTTP_LINE

HttpFactory = Callable[[], asyncio.Protocol]

logger = logging.getLogger(__name__)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
# The blank line that ends a request head (bare LF line ends included: the parser decides on those).
_HEAD_END = re.compile(rb"\n\r?\n")
# More bytes than any head aiohttp accepts: past them without a blank line, its parser refuses the request.
_MAX_HEAD = (MAX_HTTP_HEADERS + 1) * (MAX_HTTP_LINE + 2) + 2


class GrpcBackend:
    """Where the relay reaches the gRPC server: a Unix socket in a private directory, else loopback TCP."""

    def __init__(self) -> None:
        self.unix = hasattr(socket, "AF_UNIX")
        self._dir = tempfile.mkdtemp(prefix="cloudtasks-emu-") if self.unix else ""
        self.path = os.path.join(self._dir, "grpc.sock") if self.unix else ""
        self.port = 0

    @property
    def bind_address(self) -> str:
        return f"unix:{self.path}" if self.unix else "127.0.0.1:0"

    async def connect(self, factory: Callable[[], asyncio.Protocol]) -> asyncio.Transport:
        loop = asyncio.get_running_loop()
        if self.unix:
            transport, _ = await loop.create_unix_connection(factory, self.path)
        else:
            transport, _ = await loop.create_connection(factory, "127.0.0.1", self.port)
        return transport

    def cleanup(self) -> None:
        if self.unix:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            with contextlib.suppress(OSError):
                os.rmdir(self._dir)


class _Pipe(asyncio.Protocol):
    """One direction's sink: what arrives here is written to `peer`, with back-pressure both ways."""

    def __init__(self, peer: asyncio.Transport) -> None:
        self.peer = peer
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass it

    def data_received(self, data: bytes) -> None:
        self.peer.write(data)

    def eof_received(self) -> bool:
        if self.peer.can_write_eof():
            self.peer.write_eof()
            return True
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.peer.close()

    # The peer's write buffer is full: stop reading here until it drains.
    def pause_writing(self) -> None:
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None:
            self.transport.resume_reading()


class _Sniffer(asyncio.Protocol):
    """Reads until the bytes are the HTTP/2 preface or a whole HTTP request head, then gets out of the
    way; closes the connection if neither has come within `head_timeout_s`."""

    def __init__(
        self, http: HttpFactory, backend: GrpcBackend | None, relays: set[asyncio.Task[None]], head_timeout_s: float
    ) -> None:
        self.http, self.backend, self.relays = http, backend, relays
        self.head_timeout_s = head_timeout_s
        self.transport: asyncio.Transport | None = None
        self.seen = b""
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass it
        self._timer = asyncio.get_running_loop().call_later(self.head_timeout_s, self._expire)

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        start = max(len(self.seen) - 2, 0)  # the blank line may straddle two reads
        self.seen += data
        size = min(len(self.seen), len(PREFACE))
        if self.backend is not None and self.seen[:size] == PREFACE[:size]:
            if size == len(PREFACE):
                self._stop_timer()
                self.transport.pause_reading()
                task = asyncio.get_running_loop().create_task(self._to_grpc())
                self.relays.add(task)
                task.add_done_callback(self.relays.discard)
        elif _HEAD_END.search(self.seen, start) or len(self.seen) > _MAX_HEAD:
            self._stop_timer()
            self._to_http()

    def _expire(self) -> None:
        self._timer = None
        assert self.transport is not None
        logger.debug("closed a connection that sent no request within %g s", self.head_timeout_s)
        self.transport.abort()

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _to_http(self) -> None:
        assert self.transport is not None
        protocol = self.http()
        self.transport.set_protocol(protocol)
        protocol.connection_made(self.transport)
        protocol.data_received(self.seen)

    async def _to_grpc(self) -> None:
        client, backend = self.transport, self.backend
        assert client is not None
        assert backend is not None
        try:
            upstream = await backend.connect(lambda: _Pipe(client))
        except OSError as error:
            logger.warning("cannot reach the gRPC server: %s", error)
            client.close()
            return
        if client.is_closing():  # the client left while we connected
            upstream.close()
            return
        sink = _Pipe(upstream)
        sink.connection_made(client)
        client.set_protocol(sink)
        upstream.write(self.seen)
        client.resume_reading()

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timer()


class FrontSite(BaseSite):
    """An aiohttp site whose port also answers gRPC, relayed to `backend` (HTTP only if None)."""

    __slots__ = ("_backend", "_bound_port", "_head_timeout_s", "_host", "_http", "_port", "_relays")

    def __init__(
        self,
        runner: web.AppRunner,
        http: HttpFactory,
        host: str,
        port: int,
        backend: GrpcBackend | None,
        head_timeout_s: float,
    ) -> None:
        super().__init__(runner)
        self._http, self._host, self._port, self._backend = http, host, port, backend
        self._head_timeout_s = head_timeout_s
        self._bound_port = port
        self._relays: set[asyncio.Task[None]] = set()

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._bound_port}"

    @property
    def port(self) -> int:
        return self._bound_port

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Sniffer(self._http, self._backend, self._relays, self._head_timeout_s),
            self._host,
            self._port,
            reuse_port=False,
        )
        self._bound_port = self._server.sockets[0].getsockname()[1]
