"""Wildcard, prefix and fuzzy terms -> the index words they stand for, once per search.

Whoosh expands such a term each time something builds a matcher for it (collecting,
the any-word fallback, highlighting: three times per search), and a fuzzy term's
expansion walks every word that shares its first letter without a pause. Here each
is expanded once, in a loop that consults the search's :class:`.Deadline` every
CHECK_EVERY candidate words and counts the words found against two caps:
MAX_EXPANSION for one pattern, MAX_EXPANDED_TERMS for the whole query (as Lucene
counts its clause limit over the whole query). Later stages see plain terms.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from typing import Any

from whoosh import query as wq
from whoosh.support.levenshtein import damerau_levenshtein

from ..errors import QueryError
from ..vocabulary import MAX_EXPANDED_TERMS, MAX_EXPANSION
from .deadline import CHECK_EVERY, Deadline

STAGE = "expanding wildcard, prefix and fuzzy terms"
_PATTERNS = (wq.Prefix, wq.Wildcard, wq.FuzzyTerm)


class Expander:
    """Expands the patterns of one search's queries (the AND query, then perhaps its
    any-word fallback) against ``reader``; each distinct pattern is read once.

    ``terms`` counts the index words all expansions produced so far, ``candidates``
    the words read to find them (deterministic measures of the work done)."""

    def __init__(self, reader: Any, source: str, deadline: Deadline) -> None:
        self.reader = reader
        self.source = source
        self.deadline = deadline
        self.terms = 0
        self.candidates = 0
        self._done: dict[tuple[Any, ...], tuple[bytes, ...]] = {}

    def expand(self, q: wq.Query) -> wq.Query:
        """``q`` with each wildcard, prefix and fuzzy term replaced by an OR of the index
        words it matches (with its boost), or by nothing when it matches none."""
        if isinstance(q, _PATTERNS):
            words = self._words(q)
            if not words:
                return wq.NullQuery
            terms = [wq.Term(q.fieldname, w, boost=q.boost) for w in words]
            return terms[0] if len(terms) == 1 else wq.Or(terms)
        if not q.children():
            return q
        return q.apply(self.expand)

    def _words(self, q: Any) -> tuple[bytes, ...]:
        key = (type(q).__name__, q.fieldname, q.text, getattr(q, "maxdist", 0),
               getattr(q, "prefixlength", 0))
        if key in self._done:
            return self._done[key]
        words: list[bytes] = []
        for word in self._candidates(q):
            words.append(word)
            if len(words) > MAX_EXPANSION:
                shown = q.text + ("*" if isinstance(q, wq.Prefix) else "")
                if isinstance(q, wq.FuzzyTerm):
                    shown = f"{q.text}~{q.maxdist}"
                raise QueryError(self.source, f"{shown!r} is too broad: it matches more than "
                                 f"{MAX_EXPANSION} words in {q.fieldname}; add letters")
            self.terms += 1
            if self.terms > MAX_EXPANDED_TERMS:
                raise QueryError(self.source, "the wildcard, prefix and fuzzy terms of this "
                                 f"query match more than {MAX_EXPANDED_TERMS} index words "
                                 "together; use fewer of them, or longer ones")
        self._done[key] = found = tuple(words)
        return found

    def _candidates(self, q: Any) -> Iterator[bytes]:
        """The index words ``q`` matches, reading the words that share its literal
        start and consulting the deadline as it goes."""
        field = self.reader.schema[q.fieldname]
        if isinstance(q, wq.FuzzyTerm):
            start, text, maxdist = q.text[:q.prefixlength], q.text, q.maxdist
            letters = frozenset(text)

            def match(word: str) -> bool:
                # Cheap bounds first: an edit changes the length by at most one and
                # brings in or takes out at most one distinct letter.
                return bool(abs(len(word) - len(text)) <= maxdist
                            and len(letters.symmetric_difference(word)) <= 2 * maxdist
                            and damerau_levenshtein(word, text, limit=maxdist) <= maxdist)
        elif isinstance(q, wq.Prefix):
            start = q.text

            def match(word: str) -> bool:
                return True
        else:
            start = re.split(r"[*?\[]", q.text, maxsplit=1)[0]
            pattern = re.compile(fnmatch.translate(q.text))

            def match(word: str) -> bool:
                return bool(pattern.match(word))
        check = self.deadline.check
        for n, btext in enumerate(self.reader.expand_prefix(q.fieldname, start), 1):
            if not n % CHECK_EVERY:
                check(STAGE)
            self.candidates += 1
            if match(field.from_bytes(btext)):
                yield btext
        check(STAGE)
