"""Open a commit of the index for reading, safely, and read its manifest.

* Only an index folder of our own, whose files no one else can write, is opened:
  Whoosh's table of contents is a pickle (:func:`check_index_dir`).
* A reader is a snapshot of one commit that stays whole while other processes
  commit and delete files (:class:`_Index`, :class:`_PinnedStorage`).
"""

from __future__ import annotations

import gc
import os
import time
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage
from whoosh.index import FileIndex

from ..errors import IndexCorruptError, IndexMissingError
from . import guard
from .check import segment_problem

T = TypeVar("T")

INDEX_NAME = guard.INDEX_NAME  # Whoosh's default index name: _MAIN_N.toc, MAIN_<segment>.*
_TOC = guard.TOC


def index_exists(index_dir: str | os.PathLike[str]) -> bool:
    """True when ``index_dir`` holds a committed table of contents (readable or not)."""
    try:
        return any(_TOC.match(name) for name in os.listdir(index_dir))
    except OSError:
        return False


def open_index(index_dir: str | os.PathLike[str], *, checked: bool = False) -> Any:
    """Open the index for reading; raise IndexCorruptError if it cannot be read.
    ``checked``: the caller has just run :func:`check_index_dir` on the folder (the
    trust check lists and stats every entry: once per command is enough)."""
    if not checked:
        check_index_dir(index_dir)
    problem = ""
    with warnings.catch_warnings():
        # Whoosh leaks the TOC file handle when the TOC cannot be parsed; the
        # ResourceWarning it causes says nothing the error below does not.
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            return _Index.open(str(index_dir))
        except whoosh_index.EmptyIndexError:
            raise IndexMissingError(str(index_dir), "run `searchkit index FOLDER`") from None
        except Exception as exc:  # unpickling or format errors from an unreadable TOC
            problem = f"{type(exc).__name__}: {exc}"
        gc.collect()
    raise IndexCorruptError(str(index_dir), problem)


def check_index_dir(index_dir: str | os.PathLike[str]) -> None:
    """Refuse an index folder that another user could have written into, before
    anything in it is read: the folder and every file in it must be the current
    user's and writable by no one else (see :func:`guard.check_trusted`)."""
    guard.check_trusted(index_dir)


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
            names = os.listdir(self.storage.folder)  # once, not once per segment
            for segment in toc.segments:
                storages.append(_PinnedStorage(self.storage.folder, segment, names))
            # A segment's files are deleted only after a newer TOC exists: while
            # generation N is still the newest, every file pinned above is whole, and
            # the readers below open nothing that could vanish.
            if whoosh_index.TOC._latest_generation(self.storage, INDEX_NAME) != \
                    toc.generation:
                raise FileNotFoundError("a commit replaced the snapshot being opened")
            for segment, storage in zip(toc.segments, storages, strict=True):
                problem = segment_problem(segment, storage.sizes(), storage.head)
                if problem:
                    raise IndexCorruptError(self.storage.folder, problem)
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

    def __init__(self, folder: str, segment: Any, names: list[str]) -> None:
        """Pin the files among ``names`` (the folder's listing) of ``segment``."""
        super().__init__(folder)
        self._pins: dict[str, tuple[int, int]] = {}
        prefix = f"{segment.segment_id()}."
        try:
            for name in names:
                if name.startswith(prefix):
                    fd = os.open(os.path.join(folder, name), os.O_RDONLY)
                    self._pins[name] = (fd, os.fstat(fd).st_size)
        except BaseException:
            self.close()
            raise

    def sizes(self) -> dict[str, int]:
        return {name: size for name, (_, size) in self._pins.items()}

    def head(self, name: str) -> bytes:
        return os.pread(self._pins[name][0], 4, 0)

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


def safe_manifest(reader: Any) -> dict[str, str]:
    """:func:`read_manifest`, or nothing when the index (of another schema version)
    lacks the columns."""
    try:
        return read_manifest(reader)
    except Exception:  # an index of another schema version may lack the columns
        return {}


def newest_generation(index_dir: str | os.PathLike[str]) -> int:
    """The generation of the newest table of contents in ``index_dir`` (-1: none)."""
    try:
        return int(whoosh_index.TOC._latest_generation(FileStorage(str(index_dir)), INDEX_NAME))
    except OSError:
        return -1
