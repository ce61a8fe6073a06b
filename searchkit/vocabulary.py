"""The query vocabulary: what people may type and choose, whatever engine answers.

Field names, kinds, sort keys, facets, filters, operator words and the caps on a
query. The parser, the CLI's choices and shell completion, and ``searchkit fields``
all read them here; no engine is imported (a second engine answers the same words).
"""

from __future__ import annotations

from enum import Enum
from typing import NamedTuple

from .errors import QueryError

# ---------------------------------------------------------------- kinds

# The two kinds of index entry (``kind:``, ``--kind`` and ``Hit.kind``).
KIND_CLIPPING = "clipping"
KIND_RELATED = "related"


class Kind(str, Enum):
    clipping = KIND_CLIPPING
    related = KIND_RELATED


# ---------------------------------------------------------------- fields


class QueryField(NamedTuple):
    """A field people type as ``name:``: the index field it searches, what it matches,
    and an example (what ``searchkit fields`` prints)."""

    index_field: str
    matches: str
    example: str


FIELDS: dict[str, QueryField] = {
    "title": QueryField("title", "words in the headline", 'title:"facial recognition"'),
    "excerpt": QueryField("excerpt", "words in the excerpt", "excerpt:airports"),
    "provider": QueryField("provider", "outlet name or domain", "provider:gcn  provider:go.com"),
    "domain": QueryField("domain", "outlet domain, exact", "domain:wsj.com"),
    "topic": QueryField("topics", "words in a topic", 'topic:"computer vision"'),
    "type": QueryField("type", "entry type, exact", "type:article"),
    "kind": QueryField("kind", "clipping or related", "kind:related"),
    "url": QueryField("canonical", "article URL (any variant)",
                      "url:https://gcn.com/articles/x"),
    "cites": QueryField("cites", "clippings citing this URL", "cites:https://abc.com/x"),
    "published": QueryField("published", "date or range, UTC",
                            "published:[2020-01 TO 2020-06]"),
    "year": QueryField("year", "year or range", "year:>=2021"),
    "quality": QueryField("quality", "number or range", "quality:>50"),
}
# Fields whose values are dates or numbers: comparisons (>=) and [FROM TO UNTIL] ranges.
RANGE_FIELDS = ("published", "year", "quality")
# Fields whose values are URLs, matched in their canonical form (any variant). Their
# values may be as long as the query (MAX_QUERY_CHARS), not MAX_TOKEN_CHARS.
URL_FIELDS = ("url", "cites")
# Fields whose values the parser reads itself (ranges, and URLs in their canonical form).
SPECIAL_FIELDS = (*RANGE_FIELDS, *URL_FIELDS)

# ---------------------------------------------------------------- sorting and facets


class SortKey(str, Enum):
    relevance = "relevance"
    date = "date"  # oldest first
    newest = "-date"
    quality = "quality"


SORT_KEYS = tuple(key.value for key in SortKey)

# Facet name -> the index field whose values are counted.
FACETS: dict[str, str] = {
    "provider": "provider_name",
    "topic": "topic_label",
    "year": "year",
    "kind": "kind",
}
FACET_NAMES = tuple(FACETS)

# ---------------------------------------------------------------- filters

# ``Filters`` attribute -> the command-line option that sets it (named in messages).
FILTERS: dict[str, str] = {
    "providers": "--provider",
    "topics": "--topic",
    "kinds": "--kind",
    "since": "--since",
    "until": "--until",
    "min_quality": "--min-quality",
}
# Filters that no `search` option sets: `searchkit new` sets this one from a saved
# search's checkpoint (entries that arrived in the index after it).
INTERNAL_FILTERS = ("arrived_after",)

# ---------------------------------------------------------------- operators

# Words that combine clauses; only in capitals (lower-case "and" is a stop word).
BOOLEAN_WORDS = ("AND", "OR", "NOT", "ANDNOT", "ANDMAYBE")
# The word inside a range: published:[2020 TO 2021].
RANGE_WORD = "TO"
OPERATOR_WORDS = frozenset((*BOOLEAN_WORDS, RANGE_WORD))

# ---------------------------------------------------------------- caps

# Hostile queries stay cheap: refused before any index work.
MAX_QUERY_CHARS = 4_096
MAX_TERMS = 256
MAX_TOKEN_CHARS = 128  # a word; the value of a URL field (url:, cites:) is exempt
MAX_NESTING = 32
MIN_WILDCARD_PREFIX = 2
MAX_EXPANSION = 1_000  # words one wildcard, prefix or fuzzy term may expand to
MAX_EXPANDED_TERMS = 2_000  # words all the wildcard, prefix and fuzzy terms of a query may
# expand to together (Lucene counts its clause limit, 1,024, over the whole query too)
# A --batch line may hold this many bytes (a query's characters in UTF-8, at most 4 each).
MAX_BATCH_LINE_BYTES = MAX_QUERY_CHARS * 4
# The values number and date fields hold (what the loader accepts): others are refused.
NUMBER_RANGES = {"year": (1800, 2200), "quality": (0, 100)}
DATE_YEARS = (1800, 2200)
MAX_FUZZY_EDITS = 2
# Seconds a whole search may take (--timeout): with it every query stays under 2 s on
# 100,000 clippings, process start-up included (README, Reliability).
DEFAULT_TIMEOUT = 1.5


def check_length(text: str) -> None:
    """Refuse a query longer than MAX_QUERY_CHARS (the first check, for every mode)."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(text[:80] + "...", f"query is longer than {MAX_QUERY_CHARS} characters")
