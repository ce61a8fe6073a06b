"""What searchkit may read, write and delete in an index folder.

* **Trust** (:func:`check_trusted`): Whoosh's table of contents and the stored-fields
  column are pickles, so reading a file someone else could have written would run
  their code as the current user. The index folder, and every file and temporary
  folder in it, must belong to the current user and be writable by no one else;
  this is checked before anything in the folder is read.
* **Ownership** (:func:`claim`): an index folder is marked as searchkit's
  (:data:`MARKER`) when indexing first uses it. Only a new or empty folder, a marked
  one, or an index of an earlier release (nothing in it but names searchkit writes)
  is used; anything else is refused, so a mistyped ``--index`` cannot touch a
  folder of the user's files. An unmarked folder that is not empty is adopted
  only when its table of contents opens as a searchkit index.
* **Deletion** (:func:`deletable`, :func:`remove`): clean-up removes only names
  searchkit itself writes -- Whoosh's, matched strictly (segment ids are 16
  characters of ``[0-9a-z]``, extensions are the ones Whoosh's codec writes) -- and
  only in a marked folder. A folder is removed only when it is a writer's temporary
  storage holding nothing but the pool files Whoosh writes there.
* **Layout** (:func:`check_apart`): the clippings folder and the index folder may
  not be the same folder or nested in each other.

Files and temporary folders searchkit creates are never writable by group or
others, whatever the umask (:data:`FILE_MODE`, :data:`DIR_MODE`).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import stat
from collections.abc import Iterable

from .. import stories
from ..errors import (
    ConfigError,
    ForeignIndexFolderError,
    OverlappingFoldersError,
    SearchkitError,
    UnsafeIndexError,
)
from ..saved import SAVED_FILE  # saved searches and their checkpoints (searchkit.saved)
from . import schema

INDEX_NAME = "MAIN"  # Whoosh's default index name: _MAIN_N.toc, MAIN_<segment>.*
LOCK_NAME = f"{INDEX_NAME}_WRITELOCK"
STATE_FILE = "searchkit-folders.json"  # the quick check's record (see .freshness)
FAILED_FILE = "searchkit-failed.json"  # the files that failed in the last run (see .failed)
MARKER = "searchkit-index.json"
# When each article first entered the index (see .arrivals), and SQLite's rollback
# journal of it (a journal left by a crash is needed to roll back: never removed)
ARRIVALS_FILE = "searchkit-arrivals.sqlite"
ARRIVALS_JOURNAL = f"{ARRIVALS_FILE}-journal"
MARKER_FORMAT = "searchkit-index"
MARKER_VERSION = 1
TEMP_STORAGE = f"{INDEX_NAME}.tmp"  # a writer's temporary folder (shards: MAIN.tmp.<segment>)

FILE_MODE = 0o644  # the umask may narrow these, never widen them
DIR_MODE = 0o700

# whoosh.codec.base.Segment: f"{indexname}_{random_name(16)}", IDCHARS = [0-9a-z]
SEGMENT_ID = rf"{INDEX_NAME}_[0-9a-z]{{16}}"
# whoosh.codec.whoosh3 (.trm .pst .vps and .<field>.col columns) and the compound .seg
SEGMENT_FILE = re.compile(
    rf"^({SEGMENT_ID})\.(?:trm|pst|vps|seg|[A-Za-z_][A-Za-z0-9_]*\.col)$")
TOC = re.compile(rf"^_{INDEX_NAME}_(\d+)\.toc$")
TOC_TEMP = re.compile(rf"^_{INDEX_NAME}_\d+\.toc\.\d+(?:\.\d+)?$")  # TOC.write: f"{name}.{time()}"
TEMP_DIR = re.compile(rf"^{re.escape(TEMP_STORAGE)}(?:\.{SEGMENT_ID})?$")
# In a temporary folder: posting pool runs and column buffers, random_name(28)
TEMP_FILE = re.compile(r"^[0-9a-z]{28}\.(?:run|ctmp)$")
OWN_TEMP = re.compile(
    rf"^(?:{re.escape(STATE_FILE)}|{re.escape(FAILED_FILE)}|{re.escape(MARKER)}"
    rf"|{re.escape(SAVED_FILE)})\.\d+\.tmp$")
# A commit's story table (searchkit.stories), written before its TOC, and its temporary
STORY_TABLE = stories.TABLE  # searchkit-stories-<generation>.sqlite
STORY_TEMP = re.compile(r"^searchkit-stories-\d+\.sqlite\.\d+\.tmp$")


def is_own_file(name: str) -> bool:
    """A name searchkit (or Whoosh, for searchkit) writes as a file in an index folder."""
    return bool(name in (LOCK_NAME, STATE_FILE, FAILED_FILE, MARKER, ARRIVALS_FILE,
                         ARRIVALS_JOURNAL, SAVED_FILE) or TOC.match(name)
                or TOC_TEMP.match(name) or SEGMENT_FILE.match(name) or OWN_TEMP.match(name)
                or STORY_TABLE.match(name) or STORY_TEMP.match(name))


def deletable(name: str) -> bool:
    """A name clean-up may remove (when the folder is marked): never the lock, the
    marker or the quick-check record, never a name searchkit does not write."""
    return bool(TOC.match(name) or TOC_TEMP.match(name) or SEGMENT_FILE.match(name)
                or OWN_TEMP.match(name) or TEMP_DIR.match(name) or STORY_TABLE.match(name)
                or STORY_TEMP.match(name))


# ---------------------------------------------------------------- trust


def check_trusted(index_dir: str | os.PathLike[str]) -> None:
    """Refuse an index folder another user could have written into.

    The folder, each entry in it and each entry of its temporary folders must
    belong to the current user and be writable by neither group nor others.
    Only modes and owners are compared, so the check is the same for root. A folder
    that does not exist yet passes.
    """
    try:
        st = os.stat(index_dir)
    except OSError:
        return  # missing (or unreachable): the caller reports that in its own words
    if not stat.S_ISDIR(st.st_mode):
        return
    index_s = str(index_dir)
    problem = _untrusted(st)
    if problem:
        what = "the folder " + problem
        if problem.startswith("belongs"):
            raise UnsafeIndexError(index_s, what, "use an index folder of your own (--index)")
        raise UnsafeIndexError(
            index_s, what,
            f"run `chmod go-w {index_s}` if its contents are yours, or rebuild it elsewhere")
    bad: list[tuple[str, str]] = []
    for path, within, entry in _entries(index_s):
        # what Whoosh may open: the folder's own entries and its temporary folders'
        kind = _kind(entry, top=not within) if not within or TEMP_DIR.match(within) else ""
        if kind:  # checked first: reported alone, with its own fix
            raise UnsafeIndexError(
                index_s, f"{path} {kind}",
                "remove it (an index folder holds only regular files searchkit writes), "
                "or rebuild the index in a new folder (--index)")
        problem = _untrusted(entry)
        if problem:
            bad.append((path, problem))
    if not bad:
        return
    path, problem = bad[0]
    more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
    if problem.startswith("belongs"):
        fix = f"remove it, or rebuild the index in a new folder (--index){more}"
    elif more:
        fix = (f"run `chmod -R go-w {index_s}` if these files are yours, or rebuild the "
               f"index elsewhere")
    else:
        fix = f"run `chmod go-w {path}` if the file is yours, or rebuild the index elsewhere"
    raise UnsafeIndexError(index_s, f"{path} {problem}{more}", fix)


def _entries(folder: str) -> Iterable[tuple[str, str, os.stat_result]]:
    """Every entry of ``folder`` and of the folders in it (one level), lstat'ed (a
    symbolic link is reported as itself, never followed), as (path, name of the
    folder it is in -- "" for ``folder`` itself --, stat)."""
    for name in sorted(_listdir(folder)):
        path = os.path.join(folder, name)
        try:
            st = os.lstat(path)
        except OSError:
            continue  # gone meanwhile (a concurrent commit)
        yield path, "", st
        if stat.S_ISDIR(st.st_mode):
            for sub in sorted(_listdir(path)):
                with contextlib.suppress(OSError):
                    yield os.path.join(path, sub), name, os.lstat(os.path.join(path, sub))


def _kind(st: os.stat_result, *, top: bool) -> str:
    """Why an entry is not something an index folder holds: anything but a regular
    file, or a folder directly in the index folder (a writer's temporary folder).
    A link could lead a reader to a file anyone can write; a named pipe or device
    would hang or misdirect every reading command."""
    mode = st.st_mode
    if stat.S_ISREG(mode):
        return ""
    if stat.S_ISLNK(mode):
        return "is a symbolic link"
    if stat.S_ISDIR(mode):
        return "" if top else "is a folder inside a temporary folder"
    if stat.S_ISFIFO(mode):
        return "is a named pipe, not a regular file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a regular file"
    return "is a device, not a regular file"


def _untrusted(st: os.stat_result) -> str:
    euid = os.geteuid() if hasattr(os, "geteuid") else None
    if euid is not None and st.st_uid != euid:
        return f"belongs to another user (uid {st.st_uid}, you are uid {euid})"
    mode = stat.S_IMODE(st.st_mode)
    if mode & stat.S_IWOTH:
        return f"is writable by every user (mode {mode:04o})"
    if mode & stat.S_IWGRP:
        return f"is writable by its group (mode {mode:04o})"
    return ""


def _listdir(folder: str) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError:
        return []


# ---------------------------------------------------------------- ownership


def is_marked(index_dir: str | os.PathLike[str]) -> bool:
    """True when the folder carries searchkit's marker (a regular file)."""
    try:
        return stat.S_ISREG(os.lstat(os.path.join(index_dir, MARKER)).st_mode)
    except OSError:
        return False


def claim(index_dir: str | os.PathLike[str]) -> None:
    """Make sure searchkit may write and clean up in ``index_dir`` (an existing folder),
    marking it if it is empty or holds an index of an earlier release; raise
    ForeignIndexFolderError otherwise. Call after :func:`check_trusted`."""
    index_s = str(index_dir)
    marker = os.path.join(index_s, MARKER)
    if is_marked(index_s):
        try:
            with open(marker, "rb") as fh:
                data = json.loads(fh.read(4096))
            if isinstance(data, dict) and data.get("format") == MARKER_FORMAT:
                return
        except (OSError, ValueError):
            pass
        raise ForeignIndexFolderError(index_s, [MARKER], "its marker is not searchkit's")
    try:
        names = sorted(os.listdir(index_s))
    except OSError as exc:
        raise ConfigError(f"cannot list the index folder {index_s}: {exc.strerror}; "
                          f"run `chmod u+rwx {index_s}` or use another --index") from None
    foreign = [name for name in names if not _own_entry(index_s, name)]
    if foreign:
        raise ForeignIndexFolderError(index_s, foreign)
    if names and not _reads_as_ours(index_s):
        # Names alone prove nothing: a folder whose table of contents is not a
        # searchkit index's is refused before anything in it could be rebuilt over.
        raise ForeignIndexFolderError(
            index_s, names, "it is not marked and holds no table of contents readable "
                            "as a searchkit index")
    try:
        write_marker(index_s)
    except OSError:
        pass  # (a read-only folder) unmarked, nothing in it is removed; marked next time


def _reads_as_ours(folder: str) -> bool:
    """True when ``folder`` holds a table of contents that opens as a searchkit index
    (of this or an earlier schema version). Call only after :func:`check_trusted`."""
    from . import snapshot  # (snapshot imports this module)

    try:
        ix = snapshot.open_index(folder, checked=True)
    except SearchkitError:
        return False
    try:
        return schema.version_of(ix.schema) is not None
    finally:
        ix.close()


def _own_entry(folder: str, name: str) -> bool:
    path = os.path.join(folder, name)
    try:
        st = os.lstat(path)
    except OSError:
        return True  # gone meanwhile
    if stat.S_ISREG(st.st_mode):
        return is_own_file(name)
    if stat.S_ISDIR(st.st_mode) and TEMP_DIR.match(name):
        return _only_temp_files(path)
    return False


def _only_temp_files(path: str) -> bool:
    """A temporary folder holding nothing but regular files named as Whoosh's pool files."""
    try:
        names = os.listdir(path)
        return all(TEMP_FILE.match(n) and stat.S_ISREG(os.lstat(os.path.join(path, n)).st_mode)
                   for n in names)
    except OSError:
        return False


def write_marker(index_dir: str) -> None:
    """Write the marker atomically (temporary file, fsync, rename)."""
    body = json.dumps({"format": MARKER_FORMAT, "version": MARKER_VERSION}).encode() + b"\n"
    write_atomically(os.path.join(index_dir, MARKER), body, sync=True)


def write_atomically(path: str, body: bytes, *, sync: bool = False) -> None:
    """Replace ``path`` with ``body`` in one rename: readers see the old file or the new
    one. The temporary file (``<path>.<pid>.tmp``, :data:`OWN_TEMP`) is created with
    :data:`FILE_MODE`, synced first with ``sync``, and removed when anything fails."""
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0),
                     FILE_MODE)
        with open(fd, "wb") as fh:  # (closes fd)
            fh.write(body)
            if sync:
                fh.flush()
                os.fsync(fd)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


