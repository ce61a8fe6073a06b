"""Arrival times: when each article first entered the index, kept across rebuilds.

An entry's ``arrived`` field (epoch milliseconds) is the time its article, with this
content, first entered the index. It is looked up at write time in the arrival table
beside the index, ``searchkit-arrivals.sqlite``, keyed by

* the article: its canonical URL; "" for an entry without a URL (then the content
  alone is the key, so that renaming such a clipping keeps its arrival), and
* its content: a hash of the title and the excerpt -- an edit of either is a new
  arrival, an edit of anything else (topics, quality, the file's name) is not.

A key the table lacks gets the run's arrival stamp: issued under the write lock when
the writer opens, later than every stamp issued before (the wall clock, or the last
stamp plus one when the clock is behind). The commit adds the records of the entries
that got it to the table (one SQLite transaction, synced) *before* the table of
contents is renamed into place, and records the stamp in the commit itself (the
schema pickled into the TOC: :func:`mark_of`). So:

* a crash before the rename leaves records nobody uses yet; the entries they describe,
  when the next run writes them, keep that stamp -- still later than every committed
  one, so they are new to a reader of the next commit;
* a committed entry always has its record: a ``--rebuild`` finds every article's
  arrival and nothing becomes new;
* a lost or unreadable table makes the next rebuild's entries all new (it is started
  again empty); ordinary updates keep the arrivals already in the index.

Records are never removed: an article deleted and restored keeps its first arrival.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import time
from collections.abc import Iterable, Mapping
from typing import Any

from .guard import ARRIVALS_FILE

FIELD = "arrived"
_MARK = "searchkit_arrival"  # the schema attribute carrying a commit's stamp


def content_hash(title: str, excerpt: str) -> str:
    digest = hashlib.blake2b(f"{title}\x00{excerpt}".encode("utf-8", "surrogatepass"),
                             digest_size=12)
    return digest.hexdigest()


def key_of(fields: Mapping[str, Any]) -> tuple[str, str]:
    """(article, content) of an entry's fields."""
    canonical = str(fields.get("canonical") or "")
    article = "" if canonical.startswith("entry:") else canonical
    return article, content_hash(str(fields.get("title") or ""),
                                 str(fields.get("excerpt") or ""))


def mark_of(schema: Any) -> int:
    """The arrival stamp of the commit whose schema is ``schema`` (0: none)."""
    value = getattr(schema, _MARK, 0)
    return value if isinstance(value, int) else 0


def set_mark(schema: Any, stamp: int) -> None:
    setattr(schema, _MARK, stamp)


def _connect(path: str, file_mode: int) -> sqlite3.Connection:
    if not os.path.exists(path):  # created with searchkit's file mode, whatever the umask
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0),
                         file_mode))
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE IF NOT EXISTS arrivals (article TEXT NOT NULL, "
                 "content TEXT NOT NULL, arrived INTEGER NOT NULL, "
                 "PRIMARY KEY (article, content)) WITHOUT ROWID")
    conn.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER)")
    return conn


class Stamper:
    """The arrival table of one index folder, as one run's writer uses it: look up an
    entry's arrival (:meth:`arrival_of`), or give it this run's :attr:`stamp`."""

    def __init__(self, folder: str, stamp: int, file_mode: int) -> None:
        self.path = os.path.join(folder, ARRIVALS_FILE)
        self.stamp = stamp
        self.file_mode = file_mode
        self._conn: sqlite3.Connection | None = None
        self._pid = os.getpid()

    @classmethod
    def open(cls, folder: str, committed_mark: int, file_mode: int) -> Stamper:
        """Issue this run's stamp (call under the write lock)."""
        path = os.path.join(folder, ARRIVALS_FILE)
        last = 0
        try:
            conn = _connect(path, file_mode)
            try:
                row = conn.execute("SELECT value FROM meta WHERE name='issued'").fetchone()
                last = int(row[0]) if row else 0
            finally:
                conn.close()
        except sqlite3.DatabaseError:  # not a database any more: start it again
            with contextlib.suppress(OSError):
                os.remove(path)
        now = time.time_ns() // 1_000_000
        return cls(folder, max(now, last + 1, committed_mark + 1), file_mode)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None or self._pid != os.getpid():  # a forked shard: its own
            self._conn = _connect(self.path, self.file_mode)
            self._pid = os.getpid()
        return self._conn

    def arrival_of(self, fields: Mapping[str, Any]) -> int:
        try:
            row = self._connection().execute(
                "SELECT arrived FROM arrivals WHERE article=? AND content=?",
                key_of(fields)).fetchone()
        except sqlite3.DatabaseError:
            return self.stamp
        return int(row[0]) if row else self.stamp

    def record(self, entries: Iterable[Mapping[str, Any]]) -> None:
        """Add the records of ``entries`` (those that got this run's stamp) and the
        stamp itself, in one synced transaction."""
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany("INSERT OR IGNORE INTO arrivals VALUES (?, ?, ?)",
                             ((*key_of(f), self.stamp) for f in entries))
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('issued', ?)", (self.stamp,))
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        if self._conn is not None and self._pid == os.getpid():
            self._conn.close()
        self._conn = None


def stamped_entries(storage: Any, schema: Any, segments: list[Any], stamp: int
                    ) -> list[dict[str, Any]]:
    """The stored fields of the entries in ``segments`` whose arrival is ``stamp``."""
    from whoosh.reading import SegmentReader

    out: list[dict[str, Any]] = []
    for seg in segments:
        reader = SegmentReader(storage, schema, seg)
        try:
            if not reader.has_column(FIELD):
                continue
            column = reader.column_reader(FIELD)
            for docnum in reader.all_doc_ids():
                if column[docnum] == stamp:
                    out.append(reader.stored_fields(docnum))
        finally:
            reader.close()
    return out
