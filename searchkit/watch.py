"""Keep an index current while a clippings folder changes (``searchkit watch``).

File events come from `watchfiles <https://watchfiles.helpmanual.io>`_: its Rust
backend (the ``notify`` crate) uses inotify on Linux (FSEvents, ReadDirectoryChangesW
elsewhere), groups a burst of events itself (``debounce_ms``/``step_ms``), and can be
forced to poll (``poll=True``) where kernel events do not arrive: network mounts (NFS,
SMB), some containers and VMs. The watcher is the backend's ``RustNotify``, created
before the first update, so nothing that changes while that update runs is missed;
``watchfiles.watch`` would only start watching on its first iteration, and reads
``WATCHFILES_*`` environment variables, which the library does not.

Events only say *when* to look: after each batch the engine's ``update`` scans and
diffs the whole folder (cheap below some 20k files) and brings the index in step in one
commit, so a missed, doubled or reordered event costs nothing, an editor's
temporary-file-and-rename save is one changed file, and a sync tool's hidden partial
files are ignored the way the scan ignores them.

The library part only: :func:`watch` yields :class:`Updated`, :class:`Watching` and
:class:`Busy` events; it never prints, never installs signal handlers. Engine-neutral:
no Whoosh here.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from .errors import IndexBusyError
from .results import FileFailure, IndexReport
from .scan import SUFFIXES

if TYPE_CHECKING:
    from .engine import Engine

DEBOUNCE_MS = 500  # the longest a batch of events is gathered before the update starts
STEP_MS = 50  # a batch ends early after this long without a new event
POLL_INTERVAL_MS = 1000  # --poll: how often the folder is walked for changes
RETRY_MS = 1000  # after "index busy": when to try again, events or not


class StopEvent(Protocol):
    def is_set(self) -> bool: ...


@dataclass(frozen=True)
class Updated:
    """One update of the index: at start (``first``), then after each batch of events.

    ``new_failures`` are the files that failed and were not reported before (every
    failure, on the first update, as ``searchkit index`` reports them), or that changed
    since and still fail; ``report.committed`` says whether a commit was made."""

    report: IndexReport
    new_failures: tuple[FileFailure, ...]
    events: int  # file events in the batch that led to it (0 for the first update)
    first: bool
    finished: float  # time.time() when the update returned


@dataclass(frozen=True)
class Watching:
    """The watcher is live and the index current: changes from now on are seen."""

    folder: str
    polling: bool


@dataclass(frozen=True)
class Busy:
    """Another process holds the index's write lock: the update is tried again."""

    error: IndexBusyError
    retry_seconds: float


Event = Updated | Watching | Busy


def relevant(path: str, root: str, ignored: Sequence[str] = ()) -> bool:
    """Whether an event at ``path`` (under the watched folder ``root``, both absolute)
    can change what the scan finds: a clipping file (by the scan's suffixes), or a
    folder, or something deleted that may have been one. Hidden names (an editor's
    swap file, rsync's and Syncthing's ``.name.tmp``) and anything in ``ignored`` (the
    index folder) never are."""
    real = os.path.realpath(path)
    for other in ignored:
        if real == other or real.startswith(other.rstrip(os.sep) + os.sep):
            return False
    rel = os.path.relpath(path, root)
    if rel == os.curdir:  # the folder itself: only its disappearance matters
        return not os.path.isdir(root)
    parts = rel.split(os.sep)
    if parts[0] == os.pardir or any(p.startswith(".") for p in parts):
        return False
    if parts[-1].lower().endswith(SUFFIXES):
        return True
    # A folder created, renamed or deleted holds clippings the events may not name.
    return os.path.isdir(path) or not os.path.lexists(path)


class Failures:
    """Which failures were reported already, so that a broken file is said once: again
    only when its message changes or the file is touched and still fails."""

    def __init__(self) -> None:
        self.reported: dict[str, str] | None = None  # None: nothing reported yet

    def new(self, failed: Iterable[FileFailure], touched: Iterable[str] = ()
            ) -> tuple[FileFailure, ...]:
        """Of ``failed`` (every failure of an update), the ones to report; the first
        call reports them all."""
        failed, marks, before = tuple(failed), tuple(touched), self.reported
        fresh = tuple(f for f in failed if before is None or before.get(f.path) != f.message
                      or any(_under(f.path, t) for t in marks))
        self.reported = {f.path: f.message for f in failed}  # a fixed file is forgotten
        return fresh


def _under(path: str, touched: str) -> bool:
    return path == touched or path.startswith(touched.rstrip("/") + "/") or \
        touched.startswith(path.rstrip("/") + "/")


def watch(engine: Engine, folder: str | os.PathLike[str], *,
          ignore: Sequence[str | os.PathLike[str]] = (),
          debounce_ms: int = DEBOUNCE_MS, step_ms: int = STEP_MS, poll: bool = False,
          poll_interval_ms: int = POLL_INTERVAL_MS, lock_timeout: float = 10.0,
          retry_ms: int = RETRY_MS, stop: StopEvent | None = None) -> Iterator[Event]:
    """Keep ``engine``'s index in step with ``folder`` until ``stop`` is set (or the
    caller stops iterating, or a signal arrives: then KeyboardInterrupt is raised, as
    ``watchfiles.watch`` does; a handler's own exception raised during an update
    propagates as it is).

    Yields an :class:`Updated` for the first update, :class:`Watching` once the index
    is current and the watcher live, then an :class:`Updated` after each batch of
    events that could touch a clipping, and :class:`Busy` when another writer holds the
    lock past ``lock_timeout`` (the update is retried every ``retry_ms``). Any other
    error of ``update`` (the folder is gone, the disk is full) ends the watch.
    ``ignore``: folders whose events never count (the index, should it be below).
    """
    from watchfiles._rust_notify import RustNotify  # the backend, its documented API

    root = os.path.abspath(folder)
    if not os.path.isdir(root):  # the error the scan gives, before any watcher starts
        engine.update(root, lock_timeout=lock_timeout)
    ignored = tuple(os.path.realpath(p) for p in ignore)
    failures = Failures()
    with RustNotify([root], False, poll, poll_interval_ms, True, True) as notify:
        event = _update(engine, root, lock_timeout, retry_ms, failures, 0, ())
        pending = isinstance(event, Busy)
        yield event
        yield Watching(root, poll)
        while stop is None or not stop.is_set():
            raw = notify.watch(debounce_ms, step_ms, retry_ms if pending else 0, stop)
            if raw == "signal":
                raise KeyboardInterrupt
            if raw == "stop":
                return
            if raw == "timeout":
                batch: set[tuple[int, str]] = set()
            else:
                batch = {(change, path) for change, path in raw
                         if relevant(path, root, ignored)}
                if not batch and not pending:
                    continue
            touched = [os.path.relpath(path, root).replace(os.sep, "/") for _, path in batch]
            event = _update(engine, root, lock_timeout, retry_ms, failures, len(batch),
                            touched)
            pending = isinstance(event, Busy)
            yield event


def _update(engine: Engine, root: str, lock_timeout: float, retry_ms: int,
            failures: Failures, events: int, touched: Sequence[str]) -> Updated | Busy:
    """One update; the first that gets through says every failure (``Updated.first``)."""
    try:
        report = engine.update(root, lock_timeout=lock_timeout)
    except IndexBusyError as exc:
        return Busy(exc, retry_ms / 1000)
    first = failures.reported is None  # nothing reported yet: this update is the first
    return Updated(report, failures.new(report.failed, touched), events, first, time.time())


__all__ = ["Busy", "Event", "Failures", "Updated", "Watching", "relevant", "watch"]
