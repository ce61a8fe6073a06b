"""Stories (issue #14, items 1-2): grouping, incremental merges and splits, stable ids,
and the interface (hit fields, --by-story, `searchkit story`)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from searchkit import stories
from searchkit.engine import SearchRequest, open_engine
from tests.conftest import Corpus, cli

WIRE = ("Flooding forces thousands from homes in Valencia",
        "Torrential rain flooded the Spanish city of Valencia overnight, forcing thousands "
        "of residents from their homes and cutting power to 40,000 people, officials said.")
WIRE_EDITED = ("UPDATE 1-Flooding forces thousands from their homes in Valencia",
               "Torrential rain flooded the Spanish city of Valencia overnight, forcing "
               "thousands of residents from their homes and cutting power to 40,000 "
               "people ...")
OTHER_EVENT = ("Valencia approves budget for new metro line",
               "The Valencia city council approved the budget for a fourth metro line, "
               "due to open in 2029, after a long debate on costs.")
QUAKE = ("Magnitude 6.1 earthquake shakes southern Peru",
         "A magnitude 6.1 earthquake struck southern Peru near Arequipa on Tuesday, "
         "damaging roads and old buildings; no deaths were reported.")


def _clip(corpus: Corpus, name: str, text: tuple[str, str], when: str, outlet: str,
          url: str, related: list[dict[str, Any]] | None = None) -> None:
    fields: dict[str, Any] = {
        "title": text[0], "excerpt": text[1], "publishedDateTime": when,
        "webUrl": url, "provider": {"name": outlet, "domain": url.split("/")[2]}}
    if related:
        fields["related"] = related
    corpus.add(name, **fields)


def _wire(corpus: Corpus) -> None:
    """a.md: AP's wire story at 08:00, the original the other outlets copy."""
    _clip(corpus, "a.md", WIRE, "2023-10-01T08:00:00Z", "AP", "https://ap.example/valencia")


def _index(corpus: Corpus, ix: Path) -> None:
    code, _, err = cli("index", str(corpus.root), "--index", str(ix))
    assert code == 0, err


def _stories(ix: Path) -> dict[str, str]:
    """Every clipping's story (by id: a search shows one entry per article)."""
    engine = open_engine(ix)
    folder = engine.recorded_folder()
    assert folder is not None
    return {rel: engine.entry(rel).story for rel in sorted(os.listdir(folder))}


def _all() -> Any:
    from searchkit.results import Filters

    return Filters(since="1970-01-01")


# ---------------------------------------------------------------- the method


def _item(key: str, text: tuple[str, str], when: int) -> stories.Item:
    return stories.Item(key, key, text[0], text[1], when)


def test_syndicated_copies_are_one_story_and_another_event_on_the_subject_is_not() -> None:
    day = 1_700_000_000
    got = stories.group([_item("a", WIRE, day), _item("b", WIRE_EDITED, day + 7200),
                         _item("c", OTHER_EVENT, day + 3600), _item("d", QUAKE, day)])
    assert got["a"] == got["b"]
    assert len({got["a"], got["c"], got["d"]}) == 3
    assert got["a"] == stories.story_id("a")  # named after its earliest member


def test_the_window_keeps_the_same_words_days_apart_in_two_stories() -> None:
    day = 1_700_000_000
    got = stories.group([_item("a", WIRE, day),
                         _item("b", WIRE, day + (stories.WINDOW_DAYS + 1) * 86_400)])
    assert got["a"] != got["b"]


def test_the_five_seed_clippings_are_five_stories(seeds_index: Path) -> None:
    hits = open_engine(seeds_index).search(
        SearchRequest("", limit=None, filters=_all().__class__(kinds=("clipping",)))).hits
    assert len(hits) == 5 and len({h.story for h in hits}) == 5
    assert all(h.story.startswith("s") for h in hits)


# ---------------------------------------------------------------- incremental


