"""The local Hub against the real clients: ``huggingface_hub`` (HfApi, downloads, HfFileSystem) and ``datasets``.

Nothing is mocked: every test goes over loopback HTTP to ``tests.hub_server``.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from huggingface_hub import (
    CommitOperationAdd,
    HfApi,
    HfFileSystem,
    hf_hub_download,
    snapshot_download,
)
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import get_session

from tests.helpers import REPO_ROOT
from tests.hub_server import HubServer


# huggingface_hub's LFS upload passes a file object as `data=`, which httpx2 deprecates: not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>' to upload raw bytes:DeprecationWarning")


def _write_model_folder(folder: Path, weights: bytes, config: str = '{"hidden": 4}') -> Path:
    """A small model folder: a regular JSON file, an LFS-pattern weights file, a nested text file."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(config)
    (folder / "model.safetensors").write_bytes(weights)
    (folder / "docs").mkdir(exist_ok=True)
    (folder / "docs" / "notes.txt").write_text("notes")
    return folder


def _status(err: HfHubHTTPError) -> int:
    return err.response.status_code


@pytest.fixture
def alice(hub_server: HubServer) -> HfApi:
    """alice's client, with her write token."""
    return hub_server.api("alice")


@pytest.fixture
def model_repo(alice: HfApi, hub_repo_name: Callable[..., str]) -> str:
    """A fresh public model repo of alice."""
    repo_id = hub_repo_name()
    alice.create_repo(repo_id)
    return repo_id


# --------------------------------------------------------------------------- identity


def test_whoami_reports_user_and_token_role(hub_server: HubServer) -> None:
    write = hub_server.api("alice").whoami()
    read = hub_server.api("bob", "read").whoami()

    assert write["name"] == "alice"
    assert write["auth"]["accessToken"]["role"] == "write"
    assert [org["name"] for org in write["orgs"]] == ["acme"]
    assert read["name"] == "bob"
    assert read["auth"]["accessToken"]["role"] == "read"


def test_whoami_fine_grained_token_lists_its_scopes(hub_server: HubServer) -> None:
    token = hub_server.fine_grained_token("carol", {"model:carol/only-this": ["repo.content.read", "repo.write"]})

    info = HfApi(endpoint=hub_server.endpoint, token=token).whoami()

    access = info["auth"]["accessToken"]
    assert access["role"] == "fineGrained"
    assert access["fineGrained"]["scoped"] == [
        {"entity": {"type": "model", "name": "carol/only-this"}, "permissions": ["repo.content.read", "repo.write"]}
    ]


def test_whoami_refuses_missing_and_unknown_tokens(hub_server: HubServer) -> None:
    anonymous = get_session().get(f"{hub_server.endpoint}/api/whoami-v2")
    assert anonymous.status_code == 401

    with pytest.raises(HfHubHTTPError) as err:
        HfApi(endpoint=hub_server.endpoint, token="hf_" + "x" * 34).whoami()
    assert _status(err.value) == 401


# --------------------------------------------------------------------------- repositories


def test_create_repo_conflict_and_exist_ok(alice: HfApi, hub_repo_name: Callable[..., str]) -> None:
    repo_id = hub_repo_name()

    url = alice.create_repo(repo_id)
    again = alice.create_repo(repo_id, exist_ok=True)
    with pytest.raises(HfHubHTTPError) as err:
        alice.create_repo(repo_id)

    assert _status(err.value) == 409
    assert url.repo_id == again.repo_id == repo_id
    info = alice.model_info(repo_id)
    assert len(info.sha) == 40 and info.private is False and info.author == "alice"
    assert [s.rfilename for s in info.siblings] == [".gitattributes"]


def test_dataset_repo_and_deletion(alice: HfApi, hub_repo_name: Callable[..., str]) -> None:
    repo_id = hub_repo_name()

    url = alice.create_repo(repo_id, repo_type="dataset")
    assert url.repo_type == "dataset" and "/datasets/" in url
    assert alice.dataset_info(repo_id).id == repo_id
    with pytest.raises(RepositoryNotFoundError):
        alice.model_info(repo_id)  # same id, other type

    alice.delete_repo(repo_id, repo_type="dataset")
    with pytest.raises(RepositoryNotFoundError):
        alice.dataset_info(repo_id)
    alice.delete_repo(repo_id, repo_type="dataset", missing_ok=True)


