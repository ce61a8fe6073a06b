"""``search --by-story``: every matching article's hit -> one row per story.

Engine-neutral: works on :class:`SearchResults` whose hits carry their story
(:mod:`searchkit.stories`). Each story is shown by its best-scoring member (the
results' own order decides), with the first reporter and the other outlets on the hit;
the total and the facets then count stories.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from .results import Hit, SearchResults


def collapse(results: SearchResults, *, limit: int | None, offset: int = 0,
             facets: Sequence[str] = ()) -> SearchResults:
    """``results`` holding every match, collapsed to one hit per story, then the page
    ``offset``..``offset + limit`` of them (None: all)."""
    seen: set[str] = set()
    rows: list[Hit] = []
    for h in results.hits:
        key = h.story or f"entry:{h.id}"
        if key in seen:
            continue
        seen.add(key)
        rows.append(h)
    page = rows[offset:] if limit is None else rows[offset:offset + limit]
    page = [replace(h, rank=offset + i) for i, h in enumerate(page, start=1)]
    return replace(results, hits=tuple(page), total=len(rows), offset=offset,
                   limit=len(page) if limit is None else limit, by_story=True,
                   facets={name: _counts(rows, name) for name in facets})


def _counts(rows: Sequence[Hit], name: str) -> tuple[tuple[str, int], ...]:
    counts: Counter[str] = Counter()
    for h in rows:
        if name == "provider":
            value = h.provider or h.domain
            if value:
                counts[value] += 1
        elif name == "topic":
            counts.update(dict.fromkeys(h.topics, 1))
        elif name == "year":
            if h.published is not None:
                counts[str(h.published.year)] += 1
        elif name == "kind":
            counts[h.kind] += 1
    pairs = list(counts.items())
    if name == "year":
        pairs.sort(key=lambda kv: (len(kv[0]), kv[0]))
    else:
        pairs.sort(key=lambda kv: (-kv[1], kv[0].lower()))
    return tuple(pairs)
