"""Saved searches: a name for a query with its filters and sort, and for each the
checkpoint of ``searchkit new NAME`` (entries that arrived after it are new).

They live beside the index in ``searchkit-saved.json`` (written atomically: temporary
file, fsync, rename; mode 0644 like the index's other files). The file holds only
user intent and checkpoints, never entries: a rebuilt index keeps them, and arrival
times (``searchkit.indexer.arrivals``) survive the rebuild, so nothing becomes new.

A change re-reads the file right before it writes (one name's fields at a time), so
two commands working on different names do not undo each other unless they write in
the same instant; then the slower one wins, and the worst a lost checkpoint does is
show the same new entries once more.

Engine-neutral: no Whoosh here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from .errors import SavedSearchError
from .results import Filters
from .vocabulary import FILTERS

SAVED_FILE = "searchkit-saved.json"  # registered in searchkit.indexer.guard
FORMAT = "searchkit-saved"
VERSION = 1
FILE_MODE = 0o644
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_FILTER_KEYS = tuple(FILTERS)  # what a saved search keeps: never its checkpoint


@dataclass(frozen=True)
class SavedSearch:
    name: str
    query: str
    filters: Filters = field(default_factory=Filters)
    sort: str = "relevance"
    literal: bool = False
    created: dt.datetime | None = None
    # `new` shows the entries that arrived after this (None: never run -- all are new)
    checkpoint: dt.datetime | None = None
    last_run: dt.datetime | None = None  # when `new NAME` last moved the checkpoint
    last_new: int | None = None  # how many entries were new then


def check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise SavedSearchError(
            f"{name!r} cannot name a saved search: use 1-64 letters (a-z, A-Z), digits, "
            "'-', '_' or '.', starting with a letter or digit (e.g. ukraine-war)")
    return name


def _time(value: Any) -> dt.datetime | None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    return dt.datetime.fromtimestamp(value / 1000, tz=dt.timezone.utc)


def _millis(when: dt.datetime | None) -> int | None:
    return None if when is None else round(when.timestamp() * 1000)


def _to_json(s: SavedSearch) -> dict[str, Any]:
    filters = {k: v for k, v in asdict(s.filters).items() if k in _FILTER_KEYS}
    return {"query": s.query, "filters": {k: list(v) if isinstance(v, tuple) else v
                                          for k, v in filters.items()},
            "sort": s.sort, "literal": s.literal, "created_ms": _millis(s.created),
            "checkpoint_ms": _millis(s.checkpoint), "last_run_ms": _millis(s.last_run),
            "last_new": s.last_new}


def _from_json(name: str, data: Any, path: str) -> SavedSearch:
    try:
        raw: dict[str, Any] = data["filters"]
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v
                                  for k, v in raw.items() if k in _FILTER_KEYS}
        filters = Filters(**values)
        return SavedSearch(
            name=name, query=str(data["query"]), filters=filters,
            sort=str(data.get("sort", "relevance")), literal=bool(data.get("literal")),
            created=_time(data.get("created_ms")), checkpoint=_time(data.get("checkpoint_ms")),
            last_run=_time(data.get("last_run_ms")),
            last_new=data.get("last_new") if isinstance(data.get("last_new"), int) else None)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise SavedSearchError(
            f"{path}: saved search {name!r} cannot be read ({type(exc).__name__}: {exc}); "
            f"run `searchkit unsave {name}` and save it again") from None


class SavedStore:
    """The saved searches of one index folder."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = os.fspath(folder)
        self.path = os.path.join(self.folder, SAVED_FILE)

    def load(self) -> dict[str, SavedSearch]:
        """Every saved search by name (none when the file does not exist)."""
        try:
            with open(self.path, encoding="utf-8") as fh:
                data = json.load(fh)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise SavedSearchError(
                f"{self.path}: cannot read the saved searches ({exc}); fix or remove the "
                "file (it holds only saved searches)") from None
        if not (isinstance(data, dict) and data.get("format") == FORMAT
                and isinstance(data.get("searches"), dict)):
            raise SavedSearchError(f"{self.path}: not a searchkit saved-searches file; "
                                   "move it away")
        return {name: _from_json(name, value, self.path)
                for name, value in sorted(data["searches"].items())}

    def get(self, name: str) -> SavedSearch:
        found = self.load().get(name)
        if found is None:
            raise SavedSearchError(
                f"no saved search named {name!r}; `searchkit saved` lists them, "
                f"`searchkit save {name} QUERY` saves one")
        return found

    def add(self, search: SavedSearch, *, replace_existing: bool = False) -> SavedSearch:
        """Save ``search``; an existing name is an error unless ``replace_existing``
        (which keeps its checkpoint and last run)."""
        check_name(search.name)
        every = self.load()
        old = every.get(search.name)
        if old is not None and not replace_existing:
            raise SavedSearchError(
                f"a search named {search.name!r} is already saved; use --replace to change "
                f"it (its checkpoint is kept) or `searchkit unsave {search.name}`")
        if old is not None:
            search = replace(search, created=old.created, checkpoint=old.checkpoint,
                             last_run=old.last_run, last_new=old.last_new)
        every[search.name] = search
        self._write(every)
        return search

    def remove(self, name: str) -> SavedSearch:
        every = self.load()
        if name not in every:
            self.get(name)  # raises the error naming it
        gone = every.pop(name)
        self._write(every)
        return gone

    def ran(self, name: str, checkpoint: dt.datetime | None, when: dt.datetime,
            new: int) -> None:
        """Record a run of ``new NAME`` that printed ``new`` entries in full."""
        every = self.load()
        current = every.get(name)
        if current is None:  # unsaved meanwhile: nothing to record
            return
        every[name] = replace(current, checkpoint=checkpoint, last_run=when, last_new=new)
        self._write(every)

    def _write(self, every: dict[str, SavedSearch]) -> None:
        body = json.dumps({"format": FORMAT, "version": VERSION,
                           "searches": {n: _to_json(s) for n, s in sorted(every.items())}},
                          ensure_ascii=False, indent=1).encode("utf-8") + b"\n"
        tmp = f"{self.path}.{os.getpid()}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC
                         | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
            try:
                view = memoryview(body)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
        except OSError as exc:
            raise SavedSearchError(
                f"cannot write {self.path}: {exc.strerror or exc}; check the index "
                "folder's permissions and free space") from None
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
