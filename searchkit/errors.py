"""One exception hierarchy. ``str(error)`` is the message a user sees."""

from __future__ import annotations

import errno
from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes, like grep's (documented in the README)."""

    HITS = 0
    NO_HITS = 1
    USAGE = 2  # usage error, invalid query, unknown id, bad configuration or input
    INDEX_BUSY = 3  # another process holds the write lock past the timeout
    SOME_FILES_FAILED = 4  # indexing finished, but some clippings were skipped
    INTERNAL_ERROR = 70  # a bug in searchkit (EX_SOFTWARE in sysexits.h)
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
    TERMINATED = 143  # SIGTERM (128 + 15): `kill`, systemd, docker stop; see Terminated


class Terminated(BaseException):
    """SIGTERM arrived: raised by the handler a long-running command installs (``watch``)
    so that a writer cancels as it does on Ctrl-C, and the boundary exits 143.

    Like KeyboardInterrupt it is a BaseException, not an error: no ``except Exception``
    on the way up may swallow it, and the index keeps its last commit.
    """


class SearchkitError(Exception):
    """Base class of every error searchkit raises on purpose."""

    exit_code: ExitCode = ExitCode.USAGE


class ConfigError(SearchkitError):
    """A path or option that cannot work (missing folder, unusable index dir)."""


class ClippingError(SearchkitError):
    """One clipping file that cannot be loaded: names the file, the field and the problem."""

    def __init__(self, path: str, field: str | None, problem: str) -> None:
        self.path = path
        self.field = field
        self.problem = problem
        where = f"{path}: {field}" if field else path
        super().__init__(f"{where}: {problem}")


class FileVanishedError(ClippingError):
    """The file was listed but is gone when it is read: the indexer treats it as deleted."""


class IndexMissingError(SearchkitError):
    """No index where one was expected."""

    def __init__(self, index_dir: str, hint: str = "") -> None:
        self.index_dir = index_dir
        msg = f"no index at {index_dir}"
        if hint:
            msg += f" — {hint}"
        super().__init__(msg)


class FolderMismatchError(ConfigError):
    """Indexing a folder into an index built from another one: refused, since it would
    replace every entry; ``--rebuild`` switches on purpose."""

    def __init__(self, index_dir: str, recorded: str, folder: str) -> None:
        self.index_dir = index_dir
        self.recorded = recorded
        self.folder = folder
        super().__init__(
            f"the index at {index_dir} holds {recorded}, not {folder}; indexing {folder} "
            f"into it would replace its entries — run `searchkit index {folder} --rebuild` "
            f"to switch it to {folder}, or give {folder} an index of its own with "
            f"--index DIR"
        )


class IndexBusyError(SearchkitError):
    """Another process holds the index write lock for longer than the timeout."""

    exit_code = ExitCode.INDEX_BUSY

    def __init__(self, index_dir: str, timeout: float) -> None:
        self.index_dir = index_dir
        self.timeout = timeout
        super().__init__(
            f"index busy: another process is writing {index_dir} "
            f"(waited {timeout:g}s; retry later or raise --lock-timeout)"
        )


class IndexCorruptError(SearchkitError):
    """The index is damaged (files missing, truncated or unreadable); rebuilding it from
    the clippings is the fix."""

    def __init__(self, index_dir: str, problem: str) -> None:
        self.index_dir = index_dir
        self.problem = problem
        super().__init__(
            f"the index at {index_dir} is damaged: {problem}; "
            f"run `searchkit index --rebuild`"
        )


class UnsafeIndexError(ConfigError):
    """An index folder another user could have written: refused, never read.

    The index's table of contents is a pickle, so reading a planted one would run
    code as the current user.
    """

    def __init__(self, index_dir: str, problem: str, fix: str) -> None:
        self.index_dir = index_dir
        self.problem = problem
        super().__init__(
            f"refusing to use the index at {index_dir}: {problem}; an index holds pickled "
            f"data that runs as code when read — {fix}"
        )


