"""Guards every hostile-input test wears: no network connection, no marker file, no token in any output.

* ``network_guard`` (autouse): ``socket.connect``/``connect_ex``/``getaddrinfo``/``sendto`` to anything but the
  local Hub's loopback port are recorded and refused; the test fails if any was attempted.
* ``marker`` (autouse): a path every payload tries to create (``touch``); the test fails if it exists afterwards.
* ``no_token_in_output`` (autouse): no token of the local Hub's users, in any form, in stdout, stderr or logs.
* ``process_state``: torch's safe globals, thread count, environment and Ultralytics' patched attributes, to
  compare before and after a call.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.hub_server.fixtures import HUB
from tests.security.guards import assert_no_token, snapshot_process_state

_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def _hub_port() -> int:
    return int(HUB.endpoint.rsplit(":", 1)[1].split("/")[0])


def _allowed(address: object) -> bool:
    if isinstance(address, tuple) and len(address) >= 2:
        return str(address[0]) in _LOOPBACK and int(address[1]) == _hub_port()
    return False


@pytest.fixture(autouse=True)
def network_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[list]:
    """Refuse and record every connection or DNS lookup that is not to the local Hub."""
    attempts: list = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo, real_sendto = socket.getaddrinfo, socket.socket.sendto

    def connect(self, address):
        if self.family == socket.AF_UNIX or _allowed(address):
            return real_connect(self, address)
        attempts.append(("connect", address))
        raise OSError(f"network guard: connection to {address!r} refused")

    def connect_ex(self, address):
        if self.family == socket.AF_UNIX or _allowed(address):
            return real_connect_ex(self, address)
        attempts.append(("connect_ex", address))
        return 111  # ECONNREFUSED

    def getaddrinfo(host, port, *args, **kwargs):
        if str(host) in _LOOPBACK:
            return real_getaddrinfo(host, port, *args, **kwargs)
        attempts.append(("getaddrinfo", host, port))
        raise socket.gaierror(f"network guard: lookup of {host!r} refused")

    def sendto(self, data, *args):
        attempts.append(("sendto", args[-1] if args else None))
        raise OSError("network guard: sendto refused")

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "sendto", sendto)
    yield attempts
    assert not attempts, f"network access attempted: {attempts}"


@pytest.fixture(autouse=True)
def marker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The file a payload creates if it runs; asserted absent after the test."""
    path = tmp_path_factory.mktemp("marker") / "pwned"
    yield path
    assert not path.exists(), f"a hostile payload ran: {path} was created"


@pytest.fixture(autouse=True)
def no_token_in_output(capfd: pytest.CaptureFixture, caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail if any token of the local Hub's users shows, in any form, in the test's stdout, stderr or logs."""
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="yolo_transformers")  # third-party DEBUG logs are the user's to filter
    yield
    captured = capfd.readouterr()
    output = captured.out + captured.err + caplog.text
    for roles in HUB.users.values():
        for token in roles.values():
            assert_no_token(output, token)


@pytest.fixture
def process_state() -> dict:
    """The process state before the test body ran (see :func:`snapshot_process_state`)."""
    return snapshot_process_state()
