"""Own the index: open it safely, diff the folder against its manifest, write, commit.

Folder scanning and entry building live in ``folder`` (no Whoosh there).

* The manifest is a column on each clipping entry (``path`` and ``stamp`` =
  size, mtime_ns, ctime_ns, sha1), so it is committed with the documents it
  describes and can never disagree with them.
* One writer, one commit per run. A file that fails to load is reported and
  skipped; its previously indexed entries are left untouched.
* ``rebuild`` writes every document into a new segment and commits with
  ``mergetype=CLEAR``: readers see the old commit until the new table of contents
  is renamed into place, never an empty or half-built index, and a rebuild that
  dies leaves the old commit live. ``create_in`` is only ever used on an empty
  folder.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import gc
import itertools
import json
import marshal
import os
import re
import stat
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage
from whoosh.index import FileIndex, LockError
from whoosh.util.numeric import byte_to_length
from whoosh.writing import CLEAR, MERGE_SMALL, NO_MERGE, PostingPool, SegmentWriter

from ..config import DEFAULT_QUICK_CHECK_FILES
from ..errors import (
    ConfigError,
    IndexBusyError,
    IndexCorruptError,
    IndexWriteError,
    UnsafeIndexError,
)
from ..folder import (
    Progress,
    Scan,
    add_topics,
    diff_folder,
    finish_entry,
    init_worker,
    load_many,
    scan,
    sha_of,
    sigint_blocked,
)
from ..results import FileFailure, FolderDiff, Freshness, IndexReport
from . import schema
from .segments import length_bytes as length_bytes

if TYPE_CHECKING:  # the loader (YAML, ftfy) is imported only when a file is read
    pass

T = TypeVar("T")


# ---------------------------------------------------------------- index access


INDEX_NAME = "MAIN"  # Whoosh's default index name: _MAIN_N.toc, MAIN_<segment>.*
_TOC = re.compile(r"^_MAIN_\d+\.toc$")


def index_exists(index_dir: str | os.PathLike[str]) -> bool:
    """True when ``index_dir`` holds a committed table of contents (readable or not)."""
    try:
        return any(_TOC.match(name) for name in os.listdir(index_dir))
    except OSError:
        return False


def open_index(index_dir: str | os.PathLike[str]) -> Any:
    """Open the index for reading; raise IndexCorruptError if it cannot be read."""
    _check_index_dir(index_dir)
    problem = ""
    with warnings.catch_warnings():
        # Whoosh leaks the TOC file handle when the TOC cannot be parsed; the
        # ResourceWarning it causes says nothing the error below does not.
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            return _Index.open(str(index_dir))
        except whoosh_index.EmptyIndexError:
            from ..errors import IndexMissingError

            raise IndexMissingError(str(index_dir), "run `searchkit index FOLDER`") from None
        except Exception as exc:  # unpickling or format errors from an unreadable TOC
            problem = f"{type(exc).__name__}: {exc}"
        gc.collect()
    raise IndexCorruptError(str(index_dir), problem)


def _check_index_dir(index_dir: str | os.PathLike[str]) -> None:
    """Refuse an index folder that another user could have written into.

    Whoosh's table of contents is a pickle: reading one that someone else planted
    would run their code as the current user. So the folder must belong to us and
    must not be writable by everyone. A folder that does not exist yet passes.
    """
    try:
        st = os.stat(index_dir)
    except OSError:
        return  # missing (or unreachable): the caller reports that in its own words
    if not stat.S_ISDIR(st.st_mode):
        return
    euid = os.geteuid() if hasattr(os, "geteuid") else None
    if euid is not None and st.st_uid != euid:
        raise UnsafeIndexError(
            str(index_dir), f"the folder belongs to another user (uid {st.st_uid}, you are "
            f"uid {euid})", "use an index folder of your own (--index)")
    if st.st_mode & stat.S_IWOTH:
        raise UnsafeIndexError(
            str(index_dir), f"the folder is writable by every user (mode "
            f"{stat.S_IMODE(st.st_mode):04o})",
            f"run `chmod go-w {index_dir}` if its contents are yours, or rebuild it elsewhere")


class _Index(FileIndex):  # type: ignore[misc]
    """Whoosh's FileIndex, made safe to read while another process commits.

    * Listing the folder and opening the newest ``_MAIN_N.toc`` are two steps; a
      writer that commits in between deletes generation N. Reading again finds N+1.
    * A reader keeps its snapshot for as long as it lives: Whoosh opens some of a
      segment's files (stored fields, field lengths, columns) only when first
      needed, and by then a merging commit may have deleted them -- stored fields
      then fail and BM25 silently sees empty field lengths. So every file of every
      segment is opened when the reader is created (an open file outlives its name).
    """

    @classmethod
    def open(cls, index_dir: str) -> _Index:
        return _retry_vanished(lambda: cls(FileStorage(index_dir), indexname=INDEX_NAME))

    def _read_toc(self) -> Any:
        return _retry_vanished(super()._read_toc)

    def reader(self, reuse: Any = None) -> Any:
        try:
            return _retry_vanished(self._pinned_reader)
        finally:
            if reuse is not None:  # Searcher.refresh(): the old reader is done with
                reuse.close()

    def _pinned_reader(self) -> Any:
        from whoosh.reading import EmptyReader, MultiReader, SegmentReader

        toc = self._read_toc()
        if not toc.segments:
            return EmptyReader(toc.schema)
        storages: list[_PinnedStorage] = []
        readers: list[Any] = []
        try:
            for segment in toc.segments:
                storages.append(_PinnedStorage(self.storage.folder, segment))
            # A segment's files are deleted only after a newer TOC exists: while
            # generation N is still the newest, every file pinned above is whole, and
            # the readers below open nothing that could vanish.
            if whoosh_index.TOC._latest_generation(self.storage, INDEX_NAME) != \
                    toc.generation:
                raise FileNotFoundError("a commit replaced the snapshot being opened")
            for segment, storage in zip(toc.segments, storages, strict=True):
                readers.append(SegmentReader(storage, toc.schema, segment,
                                             generation=toc.generation))
        except BaseException:
            for r in readers:
                r.close()
            for storage in storages:
                storage.close()
            raise
        if len(readers) == 1:
            return readers[0]
        return MultiReader(readers, generation=toc.generation)


class _PinnedStorage(FileStorage):  # type: ignore[misc]
    """The files of one segment, opened up front and served from those descriptors."""

    def __init__(self, folder: str, segment: Any) -> None:
        super().__init__(folder)
        self._pins: dict[str, tuple[int, int]] = {}
        prefix = f"{segment.segment_id()}."
        try:
            for name in os.listdir(folder):
                if name.startswith(prefix):
                    fd = os.open(os.path.join(folder, name), os.O_RDONLY)
                    self._pins[name] = (fd, os.fstat(fd).st_size)
        except BaseException:
            self.close()
            raise

    def file_exists(self, name: str) -> bool:
        return name in self._pins or bool(super().file_exists(name))

    def file_length(self, name: str) -> int:
        pin = self._pins.get(name)
        return pin[1] if pin else int(super().file_length(name))

    def open_file(self, name: str, **kwargs: Any) -> Any:
        pin = self._pins.get(name)
        if pin is None:
            return super().open_file(name, **kwargs)
        from whoosh.filedb.structfile import StructFile

        try:  # a description of its own (own offset), even if the name is gone
            fd = os.open(f"/proc/self/fd/{pin[0]}", os.O_RDONLY)
        except OSError:
            fd = os.dup(pin[0])
        return StructFile(os.fdopen(fd, "rb"), name=name, **kwargs)

    def close(self) -> None:
        pins, self._pins = self._pins, {}
        for fd, _ in pins.values():
            try:
                os.close(fd)
            except OSError:
                pass

    def __del__(self) -> None:
        self.close()


def _retry_vanished(fn: Callable[[], T], attempts: int = 20) -> T:
    for attempt in range(attempts):
        try:
            return fn()
        except FileNotFoundError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.005)
    raise AssertionError("unreachable")


def read_manifest(reader: Any) -> dict[str, str]:
    """path -> stamp for every live clipping entry, read from the columns."""
    if reader.doc_count_all() == 0:
        return {}
    paths = reader.column_reader("path")
    stamps = reader.column_reader("stamp")
    manifest: dict[str, str] = {}
    for docnum in reader.all_doc_ids():
        stamp = stamps[docnum]
        if stamp:
            manifest[paths[docnum]] = stamp
    return manifest


def check(folder: str | os.PathLike[str], index_dir: str | os.PathLike[str]) -> FolderDiff:
    """Compare the folder with the last commit, without writing anything.

    (When nothing changed it records the folders' timestamps beside the index, for
    :func:`folder_unchanged`; that file is a hint, never data.)
    """
    files = scan(folder)
    if not index_exists(index_dir):
        return FolderDiff(added=tuple(files))
    ix = open_index(index_dir)
    if schema.version_of(ix.schema) != schema.SCHEMA_VERSION:
        return FolderDiff(modified=tuple(files))  # the next update rebuilds
    with ix.reader() as reader:
        manifest = read_manifest(reader)
        generation = reader.generation()
    diff = diff_folder(files, manifest)
    if diff.is_empty and schema.folder_of(ix.schema) == os.path.abspath(folder):
        save_folder_state(index_dir, generation, folder, files)
    return diff


# ---------------------------------------------------------------- quick check
#
# Stat'ing every file of a 100k-clipping folder costs ~400 ms, more than a whole search
# should. Adding, deleting or renaming a file -- and the write-to-temporary-then-rename
# that most editors and tools do to save -- changes the mtime of the folder holding it,
# so comparing the folders' mtimes with those seen when the newest commit was checked
# answers "did anything change?" with one stat per folder. What it misses is a file
# rewritten in place (`echo >> file`): `searchkit index` and `search --full-check`
# always stat every file, and folders under DEFAULT_QUICK_CHECK_FILES always get the full
# check. The mtimes are only trusted when they are older than RACY_NS at scan time: a
# change in the same clock tick as the scan could otherwise leave the mtime as it was
# (the "racy git" problem).

STATE_FILE = "searchkit-folders.json"
STATE_VERSION = 1
_STATE_TEMP = re.compile(rf"^{re.escape(STATE_FILE)}\.\d+\.tmp$")
RACY_NS = 2_000_000_000


def _newest_generation(index_dir: str | os.PathLike[str]) -> int:
    try:
        return int(whoosh_index.TOC._latest_generation(FileStorage(str(index_dir)), INDEX_NAME))
    except OSError:
        return -1


def save_folder_state(index_dir: str | os.PathLike[str], generation: int | None,
                      folder: str | os.PathLike[str], files: dict[str, os.stat_result]) -> None:
    """Record the folders' mtimes as of the scan that matched commit ``generation``."""
    path = os.path.join(index_dir, STATE_FILE)
    dirs = files.dirs if isinstance(files, Scan) else None  # a test's stand-in: no record
    racy = time.time_ns() - RACY_NS
    try:
        if generation is None or not dirs or any(m >= racy for m in dirs.values()):
            if os.path.exists(path):
                os.unlink(path)  # an old record must not outlive the commit it describes
            return
        state = {"version": STATE_VERSION, "schema": schema.SCHEMA_VERSION,
                 "generation": generation, "folder": os.path.abspath(folder),
                 "files": len(files), "dirs": sorted(dirs.items())}
        tmp = f"{path}.{os.getpid()}.tmp"
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(state, fh, separators=(",", ":"))
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError:
        pass  # a missing record only means the next search stats every file


