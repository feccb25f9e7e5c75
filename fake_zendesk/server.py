"""`FakeZendesk`: a local HTTP server that behaves like Zendesk's ticket export API."""

from __future__ import annotations

import logging
import socket
import struct
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Literal, Self
from urllib.parse import parse_qsl, urlsplit

from fake_zendesk.auth import Authenticator, Credentials, auth_scheme
from fake_zendesk.clock import Clock, RealClock
from fake_zendesk.errors import ApiError
from fake_zendesk.faults import FaultQueue
from fake_zendesk.ratelimit import RateLimiter
from fake_zendesk.responses import Response, json_response
from fake_zendesk.routes import IncomingRequest, route

if TYPE_CHECKING:
    from types import TracebackType

    from fake_zendesk.account import Account

logger = logging.getLogger("fake_zendesk")

RequestCallback = Callable[["FakeZendesk", int], None]
HOST = "127.0.0.1"


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request the server received, without any credential values.

    Attributes:
        method: HTTP method.
        path: Path without the query string.
        query: Query parameters; a repeated name keeps its last value.
        status: Response status, or 0 when the connection was reset instead.
        auth: Kind of credentials sent: `basic`, `bearer` or `none`.
    """

    method: str
    path: str
    query: dict[str, str]
    status: int
    auth: Literal["basic", "bearer", "none"]


class FakeZendesk:
    """A Zendesk-compatible server for the incremental ticket export.

    It serves the time-based and cursor-based ticket exports, ticket fields, the
    OAuth token endpoint and a few `/_fake/` admin endpoints, on 127.0.0.1 only.
    Use it as a context manager, or call `start` and `stop`.
    """

    def __init__(  # noqa: PLR0913 - the public API takes one keyword per setting
        self,
        account: Account,
        *,
        clock: Clock | None = None,
        email: str = "agent@example.com",
        api_token: str | None = None,
        access_tokens: Iterable[str] = (),
        oauth_clients: Mapping[str, str] | None = None,
        refresh_tokens: Iterable[str] = (),
        token_lifetime: float = 1800,
        rate_limit_per_minute: int | None = None,
        same_second: Literal["grow", "stall"] = "grow",
        max_per_page: int = 1000,
        admin: bool = True,
        port: int = 0,
    ) -> None:
        """Create a server for `account`; `start` begins serving.

        Args:
            account: The tickets and related objects to serve.
            clock: Source of the current time (default: the system clock).
            email: Email of the agent whose API token is accepted.
            api_token: API token accepted as Basic `{email}/token:{api_token}`;
                None accepts no API token.
            access_tokens: Static OAuth access tokens accepted as Bearer tokens.
            oauth_clients: OAuth client ids and their secrets.
            refresh_tokens: Refresh tokens accepted once each by the
                `refresh_token` grant.
            token_lifetime: Lifetime of issued access tokens in clock seconds.
            rate_limit_per_minute: Export requests allowed per rolling 60 clock
                seconds (Zendesk allows 10), or None for no limit.
            same_second: How a page ends inside a second shared by many tickets:
                `grow` takes the whole second, `stall` repeats the same page.
            max_per_page: Largest page size; a larger `per_page` is lowered to it.
            admin: Whether the credentials belong to an admin. If False, the
                export responds with 403.
            port: TCP port on 127.0.0.1; 0 picks a free one.

        Raises:
            ValueError: If `same_second`, `max_per_page` or the rate limit is
                invalid.
        """
        if same_second not in {"grow", "stall"}:
            message = f"same_second must be 'grow' or 'stall', got {same_second!r}"
            raise ValueError(message)
        if max_per_page < 1:
            message = f"max_per_page must be at least 1, got {max_per_page}"
            raise ValueError(message)
        self.account = account
        self.clock: Clock = clock or RealClock()
        self.same_second = same_second
        self.max_per_page = max_per_page
        self.admin = admin
        self.port = port
        credentials = Credentials(
            email=email,
            api_token=api_token,
            access_tokens=frozenset(access_tokens),
            oauth_clients=dict(oauth_clients or {}),
            refresh_tokens=frozenset(refresh_tokens),
            token_lifetime=token_lifetime,
        )
        self.auth = Authenticator(self.clock, credentials)
        self.limiter = RateLimiter(rate_limit_per_minute, self.clock)
        self.faults = FaultQueue()
        self.next_page_host: str | None = None
        self.forced_status: int | None = None
        self.url = ""
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._callbacks: list[RequestCallback] = []
        self._export_count = 0
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of every request received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    def start(self) -> str:
        """Start serving in a background thread and return the base URL.

        Raises:
            RuntimeError: If the server is already running.
        """
        if self._httpd is not None:
            message = f"fake Zendesk is already running at {self.url}"
            raise RuntimeError(message)
        self._httpd = _HTTPServer((HOST, self.port), self)
        port = self._httpd.server_address[1]
        self.url = f"http://{HOST}:{port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"fake-zendesk-{port}",
            daemon=True,
        )
        self._thread.start()
        logger.info("fake Zendesk listening on %s", self.url)
        return self.url

    def stop(self) -> None:
        """Stop serving and close every open connection; safe to call twice."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        logger.info("fake Zendesk at %s stopped", self.url)

    def __enter__(self) -> Self:
        """Start the server and return it."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop the server."""
        self.stop()

    def on_request(self, callback: RequestCallback) -> None:
        """Call `callback(server, number)` before each export request is served.

        `number` counts export requests from 1. The callback runs after
        authentication but before the rate limiter and faults, so requests that
        are then rejected with 429 or hit by a fault are counted too. Use it to
        change the account in the middle of an export.
        """
        with self._lock:
            self._callbacks.append(callback)

    def revoke_tokens(self) -> None:
        """Invalidate every static and issued access token; refresh tokens stay."""
        self.auth.revoke_tokens()

    def set_status(self, status: int | None) -> None:
        """Make every `/api/v2` request fail with `status`; None turns this off.

        The body is Zendesk's error envelope for that status.
        """
        self.forced_status = status

    def run_request_callbacks(self) -> None:
        """Number the current export request and run the `on_request` callbacks."""
        with self._lock:
            self._export_count += 1
            number = self._export_count
            callbacks = list(self._callbacks)
        for callback in callbacks:
            callback(self, number)

    def respond(self, request: IncomingRequest) -> Response:
        """Return the response to `request` and record the request."""
        try:
            response = route(self, request)
        except ApiError as error:
            response = json_response(error.status, error.body, error.headers)
        except Exception:
            # A failing on_request callback or a bug in the fake: keep serving and
            # report the error to both the client and the log.
            logger.exception("request %s %s failed", request.method, request.path)
            body = {"error": "InternalError", "description": "The fake server failed"}
            response = json_response(500, body)
        recorded = RecordedRequest(
            method=request.method,
            path=request.path,
            query=request.params,
            status=response.status,
            auth=auth_scheme(request.headers.get("Authorization")),
        )
        with self._lock:
            self._requests.append(recorded)
        logger.debug("%s %s -> %s", request.method, request.path, response.status)
        return response


