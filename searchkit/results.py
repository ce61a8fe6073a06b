"""Plain, frozen result types shared by the library and the renderers.

No Whoosh here: ``output`` and ``cli`` import these without paying for the engine,
and another engine could produce the same values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FileFailure:
    path: str
    message: str


@dataclass(frozen=True)
class IndexReport:
    folder: str
    index_dir: str
    added: int = 0
    updated: int = 0
    deleted: int = 0
    renamed: int = 0
    unchanged: int = 0
    failed: tuple[FileFailure, ...] = ()
    seconds: float = 0.0
    rebuilt: bool = False
    rebuild_reason: str = ""
    committed: bool = False
    notes: tuple[str, ...] = ()  # why entries left the index (a link now points outside)

    @property
    def changed(self) -> int:
        return self.added + self.updated + self.deleted + self.renamed


@dataclass(frozen=True)
class FolderDiff:
    """What would change if the folder were indexed now."""

    added: tuple[str, ...] = ()
    modified: tuple[str, ...] = ()  # stat differs; the content hash decides later
    deleted: tuple[str, ...] = ()
    unchanged: int = 0  # with the entries kept under folders the scan could not list
    notes: tuple[str, ...] = ()  # why some of ``deleted`` leave (see scan.departures)
    failed: tuple[FileFailure, ...] = ()  # folders the scan could not list: entries kept
    # Files that failed to load in the last run and have not changed since: not retried.
    failing: tuple[FileFailure, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.modified or self.deleted)


# A snippet is a sequence of (text, matched) segments; renderers decide how a match looks.
Segment = tuple[str, bool]
Snippet = tuple[Segment, ...]
JSON_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Location:
    """Another place the same article (same canonical URL) appears."""

    id: str
    kind: str
    path: str


@dataclass(frozen=True)
class TermScore:
    """One query term's share of a hit's score (``--explain``); ``feedback``: the term
    was added by pseudo-relevance feedback, not typed (a typed word that feedback also
    chose has two shares, one of each)."""

    field: str
    term: str
    score: float
    feedback: bool = False


@dataclass(frozen=True)
class WordCount:
    """How many entries one query word matches on its own (zero-result diagnosis)."""

    word: str
    count: int


@dataclass(frozen=True)
class Filters:
    """Restrictions that combine with any query (and with each other)."""

    providers: tuple[str, ...] = ()  # outlet name words or domain; any of them
    topics: tuple[str, ...] = ()  # exact topic, case-insensitive; any of them
    kinds: tuple[str, ...] = ()  # "clipping" / "related"
    since: str | None = None  # date, or a span back from now: 7d, 2w, 6m, 1y
    until: str | None = None  # inclusive: until 2021-05 ends with May
    min_quality: int | None = None
    # only entries that arrived in the index after this instant (saved searches' `new`)
    arrived_after: dt.datetime | None = None

    @property
    def active(self) -> bool:
        return bool(self.providers or self.topics or self.kinds or self.since or self.until
                    or self.min_quality is not None or self.arrived_after is not None)


@dataclass(frozen=True)
class Hit:
    rank: int
    score: float
    id: str
    kind: str
    path: str
    parent: str
    title: str
    excerpt: str
    provider: str
    domain: str
    published: dt.datetime | None
    url: str
    canonical_url: str
    topics: tuple[str, ...]
    quality: int | None
    type: str
    title_marked: Snippet = ()
    snippets: tuple[Snippet, ...] = ()
    also_in: tuple[Location, ...] = ()
    explanation: tuple[TermScore, ...] = ()
    story: str = ""  # the story id (searchkit.stories); "" when the index has no table
    story_size: int = 1  # entries in the story, this one included
    story_outlets: tuple[str, ...] = ()  # the other members' outlets, earliest first
    story_first: StoryMember | None = None  # the story's earliest member (first reporter)
    arrived: dt.datetime | None = None  # when the article first entered the index
    partial: bool = False  # has some of the query's words, not all (the fallback's fill)


@dataclass(frozen=True)
class StoryMember:
    """One entry of a story: when, who, what, and how long after the first report."""

    id: str
    published: dt.datetime | None
    provider: str
    title: str
    lag_seconds: int | None = None  # behind the story's earliest member; None: undated


@dataclass(frozen=True)
class Story:
    """``searchkit story ID``: a story's members, oldest first."""

    id: str
    members: tuple[StoryMember, ...]


@dataclass(frozen=True)
class SearchResults:
    query: str
    parsed: str
    total: int  # distinct articles matching (after folding duplicates)
    offset: int
    limit: int
    hits: tuple[Hit, ...]
    partial: bool = False  # no entry matched every word; these match some
    # Articles with some words but not all, that the fallback fills a page from after
    # the whole matches (``total`` counts those alone); 0 when no fallback ran.
    partial_total: int = 0
    seconds: float = 0.0
    sort: str = "relevance"
    facets: Mapping[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)
    suggestions: tuple[str, ...] = ()  # corrected queries ("did you mean")
    diagnosis: tuple[WordCount, ...] = ()  # entries each word matches alone
    notes: tuple[str, ...] = ()  # what was left out (suggestions past the time limit)
    timeline: Timeline | None = None  # --timeline: all matches per period
    by_story: bool = False  # one hit per story; total and facets count stories


@dataclass(frozen=True)
class Timeline:
    """Matches per period (``--timeline``): every period from the first dated match to
    the last, empty ones included; the counts add up to the dated matches."""

    bucket: str  # "day" | "week" | "month" | "year"
    periods: tuple[tuple[str, int], ...]  # ("2020-11", 3), oldest first
    undated: int = 0  # matches without a date, counted apart

    @property
    def dated(self) -> int:
        return sum(n for _, n in self.periods)


@dataclass(frozen=True)
class EntryRef:
    """An entry named in a list (who cites an article, which entries hold a URL)."""

    id: str
    kind: str
    title: str
    provider: str
    published: dt.datetime | None
    url: str


@dataclass(frozen=True)
class CitedArticle:
    """An article and how many clippings cite it (``searchkit cited``); its title,
    outlet and date from the entry that holds it (the earliest, if several)."""

    count: int
    canonical_url: str
    url: str
    title: str
    provider: str
    domain: str
    published: dt.datetime | None
    ids: tuple[str, ...]  # the entries of this article (related entries, clippings)


@dataclass(frozen=True)
class CitedResults:
    """``searchkit cited``: the articles the matching clippings cite most."""

    query: str
    clippings: int  # clippings that match (and whose related lists were counted)
    distinct: int  # distinct articles they cite
    articles: tuple[CitedArticle, ...]  # most cited first, at most the limit asked for
    seconds: float = 0.0


@dataclass(frozen=True)
class UrlLookup:
    """``searchkit has URL``: the entries holding the article under any URL variant."""

    url: str  # as given
    canonical_url: str
    entries: tuple[EntryRef, ...]  # none: not found




@dataclass(frozen=True)
class Freshness:
    """What ``search`` did to the index before answering."""

    action: str  # "fresh" | "built" | "updated" | "busy" | "no-folder"
    folder: str
    report: IndexReport | None = None
    # The failures no earlier run reported (for the files as they are now): a broken
    # clipping is reported by the refresh that finds it, not by every later one.
    new_failures: tuple[FileFailure, ...] = ()
