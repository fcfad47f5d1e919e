"""HTTP plumbing of the test Hub: requests, responses, routing and the request handler.

The handler speaks HTTP/1.1 with keep-alive (the client pools connections), reads
``Content-Length`` and chunked bodies, streams file responses from disk, and turns
:class:`~.errors.HubError` into the Hub's error format (JSON ``error`` plus
``X-Error-Code``/``X-Error-Message`` headers).
"""

from __future__ import annotations

import json
import logging
import re
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import parse_qs, urlsplit

from .auth import Identity
from .errors import DropConnection, HubError

if TYPE_CHECKING:
    from .server import HubServer

__all__ = ["HubRequestHandler", "Request", "Response", "Route", "Router"]

logger = logging.getLogger(__name__)

_CHUNK = 1024 * 1024
_MAX_BODY = 1024 * 1024 * 1024


# --------------------------------------------------------------------------- request / response


@dataclass
class Request:
    """One parsed request, as seen by route handlers.

    Attributes:
        method: HTTP method.
        path: Raw (still percent-encoded) path.
        query: Query parameters, every value a list.
        headers: Request headers.
        params: Named groups of the matched route pattern (raw, percent-encoded).
        identity: Authenticated caller, ``None`` when anonymous.
        reader: The body stream (``None`` until the body is framed).
    """

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    params: dict[str, str] = field(default_factory=dict)
    identity: Identity | None = None
    reader: BodyReader | None = field(default=None, repr=False)
    _body: bytes | None = field(default=None, repr=False)

    def arg(self, name: str, default: str | None = None) -> str | None:
        """First value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else default

    def flag(self, name: str) -> bool:
        """A boolean query parameter: ``true``/``True``/``1`` are true (httpx sends ``true``)."""
        return _truthy(self.arg(name))

    def body(self) -> bytes:
        """The whole request body (read once, then cached)."""
        if self._body is None:
            self._body = b"".join(self.iter_body()) if self.reader else b""
        return self._body

    def iter_body(self) -> Iterator[bytes]:
        """Stream the body in chunks (for uploads); only usable before :meth:`body`."""
        if self.reader is None:
            return iter(())
        return self.reader.chunks()

    def json(self) -> Any:
        """Decode a JSON body; 400 when it is not JSON."""
        raw = self.body()
        try:
            return json.loads(raw) if raw else {}
        except ValueError as err:
            raise HubError(400, f"Request body is not valid JSON: {err}") from err

    def form(self) -> dict[str, list[str]]:
        """Decode an ``application/x-www-form-urlencoded`` body (repeated keys kept)."""
        return parse_qs(self.body().decode("utf-8"), keep_blank_values=True)


def _truthy(value: str | None) -> bool:
    """Whether a query/form value means true."""
    return value is not None and value.strip().lower() in ("1", "true", "yes")


@dataclass
class Response:
    """A response: JSON/bytes ``body``, or a slice of a file on disk streamed in chunks."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    file: Path | None = None
    offset: int = 0
    length: int = 0

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        """A JSON response (``Content-Type: application/json``)."""
        body = json.dumps(data).encode()
        return cls(status, body, {"Content-Type": "application/json; charset=utf-8", **(headers or {})})

    @classmethod
    def from_error(cls, err: HubError) -> Response:
        """The Hub's error format for ``err``."""
        headers = {"X-Error-Message": _header_safe(err.message), **err.headers}
        if err.code:
            headers["X-Error-Code"] = err.code
        return cls.json({"error": err.message, **err.body}, err.status, headers)

    @property
    def content_length(self) -> int:
        """Number of bytes of the body."""
        return self.length if self.file is not None else len(self.body)


def _header_safe(text: str) -> str:
    """Make a message fit in an HTTP header: latin-1, one line, bounded length."""
    return " ".join(text.encode("latin-1", errors="replace").decode("latin-1").split())[:500]


# --------------------------------------------------------------------------- body reading


