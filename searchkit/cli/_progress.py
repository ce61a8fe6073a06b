"""The indexing progress bar: files read with an ETA, then what the run is doing.

The library reports progress through a callable, ``progress(done, total)``, and, when
the callable has a ``phase`` method, the phases in which no count moves
(``writing`` a segment, ``committing``); it never prints. This bar draws one line on
stderr and ends it once, when the command prints anything else or finishes.
"""


import sys
import time
from collections.abc import Callable
from typing import TextIO

MIN_FILES = 500  # smaller runs are quick: no bar
WIDTH = 25  # characters of the bar itself
ETA_AFTER = 1.0  # seconds of reading before an ETA is worth showing
REDRAW_EVERY = 0.1  # seconds between redraws for the same percentage
PHASES = {"writing": "writing the index…", "committing": "committing…"}

_active: "ProgressBar | None" = None  # the bar whose line is still open
now = time.monotonic  # the bar's clock (a test may stand in its own)


class ProgressBar:
    """``indexing [#####     ] 4000/9999  40%  ETA 0:12``, then ``writing the index…``,
    ``committing…`` and ``done in 12.9s`` on the same line."""

    def __init__(self, stream: TextIO, clock: Callable[[], float] | None = None,
                 min_files: int | None = None, label: str = "indexing") -> None:
        self.stream, self.clock = stream, clock or (lambda: now())
        self.label = label  # what the files are read for: indexing, checking
        self.min_files = MIN_FILES if min_files is None else min_files
        self.done = self.total = 0
        self.first: tuple[float, int] | None = None  # (time, done) of the first report
        self.started = self.clock()
        self.doing = ""  # the phase, once counts stop moving
        self.drawn, self.drawn_pct, self.drawn_at = "", -1, 0.0

    def __call__(self, done: int, total: int) -> None:
        global _active
        if total < self.min_files:
            return
        now = self.clock()
        if self.first is None:
            self.first = (now, done)
            _active = self
        self.done, self.total = min(done, total), total
        self._draw(now, self.doing or self._eta(now))

    def phase(self, name: str) -> None:
        """The run has moved on to ``name``: counts stop moving for a while."""
        if self.first is None:
            return
        self.doing = PHASES.get(name, f"{name}…")
        self._draw(self.clock(), self.doing, force=True)

    def close(self) -> None:
        """End the line: the counts as they stand and the time it all took."""
        global _active
        if _active is self:
            _active = None
        if not self.drawn:
            return
        now = self.clock()
        self._draw(now, f"done in {now - self.started:.1f}s", force=True)
        self.stream.write("\n")
        self.stream.flush()
        self.drawn = ""

    def _eta(self, now: float) -> str:
        assert self.first is not None
        since, done_then = self.first
        elapsed, read = now - since, self.done - done_then
        if elapsed < ETA_AFTER or read <= 0 or self.done >= self.total:
            return ""
        left = round(elapsed * (self.total - self.done) / read)
        return f"ETA {left // 60}:{left % 60:02d}"

    def _draw(self, now: float, state: str, force: bool = False) -> None:
        pct = self.done * 100 // self.total
        bar = "#" * (pct * WIDTH // 100)
        digits = len(str(self.total))
        line = (f"{self.label} [{bar:<{WIDTH}}] {self.done:>{digits}}/{self.total} {pct:3d}%"
                f"  {state}").rstrip()
        if line == self.drawn:
            return
        if not force and pct == self.drawn_pct and now - self.drawn_at < REDRAW_EVERY:
            return
        pad = " " * max(len(self.drawn) - len(line), 0)  # rub out a longer line
        self.stream.write(f"\r{line}{pad}")
        self.stream.flush()
        self.drawn, self.drawn_pct, self.drawn_at = line, pct, now


def settle() -> None:
    """End the open bar's line, if any, before anything else is printed."""
    if _active is not None:
        _active.close()


def bar(stream: TextIO | None = None, label: str = "indexing") -> ProgressBar:
    return ProgressBar(stream or sys.stderr, label=label)


def abandon() -> None:
    """End the open bar's line as it stands (an error follows, not ``done``)."""
    global _active
    if _active is not None and _active.drawn:
        _active.stream.write("\n")
        _active.stream.flush()
        _active.drawn = ""
    _active = None
