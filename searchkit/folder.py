"""The Whoosh-free half of indexing: scan a folder, diff it against a manifest, and
turn files into index entries (in worker processes when there are many).

``indexer`` owns the index itself (schema, writer, commit); this module never
imports Whoosh, so another engine could reuse it unchanged.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ClippingError, ConfigError
from .results import KIND_CLIPPING, KIND_RELATED, FolderDiff

if TYPE_CHECKING:  # the loader (YAML, ftfy) is imported only when a file is read
    from . import documents

SUFFIXES = (".md", ".txt", ".markdown")
TITLE_WEIGHT = 2  # times the title is repeated in the combined ``text`` (see ``schema``)
PARALLEL_THRESHOLD = 400  # files to parse before a second process pays for itself
Progress = Callable[[int, int], None]


# ---------------------------------------------------------------- folder scanning


class Scan(dict[str, os.stat_result]):
    """The result of :func:`scan`: relative path -> stat result, plus ``dirs``.

    ``dirs`` maps every directory visited (its real path) to its mtime in
    nanoseconds, taken before the directory was listed: the quick freshness check
    compares them later (adding, deleting or renaming a file changes its folder's
    mtime; rewriting a file in place does not).
    """

    dirs: dict[str, int]


def scan(folder: str | os.PathLike[str]) -> Scan:
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
    found = Scan()
    found.dirs = {}
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
            found.dirs[real_dir] = dst.st_mtime_ns
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


def stat_matches(text: str, st: os.stat_result) -> bool:
    return text.startswith(f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:")


def sha_of(text: str) -> str:
    return text.rsplit(":", 1)[-1]


def diff_folder(files: dict[str, os.stat_result], manifest: dict[str, str]) -> FolderDiff:
    added, modified = [], []
    unchanged = 0
    for rel, st in files.items():
        old = manifest.get(rel)
        if old is None:
            added.append(rel)
        elif stat_matches(old, st):
            unchanged += 1
        else:
            modified.append(rel)
    deleted = sorted(set(manifest) - set(files))
    return FolderDiff(tuple(added), tuple(modified), tuple(deleted), unchanged)


# ---------------------------------------------------------------- documents


def _epoch(value: Any) -> int | None:
    return None if value is None else int(value.timestamp())


def _dated(doc: dict[str, Any], published: Any) -> None:
    seconds = _epoch(published)
    if seconds is not None:
        doc["published"] = seconds
        doc["day"] = seconds // 86_400
        doc["year"] = published.year


def add_topics(doc: dict[str, Any], topics: Sequence[str]) -> None:
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


def text_of(title: str, excerpt: str, provider: str, topics: Sequence[str]) -> str:
    """The combined default-search text of an entry (see ``schema``)."""
    return "\n".join([title] * TITLE_WEIGHT + [excerpt, provider, *topics])


def group_of(canonical: str) -> int:
    """A signed 64-bit hash of a canonical URL, never 0: one value per article."""
    digest = hashlib.blake2b(canonical.encode("utf-8", "surrogatepass"), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True) or 1


def finish_entry(doc: dict[str, Any]) -> dict[str, Any]:
    """Add the derived fields (combined text, spelling words, article group)."""
    title, excerpt = doc.get("title") or "", doc.get("excerpt") or ""
    doc["text"] = text_of(title, excerpt, doc.get("provider") or "",
                          doc.get("topic_list") or ())
    doc["spell"] = f"{title}\n{excerpt}"
    doc["group"] = group_of(doc["canonical"])
    return doc


def entries_for(clip: documents.Clipping, stamp: str) -> list[dict[str, Any]]:
    """The index entries of one clipping: itself first, then its related articles."""
    key = clip.id
    main: dict[str, Any] = {
        "key": key,
        "kind": KIND_CLIPPING,
        "path": clip.id,
        "parent": "",
        "title": clip.title,
        "excerpt": clip.excerpt,
        "type": clip.type,
        "url": clip.url,
        "canonical": clip.canonical_url or f"entry:{key}",
        "topic_list": list(clip.topics),
        "stamp": stamp,
    }
    if clip.source_id:
        main["source_id"] = clip.source_id
    add_topics(main, clip.topics)
    _provider(main, clip.provider)
    if clip.quality is not None:
        main["quality"] = clip.quality
    _dated(main, clip.published)
    out = [finish_entry(main)]
    for i, rel in enumerate(clip.related, start=1):
        rkey = f"{key}#{i}"
        doc: dict[str, Any] = {
            "key": rkey,
            "kind": KIND_RELATED,
            "path": clip.id,
            "parent": key,
            "title": rel.title,
            "excerpt": rel.excerpt,
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
        out.append(finish_entry(doc))
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


def load_many(folder: str, rels: Sequence[str], progress: Progress | None,
               workers: int, inherited_fds: Sequence[int] = ()
               ) -> Generator[tuple[str, list[dict[str, Any]] | str, str], None, None]:
    """Load ``rels`` in order, in worker processes for large batches.

    ``inherited_fds`` are descriptors the workers must close (the write lock: a
    forked worker holding a copy would keep the index locked after the parent died).
    Workers ignore SIGINT (the parent cancels), exit when the parent dies, and pending
    work is cancelled when the caller stops early.
    """
    tasks = [(folder, rel) for rel in rels]
    total = len(tasks)
    if workers > 1 and total >= PARALLEL_THRESHOLD:
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(max_workers=workers, initializer=init_worker,
                                   initargs=(os.getpid(), tuple(inherited_fds)))
        try:
            with sigint_blocked():  # the workers are forked here: none can die half-made
                results = pool.map(_load_one, tasks, chunksize=64)
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
        yield _load_one(task)


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
