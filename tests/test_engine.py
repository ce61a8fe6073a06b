"""The engine seam: the CLI and the library reach the index only through an Engine."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

from searchkit.engine import SearchRequest, WhooshEngine, open_engine
from searchkit.errors import ConfigError, NotFoundError
from searchkit.results import Filters
from tests.conftest import REPO, SEEDS


def test_whoosh_engine_indexes_searches_and_fetches(tmp_path: Path) -> None:
    folder = tmp_path / "seeds"
    shutil.copytree(SEEDS, folder)
    engine = open_engine(tmp_path / "index")
    assert isinstance(engine, WhooshEngine) and engine.location == str(tmp_path / "index")
    assert not engine.exists()
    assert engine.diff(folder).added and engine.recorded_folder() is None

    report = engine.update(folder)
    assert report.added == 5 and engine.exists()
    assert engine.recorded_folder() == str(folder.resolve())
    assert not engine.diff(folder).added and not engine.diff(folder).modified

    results = engine.search(SearchRequest("facial recognition airports", limit=2))
    assert results.total >= 2 and results.hits[0].id == "003_06c42d1ff0946df3.txt"
    only_clippings = engine.search(
        SearchRequest("recognition", filters=Filters(kinds=("clipping",)), limit=20))
    assert {h.kind for h in only_clippings.hits} == {"clipping"}
    assert engine.entry(results.hits[0].id).title == results.hits[0].title
    assert engine.similar("004_97f99700f6cf9e75.txt#3", limit=3).hits
    assert engine.stats()["entries"] >= 5
    with pytest.raises(NotFoundError):
        engine.entry("no-such-file.md")
    assert engine.refresh(folder).action == "fresh"


def test_unknown_engine_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown engine 'lucene'; use one of: whoosh"):
        open_engine(tmp_path, "lucene")


@pytest.mark.parametrize("module", sorted((REPO / "searchkit" / "cli").glob("*.py")) + [
    REPO / "searchkit" / "evaluate.py"], ids=lambda p: p.name)
def test_commands_reach_the_index_only_through_the_engine(module: Path) -> None:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    reached: set[str] = set()
    for node in ast.walk(tree):
        # searchkit.cli.X and searchkit.evaluate: `from .. import indexer`, `from ..search
        # import ...`, `from . import search` (evaluate) all reach the engine's modules.
        depth = 2 if module.parent.name == "cli" else 1
        if isinstance(node, ast.ImportFrom) and node.level == depth:
            first = (node.module or "").split(".")[0]
            if first in ("indexer", "search"):
                reached.add(first)
            if not node.module:
                reached |= {a.name for a in node.names} & {"indexer", "search"}
    assert not reached, f"{module.name} imports {sorted(reached)}: call searchkit.engine"