def test_missing_repo_revision_and_file_raise_the_clients_errors(alice: HfApi, model_repo: str) -> None:
    with pytest.raises(RepositoryNotFoundError):
        alice.model_info("alice/does-not-exist")
    with pytest.raises(RevisionNotFoundError):
        alice.model_info(model_repo, revision="no-such-branch")
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(model_repo, "missing.bin", token=alice.token)
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download(model_repo, ".gitattributes", revision="no-such-branch", token=alice.token)


# --------------------------------------------------------------------------- uploads and downloads


def test_regular_and_lfs_files_round_trip(
    hub_server: HubServer, alice: HfApi, model_repo: str, tmp_path: Path
) -> None:
    weights = os.urandom(4096)
    folder = _write_model_folder(tmp_path / "model", weights)

    with hub_server.capture_requests() as seen:
        commit = alice.upload_folder(folder_path=folder, repo_id=model_repo, commit_message="add model")

    siblings = {s.rfilename: s for s in alice.model_info(model_repo, files_metadata=True).siblings}
    assert siblings["model.safetensors"].lfs is not None
    assert siblings["model.safetensors"].lfs.size == len(weights)
    assert siblings["config.json"].lfs is None and siblings["docs/notes.txt"].lfs is None
    assert commit.oid == hub_server.head(model_repo)
    weights_path = hf_hub_download(model_repo, "model.safetensors", token=alice.token)
    assert Path(weights_path).read_bytes() == weights
    assert Path(hf_hub_download(model_repo, "docs/notes.txt", token=alice.token)).read_text() == "notes"
    uploads = [r for r in seen if r.route == "lfs_upload"]
    verifies = [r for r in seen if r.route == "lfs_verify"]
    assert len(uploads) == 1 and not uploads[0].authorized  # like a pre-signed URL
    assert len(verifies) == 1 and verifies[0].authorized


def test_tree_and_paths_info_expand_with_last_commit(alice: HfApi, model_repo: str, tmp_path: Path) -> None:
    alice.upload_folder(folder_path=_write_model_folder(tmp_path, b"w" * 10), repo_id=model_repo)
    second = alice.upload_file(path_or_fileobj=b"v2", path_in_repo="docs/notes.txt", repo_id=model_repo)

    tree = {e.path: e for e in alice.list_repo_tree(model_repo, recursive=True, expand=True)}
    top = [e.path for e in alice.list_repo_tree(model_repo)]
    infos = {e.path: e for e in alice.get_paths_info(model_repo, ["docs", "config.json", "nope"], expand=True)}

    assert set(tree) == {".gitattributes", "config.json", "model.safetensors", "docs", "docs/notes.txt"}
    assert "docs/notes.txt" not in top and "docs" in top
    assert tree["docs/notes.txt"].last_commit.oid == second.oid
    assert tree["docs"].last_commit.oid == second.oid
    assert tree["config.json"].last_commit.oid != second.oid
    weights = tree["model.safetensors"]
    assert weights.lfs is not None and weights.blob_id != weights.lfs.sha256  # blob id is the pointer's
    assert set(infos) == {"docs", "config.json"}
    assert infos["config.json"].last_commit is not None


def test_large_text_file_goes_through_lfs(alice: HfApi, model_repo: str) -> None:
    big = b"0123456789abcdef" * (11 * 1024 * 64)  # 11 MiB of text: LFS because of its size

    alice.upload_file(path_or_fileobj=big, path_in_repo="big.txt", repo_id=model_repo)

    (info,) = alice.get_paths_info(model_repo, ["big.txt"])
    assert info.lfs is not None and info.lfs.size == len(big)


