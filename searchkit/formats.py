"""Feeds, digests and citations: search results as an Atom feed, a Markdown digest or
CSL-JSON items. Pure functions of :class:`SearchResults` and a small :class:`Context`
(the feed's title and id, and the time the document is written), so ``search`` and
anything else that has results (a saved search's new entries) render them the same way.

The Atom feed is written by ``feedgen`` (imported only when a feed is asked for).
Identifiers are stable across runs: an entry's id comes from the article's canonical
URL, a feed's from its query and filters (or the saved search's name), a citation key
from the outlet, the year, a title word and the article.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from .output import Format, dumps, iso, safe, story_more
from .results import Filters, Hit, SearchResults
from .vocabulary import FILTERS, INTERNAL_FILTERS

# RFC 4151 tag URIs: the authority and a date fix the namespace, so ids stay the same
# for as long as the scheme below does.
TAG = "tag:searchkit,2026:"
_LINKABLE = ("http", "https")  # other schemes (javascript:, file:) are shown, not linked


@dataclass(frozen=True)
class Context:
    """What a document needs beyond the results: its ``title`` (``searchkit: QUERY``),
    a stable ``feed_id``, and ``now`` (UTC): when it is written, the date of undated
    entries in a feed and the ``accessed`` date of citations."""

    title: str
    feed_id: str
    now: dt.datetime


def context_for(query: str, filters: Filters | None = None, name: str | None = None,
                now: dt.datetime | None = None) -> Context:
    """The context of a search: titled and identified by the saved search's ``name``
    when given, else by the query and its filters (the same search, the same feed id,
    however its words are spaced or its repeated options ordered)."""
    when = now or dt.datetime.now(dt.timezone.utc)
    if name is not None:
        return Context(f"searchkit: {name}", f"{TAG}saved:{quote(name, safe='')}", when)
    words = " ".join(query.split())
    key = {"query": words, **_canonical(filters or Filters())}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()
                            ).hexdigest()[:20]
    shown = " ".join(part for part in (words, describe(filters or Filters())) if part)
    return Context(f"searchkit: {shown or 'everything'}", f"{TAG}search:{digest}", when)


def _canonical(filters: Filters) -> dict[str, Any]:
    """The filters that are set, lists sorted: a filter added to searchkit later leaves
    the ids of feeds that do not use it as they were. ``arrived_after`` is a saved
    search's checkpoint (`new`), not part of what it searches."""
    return {k: sorted(v) if isinstance(v, tuple) else v for k, v in asdict(filters).items()
            if k not in INTERNAL_FILTERS and v not in (None, (), "")}


def describe(filters: Filters) -> str:
    """The filters as the options that give them: ``--provider GCN --since 2021``."""
    parts: list[str] = []
    for attr, option in FILTERS.items():
        value = getattr(filters, attr)
        values = value if isinstance(value, tuple) else () if value is None else (value,)
        parts += [f"{option} {v}" for v in values]
    return " ".join(parts)


def article_key(hit: Hit) -> str:
    """What identifies the article across runs, renames and re-indexing: its canonical
    URL, else its URL, else (an entry without one) the entry's id."""
    return hit.canonical_url or hit.url or f"entry:{hit.id}"


def article_id(hit: Hit) -> str:
    """The article's Atom entry id: ``tag:searchkit,2026:article:<hash>``."""
    return f"{TAG}article:{_hash(article_key(hit), 24)}"


def _hash(text: str, n: int) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:n]


# XML 1.0 refuses these even as character references; safe() removes the rest.
_NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")


def _text(value: str) -> str:
    """Data on its way into a document: one line, no control or bidi characters."""
    return " ".join(_NOT_XML.sub("", safe(value)).split())


def snippet_text(hit: Hit) -> str:
    """The hit's snippets joined by `` … `` (no match markers), else its excerpt."""
    parts = [_text("".join(t for t, _ in s)) for s in hit.snippets]
    return " … ".join(p for p in parts if p) or _text(hit.excerpt)


def _title(hit: Hit) -> str:
    return _text(hit.title) or _text(hit.url) or "(untitled)"


def _outlet(hit: Hit) -> str:
    return _text(hit.provider) or _text(hit.domain)


def _linkable(url: str) -> bool:
    return urlsplit(url).scheme.lower() in _LINKABLE if url else False


def render(results: SearchResults, fmt: Format, context: Context) -> str:
    if fmt is Format.atom:
        return render_atom(results, context)
    if fmt is Format.markdown:
        return render_markdown(results, context)
    if fmt is Format.csl_json:
        return render_csl_json(results, context)
    raise ValueError(f"not a feed, digest or citation format: {fmt}")


# ---------------------------------------------------------------- Atom


