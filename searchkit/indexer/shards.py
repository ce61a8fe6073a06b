"""Adding files to a writer: in this process, and for large batches in shard processes.

From SHARD_THRESHOLD files to (re)index on, the files are split between ``workers``
processes; each forked shard process parses its share and writes a segment of its own,
which the parent's commit publishes with its own in one table of contents.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Iterable
from typing import Any

from whoosh.index import FileIndex

from ..entries import entry_from_stored
from ..loading import init_worker, load_many, sigint_blocked
from ..results import FileFailure
from ..scan import sha_of
from . import schema
from .commit import WriteStorage
from .snapshot import INDEX_NAME
from .writer import IndexWriter

# From this many files to (re)index on, the work is split between ``workers``
# processes, each writing a segment of its own (parsing included): Whoosh's writer
# is single-threaded Python, and one segment per process is what uses both cores.
SHARD_THRESHOLD = 1_000

# A shard run flushes this process's segment while the shards flush theirs only when
# it holds this many entries: an early flush skips the merge policy, and a run that
# re-reads many touched files to find a few changed ones must still merge.
EARLY_FLUSH_ENTRIES = 2_000


@dataclasses.dataclass
class FilesAdded:
    """What adding one share of the files did (in this process or a shard process)."""

    failures: list[FileFailure] = dataclasses.field(default_factory=list)
    counts: dict[str, int] = dataclasses.field(
        default_factory=lambda: {"added": 0, "updated": 0, "unchanged": 0})
    new_shas: dict[str, str] = dataclasses.field(default_factory=dict)
    replaced: list[str] = dataclasses.field(default_factory=list)  # old versions to delete
    vanished: list[str] = dataclasses.field(default_factory=list)  # gone since the scan
    kept_last_good: list[str] = dataclasses.field(default_factory=list)  # failed: old kept
    restamped: int = 0  # touched, same content: rewritten for their new stamp
    notes: list[str] = dataclasses.field(default_factory=list)  # said after the run


def add_files(writer: Any, manifest: dict[str, str], full: bool, keep_last_good: bool,
              loads: Iterable[tuple[str, list[dict[str, Any]] | str, str]]) -> FilesAdded:
    """Add the entries of the files read through ``loads`` to ``writer``.

    With ``keep_last_good`` (a rebuild over an index of this schema version), a file
    that fails keeps its last good entries, read back from the index being replaced.
    """
    out = FilesAdded()
    for rel, result, sha in loads:
        if not result:  # vanished between the scan and the read: it is deleted
            if rel in manifest:
                out.vanished.append(rel)
            continue
        if isinstance(result, str):
            out.failures.append(FileFailure(rel, result))
            if keep_last_good:
                out.kept_last_good.append(rel)
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
    try:
        kept = _stored_entries(writer, out.kept_last_good)
    except Exception as exc:  # the index being replaced is damaged: go on without them
        kept = []
        out.notes.append(
            f"the last good versions of {len(out.kept_last_good)} failed files could not "
            f"be read from the index being replaced ({type(exc).__name__}); they are left "
            f"out")
        out.kept_last_good = []
    for doc in kept:
        writer.add_document(**doc)
    return out


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
            out.extend(entry_from_stored({**f, "stamp": stamp}) for f, stamp in found)
    return out


class ShardProcess:
    """A forked process adding a share of the files to a segment of its own.

    It reports progress and, at the end, its :class:`FilesAdded` and the segment
    (unpublished: only the parent's commit puts it in a table of contents). It
    holds no lock: the parent holds the index's write lock throughout, waits for
    it before committing or cancelling, and a cancel sweeps its files.
    """

    def __init__(self, proc: Any, conn: Any) -> None:
        self.proc, self.conn, self.done = proc, conn, 0
        self.result: tuple[FilesAdded, Any] | None = None

    @classmethod
    def start(cls, writer: Any, folder_s: str, rels: list[str], manifest: dict[str, str],
              full: bool, keep_last_good: bool, inherited: tuple[int, ...]
              ) -> ShardProcess:
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        here, there = ctx.Pipe(duplex=False)
        part = {rel: manifest[rel] for rel in rels if rel in manifest}
        proc = ctx.Process(target=_shard_main, daemon=True, name="searchkit-shard", args=(
            there, writer.storage.folder, writer.schema, folder_s, rels, part, full, keep_last_good,
            os.getpid(), inherited, getattr(writer, "arrival", None)))
        with sigint_blocked():
            proc.start()
        there.close()
        return cls(proc, here)

    def _read(self, block: bool, on_progress: Callable[[], None] | None = None) -> None:
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
                if on_progress:
                    on_progress()
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

    def finish(self, on_progress: Callable[[], None] | None = None
               ) -> tuple[FilesAdded, Any]:
        """Wait for the shard's result, calling ``on_progress`` as its count moves."""
        self._read(block=True, on_progress=on_progress)
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
                rels: list[str], manifest: dict[str, str], full: bool, keep_last_good: bool,
                parent: int, inherited: tuple[int, ...], arrival: Any = None) -> None:
    init_worker(parent, inherited)
    writer = None
    try:
        ix = FileIndex(WriteStorage(index_folder), schema_obj, INDEX_NAME)
        writer = IndexWriter(ix, _lk=False, compound=False)
        writer.schema = schema_obj
        writer.arrival = arrival  # the parent's stamp; its own connection to the table

        def report(done: int, _total: int) -> None:
            if done % 32 == 0:
                conn.send(("progress", done))

        loads = load_many(folder_s, rels, report, 1)
        with contextlib.closing(loads):
            result = add_files(writer, manifest, full, keep_last_good, loads)
        conn.send(("progress", len(rels)))  # every file read; writing the segment now
        segment = writer.finish_shard()
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
