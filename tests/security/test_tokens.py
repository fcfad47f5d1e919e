"""Tokens (attack classes 11-12): malformed tokens are refused before any request, and a token never appears in
any output, in any form (raw, repr-escaped, URL-encoded), including full tracebacks of chained exceptions."""

from __future__ import annotations

import logging
from urllib.parse import quote

import pytest

from tests.helpers import HUB_WARNINGS
from tests.hub_server.faults import Fault
from tests.security.guards import assert_no_token
from yolo_transformers.cli import main
from yolo_transformers.errors import AuthenticationError, HubError
from yolo_transformers.hub import list_models, upload_model
from yolo_transformers.hub.errors import redact

pytestmark = HUB_WARNINGS


@pytest.mark.parametrize("inside", ["\n", " ", "\t", "\r\n", "\x00", "\x1b[31m", "\u200b"])
def test_tokens_with_whitespace_or_control_characters_are_refused_up_front(inside, hub_server, hub_repo_name,
                                                                           converted_tiny_detector, caplog):
    real = hub_server.token("alice")
    token = real[:10] + inside + real[10:]
    repo_id = hub_repo_name()
    with hub_server.capture_requests() as seen, caplog.at_level(logging.DEBUG):
        with pytest.raises(AuthenticationError, match="whitespace, a control") as error:
            upload_model(converted_tiny_detector, repo_id, token=token)
        with pytest.raises(AuthenticationError):
            list_models("alice", token=token)
    assert not seen  # refused before any request
    for text in (str(error.value), caplog.text):
        assert_no_token(text, token)
        assert_no_token(text, real)


def test_tokens_from_the_environment_are_checked_too(hub_server, monkeypatch, capfd):
    token = hub_server.token("alice")[:8] + " " + hub_server.token("alice")[8:]
    monkeypatch.setenv("HF_TOKEN", token)
    assert main(["list", "--user", "alice"]) == 1
    captured = capfd.readouterr()
    assert "HF_TOKEN" in captured.err and "whitespace" in captured.err
    assert_no_token(captured.out + captured.err, token)


@pytest.mark.parametrize("form", ["raw", "repr", "url"])
def test_every_form_of_a_token_is_redacted(form):
    token = "hf_" + "AbC123" * 5 + "/+="
    shown = {"raw": token, "repr": repr(token)[1:-1], "url": quote(token, safe="")}[form]
    message = f"server said: bad credentials {shown}!"
    assert_no_token(redact(message, token), token)
    assert "server said: bad credentials" in redact(message, token)


def _echoing_server(hub_server, token: str) -> None:
    """The Hub (or a proxy) echoes the token in its error body, in every form, on the listing route."""
    hub_server.faults.add(Fault("list_repos", status=400, times=None,  # 4xx: not retried
                                message=f"upstream rejected Bearer {token} ({token!r}, {quote(token, safe='')})"))


@pytest.mark.parametrize("traceback_env", [None, "1"])
def test_cli_output_never_shows_the_token(traceback_env, hub_faults, monkeypatch, capfd, caplog):
    token = hub_faults.token("alice")
    _echoing_server(hub_faults, token)
    if traceback_env:
        monkeypatch.setenv("YOLO_HF_TRACEBACK", traceback_env)
    else:
        monkeypatch.delenv("YOLO_HF_TRACEBACK", raising=False)
    with caplog.at_level(logging.DEBUG):
        assert main(["list", "--user", "alice", "--token", token]) == 1
    captured = capfd.readouterr()
    output = captured.out + captured.err + caplog.text
    assert_no_token(output, token)
    if traceback_env:  # the whole chain was printed, server message included, redacted
        assert "Traceback" in captured.err and "upstream rejected Bearer hf_***" in captured.err
        assert "direct cause" in captured.err or "During handling" in captured.err


def test_cli_process_with_debug_logs_never_shows_the_token(hub_faults, tmp_path):
    """A real ``yolo-hf -v`` process (its own stderr handler, HTTP debug logs on) against an echoing server."""
    import os
    import subprocess
    import sys

    token = hub_faults.token("alice")
    _echoing_server(hub_faults, token)
    env = {**os.environ, "YOLO_HF_TRACEBACK": "1"}
    process = subprocess.run([sys.executable, "-m", "yolo_transformers", "-v", "list", "--user", "alice", "--token",
                              token], capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert process.returncode == 1
    assert "X-Error-Message" in process.stderr or "upstream rejected" in process.stderr  # the echo was logged
    assert_no_token(process.stdout + process.stderr, token)


def test_api_errors_never_show_the_token(hub_faults):
    token = hub_faults.token("alice")
    _echoing_server(hub_faults, token)
    with pytest.raises(HubError) as error:
        list_models("alice", token=token)
    assert_no_token(str(error.value), token)