def folder_unchanged(folder: str | os.PathLike[str], index_dir: str | os.PathLike[str],
                     min_files: int = DEFAULT_QUICK_CHECK_FILES) -> bool:
    """True when no folder under ``folder`` changed since the newest commit was checked.

    Only answers for folders of at least ``min_files`` clippings; False means "do the
    full check", never "something changed".
    """
    try:
        with open(os.path.join(index_dir, STATE_FILE), "rb") as fh:
            state = json.loads(fh.read())
        if not (isinstance(state, dict) and state.get("version") == STATE_VERSION
                and state.get("schema") == schema.SCHEMA_VERSION
                and state.get("folder") == os.path.abspath(folder)
                and isinstance(state.get("files"), int) and state["files"] >= min_files
                and state.get("generation") == _newest_generation(index_dir)):
            return False
        dirs = state.get("dirs")
        if not isinstance(dirs, list) or not dirs:
            return False
        for entry in dirs:
            d, mtime = entry
            if os.stat(d).st_mtime_ns != mtime:
                return False
    except (OSError, ValueError, TypeError):
        return False
    return True


# ---------------------------------------------------------------- writing
#
# Commit protocol (Whoosh's, made durable and tidy):
#   1. the new segment's files are written and fsync'ed;
#   2. the new table of contents is written to a temporary file, fsync'ed, and
#      renamed to _MAIN_<generation>.toc -- the commit point -- then the folder is
#      fsync'ed so that the rename itself survives a power cut;
#   3. still under the write lock, every index file the new TOC does not reference
#      is deleted (replaced segments, older TOCs, leftovers of crashed runs).
# Readers pick the newest TOC, so they see the old commit or the new one, never a mix.
# A run that fails or is interrupted before step 2 leaves the old commit in place and
# removes its own files; a run killed outright leaves files that the next writer
# (or the next run that finds them) removes under the lock.