class _HTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that tracks connections so `stop` can close them."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: FakeZendesk) -> None:
        self.app = app
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def close_connections(self) -> None:
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                logger.debug("connection was already closed")


class _Handler(BaseHTTPRequestHandler):
    """Turn HTTP requests into `IncomingRequest`s and write the responses."""

    protocol_version = "HTTP/1.1"
    server_version = "fake-zendesk"
    sys_version = ""
    disable_nagle_algorithm = True
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            logger.debug("client closed the connection before the response ended")

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log nothing: `FakeZendesk.respond` logs every request already."""

    def log_message(self, message_format: str, *args: object) -> None:
        """Send http.server's error messages to the debug log instead of stderr."""
        logger.debug(message_format, *args)

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        url = urlsplit(self.path)
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address)
        request = IncomingRequest(
            method=self.command,
            path=url.path,
            query=parse_qsl(url.query, keep_blank_values=True),
            headers=self.headers,
            body=body,
            host=host,
        )
        response = self.server.app.respond(request)
        try:
            self._write(response)
        except (BrokenPipeError, ConnectionResetError):
            logger.debug("client closed the connection before the response was sent")
            self.close_connection = True

    def _write(self, response: Response) -> None:
        if response.delay > 0:
            threading.Event().wait(response.delay)
        if response.delivery == "reset":
            # Linger 0 makes close() send a TCP reset instead of a normal FIN.
            linger = struct.pack("ii", 1, 0)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            self.close_connection = True
            self.rfile.close()
            self.connection.close()
            return
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        body = response.body
        if response.delivery == "truncate":
            body = body[: len(body) // 2]
            self.close_connection = True
        self.wfile.write(body)
