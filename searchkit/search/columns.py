"""Per-segment arrays the scorer and the collectors read: field lengths and article
groups, each read at once through :mod:`searchkit.indexer.segments` and kept.

Segment files never change once written, so their arrays can be kept for the life of
the process (a long-lived library user searches many times).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ..indexer import segments

T = TypeVar("T")

_CACHE: dict[tuple[str, str, str], Any] = {}  # (folder, segment, what) -> bytes / array
_MAX_CACHED = 64


def _segment_key(reader: Any, what: str) -> tuple[str, str, str] | None:
    try:
        return (str(reader._storage.folder), reader.segment().segment_id(), what)
    except AttributeError:  # not a plain segment on disk
        return None


def _cached(key: tuple[str, str, str], load: Callable[[], T]) -> T:
    if key not in _CACHE:
        if len(_CACHE) > _MAX_CACHED:
            _CACHE.clear()
        _CACHE[key] = load()
    return _CACHE[key]  # type: ignore[no-any-return]


def lengths(reader: Any, fieldname: str) -> bytes | None:
    """One byte per document: the field's length, as Whoosh encodes it; None when the
    reader is not a plain segment."""
    key = _segment_key(reader, f"len:{fieldname}")
    if key is None:
        return None
    return _cached(key, lambda: segments.length_bytes(reader._perdoc, fieldname) or b"")


def groups(reader: Any) -> Sequence[int]:
    """The article group (``schema`` ``group``) of every document of a segment."""
    if not reader.doc_count_all():
        return []
    key = _segment_key(reader, "group")
    if key is None:
        col = reader.column_reader("group", translate=False)
        return [col[i] for i in range(reader.doc_count_all())]
    return _cached(key, lambda: segments.int64_column(reader, "group"))