_SEGMENT_FILE = re.compile(rf"^({INDEX_NAME}_[0-9a-z]+)\.[A-Za-z0-9_.]+$")
_ANY_TOC = re.compile(rf"^_{INDEX_NAME}_(\d+)\.toc(\..*)?$")
_TEMP_STORAGE = f"{INDEX_NAME}.tmp"


def leftovers(names: Iterable[str], generation: int, segment_ids: Iterable[str],
              *, temp: bool = True) -> list[str]:
    """The index files among ``names`` that commit ``generation`` does not use.

    Other generations' TOCs, half-written TOCs (``_MAIN_N.toc.<time>``), segment files
    of segments not in ``segment_ids`` and (with ``temp``) the writer's temporary
    storage ``MAIN.tmp``. The lock file and names Whoosh never writes are not listed.
    """
    live = set(segment_ids)
    out: list[str] = []
    for name in names:
        if _STATE_TEMP.match(name):  # a folder record whose writer was killed
            out.append(name)
            continue
        m = _ANY_TOC.match(name)
        if m:
            if m.group(2) or int(m.group(1)) != generation:
                out.append(name)
            continue
        m = _SEGMENT_FILE.match(name)
        if m:
            if m.group(1) not in live:
                out.append(name)
        elif temp and name.startswith(_TEMP_STORAGE):
            out.append(name)
    return sorted(out)


