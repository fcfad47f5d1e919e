"""Assertions shared by the hostile-input tests: tokens in output, process-wide state."""

from __future__ import annotations

import os
from urllib.parse import quote

import torch

__all__ = ["token_forms", "assert_no_token", "snapshot_process_state", "assert_same_process_state"]


def token_forms(token: str) -> list[str]:
    """Every form a token may take in output: raw, repr-escaped, URL-encoded (and its distinctive core)."""
    forms = {token, repr(token)[1:-1], quote(token, safe=""), quote(token)}
    core = "".join(c for c in token if c.isalnum())
    if len(core) >= 12:
        forms.add(core)
    return sorted(forms)


def assert_no_token(text: str, token: str) -> None:
    """Fail if ``text`` contains ``token`` in any of its :func:`token_forms`."""
    for form in token_forms(token):
        assert form not in text, f"token leaked (as {form!r})"


def snapshot_process_state() -> dict:
    """What a call must leave as it found it."""
    import ultralytics.nn.tasks as ul_tasks
    from ultralytics.nn.modules import head

    return {
        "safe_globals": sorted(repr(g) for g in torch.serialization.get_safe_globals()),
        "threads": torch.get_num_threads(),
        "environ": {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"},  # pytest sets it per phase
        "SAFE_LOAD": ul_tasks.SAFE_LOAD,
        "head.copy": head.__dict__.get("copy"),
        "Detect": {k: getattr(head.Detect, k, None) for k in ("export", "format", "dynamic", "end2end", "shape")},
    }


def assert_same_process_state(before: dict, after: dict) -> None:
    """Compare two :func:`snapshot_process_state` results, naming what changed."""
    env_before, env_after = before["environ"], after["environ"]
    changed = {k: (env_before.get(k), env_after.get(k)) for k in env_before.keys() | env_after.keys()
               if env_before.get(k) != env_after.get(k)}
    assert not changed, f"environment changed: {changed}"
    for key in before:
        assert before[key] == after[key], f"{key} changed: {before[key]!r} -> {after[key]!r}"
