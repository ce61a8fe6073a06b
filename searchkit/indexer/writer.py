"""Writing a segment: Whoosh's SegmentWriter with a faster posting pool and length
lookups, a durable commit (see :mod:`.commit`) and clean-up under the write lock.
"""

from __future__ import annotations

import copy
import itertools
import marshal
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.index import LockError
from whoosh.util.numeric import byte_to_length
from whoosh.writing import CLEAR, NO_MERGE, PostingPool, SegmentWriter

from ..errors import IndexBusyError
from . import arrivals, storytable
from .check import record_files
from .commit import (
    SEGMENT_FILE,
    TEMP_STORAGE,
    WriteStorage,
    fsync,
    leftovers,
    remove_files,
    sweep,
)
from .guard import FILE_MODE
from .segments import length_bytes

# Whoosh's estimate of the postings held in memory before a sorted run is spilled
# (its default is 128): smaller sorts, merged a block at a time, cut each process's
# peak RSS by almost half and were no slower (figures in benchmarks/README.md).
POOL_MB = 48


class _Pool(PostingPool):  # type: ignore[misc]
    """Whoosh's posting pool, spilling sorted runs in blocks instead of posting by posting.

    Whoosh pickles each posting to a run file and unpickles it again for the merge:
    two Python calls per posting (a large share of a build's time). A run here is a
    series of marshalled lists of postings (marshal handles their str, bytes, int
    and float in C), read back a block at a time.
    """

    BLOCK = 4_096  # postings per marshalled list; the merge holds one list per run

    def add(self, item: tuple[str, bytes, int, float, bytes | None]) -> None:
        # Whoosh's estimate of an item's memory, without its per-posting type checks.
        self.currentsize += 150 + len(item[1]) * 2 + len(item[4] or b"")
        if self.currentsize > self.limit:
            self.save()
        self.current.append(item)
        self.fieldnames.add(item[0])

    def _write_run(self, f: Any, items: Iterable[Any]) -> None:
        it = iter(items)
        try:
            while block := list(itertools.islice(it, self.BLOCK)):
                marshal.dump(block, f)
        finally:
            f.close()

    def _read_run(self, path: str) -> Iterator[Any]:
        f = self._open_run(path)
        try:
            while True:
                try:
                    block = marshal.load(f)
                except EOFError:
                    return
                yield from block
        finally:
            f.close()
            self._remove_run(path)


class _Lengths:
    """Field lengths for writing postings, each field's column read once as bytes
    (Whoosh reads the length column through a file per posting)."""

    def __init__(self, perdoc: Any) -> None:
        self._perdoc = perdoc

    def doc_field_length_reader(self, fieldname: str, default: int = 0
                                ) -> Callable[[int], int | None]:
        raw = length_bytes(self._perdoc, fieldname)
        if raw is None:
            return lambda docnum: default
        return lambda docnum: _LENGTHS[raw[docnum]]


# Byte 0 is "no length stored": Whoosh's reader then answers None.
_LENGTHS: list[int | None] = [None] + [byte_to_length(i) for i in range(1, 256)]


