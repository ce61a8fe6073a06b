"""The commit protocol: durable files, one write lock, and no leftovers.

Whoosh's protocol, made durable and tidy:
  1. the new segment's files are written and fsync'ed;
  2. the new table of contents is written to a temporary file, fsync'ed, and
     renamed to _MAIN_<generation>.toc -- the commit point -- then the folder is
     fsync'ed so that the rename itself survives a power cut;
  3. still under the write lock, every index file the new TOC does not reference
     is deleted (replaced segments, older TOCs, leftovers of crashed runs).
Readers pick the newest TOC, so they see the old commit or the new one, never a mix.
A run that fails or is interrupted before step 2 leaves the old commit in place and
removes its own files; a run killed outright leaves files that the next writer
(or the next run that finds them) removes under the lock.

The writer that follows the protocol is ``writer._Writer``; this module has the
storage it writes through, the clean-up, the merge policy and the write lock.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage
from whoosh.writing import MERGE_SMALL

from ..errors import ConfigError, IndexBusyError, IndexCorruptError, index_write_error
from . import guard, schema
from .guard import (
    DIR_MODE,
    FILE_MODE,
    LOCK_NAME,
    OWN_TEMP,
    SEGMENT_FILE,
    TEMP_DIR,
    TEMP_STORAGE,
    TOC,
    TOC_TEMP,
)
from .snapshot import INDEX_NAME, check_index_dir, index_exists, open_index

__all__ = [  # what the writer and the orchestration use, some of it defined in .guard
    "LOCK_NAME", "SEGMENT_FILE", "TEMP_STORAGE", "WriteStorage", "cancel", "create_index",
    "ensure_index", "fsync", "leftovers", "merge_policy", "remove_files", "sweep", "tidy",
    "write_lock",
]


def leftovers(names: Iterable[str], generation: int, segment_ids: Iterable[str],
              *, temp: bool = True) -> list[str]:
    """The index files among ``names`` that commit ``generation`` does not use.

    Other generations' TOCs, half-written TOCs (``_MAIN_N.toc.<time>``), segment files
    of segments not in ``segment_ids``, other generations' story tables, the temporary
    files of killed runs, shard writers' temporary folders ``MAIN.tmp.MAIN_<id>``
    (shards are done before their parent commits or cancels) and, with ``temp``, the
    writer's own ``MAIN.tmp`` (False while a writer is using it). Only names searchkit
    writes are listed, matched strictly (:mod:`.guard`); the lock file, the marker and
    anything else never are.
    """
    live = set(segment_ids)
    out: list[str] = []
    for name in names:
        m = TOC.match(name)
        if m:
            if int(m.group(1)) != generation:
                out.append(name)
            continue
        m = SEGMENT_FILE.match(name) or guard.STORY_TABLE.match(name)
        if m:
            if m.group(1) not in live and m.group(1) != str(generation):
                out.append(name)
        elif TOC_TEMP.match(name) or OWN_TEMP.match(name) or guard.STORY_TEMP.match(name):
            out.append(name)
        elif TEMP_DIR.match(name) and (temp or name != TEMP_STORAGE):
            out.append(name)
    return sorted(out)


def remove_files(folder: str, names: Iterable[str]) -> None:
    """Remove what :func:`leftovers` listed, in a folder marked as searchkit's only,
    and only names searchkit writes (see :func:`guard.remove`). Best effort: whatever
    cannot be removed now is removed by a later commit."""
    guard.remove(folder, names)


def sweep(storage: Any, *, temp: bool) -> None:
    """Remove what the newest committed TOC does not reference. Caller holds the lock."""
    try:
        toc = whoosh_index.TOC.read(storage, INDEX_NAME)
    except Exception:  # unreadable or missing: never guess what is garbage
        return
    names = leftovers(storage.list(), toc.generation,
                      (seg.segment_id() for seg in toc.segments), temp=temp)
    remove_files(storage.folder, names)


def fsync(path: str, *, directory: bool = False) -> None:
    if os.name == "nt":  # no directory handles to sync; files need write access there
        if directory:
            return
        fd = os.open(path, os.O_RDWR)
    else:
        fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
    try:
        os.fsync(fd)
    except OSError as exc:
        # Some filesystems cannot sync a directory; that is no reason to fail.
        if not (directory and exc.errno in (errno.EINVAL, errno.ENOTSUP, errno.EBADF)):
            raise
    finally:
        os.close(fd)


class WriteStorage(FileStorage):  # type: ignore[misc]
    """The storage a writer writes through.

    * Its rename (Whoosh renames only to commit a TOC) is durable: the file is
      synced before it is renamed, and the folder after.
    * It remembers the files it created, so that a failed commit closes them all:
      Whoosh leaves its temporary TOC, and segment files whose flush failed, open.
    """

    def __init__(self, folder: str) -> None:
        super().__init__(folder)
        self.created: list[Any] = []
        self.children: list[WriteStorage] = []

    def create_file(self, name: str, excl: bool = False, mode: str = "wb",
                    **kwargs: Any) -> Any:
        # Whoosh's, with the file's permissions set at creation: never writable by
        # group or others, whatever the umask (see guard.check_trusted).
        from whoosh.filedb.structfile import StructFile

        def opener(path: str, flags: int) -> int:
            return os.open(path, flags | (os.O_EXCL if excl else 0), FILE_MODE)

        f = StructFile(open(self._fpath(name), mode, opener=opener), name=name, **kwargs)
        self.created.append(f)
        return f

    def create(self) -> WriteStorage:
        """Create the (temporary) folder, private whatever the umask."""
        os.makedirs(self.folder, mode=DIR_MODE, exist_ok=True)
        if not os.path.isdir(self.folder):
            raise NotADirectoryError(errno.ENOTDIR, "not a folder", self.folder)
        return self

    def destroy(self) -> None:
        """Remove a temporary folder: only the pool files Whoosh writes in it, and the
        folder once empty (Whoosh's would remove every file in it)."""
        guard.remove_temp_dir(self.folder)

    def lock(self, name: str) -> Any:
        """Whoosh's file lock, its file created with the same permissions as the rest."""
        path = self._fpath(name)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0),
                         FILE_MODE))
        return super().lock(name)

    def temp_storage(self, name: str | None = None) -> Any:
        if name is None:
            from whoosh.util import random_name

            name = f"{random_name()}.tmp"
        temp = WriteStorage(os.path.join(self.folder, name))
        self.children.append(temp)
        return temp.create()

    def close_created(self) -> None:
        for f in self.created:
            if not getattr(f, "is_closed", False):
                try:
                    f.close()
                except Exception:  # the flush can fail again (the disk is still full)
                    try:
                        f.file.close()
                    except Exception:
                        pass
        for child in self.children:
            child.close_created()

    def rename_file(self, oldname: str, newname: str, safe: bool = False) -> None:
        fsync(self._fpath(oldname))
        super().rename_file(oldname, newname, safe=safe)
        fsync(os.path.abspath(self.folder), directory=True)


