"""searchkit.search.suggest: "did you mean" and per-word counts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from searchkit import search
from tests.conftest import Corpus, cli


def test_suggestions_and_diagnosis(seeds_index: Path) -> None:
    results = search.search(seeds_index, "facal recogniton airports")
    assert results.suggestions == ("facial recognition airports",)
    assert [(w.word, w.count) for w in results.diagnosis] == [
        ("facal", 0), ("recogniton", 0), ("airports", 2)]
    assert results.partial  # airports alone still matches
    fine = search.search(seeds_index, "facial recognition")
    assert (fine.suggestions, fine.diagnosis) == ((), ())


# ---------------------------------------------------------------- typos, through the CLI


@pytest.fixture
def news(corpus: Corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Brett is in more entries than Brexit, trump than trunk."""
    stories = [
        ("brexit.md", "Brexit talks stall", "The Brexit deal faces a vote."),
        ("zel.md", "Zelenskyy visits Washington", "President Zelenskyy asked for aid."),
        ("greta.md", "Greta Thunberg speaks on climate", "Thunberg urged action."),
        ("report.md", "Climate report warns", "The climate is warming faster."),
        ("trunk.md", "Elephant trunk study", "Scientists measured trunks."),
    ]
    stories += [(f"brett{n}.md", f"Brett story {n}", "Brett spoke to senators.")
                for n in range(3)]
    stories += [(f"trump{n}.md", f"Trump story {n}", "A rally.") for n in range(3)]
    for name, title, excerpt in stories:
        corpus.add(name, title=title, excerpt=excerpt, webUrl=f"https://example.com/{name}")
    monkeypatch.chdir(corpus.root)
    return ["--index", str(tmp_path / "index"), "--seeds", str(corpus.root)]


def test_a_swap_of_two_letters_is_one_edit(news: list[str]) -> None:
    # brexti -> brexit is one transposition; brett, in more entries, is two edits away
    code, out, err = cli("search", "Brexti", *news)
    assert code == 1 and out == ""
    assert "Did you mean: brexit\n" in err
    code, out, _ = cli("search", "Brexti", "-f", "json", *news)
    assert json.loads(out)["suggestions"] == ["brexit"]


def test_equally_close_words_prefer_the_more_common(news: list[str]) -> None:
    # trunp: one edit from trump (3 entries) and from trunk (1 entry)
    assert "Did you mean: trump\n" in cli("search", "trunp", *news)[2]


def test_no_suggestion_without_a_close_word(news: list[str]) -> None:
    code, _, err = cli("search", "xylophone", *news)
    assert code == 1 and "Did you mean" not in err
    # 5 letters allow one edit, not two
    assert "Did you mean" not in cli("search", "brxxt", *news)[2]


def test_a_correction_is_offered_before_the_fallback(news: list[str]) -> None:
    code, out, err = cli("search", "Thunburg climate", "--fallback", "-f", "paths", *news)
    assert code == 0 and set(out.split()) == {"greta.md", "report.md"}
    assert "Did you mean: thunberg climate\n" in err
    assert 'Note: no entry has "Thunburg"; showing matches for the other words.' in err
    code, out, _ = cli("search", "Thunburg climate", "-f", "json", *news)
    record = json.loads(out)
    assert record["suggestions"] == ["thunberg climate"]
    assert record["diagnosis"] == {"Thunburg": 0, "climate": 2}
    # the correction is offered, not searched: as suggested, it finds the one entry
    code, out, _ = cli("search", "thunberg climate", "-f", "paths", *news)
    assert (code, out.split()) == (0, ["greta.md"])


def test_fuzzy_search_reaches_the_longer_spelling(news: list[str]) -> None:
    code, out, _ = cli("search", "Zelensky~", "-f", "paths", *news)
    assert (code, out.split()) == (0, ["zel.md"])


def test_stop_words_are_not_diagnosed(news: list[str]) -> None:
    record = json.loads(cli("search", "the Thunburg climate", "-f", "json", *news)[1])
    assert record["diagnosis"] == {"Thunburg": 0, "climate": 2}
    assert record["suggestions"] == ["the thunberg climate"]
