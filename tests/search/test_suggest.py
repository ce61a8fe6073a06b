"""searchkit.search.suggest: "did you mean" and per-word counts."""

from __future__ import annotations

from pathlib import Path

from searchkit import search


def test_suggestions_and_diagnosis(seeds_index: Path) -> None:
    results = search.search(seeds_index, "facal recogniton airports")
    assert results.suggestions == ("facial recognition airports",)
    assert [(w.word, w.count) for w in results.diagnosis] == [
        ("facal", 0), ("recogniton", 0), ("airports", 2)]
    assert results.partial  # airports alone still matches
    fine = search.search(seeds_index, "facial recognition")
    assert (fine.suggestions, fine.diagnosis) == ((), ())
