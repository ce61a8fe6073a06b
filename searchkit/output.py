"""Render search results as text, JSON, JSONL, CSV, TSV or paths. Pure functions; no Whoosh.

Every string from the data passes through :func:`safe` on its way out, so terminal
escape sequences in a clipping can never reach the terminal. The records of ``index``,
``status``, ``show`` and ``fields`` are rendered by :mod:`searchkit.records`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from . import wrap
from .results import JSON_SCHEMA_VERSION, Hit, SearchResults, Snippet, StoryMember, Timeline
from .vocabulary import KIND_CLIPPING

if TYPE_CHECKING:
    from . import formats

# Control characters (ESC included), and the bidi controls that reorder what a terminal
# shows (embeddings, overrides, isolates, marks: "Trojan Source", CVE-2021-42574).
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"  # a regex class's body
_UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{BIDI_CONTROLS}]")
MARK_OPEN, MARK_CLOSE = "**", "**"  # plain-text match markers (text without colour, JSON)
ISO_UTC = "%Y-%m-%dT%H:%M:%SZ"  # every date searchkit writes (stored and shown in UTC)
# Where the terminal display's partial matches (the fallback's fill) start.
PARTIAL_RULE = "— partial matches (not every word) —"


class Format(str, Enum):
    auto = "auto"  # pretty on a terminal, lines when piped
    pretty = "pretty"
    lines = "lines"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    tsv = "tsv"
    paths = "paths"
    atom = "atom"  # feeds, digests and citations: searchkit.formats
    markdown = "markdown"
    csl_json = "csl-json"


# Whole documents of the hits (nothing may follow them: no facets, no timeline).
DOCUMENTS = (Format.atom, Format.markdown, Format.csl_json)


@dataclass(frozen=True)
class Style:
    """ANSI styling; all empty when colour is off."""

    color: bool = False

    def _wrap(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color and text else text

    def title(self, text: str) -> str:
        return self._wrap("1", text)

    def dim(self, text: str) -> str:
        return self._wrap("2", text)

    def match(self, text: str) -> str:
        return self._wrap("1;33", text) if self.color else f"{MARK_OPEN}{text}{MARK_CLOSE}"

    def title_match(self, text: str) -> str:
        """A match inside a bold title: only the colour changes and changes back, so the
        title stays bold after it."""
        if not self.color:
            return self.match(text)
        return f"\x1b[33m{text}\x1b[39m" if text else text

    def url(self, text: str) -> str:
        return self._wrap("36", text)


def safe(text: str) -> str:
    """Drop control characters (ESC included) and bidi controls from data before it is
    written anywhere."""
    return _UNSAFE.sub("", text) if text else text


def marked(snippet: Snippet, style: Style, *, mark: bool = True) -> str:
    return "".join(
        style.match(safe(t)) if (hit and mark) else safe(t) for t, hit in snippet
    )


def iso(when: dt.datetime | None) -> str | None:
    """A UTC datetime as searchkit writes dates: ``2021-05-05T10:00:00Z``."""
    return when.strftime(ISO_UTC) if when is not None else None


def _date(hit: Hit) -> str:
    return (iso(hit.published) or "")[:10]


# ---------------------------------------------------------------- entry records


def entry_fields(hit: Hit, *, parent: bool = False) -> dict[str, Any]:
    """The fields every JSON record of an entry starts with, in the documented order;
    ``parent``: with the hit record's ``parent`` (the clipping's id) after ``path``."""
    record: dict[str, Any] = {"id": safe(hit.id), "kind": hit.kind, "path": safe(hit.path)}
    if parent:
        record["parent"] = safe(hit.parent) or None
    record.update({
        "title": safe(hit.title),
        "excerpt": safe(hit.excerpt),
        "provider": {"name": safe(hit.provider), "domain": safe(hit.domain)},
        "published": iso(hit.published),
        "url": safe(hit.url),
        "canonical_url": safe(hit.canonical_url),
        "topics": [safe(t) for t in hit.topics],
        "quality": hit.quality,
        "type": safe(hit.type),
    })
    return record


def also_in(hit: Hit) -> list[dict[str, str]]:
    return [{"id": safe(loc.id), "kind": loc.kind, "path": safe(loc.path)}
            for loc in hit.also_in]


# ---------------------------------------------------------------- search results


def hit_record(hit: Hit, *, by_story: bool = False) -> dict[str, Any]:
    """The JSON shape of one hit (documented in the README; versioned by ``version``):
    its rank and score, the entry's fields, how it matched, and its story (with
    ``by_story``: the story's first reporter and other outlets too)."""
    return {
        "rank": hit.rank,
        "score": hit.score,
        **entry_fields(hit, parent=True),
        "snippets": [marked(s, Style()) for s in hit.snippets],
        "also_in": also_in(hit),
        **({"partial_match": True} if hit.partial else {}),  # some of the words, not all
        "story": hit.story or None,
        "story_size": hit.story_size,
        **({"first_reporter": story_member(hit.story_first),
            "other_outlets": [safe(o) for o in hit.story_outlets]} if by_story else {}),
        **({"explanation": [{"field": t.field, "term": safe(t.term), "score": t.score,
                             "feedback": t.feedback}
                            for t in hit.explanation]} if hit.explanation else {}),
    }