def render_atom(results: SearchResults, context: Context) -> str:
    """An Atom feed (RFC 4287), one entry per hit in the results' order. An entry's
    ``updated`` and ``published`` are the article's date; an undated article has no
    ``published`` and is ``updated`` when it arrived in the index (``context.now`` if
    that is unknown). The feed is ``updated`` at its newest entry (``context.now`` when
    empty)."""
    from feedgen.feed import FeedGenerator  # type: ignore[import-untyped]

    from . import __version__

    feed = FeedGenerator()
    feed.id(context.feed_id)
    feed.title(_text(context.title))
    feed.author({"name": "searchkit"})  # entries without an outlet inherit it
    feed.generator("searchkit", version=__version__)
    feed.subtitle(_count_line(results))
    newest: dt.datetime | None = None
    for hit in results.hits:
        when = hit.published or hit.arrived or context.now
        newest = max(newest, when) if newest else when
        entry = feed.add_entry(order="append")
        entry.id(article_id(hit))
        entry.title(_title(hit))
        entry.updated(when)
        if hit.published:
            entry.published(hit.published)
        url = _text(hit.url)
        if _linkable(url):
            entry.link(href=url, rel="alternate")
        if _outlet(hit):
            entry.author({"name": _outlet(hit)})
        summary = snippet_text(hit)
        if summary:
            entry.summary(summary)
        if not _linkable(url):  # Atom: an entry without an alternate link has content
            entry.content(summary or _title(hit), type="text")
        for topic in hit.topics:
            if _text(topic):
                entry.category(term=_text(topic))
    feed.updated(newest or context.now)
    xml: bytes = feed.atom_str(pretty=True, encoding="UTF-8")
    return xml.decode("utf-8")


# ---------------------------------------------------------------- Markdown

# (sort key, heading) of a hit's group; groups are listed highest key first, and a key
# of "" (undated) last.
Grouping = Callable[[Hit], tuple[str, str]]


def by_day(hit: Hit) -> tuple[str, str]:
    """Group by the article's day (UTC), newest first; undated ones last."""
    day = (iso(hit.published) or "")[:10]
    return (day, day) if day else ("", "Undated")


# Inline Markdown that would change a title or snippet: emphasis, code, links, HTML,
# tables, strikethrough, and the backslash itself (CommonMark escapes any of them).
_INLINE = re.compile(r"([\\`*_\[\]<>|~])")
_ENTITY = re.compile(r"&(?=#?\w+;)")  # &amp; would show as &
# What would start a block at the beginning of a line: a heading, quote, list item,
# thematic break or setext underline (for "1." the dot is escaped, not the digit).
_BLOCK_START = re.compile(r"^([#>+\-=])|^(\d+)([.)])")


def _inline(text: str) -> str:
    return _ENTITY.sub(r"\\&", _INLINE.sub(r"\\\1", text))


def _no_block(line: str) -> str:
    return _BLOCK_START.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", line,
                            count=1)


def md_escape(text: str) -> str:
    """Text that reads as itself in Markdown: inline markup characters escaped with a
    backslash, entities kept literal, the line never starting a block."""
    return _no_block(_inline(text))


def md_url(url: str) -> str:
    """A link destination that cannot end early: spaces, parentheses and angle
    brackets percent-encoded (the address is the same)."""
    return quote(url, safe="!#$%&'*+,/:;=?@[]~-._")


def by_story(hit: Hit) -> tuple[str, str]:
    """Group the articles of one story (``hit.story``), the larger stories first, under
    the title of the story's first report; an article alone in its story, or from an
    index without stories, has no group."""
    if not hit.story or hit.story_size < 2:
        return ("", "")
    first = hit.story_first
    title = (_text(first.title) if first else "") or _title(hit)
    return (f"{hit.story_size:09d} {hit.story}", f"{title} ({hit.story_size} reports)")


def render_markdown(results: SearchResults, context: Context,
                    groupings: Sequence[Grouping] = (by_day, by_story)) -> str:
    """A digest to paste into an email or notes: a heading with the title and the count,
    then the hits grouped by each of ``groupings`` in turn (day, then story, by default;
    headings ``##``, ``###``, ...), each a linked headline, its outlet and date, and its
    snippet as a quote. Within a group, hits keep the results' order. Hits whose
    heading is "" (and below the first level, a group of one hit) get no heading of
    their own: they follow the groups, in the results' order."""
    out = [f"# {md_escape(_text(context.title))}", "", _count_line(results) + ".", ""]
    _groups(list(results.hits), list(groupings), 2, out, results.by_story)
    return "\n".join(out).rstrip("\n") + "\n"


def _groups(hits: list[Hit], groupings: list[Grouping], level: int, out: list[str],
            more: bool) -> None:
    if not groupings:
        out.extend(line for hit in hits for line in _item(hit, more))
        out.append("")
        return
    first, rest = groupings[0], groupings[1:]
    groups: dict[tuple[str, str], list[Hit]] = {}
    for hit in hits:
        groups.setdefault(first(hit), []).append(hit)
    loose = {key for key, members in groups.items()
             if not key[1] or (level > 2 and len(members) < 2)}
    for key in sorted(groups.keys() - loose, key=lambda k: k[0], reverse=True):
        out += [f"{'#' * level} {md_escape(_text(key[1]))}", ""]
        _groups(groups[key], rest, level + 1, out, more)
    if loose:
        _groups([hit for hit in hits if first(hit) in loose], rest, level + 1, out, more)


