"""Push delivery: build the request the cloud would send and send it over one aiohttp session."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import quote

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from . import names
from .clock import US
from .config import Settings
from .engine.attempts import EXCERPT_BYTES, AttemptContext, Outcome
from .faults import Faults, act_out
from .model import AppEngineRequest, HttpRequest, Queue, Routing, Task, Token
from .tokens import TokenMinter
from .urls import apply_uri_override

logger = logging.getLogger(__name__)

Request = tuple[str, str, CIMultiDict[str], bytes]  # method, url, headers, body
_NO_BODY_METHODS = ("GET", "HEAD", "DELETE", "OPTIONS")
MAX_RESPONSE_READ = 64 * 1024
# Every printable ASCII character but space goes on the wire as given, so escapes stay as they are.
_WIRE_SAFE = "".join(chr(c) for c in range(0x21, 0x7F))


class Dispatcher:
    """Delivers attempts; the scheduler decides when and what the outcome means."""

    def __init__(self, settings: Settings, tokens: TokenMinter, faults: Faults | None = None) -> None:
        self.settings = settings
        self.tokens = tokens
        self.faults = faults or Faults()
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=0, force_close=False)
        # Deadlines come from the scheduler (virtual-clock aware), so no client timeout here.
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=None), auto_decompress=False
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def deliver(self, queue: Queue, task: Task, context: AttemptContext, outcome: Outcome) -> None:
        """Send one attempt, filling `outcome` (url first, then status or error)."""
        assert self._session is not None
        method, url, headers, body = self.build(queue, task, context)
        outcome.url = url
        outcome.request_headers = dict(headers)
        if (fault := self.faults.for_dispatch(url)) is not None:
            return act_out(fault, outcome)
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            async with self._session.request(
                method,
                wire_url(url),
                headers=headers,
                data=body if body else None,
                allow_redirects=False,
                skip_auto_headers=("Accept", "Accept-Encoding", "Content-Type", "User-Agent"),
            ) as response:
                outcome.status = response.status
                # Only the status matters: read a little to keep the connection reusable, and drop
                # the connection rather than read a huge body.
                outcome.response_excerpt = (await response.content.read(MAX_RESPONSE_READ))[:EXCERPT_BYTES]
                if not response.content.at_eof():
                    response.close()
        except (aiohttp.ClientError, OSError, ValueError) as error:
            outcome.error = f"{type(error).__name__}: {error}"
        finally:
            outcome.latency_s = loop.time() - started

    def build(self, queue: Queue, task: Task, context: AttemptContext) -> Request:
        task_id, queue_id = names.short_id(task.name), names.short_id(queue.name)
        payload = task.payload
        if isinstance(payload, AppEngineRequest):
            method, url, headers, body = self._app_engine(queue, payload)
            prefix = "X-AppEngine-"
        elif isinstance(payload, HttpRequest):
            method, url, headers, body = self._http(queue, payload)
            prefix = "X-CloudTasks-"
        else:
            raise ValueError("pull tasks are not pushed")
        headers[f"{prefix}QueueName"] = queue_id
        headers[f"{prefix}TaskName"] = task_id
        headers[f"{prefix}TaskRetryCount"] = str(context.retry_count)
        headers[f"{prefix}TaskExecutionCount"] = str(context.execution_count)
        headers[f"{prefix}TaskETA"] = f"{context.eta_us / US:.6f}"
        if context.previous_response is not None:
            headers[f"{prefix}TaskPreviousResponse"] = str(context.previous_response)
        if context.retry_reason is not None:
            headers[f"{prefix}TaskRetryReason"] = context.retry_reason
        return method, url, headers, body

    def _app_engine(self, queue: Queue, payload: AppEngineRequest) -> Request:
        routing = queue.app_engine_routing_override or payload.routing or Routing()
        base = self.settings.app_engine_services.get(routing.service, self.settings.app_engine_url)
        return (
            payload.http_method,
            base.rstrip("/") + payload.relative_uri,
            CIMultiDict(payload.headers),
            payload.body,
        )

    def _http(self, queue: Queue, payload: HttpRequest) -> Request:
        target = queue.http_target
        url, method, body, token = payload.url, payload.http_method, payload.body, payload.token
        headers: CIMultiDict[str] = CIMultiDict(payload.headers)
        if target is not None:
            url = apply_uri_override(url, target.uri_override)
            if target.http_method != "HTTP_METHOD_UNSPECIFIED":
                method = target.http_method
            for key, value in target.header_overrides:
                headers[key] = value
            token = target.token or token
        if method in _NO_BODY_METHODS:
            body = b""
        if token is not None:
            headers["Authorization"] = f"Bearer {self._mint(token, url)}"
        return method, url, headers, body

    def _mint(self, token: Token, url: str) -> str:
        if token.kind == "oidc":
            return self.tokens.oidc(token.service_account_email, token.scope_or_audience or url)
        return self.tokens.oauth(token.service_account_email, token.scope_or_audience)


def wire_url(url: str) -> URL:
    """The URL as the handler must see it: byte for byte (escapes, `+`, order and dot segments kept);
    only spaces, controls and non-ASCII characters, which cannot go on a request line, are escaped."""
    return URL(quote(url, safe=_WIRE_SAFE), encoded=True)