def story_member(m: StoryMember | None) -> dict[str, Any] | None:
    """A story's member in JSON (``story ID -f json``, ``first_reporter``)."""
    if m is None:
        return None
    return {"id": safe(m.id), "published": iso(m.published), "provider": safe(m.provider),
            "title": safe(m.title), "lag_seconds": m.lag_seconds}


def story_more(hit: Hit) -> str:
    """``+N more: Outlet A, Outlet B…`` for a hit whose story has other members."""
    more = f"+{hit.story_size - 1} more"
    if not hit.story_outlets:
        return more
    shown = [safe(o) for o in hit.story_outlets[:3]]
    return f"{more}: {', '.join(shown)}{'…' if len(hit.story_outlets) > 3 else ''}"


def results_record(results: SearchResults) -> dict[str, Any]:
    return {
        "version": JSON_SCHEMA_VERSION,
        "query": safe(results.query),
        "parsed": safe(results.parsed),
        "total": results.total,
        "offset": results.offset,
        "limit": results.limit,
        "partial": results.partial,
        # the partial matches a fallback filled the page from (only when there are any)
        **({"partial_total": results.partial_total} if results.partial_total else {}),
        "seconds": round(results.seconds, 4),
        "sort": results.sort,
        "by_story": results.by_story,
        "hits": [hit_record(h, by_story=results.by_story) for h in results.hits],
        "facets": {name: {safe(k): n for k, n in pairs} for name, pairs in results.facets.items()},
        "suggestions": [safe(s) for s in results.suggestions],
        "diagnosis": {safe(w.word): w.count for w in results.diagnosis},
        # what was left out (suggestions past --timeout); only when there is any
        **({"notes": [safe(n) for n in results.notes]} if results.notes else {}),
        **(timeline_record(results.timeline) if results.timeline else {}),
    }


def timeline_record(timeline: Timeline) -> dict[str, Any]:
    """``--timeline`` in JSON: the periods (their counts add up to the dated matches),
    the bucket size and the matches without a date."""
    return {"timeline": [{"period": p, "count": n} for p, n in timeline.periods],
            "timeline_bucket": timeline.bucket, "timeline_undated": timeline.undated}