class BodyReader:
    """Reads a request body exactly once, ``Content-Length`` or chunked.

    Args:
        rfile: The connection's input stream.
        headers: Request headers.
    """

    def __init__(self, rfile: BinaryIO, headers: Message) -> None:
        self._rfile = rfile
        self._chunked = "chunked" in (headers.get("Transfer-Encoding") or "").lower()
        self._remaining = 0 if self._chunked else int(headers.get("Content-Length") or 0)
        if self._remaining > _MAX_BODY:
            raise HubError(413, "Request body too large for the test Hub")
        self._finished = not self._chunked and self._remaining == 0
        self._started = False

    @property
    def length(self) -> int | None:
        """Bytes left to read, ``None`` for chunked bodies."""
        return None if self._chunked else self._remaining

    def chunks(self, size: int = _CHUNK) -> Iterator[bytes]:
        """Yield the body; only the first call yields anything."""
        if self._started:
            return
        self._started = True
        yield from (self._chunked_chunks() if self._chunked else self._sized_chunks(size))

    def read_some(self, limit: int) -> None:
        """Read and discard up to ``limit`` bytes (used to fail an upload midway)."""
        if not self._chunked and not self._started:
            self._remaining -= len(self._rfile.read(min(limit, self._remaining)))

    def _sized_chunks(self, size: int) -> Iterator[bytes]:
        while self._remaining > 0:
            data = self._rfile.read(min(size, self._remaining))
            if not data:
                raise HubError(400, "Connection closed before the end of the request body")
            self._remaining -= len(data)
            yield data
        self._finished = True

    def _chunked_chunks(self) -> Iterator[bytes]:
        while True:
            size = int(self._rfile.readline(1024).split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self._rfile.readline(1024).strip():  # trailers
                    pass
                self._finished = True
                return
            yield self._rfile.read(size)
            self._rfile.readline(8)  # CRLF after each chunk

    def drain(self) -> bool:
        """Consume what the handler left unread; return whether the connection can be reused."""
        if not self._chunked and self._remaining > 0:
            self._started = False
            for _ in self._sized_chunks(_CHUNK):
                pass
        elif not self._started:
            for _ in self.chunks():
                pass
        return self._finished


# --------------------------------------------------------------------------- routing


Handler = Callable[["HubServer", Request], Response]


@dataclass(frozen=True)
class Route:
    """A named endpoint: methods, a pattern on the raw path, and its handler."""

    name: str
    methods: tuple[str, ...]
    pattern: re.Pattern[str]
    handler: Handler


class Router:
    """Ordered list of routes; the first whose pattern matches the path wins."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, name: str, methods: str, pattern: str, handler: Handler) -> None:
        """Register a route (``methods`` space separated, ``pattern`` anchored on the raw path)."""
        self.routes.append(Route(name, tuple(methods.split()), re.compile(f"^{pattern}$"), handler))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """Find the route of a request.

        Raises:
            HubError: 404 when no pattern matches, 405 when the method is not accepted.
        """
        allowed = False
        for route in self.routes:
            found = route.pattern.match(path)
            if found is None:
                continue
            if method in route.methods:
                return route, {k: v for k, v in found.groupdict().items() if v is not None}
            allowed = True
        if allowed:
            raise HubError(405, f"Method {method} not allowed on {path}")
        logger.warning("test Hub: no route for %s %s", method, path)
        raise HubError(404, f"Not found: {method} {path} is not implemented by the local test Hub")


# --------------------------------------------------------------------------- handler


class HubRequestHandler(BaseHTTPRequestHandler):
    """Dispatches every request of a connection to the routes of ``server.hub``."""

    protocol_version = "HTTP/1.1"
    server_version = "LocalTestHub/1.0"
    timeout = 120

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        """Handle GET."""
        self._dispatch()

    def do_HEAD(self) -> None:  # noqa: N802
        """Handle HEAD (same as GET, without body)."""
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802
        """Handle POST."""
        self._dispatch()

    def do_PUT(self) -> None:  # noqa: N802
        """Handle PUT."""
        self._dispatch()

    def do_DELETE(self) -> None:  # noqa: N802
        """Handle DELETE."""
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (signature of the base class)
        """Route http.server's access log to ``logging`` (debug level)."""
        logger.debug("test Hub: " + format, *args)

    @property
    def hub(self) -> HubServer:
        """The application this connection belongs to."""
        return self.server.hub  # type: ignore[attr-defined]

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        request = Request(self.command, url.path, parse_qs(url.query, keep_blank_values=True), self.headers)
        route_name = "-"
        try:
            request.reader = BodyReader(self.rfile, self.headers)
            route, request.params = self.hub.router.match(self.command, url.path)
            route_name = route.name
            request.identity = self.hub.auth.authenticate(self.headers.get("Authorization"))
            self.hub.faults.apply(route.name, request)
            response = route.handler(self.hub, request)
        except DropConnection:
            self.hub.requests.record(request, route_name, 0)
            self._drop()
            return
        except HubError as err:
            response = Response.from_error(err)
        except Exception as err:  # a server bug must still answer, and be visible in the logs
            logger.exception("test Hub: unhandled error on %s %s", self.command, self.path)
            response = Response.from_error(HubError(500, f"Internal error of the test Hub: {err!r}"))
        if request.reader is None or not request.reader.drain():
            self.close_connection = True  # the body was not read to its end: the connection is unusable
        self.hub.requests.record(request, route_name, response.status)
        self._send(response)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        headers = {"X-Request-Id": str(uuid.uuid4()), **response.headers}
        headers.setdefault("Content-Type", "application/octet-stream")
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(response.content_length))
        self.end_headers()
        if self.command == "HEAD":
            return
        if response.file is None:
            self.wfile.write(response.body)
            return
        with response.file.open("rb") as source:
            source.seek(response.offset)
            left = response.length
            while left > 0:
                data = source.read(min(_CHUNK, left))
                if not data:
                    break
                self.wfile.write(data)
                left -= len(data)
