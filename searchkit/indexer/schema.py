"""The Whoosh schema: field names, analyzers and the schema version.

One index entry per clipping (``kind:clipping``) and one per related article
(``kind:related``, linked to its clipping by ``parent``). Text fields share one
analyzer at index and query time: words (and words with symbols, :mod:`.tokens`),
lower case, accents folded, English stop words dropped, Porter2 (Snowball English) stems.

Words without a field name search one combined field, ``text``: the title twice, the
excerpt, the provider's name and the topics. One posting list per word instead of
one per field is what keeps a search fast on large folders (benchmarks/README.md); the
repeated title is BM25F's title weight of 2 in its simplest form (weights applied
to term frequencies, one length normalisation). ``title:``, ``excerpt:``,
``provider:`` and ``topic:`` keep fields of their own.
"""

from __future__ import annotations

from typing import Any

from whoosh import columns, fields, formats
from whoosh.analysis import (
    Analyzer,
    CharsetFilter,
    IDTokenizer,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
)
from whoosh.lang.porter2 import stem as porter2_stem
from whoosh.support.charset import accent_map

# The kinds are the values of the ``kind`` field; defined in the vocabulary (Whoosh-free).
from ..vocabulary import KIND_CLIPPING as KIND_CLIPPING
from ..vocabulary import KIND_RELATED as KIND_RELATED
from .tokens import TOKEN_PATTERN as TOKEN_PATTERN
from .tokens import SlotStopFilter, SymbolTokenizer

# Bump whenever fields or analysis change: an index of another version is rebuilt.
SCHEMA_VERSION = 8  # 6: words with symbols (AT&T, U.S., e-mail: tokens.py); 7: cites;
# 8: arrived


# The field searched by words that carry no field name.
TEXT_FIELDS = ("text",)
# Fields whose words are highlighted in hits.
HIGHLIGHT_FIELDS = ("text", "title", "excerpt")

# English stop words: pronouns, auxiliaries, articles, conjunctions and the emptiest
# prepositions (NLTK's list, plus "has" and "will"), without the words that matter in news:
# "us", "may", "can", "who" (WHO), negation ("no", "not", "nor"), direction and particles
# ("against", "up", "down", "out", "off", "over", "under", "above", "below"), "more",
# "most", "few", "only", "now", "before", "after" and "am" (AM radio).
STOP_WORDS = frozenset(
    """a about again all an and any are as at be because been being between both but by
    did do does doing don during each for from further had has have having he her here
    hers herself him himself his how i if in into is it its itself just me my myself of on
    once or other our ours ourselves own s same she should so some such t than that the
    their theirs them themselves then there these they this those through to too until
    very was we were what when where which while whom why will with you your yours
    yourself yourselves""".split()
)


def text_analyzer() -> Analyzer:
    """The analyzer of every full-text field (and of the query words for them)."""
    return (
        SymbolTokenizer()
        | LowercaseFilter()
        | CharsetFilter(accent_map)
        | SlotStopFilter(STOP_WORDS, minsize=1)
        | StemFilter(stemfn=porter2_stem, cachesize=100_000)
    )


def name_analyzer() -> Analyzer:
    """Names (providers): words and accent folding, no stemming or stop words."""
    return SymbolTokenizer() | LowercaseFilter() | CharsetFilter(accent_map)


def _exact_lower() -> Analyzer:
    """The whole value as one token, lower-cased (domains, types)."""
    return IDTokenizer() | LowercaseFilter()


def spell_analyzer() -> Analyzer:
    """Words worth suggesting: unstemmed, accents folded, no stop words, 3+ letters."""
    return name_analyzer() | SlotStopFilter(STOP_WORDS, minsize=3)