def _remove(folder: str, names: Iterable[str]) -> None:
    """Best effort: whatever cannot be removed now is removed by a later commit."""
    import shutil

    for name in names:
        path = os.path.join(folder, name)
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.remove(path)
        except OSError:
            pass


def _sweep(storage: Any, *, temp: bool) -> None:
    """Remove what the newest committed TOC does not reference. Caller holds the lock."""
    try:
        toc = whoosh_index.TOC.read(storage, INDEX_NAME)
    except Exception:  # unreadable or missing: never guess what is garbage
        return
    names = leftovers(storage.list(), toc.generation,
                      (seg.segment_id() for seg in toc.segments), temp=temp)
    _remove(storage.folder, names)


def _fsync(path: str, *, directory: bool = False) -> None:
    if os.name == "nt":  # no directory handles to sync; files need write access there
        if directory:
            return
        fd = os.open(path, os.O_RDWR)
    else:
        fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
    try:
        os.fsync(fd)
    except OSError as exc:
        import errno

        # Some filesystems cannot sync a directory; that is no reason to fail.
        if not (directory and exc.errno in (errno.EINVAL, errno.ENOTSUP, errno.EBADF)):
            raise
    finally:
        os.close(fd)


class _WriteStorage(FileStorage):  # type: ignore[misc]
    """The storage a writer writes through.

    * Its rename (Whoosh renames only to commit a TOC) is durable: the file is
      synced before it is renamed, and the folder after.
    * It remembers the files it created, so that a failed commit closes them all:
      Whoosh leaves its temporary TOC, and segment files whose flush failed, open.
    """

    def __init__(self, folder: str) -> None:
        super().__init__(folder)
        self.created: list[Any] = []
        self.children: list[_WriteStorage] = []

    def create_file(self, name: str, *args: Any, **kwargs: Any) -> Any:
        f = super().create_file(name, *args, **kwargs)
        self.created.append(f)
        return f

    def temp_storage(self, name: str | None = None) -> Any:
        if name is None:
            from whoosh.util import random_name

            name = f"{random_name()}.tmp"
        temp = _WriteStorage(os.path.join(self.folder, name))
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
        _fsync(self._fpath(oldname))
        super().rename_file(oldname, newname, safe=safe)
        _fsync(os.path.abspath(self.folder), directory=True)


# A shard run flushes this process's segment while the shards flush theirs only when
# it holds this many entries: an early flush skips the merge policy, and a run that
# re-reads many touched files to find a few changed ones must still merge.
EARLY_FLUSH_ENTRIES = 2_000

# Segments under this many entries, or under 1/400 of the index, are "small": every
# commit merges them into its new segment, so a run of one-file updates leaves one
# small segment beside the big ones instead of the 5+ that Whoosh's MERGE_SMALL lets
# pile up (7 segments after 20 one-file commits at 100k: queries 19% slower). The cost
# is bounded: at most ~800 entries re-written per commit at 100k clippings.
SMALL_SEGMENT_ENTRIES = 500


def _merge_policy(writer: Any, segments: list[Any]) -> list[Any]:
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


# Whoosh's estimate of the postings held in memory before a sorted run is spilled
# (its default is 128). At 20k clippings, 48 instead of 128 cut each process's peak
# RSS from ~208 to ~115 MB and was no slower: smaller sorts, merged a block at a time.
POOL_MB = 48


class _Pool(PostingPool):  # type: ignore[misc]
    """Whoosh's posting pool, spilling sorted runs in blocks instead of posting by posting.

    Whoosh pickles each posting to a run file and unpickles it again for the merge:
    two Python calls per posting, about a quarter of a build's time. A run here is a
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
    """Field lengths for writing postings, each field's column read once as bytes.

    Whoosh reads the length column through a file per posting (~2 us each).
    """

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


class _Writer(SegmentWriter):  # type: ignore[misc]
    """Whoosh's SegmentWriter with a durable commit and cleanup under the write lock."""

    def __init__(self, ix: Any, **kwargs: Any) -> None:
        view = copy.copy(ix)  # the same index, seen through a storage of the writer's own
        view.storage = _WriteStorage(ix.storage.folder)
        super().__init__(view, **kwargs)
        self._started_from = {seg.segment_id() for seg in self.segments}
        if not kwargs.get("_lk", True):
            # A shard's writer (see _ShardProcess): Whoosh names every writer's
            # temporary folder MAIN.tmp, and finishing removes it; this one needs its own.
            self._tempstorage = self.storage.temp_storage(
                f"{_TEMP_STORAGE}.{self.newsegment.segment_id()}")
        self.pool = _Pool(self._tempstorage, self.newsegment,
                          limitmb=kwargs.get("limitmb", POOL_MB))

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
            m = _SEGMENT_FILE.match(name)
            if m and m.group(1) in new:
                _fsync(os.path.join(self.storage.folder, name))
        toc = whoosh_index.TOC(self.schema, segments, self.generation)
        toc.write(self.storage, self.indexname)  # its rename is the commit point
        # Committed. What follows only tidies up: its failures cost disk space, not data.
        try:
            whoosh_index.clean_files(self.storage, self.indexname, self.generation, segments)
        except OSError:
            pass
        _remove(self.storage.folder, leftovers(
            self.storage.list(), self.generation,
            (seg.segment_id() for seg in segments), temp=False))

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
            _sweep(self.storage, temp=False)
        super()._cleanup_on_error()

    def cancel(self) -> None:
        self._check_state()
        try:
            self._close_segment()
            if self._holds_lock():
                _sweep(self.storage, temp=False)
        except BaseException:
            self._cleanup_on_error()
            raise
        self._finish()


