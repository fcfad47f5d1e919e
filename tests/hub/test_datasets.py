"""``push_dataset`` / ``pull_dataset`` against the local Hub: round trip, card, branches, tags, privacy, safety."""

from __future__ import annotations

import logging
from pathlib import Path

import datasets
import pytest
import yaml
from huggingface_hub import CommitOperationAdd, DatasetCard

from tests.data_factory import CLASS_NAMES, make_coco_dataset, make_yolo_dataset
from tests.helpers import HUB_WARNINGS, WRITES, assert_labels_close, image_bytes, yolo_labels
from yolo_transformers.cards import generate_dataset_card
from yolo_transformers.data import from_coco, load_yolo_dataset, read_metadata
from yolo_transformers.hub import pull_dataset, push_dataset
from yolo_transformers.cards.dataset_card import dataset_stats, resolve_license
from yolo_transformers.errors import AuthenticationError, DatasetFormatError, HubError

pytestmark = HUB_WARNINGS


def _source(root: Path, task: str, **kwargs) -> Path:
    return make_yolo_dataset(root, task, splits={"train": 6, "val": 3}, backgrounds=2, **kwargs)


def _card(hub_server, repo_id: str, revision: str = "main") -> DatasetCard:
    return DatasetCard(hub_server.files(repo_id, revision, repo_type="dataset")["README.md"].decode())


@pytest.mark.parametrize("task", ["detect", "segment"])
def test_push_load_pull_round_trip(hub_server, hub_repo_name, tmp_path, task):
    token = hub_server.token("alice")
    source = _source(tmp_path / "src", task)
    repo_id = hub_repo_name()

    url = push_dataset(source, repo_id, token=token, cache_dir=tmp_path / "cache")

    assert url == f"{hub_server.endpoint}/datasets/{repo_id}" and url.card_written and url.revision == "main"
    files = hub_server.files(repo_id, repo_type="dataset")
    assert files["samples.png"].startswith(b"\x89PNG")
    assert any(name.startswith("data/train-") and name.endswith(".parquet") for name in files)
    assert token.encode() not in b"".join(files.values())

    card = _card(hub_server, repo_id)
    assert card.data.license == "unknown" and card.data.pretty_name == repo_id.split("/")[1]
    assert {"yolo", "yolo-transformers", task} <= set(card.data.tags)
    assert card.data.dataset_info and card.data.configs  # push_to_hub's metadata survives the card commit
    assert "![Sample images with their annotations](samples.png)" in card.text
    assert "| train | 6 | 2 |" in card.text and "| validation | 3 | 2 |" in card.text
    stats = dataset_stats(load_yolo_dataset(source, cache_dir=tmp_path / "cache"))
    for class_id, name in enumerate(CLASS_NAMES):
        counts = " | ".join(str(stats.instances[s][class_id]) for s in ("train", "validation"))
        assert f"| {class_id} | {name} | {counts} | {stats.class_totals[class_id]} |" in card.text

    loaded = datasets.load_dataset(repo_id, token=token)
    assert {k: len(v) for k, v in loaded.items()} == {"train": 6, "validation": 3}
    meta = read_metadata(loaded)
    assert (meta.task, meta.names, meta.source_format) == (task, CLASS_NAMES, "yolo")

    data_yaml = pull_dataset(repo_id, tmp_path / "pulled", token=token)
    assert data_yaml == (tmp_path / "pulled" / "data.yaml").resolve()
    assert image_bytes(data_yaml.parent / "images") == image_bytes(source.parent / "images")
    assert_labels_close(yolo_labels(data_yaml.parent), yolo_labels(source.parent))
    assert yaml.safe_load(data_yaml.read_text())["names"] == dict(enumerate(CLASS_NAMES))
    written = yaml.safe_load(data_yaml.read_text())
    assert (written["train"], written["val"]) == ("images/train", "images/val")  # Ultralytics' keys again