def test_a_new_entry_merges_two_stories_and_its_removal_splits_them_with_their_ids(
        corpus: Corpus, tmp_path: Path) -> None:
    ix = tmp_path / "ix"
    _wire(corpus)
    _clip(corpus, "q.md", QUAKE, "2023-10-01T09:00:00Z", "Reuters",
          "https://reuters.example/peru")
    _index(corpus, ix)
    before = _stories(ix)
    assert before["a.md"] != before["q.md"]
    # One entry that is the same article as q.md (its URL) and a copy of a.md's text.
    _clip(corpus, "b.md", WIRE_EDITED, "2023-10-01T12:00:00Z", "Yahoo",
          "https://reuters.example/peru")
    _index(corpus, ix)
    merged = _stories(ix)
    assert merged["a.md"] == merged["b.md"] == merged["q.md"]
    assert merged["a.md"] == before["a.md"]  # the earlier story's id (a.md at 08:00)
    corpus.delete("b.md")
    _index(corpus, ix)
    assert _stories(ix) == before  # split back, each part with its old id


def test_ids_are_stable_across_updates_that_do_not_touch_the_story_and_rebuilds(
        corpus: Corpus, tmp_path: Path) -> None:
    ix = tmp_path / "ix"
    _wire(corpus)
    _clip(corpus, "c.md", WIRE_EDITED, "2023-10-02T08:00:00Z", "MSN",
          "https://msn.example/valencia")
    _index(corpus, ix)
    first = _stories(ix)
    assert first["a.md"] == first["c.md"]
    _clip(corpus, "m.md", OTHER_EVENT, "2023-10-01T10:00:00Z", "El País",
          "https://elpais.example/metro")
    _index(corpus, ix)
    second = _stories(ix)
    assert second["a.md"] == first["a.md"] and second["m.md"] != second["a.md"]
    assert cli("index", str(corpus.root), "--index", str(ix), "--rebuild")[0] == 0
    assert _stories(ix) == second
    tables = sorted(n for n in os.listdir(ix) if n.startswith("searchkit-stories-"))
    assert len(tables) == 1  # only the live commit's table is kept


def test_changing_a_clipping_regroups_only_its_story(corpus: Corpus, tmp_path: Path) -> None:
    ix = tmp_path / "ix"
    _wire(corpus)
    _clip(corpus, "c.md", WIRE_EDITED, "2023-10-01T09:00:00Z", "MSN",
          "https://msn.example/valencia")
    _clip(corpus, "q.md", QUAKE, "2023-10-01T09:00:00Z", "Reuters",
          "https://reuters.example/peru")
    _index(corpus, ix)
    before = _stories(ix)
    _clip(corpus, "c.md", OTHER_EVENT, "2023-10-01T09:00:00Z", "MSN",
          "https://msn.example/valencia")  # now another event
    _index(corpus, ix)
    after = _stories(ix)
    assert after["a.md"] == before["a.md"] and after["q.md"] == before["q.md"]
    assert after["c.md"] not in (after["a.md"], after["q.md"])


# ---------------------------------------------------------------- interface


@pytest.fixture
def two_outlets(corpus: Corpus, tmp_path: Path) -> list[str]:
    ix = tmp_path / "ix"
    _wire(corpus)
    _clip(corpus, "c.md", WIRE_EDITED, "2023-10-01T11:30:00Z", "MSN",
          "https://msn.example/valencia")
    _clip(corpus, "m.md", OTHER_EVENT, "2023-10-01T10:00:00Z", "El País",
          "https://elpais.example/metro")
    _index(corpus, ix)
    return ["--index", str(ix), "--no-refresh"]