def _create(index_path: Path) -> None:
    """Write an empty index (generation 0) into an empty folder; caller holds the lock."""
    storage = _WriteStorage(str(index_path))
    try:
        whoosh_index.FileIndex.create(storage, schema.build_schema(), INDEX_NAME)
    except OSError as exc:
        storage.close_created()
        raise IndexWriteError(str(index_path), exc) from exc


def _ensure_index(index_dir: Path, lock_timeout: float) -> tuple[Any, str]:
    """Open the index, creating it in an empty folder. Returns (index, rebuild reason)."""
    try:
        index_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create index folder {index_dir}: {exc.strerror}") from None
    _check_index_dir(index_dir)
    if index_exists(index_dir):
        try:
            ix = open_index(index_dir)
        except IndexCorruptError as exc:
            return None, f"the index could not be read ({exc}); rebuilding"
        version = schema.version_of(ix.schema)
        if version != schema.SCHEMA_VERSION:
            return ix, (f"the index has schema version {version}, this searchkit uses "
                        f"{schema.SCHEMA_VERSION}; rebuilding")
        return ix, ""
    storage = FileStorage(str(index_dir))
    lock = storage.lock(f"{INDEX_NAME}_WRITELOCK")
    if not _acquire(lock, lock_timeout):
        raise IndexBusyError(str(index_dir), lock_timeout)
    try:
        if not index_exists(index_dir):  # still empty now that we hold the lock
            _create(index_dir)
    finally:
        lock.release()
    return open_index(index_dir), ""


