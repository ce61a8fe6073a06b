"""One search's time budget, consulted by every stage that can take long.

:func:`searchkit.search.search` makes one :class:`Deadline` when it starts and hands it
to each stage: expanding wildcard, prefix and fuzzy terms, collecting, feedback,
building the hits, suggestions. Matching is checked where all of its loops meet, the
posting lists: every term matcher a :class:`DeadlineSearcher` makes counts its moves
and looks at the clock every :data:`CHECK_EVERY` of them, so an AND of phrases that
finds nothing stops as surely as a word that matches everything.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from whoosh import matching, searching

CHECK_EVERY = 256  # posting moves or candidate words between looks at the clock


class TimeUp(Exception):
    """The budget ran out during ``stage`` (caught by the search, never seen by callers)."""

    def __init__(self, stage: str) -> None:
        super().__init__(stage)
        self.stage = stage


class Deadline:
    """``seconds`` from now (None, 0: no limit). ``checks`` counts the looks at the
    clock and ``stages`` the stages that looked, for tests and ``--debug``."""

    def __init__(self, seconds: float | None, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if seconds is not None and (math.isnan(seconds) or seconds < 0):
            raise ValueError(f"a time limit is a number of seconds >= 0, not {seconds!r}")
        self.seconds = seconds or None
        self._clock = clock
        self._at = None if self.seconds is None else clock() + self.seconds
        self.checks = 0
        self.stages: list[str] = []

    def expired(self) -> bool:
        return self._at is not None and self._clock() > self._at

    def check(self, stage: str) -> None:
        """Raise :class:`TimeUp` when the budget is spent."""
        self.checks += 1
        if not self.stages or self.stages[-1] != stage:
            self.stages.append(stage)
        if self.expired():
            raise TimeUp(stage)


NO_DEADLINE = Deadline(None)


class _CheckedMatcher(matching.WrappingMatcher):  # type: ignore[misc]
    """A term's postings that look at the deadline every CHECK_EVERY moves."""

    def __init__(self, child: Any, deadline: Deadline, boost: float = 1.0) -> None:
        super().__init__(child, boost)
        self.deadline = deadline
        self._moves = 0

    def _moved(self) -> None:
        self._moves += 1
        if not self._moves % CHECK_EVERY:
            self.deadline.check("matching")

    def next(self) -> Any:
        self._moved()
        return self.child.next()

    def skip_to(self, id: int) -> Any:  # noqa: A002 - Whoosh's name
        self._moved()
        return self.child.skip_to(id)

    def copy(self) -> _CheckedMatcher:
        return _CheckedMatcher(self.child.copy(), self.deadline, self.boost)

    def _replacement(self, newchild: Any) -> _CheckedMatcher:
        return _CheckedMatcher(newchild, self.deadline, self.boost)

    # a leaf: the parent matchers' term-level calls go to the postings themselves
    def term(self) -> Any:
        return self.child.term()

    def matching_terms(self, id: int | None = None) -> Any:  # noqa: A002
        return self.child.matching_terms(id)


class DeadlineSearcher(searching.Searcher):  # type: ignore[misc]
    """A Whoosh searcher whose term postings (and so every matcher built on them,
    phrases and number ranges included) consult ``deadline``."""

    def __init__(self, reader: Any, *, deadline: Deadline, **kwargs: Any) -> None:
        self.deadline = deadline  # before Searcher.__init__ makes the sub-searchers
        super().__init__(reader, **kwargs)

    def _subsearcher(self, reader: Any) -> DeadlineSearcher:
        return DeadlineSearcher(reader, deadline=self.deadline, fromindex=self._ix,
                                weighting=self.weighting, parent=self)

    def postings(self, fieldname: str, text: Any, weighting: Any = None,
                 qf: int = 1) -> Any:
        m = super().postings(fieldname, text, weighting=weighting, qf=qf)
        if self.deadline.seconds is None:
            return m
        return _CheckedMatcher(m, self.deadline)
