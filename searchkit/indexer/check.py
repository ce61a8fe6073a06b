"""A cheap check of a commit: are the files its segments need all there, and whole?

Lucene's CheckIndex reads every posting of every segment; that costs as much as a
search of everything. This reads names, sizes and two 4-byte headers per segment,
so it runs whenever a reader is opened and once per ``searchkit index`` run:

* each segment of a commit records the size of every file it wrote
  (:func:`record_files`, called just before its table of contents is written; a
  segment's files never change after that: deletions live in the table of contents);
  a file that is missing or of another size is damage;
* segments written before sizes were recorded get the plausible minimum: the term
  file, postings file and stored column exist, and the term and postings files begin
  with the tags Whoosh writes (``HSH3``, ``W3Bl``).

Damage found while reading (bytes overwritten in place, an index older than the
recorded sizes) is recognised by :func:`reading`.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Concatenate, ParamSpec, TypeVar

from ..errors import IndexCorruptError, SearchkitError

P = ParamSpec("P")
T = TypeVar("T")
IndexDir = str | os.PathLike[str]

SIZES = "searchkit_files"  # the attribute of a Whoosh segment that records its file sizes

# What the W3 codec writes at the start of a term file and of a postings file.
_HEADERS = {".trm": b"HSH3", ".pst": b"W3Bl"}
_ALWAYS = (".trm", ".pst", "._stored.col")  # every segment has these


def record_files(segment: Any, folder: str) -> None:
    """Record the name and size of each file of ``segment`` in the segment itself
    (so in the table of contents that publishes it)."""
    prefix = f"{segment.segment_id()}."
    sizes = {}
    for name in os.listdir(folder):
        if name.startswith(prefix):
            sizes[name] = os.stat(os.path.join(folder, name)).st_size
    setattr(segment, SIZES, sizes)


def segment_problem(segment: Any, sizes: Mapping[str, int],
                    head: Callable[[str], bytes]) -> str | None:
    """What is wrong with one segment's files, or None. ``sizes`` holds the size of
    each file of the folder that is there; ``head(name)`` reads a file's first bytes."""
    recorded: Mapping[str, int] | None = getattr(segment, SIZES, None)
    segid = segment.segment_id()
    if recorded is None:
        expected: Iterable[str] = (f"{segid}{ext}" for ext in _ALWAYS)
    else:
        expected = sorted(recorded)
    for name in expected:
        size = sizes.get(name)
        if size is None:
            return f"{name} is missing"
        if recorded is not None and size != recorded[name]:
            return f"{name} has {size:,} bytes, {recorded[name]:,} were written"
        for ext, tag in _HEADERS.items():
            if name.endswith(ext) and (size or ext == ".trm"):
                found = head(name)
                if found != tag:
                    what = "is empty" if not size else f"starts with {found!r}"
                    return f"{name} {what}, not a Whoosh {ext} file"
    return None


def commit_problem(segments: Iterable[Any], sizes: Mapping[str, int],
                   head: Callable[[str], bytes]) -> str | None:
    """The first problem with any of ``segments``, or None."""
    for segment in segments:
        problem = segment_problem(segment, sizes, head)
        if problem:
            return problem
    return None


def folder_problem(folder: str, segments: Iterable[Any]) -> str | None:
    """:func:`commit_problem` for the files in ``folder`` as they are now."""
    segments = list(segments)
    prefixes = tuple(f"{seg.segment_id()}." for seg in segments)
    sizes: dict[str, int] = {}
    for name in os.listdir(folder):
        if not name.startswith(prefixes):  # only the segments' files are looked at
            continue
        with contextlib.suppress(OSError):
            sizes[name] = os.stat(os.path.join(folder, name)).st_size

    def head(name: str) -> bytes:
        try:
            with open(os.path.join(folder, name), "rb") as fh:
                return fh.read(4)
        except OSError as exc:
            return f"<{exc.strerror}>".encode()

    return commit_problem(segments, sizes, head)


def index_problem(ix: Any) -> str | None:
    """What is wrong with the newest commit of ``ix``, or None (it looks whole)."""
    try:
        toc = ix._read_toc()
    except SearchkitError:
        raise
    except Exception as exc:
        return _describe(exc)
    return folder_problem(ix.storage.folder, toc.segments)


