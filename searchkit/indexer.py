"""Scan a folder, diff it against the manifest inside the index, write, commit.

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

import gc
import os
import re
import stat
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage
from whoosh.index import LockError
from whoosh.writing import CLEAR

from . import schema
from .errors import ClippingError, ConfigError, IndexBusyError, IndexCorruptError
from .results import FileFailure, FolderDiff, Freshness, IndexReport

if TYPE_CHECKING:  # the loader (YAML, ftfy) is imported only when a file is read
    from . import documents

SUFFIXES = (".md", ".txt", ".markdown")
PARALLEL_THRESHOLD = 400  # files to parse before a second process pays for itself
Progress = Callable[[int, int], None]


# ---------------------------------------------------------------- folder scanning


def scan(folder: str | os.PathLike[str]) -> dict[str, os.stat_result]:
    """Every clipping file under ``folder``: relative path -> stat result.

    Follows symbolic links that stay inside the folder, never leaves it, visits each
    directory and each file (by device and inode) once, skips hidden entries and
    anything that is not a regular file (FIFOs, devices, directories named ``x.md``,
    dangling links, link loops), without ever opening it. A name with control
    characters or bytes that are not UTF-8 is listed in its
    :func:`~searchkit.documents.printable_path` form, which loading then reports.
    """
    root = Path(folder)
    try:
        real_root = root.resolve(strict=True)
    except (OSError, RuntimeError):
        raise ConfigError(f"clippings folder {folder} does not exist") from None
    if not real_root.is_dir():
        raise ConfigError(f"{folder} is not a folder")
    found: dict[str, os.stat_result] = {}
    seen_files: set[tuple[int, int]] = set()
    seen_dirs: set[tuple[int, int]] = set()
    root_prefix = str(real_root) + os.sep
    stack: list[tuple[str, str]] = [(str(real_root), "")]
    while stack:
        real_dir, rel_dir = stack.pop()
        try:
            dst = os.stat(real_dir)
            if (dst.st_dev, dst.st_ino) in seen_dirs:
                continue
            seen_dirs.add((dst.st_dev, dst.st_ino))
            with os.scandir(real_dir) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            if not name.isprintable():  # control characters, undecodable bytes
                from .documents import printable_path

                name = printable_path(name)
            rel = f"{rel_dir}{name}"
            try:
                is_link = entry.is_symlink()
                st = entry.stat(follow_symlinks=True)
            except OSError:
                continue  # dangling link, vanished file
            if is_link:
                target = os.path.realpath(entry.path)
                if target != str(real_root) and not target.startswith(root_prefix):
                    continue  # never leave the folder
            else:
                target = entry.path
            if stat.S_ISDIR(st.st_mode):
                stack.append((target, rel + "/"))
            elif stat.S_ISREG(st.st_mode) and name.lower().endswith(SUFFIXES):
                ident = (st.st_dev, st.st_ino)
                if ident in seen_files:
                    continue
                seen_files.add(ident)
                found[rel] = st
    return found


def stamp_text(stamp: documents.FileStamp) -> str:
    return f"{stamp.size}:{stamp.mtime_ns}:{stamp.ctime_ns}:{stamp.sha1}"


def _stat_matches(text: str, st: os.stat_result) -> bool:
    return text.startswith(f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:")


def _sha_of(text: str) -> str:
    return text.rsplit(":", 1)[-1]


# ---------------------------------------------------------------- index access


_TOC = re.compile(r"^_MAIN_\d+\.toc$")


def index_exists(index_dir: str | os.PathLike[str]) -> bool:
    """True when ``index_dir`` holds a committed table of contents (readable or not)."""
    try:
        return any(_TOC.match(name) for name in os.listdir(index_dir))
    except OSError:
        return False


def open_index(index_dir: str | os.PathLike[str]) -> Any:
    """Open the index for reading; raise IndexCorruptError if it cannot be read."""
    problem = ""
    with warnings.catch_warnings():
        # Whoosh leaks the TOC file handle when the TOC cannot be parsed; the
        # ResourceWarning it causes says nothing the error below does not.
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            return whoosh_index.open_dir(str(index_dir))
        except whoosh_index.EmptyIndexError:
            from .errors import IndexMissingError

            raise IndexMissingError(str(index_dir), "run `searchkit index FOLDER`") from None
        except Exception as exc:  # unpickling or format errors from an unreadable TOC
            problem = f"{type(exc).__name__}: {exc}"
        gc.collect()
    raise IndexCorruptError(str(index_dir), problem)


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


def diff_folder(files: dict[str, os.stat_result], manifest: dict[str, str]) -> FolderDiff:
    added, modified = [], []
    unchanged = 0
    for rel, st in files.items():
        old = manifest.get(rel)
        if old is None:
            added.append(rel)
        elif _stat_matches(old, st):
            unchanged += 1
        else:
            modified.append(rel)
    deleted = sorted(set(manifest) - set(files))
    return FolderDiff(tuple(added), tuple(modified), tuple(deleted), unchanged)


def check(folder: str | os.PathLike[str], index_dir: str | os.PathLike[str]) -> FolderDiff:
    """Compare the folder with the last commit, without writing anything."""
    files = scan(folder)
    if not index_exists(index_dir):
        return FolderDiff(added=tuple(files))
    ix = open_index(index_dir)
    if schema.version_of(ix.schema) != schema.SCHEMA_VERSION:
        return FolderDiff(modified=tuple(files))  # the next update rebuilds
    with ix.reader() as reader:
        manifest = read_manifest(reader)
    return diff_folder(files, manifest)


# ---------------------------------------------------------------- documents


def _epoch(value: Any) -> int | None:
    return None if value is None else int(value.timestamp())


def _dated(doc: dict[str, Any], published: Any) -> None:
    seconds = _epoch(published)
    if seconds is not None:
        doc["published"] = seconds
        doc["day"] = seconds // 86_400
        doc["year"] = published.year


def _topics(doc: dict[str, Any], topics: Sequence[str]) -> None:
    if topics:
        doc["topics"] = "\n".join(topics)
        labels = [t.replace(",", " ") for t in topics]
        doc["topic"] = ",".join(t.lower() for t in labels)
        doc["topic_label"] = ",".join(labels)


def _provider(doc: dict[str, Any], provider: documents.Provider | None) -> None:
    if provider:
        doc["provider"] = provider.name
        doc["domain"] = provider.domain
        doc["provider_name"] = provider.name or provider.domain


def entries_for(clip: documents.Clipping, stamp: str) -> list[dict[str, Any]]:
    """The index entries of one clipping: itself first, then its related articles."""
    key = clip.id
    main: dict[str, Any] = {
        "key": key,
        "kind": schema.KIND_CLIPPING,
        "path": clip.id,
        "parent": "",
        "title": clip.title,
        "excerpt": clip.excerpt,
        "related": "\n".join(r.title for r in clip.related),
        "type": clip.type,
        "url": clip.url,
        "canonical": clip.canonical_url or f"entry:{key}",
        "topic_list": list(clip.topics),
        "stamp": stamp,
    }
    main["spell"] = f"{clip.title}\n{clip.excerpt}"
    if clip.source_id:
        main["source_id"] = clip.source_id
    _topics(main, clip.topics)
    _provider(main, clip.provider)
    if clip.quality is not None:
        main["quality"] = clip.quality
    _dated(main, clip.published)
    out = [main]
    for i, rel in enumerate(clip.related, start=1):
        rkey = f"{key}#{i}"
        doc: dict[str, Any] = {
            "key": rkey,
            "kind": schema.KIND_RELATED,
            "path": clip.id,
            "parent": key,
            "title": rel.title,
            "excerpt": rel.excerpt,
            "spell": f"{rel.title}\n{rel.excerpt}",
            "type": rel.type,
            "url": rel.url,
            "canonical": rel.canonical_url or f"entry:{rkey}",
            "topic_list": [],
            "stamp": "",
        }
        _provider(doc, rel.provider)
        if rel.quality is not None:
            doc["quality"] = rel.quality
        _dated(doc, rel.published)
        out.append(doc)
    return out


def _load_one(task: tuple[str, str]) -> tuple[str, list[dict[str, Any]] | str, str]:
    """(folder, rel) -> (rel, entries or error message, sha1). Runs in worker processes.

    An empty entry list means the file vanished between the scan and the read: it is
    to be treated as deleted. Never raises for one bad file: an unexpected exception
    becomes that file's error message, so every other file is still indexed.
    """
    folder, rel = task
    from . import documents

    path = os.path.join(folder, rel)
    try:
        if documents.is_escaped_path(rel) and not os.path.lexists(path):
            raise ClippingError(rel, None, "file name has control characters or bytes that "
                                "are not UTF-8 (shown as \\xNN); rename the file")
        root, real = os.path.realpath(folder), os.path.realpath(path)
        if not real.startswith(root.rstrip(os.sep) + os.sep):  # a link changed since scan
            raise ClippingError(rel, None, "now a link to outside the folder; skipped")
        data, st = documents.read_file(path, rel)
        stamp = documents.stamp_of(data, st)
        clip = documents.parse_bytes(data, rel)
        return rel, entries_for(clip, stamp_text(stamp)), stamp.sha1
    except documents.FileVanishedError:
        return rel, [], ""
    except ClippingError as exc:
        return rel, str(exc), ""
    except Exception as exc:  # a loader bug must not cost the other files
        return rel, (f"{rel}: internal error while loading ({type(exc).__name__}: {exc}); "
                     "please report it"), ""


def _load_many(folder: str, rels: Sequence[str], progress: Progress | None,
               workers: int) -> Iterator[tuple[str, list[dict[str, Any]] | str, str]]:
    tasks = [(folder, rel) for rel in rels]
    total = len(tasks)
    if workers > 1 and total >= PARALLEL_THRESHOLD:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            for done, result in enumerate(pool.map(_load_one, tasks, chunksize=64), 1):
                if progress:
                    progress(done, total)
                yield result
        return
    for done, task in enumerate(tasks, 1):
        if progress:
            progress(done, total)
        yield _load_one(task)


# ---------------------------------------------------------------- writing


def _ensure_index(index_dir: Path, lock_timeout: float) -> tuple[Any, str]:
    """Open the index, creating it in an empty folder. Returns (index, rebuild reason)."""
    try:
        index_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create index folder {index_dir}: {exc.strerror}") from None
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
    lock = storage.lock("MAIN_WRITELOCK")
    if not _acquire(lock, lock_timeout):
        raise IndexBusyError(str(index_dir), lock_timeout)
    try:
        if not index_exists(index_dir):  # still empty now that we hold the lock
            whoosh_index.create_in(str(index_dir), schema.build_schema())
    finally:
        lock.release()
    return whoosh_index.open_dir(str(index_dir)), ""


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
        return ix.writer(timeout=lock_timeout, delay=0.05, compound=False)
    except LockError:
        raise IndexBusyError(str(index_dir), lock_timeout) from None


def update(
    folder: str | os.PathLike[str],
    index_dir: str | os.PathLike[str],
    *,
    rebuild: bool = False,
    lock_timeout: float = 10.0,
    progress: Progress | None = None,
    workers: int | None = None,
) -> IndexReport:
    """Bring the index at ``index_dir`` in line with ``folder``; one commit at most."""
    started = time.monotonic()
    folder_s, index_path = str(folder), Path(index_dir)
    files = scan(folder_s)
    ix, reason = _ensure_index(index_path, lock_timeout)
    if ix is None:  # unreadable: start over in the same folder, under the lock
        storage = FileStorage(str(index_path))
        ix = _recreate(storage, index_path, lock_timeout)
    if workers is None:
        workers = min(2, os.cpu_count() or 1)
    if not (rebuild or reason) and schema.folder_of(ix.schema) == os.path.abspath(folder_s):
        with ix.reader() as reader:
            quick = diff_folder(files, _safe_manifest(reader))
        if quick.is_empty:  # nothing to do: no writer, no lock, no files written
            return IndexReport(folder=folder_s, index_dir=str(index_path),
                               unchanged=quick.unchanged,
                               seconds=time.monotonic() - started)
    writer = _writer(ix, index_path, lock_timeout)
    full = bool(rebuild or reason)
    try:
        with writer.reader() as reader:
            manifest = _safe_manifest(reader)
            kept = _stored_entries(reader) if full else {}
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
        counts = {"added": 0, "updated": 0, "deleted": 0, "renamed": 0, "unchanged": untouched}
        failures: list[FileFailure] = []
        new_shas: dict[str, str] = {}
        for rel, result, sha in _load_many(folder_s, todo, progress, workers):
            if not result:  # vanished between the scan and the read: it is deleted
                if rel in manifest and rel not in gone:
                    gone.append(rel)
                continue
            if isinstance(result, str):
                failures.append(FileFailure(rel, result))
                if full:  # carry its last good version into the new commit
                    for doc in kept.get(rel, ()):
                        writer.add_document(**doc)
                continue
            old = manifest.get(rel)
            if old is None:
                outcome = "added"
                new_shas[sha] = rel
            elif _sha_of(old) == sha:
                outcome = "unchanged"  # touched, same content
            else:
                outcome = "updated"
            counts[outcome] += 1
            if full or outcome != "unchanged":
                if not full and old is not None:
                    writer.delete_by_term("path", rel)
                for doc in result:
                    writer.add_document(**doc)
        for rel in gone:
            if not full:
                writer.delete_by_term("path", rel)
            if _sha_of(manifest[rel]) in new_shas:  # same content under a new name
                counts["renamed"] += 1
                counts["added"] -= 1
            else:
                counts["deleted"] += 1
        changed = full or full_schema_change or any(
            counts[k] for k in ("added", "updated", "deleted", "renamed"))
        if changed:
            writer.commit(mergetype=CLEAR if full else None)
        else:
            _cancel(writer)
    except BaseException:
        if not writer.is_closed:
            _cancel(writer)
        raise
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


def _cancel(writer: Any) -> None:
    """Cancel a writer and remove the files of the segment it had started."""
    prefix = f"{writer.newsegment.segment_id()}."
    writer.cancel()
    for name in list(writer.storage):
        if name.startswith(prefix):
            try:
                writer.storage.delete_file(name)
            except OSError:
                pass


def _recreate(storage: Any, index_path: Path, lock_timeout: float) -> Any:
    lock = storage.lock("MAIN_WRITELOCK")
    if not _acquire(lock, lock_timeout):
        raise IndexBusyError(str(index_path), lock_timeout)
    try:
        whoosh_index.create_in(str(index_path), schema.build_schema())
    finally:
        lock.release()
    return whoosh_index.open_dir(str(index_path))


def _safe_manifest(reader: Any) -> dict[str, str]:
    try:
        return read_manifest(reader)
    except Exception:  # an index of another schema version may lack the columns
        return {}


def _stored_entries(reader: Any) -> dict[str, list[dict[str, Any]]]:
    """Rebuildable entries per path, from stored fields: kept for files that fail."""
    if schema.version_of(reader.schema) != schema.SCHEMA_VERSION:
        return {}
    by_path: dict[str, list[dict[str, Any]]] = {}
    for fields in reader.all_stored_fields():
        by_path.setdefault(fields.get("path", ""), []).append(fields)
    out: dict[str, list[dict[str, Any]]] = {}
    for path, stored in by_path.items():
        stored.sort(key=lambda f: (f.get("kind") != schema.KIND_CLIPPING, f.get("key", "")))
        out[path] = [_doc_from_stored(f, stored) for f in stored]
    return out


def _doc_from_stored(f: dict[str, Any], siblings: Iterable[dict[str, Any]]) -> dict[str, Any]:
    doc = {k: v for k, v in f.items() if v is not None}
    doc["spell"] = f"{f.get('title', '')}\n{f.get('excerpt', '')}"
    _topics(doc, f.get("topic_list") or [])
    if f.get("provider") or f.get("domain"):
        doc["provider_name"] = f.get("provider") or f.get("domain")
    if f.get("kind") == schema.KIND_CLIPPING:
        doc["related"] = "\n".join(
            s.get("title", "") for s in siblings if s.get("kind") == schema.KIND_RELATED)
    if "published" in doc:
        doc["day"] = doc["published"] // 86_400
    return doc


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
) -> Freshness:
    """Make the index current before a search: build it if missing, update it if stale.

    Cheap when nothing changed (a folder scan and a manifest read). When another
    process holds the write lock, the current snapshot is answered from
    (``action="busy"``); a missing index waits up to ``build_timeout`` for the lock.
    """
    folder_s = str(folder)
    exists = index_exists(index_dir)
    if not os.path.isdir(folder_s):
        if exists:
            return Freshness("no-folder", folder_s)
        from .errors import IndexMissingError

        raise IndexMissingError(
            str(index_dir),
            f"run `searchkit index FOLDER` (there is no clippings folder at {folder_s})",
        )
    if not exists:
        return Freshness("built", folder_s,
                         update(folder_s, index_dir, lock_timeout=build_timeout,
                                progress=progress))
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