# Segments under this many entries, or under 1/400 of the index, are "small": every
# commit merges them into its new segment, so a run of one-file updates leaves one
# small segment beside the big ones instead of the 5+ that Whoosh's MERGE_SMALL lets
# pile up (which slows queries: see
# benchmarks/README.md, "Segments"). The cost is bounded: the small segments of an
# index hold at most max(SMALL_SEGMENT_ENTRIES, 1/400 of it) entries each.
SMALL_SEGMENT_ENTRIES = 500


def merge_policy(writer: Any, segments: list[Any]) -> list[Any]:
    """Merge the small segments into the new one, then apply Whoosh's MERGE_SMALL."""
    from whoosh.reading import SegmentReader

    total = sum(seg.doc_count() for seg in segments)
    limit = max(SMALL_SEGMENT_ENTRIES, total // 400)
    rest = []
    for seg in segments:  # live entries: a segment whose entries were all replaced goes
        if seg.doc_count() < limit:
            reader = SegmentReader(writer.storage, writer.schema, seg)
            try:
                writer.add_reader(reader)
            finally:
                reader.close()
        else:
            rest.append(seg)
    return list(MERGE_SMALL(writer, rest))


# ---------------------------------------------------------------- the write lock


def _acquire(lock: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if lock.acquire(blocking=False):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


@contextlib.contextmanager
def write_lock(index_path: Path, timeout: float) -> Iterator[None]:
    """Hold the index's write lock (the one Whoosh's writers take) for the block;
    IndexBusyError if another process holds it for ``timeout`` seconds."""
    lock = WriteStorage(str(index_path)).lock(LOCK_NAME)
    if not _acquire(lock, timeout):
        raise IndexBusyError(str(index_path), timeout)
    try:
        yield
    finally:
        lock.release()


def create_index(index_path: Path, lock_timeout: float, *, only_if_missing: bool = False
                 ) -> Any:
    """Write an empty index (generation 0) into the folder, under the write lock, and
    open it. With ``only_if_missing``, an index another process created first is kept."""
    with write_lock(index_path, lock_timeout):
        if not (only_if_missing and index_exists(index_path)):
            storage = WriteStorage(str(index_path))
            try:
                # Whoosh's FileIndex.create, without its removal of every _MAIN_* name.
                remove_files(str(index_path), [n for n in storage.list()
                                               if TOC.match(n) or TOC_TEMP.match(n)])
                whoosh_index.TOC(schema.build_schema(), [], 0).write(storage, INDEX_NAME)
            except OSError as exc:
                storage.close_created()
                raise index_write_error(str(index_path), exc) from exc
    return open_index(index_path)


def ensure_index(index_dir: Path, lock_timeout: float) -> tuple[Any, str]:
    """Open the index, creating it in an empty folder. Returns (index, rebuild reason);
    the index is None when it cannot be read (rebuild it with :func:`create_index`)."""
    try:
        index_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create index folder {index_dir}: {exc.strerror}") from None
    check_index_dir(index_dir)
    guard.claim(index_dir)  # before anything is written or removed in it
    if not index_exists(index_dir):
        return create_index(index_dir, lock_timeout, only_if_missing=True), ""
    try:
        ix = open_index(index_dir, checked=True)  # (check_index_dir above)
    except IndexCorruptError as exc:
        return None, f"the index could not be read ({exc}); rebuilding"
    version = schema.version_of(ix.schema)
    if version != schema.SCHEMA_VERSION:
        return ix, (f"the index has schema version {version}, this searchkit uses "
                    f"{schema.SCHEMA_VERSION}; rebuilding")
    return ix, ""


def tidy(ix: Any) -> None:
    """Remove what a killed run left behind, if the lock is free right now."""
    storage = ix.storage
    try:
        toc = ix._read_toc()
        names = storage.list()
    except Exception:
        return
    if not leftovers(names, toc.generation, (seg.segment_id() for seg in toc.segments)):
        return
    lock = WriteStorage(storage.folder).lock(LOCK_NAME)
    if not lock.acquire(blocking=False):
        return  # a writer is at work; it tidies up when it commits
    try:
        sweep(storage, temp=True)
    finally:
        lock.release()


def cancel(writer: Any) -> None:
    """Cancel a writer after an error: its uncommitted files go, the lock is released."""
    try:
        writer.cancel()
    except Exception:
        pass  # cancel() released the lock on its way out; leftovers go at the next commit
