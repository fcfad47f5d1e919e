"""Fault injection and request recording, so tests can break the server on purpose and see what the client sent."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import DropConnection, HubError

if TYPE_CHECKING:
    from .protocol import Request

__all__ = ["Fault", "FaultInjector", "RequestLog", "RequestRecord"]


@dataclass
class Fault:
    """One planned failure of a route.

    Attributes:
        route: Route name (``"lfs_upload"``, ``"commit"``, ``"preupload"``, ``"lfs_batch"``, ``"resolve"`` ...).
        status: HTTP status to answer with; ``None`` drops the connection (midway through the body).
        match: Only requests whose key equals this fail: the LFS oid for ``lfs_upload``/``lfs_verify``,
            the repo id otherwise. ``None`` matches every request of the route.
        times: How many requests fail; ``None`` means all of them until cleared.
        message: Error message sent with ``status``.
        hits: How many requests this fault has failed so far.
    """

    route: str
    status: int | None = 500
    match: str | None = None
    times: int | None = 1
    message: str = "Failure injected by the test"
    hits: int = 0

    def wants(self, route: str, key: str | None) -> bool:
        """Whether this fault applies to a request (and still has failures left)."""
        if route != self.route or (self.match is not None and key != self.match):
            return False
        return self.times is None or self.hits < self.times


class FaultInjector:
    """Planned failures, checked before every route handler runs."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        """Plan a failure; the returned object shows how often it fired (``hits``)."""
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Forget every planned failure."""
        with self._lock:
            self._faults.clear()

    def apply(self, route: str, request: Request) -> None:
        """Fail the request if a planned fault applies.

        Raises:
            HubError: For a fault with a status.
            DropConnection: For a fault without status, after reading half of the body.
        """
        key = request.params.get("oid") or _repo_key(request)
        with self._lock:
            fault = next((f for f in self._faults if f.wants(route, key)), None)
            if fault is None:
                return
            fault.hits += 1
        if fault.status is not None:
            raise HubError(fault.status, fault.message)
        if request.reader is not None and request.reader.length:
            request.reader.read_some(request.reader.length // 2)
        raise DropConnection()


def _repo_key(request: Request) -> str | None:
    """The ``namespace/name`` a request is about, if its route has one."""
    namespace, name = request.params.get("ns"), request.params.get("name")
    return f"{namespace}/{name}" if namespace and name else None


@dataclass(frozen=True)
class RequestRecord:
    """What the server saw of one request.

    Attributes:
        method: HTTP method.
        path: Raw path (percent-encoded).
        route: Name of the matched route (``"-"`` when none).
        status: Status answered (0 when the connection was dropped).
        authorized: Whether an ``Authorization`` header was sent.
        user: Authenticated user, if any.
    """

    method: str
    path: str
    route: str
    status: int
    authorized: bool
    user: str | None


class RequestLog:
    """Records requests for the tests that ask for it (see :meth:`capture`)."""

    def __init__(self) -> None:
        self._listeners: list[list[RequestRecord]] = []
        self._lock = threading.Lock()

    def record(self, request: Request, route: str, status: int) -> None:
        """Add a request to every active capture."""
        entry = RequestRecord(
            method=request.method,
            path=request.path,
            route=route,
            status=status,
            authorized=request.headers.get("Authorization") is not None,
            user=request.identity.user if request.identity else None,
        )
        with self._lock:
            for listener in self._listeners:
                listener.append(entry)

    @contextmanager
    def capture(self) -> Iterator[list[RequestRecord]]:
        """Collect the requests received inside the ``with`` block into the yielded list."""
        records: list[RequestRecord] = []
        with self._lock:
            self._listeners.append(records)
        try:
            yield records
        finally:
            with self._lock:
                self._listeners.remove(records)
