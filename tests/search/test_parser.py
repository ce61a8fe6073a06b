"""searchkit.search.parser: query syntax, fields, and the plain-word fast path."""

from __future__ import annotations

from pathlib import Path

import pytest

from searchkit import QueryError, search
from tests.conftest import Corpus, cli
from tests.search.conftest import names


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("provider:gcn", {"000_d147ebc2d70e439b.txt"}),
        ("provider:go.com", {"003_06c42d1ff0946df3.txt"}),
        ("domain:wsj.com", {"003_06c42d1ff0946df3.txt#1"}),
        ('topic:"natural language"', {"004_97f99700f6cf9e75.txt"}),
        ("published:2019", {"003_06c42d1ff0946df3.txt", "003_06c42d1ff0946df3.txt#1"}),
        ("published:2019-12-05", {"003_06c42d1ff0946df3.txt"}),
        ("quality:>=60 kind:clipping", set()),
        ("quality:>58 kind:clipping", {"004_97f99700f6cf9e75.txt"}),
        ("url:http://www.gcn.com/articles/2020/11/23/cbp-facial-recognition-rule-change.aspx/",
         {"000_d147ebc2d70e439b.txt"}),
        ("facial NOT recognition", set()),
        ('"border crossings"', {"002_36246a49f00582d8.txt", "004_97f99700f6cf9e75.txt"}),
        # the related article (its clipping's own text does not mention prisons)
        ("prison*", {"000_d147ebc2d70e439b.txt#2"}),
        ("prison* kind:related", {"000_d147ebc2d70e439b.txt#2"}),
    ],
)
def test_field_and_syntax_queries(seeds_index: Path, text: str, expected: set[str]) -> None:
    assert {h.id for h in search.search(seeds_index, text, limit=50).hits} == expected

@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("nosuchfield:x", "unknown field 'nosuchfield:'"),
        ("published:garbage", "not a date"),
        ('"unclosed', "unclosed quote"),
        ("(a OR b", "unclosed '('"),
        ("a*", "at least 2 letters"),
        ("*", "matches everything"),
    ],
)
def test_invalid_queries_raise_query_error(seeds_index: Path, text: str, problem: str) -> None:
    with pytest.raises(QueryError) as info:
        search.search(seeds_index, text)
    assert problem in str(info.value)

@pytest.mark.parametrize("text", ["facial recognition airports", "U.S. customs",
                                  "café protesting", "the border", "police Maine"])
def test_plain_word_fast_path_ranks_exactly_like_the_parser(seeds_index: Path,
                                                            text: str) -> None:
    fast = search.search(seeds_index, text, limit=50)
    parsed = search.search(seeds_index, f"({text})", limit=50)  # parentheses: full parser
    assert [(h.id, h.score) for h in fast.hits] == [(h.id, h.score) for h in parsed.hits]
    assert fast.total == parsed.total

def test_fuzzy_proximity_and_prefix(seeds_index: Path) -> None:
    assert names(seeds_index, "excerpt:biometrc~ kind:clipping") == {
        "001_d337aeb0c984cb4a.txt", "002_36246a49f00582d8.txt"}
    assert names(seeds_index, "excerpt:recgnition~2 kind:clipping")
    assert names(seeds_index, 'title:"recognition airports"~8') == set()
    assert names(seeds_index, 'excerpt:"facial airports"~30') == {
        "001_d337aeb0c984cb4a.txt#1", "003_06c42d1ff0946df3.txt"}
    assert names(seeds_index, "bi*") == names(seeds_index, "bi* OR bi*")
    with pytest.raises(QueryError, match="at least 2 letters"):
        search.search(seeds_index, "b*")


# ---------------------------------------------------------------- words with symbols

SYMBOL_CLIPPINGS = {
    "att.md": ("AT&T buys Time Warner", "The AT&T deal closed after a court ruling."),
    "cpp.md": ("C++ turns 40", "Bjarne Stroustrup on the future of the language."),
    "c.md": ("C at fifty", "The C language and its compilers."),
    "us.md": ("U.S. sanctions widen", "Washington imposed new sanctions."),
    "nine.md": ("Remembering 9/11", "Twenty years after 9/11 the city remembers."),
    "metoo.md": ("#MeToo five years on", "The #MeToo movement changed workplaces."),
    "hyphen.md": ("E-mail scams rise", "Phishing by e-mail grows."),
    "solid.md": ("Email fraud grows", "Banks warn of email fraud."),
    "other.md": ("Markets rally", "Stocks rose on Friday; let us see."),
}


