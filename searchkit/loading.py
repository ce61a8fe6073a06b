"""Turn clipping files into index entries, in worker processes when there are many.

The workers read and parse (:mod:`searchkit.documents`) and build the entries
(:mod:`searchkit.entries`); the engine only adds them. Whoosh is never imported here.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any, TypeVar

from .entries import entries_for
from .errors import ClippingError, FileVanishedError
from .scan import stamp_text

PARALLEL_THRESHOLD = 400  # files to parse before a second process pays for itself
Progress = Callable[[int, int], None]  # (files done, files in all)
T = TypeVar("T")
R = TypeVar("R")


def _load_one(task: tuple[str, str, str]) -> tuple[str, list[dict[str, Any]] | str, str]:
    """(folder, its real path, rel) -> (rel, entries or error message, sha1). Runs in
    worker processes.

    An empty entry list means the file vanished between the scan and the read: it is
    to be treated as deleted. Never raises for one bad file: an unexpected exception
    becomes that file's error message, so every other file is still indexed.
    """
    folder, root, rel = task
    from . import documents

    try:
        data, st = read_listed(folder, root, rel)
        stamp = documents.stamp_of(data, st)
        clip = documents.parse_bytes(data, rel)
        return rel, entries_for(clip, stamp_text(stamp)), stamp.sha1
    except FileVanishedError:
        return rel, [], ""
    except ClippingError as exc:
        return rel, str(exc), ""
    except Exception as exc:  # a loader bug must not cost the other files
        return rel, (f"{rel}: internal error while loading ({type(exc).__name__}: {exc}); "
                     "please report it"), ""


def read_listed(folder: str, root: str, rel: str) -> tuple[bytes, os.stat_result]:
    """The bytes (and stat) of the scanned file ``rel`` under ``folder`` (whose real path
    is ``root``), as :func:`documents.read_file` reads them, after the checks a file
    found by the scan needs: a file name that could not be decoded is refused with a
    fix, and so is a path whose real path has left the folder since the scan (a link
    changed). ClippingError or FileVanishedError, as read_file raises them."""
    from . import documents

    path = os.path.join(folder, rel)
    if documents.is_escaped_path(rel) and not os.path.lexists(path):
        raise ClippingError(rel, None, "file name has control characters or bytes that "
                            "are not UTF-8 (shown as \\xNN); rename the file")
    if not os.path.realpath(path).startswith(root.rstrip(os.sep) + os.sep):  # moved out
        raise ClippingError(rel, None, "now a link to outside the folder; skipped")
    return documents.read_file(path, rel)


def load_many(folder: str, rels: Sequence[str], progress: Progress | None,
               workers: int, inherited_fds: Sequence[int] = ()
               ) -> Generator[tuple[str, list[dict[str, Any]] | str, str], None, None]:
    """Load ``rels`` in order, in worker processes for large batches.

    ``inherited_fds`` are descriptors the workers must close (the write lock: a
    forked worker holding a copy would keep the index locked after the parent died).
    Workers ignore SIGINT (the parent cancels), exit when the parent dies, and pending
    work is cancelled when the caller stops early.
    """
    root = os.path.realpath(folder)  # once, as doctor does: not per file
    yield from map_files(_load_one, [(folder, root, rel) for rel in rels], progress,
                         workers, inherited_fds)


def map_files(work: Callable[[T], R], tasks: Sequence[T], progress: Progress | None,
              workers: int, inherited_fds: Sequence[int] = ()) -> Iterator[R]:
    """``work`` on each task, results in order, in worker processes (see
    :func:`init_worker`) when there are ``workers`` and PARALLEL_THRESHOLD tasks or
    more; ``progress`` after each result. ``work`` is a module-level function (workers
    get it pickled) that never raises for one file. Stopping early cancels the rest."""
    total = len(tasks)
    if workers > 1 and total >= PARALLEL_THRESHOLD:
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(max_workers=workers, initializer=init_worker,
                                   initargs=(os.getpid(), tuple(inherited_fds)))
        try:
            with sigint_blocked():  # the workers are forked here: none can die half-made
                results = pool.map(work, tasks, chunksize=64)
            for done, result in enumerate(results, 1):
                if progress:
                    progress(done, total)
                yield result
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return
    for done, task in enumerate(tasks, 1):
        if progress:
            progress(done, total)
        yield work(task)


@contextlib.contextmanager
def sigint_blocked() -> Iterator[None]:
    """Hold SIGINT back (it is delivered on exit) while worker processes are started:
    they inherit the blocked mask and ignore SIGINT before unblocking it."""
    import signal
    import threading

    if not hasattr(signal, "pthread_sigmask") or \
            threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def init_worker(parent: int, inherited_fds: tuple[int, ...]) -> None:
    """Set up a loader process: no lock, no Ctrl-C of its own, no life after its parent."""
    import signal
    import threading

    # A Ctrl-C at a terminal reaches the whole process group; the parent alone acts on
    # it (cancelling the pool). A SIGINT already pending is discarded with SIG_IGN.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # `watch` raises on SIGTERM to cancel its writer; a worker just ends (its parent
    # sees it gone), whatever handler it was forked with.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    for fd in inherited_fds:
        try:
            os.close(fd)
        except OSError:
            pass
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True,
                     name="searchkit-parent-watch").start()


def _exit_with_parent(parent: int) -> None:
    # An orphaned worker would otherwise wait for work forever (a killed parent
    # never shuts the pool down).
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(1)
