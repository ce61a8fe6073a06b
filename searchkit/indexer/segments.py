"""The one place that reads Whoosh's raw segment bytes (field lengths, columns).

Whoosh reads a column through a file object per document. The writer
(postings' lengths) and the scorer (BM25 norms, collapsing by article group) read a
segment's whole column at once instead, as one byte string, with the functions here.
They depend on the layout of Whoosh 3's codec (``whoosh.codec.whoosh3``): a fixed-width
column is ``count * width`` bytes from its base position.
"""

from __future__ import annotations

import sys
from array import array
from typing import Any

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield


def length_bytes(perdoc: Any, fieldname: str) -> bytes | None:
    """A segment's length column of ``fieldname`` as bytes, one per document (Whoosh's
    one-byte length encoding), read at once; None if the field has no lengths.

    ``perdoc`` is a segment's per-document reader (``SegmentReader._perdoc``, or the
    writer's ``per_document_reader()``).
    """
    col = perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
    if col is None:
        return None
    return bytes(col._dbfile.get(col._basepos, col._count))


def column_bytes(reader: Any, fieldname: str, width: int) -> bytes:
    """The raw bytes of a segment's fixed-width column ``fieldname``: ``width`` bytes
    per document, in document order, as Whoosh stored them (big-endian numbers)."""
    col = reader.column_reader(fieldname, translate=False)
    return bytes(col._dbfile.get(col._basepos, col._count * width))


def int64_column(reader: Any, fieldname: str) -> array[int]:
    """A segment's 64-bit signed column (``NumericColumn("q")``, e.g. ``group``) as an
    array with one value per document, read at once."""
    out = array("q")
    out.frombytes(column_bytes(reader, fieldname, out.itemsize))
    if sys.byteorder == "little":
        out.byteswap()  # stored big-endian
    return out


def uint64_column(reader: Any, fieldname: str) -> array[int]:
    """A segment's 64-bit unsigned column (a sortable NUMERIC of 64 bits, e.g.
    ``published``, in Whoosh's sortable form) as an array, read at once."""
    out = array("Q")
    out.frombytes(column_bytes(reader, fieldname, out.itemsize))
    if sys.byteorder == "little":
        out.byteswap()  # stored big-endian
    return out
