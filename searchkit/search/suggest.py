"""When nothing (or almost nothing) matches: "did you mean" and per-word counts.

A word gets a correction when the index lacks it: the closest word of the index's own
unstemmed vocabulary (the ``spell`` field) by Damerau-Levenshtein distance, where
swapping two neighbouring letters is one edit (``brexti`` -> ``brexit``), within the
distance ``term~`` allows (:func:`.parser.auto_edits`: 1 edit up to 5 letters, 2 from
6) and with the same first letter; among equally close words, the one in most entries.
Corrections are offered, never searched in place of what was typed.
"""

from __future__ import annotations

import re
from typing import Any

from whoosh import query as wq
from whoosh.support.levenshtein import damerau_levenshtein

from ..indexer import schema
from ..results import WordCount
from . import parser
from .deadline import NO_DEADLINE, Deadline

_MAX_DIAGNOSED_WORDS = 20
_LETTERS = re.compile(r"[^\W\d_]{3,}")
# Candidates are gathered by plain Levenshtein distance (Whoosh's automaton), where a
# swap of two letters costs 2: gathering within 2 finds every swap.
_GATHER_EDITS = 2


def suggestions(searcher: Any, text: str, deadline: Deadline = NO_DEADLINE
                ) -> tuple[str, ...]:
    """Corrected query text from the index's own (unstemmed) vocabulary (``deadline``
    is consulted before each word)."""
    words = re.findall(schema.TOKEN_PATTERN, text)
    changed = False
    out_words: list[str] = []
    for word in words:
        deadline.check("suggesting spellings")
        best = correction(searcher, word)
        out_words.append(best or word)
        changed = changed or best is not None
    if not changed:
        return ()
    suggestion = text
    for old, new in zip(words, out_words, strict=True):
        if old != new:
            suggestion = re.sub(rf"(?<!\w){re.escape(old)}(?!\w)", new, suggestion, count=1)
    return (suggestion,)


def correction(searcher: Any, word: str) -> str | None:
    """The index word to offer for ``word``, or None: ``word`` is known, a stop word,
    shorter than 3 letters, not only letters, or has no word close enough."""
    folded = list(searcher.schema["spell"].process_text(word, mode="query"))
    if len(folded) != 1 or not _LETTERS.fullmatch(folded[0]):
        return None
    typed = folded[0]
    reader = searcher.reader()
    if reader.doc_frequency("spell", typed) > 0:
        return None
    allowed = parser.auto_edits(typed)
    best: tuple[int, int, str] | None = None
    for candidate in reader.terms_within("spell", typed, _GATHER_EDITS, prefix=1):
        distance = damerau_levenshtein(typed, candidate)
        if candidate == typed or distance > allowed:
            continue
        key = (distance, -reader.doc_frequency("spell", candidate), candidate)
        if best is None or key < best:
            best = key
    return best[2] if best else None


def diagnosis(searcher: Any, text: str, filter_q: Any, deadline: Deadline = NO_DEADLINE
              ) -> tuple[WordCount, ...]:
    """How many entries each word of the query matches on its own (with the filters);
    stop words, which search nothing, are left out."""
    queries = [(word, parser.literal_query(word, mode="or"))
               for word in parser.user_words(text)[:_MAX_DIAGNOSED_WORDS]]
    queries = [(word, q) for word, q in queries if q is not wq.NullQuery]
    if len(queries) < 2:
        return ()  # one word: its count is the total, already known
    counts: list[WordCount] = []
    for word, q in queries:
        deadline.check("counting each word's entries")
        counts.append(WordCount(word, len(searcher.search(q, limit=1, filter=filter_q))))
    return tuple(counts)
