"""What every ``yolo-hf`` command shares: ``--version``, ``-v``/``-q`` at either level, exit codes in ``--help``."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

import pytest

from yolo_transformers.cli import build_parser, main
from yolo_transformers.version import __version__

COMMANDS = [[], ["convert"], ["push"], ["pull"], ["list"], ["eval"], ["dataset"], ["dataset", "convert"],
            ["dataset", "push"], ["dataset", "pull"]]


def test_version_names_the_package_and_the_libraries_it_runs_on():
    process = subprocess.run([sys.executable, "-m", "yolo_transformers", "--version"], capture_output=True,
                             text=True, timeout=120)
    assert process.returncode == 0, process.stderr
    assert process.stdout.startswith(f"yolo-hf {__version__} (")
    assert f"transformers {metadata.version('transformers')}" in process.stdout
    assert f"ultralytics {metadata.version('ultralytics')}" in process.stdout


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "yolo-hf")
def test_every_help_states_the_exit_codes(command, capsys):
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    assert "exit codes: 0 success, 1 failure" in text and "2 usage error" in text
    assert "-v, --verbose" in text and "-q, --quiet" in text


@pytest.mark.parametrize(
    ("argv", "verbose", "quiet"),
    [
        (["-v", "list", "--user", "alice"], True, False),
        (["list", "--user", "alice", "-v"], True, False),
        (["-q", "list", "--user", "alice"], False, True),
        (["list", "-q", "--user", "alice"], False, True),
        (["dataset", "pull", "--repo", "a/b", "--output", "x", "--verbose"], True, False),
        (["-v", "dataset", "pull", "--repo", "a/b", "--output", "x"], True, False),
        (["list", "--user", "alice"], False, False),
    ],
)
def test_verbosity_before_or_after_the_subcommand(argv, verbose, quiet):
    args = build_parser().parse_args(argv)
    assert (args.verbose, args.quiet) == (verbose, quiet)


def test_usage_errors_exit_with_2(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["list", "--no-such-option"])
    assert exited.value.code == 2
    assert main([]) == 2