def test_branch_and_tag(hub_server, hub_repo_name, tmp_path):
    token = hub_server.token("alice")
    source = _source(tmp_path / "src", "pose")
    repo_id = hub_repo_name()

    result = push_dataset(source, repo_id, token=token, revision="relabel", tag="v1.0", cache_dir=tmp_path / "c")

    repo = hub_server.repo(repo_id, repo_type="dataset")
    assert result.revision == "relabel" and str(result).endswith(f"/datasets/{repo_id}/tree/relabel")
    assert repo.tags["v1.0"].target == repo.branches["relabel"] == result.commit_oid
    assert set(hub_server.files(repo_id, "main", repo_type="dataset")) == {".gitattributes"}  # main untouched
    assert 'revision="relabel"' in _card(hub_server, repo_id, "relabel").text
    loaded = datasets.load_dataset(repo_id, revision="v1.0", token=token)
    assert read_metadata(loaded).kpt_shape == [4, 3]
    pulled = pull_dataset(repo_id, tmp_path / "pulled", revision="v1.0", token=token)
    assert image_bytes(pulled.parent / "images") == image_bytes(source.parent / "images")

    # unchanged data: no new commit, and the tag already on that commit is fine
    with hub_server.capture_requests() as seen:
        again = push_dataset(source, repo_id, token=token, revision="relabel", tag="v1.0", cache_dir=tmp_path / "c")
    assert again.commit_oid == result.commit_oid and "lfs_upload" not in {r.route for r in seen}

    # changed data: new commits; the tag, now on an older commit, is refused with the fix, the data still lands
    label = source.parent / "labels" / "train" / "train_00000.txt"
    label.write_text(label.read_text().splitlines()[0] + "\n")
    with pytest.raises(HubError, match="tag 'v1.0' already exists"):
        push_dataset(source, repo_id, token=token, revision="relabel", tag="v1.0", cache_dir=tmp_path / "c")
    assert repo.branches["relabel"] != result.commit_oid and repo.tags["v1.0"].target == result.commit_oid


def test_private_dataset_is_refused_to_other_users(hub_server, hub_repo_name, tmp_path):
    source = _source(tmp_path / "src", "detect")
    repo_id = hub_repo_name()
    push_dataset(source, repo_id, token=hub_server.token("alice"), private=True, cache_dir=tmp_path / "c")
    assert hub_server.repo(repo_id, repo_type="dataset").private

    pull_dataset(repo_id, tmp_path / "alice", token=hub_server.token("alice"))  # now in this machine's cache
    bob = hub_server.token("bob", "read")
    with pytest.raises(HubError, match="not found, or private") as error:  # no silent fallback to the cached copy
        pull_dataset(repo_id, tmp_path / "bob", token=bob)
    assert bob not in str(error.value) and not (tmp_path / "bob").exists()
    with pytest.raises(HubError):
        pull_dataset(repo_id, tmp_path / "anonymous")

    bob_write = hub_server.token("bob", "write")
    with hub_server.capture_requests() as seen:
        with pytest.raises(AuthenticationError, match="cannot write to the namespace 'alice'") as error:
            push_dataset(source, repo_id, token=bob_write, cache_dir=tmp_path / "c")
    assert bob_write not in str(error.value)
    assert not {r.route for r in seen} & WRITES


def test_fine_grained_token_scoped_to_the_dataset_repo(hub_server, hub_repo_name, tmp_path):
    source = _source(tmp_path / "src", "detect")
    repo_id = hub_repo_name()
    push_dataset(source, repo_id, token=hub_server.token("alice"), cache_dir=tmp_path / "c")
    dataset_scoped = hub_server.fine_grained_token("alice", {f"dataset:{repo_id}": ["repo.content.read", "repo.write"]})
    model_scoped = hub_server.fine_grained_token("alice", {f"model:{repo_id}": ["repo.content.read", "repo.write"]})
    push_dataset(source, repo_id, token=dataset_scoped, cache_dir=tmp_path / "c", commit_message="scoped push")
    with pytest.raises(AuthenticationError, match="cannot write"):  # a model scope does not cover the dataset
        push_dataset(source, repo_id, token=model_scoped, cache_dir=tmp_path / "c")


