"""When nothing (or almost nothing) matches: "did you mean" and per-word counts."""

from __future__ import annotations

import re
from typing import Any

from whoosh import query as wq

from ..indexer import schema
from ..results import WordCount
from . import parser

_MAX_DIAGNOSED_WORDS = 20


def suggestions(searcher: Any, text: str) -> tuple[str, ...]:
    """Corrected query text from the index's own (unstemmed) vocabulary."""
    words = re.findall(schema.TOKEN_PATTERN, text)
    changed = False
    out_words: list[str] = []
    for word in words:
        lower = word.lower()
        if lower in schema.STOP_WORDS or len(lower) < 3 or _known(searcher, lower):
            out_words.append(word)
            continue
        best = next(iter(searcher.suggest("spell", lower, limit=1, maxdist=2, prefix=1)), "")
        if best and best != lower:
            out_words.append(best)
            changed = True
        else:
            out_words.append(word)
    if not changed:
        return ()
    suggestion = text
    for old, new in zip(words, out_words, strict=True):
        if old != new:
            suggestion = re.sub(rf"\b{re.escape(old)}\b", new, suggestion, count=1)
    return (suggestion,)


def _known(searcher: Any, word: str) -> bool:
    return bool(searcher.reader().doc_frequency("spell", word) > 0)


def diagnosis(searcher: Any, text: str, filter_q: Any) -> tuple[WordCount, ...]:
    """How many entries each word of the query matches on its own (with the filters)."""
    words = parser.user_words(text)[:_MAX_DIAGNOSED_WORDS]
    if len(words) < 2:
        return ()  # one word: its count is the total, already known
    out: list[WordCount] = []
    for word in words:
        alone = parser.literal_query(word, mode="or")
        count = 0 if alone is wq.NullQuery else len(
            searcher.search(alone, limit=1, filter=filter_q))
        out.append(WordCount(word, count))
    return tuple(out)
