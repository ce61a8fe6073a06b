"""The related-article graph and the news views over it: who cites an article
(``cites:``, ``show``), which articles the clippings cite most (``cited``), whether an
article is held under any URL variant (``has``), and matches per day (``--timeline``).

A clipping's ``cites`` field holds the canonical URLs of its related articles
(:func:`searchkit.entries.cites_of`), so every question here is a term lookup on the
canonical form, whatever variant of a URL was given.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from whoosh import query as wq

from ..documents import canonical_url
from ..errors import NotFoundError, QueryError
from ..indexer import open_index
from ..indexer.check import reports_damage
from ..results import CitedArticle, CitedResults, EntryRef, Filters, UrlLookup
from ..vocabulary import DEFAULT_TIMEOUT, KIND_CLIPPING
from . import columns, parser
from .deadline import Deadline, DeadlineSearcher, TimeUp
from .expand import Expander
from .filters import filter_query

STAGE = "counting the timeline"
DAY = 86_400

# Per segment reader: one value per document. A timeline counts one match per distinct
# key (default: the article group, as ``total`` counts) at the earliest date among its
# matching entries (default: ``published``). Grouping by story passes its own keys (and
# the dates of each story's first member) to count stories instead.
Column = Callable[[Any], Sequence[int]]


def day_counts(searcher: Any, q: wq.Query, filter_q: wq.Query | None, deadline: Deadline,
               keys: Column = columns.groups, dates: Column = columns.published
               ) -> tuple[dict[int, int], int]:
    """(matches per UTC day since 1970-01-01, undated matches) over every match of ``q``
    (patterns already expanded) and ``filter_q``: one per distinct key, at its earliest
    date. Reads two columns per segment; no stored fields."""
    allow = searcher._filter_to_comb(filter_q) if filter_q is not None else None
    earliest: dict[int, int] = {}
    context = searcher.context()
    seen = 0
    for sub, offset in searcher.leaf_searchers():
        reader = sub.reader()
        m = q.matcher(sub, context)
        if not m.is_active():
            continue
        key_of, date_of = keys(reader), dates(reader)
        get = earliest.get
        for d in m.all_ids():
            seen += 1
            if not seen & 255:
                deadline.check(STAGE)
            if allow is not None and d + offset not in allow:
                continue
            k, when = key_of[d], date_of[d]
            cur = get(k)
            if cur is None or when < cur:
                earliest[k] = when
    per_day = Counter(when // DAY for when in earliest.values() if when != columns.UNDATED)
    undated = sum(1 for when in earliest.values() if when == columns.UNDATED)
    return dict(per_day), undated


def _ref(f: dict[str, Any]) -> EntryRef:
    published = f.get("published")
    return EntryRef(
        id=f.get("key", ""), kind=f.get("kind", ""), title=f.get("title", ""),
        provider=f.get("provider") or f.get("domain", ""),
        published=None if published is None else
        dt.datetime.fromtimestamp(published, tz=dt.timezone.utc),
        url=f.get("url", ""))


def _order(ref: EntryRef) -> tuple[bool, float, str]:
    """Oldest first, undated last, then by id."""
    return (ref.published is None,
            ref.published.timestamp() if ref.published else 0.0, ref.id)


def _holders(searcher: Any, canonical: str) -> list[EntryRef]:
    """The entries of the article ``canonical``, oldest first."""
    stored = searcher.stored_fields
    return sorted((_ref(stored(d)) for d in searcher.document_numbers(canonical=canonical)),
                  key=_order)


@reports_damage
def cited_by(index_dir: str | os.PathLike[str], entry_id: str) -> tuple[EntryRef, ...]:
    """The clippings whose related articles include the article of ``entry_id``
    (any URL variant), oldest first."""
    ix = open_index(index_dir)
    with ix.searcher() as searcher:
        docnum = searcher.document_number(key=entry_id)
        if docnum is None:
            raise NotFoundError(f"no entry {entry_id!r} in the index")
        canonical = searcher.stored_fields(docnum).get("canonical", "")
        if not canonical or canonical.startswith("entry:"):  # no URL: nobody can cite it
            return ()
        stored = searcher.stored_fields
        return tuple(sorted((_ref(stored(d))
                             for d in searcher.document_numbers(cites=canonical)),
                            key=_order))


@reports_damage
def lookup(index_dir: str | os.PathLike[str], urls: Sequence[str]) -> tuple[UrlLookup, ...]:
    """For each URL, the entries that hold its article under any variant (URLs are
    checked by the caller: :func:`searchkit.documents.url_problem`)."""
    ix = open_index(index_dir)
    with ix.searcher() as searcher:
        out = []
        for url in urls:
            canonical = canonical_url(url)
            out.append(UrlLookup(url, canonical, tuple(_holders(searcher, canonical))))
        return tuple(out)


@reports_damage
def cited(index_dir: str | os.PathLike[str], text: str = "", *,
          filters: Filters | None = None, limit: int = 10, literal: bool = False,
          now: dt.datetime | None = None, timeout: float | None = DEFAULT_TIMEOUT
          ) -> CitedResults:
    """The articles cited by the most clippings among those matching ``text`` (query
    syntax unless ``literal``; empty: every clipping) and ``filters``: each counted once
    per citing clipping, by canonical URL; ties by URL."""
    started = time.monotonic()
    deadline = Deadline(timeout)
    q = parser.parse(text, mode="and", literal=literal) if text.strip() else wq.Every()
    filter_q = filter_query(filters or Filters(), now=now)
    ix = open_index(index_dir)
    try:
        with DeadlineSearcher(ix.reader(), deadline=deadline, fromindex=ix) as searcher:
            run_q = Expander(searcher.reader(), text, deadline).expand(q)
            clauses = [c for c in (run_q, wq.Term("kind", KIND_CLIPPING), filter_q)
                       if c is not None and not isinstance(c, wq.Every)]
            counts: Counter[str] = Counter()
            clippings = 0
            for n, docnum in enumerate(searcher.docs_for_query(wq.And(clauses))):
                if not n & 255:
                    deadline.check("counting the cited articles")
                clippings += 1
                cites = searcher.stored_fields(docnum).get("cites") or ""
                counts.update(cites.split("\n") if cites else ())
            top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
            articles = tuple(_article(searcher, url, n) for url, n in top)
    except TimeUp as up:
        raise QueryError(text, f"counting took longer than {timeout:g}s (--timeout) while "
                         f"{up.stage}; narrow it with words or filters, or allow more "
                         "time with --timeout") from None
    return CitedResults(query=text, clippings=clippings, distinct=len(counts),
                        articles=articles, seconds=time.monotonic() - started)


def _article(searcher: Any, canonical: str, count: int) -> CitedArticle:
    """The article ``canonical`` as its oldest entry shows it (a cited article always
    has one: the citing clipping's related entry)."""
    holders = _holders(searcher, canonical)
    first = next((h for h in holders if h.title), holders[0] if holders else None)
    domain = ""
    if first is not None:
        docnum = searcher.document_number(key=first.id)
        domain = searcher.stored_fields(docnum).get("domain", "") if docnum is not None \
            else ""
    return CitedArticle(
        count=count, canonical_url=canonical, url=first.url if first else canonical,
        title=first.title if first else "", provider=first.provider if first else "",
        domain=domain, published=first.published if first else None,
        ids=tuple(sorted(h.id for h in holders)))