@pytest.mark.parametrize("damage", ["bad_label", "bad_yaml", "corrupt_image"])
def test_bad_data_sends_nothing(hub_server, hub_repo_name, tmp_path, damage):
    source = _source(tmp_path / "src", "detect")
    root = source.parent
    if damage == "bad_label":
        (root / "labels" / "train" / "train_00000.txt").write_text("0 0.5 0.5 0.2\n")
    elif damage == "bad_yaml":
        source.write_text(yaml.safe_dump({"path": str(root), "train": "images/train", "val": "images/missing",
                                          "names": CLASS_NAMES}))
    else:
        (root / "images" / "val" / "val_00000.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    repo_id = hub_repo_name()

    with hub_server.capture_requests() as seen:
        with pytest.raises(DatasetFormatError):
            push_dataset(source, repo_id, token=hub_server.token("alice"), cache_dir=tmp_path / "c")

    assert seen == []  # not even whoami: the data is checked before the first request
    assert hub_server.store.get("dataset", repo_id) is None


def test_failed_upload_leaves_no_data_and_no_card(hub_faults, hub_repo_name, tmp_path):
    source = _source(tmp_path / "src", "detect")
    repo_id = hub_repo_name()
    hub_faults.fail_lfs_upload(status=403)
    with pytest.raises(HubError):
        push_dataset(source, repo_id, token=hub_faults.token("alice"), cache_dir=tmp_path / "c")
    assert set(hub_faults.files(repo_id, repo_type="dataset")) == {".gitattributes"}


def test_lenient_push_reports_and_documents_what_was_skipped(hub_server, hub_repo_name, tmp_path):
    source = _source(tmp_path / "src", "detect")
    (source.parent / "labels" / "train" / "train_00000.txt").write_text("0 0.5 0.5 0.2\n1 0.5 0.5 0.2 0.2\n")
    repo_id = hub_repo_name()

    result = push_dataset(source, repo_id, token=hub_server.token("alice"), strict=False, cache_dir=tmp_path / "c")

    assert sum(result.report.counts.values()) >= 1
    assert "## Conversion notes" in _card(hub_server, repo_id).text


def test_push_a_coco_dataset(hub_server, hub_repo_name, tmp_path):
    annotations, images = make_coco_dataset(tmp_path / "coco", "segment")
    repo_id = hub_repo_name()
    push_dataset(from_coco(annotations, images, cache_dir=tmp_path / "c"), repo_id, token=hub_server.token("alice"))
    card = _card(hub_server, repo_id)
    assert "converted from a COCO JSON file" in card.text and "crowd annotation | 1 |" in card.text
    pulled = pull_dataset(repo_id, tmp_path / "yolo", token=hub_server.token("alice"))
    assert read_metadata(datasets.load_dataset(repo_id, token=hub_server.token("alice"))).source_format == "coco"
    assert len(list((pulled.parent / "labels" / "train").glob("*.txt"))) == 4


def test_generated_card_is_refreshed_hand_written_one_kept(hub_server, hub_repo_name, tmp_path):
    token = hub_server.token("alice")
    source = _source(tmp_path / "src", "detect", image_format="png")
    repo_id = hub_repo_name()
    api = hub_server.api("alice")
    push_dataset(source, repo_id, token=token, cache_dir=tmp_path / "c")

    # more data: the generated, unedited card is regenerated with the new counts
    extra = _source(tmp_path / "more", "detect", image_format="png", seed=1)
    for sub in ("images", "labels"):
        for path in (extra.parent / sub / "train").iterdir():
            (source.parent / sub / "train" / f"more_{path.name}").write_bytes(path.read_bytes())
    refreshed = push_dataset(source, repo_id, token=token, cache_dir=tmp_path / "c")
    assert refreshed.card_written and "| train | 12 | 4 |" in _card(hub_server, repo_id).text

    # someone edits the card on the Hub: it is kept from now on (dataset_info still refreshed) ...
    edited = str(_card(hub_server, repo_id)).replace("## Splits", "## Splits\n\nCurated by Alice.")
    api.create_commit(repo_id, repo_type="dataset", commit_message="edit card",
                      operations=[CommitOperationAdd("README.md", edited.encode())])
    kept = push_dataset(source, repo_id, token=token, license="CC BY 4.0", cache_dir=tmp_path / "c")
    card = _card(hub_server, repo_id)
    assert not kept.card_written and "Curated by Alice." in card.text and card.data.license == "unknown"
    assert card.data.dataset_info and read_metadata(datasets.load_dataset(repo_id, token=token)).names == CLASS_NAMES

    # ... unless asked
    replaced = push_dataset(source, repo_id, token=token, overwrite_card=True, license="CC BY 4.0",
                            cache_dir=tmp_path / "c")
    card = _card(hub_server, repo_id)
    assert replaced.card_written and "Curated" not in card.text and card.data.license == "cc-by-4.0"


def test_hand_written_readme_is_kept(hub_server, hub_repo_name, tmp_path):
    repo_id = hub_repo_name()
    api = hub_server.api("alice")
    api.create_repo(repo_id, repo_type="dataset")
    api.create_commit(repo_id, repo_type="dataset", commit_message="my card",
                      operations=[CommitOperationAdd("README.md", b"---\nlicense: mit\n---\n# Hand-written card\n")])
    source = _source(tmp_path / "src", "detect")
    result = push_dataset(source, repo_id, token=hub_server.token("alice"), cache_dir=tmp_path / "c")
    card = _card(hub_server, repo_id)
    assert not result.card_written and card.text.strip() == "# Hand-written card" and card.data.license == "mit"
    assert "samples.png" not in hub_server.files(repo_id, repo_type="dataset")


def test_token_never_appears_in_logs_output_or_files(hub_server, hub_repo_name, tmp_path, capfd, caplog):
    token = hub_server.token("alice")
    source = _source(tmp_path / "src", "obb")
    repo_id = hub_repo_name()
    with caplog.at_level(logging.DEBUG):
        push_dataset(source, repo_id, token=token, tag="v1", cache_dir=tmp_path / "c")
        pull_dataset(repo_id, tmp_path / "pulled", token=token)
        with pytest.raises(AuthenticationError) as error:
            push_dataset(source, repo_id, token=hub_server.token("alice", "read"), cache_dir=tmp_path / "c")
    captured = capfd.readouterr()
    read_token = hub_server.token("alice", "read")
    for text in (captured.out, captured.err, caplog.text, str(error.value)):
        assert token not in text and read_token not in text
    assert not any(token.encode() in p.read_bytes() for p in (tmp_path / "pulled").rglob("*") if p.is_file())


def test_pull_checks_the_output_folder_before_downloading(hub_server, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with hub_server.capture_requests() as seen:
        with pytest.raises(FileExistsError, match="not an empty folder"):
            pull_dataset("alice/anything", tmp_path / "out")
    assert seen == [] and (tmp_path / "out" / "keep.txt").read_text() == "mine"


def test_pull_refuses_formats_that_can_unpickle(hub_server, hub_repo_name, tmp_path):
    repo_id = hub_repo_name()
    api = hub_server.api("alice")
    api.create_repo(repo_id, repo_type="dataset")
    api.create_commit(repo_id, repo_type="dataset", commit_message="webdataset",
                      operations=[CommitOperationAdd("train/0000.tar", b"\0" * 1024)])
    with hub_server.capture_requests() as seen:
        with pytest.raises(HubError, match="'webdataset' files"):
            pull_dataset(repo_id, tmp_path / "out", token=hub_server.token("alice"))
    assert not any("0000.tar" in r.path and r.route == "resolve" and r.method == "GET" for r in seen)


def test_missing_repo_revision_and_bad_repo_id(hub_server, hub_repo_name, tmp_path):
    token = hub_server.token("alice")
    with pytest.raises(HubError, match="not found"):
        pull_dataset(hub_repo_name(), tmp_path / "x", token=token)
    repo_id = hub_repo_name()
    push_dataset(_source(tmp_path / "src", "detect"), repo_id, token=token, cache_dir=tmp_path / "c")
    with pytest.raises(HubError, match="revision 'nope' not found"):
        pull_dataset(repo_id, tmp_path / "x", revision="nope", token=token)
    with hub_server.capture_requests() as seen:
        with pytest.raises(HubError, match="not a valid Hub repository id"):
            push_dataset(tmp_path / "src", "not a repo id!", token=token)
    assert seen == []


def test_offline_pull_is_served_from_the_cache(hub_server, hub_repo_name, tmp_path, monkeypatch):
    from huggingface_hub import constants

    token = hub_server.token("alice")
    source = _source(tmp_path / "src", "detect")
    repo_id = hub_repo_name()
    push_dataset(source, repo_id, token=token, cache_dir=tmp_path / "c")
    pull_dataset(repo_id, tmp_path / "online", token=token)

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    with hub_server.capture_requests() as seen:
        pulled = pull_dataset(repo_id, tmp_path / "offline", token=token)
    assert seen == [] and image_bytes(pulled.parent / "images") == image_bytes(source.parent / "images")


@pytest.mark.parametrize("task", ["detect", "segment", "pose", "obb", "classify"])
def test_samples_grid_for_every_task(tmp_path, task):
    from PIL import Image

    from yolo_transformers.data.samples import save_samples_grid

    source = make_yolo_dataset(tmp_path / "src", task, splits={"train": 7, "val": 1}, image_size=(80, 60))
    dataset = load_yolo_dataset(source, cache_dir=tmp_path / "c")
    path = save_samples_grid(dataset, tmp_path / "samples.png", max_images=6, columns=3, cell=100)
    with Image.open(path) as image:
        assert image.size == (3 * 104 + 4, 2 * 79 + 4)  # 100x75 tiles (4:3 images), 4 px gaps
        colors = {color for _, color in image.convert("RGB").getcolors(maxcolors=1 << 16)}
    assert (0x04, 0x2A, 0xFF) in colors or (0x0B, 0xDB, 0xEB) in colors  # class colors were drawn


def test_card_license_from_data_yaml_and_normalization(tmp_path):
    source = _source(tmp_path / "src", "detect")
    data = yaml.safe_load(source.read_text())
    source.write_text(yaml.safe_dump({**data, "license": "CC BY-SA 4.0"}))
    card = generate_dataset_card(load_yolo_dataset(source, cache_dir=tmp_path / "c"), repo_id="alice/shapes")
    assert card.data.license == "cc-by-sa-4.0" and "Published under `cc-by-sa-4.0`" in card.text
    assert resolve_license(None) == ("unknown", None)
    assert resolve_license("AGPL-3.0") == ("agpl-3.0", None)
    assert resolve_license("Custom research terms") == ("other", "custom-research-terms")


@pytest.mark.parametrize("names", [("train", "val"), ("train", "test")], ids=["pushed-with-val", "no-validation"])
def test_pull_writes_the_splits_that_exist(hub_server, hub_repo_name, tmp_path, caplog, names):
    """A Hub dataset pushed with Ultralytics' `val` still pulls; one without validation split gets no `val:`."""
    token = hub_server.token("alice")
    loaded = load_yolo_dataset(_source(tmp_path / "src", "detect"), cache_dir=tmp_path / "cache")
    repo_id = hub_repo_name()
    push_dataset(datasets.DatasetDict({names[0]: loaded["train"], names[1]: loaded["validation"]}), repo_id,
                 token=token)
    assert set(datasets.load_dataset(repo_id, token=token)) == set(names)
    with caplog.at_level(logging.WARNING):
        data_yaml = pull_dataset(repo_id, tmp_path / "pulled", token=token)
    written = yaml.safe_load(data_yaml.read_text())
    assert written["train"] == "images/train" and written.get(names[1]) == f"images/{names[1]}"
    assert len(list((data_yaml.parent / "images" / names[1]).iterdir())) == 3
    if names[1] == "test":
        assert "val" not in written  # not silently the training images
        assert data_yaml.read_text().startswith("# This dataset has no validation split (splits: train, test)")
        assert "no validation split" in caplog.text and "val: images/train" in caplog.text
    else:
        assert "no validation split" not in caplog.text