def render_timeline(timeline: Timeline, style: Style, width: int = 80,
                    block: str = "█") -> str:
    """A bar chart, one line per period (``2020-11  3  ███``), the bars scaled to fit
    ``width`` columns; a period with any match gets at least one block."""
    what = "match" if timeline.dated + timeline.undated == 1 else "matches"
    undated = f", {timeline.undated} undated" if timeline.undated else ""
    lines = [style.title(f"Timeline by {timeline.bucket}: {timeline.dated} dated "
                         f"{what}{undated}")]
    if timeline.periods:
        most = max(n for _, n in timeline.periods)
        lw = max(len(p) for p, _ in timeline.periods)
        cw = len(str(most))
        room = max(width - lw - cw - 4, 10)
        for period, n in timeline.periods:
            bar = block * max(1, round(n * room / most)) if n else ""
            lines.append(f"{period:<{lw}}  {n:>{cw}}  {bar}".rstrip())
    if timeline.undated:
        lines.append(f"undated: {timeline.undated}")
    return "\n".join(lines) + "\n"


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2) + "\n"


def render_pretty(results: SearchResults, style: Style, width: int = 0) -> str:
    """The ranked list for people; ``width``: the terminal's columns, to wrap every line
    to (words whole, URLs between their parts); 0: no wrapping."""
    out: list[str] = []
    digits = len(str(results.offset + len(results.hits)))
    pad = " " * (digits + 2)
    room = max(width - len(pad), wrap.MIN_WIDTH) if width else 0

    def block(first: str, items: list[wrap.Word], look: Callable[[str], str]) -> None:
        for n, line in enumerate(wrap.fill(items, room)):
            out.append((first if n == 0 else pad) + look(line))

    for n, hit in enumerate(results.hits):
        if hit.partial and (n == 0 or not results.hits[n - 1].partial):
            out += [style.dim(PARTIAL_RULE), ""]
        title = hit.title_marked or ((hit.title, False),)
        block(f"{hit.rank:>{digits}}. ",
              wrap.words((safe(t), style.title_match if m else _as_is) for t, m in title),
              style.title)
        meta = [m for m in (safe(hit.provider) or safe(hit.domain), _date(hit)) if m]
        meta.append(safe(hit.id) if hit.kind == KIND_CLIPPING
                    else f"related, in {safe(hit.path)}")
        block(pad, wrap.words([wrap.plain(" · ".join(meta))]), style.dim)
        if hit.url:
            out += [pad + style.url(line) for line in wrap.url_lines(safe(hit.url), room)]
        fragments: list[wrap.Word] = []
        for snippet in hit.snippets:
            if fragments:
                fragments.append(wrap.ELLIPSIS)
            fragments += wrap.words((safe(t), style.match if m else _as_is)
                                    for t, m in snippet)
        block(pad, fragments, _as_is)
        if hit.also_in:
            also = ", ".join(safe(loc.id) for loc in hit.also_in)
            block(pad, wrap.words([wrap.plain(f"also in: {also}")]), style.dim)
        first = hit.story_first
        if results.by_story and hit.story_size > 1 and first is not None:
            when = (iso(first.published) or "")[:10]
            block(pad, wrap.words([wrap.plain(
                f"first: {' · '.join(x for x in (safe(first.provider), when) if x)}")]),
                style.dim)
        if hit.story_size > 1:
            block(pad, wrap.words([wrap.plain(story_more(hit))]), style.dim)
        if hit.explanation:  # a term and its share stay together on a line
            shares = [share if n == 0 else f"+ {share}"
                      for n, share in enumerate(_shares(hit))]
            block(pad, wrap.words([wrap.plain(f"score {hit.score:g} =")])
                  + [(share, wrap.cells(share)) for share in shares], _as_is)
        out.append("")
    return "\n".join(out)


def _as_is(text: str) -> str:
    return text


def explanation_lines(hit: Hit) -> list[str]:
    if not hit.explanation:
        return []
    return [f"score {hit.score:g} = {' + '.join(_shares(hit))}"]


def _shares(hit: Hit) -> list[str]:
    """Each term's share of the score: ``text:airport 1.91``, ``feedback:text:custom 0.55``
    for a word added by feedback."""
    return [f"{'feedback:' if t.feedback else ''}{t.field}:{safe(t.term)} {t.score:g}"
            for t in hit.explanation]