def test_hits_carry_their_story_in_every_format(two_outlets: list[str]) -> None:
    code, out, _ = cli("search", "valencia", "-f", "json", *two_outlets)
    record = json.loads(out)
    assert code == 0 and record["by_story"] is False
    sizes = {h["id"]: (h["story"], h["story_size"]) for h in record["hits"]}
    assert sizes["a.md"] == sizes["c.md"] and sizes["a.md"][1] == 2
    assert sizes["m.md"][1] == 1 and sizes["m.md"][0] != sizes["a.md"][0]
    jsonl = [json.loads(line) for line in cli("search", "valencia", "-f", "jsonl",
                                              *two_outlets)[1].splitlines()]
    assert {r["id"]: r["story"] for r in jsonl} == {k: v[0] for k, v in sizes.items()}
    csv_rows = cli("search", "valencia", "-f", "csv", *two_outlets)[1].splitlines()
    assert csv_rows[0].endswith(",topics,story")
    assert all(row.rsplit(",", 1)[1] == sizes[row.split(",")[2]][0] for row in csv_rows[1:])
    lines = cli("search", "valencia", "-f", "lines", *two_outlets)[1].splitlines()
    assert {ln.split("\t")[0]: ln.split("\t")[-1] for ln in lines} == \
        {k: v[0] for k, v in sizes.items()}


def test_pretty_output_names_the_other_outlets(two_outlets: list[str]) -> None:
    code, out, _ = cli("search", "flooding valencia", "-f", "pretty", "--color", "never",
                       *two_outlets)
    assert code == 0
    assert "   +1 more: MSN\n" in out and "   +1 more: AP\n" in out


def test_by_story_collapses_hits_and_counts_stories(two_outlets: list[str]) -> None:
    code, out, _ = cli("search", "valencia", "--by-story", "-f", "json", "--facets",
                       "provider", *two_outlets)
    record = json.loads(out)
    assert code == 0 and record["by_story"] is True and record["total"] == 2
    assert len(record["hits"]) == 2 and len({h["story"] for h in record["hits"]}) == 2
    flood = next(h for h in record["hits"] if h["story_size"] == 2)
    assert flood["first_reporter"]["provider"] == "AP"
    assert flood["first_reporter"]["published"] == "2023-10-01T08:00:00Z"
    assert sum(record["facets"]["provider"].values()) == 2
    code, out, err = cli("search", "valencia", "--by-story", "--count", *two_outlets)
    assert (code, out) == (0, "2\n") and "stories" in err
    code, out, _ = cli("search", "valencia", "--by-story", "-f", "pretty", "--color",
                       "never", *two_outlets)
    assert "first: AP · 2023-10-01" in out


def test_story_command_lists_members_oldest_first_with_their_lag(
        two_outlets: list[str]) -> None:
    index = two_outlets[:2]
    story = json.loads(cli("search", "flooding", "-f", "json", *two_outlets)[1]
                       )["hits"][0]["story"]
    code, out, _ = cli("story", story, *index)
    rows = [line.split("\t") for line in out.splitlines()]
    assert code == 0 and [r[3] for r in rows] == ["a.md", "c.md"]
    assert rows[0][:2] == ["2023-10-01", "AP"] and rows[0][4] == "first"
    assert rows[1][1:2] == ["MSN"] and rows[1][4] == "+3h"
    record = json.loads(cli("story", story, "-f", "json", *index)[1])
    assert record["story"] == story and record["size"] == 2
    assert [m["lag_seconds"] for m in record["members"]] == [0, 12_600]
    code, out, err = cli("story", "s0000000000", *index)
    assert code == 2 and out == "" and "no story 's0000000000'" in err


def test_show_names_the_entrys_story(two_outlets: list[str]) -> None:
    index = two_outlets[:2]
    code, out, _ = cli("show", "c.md", "-f", "json", *index)
    story = json.loads(out)["story"]
    assert code == 0 and story["size"] == 2 and story["other_outlets"] == ["AP"]
    assert story["first_reporter"]["id"] == "a.md"
    code, out, _ = cli("show", "c.md", "-f", "pretty", "--color", "never", *index)
    assert f"story:        {story['id']} (2 entries: AP)\n" in out
