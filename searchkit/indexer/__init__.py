"""The Whoosh index: build it from a folder, keep it current, say how stale it is.

One module per stage:

* :mod:`.schema` -- fields, analyzers, SCHEMA_VERSION;
* :mod:`.snapshot` -- opening a commit for reading (pinned files, the manifest);
* :mod:`.freshness` -- the quick check's record of folder mtimes;
* :mod:`.commit` -- the commit protocol: durable files, the write lock, clean-up,
  the merge policy;
* :mod:`.segments` -- the one reader of Whoosh's raw segment bytes (writer and scorer);
* :mod:`.writer` -- the segment writer and its posting pool;
* :mod:`.shards` -- adding files to a writer, here or in shard processes;
* this module -- the orchestration: :func:`update`, :func:`refresh`, :func:`diff_index`.

Scanning the folder (:mod:`searchkit.scan`), building entries
(:mod:`searchkit.entries`) and loading files (:mod:`searchkit.loading`) are
engine-neutral and live beside this package.

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
import os
import time
from pathlib import Path
from typing import Any

from whoosh.writing import CLEAR

from ..config import DEFAULT_QUICK_CHECK_FILES
from ..errors import (
    FolderMismatchError,
    IndexBusyError,
    IndexCorruptError,
    IndexMissingError,
    IndexReadOnlyError,
    index_write_error,
)
from ..loading import Progress, load_many
from ..results import FileFailure, FolderDiff, Freshness, IndexReport
from ..scan import Scan, departures, diff_folder, held_back, scan, sha_of
from . import guard, schema, shards
from .check import close_files_of, index_problem, reading
from .commit import (
    TEMP_STORAGE,
    cancel,
    create_index,
    ensure_index,
    merge_policy,
    remove_files,
    tidy,
)
from .failed import load_failed, new_failures, save_failed, set_aside, write_record
from .freshness import STATE_FILE, folder_unchanged, save_folder_state
from .shards import ShardProcess, add_files
from .shards import _stored_entries as stored_entries
from .snapshot import index_exists, open_index, read_manifest, safe_manifest
from .writer import open_writer

__all__ = [
    "STATE_FILE",
    "IndexBusyError",
    "diff_index",
    "folder_unchanged",
    "index_exists",
    "open_index",
    "read_manifest",
    "recorded_folder",
    "refresh",
    "scan",
    "schema",
    "update",
]

Record = tuple[int, str, Scan]  # what save_folder_state records: generation, folder, scan


def diff_index(folder: str | os.PathLike[str], index_dir: str | os.PathLike[str]
               ) -> FolderDiff:
    """Compare the folder with the last commit. Read-only: writes nothing anywhere,
    so it works on an index folder the caller cannot write (``searchkit status``)."""
    return _diff(folder, index_dir)[0]


def _diff(folder: str | os.PathLike[str], index_dir: str | os.PathLike[str],
          same_folder: bool = False) -> tuple[FolderDiff, Record | None]:
    """The diff, and when the folder and the newest commit agree, what
    :func:`save_folder_state` would record about it (a caller that writes may).
    ``same_folder``: refuse a folder other than the one the index holds."""
    files = scan(folder)
    if not index_exists(index_dir):
        return FolderDiff(added=tuple(files), failed=tuple(files.failed)), None
    with reading(index_dir):  # the manifest of a damaged commit: IndexCorruptError
        return _diff_index(files, folder, index_dir, same_folder)


def _diff_index(files: Scan, folder: str | os.PathLike[str],
                index_dir: str | os.PathLike[str], same_folder: bool
                ) -> tuple[FolderDiff, Record | None]:
    ix = open_index(index_dir)
    committed = ix.schema  # (each ix.schema reads and unpickles the TOC again)
    if same_folder:
        check_folder(schema.folder_of(committed), folder, index_dir)
    if schema.version_of(committed) != schema.SCHEMA_VERSION:  # the next update rebuilds
        return FolderDiff(modified=tuple(files), failed=tuple(files.failed)), None
    with ix.reader() as reader:
        manifest = read_manifest(reader)
        generation = reader.generation()
    diff = set_aside(diff_folder(files, manifest), files, load_failed(index_dir, folder))
    if (diff.is_empty and not diff.failed and not diff.failing
            and schema.folder_of(committed) == os.path.abspath(folder)):
        return diff, (generation, str(folder), files)
    return diff, None


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
    guard.check_apart(folder_s, index_path)
    files = scan(folder_s)
    try:
        ix, reason = ensure_index(index_path, lock_timeout)
        if ix is None:  # unreadable: start over in the same folder, under the lock
            ix = create_index(index_path, lock_timeout)
    except OSError as exc:  # the lock file cannot be created: a read-only folder
        raise index_write_error(str(index_path), exc) from exc
    # A damaged commit is found before anything is read from it (see .check): a
    # rebuild then builds beside it without reading it, any other run stops.
    damage = index_problem(ix)
    if damage and not (rebuild or reason):
        raise IndexCorruptError(str(index_path), damage)
    if damage:
        reason = f"the index was damaged ({damage}); rebuilt it from the clippings alone"
    # (read once: each ix.schema reads and unpickles the TOC again)
    recorded = None if rebuild else schema.folder_of(ix.schema)
    if not rebuild:
        check_folder(recorded, folder_s, index_path)
    if workers is None:
        workers = min(2, os.cpu_count() or 1)
    if not (rebuild or reason) and recorded == os.path.abspath(folder_s):
        with reading(index_path), ix.reader() as reader:
            quick = diff_folder(files, safe_manifest(reader))
            generation = reader.generation()
        if quick.is_empty:  # nothing to do: no writer, no files written
            tidy(ix)
            save_failed(index_path, folder_s, files, quick.failed)
            save_folder_state(index_path, None if quick.failed else generation, folder_s,
                              files)
            return IndexReport(folder=folder_s, index_dir=str(index_path),
                               unchanged=quick.unchanged, failed=quick.failed,
                               seconds=time.monotonic() - started)
    try:
        writer = open_writer(ix, index_path, lock_timeout)
        with reading(index_path):
            failures, counts, full, changed, notes = _write(writer, folder_s, files,
                                                            rebuild or bool(reason), progress,
                                                            workers, damaged=bool(damage))
    except OSError as exc:
        raise index_write_error(str(index_path), exc) from exc
    # Folders the scan could not list: reported like files that failed (their entries kept).
    failures = list(getattr(files, "failed", ())) + failures
    # A file that failed keeps the record away, so that fixing it in place is noticed.
    committed = writer.generation if changed else writer.generation - 1
    save_folder_state(index_path, None if failures else committed, folder_s, files)
    save_failed(index_path, folder_s, files, failures)
    return IndexReport(
        folder=folder_s,
        index_dir=str(index_path),
        failed=tuple(failures),
        seconds=time.monotonic() - started,
        rebuilt=full,
        rebuild_reason=reason,
        committed=changed,
        notes=tuple(notes),
        **counts,
    )


def _write(writer: Any, folder_s: str, files: dict[str, os.stat_result], full: bool,
           progress: Progress | None, workers: int, *, damaged: bool = False
           ) -> tuple[list[FileFailure], dict[str, int], bool, bool, list[str]]:
    """Everything between taking the writer and committing (or cancelling) it; also
    returns why entries the scan skipped left the index."""
    shard_procs: list[ShardProcess] = []
    try:
        old = None if damaged else _old_manifest(writer, full)
        manifest = old or {}
        same_version = schema.version_of(writer.schema) == schema.SCHEMA_VERSION
        if full:
            writer.schema = schema.build_schema()
        # The folder travels in the schema pickle, so it is committed with the data.
        records_new_folder = schema.folder_of(writer.schema) != os.path.abspath(folder_s)
        if records_new_folder:
            writer.schema.searchkit_folder = os.path.abspath(folder_s)
        if full:
            todo = sorted(files)
            missing = set(manifest).difference(files)
            unseen = held_back(files, missing)  # under folders the scan could not list
            gone = sorted(missing - unseen)
            notes = departures(files, gone)
            if unseen and not same_version:  # old entries cannot be carried over: say so
                notes += [f"{rel}: left the index: rebuilt for a new index version while "
                          "it could not be read" for rel in sorted(unseen)]
                gone, unseen = sorted(missing), set()
            untouched = len(unseen)
        else:
            diff = diff_folder(files, manifest)
            todo = sorted(diff.added + diff.modified)
            gone = list(diff.deleted)
            notes = list(diff.notes)
            untouched = diff.unchanged
            unseen = set()
        # The paths whose entries the story table regroups (None: all of them).
        writer.story_paths = None if full else set(todo) | set(gone)
        lock_fd = getattr(writer.writelock, "fd", None)
        inherited = (lock_fd,) if isinstance(lock_fd, int) else ()
        n = workers if workers > 1 and len(todo) >= shards.SHARD_THRESHOLD else 1
        parts = [todo[i * len(todo) // n:(i + 1) * len(todo) // n] for i in range(n)]
        mine = parts[0]
        keep_last_good = full and same_version and old is not None
        if old is None and not damaged:
            notes.append("the index being replaced could not be read: files that fail "
                         "to load now are left out instead of kept as they were")
        shard_procs = [ShardProcess.start(writer, folder_s, part, manifest, full,
                                          keep_last_good, inherited) for part in parts[1:]]
        done_elsewhere = 0

        def report(done: int, _total: int) -> None:
            nonlocal done_elsewhere
            if shard_procs and done % 32 == 0:
                done_elsewhere = sum(sh.poll() for sh in shard_procs)
            if progress:
                progress(done + done_elsewhere, len(todo))

        loads = load_many(folder_s, mine, report, 1 if shard_procs else workers,
                          inherited_fds=inherited)
        with contextlib.closing(loads):
            results = [add_files(writer, manifest, full, keep_last_good, loads)]
        if keep_last_good:  # a rebuild keeps what it could not see, as it was
            for doc in stored_entries(writer, sorted(unseen)):
                writer.add_document(**doc)

        def waiting() -> None:  # the shards' files, as they are read
            if progress:
                progress(len(mine) + sum(sh.done for sh in shard_procs), len(todo))

        if shard_procs:  # where the bar stands now: this process has read all its files
            for sh in shard_procs:
                sh.poll()
            waiting()
        if shard_procs and writer.docnum >= shards.EARLY_FLUSH_ENTRIES:
            _phase(progress, "writing")  # no count moves while this segment is written
            writer.flush_early()  # overlaps this segment's flush with the shards'; no merge
        segments = []
        for sh in shard_procs:
            result, segment = sh.finish(waiting)
            results.append(result)
            if segment is not None:
                segments.append(segment)
        if progress and shard_procs:
            progress(len(todo), len(todo))

        counts = {"added": 0, "updated": 0, "deleted": 0, "renamed": 0,
                  "unchanged": untouched}
        failures: list[FileFailure] = []
        new_shas: dict[str, str] = {}
        for r in results:
            failures += r.failures
            notes += r.notes
            for k, v in r.counts.items():
                counts[k] += v
            new_shas.update(r.new_shas)
            gone += [rel for rel in r.vanished if rel not in gone]
            if writer.story_paths is not None:
                writer.story_paths.update(r.vanished)
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
        changed = full or records_new_folder or any(r.restamped for r in results) or any(
            counts[k] for k in ("added", "updated", "deleted", "renamed"))
        if changed:
            _phase(progress, "committing")
            writer.commit(mergetype=CLEAR if full else merge_policy, extra_segments=segments)
        else:
            writer.cancel()
    except BaseException:
        for sh in shard_procs:
            sh.kill()
        if shard_procs and not writer.is_closed:  # their temporary folders (the lock is ours)
            remove_files(writer.storage.folder, [n for n in writer.storage.list()
                                                 if n.startswith(f"{TEMP_STORAGE}.")])
        if not writer.is_closed:
            cancel(writer)
        raise
    return failures, counts, full, changed, notes


def _old_manifest(writer: Any, full: bool) -> dict[str, str] | None:
    """The manifest of the commit the writer started from. A rebuild needs it only to
    count and to keep failed files' last good versions: when the commit cannot be read
    (damage the cheap check cannot see), it gets None and goes on without it."""
    try:
        with writer.reader() as reader:
            return safe_manifest(reader)
    except Exception as exc:
        if not full:
            raise
        close_files_of(exc)  # what the reader left open when the damage stopped it
        return None


def check_folder(recorded: str | None, folder: str | os.PathLike[str],
                 index_dir: str | os.PathLike[str]) -> None:
    """Refuse to index ``folder`` into an index that holds another folder
    (``recorded``, :func:`schema.folder_of` its schema): it would silently replace
    every entry. ``update(rebuild=True)`` switches on purpose."""
    if recorded is None or recorded == os.path.abspath(folder):
        return
    if os.path.realpath(recorded) == os.path.realpath(folder):
        return  # the same folder reached through a symbolic link
    raise FolderMismatchError(str(index_dir), recorded, os.path.abspath(folder))


def _phase(progress: Progress | None, name: str) -> None:
    """Tell a progress display that has a ``phase`` method what the run does now that
    file counts stop moving: ``writing`` a segment, ``committing``. A plain callable
    gets the counts only."""
    phase = getattr(progress, "phase", None)
    if callable(phase):
        phase(name)


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
    (``action="busy"``), as it is when the index folder cannot be written
    (``action="read-only"``); a missing index waits up to ``build_timeout`` for the lock.
    """
    folder_s = str(folder)
    guard.check_apart(folder_s, index_dir)
    exists = index_exists(index_dir)
    if not os.path.isdir(folder_s):
        if exists:
            return Freshness("no-folder", folder_s)
        raise IndexMissingError(
            str(index_dir),
            f"run `searchkit index FOLDER` (there is no clippings folder at {folder_s})",
        )
    if not exists:
        built = update(folder_s, index_dir, lock_timeout=build_timeout, progress=progress)
        return Freshness("built", folder_s, built, new_failures=built.failed)
    before = load_failed(index_dir, folder_s)
    if quick_check_files is not None and folder_unchanged(folder_s, index_dir,
                                                         quick_check_files):
        return Freshness("fresh", folder_s)
    diff = None
    try:
        diff, record = _diff(folder_s, index_dir, same_folder=True)
        if diff.is_empty:
            if record is not None:
                save_folder_state(index_dir, *record)
            if diff.failed or before:  # nothing to write; what failed is known, or new
                after = {f.path: before[f.path] for f in diff.failing}
                after.update((f.path, ("", f.message)) for f in diff.failed)
                if after != before:  # what the next refresh compares with
                    write_record(index_dir, folder_s, after)
                return Freshness("fresh", folder_s, IndexReport(
                    folder=folder_s, index_dir=str(index_dir), unchanged=diff.unchanged,
                    failed=diff.failed), new_failures(diff.failed, before, after))
            return Freshness("fresh", folder_s)
    except IndexCorruptError:
        pass  # update() rebuilds an unreadable index
    try:
        report = update(folder_s, index_dir, lock_timeout=0.0, progress=progress)
    except (IndexBusyError, IndexReadOnlyError) as exc:  # answer from the snapshot
        action = "busy" if isinstance(exc, IndexBusyError) else "read-only"
        if diff is not None and diff.failed:  # still said: what could not be listed
            return Freshness(action, folder_s, IndexReport(
                folder=folder_s, index_dir=str(index_dir), failed=diff.failed),
                new_failures(diff.failed, before, before))
        return Freshness(action, folder_s)
    return Freshness("updated", folder_s, report,
                     new_failures(report.failed, before, load_failed(index_dir, folder_s)))
