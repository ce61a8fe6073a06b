"""``watch``: keep the index current while the clippings folder changes, until stopped."""


import contextlib
import signal
import time
from collections.abc import Iterator
from types import FrameType
from typing import Annotated

import typer

from .. import config, records
from ..errors import ConfigError, Terminated
from ..watch import DEBOUNCE_MS, POLL_INTERVAL_MS, Busy, Updated, Watching, watch
from ._common import (
    DebugOpt,
    IndexOpt,
    LockTimeoutOpt,
    SeedsOpt,
    engine_for,
    err,
    note,
    paths,
)


def watch_cmd(
    folder: Annotated[str | None, typer.Argument(
        help="Clippings folder. [default: --seeds, else the indexed folder, else ./seeds]")
    ] = None,
    debounce: Annotated[int, typer.Option(
        "--debounce", metavar="MS", min=0, max=60_000,
        help="Gather a burst of changes for up to this many milliseconds, then update "
             "the index once.")
    ] = DEBOUNCE_MS,
    poll: Annotated[bool, typer.Option(
        "--poll", help=f"Look for changes every {POLL_INTERVAL_MS / 1000:g}s instead of "
                       "waiting for the system's file events: for network mounts (NFS, "
                       "SMB) and other folders where those never arrive.")
    ] = False,
    lock_timeout: LockTimeoutOpt = 10.0,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="Print only errors (files that fail to load).")
    ] = False,
    index: IndexOpt = None,
    seeds: SeedsOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Keep the index current while the folder changes: one update, then one commit per
    burst of changes, a line for each on stderr. Ctrl-C (exit 130) or SIGTERM (143)
    stops it; the index keeps its last commit."""
    index_dir, default_folder = paths(index, folder or seeds)
    engine = engine_for(index_dir)
    shown = folder or default_folder
    with sigterm_raises() as received:
        try:
            for event in watch(engine, shown, ignore=(index_dir,), debounce_ms=debounce,
                               poll=poll, lock_timeout=lock_timeout):
                if isinstance(event, Updated):
                    updated(event, index_dir, quiet)
                elif isinstance(event, Watching):
                    how = (f"polling every {POLL_INTERVAL_MS / 1000:g}s" if event.polling
                           else "file events")
                    note(f"{clock(time.time())} watching {shown} ({how}; index {index_dir}); "
                         "Ctrl-C to stop", quiet)
                elif isinstance(event, Busy):
                    note(f"{clock(time.time())} {event.error}; trying again in "
                         f"{event.retry_seconds:g}s", quiet)
        except KeyboardInterrupt:
            # The file watcher swallows a signal handler's exception and says "signal":
            # which one it was, the handler noted.
            if received:
                raise Terminated() from None
            raise


def updated(event: Updated, index_dir: str, quiet: bool) -> None:
    """What one update says: the files that newly fail (always), notes, the commit."""
    report = event.report
    if event.first:
        try:  # where `search` looks when no index is named or found, as `index` records
            config.record_default(index_dir, report.folder)
        except ConfigError as exc:
            note(f"Note: {exc}", quiet)
    if report.rebuild_reason:
        note(f"Note: {report.rebuild_reason}", quiet)
    for failure in event.new_failures:
        err(failure.message)
    for line in records.note_lines(report):
        note(line, quiet)
    if report.committed:
        note(commit_line(event), quiet)


def commit_line(event: Updated) -> str:
    """``12:00:01 indexed 3 added, 1 updated, 0 deleted (0.21s)``"""
    r = event.report
    if r.rebuilt:
        written = r.added + r.updated + r.renamed + r.unchanged
        what = f"rebuilt {written} clippings, {r.deleted} deleted"
    else:
        what = f"indexed {r.added} added, {r.updated} updated, {r.deleted} deleted"
        if r.renamed:
            what += f", {r.renamed} renamed"
    return f"{clock(event.finished)} {what} ({r.seconds:.2f}s)"


def clock(when: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(when))


@contextlib.contextmanager
def sigterm_raises() -> Iterator[list[int]]:
    """While inside, SIGTERM raises :class:`Terminated` (the boundary exits 143), so a
    writer cancels as it does on Ctrl-C; the list it gives holds the signals received."""
    received: list[int] = []

    def handler(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield received
    finally:
        signal.signal(signal.SIGTERM, previous)
