"""The README is executable: its examples run against the seeds, its commands are real."""

from __future__ import annotations

import importlib.util
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
    block = re.search(r"<!-- examples:.*?-->\s*```console\n(.*?)```", README, re.S)
    assert block, "README.md lost its examples block"
    pairs: list[tuple[str, str]] = []
    for chunk in re.split(r"^\$ ", block.group(1), flags=re.M)[1:]:
        command, _, expected = chunk.partition("\n")
        pairs.append((command, expected))
    return pairs


EXAMPLES = _examples()


@pytest.mark.parametrize(("command", "expected"), EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_readme_example(command: str, expected: str, seeds_index: Path) -> None:
    args = shlex.split(command)
    assert args[0] in ("search", "searchkit")
    seeds = seeds_index.parent / "seeds"
    where = [] if args[1:2] == ["fields"] else ["--index", str(seeds_index),
                                                "--seeds", str(seeds)]
    code, out, err = cli(*args[1:], *where, script=search_app if args[0] == "search" else app)
    assert err + out == expected
    if out:
        assert code == 0
    elif err.startswith("Error:"):
        assert code == 2
    else:
        assert code == 1


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