def test_unchanged_reupload_is_skipped(hub_server: HubServer, alice: HfApi, model_repo: str, tmp_path: Path) -> None:
    folder = _write_model_folder(tmp_path, os.urandom(2048))
    first = alice.upload_folder(folder_path=folder, repo_id=model_repo)

    with hub_server.capture_requests() as seen:
        second = alice.upload_folder(folder_path=folder, repo_id=model_repo)

    routes = [r.route for r in seen]
    assert second.oid == first.oid == hub_server.head(model_repo)
    assert "commit" not in routes and "lfs_upload" not in routes
    assert len(alice.list_repo_commits(model_repo)) == 2


def test_delete_operations(alice: HfApi, model_repo: str, tmp_path: Path) -> None:
    alice.upload_folder(folder_path=_write_model_folder(tmp_path, b"w"), repo_id=model_repo)

    alice.delete_file("config.json", repo_id=model_repo)
    alice.delete_folder("docs", repo_id=model_repo)
    with pytest.raises(EntryNotFoundError):
        alice.delete_file("config.json", repo_id=model_repo)

    assert alice.list_repo_files(model_repo) == [".gitattributes", "model.safetensors"]


def test_range_requests(hub_server: HubServer, alice: HfApi, model_repo: str) -> None:
    content = bytes(range(256)) * 4
    alice.upload_file(path_or_fileobj=content, path_in_repo="blob.bin", repo_id=model_repo)
    fs = HfFileSystem(endpoint=hub_server.endpoint, token=alice.token)

    with fs.open(f"{model_repo}/blob.bin", "rb", block_size=64) as handle:
        handle.seek(300)
        middle = handle.read(20)
    url = f"{hub_server.endpoint}/{model_repo}/resolve/main/blob.bin"
    tail = get_session().get(url, headers={"Range": "bytes=-10"})
    beyond = get_session().get(url, headers={"Range": "bytes=5000-"})

    assert middle == content[300:320]
    assert tail.status_code == 206 and tail.content == content[-10:]
    assert tail.headers["Content-Range"] == f"bytes {len(content) - 10}-{len(content) - 1}/{len(content)}"
    assert beyond.status_code == 416


def test_resolve_headers_match_what_the_client_caches_on(alice: HfApi, model_repo: str, hub_server: HubServer) -> None:
    alice.upload_file(path_or_fileobj=b"\x00binary", path_in_repo="w.bin", repo_id=model_repo)
    (info,) = alice.get_paths_info(model_repo, ["w.bin"])

    head = get_session().head(f"{hub_server.endpoint}/{model_repo}/resolve/main/w.bin")

    assert head.headers["X-Repo-Commit"] == hub_server.head(model_repo)
    assert head.headers["ETag"] == f'"{info.lfs.sha256}"' == head.headers["X-Linked-Etag"]
    assert head.headers["X-Linked-Size"] == head.headers["Content-Length"] == "7"


# --------------------------------------------------------------------------- refs and history


def test_tag_and_branch_pin_downloads(hub_server: HubServer, alice: HfApi, model_repo: str, tmp_path: Path) -> None:
    v1 = alice.upload_folder(folder_path=_write_model_folder(tmp_path / "v1", b"one", '{"v": 1}'), repo_id=model_repo)
    alice.create_tag(model_repo, tag="v1.0", tag_message="first release")
    alice.create_branch(model_repo, branch="stable", revision="v1.0")
    v2 = alice.upload_folder(folder_path=_write_model_folder(tmp_path / "v2", b"two", '{"v": 2}'), repo_id=model_repo)

    def config_at(revision: str) -> str:
        return Path(hf_hub_download(model_repo, "config.json", revision=revision, token=alice.token)).read_text()

    assert config_at("v1.0") == config_at("stable") == config_at(v1.oid) == '{"v": 1}'
    assert config_at("main") == '{"v": 2}'
    snapshot = Path(snapshot_download(model_repo, revision="v1.0", token=alice.token))
    assert (snapshot / "model.safetensors").read_bytes() == b"one"
    assert alice.model_info(model_repo, revision="v1.0").sha == v1.oid
    refs = alice.list_repo_refs(model_repo)
    assert {(b.name, b.target_commit) for b in refs.branches} == {("main", v2.oid), ("stable", v1.oid)}
    assert [(t.name, t.target_commit) for t in refs.tags] == [("v1.0", v1.oid)]
    commits = alice.list_repo_commits(model_repo)
    assert [c.commit_id for c in commits[:2]] == [v2.oid, v1.oid]
    assert commits[-1].title == "initial commit" and commits[0].authors == ["alice"]