class ForeignIndexFolderError(ConfigError):
    """A folder given as the index that holds files searchkit did not write: refused,
    so that clean-up can never delete them."""

    def __init__(self, index_dir: str, names: list[str], problem: str = "") -> None:
        self.index_dir = index_dir
        self.names = names
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        why = problem or f"it holds files searchkit did not write: {shown}"
        super().__init__(
            f"index folder {index_dir} is not searchkit's ({why}); use an empty or new "
            f"folder for --index"
        )


class OverlappingFoldersError(ConfigError):
    """The clippings folder and the index folder are the same, or one is inside the other."""

    def __init__(self, folder: str, index_dir: str, relation: str) -> None:
        self.folder = folder
        self.index_dir = index_dir
        if relation == "is":
            where = f"the index folder {index_dir} is the clippings folder"
        elif relation == "inside":
            where = f"the index folder {index_dir} is inside the clippings folder {folder}"
        else:
            where = f"the clippings folder {folder} is inside the index folder {index_dir}"
        super().__init__(f"{where}; use a separate folder, outside the clippings, for --index")


class IndexWriteError(SearchkitError):
    """Writing the index failed (disk full, I/O error); its last complete commit is kept."""

    def __init__(self, index_dir: str, error: OSError) -> None:
        self.index_dir = index_dir
        self.os_error = error
        reason = error.strerror or str(error) or type(error).__name__
        code = errno.errorcode.get(error.errno, "") if error.errno else ""
        where = f" ({error.filename})" if error.filename else ""
        super().__init__(
            f"cannot write the index at {index_dir}: {reason}"
            f"{f' [{code}]' if code else ''}{where}; the index keeps its last complete "
            f"commit"
        )


class IndexReadOnlyError(IndexWriteError):
    """The index folder, or a file in it, cannot be written (permission denied, a
    read-only file system); searches still answer from its last commit."""

    def __init__(self, index_dir: str, error: OSError) -> None:
        self.index_dir = index_dir
        self.os_error = error
        reason = error.strerror or type(error).__name__
        where = f" ({error.filename})" if error.filename else ""
        SearchkitError.__init__(
            self,
            f"cannot write the index at {index_dir}: {reason}{where}; searches still "
            f"answer from its last commit — make the folder writable (`chmod u+w "
            f"{index_dir}`) or index into another folder (--index)"
        )


def index_write_error(index_dir: str, error: OSError) -> IndexWriteError:
    """The error for ``error`` while writing the index: :class:`IndexReadOnlyError`
    when the folder cannot be written at all, else :class:`IndexWriteError`."""
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return IndexReadOnlyError(index_dir, error)
    return IndexWriteError(index_dir, error)


class QueryError(SearchkitError):
    """A query that cannot be parsed or run; ``position`` is a 0-based offset when known."""

    def __init__(self, query: str, problem: str, position: int | None = None) -> None:
        self.query = query
        self.problem = problem
        self.position = position
        where = f" at position {position}" if position is not None else ""
        super().__init__(f"invalid query{where}: {problem}")


class NotFoundError(SearchkitError):
    """An entry id that is not in the index (``show``, ``similar``): a usage error."""


class SavedSearchError(SearchkitError):
    """A saved search that cannot be saved, found or used (``save``, ``new``,
    ``unsave``); names the search or the file and the fix."""


class ClusterError(SearchkitError):
    """An OpenSearch cluster that cannot serve the index (issue #17): names the URL (and
    index), what went wrong and the fix, in one line."""

    def __init__(self, url: str, problem: str, fix: str) -> None:
        self.url = url
        self.problem = problem
        self.fix = fix
        super().__init__(f"OpenSearch at {url}: {problem} — {fix}")


class ClusterUnreachableError(ClusterError):
    """No answer from the cluster (down, wrong host or port, TLS refused)."""


class ClusterAuthError(ClusterError):
    """The cluster refused the credentials, or the user lacks a permission."""


class ClusterMappingError(ClusterError):
    """The index is not searchkit's, or was written by another mapping version."""


class EvalInputError(SearchkitError):
    """A queries, judgments or run file that cannot be used; names the file and line."""

    def __init__(self, path: str, problem: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.problem = problem
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {problem}")