def _describe(exc: BaseException) -> str:
    """A damage error in a few words: Whoosh's messages go on to guess at causes."""
    text = str(exc).split(". ", 1)[0].rstrip(".")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# Errors that only bytes which are not what was written cause while the index is read:
# a decompressor, unpickler or struct unpacker given garbage, a date from a column that
# holds another column's numbers, text decoded from random bytes.
_ALWAYS_DAMAGE: tuple[type[BaseException], ...] = (UnicodeError, EOFError, OverflowError)
# Errors that are damage when raised inside Whoosh's file readers (its codec, columns,
# file tables, structs), and may be bugs anywhere else.
_DAMAGE_IN_WHOOSH = (ValueError, IndexError, KeyError, TypeError)
_WHOOSH_READERS = ("whoosh.codec", "whoosh.columns", "whoosh.filedb", "whoosh.reading",
                   "whoosh.system", "whoosh.util.numlists", "whoosh.util.varints")


def _raised_in_whoosh(exc: BaseException) -> bool:
    """Whether the innermost Python frame of ``exc``'s traceback is one of Whoosh's
    file readers."""
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    module = str(tb.tb_frame.f_globals.get("__name__", ""))
    return module.startswith(_WHOOSH_READERS)


def damage_of(exc: BaseException) -> str | None:
    """The damage an exception from reading an index reports, if it is one that only
    damaged files cause: Whoosh's own corrupt-block and file-format errors, stored
    data that no longer decompresses, unpickles, unpacks or decodes, numbers that are
    no date, and lookups that fail inside Whoosh's file readers."""
    import pickle
    import struct
    import zlib

    from whoosh.filedb.filetables import FileFormatError
    from whoosh.reading import CorruptIndexError

    if isinstance(exc, CorruptIndexError):
        return _describe(exc).removeprefix(f"{type(exc).__name__}: ")
    if isinstance(exc, (FileFormatError, zlib.error, pickle.UnpicklingError, struct.error,
                        *_ALWAYS_DAMAGE)):
        return f"unreadable data ({_describe(exc)})"
    if isinstance(exc, _DAMAGE_IN_WHOOSH) and _raised_in_whoosh(exc):
        return f"unreadable data ({_describe(exc)})"
    return None


@contextlib.contextmanager
def reading(index_dir: str | os.PathLike[str]) -> Iterator[None]:
    """Turn an error that damaged index files cause while reading into
    :class:`IndexCorruptError`: Whoosh's own damage errors, and any other error when
    the check of the newest commit then finds damage. Other errors pass unchanged."""
    try:
        yield
    except SearchkitError:
        raise
    except Exception as exc:
        problem = damage_of(exc)
        if problem is None:
            from .snapshot import open_index

            try:
                problem = index_problem(open_index(index_dir))
            except IndexCorruptError as unreadable:  # its table of contents, now
                raise unreadable from exc
            except Exception:
                problem = None
        if problem is None:
            raise
        close_files_of(exc)
        raise IndexCorruptError(str(index_dir), problem) from exc


def close_files_of(exc: BaseException) -> None:
    """Close the files that the frames of ``exc``'s traceback opened and Whoosh left
    open when damage stopped it half way (a reader whose constructor failed)."""
    import io

    from whoosh.filedb.structfile import StructFile

    tb = exc.__traceback__
    while tb is not None:
        values = list(tb.tb_frame.f_locals.values())
        values += [v for obj in values for v in getattr(obj, "__dict__", {}).values()]
        for value in values:
            if isinstance(value, (io.IOBase, StructFile)):
                with contextlib.suppress(Exception):
                    value.close()
        tb = tb.tb_next


def reports_damage(fn: Callable[Concatenate[IndexDir, P], T]
                   ) -> Callable[Concatenate[IndexDir, P], T]:
    """Run ``fn(index_dir, ...)`` under :func:`reading`."""

    @functools.wraps(fn)
    def run(index_dir: IndexDir, /, *args: P.args, **kwargs: P.kwargs) -> T:
        with reading(index_dir):
            return fn(index_dir, *args, **kwargs)

    return run
