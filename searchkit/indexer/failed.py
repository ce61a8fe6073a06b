"""The files that failed to load in the last run that wrote the index, each with the
stat it had then (size, mtime_ns, ctime_ns) and the message it was reported with.

Two things follow from it:

* ``search`` reports a broken clipping once: a refresh finds it, says so, and later
  refreshes stay quiet about it (and do not retry it) until the file changes. A failure
  is *new* when no earlier run reported the same message for the file as it is now.
* ``searchkit status`` lists such a file as failed, not as added or modified.

Like the quick check's record (:mod:`.freshness`) this is a hint kept beside the index,
written by ``update`` only; when it is missing or unreadable every failing file is
simply retried and reported again. ``searchkit index`` always re-reads and reports
every file that fails.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace

from ..results import FileFailure, FolderDiff
from . import guard
from .guard import FAILED_FILE

FAILED_VERSION = 1

# path -> (stat text "size:mtime_ns:ctime_ns:", or "" for a folder the scan could not list;
#          the message reported)
Record = dict[str, tuple[str, str]]


def _stat_text(st: os.stat_result) -> str:
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:"


def save_failed(index_dir: str | os.PathLike[str], folder: str | os.PathLike[str],
                files: Mapping[str, os.stat_result], failures: Sequence[FileFailure]) -> None:
    """Record ``failures``, every failure of a run that just wrote the index."""
    write_record(index_dir, folder, {
        f.path: (_stat_text(files[f.path]) if f.path in files else "", f.message)
        for f in failures})


def write_record(index_dir: str | os.PathLike[str], folder: str | os.PathLike[str],
                 record: Record) -> None:
    path = os.path.join(index_dir, FAILED_FILE)
    try:
        if not record:
            if os.path.exists(path):
                os.unlink(path)
            return
        state = {"version": FAILED_VERSION, "folder": os.path.abspath(folder),
                 "failed": {rel: list(entry) for rel, entry in sorted(record.items())}}
        guard.write_atomically(path, json.dumps(state, ensure_ascii=False,
                                                separators=(",", ":")).encode("utf-8"))
    except OSError:
        pass  # without the record, failing files are retried and reported again


def load_failed(index_dir: str | os.PathLike[str], folder: str | os.PathLike[str]) -> Record:
    """The failures the last run recorded for ``folder`` (empty when unknown)."""
    try:
        with open(os.path.join(index_dir, FAILED_FILE), "rb") as fh:
            state = json.loads(fh.read())
        if not (isinstance(state, dict) and state.get("version") == FAILED_VERSION
                and state.get("folder") == os.path.abspath(folder)
                and isinstance(state.get("failed"), dict)):
            return {}
        return {str(rel): (str(stat), str(message))
                for rel, (stat, message) in state["failed"].items()}
    except (OSError, ValueError, TypeError):
        return {}


def set_aside(diff: FolderDiff, files: Mapping[str, os.stat_result], record: Record
              ) -> FolderDiff:
    """``diff`` with the files that failed last time and have not changed since moved
    from ``added``/``modified`` to ``failing``: indexing them again would fail again."""
    if not record:
        return diff
    failing = [rel for rel in (*diff.added, *diff.modified)
               if rel in record and record[rel][0] == _stat_text(files[rel])]
    if not failing:
        return diff
    aside = set(failing)
    return replace(diff, added=tuple(p for p in diff.added if p not in aside),
                   modified=tuple(p for p in diff.modified if p not in aside),
                   failing=tuple(FileFailure(rel, record[rel][1]) for rel in sorted(aside)))


def new_failures(failures: Sequence[FileFailure], before: Record, after: Record
                 ) -> tuple[FileFailure, ...]:
    """The failures no earlier run reported: not in ``before``, or there with another
    message, or with another stat than the run that found them recorded (``after``)."""
    return tuple(f for f in failures
                 if f.path not in before or before[f.path][1] != f.message
                 or before[f.path][0] != after.get(f.path, ("", ""))[0])