class IndexWriter(SegmentWriter):  # type: ignore[misc]
    """Whoosh's SegmentWriter with a durable commit and cleanup under the write lock."""

    def __init__(self, ix: Any, **kwargs: Any) -> None:
        view = copy.copy(ix)  # the same index, seen through a storage of the writer's own
        view.storage = WriteStorage(ix.storage.folder)
        super().__init__(view, **kwargs)
        self._started_from = {seg.segment_id() for seg in self.segments}
        if not kwargs.get("_lk", True):
            # A shard's writer (see shards.ShardProcess): Whoosh names every writer's
            # temporary folder MAIN.tmp, and finishing removes it; this one needs its own.
            self._tempstorage = self.storage.temp_storage(
                f"{TEMP_STORAGE}.{self.newsegment.segment_id()}")
        self.pool = _Pool(self._tempstorage, self.newsegment,
                          limitmb=kwargs.get("limitmb", POOL_MB))
        self.arrival: arrivals.Stamper | None = None  # set by open_writer (and shards)

    def add_document(self, **fields: Any) -> None:
        """Whoosh's, with the entry's arrival time filled in (:mod:`.arrivals`) unless
        it carries one (an entry kept from the index being replaced)."""
        if self.arrival is not None and fields.get(arrivals.FIELD) is None:
            fields[arrivals.FIELD] = self.arrival.arrival_of(fields)
        super().add_document(**fields)

    def flush_early(self) -> None:
        """Write this writer's segment now, while shard processes write theirs.

        The commit then publishes it as it is: older segments are kept (deletions
        still apply) or cleared, not merged into it.
        """
        self._check_state()
        if self._added:
            self._early = [self._finalize_segment()]
        else:
            self._close_segment()
            self._early = []

    def commit(self, mergetype: Any = None, extra_segments: Iterable[Any] = ()) -> None:
        """Whoosh's commit, publishing ``extra_segments`` (written by shard processes)
        in the same table of contents."""
        self._check_state()
        try:
            early: list[Any] | None = getattr(self, "_early", None)
            if early is not None:
                final = self._merge_segments(CLEAR if mergetype is CLEAR else NO_MERGE,
                                             None, None) + early
            else:
                final = self._merge_segments(mergetype, None, None)
                if self._added:
                    final.append(self._finalize_segment())
                else:
                    self._close_segment()
            final.extend(extra_segments)
            self._commit_toc(final)
        except Exception:
            self._cleanup_on_error()
            raise
        self._finish()

    def finish_shard(self) -> Any:
        """A shard's end: its segment (None if it added nothing), files closed."""
        if self._added:
            segment = self._finalize_segment()
        else:
            self._close_segment()
            segment = None
        self._tempstorage.destroy()
        self.is_closed = True
        return segment

    def _flush_segment(self) -> None:
        # Whoosh's own, with the faster length lookups.
        self.perdocwriter.close()
        pdr = self.per_document_reader() if self.codec.length_stats else None
        self.fieldwriter.add_postings(self.schema, _Lengths(pdr) if pdr else None,
                                      self.pool.iter_postings())
        self.fieldwriter.close()
        if pdr:
            pdr.close()

    def _commit_toc(self, segments: list[Any]) -> None:
        # Every segment this commit publishes for the first time: its files are
        # made durable before the TOC that names them.
        new = {seg.segment_id() for seg in segments} - self._started_from
        for name in self.storage.list():
            m = SEGMENT_FILE.match(name)
            if m and m.group(1) in new:
                fsync(os.path.join(self.storage.folder, name))
        for seg in segments:  # their sizes, for the check of every later read (.check)
            if seg.segment_id() in new:
                record_files(seg, self.storage.folder)
        # The arrivals this commit issued, and its stamp (in the schema pickled into the
        # TOC), before the TOC that makes them live (see .arrivals).
        if self.arrival is not None:
            self.arrival.record(arrivals.stamped_entries(
                self.storage, self.schema,
                [seg for seg in segments if seg.segment_id() in new], self.arrival.stamp))
            arrivals.set_mark(self.schema, self.arrival.stamp)
        # The story table of this commit, before the TOC that makes both live.
        storytable.write(self.storage, self.schema, segments, self.generation,
                         getattr(self, "story_paths", None))
        toc = whoosh_index.TOC(self.schema, segments, self.generation)
        toc.write(self.storage, self.indexname)  # its rename is the commit point
        # Committed. What follows only tidies up: its failures cost disk space, not data.
        # (Not Whoosh's clean_files: its patterns also match names searchkit never wrote.)
        try:
            remove_files(self.storage.folder, leftovers(
                self.storage.list(), self.generation,
                (seg.segment_id() for seg in segments), temp=False))
        except OSError:
            pass

    def _finish(self) -> None:
        if self.arrival is not None:
            self.arrival.close()
        super()._finish()

    def _holds_lock(self) -> bool:
        return self.writelock is not None and getattr(self.writelock, "fd", None) is not None

    def _cleanup_on_error(self) -> None:
        # A failed commit: close and remove its files while the lock is still ours.
        # The newest TOC on disk says which commit is live (the old one, unless the
        # failure came after the rename), so nothing it references is touched.
        try:
            self._close_segment()
        except Exception:
            pass
        self.storage.close_created()
        if self._holds_lock():
            sweep(self.storage, temp=False)
        super()._cleanup_on_error()

    def cancel(self) -> None:
        self._check_state()
        try:
            self._close_segment()
            if self._holds_lock():
                sweep(self.storage, temp=False)
        except BaseException:
            self._cleanup_on_error()
            raise
        self._finish()


def open_writer(ix: Any, index_dir: Path, lock_timeout: float) -> IndexWriter:
    """A writer on ``ix``, holding the write lock; IndexBusyError after ``lock_timeout``."""
    try:
        # compound=False: a searcher opens much faster (issue #2; benchmarks/README.md)
        writer = IndexWriter(ix, timeout=lock_timeout, delay=0.05, compound=False)
    except LockError:
        raise IndexBusyError(str(index_dir), lock_timeout) from None
    try:  # under the lock: this run's arrival stamp
        writer.arrival = arrivals.Stamper.open(str(index_dir), arrivals.mark_of(ix.schema),
                                               FILE_MODE)
    except BaseException:
        writer.cancel()
        raise
    return writer