@pytest.fixture
def symbols(corpus: Corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    for name, (title, excerpt) in SYMBOL_CLIPPINGS.items():
        corpus.add(name, title=title, excerpt=excerpt, webUrl=f"https://example.com/{name}")
    monkeypatch.chdir(corpus.root)
    return ["--index", str(tmp_path / "index"), "--seeds", str(corpus.root), "-f", "paths"]


def found(options: list[str], *query: str) -> set[str]:
    code, out, err = cli("search", *query, *options)
    assert code in (0, 1), err
    return set(out.split())


@pytest.mark.parametrize(("plain", "phrase", "expected"), [
    ("AT&T", '"AT&T deal"', {"att.md"}),
    ("at&t", '"the AT&T deal"', {"att.md"}),
    ("C++", '"C++ turns"', {"cpp.md"}),
    ("U.S.", '"U.S. sanctions"', {"us.md"}),
    ("9/11", '"after 9/11"', {"nine.md"}),
    ("#MeToo", '"#MeToo movement"', {"metoo.md"}),
    ("MeToo", '"metoo movement"', {"metoo.md"}),
    ("e-mail", '"e-mail scams"', {"hyphen.md", "solid.md"}),
])
def test_words_with_symbols_plain_phrase_and_literal(symbols: list[str], plain: str,
                                                     phrase: str, expected: set[str]) -> None:
    assert found(symbols, plain) >= expected
    assert found(symbols, "--literal", plain) >= expected
    # the phrase matches the form it spells (here the first of ``expected``)
    assert sorted(expected)[0] in found(symbols, phrase)


def test_each_form_finds_the_others(symbols: list[str]) -> None:
    assert found(symbols, "att") == {"att.md"}  # run together
    assert found(symbols, "911") == {"nine.md"}
    assert found(symbols, "email") == {"hyphen.md", "solid.md"}
    assert found(symbols, "e-mail") == {"hyphen.md", "solid.md"}
    assert found(symbols, '"email fraud"') == {"solid.md"}
    assert found(symbols, "mail") == {"hyphen.md"}  # a part of e-mail
    assert found(symbols, "C++") == {"cpp.md"}  # not the letter c
    assert "cpp.md" not in found(symbols, "C")
    # U.S. and US are one word; the pronoun too (not a stop word, for the country)
    assert found(symbols, "US") == found(symbols, "U.S.") == {"us.md", "other.md"}
    # symbols in queries with syntax, and in a field
    assert found(symbols, "AT&T OR C++") == {"att.md", "cpp.md"}
    assert found(symbols, "title:e-mail") == {"hyphen.md", "solid.md"}
    assert found(symbols, "9/11 NOT remembers") == set()


def test_symbols_are_marked_whole(symbols: list[str]) -> None:
    found(symbols, "email")  # builds the index
    results = search.search(symbols[1], "email", limit=5)
    titles = {h.title_marked for h in results.hits}
    assert (("E-mail", True), (" scams rise", False)) in titles
    att = search.search(symbols[1], "att").hits[0]
    assert att.title_marked[0] == ("AT&T", True)


# ---------------------------------------------------------------- fuzzy edit distance


@pytest.mark.parametrize(("word", "edits"), [("ab", 0), ("abc", 1), ("abcde", 1),
                                             ("abcdef", 2), ("zelenski", 2)])
def test_fuzzy_distance_grows_with_length(word: str, edits: int) -> None:
    from searchkit.search import parser

    assert parser.auto_edits(word) == edits


def test_fuzzy_reaches_one_more_letter_on_long_words(corpus: Corpus, index_dir: Path) -> None:
    from searchkit import indexer

    corpus.add("zel.md", title="Zelenskyy visits Washington")
    corpus.add("trump.md", title="Trump rally")
    indexer.update(corpus.root, index_dir)
    # zelensky -> zelenski (stem), 2 edits from zelenskyy
    assert names(index_dir, "Zelensky~") == {"zel.md"}
    assert search.search(index_dir, "Zelensky~").parsed == "text:zelenski~2"
    assert names(index_dir, "Zelensky~1") == set()  # explicit distances stay
    assert names(index_dir, "Zelensky~2") == {"zel.md"}
    assert names(index_dir, "trunp~") == {"trump.md"}  # 5 letters: 1 edit
    assert names(index_dir, "trxnx~") == set()


def test_fuzzy_terms_obey_the_breadth_cap(corpus: Corpus, index_dir: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from searchkit import indexer
    from searchkit.search import expand

    corpus.add("a.md", title="border borders boarder bordello")
    indexer.update(corpus.root, index_dir)
    assert names(index_dir, "bordel~") == {"a.md"}
    monkeypatch.setattr(expand, "MAX_EXPANSION", 2)
    with pytest.raises(QueryError, match="too broad"):
        search.search(index_dir, "bordel~")
