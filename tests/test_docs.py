"""The README is executable: its examples run against the seeds, its commands are real."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import re
import shlex
from pathlib import Path

import pytest

from searchkit.cli import app, search_app
from tests.conftest import REPO, cli

README = (REPO / "README.md").read_text(encoding="utf-8")


def _readme_command(name: str) -> str:
    spec = importlib.util.spec_from_file_location("readme_command",
                                                  REPO / ".ci" / "readme_command.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result: str = module.command(name)
    return result


def _examples() -> list[tuple[str, str]]:
    """(command, output) of every ``$`` line of every examples block."""
    blocks = re.findall(r"<!-- examples:.*?-->\s*```console\n(.*?)```", README, re.S)
    assert blocks, "README.md lost its examples block"
    pairs: list[tuple[str, str]] = []
    for block in blocks:
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, _, expected = chunk.partition("\n")
            pairs.append((command, expected))
    return pairs


def _json_examples() -> list[tuple[str, str]]:
    """(command, JSON) of every ```json block: the command is the last `search ...` or
    `searchkit ...` in backticks in the prose between the previous block and this one."""
    pairs: list[tuple[str, str]] = []
    for block in re.finditer(r"^```json\n(.*?)^```", README, re.S | re.M):
        prose = README[:block.start()].rsplit("```", 1)[-1]
        commands = re.findall(r"`((?:search|searchkit) [^`]+)`", prose)
        assert commands, f"no command above the JSON example {block.group(1)[:40]!r}"
        pairs.append((commands[-1], block.group(1)))
    assert pairs, "README.md lost its JSON example"
    return pairs


EXAMPLES = _examples()
JSON_EXAMPLES = _json_examples()
VOLATILE = ("seconds",)  # differs on every run; masked on both sides


def _run_on_seeds(command: str, seeds_index: Path) -> tuple[int, str, str]:
    """Run ``command`` as from the repository root: ``seeds/`` below the current
    directory (so printed paths read ``seeds/...``), ``index/`` beside it."""
    args = shlex.split(command)
    assert args[0] in ("search", "searchkit")
    seeds = seeds_index.parent / "seeds"
    where = [] if args[1:2] == ["fields"] else ["--index", str(seeds_index),
                                                "--seeds", str(seeds)]
    with contextlib.chdir(seeds_index.parent):
        return cli(*args[1:], *where, script=search_app if args[0] == "search" else app)


@pytest.mark.parametrize(("command", "expected"), EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_readme_example(command: str, expected: str, seeds_index: Path) -> None:
    code, out, err = _run_on_seeds(command, seeds_index)
    assert err + out == expected
    if out:
        assert code == 0
    elif err.startswith("Error:"):
        assert code == 2
    else:
        assert code == 1


@pytest.mark.parametrize(("command", "expected"), JSON_EXAMPLES,
                         ids=[c for c, _ in JSON_EXAMPLES])
def test_readme_json_example(command: str, expected: str, seeds_index: Path) -> None:
    code, out, err = _run_on_seeds(command, seeds_index)
    assert (code, err) == (0, "")
    actual, documented = json.loads(out), json.loads(expected)
    for record in (actual, documented):
        for key in VOLATILE:
            if key in record:
                record[key] = "(varies)"
    # Same keys in the same order, same values: compare the canonical text.
    assert json.dumps(actual, indent=2, ensure_ascii=False) == \
        json.dumps(documented, indent=2, ensure_ascii=False)


def test_readme_commands_install_with_hashes_and_run_what_they_promise() -> None:
    main, test = _readme_command("main"), _readme_command("test")
    for cmd in (main, test):
        assert "--require-hashes" in cmd and "--no-deps -e . " in cmd
    assert main.endswith('search "facial recognition airports"')
    assert "compileall" in main
    assert test.endswith("python -m pytest") and "mypy" in test and "ruff check" in test
    ci = (REPO / ".ci" / "run").read_text()
    assert "readme_command.py main" in ci and "readme_command.py test" in ci


def test_whoosh_is_pinned_with_its_hash() -> None:
    lock = (REPO / "requirements.lock").read_text()
    block = lock[lock.index("whoosh3==3.54.0"):].split("\n\n")[0]
    assert "fb9656781a8f42a6ddc273e6e9e456edd0ad8976f4899d9593c424b59a445539" in block
    assert '"whoosh3==3.54.0"' in (REPO / "pyproject.toml").read_text()


def test_documented_exit_codes_match_the_enum() -> None:
    from searchkit.errors import ExitCode

    table = re.search(r"## Exit codes\n(.*?)\n\n", README, re.S)
    assert table
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", table.group(1), re.M)}
    assert documented == {int(c) for c in ExitCode}
