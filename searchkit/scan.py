"""Scan a clippings folder and diff it against an index's manifest (no engine here).

A manifest maps each indexed file's relative path to its stamp,
``size:mtime_ns:ctime_ns:sha1`` (see :func:`stamp_text`); the engine stores it with
the entries it describes. Whoosh is never imported here.

What the scan could not see is never taken for deleted: a folder it cannot list
(permissions, a path longer than the system allows, an I/O error) is a failure, and
every entry the index holds under it is kept as it was (:func:`held_back`). A file
that leaves the index because of what it became (a link that now points outside the
folder, a FIFO, a folder) is said so (:func:`departures`).
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ConfigError
from .output import BIDI_CONTROLS
from .results import FileFailure, FolderDiff

if TYPE_CHECKING:
    from . import documents

SUFFIXES = (".md", ".txt", ".markdown")
GONE = (errno.ENOENT, errno.ENOTDIR)  # vanished since it was listed: deleted, not failed

OUTSIDE = "the link now points outside the folder"
DANGLING = "the link now points to nothing"
LOOP = "the link now loops"
NOT_A_FILE = "it is no longer a regular file"
A_FOLDER = "it is now a folder"

# Bidi controls (embeddings, overrides, isolates, marks): a name holding one displays
# as another name ("Trojan Source"), and output that strips them would print a
# different, possibly existing, file. Such a name is escaped like a control character.
_BIDI = re.compile(f"[{BIDI_CONTROLS}]")  # the ones output.safe strips


def escaped_name(name: str) -> str:
    r"""``name`` as the scan lists it: control characters and undecodable bytes as
    :func:`~searchkit.documents.printable_path` shows them, bidi controls as their
    UTF-8 bytes (``\xe2\x80\xae``); loading then refuses the file with a fix."""
    if name.isprintable():
        return name
    from .documents import printable_path

    return _BIDI.sub(lambda m: "".join(f"\\x{b:02x}" for b in m.group().encode()),
                     printable_path(name))


class Scan(dict[str, os.stat_result]):
    """The result of :func:`scan`: relative path -> stat result, and what else it saw.

    * ``dirs`` maps every directory listed (its real path) to its mtime in
      nanoseconds, taken before the directory was listed: the quick freshness check
      compares them later (adding, deleting or renaming a file changes its folder's
      mtime; rewriting a file in place does not).
    * ``failed``: the folders (and files) the scan could not list or stat, one
      message each (``sub: cannot list: Permission denied``).
    * ``unseen``: where those are, as relative paths -- a file's (``a.md``) or a
      folder's with a trailing slash (``sub/``; ``""`` is the whole folder). Index
      entries there are neither present nor deleted: they are kept.
    * ``skipped``: entries left out for a reason worth telling if the index held
      them -- relative path (``sub/`` for a folder) -> why (a link that now points
      outside the folder, a file that became a FIFO).
    """

    def __init__(self) -> None:
        super().__init__()
        self.dirs: dict[str, int] = {}
        self.failed: list[FileFailure] = []
        self.unseen: list[str] = []
        self.skipped: dict[str, str] = {}

    def fail(self, rel: str, shown: str, verb: str, exc: OSError, path: str) -> None:
        """Record that ``rel`` (shown as ``shown``) could not be listed or read."""
        if exc.errno == errno.ENAMETOOLONG:
            size = len(os.fsencode(path))
            why = (f"the path is too long ({size} bytes, more than the system allows); "
                   "move it to a shorter path")
        else:
            why = exc.strerror or str(exc)
        self.failed.append(FileFailure(shown or ".", f"{shown}: cannot {verb}: {why}"))
        self.unseen.append(rel)


def scan(folder: str | os.PathLike[str]) -> Scan:
    """Every clipping file under ``folder``: relative path -> stat result.

    Follows symbolic links that stay inside the folder, never leaves it, visits each
    directory and each file (by device and inode) once, skips hidden entries and
    anything that is not a regular file (FIFOs, devices, directories named ``x.md``,
    dangling links, link loops), without ever opening it. A name with control
    characters, bidi controls or bytes that are not UTF-8 is listed in its
    :func:`escaped_name` form, which loading then reports.
    A folder or file it cannot list or stat is recorded in ``failed`` (never
    silently left out); a folder reached by several names (a link to it) fails once,
    under its own relative path, and every name that reaches it is unseen. One stat
    per file, one listing and one stat per folder, and for a link the resolution of
    its target.
    """
    root = Path(folder)
    try:
        real_root = root.resolve(strict=True)
    except FileNotFoundError:
        raise ConfigError(f"clippings folder {folder} does not exist") from None
    except (OSError, RuntimeError) as exc:
        why = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(f"clippings folder {folder}: cannot open: {why}") from None
    if not real_root.is_dir():
        raise ConfigError(f"{folder} is not a folder")
    found = Scan()
    seen_files: dict[tuple[int, int], str] = {}
    seen_dirs: set[tuple[int, int]] = set()
    root_prefix = str(real_root) + os.sep
    failed_dirs: set[str] = set()

    def dir_failed(real_dir: str, rel_dir: str, exc: OSError) -> None:
        """``real_dir``, reached as ``rel_dir``, cannot be listed: one failure under
        its own relative path (not a link's), and both names unseen."""
        found.dirs.pop(real_dir, None)
        if real_dir not in failed_dirs:
            failed_dirs.add(real_dir)
            inner = os.path.relpath(real_dir, real_root)
            own = "" if inner == "." else "/".join(
                escaped_name(part) for part in inner.split(os.sep)) + "/"
            found.fail(own, own.rstrip("/") or str(folder), "list", exc, real_dir)
        if rel_dir not in found.unseen:
            found.unseen.append(rel_dir)

    stack: list[tuple[str, str]] = [(str(real_root), "")]
    while stack:
        real_dir, rel_dir = stack.pop()
        try:
            dst = os.stat(real_dir)
            if (dst.st_dev, dst.st_ino) in seen_dirs:
                if real_dir in failed_dirs and rel_dir not in found.unseen:
                    found.unseen.append(rel_dir)  # another name for a folder not listed
                continue
            seen_dirs.add((dst.st_dev, dst.st_ino))
            found.dirs[real_dir] = dst.st_mtime_ns
            with os.scandir(real_dir) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            if exc.errno not in GONE:  # a folder that vanished since it was listed is gone
                dir_failed(real_dir, rel_dir, exc)
            continue
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            name = escaped_name(name)  # control characters, bidi, undecodable bytes
            rel = f"{rel_dir}{name}"
            is_link = False
            try:
                is_link = entry.is_symlink()
                if is_link:
                    target = os.path.realpath(entry.path)
                    if target != str(real_root) and not target.startswith(root_prefix):
                        found.skipped[rel] = found.skipped[rel + "/"] = OUTSIDE
                        continue  # never leave the folder
                else:
                    target = entry.path
                st = entry.stat(follow_symlinks=True)
            except OSError as exc:
                if exc.errno in GONE:
                    if is_link:
                        found.skipped[rel] = DANGLING
                    continue  # vanished since listed: deleted
                if exc.errno == errno.ELOOP:
                    found.skipped[rel] = found.skipped[rel + "/"] = LOOP
                    continue
                if exc.errno == errno.EACCES and not is_link:
                    # the folder can be read but not searched (mode r without x)
                    dir_failed(real_dir, rel_dir, exc)
                    break
                try:
                    verb = "list" if entry.is_dir(follow_symlinks=False) else "read"
                except OSError:
                    verb = "read"
                found.fail(rel, rel, verb, exc, entry.path)
                found.unseen.append(rel + "/")  # a file or a folder: keep both
                continue
            if stat.S_ISDIR(st.st_mode):
                if name.lower().endswith(SUFFIXES):
                    found.skipped[rel] = A_FOLDER
                stack.append((target, rel + "/"))
            elif name.lower().endswith(SUFFIXES):
                if not stat.S_ISREG(st.st_mode):
                    found.skipped[rel] = NOT_A_FILE
                    continue
                ident = (st.st_dev, st.st_ino)
                first = seen_files.setdefault(ident, rel)
                if first != rel:
                    found.skipped[rel] = f"it is the same file as {first}"
                    continue
                found[rel] = st
    return found


def held_back(files: Mapping[str, os.stat_result], paths: Collection[str]) -> set[str]:
    """Those of ``paths`` (indexed, not found by the scan) under a place the scan could
    not list: they are kept, not deleted."""
    unseen = getattr(files, "unseen", None)
    if not unseen:
        return set()
    folders = tuple(u for u in unseen if u == "" or u.endswith("/"))
    exact = set(unseen)
    return {p for p in paths if p in exact or p.startswith(folders)}


def departures(files: Mapping[str, os.stat_result], deleted: Collection[str]) -> list[str]:
    """One note for each deleted path (or folder of them) the scan left out for a
    reason: ``notes/a.md: left the index: the link now points outside the folder``."""
    skipped: dict[str, str] = getattr(files, "skipped", None) or {}
    if not skipped:
        return []
    notes: list[str] = []
    under: dict[str, int] = {}
    for rel in sorted(deleted):
        if rel in skipped:
            notes.append(f"{rel}: left the index: {skipped[rel]}")
            continue
        parts = rel.split("/")[:-1]
        for i in range(1, len(parts) + 1):  # the outermost skipped folder holding it
            prefix = "/".join(parts[:i]) + "/"
            if prefix in skipped:
                under[prefix] = under.get(prefix, 0) + 1
                break
    for prefix, n in sorted(under.items()):
        clippings = "1 clipping" if n == 1 else f"{n} clippings"
        notes.append(f"{prefix} ({clippings}): left the index: {skipped[prefix]}")
    return notes


def stamp_text(stamp: documents.FileStamp) -> str:
    return f"{stamp.size}:{stamp.mtime_ns}:{stamp.ctime_ns}:{stamp.sha1}"


def stat_matches(text: str, st: os.stat_result) -> bool:
    return text.startswith(f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:")


def sha_of(text: str) -> str:
    return text.rsplit(":", 1)[-1]


def diff_folder(files: Mapping[str, os.stat_result], manifest: dict[str, str]) -> FolderDiff:
    """What indexing ``files`` would change; entries under a place the scan could not
    list count as unchanged, and ``notes`` say why an entry the scan skipped leaves."""
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
    gone = set(manifest).difference(files)
    kept = held_back(files, gone)
    deleted = sorted(gone - kept)
    return FolderDiff(tuple(added), tuple(modified), tuple(deleted), unchanged + len(kept),
                      notes=tuple(departures(files, deleted)),
                      failed=tuple(getattr(files, "failed", ())))
