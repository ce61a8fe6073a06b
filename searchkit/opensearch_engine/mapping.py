"""The index's settings and mapping: analysis that matches the Whoosh side.

Whoosh (``searchkit.indexer.schema``/``tokens``) and this mapping analyse text alike:

* words and words with symbols by the same pattern (:data:`TOKEN_PATTERN`, a
  ``pattern`` tokenizer), then ``word_delimiter`` adds the run-together form and the
  parts of ``AT&T``, ``9/11`` and ``e-mail`` (``att``, ``at``, ``t``; ``email``,
  ``e``, ``mail``) while ``C++``, ``C#``, ``3.5`` and ``don't`` stay whole;
* ``U.S.``-style acronyms lose their dots (a char filter) and become ``us``;
* lower case, ASCII folding, the same stop words (:data:`STOP_WORDS`), Porter2 stems;
* stop words standing alone are taken out before tokenizing, so that, as in Whoosh,
  they leave no gap in positions (``"bank of america"`` is the phrase ``bank america``);
* BM25 with Whoosh's k1 and b; keywords for exact fields, ``date`` and integers.

What differs is in the README ("Past one machine"). :data:`MAPPING_VERSION` goes into
the mapping's ``_meta``: an index of another version is rebuilt, never misread.
"""

from __future__ import annotations

import re
from typing import Any

from ..indexer.schema import STOP_WORDS
from ..indexer.tokens import TOKEN_PATTERN
from ..search.ranking import BM25_B, BM25_K1

MAPPING_VERSION = 1
META_KEY = "searchkit_mapping"

_ALONE_BEFORE = r"(?<![\w.'’&/\-])"
_ALONE_AFTER = r"(?![\w+#]|[.'’&/\-]\w)"
_STOP_ALONE = (r"(?iU)" + _ALONE_BEFORE + "(?:"
               + "|".join(sorted(map(re.escape, STOP_WORDS), key=lambda w: (-len(w), w)))
               + ")" + _ALONE_AFTER)
_ACRONYM_DOT = r"(?U)(?<=(?<!\w)\p{L})\.(?=\p{L}(?!\w))"

_ANALYSIS: dict[str, Any] = {
    "char_filter": {
        "acronym_dots": {"type": "pattern_replace", "pattern": _ACRONYM_DOT,
                         "replacement": ""},
        "lone_stop_words": {"type": "pattern_replace", "pattern": _STOP_ALONE,
                            "replacement": ""},
    },
    "tokenizer": {
        "symbol_words": {"type": "pattern", "pattern": TOKEN_PATTERN, "group": 0,
                         "flags": "UNICODE_CHARACTER_CLASS"},
    },
    "filter": {
        "symbol_parts": {
            "type": "word_delimiter", "preserve_original": True, "catenate_all": True,
            "generate_word_parts": True, "generate_number_parts": True,
            "split_on_case_change": False, "split_on_numerics": False,
            "stem_english_possessive": False,
            # only & / - (and the dots of acronyms, gone already) split a word
            "type_table": [". => ALPHA", "' => ALPHA", "’ => ALPHA", "+ => ALPHA",
                           "# => ALPHA", "_ => ALPHA"],
        },
        "searchkit_stop": {"type": "stop", "stopwords": sorted(STOP_WORDS),
                           "ignore_case": True},
        "porter2": {"type": "stemmer", "language": "porter2"},
    },
    "analyzer": {
        "clippings": {"type": "custom", "char_filter": ["acronym_dots", "lone_stop_words"],
                      "tokenizer": "symbol_words",
                      "filter": ["symbol_parts", "lowercase", "asciifolding",
                                 "searchkit_stop", "porter2"]},
        "names": {"type": "custom", "char_filter": ["acronym_dots"],
                  "tokenizer": "symbol_words",
                  "filter": ["symbol_parts", "lowercase", "asciifolding"]},
    },
    "normalizer": {"lower": {"type": "custom", "filter": ["lowercase"]}},
}

_TEXT = {"type": "text", "analyzer": "clippings"}
_KEYWORD = {"type": "keyword"}
_LOWER = {"type": "keyword", "normalizer": "lower"}
_STORED = {"type": "keyword", "index": False, "doc_values": False}
_INT = {"type": "integer"}

PROPERTIES: dict[str, Any] = {
    "key": _KEYWORD, "kind": _KEYWORD, "path": _KEYWORD, "parent": _KEYWORD,
    "text": _TEXT, "title": _TEXT, "excerpt": _TEXT, "topics": _TEXT,
    "provider": {"type": "text", "analyzer": "names"},
    "provider_name": _KEYWORD, "domain": _LOWER, "type": _LOWER,
    "topic": _KEYWORD, "topic_label": _KEYWORD, "topic_list": _STORED,
    "url": _STORED, "canonical": _KEYWORD, "cites": _KEYWORD, "source_id": _STORED,
    "published": {"type": "date", "format": "epoch_second"},
    "year": _INT, "quality": _INT, "arrived": {"type": "long"},
    "stamp": _STORED,
}


def index_body(folder: str, shards: int = 1) -> dict[str, Any]:
    """Settings and mapping for a new index of ``folder``'s clippings."""
    return {
        "settings": {
            "index": {
                "number_of_shards": shards,
                "auto_expand_replicas": "0-1",
                "similarity": {"default": {"type": "BM25", "k1": BM25_K1, "b": BM25_B}},
                "max_result_window": 100_000,
            },
            "analysis": _ANALYSIS,
        },
        "mappings": {"dynamic": "strict", "_meta": meta(folder), "properties": PROPERTIES},
    }


def meta(folder: str, **extra: Any) -> dict[str, Any]:
    return {META_KEY: MAPPING_VERSION, "folder": folder, **extra}


def document(entry: dict[str, Any], arrived: int) -> dict[str, Any]:
    """The source of one entry (:func:`searchkit.entries.entries_for`) as indexed here."""
    doc = {k: entry[k] for k in PROPERTIES if k in entry and entry[k] is not None}
    doc.pop("arrived", None)
    for name, sep in (("cites", "\n"), ("topic", ","), ("topic_label", ",")):
        if name in doc:
            doc[name] = [v for v in str(doc[name]).split(sep) if v]
    doc["arrived"] = arrived
    return doc