# ---------------------------------------------------------------- deletion


def remove(folder: str, names: Iterable[str]) -> None:
    """Remove ``names`` from ``folder``, but only those clean-up may remove
    (:func:`deletable`) and only when the folder is marked. A temporary folder goes
    only when it holds nothing but Whoosh's pool files; otherwise it is left alone.
    Best effort: whatever cannot be removed now is removed by a later commit."""
    if not is_marked(folder):
        return
    for name in names:
        if not deletable(name):
            continue
        path = os.path.join(folder, name)
        try:
            st = os.lstat(path)
            if TEMP_DIR.match(name):
                if stat.S_ISDIR(st.st_mode):
                    remove_temp_dir(path)
            elif stat.S_ISREG(st.st_mode):
                os.remove(path)
        except OSError:
            pass


def remove_temp_dir(path: str) -> None:
    """Remove a temporary folder if it holds only Whoosh's pool files; else leave it."""
    if not _only_temp_files(path):
        return
    for name in _listdir(path):
        with contextlib.suppress(OSError):
            os.remove(os.path.join(path, name))
    try:
        os.rmdir(path)
    except OSError as exc:
        if exc.errno not in (errno.ENOENT, errno.ENOTEMPTY, errno.EEXIST):
            raise


# ---------------------------------------------------------------- layout


def check_apart(folder: str | os.PathLike[str], index_dir: str | os.PathLike[str]) -> None:
    """Refuse a clippings folder and an index folder that are the same or nested."""
    clips, index = os.path.realpath(folder), os.path.realpath(index_dir)
    if clips == index:
        raise OverlappingFoldersError(str(folder), str(index_dir), "is")
    common = os.path.commonpath([clips, index])
    if common == clips:
        raise OverlappingFoldersError(str(folder), str(index_dir), "inside")
    if common == index:
        raise OverlappingFoldersError(str(folder), str(index_dir), "contains")
