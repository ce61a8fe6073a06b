"""Run a query against the index -> :class:`SearchResults` of plain frozen dataclasses.

Everything Whoosh-shaped stays inside ``with ix.searcher():``; callers get copies.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Sequence
from typing import Any

from whoosh import highlight, scoring
from whoosh import query as wq

from . import indexer, query, schema
from .errors import IndexCorruptError
from .results import Hit, Location, SearchResults, Segment, Snippet


def weighting() -> scoring.WeightingModel:
    """The ranking function shared by ``search`` and ``eval``."""
    return scoring.BM25F(B=0.75, K1=1.2)


class _SegmentFormatter(highlight.Formatter):  # type: ignore[misc]
    """Whoosh formatter that returns segments instead of marked-up strings."""

    def format_fragment(self, fragment: Any, replace: bool = False) -> Snippet:
        out: list[Segment] = []
        index, text = fragment.startchar, fragment.text
        for t in sorted(fragment.matches, key=lambda tok: (tok.startchar, -tok.endchar)):
            if t.startchar is None or t.startchar < index:
                continue
            if t.startchar > index:
                out.append((text[index:t.startchar], False))
            out.append((text[t.startchar:t.endchar], True))
            index = t.endchar
        if index < fragment.endchar:
            out.append((text[index:fragment.endchar], False))
        return tuple(out)

    def format(self, fragments: Any, replace: bool = False) -> tuple[Snippet, ...]:
        return tuple(self.format_fragment(f) for f in fragments)


def _open(index_dir: str | os.PathLike[str]) -> Any:
    return indexer.open_index(index_dir)


def _datetime(seconds: int | None) -> dt.datetime | None:
    if seconds is None:
        return None
    return dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)


def _lead(text: str, width: int = 200) -> Snippet:
    if len(text) <= width:
        return ((text, False),) if text else ()
    cut = text.rfind(" ", 0, width)
    return ((text[: cut if cut > 40 else width] + " …", False),)


def search(
    index_dir: str | os.PathLike[str],
    text: str,
    *,
    limit: int = 10,
    offset: int = 0,
    filters: Sequence[wq.Query] = (),
    literal: bool = False,
    snippets: int = 1,
) -> SearchResults:
    """Search ``text`` (query syntax unless ``literal``); all words must match, and when
    nothing matches them all, the best partial matches come back with ``partial=True``."""
    started = time.monotonic()
    q = query.parse(text, mode="and", literal=literal)
    attempts = 3
    for attempt in range(attempts):
        ix = _open(index_dir)
        try:
            with ix.searcher(weighting=weighting()) as searcher:
                results = _run(searcher, text, q, limit, offset, filters, literal, snippets)
            break
        except FileNotFoundError as exc:
            # A commit removed segment files between reading the table of contents
            # and opening them: open the new commit.
            if attempt == attempts - 1:
                raise IndexCorruptError(str(index_dir), "segment files keep disappearing") from exc
    return _with_time(results, time.monotonic() - started)


def _with_time(results: SearchResults, seconds: float) -> SearchResults:
    from dataclasses import replace

    return replace(results, seconds=seconds)


def _run(searcher: Any, text: str, q: wq.Query, limit: int, offset: int,
         filters: Sequence[wq.Query], literal: bool, snippets: int) -> SearchResults:
    filter_q = wq.And(list(filters)) if filters else None
    want = offset + limit
    results = searcher.search(q, limit=max(want, 1), filter=filter_q,
                              collapse="canonical", collapse_limit=1, terms=True)
    partial = False
    if results.is_empty() and query.is_plain_words(text, q):
        q_or = query.parse(text, mode="or", literal=literal)
        results = searcher.search(q_or, limit=max(want, 1), filter=filter_q,
                                  collapse="canonical", collapse_limit=1, terms=True)
        partial = not results.is_empty()
        q = q_or
    results.fragmenter = highlight.ContextFragmenter(maxchars=220, surround=60)
    results.formatter = _SegmentFormatter()
    total = len(results) - sum(results.collapsed_counts.values())
    hits: list[Hit] = []
    for rank, h in enumerate(results[offset:want], start=offset + 1):
        hits.append(_hit(searcher, h, rank, snippets))
    return SearchResults(
        query=text, parsed=str(q), total=max(total, len(hits)), offset=offset, limit=limit,
        hits=tuple(hits), partial=partial,
    )


def _hit(searcher: Any, h: Any, rank: int, snippets: int) -> Hit:
    f = h.fields()
    excerpt = f.get("excerpt", "")
    marked: tuple[Snippet, ...] = ()
    if snippets > 0 and excerpt:
        marked = h.highlights("excerpt", top=snippets) or ()
    if not marked and snippets > 0:
        lead = _lead(excerpt)
        marked = (lead,) if lead else ()
    title_marked: Snippet = ()
    title = f.get("title", "")
    if title:
        whole = highlight.WholeFragmenter()
        h.results.fragmenter, saved = whole, h.results.fragmenter
        try:
            got = h.highlights("title", top=1)
        finally:
            h.results.fragmenter = saved
        title_marked = got[0] if got else ((title, False),)
    canonical = f.get("canonical", "")
    also = _also_in(searcher, canonical, h.docnum) if not canonical.startswith("entry:") else ()
    return Hit(
        rank=rank,
        score=round(float(h.score or 0.0), 4),
        id=f.get("key", ""),
        kind=f.get("kind", ""),
        path=f.get("path", ""),
        parent=f.get("parent", ""),
        title=title,
        excerpt=excerpt,
        provider=f.get("provider", ""),
        domain=f.get("domain", ""),
        published=_datetime(f.get("published")),
        url=f.get("url", ""),
        canonical_url="" if canonical.startswith("entry:") else canonical,
        topics=tuple(f.get("topic_list") or ()),
        quality=f.get("quality"),
        type=f.get("type", ""),
        title_marked=title_marked,
        snippets=tuple(marked),
        also_in=also,
    )


def _also_in(searcher: Any, canonical: str, docnum: int) -> tuple[Location, ...]:
    out: list[Location] = []
    for other in searcher.document_numbers(canonical=canonical):
        if other == docnum:
            continue
        f = searcher.stored_fields(other)
        out.append(Location(f.get("key", ""), f.get("kind", ""), f.get("path", "")))
    return tuple(sorted(out, key=lambda loc: loc.id))


def filter_kind(kind: str) -> wq.Query:
    return wq.Term("kind", kind)


def stats(index_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Counts and facts about the index for ``status``."""
    ix = _open(index_dir)
    with ix.searcher() as s:
        clippings = sum(1 for _ in s.docs_for_query(wq.Term("kind", schema.KIND_CLIPPING)))
        related = sum(1 for _ in s.docs_for_query(wq.Term("kind", schema.KIND_RELATED)))
        return {
            "entries": s.doc_count(),
            "clippings": clippings,
            "related": related,
            "segments": len(s.reader().leaf_readers()),
            "folder": schema.folder_of(ix.schema),
            "generation": ix.latest_generation(),
            "last_modified": dt.datetime.fromtimestamp(ix.last_modified(), tz=dt.timezone.utc),
            "schema_version": schema.version_of(ix.schema),
        }
