"""The quick freshness check: has anything under the clippings folder changed since
the newest commit was checked? One stat per folder instead of one per file.

Adding, deleting or renaming a file -- and the write-to-temporary-then-rename that
most editors and tools do to save -- changes the mtime of the folder holding it, so
comparing the folders' mtimes with those recorded in :data:`STATE_FILE` (beside the
index, when a scan found the folder and the newest commit in agreement) answers "did
anything change?". What it misses is a file rewritten in place (`echo >> file`):
`searchkit index` and `search --full-check` always stat every file, and folders under
DEFAULT_QUICK_CHECK_FILES always get the full check. The mtimes are only trusted when
they are older than RACY_NS at scan time: a change in the same clock tick as the scan
could otherwise leave the mtime as it was (the "racy git" problem).

The record is a hint, never data. Only ``update`` and ``refresh`` write it; checking
the index (``searchkit status``) never writes into the index folder.
"""

from __future__ import annotations

import json
import os
import time

from ..config import DEFAULT_QUICK_CHECK_FILES
from ..errors import SearchkitError
from ..scan import Scan
from . import guard, schema
from .guard import STATE_FILE
from .snapshot import newest_generation

__all__ = ["STATE_FILE", "folder_unchanged", "save_folder_state"]

STATE_VERSION = 1
RACY_NS = 2_000_000_000


def save_folder_state(index_dir: str | os.PathLike[str], generation: int | None,
                      folder: str | os.PathLike[str], files: dict[str, os.stat_result]) -> None:
    """Record the folders' mtimes as of the scan that matched commit ``generation``."""
    path = os.path.join(index_dir, STATE_FILE)
    dirs = files.dirs if isinstance(files, Scan) else None  # a test's stand-in: no record
    racy = time.time_ns() - RACY_NS
    if not guard.is_marked(index_dir):  # written and removed only in a folder of ours
        try:
            guard.claim(index_dir)  # an index of an earlier release is adopted here too
        except (SearchkitError, OSError):
            return
    try:
        if generation is None or not dirs or any(m >= racy for m in dirs.values()):
            if os.path.exists(path):
                os.unlink(path)  # an old record must not outlive the commit it describes
            return
        state = {"version": STATE_VERSION, "schema": schema.SCHEMA_VERSION,
                 "generation": generation, "folder": os.path.abspath(folder),
                 "files": len(files), "dirs": sorted(dirs.items())}
        guard.write_atomically(path, json.dumps(state, separators=(",", ":")).encode())
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
                and state.get("generation") == newest_generation(index_dir)):
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