def render_facets(results: SearchResults, style: Style) -> str:
    """Facet counts as small aligned tables, one per facet."""
    blocks: list[str] = []
    for name, pairs in results.facets.items():
        width = max([len(name)] + [len(safe(k)) for k, _ in pairs])
        unit = "stories" if results.by_story else "count"  # what the numbers count
        lines = [style.title(f"{name:<{width}}  {unit}")]
        lines += [f"{safe(k):<{width}}  {n:>5}" for k, n in pairs]
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def render_diagnosis(results: SearchResults) -> str:
    """For stderr when nothing (or only part of the query) matched."""
    lines: list[str] = []
    if results.suggestions:
        lines.append("Did you mean: " + " | ".join(safe(s) for s in results.suggestions))
    if results.diagnosis:
        counts = ", ".join(f"{safe(w.word)}: {w.count}" for w in results.diagnosis)
        lines.append(f"Entries matching each word alone: {counts}")
    return "".join(line + "\n" for line in lines)


def render_lines(results: SearchResults) -> str:
    """One hit per line, tab-separated: id, date, provider, title, url, story; a partial
    match (``--fallback``) has a seventh field, ``partial``."""
    rows: list[str] = []
    for hit in results.hits:
        fields = (hit.id, _date(hit), hit.provider, hit.title, hit.url, hit.story)
        rows.append("\t".join(_tsv_cell(v) for v in fields)
                    + ("\tpartial" if hit.partial else ""))
        rows.extend("\t" + line for line in explanation_lines(hit))
    return "".join(row + "\n" for row in rows)


_TABLE_COLUMNS = ("rank", "score", "id", "kind", "path", "title", "provider", "domain",
                  "published", "url", "quality", "topics", "story")


def _table_row(hit: Hit) -> list[str]:
    return [str(hit.rank), f"{hit.score:g}", hit.id, hit.kind, hit.path, hit.title,
            hit.provider, hit.domain, iso(hit.published) or "", hit.url,
            "" if hit.quality is None else str(hit.quality), ";".join(hit.topics), hit.story]


def _tsv_cell(value: str) -> str:
    return safe(value).replace("\t", " ").replace("\n", " ")


def render_csv(results: SearchResults) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(_TABLE_COLUMNS)
    for hit in results.hits:
        writer.writerow([safe(v) for v in _table_row(hit)])
    return buf.getvalue()


def render_tsv(results: SearchResults) -> str:
    lines = ["\t".join(_TABLE_COLUMNS)]
    lines += ["\t".join(_tsv_cell(v) for v in _table_row(hit)) for hit in results.hits]
    return "\n".join(lines) + "\n"


def render_paths(results: SearchResults, null: bool = False, root: str = "") -> str:
    """Each clipping file once, in rank order (a related hit gives its clipping's file),
    under ``root`` (where the clippings folder is as seen by the reader; "" for none)."""
    seen: dict[str, None] = {}
    for hit in results.hits:
        seen.setdefault(safe(os.path.join(root, hit.path) if root else hit.path))
    end = "\0" if null else "\n"
    return "".join(p + end for p in seen)


def render_results(results: SearchResults, fmt: Format, style: Style,
                   null: bool = False, root: str = "", width: int = 0,
                   context: formats.Context | None = None) -> str:
    """``context``: the title, feed id and time of a feed, digest or citation list
    (default: from the query alone, written now)."""
    if fmt in DOCUMENTS:
        from . import formats

        return formats.render(results, fmt, context or formats.context_for(results.query))
    if fmt is Format.pretty:
        return render_pretty(results, style, width)
    if fmt is Format.lines:
        return render_lines(results)
    if fmt is Format.json:
        return dumps(results_record(results))
    if fmt is Format.jsonl:
        return "".join(json.dumps(hit_record(h), ensure_ascii=False) + "\n"
                       for h in results.hits)
    if fmt is Format.csv:
        return render_csv(results)
    if fmt is Format.tsv:
        return render_tsv(results)
    if fmt is Format.paths:
        return render_paths(results, null, root)
    raise ValueError(f"unresolved format {fmt}")  # Format.auto is resolved by the caller