def test_deleted_refs_are_gone(alice: HfApi, model_repo: str) -> None:
    alice.create_tag(model_repo, tag="t")
    alice.create_branch(model_repo, branch="b")
    alice.create_branch(model_repo, branch="b", exist_ok=True)
    with pytest.raises(HfHubHTTPError) as err:
        alice.create_tag(model_repo, tag="t")
    assert _status(err.value) == 409

    alice.delete_tag(model_repo, tag="t")
    alice.delete_branch(model_repo, branch="b")

    for revision in ("t", "b"):
        with pytest.raises(RevisionNotFoundError):
            alice.model_info(model_repo, revision=revision)


def test_pull_request_commit_and_encoded_revision(hub_server: HubServer, alice: HfApi, model_repo: str) -> None:
    main_before = hub_server.head(model_repo)

    commit = alice.upload_file(path_or_fileobj=b"proposal", path_in_repo="p.txt", repo_id=model_repo, create_pr=True)

    assert commit.pr_revision == "refs/pr/1" and commit.pr_num == 1
    assert hub_server.head(model_repo) == main_before
    downloaded = hf_hub_download(model_repo, "p.txt", revision="refs/pr/1", token=alice.token)
    assert Path(downloaded).read_bytes() == b"proposal"
    raw = get_session().get(f"{hub_server.endpoint}/{model_repo}/resolve/refs/pr/1/p.txt")  # unencoded form
    assert raw.content == b"proposal"
    refs = alice.list_repo_refs(model_repo, include_pull_requests=True)
    assert [(pr.ref, pr.target_commit) for pr in refs.pull_requests] == [("refs/pr/1", commit.oid)]


# --------------------------------------------------------------------------- access control


def test_private_repo_is_hidden_from_other_users_and_anonymous(
    hub_server: HubServer, alice: HfApi, hub_repo_name: Callable[..., str]
) -> None:
    repo_id = hub_repo_name(prefix="secret")
    alice.create_repo(repo_id, private=True)
    alice.upload_file(path_or_fileobj=b"s3cret", path_in_repo="secret.txt", repo_id=repo_id)
    bob, anonymous = hub_server.api("bob"), hub_server.api(None)

    with pytest.raises(RepositoryNotFoundError) as as_bob:
        bob.model_info(repo_id)
    with pytest.raises(RepositoryNotFoundError) as as_anonymous:
        anonymous.model_info(repo_id)
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download(repo_id, "secret.txt", token=hub_server.token("bob"))

    assert _status(as_bob.value) == 404 and _status(as_anonymous.value) == 401
    assert as_bob.value.response.headers["X-Error-Code"] == "RepoNotFound"
    assert repo_id not in [m.id for m in bob.list_models(author="alice")]
    assert repo_id in [m.id for m in alice.list_models(author="alice")]
    assert hub_server.api("alice", "read").model_info(repo_id).private is True
    alice.update_repo_settings(repo_id, private=False)
    assert bob.model_info(repo_id).private is False


def test_tokens_without_write_scope_cannot_write(
    hub_server: HubServer, model_repo: str, hub_repo_name: Callable[..., str]
) -> None:
    before = hub_server.head(model_repo)
    attempts = {
        "alice read token": hub_server.api("alice", "read"),
        "bob write token": hub_server.api("bob"),
    }
    for label, api in attempts.items():
        with pytest.raises(HfHubHTTPError) as err:
            api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=model_repo)
        assert _status(err.value) == 403, label
    with pytest.raises(HfHubHTTPError) as err:
        hub_server.api("bob").create_repo(hub_repo_name(owner="alice"))
    assert _status(err.value) == 403
    with pytest.raises(HfHubHTTPError) as err:
        hub_server.api("bob").create_repo(hub_repo_name(owner="acme"))
    assert _status(err.value) == 403

    assert hub_server.api("alice").create_repo(hub_repo_name(owner="acme")).repo_id.startswith("acme/")
    assert hub_server.head(model_repo) == before


