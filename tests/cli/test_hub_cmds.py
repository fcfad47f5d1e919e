"""``list_models`` and the ``yolo-hf push / pull / list`` commands (and ``convert --push-to-hub``)."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.helpers import HUB_WARNINGS, MODEL_FILES
from yolo_transformers.cli import main
from yolo_transformers.hub import list_models, upload_model

pytestmark = HUB_WARNINGS


@pytest.fixture(scope="module")
def listed_repos(hub_server, converted_tiny_detector):
    """A public and a private model of alice and an unrelated repo, all named with a common prefix."""
    prefix = f"listing-{uuid.uuid4().hex[:6]}"
    token = hub_server.token("alice")
    public, private = f"alice/{prefix}-public", f"alice/{prefix}-private"
    upload_model(converted_tiny_detector, public, token=token)
    upload_model(converted_tiny_detector, private, token=token, private=True)
    api = hub_server.api("alice")
    api.create_repo(f"alice/{prefix}-other")
    card = b"---\ntags: [yolo]\n---\n"
    api.upload_file(path_or_fileobj=card, path_in_repo="README.md", repo_id=f"alice/{prefix}-other")
    return prefix, public, private


def test_list_models_shows_task_classes_and_respects_privacy(hub_server, listed_repos):
    prefix, public, private = listed_repos

    mine = list_models("alice", search=prefix, token=hub_server.token("alice", "read"))
    theirs = list_models("alice", search=prefix, token=hub_server.token("bob"))

    assert [row.repo_id for row in mine] == [private, public]  # newest first, other repo left out
    assert [row.repo_id for row in theirs] == [public]
    row = mine[1]
    assert (row.task, row.num_classes, row.private) == ("detect", 2, False)
    assert "yolo-transformers" in row.tags and row.last_modified is not None
    assert json.loads(json.dumps(row.to_dict()))["repo_id"] == public


def test_cli_list_table_and_json(hub_server, listed_repos, capsys):
    prefix, public, private = listed_repos

    assert main(["list", "--user", "alice", "--search", prefix, "--json", "--token", hub_server.token("alice")]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert main(["list", "--user", "alice", "--search", prefix]) == 0  # anonymous: public only
    table = capsys.readouterr().out.splitlines()
    assert main(["list", "--user", "alice", "--search", "nothing-matches-this"]) == 0

    assert [r["repo_id"] for r in rows] == [private, public] and rows[0]["num_classes"] == 2
    assert table[0].split() == ["REPO", "TASK", "CLASSES", "LAST", "MODIFIED", "VISIBILITY"]
    assert table[1].split()[:3] == [public, "detect", "2"] and len(table) == 2
    assert "no yolo-transformers models found" in capsys.readouterr().out


def test_cli_push_then_pull(hub_server, hub_repo_name, converted_tiny_detector, tmp_path, capsys):
    repo_id = hub_repo_name()
    token = hub_server.token("alice")
    push = ["push", "--model", str(converted_tiny_detector), "--repo", repo_id, "--token", token]

    assert main([*push, "--tag", "v1.0", "--message", "first release"]) == 0
    first = capsys.readouterr().out
    assert main(push) == 0
    second = capsys.readouterr().out
    assert main(["pull", "--repo", repo_id, "--revision", "v1.0", "--output", str(tmp_path / "v1")]) == 0
    pulled = capsys.readouterr().out.strip()

    assert f"pushed {converted_tiny_detector} to {repo_id}@main" in first and "tagged v1.0" in first
    assert first.strip().endswith(f"{hub_server.endpoint}/{repo_id}")
    assert "no new commit" in second and "--overwrite-card" in second
    assert hub_server.repo(repo_id).history("main")[0].title == "first release"
    assert pulled == str(tmp_path / "v1")
    assert MODEL_FILES <= {p.name for p in (tmp_path / "v1").iterdir()}


def test_cli_errors_are_one_line_with_exit_codes(hub_server, converted_tiny_detector, capsys):
    assert main(["push", "--model", str(converted_tiny_detector), "--repo", "alice/x"]) == 1  # no token anywhere
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("yolo-hf push: error: cannot push: no Hugging Face token found")
    assert "HF_TOKEN" in err[0] and "hf auth login" in err[0] and "YOLO_HF_TRACEBACK" in err[1] and len(err) == 2

    assert main(["pull", "--repo", "alice/does-not-exist"]) == 1
    assert "alice/does-not-exist not found" in capsys.readouterr().err

    with pytest.raises(SystemExit) as usage:
        main(["push", "--model", str(converted_tiny_detector)])  # --repo missing
    assert usage.value.code == 2
    with pytest.raises(SystemExit) as usage:
        main(["pull", "--repo", "alice/x", "--format", "onnx"])
    assert usage.value.code == 2


@pytest.mark.parametrize("command", ["push", "pull", "list"])
def test_cli_help_has_examples(command, capsys):
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert "examples:" in text and f"yolo-hf {command} " in text


def test_convert_push_to_hub(hub_server, hub_repo_name, tiny_detector_pt, shapes_images, tmp_path, capsys):
    repo_id = hub_repo_name()
    argv = ["convert", str(tiny_detector_pt), "--output", str(tmp_path / "out"), "--image", str(shapes_images[0]),
            "--push-to-hub", repo_id, "--token", hub_server.token("alice"), "--private"]

    assert main(argv) == 0

    assert f"pushed to {hub_server.endpoint}/{repo_id}" in capsys.readouterr().out
    assert MODEL_FILES | {"README.md"} <= set(hub_server.files(repo_id))
    assert hub_server.api("alice").model_info(repo_id).private
