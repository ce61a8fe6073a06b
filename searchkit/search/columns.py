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


UNDATED = (1 << 63) - 1  # :func:`published` of an entry without a date (after all)


def published(reader: Any) -> Sequence[int]:
    """The ``published`` epoch seconds of every document of a segment, UNDATED for none:
    the sortable column read at once (timelines count every match without reading
    stored fields)."""
    count = reader.doc_count_all()
    if not count:
        return []
    key = _segment_key(reader, "published")
    if key is None:  # not a plain segment: Whoosh's reader (a missing date reads as the
        # field's largest value, which is UNDATED)
        col = reader.column_reader("published", translate=True)
        return [col[i] for i in range(count)]
    return _cached(key, lambda: _dates(reader))


def _dates(reader: Any) -> Sequence[int]:
    """The column holds Whoosh's sortable form (value + 2**63, unsigned); documents
    without a value hold the field's default, the largest value."""
    count = reader.doc_count_all()
    if not reader._perdoc.has_column("published"):  # no dated entry in this segment
        return [UNDATED] * count
    missing = reader.schema["published"].default_column().default_value()
    shift = 1 << 63
    out = [UNDATED if v == missing else v - shift
           for v in segments.uint64_column(reader, "published")]
    # Documents after the last one with a date are not in the column at all.
    return out + [UNDATED] * (count - len(out))