def test_fine_grained_token_writes_only_in_scope(hub_server: HubServer, hub_repo_name: Callable[..., str]) -> None:
    alice = hub_server.api("alice")
    allowed, other = hub_repo_name(), hub_repo_name()
    alice.create_repo(allowed)
    alice.create_repo(other)
    token = hub_server.fine_grained_token("alice", {f"model:{allowed}": ["repo.content.read", "repo.write"]})
    scoped = HfApi(endpoint=hub_server.endpoint, token=token)

    scoped.upload_file(path_or_fileobj=b"ok", path_in_repo="ok.txt", repo_id=allowed)
    with pytest.raises(HfHubHTTPError) as err:
        scoped.upload_file(path_or_fileobj=b"no", path_in_repo="no.txt", repo_id=other)

    assert _status(err.value) == 403


# --------------------------------------------------------------------------- atomicity


def test_concurrent_commits_with_parent_commit_one_conflicts(hub_server: HubServer, model_repo: str) -> None:
    parent = hub_server.head(model_repo)
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def push(name: str) -> None:
        api = hub_server.api("alice")
        operation = CommitOperationAdd(path_in_repo=f"{name}.txt", path_or_fileobj=name.encode())
        barrier.wait()
        try:
            outcomes[name] = api.create_commit(
                model_repo, operations=[operation], commit_message=name, parent_commit=parent
            ).oid
        except HfHubHTTPError as err:
            outcomes[name] = err

    threads = [threading.Thread(target=push, args=(name,)) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    errors = [v for v in outcomes.values() if isinstance(v, HfHubHTTPError)]
    landed = [v for v in outcomes.values() if isinstance(v, str)]
    assert len(errors) == 1 and _status(errors[0]) == 412
    assert landed == [hub_server.head(model_repo)]
    assert hub_server.repo(model_repo).commits[landed[0]].parents == (parent,)


def test_concurrent_commits_without_parent_commit_both_land(hub_server: HubServer, model_repo: str) -> None:
    barrier = threading.Barrier(3)

    def push(index: int) -> None:
        barrier.wait()
        hub_server.api("alice").upload_file(
            path_or_fileobj=str(index).encode(), path_in_repo=f"f{index}.txt", repo_id=model_repo
        )

    threads = [threading.Thread(target=push, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    files = hub_server.files(model_repo)
    assert {files[f"f{i}.txt"] for i in range(3)} == {b"0", b"1", b"2"}
    assert len(hub_server.repo(model_repo).history("main")) == 4


def test_failed_lfs_upload_leaves_repo_at_previous_commit(
    hub_faults: HubServer, alice: HfApi, model_repo: str, tmp_path: Path
) -> None:
    alice.upload_folder(folder_path=_write_model_folder(tmp_path / "v1", b"old weights"), repo_id=model_repo)
    before = hub_faults.head(model_repo)
    new_weights = os.urandom(5000)
    folder = _write_model_folder(tmp_path / "v2", new_weights, '{"v": 2}')
    fault = hub_faults.fail_lfs_upload(status=403)

    with pytest.raises(RuntimeError, match="model.safetensors"):
        alice.upload_folder(folder_path=folder, repo_id=model_repo)

    assert fault.hits == 1
    assert hub_faults.head(model_repo) == before
    assert hub_faults.files(model_repo)["config.json"] == b'{"hidden": 4}'
    cached = hf_hub_download(model_repo, "model.safetensors", token=alice.token, force_download=True)
    assert Path(cached).read_bytes() == b"old weights"
    hub_faults.reset_faults()
    alice.upload_folder(folder_path=folder, repo_id=model_repo)  # a retry once the store is back succeeds
    assert hub_faults.files(model_repo)["model.safetensors"] == new_weights


def test_upload_dropped_midway_is_retried_by_the_client(hub_faults: HubServer, alice: HfApi, model_repo: str) -> None:
    weights = os.urandom(200_000)
    fault = hub_faults.drop_lfs_upload(times=1)

    alice.upload_file(path_or_fileobj=weights, path_in_repo="model.safetensors", repo_id=model_repo)

    assert fault.hits == 1
    assert hub_faults.files(model_repo)["model.safetensors"] == weights


def test_commit_referencing_unknown_lfs_object_is_refused(hub_server: HubServer, model_repo: str) -> None:
    before = hub_server.head(model_repo)
    lines = [
        {"key": "header", "value": {"summary": "sneaky", "description": ""}},
        {"key": "file", "value": {"path": "ok.txt", "content": base64.b64encode(b"ok").decode(), "encoding": "base64"}},
        {"key": "lfsFile", "value": {"path": "w.bin", "algo": "sha256", "oid": "ab" * 32, "size": 3}},
    ]

    response = get_session().post(
        f"{hub_server.endpoint}/api/models/{model_repo}/commit/main",
        content=b"".join(json.dumps(line).encode() + b"\n" for line in lines),
        headers={"Authorization": f"Bearer {hub_server.token('alice')}", "Content-Type": "application/x-ndjson"},
    )

    assert response.status_code == 422
    assert hub_server.head(model_repo) == before
    assert "ok.txt" not in hub_server.files(model_repo)


# --------------------------------------------------------------------------- metadata and listings


def test_card_metadata_tags_and_listing(hub_server: HubServer, alice: HfApi, hub_repo_name: Callable[..., str]) -> None:
    repo_id = hub_repo_name(prefix="yolo-card")
    alice.create_repo(repo_id)
    card = (
        "---\nlicense: agpl-3.0\nlibrary_name: transformers\npipeline_tag: object-detection\n"
        "tags:\n- yolo\n---\n# Card\n"
    )
    alice.upload_file(path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id=repo_id)

    info = alice.model_info(repo_id)
    listed = list(hub_server.api("bob").list_models(author="alice", search="yolo-card", full=True))

    assert info.pipeline_tag == "object-detection" and info.library_name == "transformers"
    assert info.card_data.license == "agpl-3.0"
    assert info.tags[:3] == ["yolo", "transformers", "object-detection"] and "license:agpl-3.0" in info.tags
    assert [m.id for m in listed] == [repo_id] and listed[0].siblings is not None
    assert [m.id for m in alice.list_models(filter="yolo", author="alice", search="yolo-card")] == [repo_id]


def test_invalid_readme_metadata_is_refused_before_upload(alice: HfApi, model_repo: str) -> None:
    with pytest.raises(ValueError, match="Invalid metadata"):
        alice.upload_file(path_or_fileobj=b"---\ntags: [unclosed\n---\n", path_in_repo="README.md", repo_id=model_repo)


# --------------------------------------------------------------------------- datasets and offline mode


def test_datasets_push_to_hub_and_load_dataset(hub_server: HubServer, hub_repo_name: Callable[..., str]) -> None:
    datasets = pytest.importorskip("datasets")
    repo_id = hub_repo_name(prefix="tiny-ds")
    token = hub_server.token("alice")
    original = datasets.Dataset.from_dict({"image_id": [1, 2, 3], "label": ["cat", "dog", "cat"]})

    original.push_to_hub(repo_id, token=token)
    original.select([0]).push_to_hub(repo_id, split="validation", token=token)
    loaded = datasets.load_dataset(repo_id, token=token)

    assert loaded["train"].to_dict() == original.to_dict()
    assert loaded["validation"]["label"] == ["cat"]
    files = hub_server.api("alice").list_repo_files(repo_id, repo_type="dataset")
    assert "README.md" in files and any(f.startswith("data/train-") and f.endswith(".parquet") for f in files)


def test_offline_mode_reads_from_cache(hub_server: HubServer, alice: HfApi, model_repo: str) -> None:
    alice.upload_file(path_or_fileobj=b"cached!", path_in_repo="c.txt", repo_id=model_repo)
    hf_hub_download(model_repo, "c.txt", token=alice.token)
    script = (
        "import sys; from huggingface_hub import hf_hub_download; "
        "print(open(hf_hub_download(sys.argv[1], 'c.txt')).read())"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}

    with hub_server.capture_requests() as seen:
        result = subprocess.run(
            [sys.executable, "-c", script, model_repo],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=REPO_ROOT,
        )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "cached!"
    assert seen == []
