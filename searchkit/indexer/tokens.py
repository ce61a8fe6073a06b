"""Words with symbols: the one tokenizer of index and query time.

A word is a run of letters and digits, joined without spaces by ``. ' ’ & / -`` and
ending, perhaps, in ``+``, ``++`` or ``#`` (``C++``, ``C#``, ``Disney+``). A leading
``#`` is not part of a word: ``#MeToo`` is the word ``metoo``. What each kind of word
becomes (the same at index and query time, so every form finds every other):

* ``U.S.``, ``U.K.``, ``e.g.``: single letters between dots lose the dots: ``us``,
  ``uk``, ``eg`` ("US", "U.S." and "us" are one word; searchkit keeps "us" out of its
  stop words for the country already).
* ``AT&T``, ``9/11``, ``and/or``: one word in one position. The index holds it whole
  (``at&t``, ``9/11``), run together (``att``, ``911``) and its parts (``t``,
  ``9``, ``11``; stop words among them are dropped), all at that one position, so a
  phrase around it matches; a query looks for it whole.
* ``e-mail``, ``Covid-19``, ``state-of-the-art``: the parts, one position each as if
  spaced (so ``"covid 19"`` as a phrase matches ``Covid-19``), and in the index the
  parts run together as well (``email``, ``covid19``) at the first part's position.
  A query word with hyphens looks for the run-together form *or* the parts as a
  phrase (``search.parser`` builds it from :func:`catenated`): ``e-mail`` finds
  ``email`` and ``e-mail``, and ``email`` finds both too.
* ``C++``, ``C#``, ``3.5``, ``don't``, ``example.com``: kept whole (``c++``, not ``c``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from whoosh.analysis import Filter, Token, Tokenizer

TOKEN_PATTERN = r"\w+(?:[.'’&/-]\w+)*(?:(?:\+\+?|#)(?![\w+#]))?"
_TOKEN = re.compile(TOKEN_PATTERN)
_ACRONYM = re.compile(r"[^\W\d_](?:\.[^\W\d_])+")
_JOINED = re.compile(r"[&/]")
_PART = re.compile(r"[^&/]+")
_SYMBOLS = re.compile(r"[.'’&/+#]")

# (position offset within the word, text, start, end) of each form of one word
Form = tuple[int, str, int, int]


def catenated(word: str) -> str | None:
    """The hyphenated ``word`` run together (``e-mail`` -> ``email``), None for a word
    without hyphens. Symbols inside the parts go too (``U.S.-led`` -> ``USled``)."""
    if "-" not in word:
        return None
    return "".join(_SYMBOLS.sub("", part) for part in word.split("-"))


def forms(word: str, *, index: bool) -> list[Form]:
    """The tokens one matched word stands for (see the module's docstring)."""
    if "-" not in word:
        return _single_slot(word, 0, index=index)
    out: list[Form] = []
    start = 0
    for slot, part in enumerate(word.split("-")):
        out += [(slot, text, s + start, e + start)
                for _, text, s, e in _single_slot(part, 0, index=index)]
        start += len(part) + 1
    if index:
        joined = catenated(word)
        if joined:
            out.insert(1 if out else 0, (0, joined, 0, len(word)))
    return out


def _single_slot(word: str, slot: int, *, index: bool) -> list[Form]:
    end = len(word)
    if _ACRONYM.fullmatch(word):
        return [(slot, word.replace(".", ""), 0, end)]
    if not _JOINED.search(word):
        return [(slot, word, 0, end)]
    out: list[Form] = [(slot, word, 0, end)]
    if index:
        joined = _SYMBOLS.sub("", word)
        if joined and joined != word:
            out.append((slot, joined, 0, end))
        out += [(slot, m.group(), m.start(), m.end()) for m in _PART.finditer(word)]
    return out


class SymbolTokenizer(Tokenizer):  # type: ignore[misc]
    """Words and words with symbols (module docstring); ``mode="index"`` adds the
    extra forms the index holds, any other mode gives what a query looks for."""

    def __call__(self, value: str, positions: bool = False, chars: bool = False,
                 keeporiginal: bool = False, removestops: bool = True, start_pos: int = 0,
                 start_char: int = 0, tokenize: bool = True, mode: str = "",
                 **kwargs: Any) -> Iterator[Token]:
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            t.original = t.text = value
            t.boost = 1.0
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar, t.endchar = start_char, start_char + len(value)
            yield t
            return
        index = mode == "index"
        pos = start_pos
        for match in _TOKEN.finditer(value):
            word_forms = forms(match.group(), index=index)
            for slot, text, s, e in word_forms:
                t.text = text
                t.boost = 1.0
                t.stopped = False
                if keeporiginal:
                    t.original = text
                if positions:
                    t.pos = pos + slot
                if chars:
                    t.startchar = start_char + match.start() + s
                    t.endchar = start_char + match.start() + e
                yield t
            pos += 1 + max(slot for slot, *_ in word_forms)


class SlotStopFilter(Filter):  # type: ignore[misc]
    """Whoosh's StopFilter, renumbering positions so that tokens that shared a
    position still do (Whoosh's renumbers every token, one position each)."""

    def __init__(self, stoplist: frozenset[str], minsize: int = 1) -> None:
        self.stops = stoplist
        self.min = minsize

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, SlotStopFilter) and self.stops == other.stops
                and self.min == other.min)

    def __hash__(self) -> int:
        return hash((self.stops, self.min))

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        pos: int | None = None
        last: int | None = None
        for t in tokens:
            if len(t.text) < self.min or t.text in self.stops:
                if not t.removestops:
                    t.stopped = True
                    yield t
                continue
            if t.positions:
                if pos is None:
                    pos = t.pos
                elif t.pos != last:
                    pos += 1
                last, t.pos = t.pos, pos
            t.stopped = False
            yield t
