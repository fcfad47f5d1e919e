"""Tokens: where they come from, write-scope checks before any upload, and that they never leak."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from huggingface_hub import constants

from tests.hub_server.fixtures import HF_HOME
from tests.helpers import HUB_WARNINGS, WRITES
from yolo_transformers.cli import main
from yolo_transformers.errors import AuthenticationError
from yolo_transformers.hub import resolve_token, upload_model

pytestmark = HUB_WARNINGS


def _author(hub_server, repo_id: str) -> str:
    return hub_server.api("alice").list_repo_commits(repo_id)[0].authors[0]


def test_push_without_any_token_fails_before_contacting_the_hub(hub_server, hub_repo_name, converted_tiny_detector):
    with hub_server.capture_requests() as seen:
        with pytest.raises(AuthenticationError) as error:
            upload_model(converted_tiny_detector, hub_repo_name())

    assert seen == []
    message = str(error.value)
    assert "HF_TOKEN" in message and "hf auth login" in message and "write" in message and "\n" not in message


@pytest.mark.parametrize(
    ("user", "role", "expected", "fix"),
    [
        ("alice", "read", r"read token of 'alice'\) cannot write", "write scope"),
        ("bob", "write", "cannot write to the namespace 'alice'", "use a token of a member of 'alice'"),
    ],
)
def test_token_without_write_access_fails_before_any_upload(
    hub_server, hub_repo_name, converted_tiny_detector, user, role, expected, fix
):
    repo_id = hub_repo_name()

    with hub_server.capture_requests() as seen:
        with pytest.raises(AuthenticationError, match=expected) as error:
            upload_model(converted_tiny_detector, repo_id, token=hub_server.token(user, role))

    assert [r.route for r in seen] == ["whoami"]  # no create_repo, preupload, LFS or commit call
    assert fix in str(error.value)


def test_rejected_token_is_named_by_its_source_not_its_value(hub_server, hub_repo_name, converted_tiny_detector,
                                                             monkeypatch):
    fake = "hf_" + "Z" * 34
    monkeypatch.setenv("HF_TOKEN", fake)

    with hub_server.capture_requests() as seen:
        with pytest.raises(AuthenticationError, match="token from HF_TOKEN was rejected") as error:
            upload_model(converted_tiny_detector, hub_repo_name())

    assert fake not in str(error.value) and not WRITES & {r.route for r in seen}


def test_fine_grained_tokens_need_repo_write_on_the_target(hub_server, hub_repo_name, converted_tiny_detector):
    allowed, other = hub_repo_name(), hub_repo_name()
    hub_server.api("alice").create_repo(allowed)
    scoped = hub_server.fine_grained_token("alice", {f"model:{allowed}": ["repo.content.read", "repo.write"]})
    namespace_wide = hub_server.fine_grained_token("alice", {"alice": ["repo.content.read", "repo.write"]})

    assert upload_model(converted_tiny_detector, allowed, token=scoped).changed
    with hub_server.capture_requests() as seen:
        with pytest.raises(AuthenticationError, match=r"fineGrained token of 'alice'\) cannot write"):
            upload_model(converted_tiny_detector, other, token=scoped)
    assert [r.route for r in seen] == ["whoami"]
    assert upload_model(converted_tiny_detector, other, token=namespace_wide).changed  # and may create repos


def test_token_precedence_argument_then_env_then_login_store(
    hub_server, hub_repo_name, converted_tiny_detector, monkeypatch, tmp_path
):
    store = tmp_path / "stored-token"
    store.write_text(hub_server.token("carol"))
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(store))  # what `hf auth login` writes
    repo_id = hub_repo_name(owner="carol")

    assert resolve_token() == hub_server.token("carol")
    upload_model(converted_tiny_detector, repo_id)
    assert _author(hub_server, repo_id) == "carol"

    monkeypatch.setenv("HF_TOKEN", hub_server.token("bob"))
    assert resolve_token() == hub_server.token("bob")
    with pytest.raises(AuthenticationError, match="from HF_TOKEN"):  # bob's token wins over carol's stored login
        upload_model(converted_tiny_detector, repo_id)
    assert resolve_token(hub_server.token("carol")) == hub_server.token("carol")
    assert upload_model(converted_tiny_detector, repo_id, token=hub_server.token("carol"), overwrite_card=True)


def test_short_repo_name_goes_to_the_token_owner(hub_server, converted_tiny_detector):
    import uuid

    name = f"short-{uuid.uuid4().hex[:8]}"
    result = upload_model(converted_tiny_detector, name, token=hub_server.token("bob"))
    assert result.repo_id == f"bob/{name}" and "model.safetensors" in hub_server.files(f"bob/{name}")


def _scan(paths: list[Path], secrets: list[str]) -> list[str]:
    found = []
    for root in paths:
        for path in [root] if root.is_file() else root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                data = path.read_bytes()
                found += [f"{path}: {s[:6]}..." for s in secrets if s.encode() in data]
    return found


def test_tokens_never_appear_in_output_logs_errors_files_or_repos(
    hub_server, hub_repo_name, converted_tiny_detector, tmp_path, capsys, caplog, monkeypatch
):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("YOLO_HF_TRACEBACK", "")
    secrets = [token for roles in hub_server.users.values() for token in roles.values()]
    alice, bob = hub_server.token("alice"), hub_server.token("bob")
    repo_id = hub_repo_name()
    runs = [
        ["-v", "push", "--model", str(converted_tiny_detector), "--repo", repo_id, "--token", alice, "--tag", "v1"],
        ["-v", "push", "--model", str(converted_tiny_detector), "--repo", repo_id, "--token", bob],
        ["-v", "push", "--model", str(converted_tiny_detector), "--repo", repo_id, "--token", "hf_" + "Q" * 34],
        ["-v", "pull", "--repo", repo_id, "--token", alice, "--output", str(tmp_path / "hf")],
        ["-v", "pull", "--repo", repo_id, "--token", bob, "--format", "ultralytics", "--output", str(tmp_path / "ul")],
        ["-v", "pull", "--repo", repo_id + "-missing", "--token", bob],
        ["-v", "list", "--user", "alice", "--token", alice, "--json"],
    ]
    codes = [main(argv) for argv in runs]
    monkeypatch.setenv("HF_TOKEN", alice)
    codes.append(main(["push", "--model", str(converted_tiny_detector), "--repo", "bob/not-yours"]))

    assert codes == [0, 1, 1, 0, 0, 1, 0, 1]
    captured = capsys.readouterr()
    text = captured.out + captured.err + caplog.text
    assert "error:" in captured.err and "cannot write" in captured.err
    assert [s[:6] for s in secrets if s in text] == []
    assert (tmp_path / "ul" / f"{repo_id.split('/')[1]}.pt").is_file()
    assert _scan([tmp_path, Path(HF_HOME)], secrets) == []
    repo_bytes = b"".join(hub_server.files(repo_id).values())
    assert not [s for s in secrets if s.encode() in repo_bytes]
