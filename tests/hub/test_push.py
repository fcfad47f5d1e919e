"""``upload_model`` / ``model.push_to_hub`` against the local Hub: one commit, card, branches, tags, atomicity."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from huggingface_hub import ModelCard, hf_hub_download

from tests.helpers import HUB_WARNINGS, MODEL_FILES
from yolo_transformers import YoloForObjectDetection
from yolo_transformers.errors import HubConflictError, HubError
from yolo_transformers.hub import upload_model

pytestmark = HUB_WARNINGS


def test_push_checkpoint_is_one_verified_commit_with_card(hub_server, pushed_checkpoint, tiny_detector_pt):
    result = pushed_checkpoint
    repo_id = result.repo_id
    token = hub_server.token("alice")

    files = hub_server.files(repo_id)
    assert MODEL_FILES | {"README.md", "training_curves.png", ".gitattributes"} == set(files)
    assert files["training_curves.png"].startswith(b"\x89PNG")
    history = hub_server.repo(repo_id).history("main")
    assert len(history) == 2  # "initial commit" + exactly one commit with everything
    commit = hub_server.repo(repo_id).commits[result.commit_oid]
    assert commit.title.startswith("Upload yolov8 detect model (2 classes") and tiny_detector_pt.name in commit.title
    assert result.changed and result.card_written and result.revision == "main"
    assert str(result) == f"{hub_server.endpoint}/{repo_id}"
    config = json.loads(files["config.json"])
    assert len(config["source_sha256"]) == 64 and config["converter_version"]
    assert config["source_file"] == tiny_detector_pt.name
    assert token.encode() not in b"".join(files.values())

    card = ModelCard.load(hf_hub_download(repo_id, "README.md", token=token))
    assert card.data.license == "agpl-3.0" and card.data.pipeline_tag == "object-detection"
    assert {"yolo", "ultralytics", "detect", "yolo-transformers"} <= set(card.data.tags)
    metrics = {m.metric_type: m.metric_value for m in card.data.eval_results}
    assert metrics["mAP50"] == pytest.approx(config["metrics"]["metrics/mAP50(B)"], abs=1e-4)
    assert "training_curves.png" in card.text and "rectangle" in card.text


def test_unchanged_push_uploads_nothing_new(hub_server, hub_repo_name, converted_tiny_detector):
    repo_id = hub_repo_name()
    token = hub_server.token("alice")
    first = upload_model(converted_tiny_detector, repo_id, token=token)

    with hub_server.capture_requests() as seen:
        again = upload_model(converted_tiny_detector, repo_id, token=token)

    routes = [r.route for r in seen]
    assert "lfs_upload" not in routes and "commit" not in routes
    assert not again.changed and again.commit_oid == first.commit_oid == hub_server.head(repo_id)


def test_existing_readme_is_kept_unless_overwrite_card(hub_server, hub_repo_name, converted_tiny_detector):
    repo_id = hub_repo_name()
    alice = hub_server.api("alice")
    alice.create_repo(repo_id)
    mine = b"---\nlicense: agpl-3.0\n---\n# My own card, hand written\n"
    alice.upload_file(path_or_fileobj=mine, path_in_repo="README.md", repo_id=repo_id)

    kept = upload_model(converted_tiny_detector, repo_id, token=alice.token)
    assert hub_server.files(repo_id)["README.md"] == mine
    assert not kept.card_written and "model.safetensors" in hub_server.files(repo_id)
    assert "training_curves.png" not in hub_server.files(repo_id)  # assets go with the card they belong to

    replaced = upload_model(converted_tiny_detector, repo_id, token=alice.token, overwrite_card=True)
    assert replaced.card_written and replaced.changed
    assert b"yolo-transformers" in hub_server.files(repo_id)["README.md"]


def test_branch_push_creates_branch_from_main_and_tag_marks_the_commit(
    hub_server, hub_repo_name, converted_tiny_detector, model_variants
):
    repo_id = hub_repo_name()
    token = hub_server.token("alice")
    v1 = upload_model(converted_tiny_detector, repo_id, token=token, tag="v1.0")
    experiment = upload_model(model_variants(0), repo_id, token=token, revision="experiment",
                              commit_message="try a shifted bias")

    repo = hub_server.repo(repo_id)
    assert hub_server.head(repo_id) == v1.commit_oid  # main untouched
    assert repo.commits[experiment.commit_oid].parents == (v1.commit_oid,)  # branched from main
    assert repo.commits[experiment.commit_oid].title == "try a shifted bias"
    assert hub_server.head(repo_id, "v1.0") == v1.commit_oid
    assert experiment.url.endswith("/tree/experiment")
    refs = hub_server.api("alice").list_repo_refs(repo_id)
    assert {b.name for b in refs.branches} == {"main", "experiment"}
    assert [(t.name, t.target_commit) for t in refs.tags] == [("v1.0", v1.commit_oid)]

    again = upload_model(converted_tiny_detector, repo_id, token=token, tag="v1.0")  # same model, same tag: fine
    assert again.commit_oid == v1.commit_oid
    with pytest.raises(HubError, match="tag 'v1.0' already exists"):
        upload_model(model_variants(1), repo_id, token=token, tag="v1.0")


def test_push_to_hub_produces_the_same_repo_as_upload_model(hub_server, hub_repo_name, converted_tiny_detector):
    token = hub_server.token("alice")
    via_folder, via_model = hub_repo_name(), hub_repo_name()
    model = YoloForObjectDetection.from_pretrained(converted_tiny_detector)

    upload_model(converted_tiny_detector, via_folder, token=token)
    url = model.push_to_hub(via_model, token=token, tag="v1")

    assert url == f"{hub_server.endpoint}/{via_model}"
    folder_files, model_files = hub_server.files(via_folder), hub_server.files(via_model)
    assert set(folder_files) == set(model_files)
    for name in folder_files:
        expected = folder_files[name].replace(via_folder.encode(), via_model.encode())
        expected = expected.replace(via_folder.split("/")[1].encode(), via_model.split("/")[1].encode())
        assert model_files[name] == expected, name
    assert hub_server.head(via_model, "v1") == hub_server.head(via_model)


def test_interrupted_upload_leaves_the_repo_at_its_previous_commit(
    hub_faults, hub_repo_name, converted_tiny_detector, model_variants
):
    repo_id = hub_repo_name()
    token = hub_faults.token("alice")
    upload_model(converted_tiny_detector, repo_id, token=token)
    before, files_before = hub_faults.head(repo_id), hub_faults.files(repo_id)
    fault = hub_faults.fail_lfs_upload(status=403)

    with pytest.raises(HubError, match="model.safetensors") as error:
        upload_model(model_variants(2), repo_id, token=token)

    assert fault.hits == 1
    assert "\n" not in str(error.value)
    assert hub_faults.head(repo_id) == before and hub_faults.files(repo_id) == files_before
    hub_faults.reset_faults()
    assert upload_model(model_variants(2), repo_id, token=token).changed  # a retry goes through


def test_dropped_commit_request_is_a_clean_failure(hub_faults, hub_repo_name, converted_tiny_detector, model_variants):
    repo_id = hub_repo_name()
    token = hub_faults.token("alice")
    upload_model(converted_tiny_detector, repo_id, token=token)
    before = hub_faults.head(repo_id)
    hub_faults.fail_route("commit", status=400, match=repo_id)

    with pytest.raises(HubError, match="HTTP 400"):
        upload_model(model_variants(3), repo_id, token=token)

    assert hub_faults.head(repo_id) == before


def test_concurrent_pushes_both_land_or_conflict_cleanly(hub_server, hub_repo_name, model_variants):
    repo_id = hub_repo_name()
    token = hub_server.token("alice")
    hub_server.api("alice").create_repo(repo_id)
    folders = [model_variants(4), model_variants(5)]
    barrier = threading.Barrier(2)
    outcomes: list[object] = [None, None]

    def push(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = upload_model(folders[index], repo_id, token=token, commit_message=f"push {index}")
        except HubConflictError as error:
            outcomes[index] = error

    threads = [threading.Thread(target=push, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    landed = [i for i, o in enumerate(outcomes) if not isinstance(o, HubConflictError)]
    assert None not in outcomes and landed, outcomes
    history = hub_server.repo(repo_id).history("main")
    titles = [c.title for c in history]
    assert sorted(t for t in titles if t.startswith("push ")) == [f"push {i}" for i in landed]
    winner = folders[int(titles[0].split()[-1])]  # the head is the last push that landed: a consistent snapshot
    files = hub_server.files(repo_id)
    assert files["model.safetensors"] == (winner / "model.safetensors").read_bytes()
    assert files["config.json"] == (winner / "config.json").read_bytes()
    assert history[-1].title == "initial commit" and len(history) == len(landed) + 1


def test_branch_that_keeps_moving_ends_in_a_typed_conflict(hub_faults, hub_repo_name, converted_tiny_detector):
    repo_id = hub_repo_name()
    token = hub_faults.token("alice")
    hub_faults.api("alice").create_repo(repo_id)
    before = hub_faults.head(repo_id)
    fault = hub_faults.fail_route("commit", status=412, match=repo_id, times=None)

    with pytest.raises(HubConflictError, match="nothing was committed"):
        upload_model(converted_tiny_detector, repo_id, token=token)

    assert fault.hits == 3 and hub_faults.head(repo_id) == before
