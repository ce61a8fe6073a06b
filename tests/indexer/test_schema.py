"""searchkit.indexer.schema and .tokens: words with symbols, the same at index and query
time, and the schema version that makes old indexes rebuild."""

from __future__ import annotations

from pathlib import Path

import pytest

from searchkit.indexer import schema
from tests.conftest import Corpus, cli


def tokens(text: str, mode: str) -> list[tuple[str, int]]:
    analyzer = schema.text_analyzer()
    return [(t.text, t.pos) for t in analyzer(text, positions=True, mode=mode)]


@pytest.mark.parametrize(("text", "indexed", "queried"), [
    # whole, run together and parts (stop words dropped), all in one position
    ("AT&T deal", [("at&t", 0), ("att", 0), ("deal", 1)], [("at&t", 0), ("deal", 1)]),
    ("after 9/11 attacks", [("after", 0), ("9/11", 1), ("911", 1), ("9", 1), ("11", 1),
                            ("attack", 2)], [("after", 0), ("9/11", 1), ("attack", 2)]),
    # kept whole: not the letter c
    ("C++ and C#", [("c++", 0), ("c#", 1)], [("c++", 0), ("c#", 1)]),
    # single letters between dots lose the dots
    ("U.S. sanctions", [("us", 0), ("sanction", 1)], [("us", 0), ("sanction", 1)]),
    # a hashtag is its word
    ("#MeToo movement", [("metoo", 0), ("movement", 1)], [("metoo", 0), ("movement", 1)]),
    # parts one position each, run together at the first part's in the index
    ("e-mail scams", [("e", 0), ("email", 0), ("mail", 1), ("scam", 2)],
     [("e", 0), ("mail", 1), ("scam", 2)]),
    # unchanged: numbers with decimals, apostrophes, domains
    ("3.5 don't example.com", [("3.5", 0), ("don't", 1), ("example.com", 2)],
     [("3.5", 0), ("don't", 1), ("example.com", 2)]),
])
def test_words_with_symbols(text: str, indexed: list[tuple[str, int]],
                            queried: list[tuple[str, int]]) -> None:
    assert tokens(text, "index") == indexed
    assert tokens(text, "query") == queried


def test_stop_words_keep_shared_positions() -> None:
    # "the" is dropped and the positions close up, as Whoosh's StopFilter does, but the
    # forms of one word keep sharing theirs
    assert tokens("the AT&T of the e-mail", "index") == [
        ("at&t", 1), ("att", 1), ("e", 2), ("email", 2), ("mail", 3)]


def test_token_pattern_keeps_words_whole() -> None:
    import re

    assert re.findall(schema.TOKEN_PATTERN, "AT&T, C++; U.S. #MeToo e-mail 9/11 1+1") == [
        "AT&T", "C++", "U.S", "MeToo", "e-mail", "9/11", "1", "1"]


def test_older_schema_version_is_rebuilt_by_search_with_a_note(
        corpus: Corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus.add("att.md", title="AT&T buys Time Warner")
    index = str(tmp_path / "index")
    monkeypatch.setattr(schema, "SCHEMA_VERSION", schema.SCHEMA_VERSION - 1)
    assert cli("index", str(corpus.root), "--index", index)[0] == 0
    monkeypatch.undo()
    code, out, err = cli("search", "AT&T", "--index", index, "--seeds", str(corpus.root),
                         "-f", "paths")
    assert code == 0 and out.strip().endswith("att.md")
    assert (f"schema version {schema.SCHEMA_VERSION - 1}, this searchkit uses "
            f"{schema.SCHEMA_VERSION}; rebuilding") in err
    code, _, err = cli("search", "AT&T", "--index", index, "--seeds", str(corpus.root))
    assert code == 0 and "rebuilding" not in err
