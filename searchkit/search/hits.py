"""Hits: a matched document -> a plain :class:`Hit`, with marked title and snippets,
where else the same article appears, and (``--explain``) each term's share of the score.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from whoosh import highlight
from whoosh import query as wq

from ..indexer import schema
from ..results import Hit, Location, Segment, Snippet, TermScore
from . import parser

ScoredTerm = tuple[wq.Term, bool]  # a term that adds to a score; True: from feedback


def hit(searcher: Any, docnum: int, rank: int, snippets: int, words: frozenset[str],
        terms: Sequence[ScoredTerm] = (), score: float = 0.0) -> Hit:
    """The hit for ``docnum``: ``words`` marked in its title and in up to ``snippets``
    excerpt fragments, and the share of each of ``terms`` in its score."""
    f = searcher.stored_fields(docnum)
    excerpt = f.get("excerpt", "")
    marked: tuple[Snippet, ...] = ()
    if snippets > 0:
        marked = _marked(searcher, excerpt, words,
                         highlight.ContextFragmenter(maxchars=220, surround=60), snippets)
        if not marked:
            lead = _lead(excerpt)
            marked = (lead,) if lead else ()
    title = f.get("title", "")
    title_marked: Snippet = ()
    if title:
        got = _marked(searcher, title, words, highlight.WholeFragmenter(), 1)
        title_marked = got[0] if got else ((title, False),)
    return replace(plain_hit(searcher, f, docnum, rank, score), title_marked=title_marked,
                   snippets=marked,
                   explanation=_explain(searcher, docnum, terms) if terms else ())


def plain_hit(searcher: Any, f: dict[str, Any], docnum: int, rank: int,
              score: float) -> Hit:
    """The stored fields ``f`` of ``docnum`` as a Hit, without marks or snippets."""
    canonical = f.get("canonical", "")
    synthetic = canonical.startswith("entry:")
    return Hit(
        rank=rank,
        score=round(score, 4),
        id=f.get("key", ""),
        kind=f.get("kind", ""),
        path=f.get("path", ""),
        parent=f.get("parent", ""),
        title=f.get("title", ""),
        excerpt=f.get("excerpt", ""),
        provider=f.get("provider", ""),
        domain=f.get("domain", ""),
        published=_datetime(f.get("published")),
        url=f.get("url", ""),
        canonical_url="" if synthetic else canonical,
        topics=tuple(f.get("topic_list") or ()),
        quality=f.get("quality"),
        type=f.get("type", ""),
        also_in=() if synthetic else _also_in(searcher, canonical, docnum),
        arrived=_arrived(f.get("arrived")),
    )


def _arrived(millis: int | None) -> dt.datetime | None:
    if millis is None:
        return None
    return dt.datetime.fromtimestamp(millis / 1000, tz=dt.timezone.utc)


def _datetime(seconds: int | None) -> dt.datetime | None:
    if seconds is None:
        return None
    return dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)


def _also_in(searcher: Any, canonical: str, docnum: int) -> tuple[Location, ...]:
    out: list[Location] = []
    for other in searcher.document_numbers(canonical=canonical):
        if other == docnum:
            continue
        f = searcher.stored_fields(other)
        out.append(Location(f.get("key", ""), f.get("kind", ""), f.get("path", "")))
    return tuple(sorted(out, key=lambda loc: loc.id))


# ---------------------------------------------------------------- highlighting


def highlight_words(searcher: Any, q: wq.Query) -> frozenset[str]:
    """The analysed words to mark in titles and excerpts: those the query looks for
    (prefixes and fuzzy terms expanded), not those it excludes."""
    reader = searcher.reader()

    def words(node: wq.Query) -> set[str]:
        return {t.decode("utf-8") if isinstance(t, bytes) else str(t)
                for f, t in node.existing_terms(reader, phrases=True, expand=True)
                if f in schema.HIGHLIGHT_FIELDS}

    excluded: set[str] = set()
    for node in parser.walk(q):
        if isinstance(node, wq.Not):
            excluded |= words(node.query)
    return frozenset(words(q) - excluded)


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


def _marked(searcher: Any, text: str, words: frozenset[str], fragmenter: Any,
            top: int) -> tuple[Snippet, ...]:
    if not text or not words:
        return ()
    # mode="index": the forms the index holds, so "email" marks "e-mail" whole
    got = highlight.highlight(text, words, searcher.schema["text"].analyzer, fragmenter,
                              _SegmentFormatter(), top=top, mode="index")
    return tuple(got or ())


def _lead(text: str, width: int = 200) -> Snippet:
    if len(text) <= width:
        return ((text, False),) if text else ()
    cut = text.rfind(" ", 0, width)
    return ((text[: cut if cut > 40 else width] + " …", False),)


# ---------------------------------------------------------------- explain


def scored_terms(q: wq.Query | None, *, feedback: bool = False
                 ) -> tuple[ScoredTerm, ...]:
    """The terms that add to a score, marked as ``feedback`` terms or typed ones;
    feedback words keep their boosts."""
    if q is None:
        return ()
    found = {(f, t): wq.Term(f, t) for f, t in q.iter_all_terms()
             if f in schema.TEXT_FIELDS or f == "domain"}
    for leaf in q.leaves():
        if isinstance(leaf, wq.Term) and (leaf.fieldname, leaf.text) in found:
            found[leaf.fieldname, leaf.text] = leaf
    return tuple((found[k], feedback) for k in sorted(found))


def _explain(searcher: Any, docnum: int, terms: Sequence[ScoredTerm]
             ) -> tuple[TermScore, ...]:
    """Each term's BM25F contribution to one document's score; a word asked for and
    also chosen by feedback has two, one marked ``feedback``."""
    scores: dict[tuple[str, str, bool], float] = {}
    for term, feedback in terms:
        m = term.matcher(searcher)
        if not m.is_active():
            continue
        m.skip_to(docnum)
        if m.is_active() and m.id() == docnum:
            text = term.text
            word = text.decode("utf-8") if isinstance(text, bytes) else str(text)
            key = (term.fieldname, word, feedback)
            scores[key] = scores.get(key, 0.0) + float(m.score())
    out = [TermScore(f, w, round(score, 4), fb) for (f, w, fb), score in scores.items()]
    out.sort(key=lambda t: -t.score)
    return tuple(out)