def _item(hit: Hit, more: bool = False) -> list[str]:
    """``- [Title](url) — Outlet, 2021-05-26``; with ``more`` (one hit per story), the
    story's other reports too; then the snippet quoted."""
    title, url = md_escape(_title(hit)), _text(hit.url)
    head = f"[{title}]({md_url(url)})" if _linkable(url) else title
    meta = ", ".join(m for m in (md_escape(_outlet(hit)), (iso(hit.published) or "")[:10])
                     if m)
    if more and hit.story_size > 1:
        meta += f" ({_inline(_text(story_more(hit)))})"
    lines = [f"- {head}" + (f" — {meta}" if meta else "")]
    quoted = _md_snippet(hit)
    if quoted:
        lines.append(f"  > {quoted}")
    return lines


def _md_snippet(hit: Hit) -> str:
    """The snippets with their matches in bold, joined by `` … ``; else the excerpt."""
    parts: list[str] = []
    for snippet in hit.snippets:
        pieces: list[str] = []
        for text, matched in snippet:
            text = re.sub(r"\s+", " ", _NOT_XML.sub("", safe(text)))
            core = text.strip()
            if matched and core:
                lead, tail = text[: text.index(core)], text[text.index(core) + len(core):]
                pieces.append(f"{lead}**{_inline(core)}**{tail}")
            else:
                pieces.append(_inline(text))
        parts.append("".join(pieces).strip())
    return _no_block(" … ".join(p for p in parts if p) or _inline(_text(hit.excerpt)))


def _count_line(results: SearchResults) -> str:
    """``5 matches``, ``Showing matches 1–10 of 42``, ``Showing match 3 of 5``."""
    shown, total, first = len(results.hits), results.total, results.offset + 1
    if not total:
        return "No matches"
    if shown == total and not results.offset:
        return f"{total} match" if total == 1 else f"{total} matches"
    if not shown:
        return f"None of {total} matches shown (offset {results.offset})"
    if shown == 1:
        return f"Showing match {first} of {total}"
    return f"Showing matches {first}–{results.offset + shown} of {total}"


# ---------------------------------------------------------------- CSL-JSON

_STOP = frozenset("the a an of and in on for to at by with from is are was new how why "
                  "what who".split())


def citation_key(hit: Hit) -> str:
    """A stable key for pandoc's ``[@key]`` and Zotero: the outlet (its domain's name),
    the year (``nd``: no date), the first word of the title, and a short hash of the
    article, e.g. ``govtech2021maine-51b65a`` (a one-word outlet name, else the name in
    its domain)."""
    name = hit.provider.split()
    domain = _slug(hit.domain.lower().removeprefix("www.").split(".")[0])
    outlet = (_slug(name[0]) if len(name) == 1 else "") or domain or \
        _slug(hit.provider)[:16] or "article"
    year = str(hit.published.year) if hit.published else "nd"
    word = next((w for w in (_slug(w) for w in hit.title.split())
                 if len(w) > 2 and w not in _STOP), "")
    return f"{outlet}{year}{word[:16]}-{_hash(article_key(hit), 6)}"


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", ascii_text.lower())


def _date_parts(when: dt.datetime) -> dict[str, list[list[int]]]:
    return {"date-parts": [[when.year, when.month, when.day]]}


def csl_item(hit: Hit, context: Context) -> dict[str, Any]:
    """One CSL-JSON item (``article-newspaper``): the outlet as ``container-title``,
    the article's day (UTC) as ``issued`` (none when undated), ``accessed`` the day
    the file is written, the excerpt as ``abstract``, the topics as ``keyword``."""
    item: dict[str, Any] = {"id": citation_key(hit), "type": "article-newspaper",
                            "title": _title(hit)}
    if _outlet(hit):
        item["container-title"] = _outlet(hit)
    if hit.published:
        item["issued"] = _date_parts(hit.published)
    if _text(hit.url):
        item["URL"] = _text(hit.url)
    item["accessed"] = _date_parts(context.now)
    if _text(hit.excerpt):
        item["abstract"] = _text(hit.excerpt)
    topics = [_text(t) for t in hit.topics if _text(t)]
    if topics:
        item["keyword"] = ", ".join(topics)
    return item


def render_csl_json(results: SearchResults, context: Context) -> str:
    """A JSON array of CSL-JSON items (``[]`` when nothing matched), as Zotero imports
    and ``pandoc --citeproc --bibliography`` reads."""
    text = dumps([csl_item(hit, context) for hit in results.hits])
    # dates on one line, [[2021, 5, 26]] (JSON strings hold no raw line breaks)
    return _DATE_PARTS.sub(lambda m: f"[[{', '.join(m[1].replace(',', ' ').split())}]]",
                           text)


_DATE_PARTS = re.compile(r"\[\s*\[((?:\s*\d+,?)+)\s*\]\s*\]")
