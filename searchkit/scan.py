"""Scan a clippings folder and diff it against an index's manifest (no engine here).

A manifest maps each indexed file's relative path to its stamp,
``size:mtime_ns:ctime_ns:sha1`` (see :func:`stamp_text`); the engine stores it with
the entries it describes. Whoosh is never imported here.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ConfigError
from .results import FolderDiff

if TYPE_CHECKING:
    from . import documents

SUFFIXES = (".md", ".txt", ".markdown")


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