def _acquire(lock: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if lock.acquire(blocking=False):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def _writer(ix: Any, index_dir: Path, lock_timeout: float) -> Any:
    try:
        # compound=False: a searcher opens in ~0.2 ms instead of ~90 ms (issue #2)
        return _Writer(ix, timeout=lock_timeout, delay=0.05, compound=False)
    except LockError:
        raise IndexBusyError(str(index_dir), lock_timeout) from None


def _tidy(ix: Any, index_path: Path) -> None:
    """Remove what a killed run left behind, if the lock is free right now."""
    storage = ix.storage
    try:
        toc = ix._read_toc()
        names = storage.list()
    except Exception:
        return
    if not leftovers(names, toc.generation, (seg.segment_id() for seg in toc.segments)):
        return
    lock = storage.lock(f"{INDEX_NAME}_WRITELOCK")
    if not lock.acquire(blocking=False):
        return  # a writer is at work; it tidies up when it commits
    try:
        _sweep(storage, temp=True)
    finally:
        lock.release()


def update(
    folder: str | os.PathLike[str],
    index_dir: str | os.PathLike[str],
    *,
    rebuild: bool = False,
    lock_timeout: float = 10.0,
    progress: Progress | None = None,
    workers: int | None = None,
) -> IndexReport:
    """Bring the index at ``index_dir`` in line with ``folder``; one commit at most.

    The commit is atomic: readers, and the next run after a crash, see the previous
    commit or this one. An I/O failure while writing (disk full, EIO) raises
    :class:`IndexWriteError` and leaves the previous commit in place.
    """
    started = time.monotonic()
    folder_s, index_path = str(folder), Path(index_dir)
    files = scan(folder_s)
    ix, reason = _ensure_index(index_path, lock_timeout)
    if ix is None:  # unreadable: start over in the same folder, under the lock
        ix = _recreate(index_path, lock_timeout)
    if workers is None:
        workers = min(2, os.cpu_count() or 1)
    if not (rebuild or reason) and schema.folder_of(ix.schema) == os.path.abspath(folder_s):
        with ix.reader() as reader:
            quick = diff_folder(files, _safe_manifest(reader))
            generation = reader.generation()
        if quick.is_empty:  # nothing to do: no writer, no files written
            _tidy(ix, index_path)
            save_folder_state(index_path, generation, folder_s, files)
            return IndexReport(folder=folder_s, index_dir=str(index_path),
                               unchanged=quick.unchanged,
                               seconds=time.monotonic() - started)
    writer = _writer(ix, index_path, lock_timeout)
    try:
        failures, counts, full, changed = _write(writer, folder_s, files, rebuild or bool(reason),
                                                 progress, workers)
    except OSError as exc:
        raise IndexWriteError(str(index_path), exc) from exc
    # A file that failed keeps the record away, so that fixing it in place is noticed.
    committed = writer.generation if changed else writer.generation - 1
    save_folder_state(index_path, None if failures else committed, folder_s, files)
    return IndexReport(
        folder=folder_s,
        index_dir=str(index_path),
        failed=tuple(failures),
        seconds=time.monotonic() - started,
        rebuilt=full,
        rebuild_reason=reason,
        committed=changed,
        **counts,
    )


# From this many files to (re)index on, the work is split between ``workers``
# processes, each writing a segment of its own (parsing included): Whoosh's writer
# is single-threaded Python, and one segment per process is what uses both cores.
SHARD_THRESHOLD = 1_000


@dataclasses.dataclass
class _Shard:
    """What adding one share of the files did (in this process or a shard process)."""

    failures: list[FileFailure] = dataclasses.field(default_factory=list)
    counts: dict[str, int] = dataclasses.field(
        default_factory=lambda: {"added": 0, "updated": 0, "unchanged": 0})
    new_shas: dict[str, str] = dataclasses.field(default_factory=dict)
    replaced: list[str] = dataclasses.field(default_factory=list)  # old versions to delete
    vanished: list[str] = dataclasses.field(default_factory=list)  # gone since the scan
    carry: list[str] = dataclasses.field(default_factory=list)  # failed, old entries kept
    restamped: int = 0  # touched, same content: rewritten for their new stamp


def _add_files(writer: Any, manifest: dict[str, str], full: bool, carry: bool,
               loads: Iterable[tuple[str, list[dict[str, Any]] | str, str]]) -> _Shard:
    """Add the entries of the files read through ``loads`` to ``writer``.

    With ``carry`` (a rebuild over an index of this schema version), a file that
    fails keeps its last good entries, read back from the index being replaced.
    """
    out = _Shard()
    for rel, result, sha in loads:
        if not result:  # vanished between the scan and the read: it is deleted
            if rel in manifest:
                out.vanished.append(rel)
            continue
        if isinstance(result, str):
            out.failures.append(FileFailure(rel, result))
            if carry:
                out.carry.append(rel)
            continue
        old = manifest.get(rel)
        if old is None:
            outcome = "added"
            out.new_shas[sha] = rel
        elif sha_of(old) == sha:
            outcome = "unchanged"  # touched, same content
        else:
            outcome = "updated"
        out.counts[outcome] += 1
        # A touched file (read because its size or times changed, same content) is
        # rewritten too: its entries carry the manifest stamp, and a stale stamp
        # would have every later run read and hash it again.
        if not full and old is not None:
            out.replaced.append(rel)
            out.restamped += outcome == "unchanged"
        for doc in result:
            writer.add_document(**doc)
    for doc in _stored_entries(writer, out.carry):
        writer.add_document(**doc)
    return out


def _write(writer: Any, folder_s: str, files: dict[str, os.stat_result], full: bool,
           progress: Progress | None, workers: int
           ) -> tuple[list[FileFailure], dict[str, int], bool, bool]:
    """Everything between taking the writer and committing (or cancelling) it."""
    shards: list[_ShardProcess] = []
    try:
        with writer.reader() as reader:
            manifest = _safe_manifest(reader)
        same_version = schema.version_of(writer.schema) == schema.SCHEMA_VERSION
        if full:
            writer.schema = schema.build_schema()
        # The folder travels in the schema pickle, so it is committed with the data.
        if schema.folder_of(writer.schema) != os.path.abspath(folder_s):
            writer.schema.searchkit_folder = os.path.abspath(folder_s)
            full_schema_change = True
        else:
            full_schema_change = False
        if full:
            todo = sorted(files)
            gone = sorted(set(manifest) - set(files))
            untouched = 0
        else:
            diff = diff_folder(files, manifest)
            todo = sorted(diff.added + diff.modified)
            gone = list(diff.deleted)
            untouched = diff.unchanged
        lock_fd = getattr(writer.writelock, "fd", None)
        inherited = (lock_fd,) if isinstance(lock_fd, int) else ()
        n = workers if workers > 1 and len(todo) >= SHARD_THRESHOLD else 1
        parts = [todo[i * len(todo) // n:(i + 1) * len(todo) // n] for i in range(n)]
        mine = parts[0]
        carry = full and same_version
        shards = [_ShardProcess.start(writer, folder_s, part, manifest, full, carry, inherited)
                  for part in parts[1:]]
        done_elsewhere = 0

        def report(done: int, _total: int) -> None:
            nonlocal done_elsewhere
            if shards and done % 32 == 0:
                done_elsewhere = sum(sh.poll() for sh in shards)
            if progress:
                progress(done + done_elsewhere, len(todo))

        loads = load_many(folder_s, mine, report, 1 if shards else workers,
                          inherited_fds=inherited)
        with contextlib.closing(loads):
            results = [_add_files(writer, manifest, full, carry, loads)]
        if shards and writer.docnum >= EARLY_FLUSH_ENTRIES:
            writer.flush_early()  # overlaps this segment's flush with the shards'; no merge
        segments = []
        for sh in shards:
            result, segment = sh.finish()
            results.append(result)
            if segment is not None:
                segments.append(segment)
        if progress and shards:
            progress(len(todo), len(todo))

        counts = {"added": 0, "updated": 0, "deleted": 0, "renamed": 0,
                  "unchanged": untouched}
        failures: list[FileFailure] = []
        new_shas: dict[str, str] = {}
        for r in results:
            failures += r.failures
            for k, v in r.counts.items():
                counts[k] += v
            new_shas.update(r.new_shas)
            gone += [rel for rel in r.vanished if rel not in gone]
            for rel in r.replaced:  # committed segments only: the new entries stay
                writer.delete_by_term("path", rel)
        for rel in gone:
            if not full:
                writer.delete_by_term("path", rel)
            if sha_of(manifest[rel]) in new_shas:  # same content under a new name
                counts["renamed"] += 1
                counts["added"] -= 1
            else:
                counts["deleted"] += 1
        changed = full or full_schema_change or any(r.restamped for r in results) or any(
            counts[k] for k in ("added", "updated", "deleted", "renamed"))
        if changed:
            writer.commit(mergetype=CLEAR if full else _merge_policy, extra_segments=segments)
        else:
            writer.cancel()
    except BaseException:
        for sh in shards:
            sh.kill()
        if shards and not writer.is_closed:  # their temporary folders (the lock is ours)
            _remove(writer.storage.folder, [n for n in writer.storage.list()
                                            if n.startswith(f"{_TEMP_STORAGE}.")])
        if not writer.is_closed:
            _cancel(writer)
        raise
    return failures, counts, full, changed


class _ShardProcess:
    """A forked process adding a share of the files to a segment of its own.

    It reports progress and, at the end, its :class:`_Shard` and the segment
    (unpublished: only the parent's commit puts it in a table of contents). It
    holds no lock: the parent holds the index's write lock throughout, waits for
    it before committing or cancelling, and a cancel sweeps its files.
    """

    def __init__(self, proc: Any, conn: Any) -> None:
        self.proc, self.conn, self.done = proc, conn, 0
        self.result: tuple[_Shard, Any] | None = None

    @classmethod
    def start(cls, writer: Any, folder_s: str, rels: list[str], manifest: dict[str, str],
              full: bool, carry: bool, inherited: tuple[int, ...]) -> _ShardProcess:
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        here, there = ctx.Pipe(duplex=False)
        part = {rel: manifest[rel] for rel in rels if rel in manifest}
        proc = ctx.Process(target=_shard_main, daemon=True, name="searchkit-shard", args=(
            there, writer.storage.folder, writer.schema, folder_s, rels, part, full, carry,
            os.getpid(), inherited))
        with sigint_blocked():
            proc.start()
        there.close()
        return cls(proc, here)

    def _read(self, block: bool) -> None:
        while self.result is None and (block or self.conn.poll()):
            try:
                kind, *payload = self.conn.recv()
            except EOFError:  # killed (out of memory?) before it could say why
                self.proc.join()
                code = self.proc.exitcode or 0
                how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
                raise OSError(f"an indexing process died ({how})") from None
            if kind == "progress":
                self.done = payload[0]
            elif kind == "done":
                self.result = (payload[0], payload[1])
            elif kind == "oserror":  # disk full and the like: the caller reports it
                raise OSError(*payload)
            else:  # a bug there: one line here; its traceback shows with --debug
                name, message, trace = payload
                exc = RuntimeError(f"an indexing process failed ({name}: {message})")
                exc.add_note(f"in the indexing process:\n{trace}")
                raise exc

    def poll(self) -> int:
        self._read(block=False)
        return self.done

    def finish(self) -> tuple[_Shard, Any]:
        self._read(block=True)
        self.proc.join()
        self.conn.close()
        assert self.result is not None
        return self.result

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join()
        self.conn.close()


def _shard_main(conn: Any, index_folder: str, schema_obj: Any, folder_s: str,
                rels: list[str], manifest: dict[str, str], full: bool, carry: bool,
                parent: int, inherited: tuple[int, ...]) -> None:
    init_worker(parent, inherited)
    writer = None
    try:
        ix = FileIndex(_WriteStorage(index_folder), schema_obj, INDEX_NAME)
        writer = _Writer(ix, _lk=False, compound=False)
        writer.schema = schema_obj

        def report(done: int, _total: int) -> None:
            if done % 32 == 0:
                conn.send(("progress", done))

        loads = load_many(folder_s, rels, report, 1)
        with contextlib.closing(loads):
            result = _add_files(writer, manifest, full, carry, loads)
        segment = writer.finish_shard()
        conn.send(("progress", len(rels)))
        conn.send(("done", result, segment))
    except BaseException as exc:
        if writer is not None and not writer.is_closed:
            with contextlib.suppress(Exception):
                writer.cancel()  # its files go; the parent sweeps whatever is left
        if isinstance(exc, OSError):
            conn.send(("oserror", exc.errno, exc.strerror or str(exc), exc.filename))
        else:
            import traceback

            conn.send(("error", type(exc).__name__, str(exc),
                       "".join(traceback.format_exception(exc)).rstrip()))
    finally:
        conn.close()


def _cancel(writer: Any) -> None:
    """Cancel a writer after an error: its uncommitted files go, the lock is released."""
    try:
        writer.cancel()
    except Exception:
        pass  # cancel() released the lock on its way out; leftovers go at the next commit


def _recreate(index_path: Path, lock_timeout: float) -> Any:
    storage = FileStorage(str(index_path))
    lock = storage.lock(f"{INDEX_NAME}_WRITELOCK")
    if not _acquire(lock, lock_timeout):
        raise IndexBusyError(str(index_path), lock_timeout)
    try:
        _create(index_path)
    finally:
        lock.release()
    return open_index(index_path)


def _safe_manifest(reader: Any) -> dict[str, str]:
    try:
        return read_manifest(reader)
    except Exception:  # an index of another schema version may lack the columns
        return {}


def _stored_entries(writer: Any, paths: list[str]) -> list[dict[str, Any]]:
    """The committed entries of ``paths``, rebuilt from stored fields and columns.

    Read only for the files that failed, so that a rebuild does not hold every
    stored entry of the old index in memory.
    """
    if not paths:
        return []
    out: list[dict[str, Any]] = []
    with writer.searcher() as searcher:
        stamps = searcher.reader().column_reader("stamp")
        for path in paths:
            found = [(searcher.stored_fields(d), stamps[d])
                     for d in searcher.document_numbers(path=path)]
            found.sort(key=lambda fs: (fs[0].get("kind") != schema.KIND_CLIPPING,
                                       fs[0].get("key", "")))
            out.extend(_doc_from_stored({**f, "stamp": stamp}) for f, stamp in found)
    return out


def _doc_from_stored(f: dict[str, Any]) -> dict[str, Any]:
    doc = {k: v for k, v in f.items() if v is not None}
    add_topics(doc, f.get("topic_list") or [])
    if f.get("provider") or f.get("domain"):
        doc["provider_name"] = f.get("provider") or f.get("domain")
    if "published" in doc:
        doc["day"] = doc["published"] // 86_400
    return finish_entry(doc)


def recorded_folder(index_dir: str | os.PathLike[str]) -> str | None:
    """The clippings folder the index at ``index_dir`` was last built from, if any."""
    if not index_exists(index_dir):
        return None
    try:
        return schema.folder_of(open_index(index_dir).schema)
    except Exception:
        return None


def refresh(
    folder: str | os.PathLike[str],
    index_dir: str | os.PathLike[str],
    *,
    build_timeout: float = 30.0,
    progress: Progress | None = None,
    quick_check_files: int | None = DEFAULT_QUICK_CHECK_FILES,
) -> Freshness:
    """Make the index current before a search: build it if missing, update it if stale.

    Cheap when nothing changed: a folder scan and a manifest read, or, for folders of
    at least ``quick_check_files`` clippings (None: never), only a stat of each
    directory (see :func:`folder_unchanged`). When another
    process holds the write lock, the current snapshot is answered from
    (``action="busy"``); a missing index waits up to ``build_timeout`` for the lock.
    """
    folder_s = str(folder)
    exists = index_exists(index_dir)
    if not os.path.isdir(folder_s):
        if exists:
            return Freshness("no-folder", folder_s)
        from ..errors import IndexMissingError

        raise IndexMissingError(
            str(index_dir),
            f"run `searchkit index FOLDER` (there is no clippings folder at {folder_s})",
        )
    if not exists:
        return Freshness("built", folder_s,
                         update(folder_s, index_dir, lock_timeout=build_timeout,
                                progress=progress))
    if quick_check_files is not None and folder_unchanged(folder_s, index_dir,
                                                         quick_check_files):
        return Freshness("fresh", folder_s)
    try:
        if check(folder_s, index_dir).is_empty:
            return Freshness("fresh", folder_s)
    except IndexCorruptError:
        pass  # update() rebuilds an unreadable index
    try:
        report = update(folder_s, index_dir, lock_timeout=0.0, progress=progress)
    except IndexBusyError:
        return Freshness("busy", folder_s)
    return Freshness("updated", folder_s, report)
