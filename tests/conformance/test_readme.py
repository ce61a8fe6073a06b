"""The README's console examples on the OpenSearch engine (issue #17, item 2): the same
output as on Whoosh, except where the README's "Past one machine" says the engines
differ (listed here with the reason)."""

from __future__ import annotations

import contextlib
import re
import shlex
from pathlib import Path

import pytest

from searchkit.cli import app, search_app
from tests.conftest import cli
from tests.test_docs import EXAMPLES

from .conftest import Indexed

# command (or a part of it) -> why its output differs on OpenSearch (README)
MUST_DIFFER = {
    "--by-story": "stories are the Whoosh engine's alone",
    "searchkit story ": "stories are the Whoosh engine's alone",
    "searchkit cited ": "`cited` is the Whoosh engine's alone",
    "searchkit has ": "`has` takes no --engine yet",
    "--explain": "scores differ in the third digit (Lucene encodes field lengths in "
                 "fewer levels than Whoosh)",
    "facal recogniton": "no spelling suggestions on OpenSearch",
    "biometrcis": "no spelling suggestions on OpenSearch",
    '"US customs"': "phrases score otherwise (span queries): same hits, other order",
}
_STORY_COLUMN = re.compile(r"\ts[0-9a-f]{10}$", re.M)  # lines format: the story id


def _differs(command: str) -> str | None:
    return next((why for part, why in MUST_DIFFER.items() if part in command), None)


@pytest.mark.parametrize(("command", "expected"), EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_readme_example_on_opensearch(command: str, expected: str,
                                      opensearch_indexes: dict[str, Indexed]) -> None:
    why = _differs(command)
    if why:
        pytest.skip(f"differs by design: {why}")
    args = shlex.split(command)
    seeds = opensearch_indexes["seeds"]
    where = [] if args[1:2] == ["fields"] else list(seeds.args)
    with contextlib.chdir(Path(seeds.folder).parent):
        code, out, err = cli(*args[1:], *where,
                             script=search_app if args[0] == "search" else app)
    # the story column of the lines format is empty: stories are Whoosh's alone
    assert err + out == _STORY_COLUMN.sub("\t", expected)


def test_the_differences_are_still_in_the_readme() -> None:
    """Every difference listed here names a README example that still exists."""
    commands = [c for c, _ in EXAMPLES]
    for part in MUST_DIFFER:
        assert any(part in c for c in commands), part