class _TextColumn(fields.COLUMN):  # type: ignore[misc]
    """A string per entry, kept only as a column: read back in bulk, never searched."""

    def __init__(self) -> None:
        super().__init__(columns.VarBytesColumn())

    def to_column_value(self, value: Any) -> bytes:
        return value.encode("utf-8") if isinstance(value, str) else bytes(value)

    def from_column_value(self, value: Any) -> str:
        return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def build_schema() -> fields.Schema:
    """The fields. Each indexed term costs room in the term file and each posting a
    pool entry while indexing, so values nobody searches are stored, not indexed."""
    text = text_analyzer()
    spell = fields.TEXT(analyzer=spell_analyzer(), phrase=False)
    spell.format = formats.Existence()  # vocabulary and document counts, no frequencies
    schema = fields.Schema(
        # identity and linkage
        key=fields.ID(stored=True, unique=True),
        kind=fields.ID(stored=True, sortable=True),
        path=fields.ID(stored=True, sortable=True),
        parent=fields.STORED(),
        # searchable text
        text=fields.TEXT(analyzer=text),
        title=fields.TEXT(analyzer=text, stored=True),
        excerpt=fields.TEXT(analyzer=text, stored=True),
        # Unstemmed words of title and excerpt, for "did you mean". Not Whoosh's
        # spelling=True: that sends fuzzy terms (word~) to the unstemmed words and
        # then looks them up among the stems, so they never match.
        spell=spell,
        provider=fields.TEXT(analyzer=name_analyzer(), stored=True),
        topics=fields.TEXT(analyzer=text),
        # exact values (filters and facets)
        domain=fields.ID(stored=True, analyzer=_exact_lower()),
        provider_name=fields.ID(sortable=True),
        topic=fields.KEYWORD(lowercase=True, commas=True),
        topic_label=fields.KEYWORD(commas=True),
        type=fields.ID(stored=True, analyzer=_exact_lower()),
        source_id=fields.STORED(),
        url=fields.STORED(),  # url: queries match the canonical form
        canonical=fields.ID(stored=True),
        # on a clipping: the canonical URLs of its related articles, one a line (cites:)
        cites=fields.ID(stored=True, analyzer=RegexTokenizer(r"[^\n]+")),
        # 64-bit hash of ``canonical``: entries with the same value are one article
        # (collapsing reads the whole column as one array, not a string per entry)
        group=fields.COLUMN(columns.NumericColumn("q", default=0)),
        # numbers and dates: epoch seconds, and whole days for fast day-range queries.
        # shift_step sets how many terms a value is indexed as (bits / shift_step):
        # Whoosh's default of 4 made 16 terms per date; fewer levels cost a range
        # query a few more terms to visit, and ranges of years or quality none.
        published=fields.NUMERIC(numtype=int, bits=64, signed=True, stored=True,
                                 sortable=True, shift_step=16),
        day=fields.NUMERIC(numtype=int, bits=32, signed=True, shift_step=8),
        year=fields.NUMERIC(numtype=int, bits=32, stored=True, sortable=True,
                            shift_step=32),
        quality=fields.NUMERIC(numtype=int, bits=32, stored=True, sortable=True,
                               shift_step=32),
        # when the article (with this content) first entered the index: epoch
        # milliseconds, from the arrival table (.arrivals); `searchkit new` filters on it
        arrived=fields.NUMERIC(numtype=int, bits=64, signed=True, stored=True,
                               sortable=True, shift_step=16),
        # display-only values
        topic_list=fields.STORED(),
        # the manifest: "size:mtime_ns:ctime_ns:sha1" on each clipping entry
        stamp=_TextColumn(),
    )
    # Pickled with the schema into every table of contents, so the version travels
    # with the commit it describes.
    schema.searchkit_version = SCHEMA_VERSION
    return schema


def version_of(schema: fields.Schema) -> int | None:
    version = getattr(schema, "searchkit_version", None)
    return version if isinstance(version, int) else None


def folder_of(schema: fields.Schema) -> str | None:
    """The absolute path of the clippings folder the index was last built from."""
    folder = getattr(schema, "searchkit_folder", None)
    return folder if isinstance(folder, str) else None
