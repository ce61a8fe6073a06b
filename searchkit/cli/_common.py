"""What every command shares: option aliases, the error boundary, progress, paths."""


import functools
import math
import os
import shutil
import sys
import traceback
from collections.abc import Callable
from dataclasses import replace
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, ParamSpec

import typer

from .. import config
from ..errors import ExitCode, SearchkitError, Terminated
from ..output import Format, Style, safe
from ..results import Filters
from ..vocabulary import Kind, SortKey
from . import _progress

if TYPE_CHECKING:
    from ..engine import Engine

P = ParamSpec("P")

# No envvar= here: config.locate_index reads SEARCHKIT_INDEX itself, so that
# `status` can tell --index from the environment.
IndexOpt = Annotated[
    str | None,
    typer.Option("--index",
                 help=f"Index folder. [env var: {config.ENV_INDEX}; default: the nearest "
                      "index/ of searchkit's from here up, else the one `searchkit index` "
                      "last built, else ./index]"),
]
SeedsOpt = Annotated[
    str | None,
    typer.Option("--seeds", envvar=config.ENV_SEEDS, show_envvar=True,
                 help="Clippings folder to keep the index in step with. "
                      "[default: the folder the index was built from, else ./seeds]"),
]
# Read by the error boundary (`boundary`), not by the commands themselves.
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")]

# The engine (issue #17): commands that reach an index take these and call use_engine();
# config.resolve_engine reads SEARCHKIT_ENGINE and the SEARCHKIT_OPENSEARCH_* variables.
EngineOpt = Annotated[str | None, typer.Option(
    "--engine", help=f"whoosh (an index folder) or opensearch (an index on a cluster). "
                     f"[env var: {config.ENV_ENGINE}; default: whoosh]")]
OpenSearchUrlOpt = Annotated[str | None, typer.Option(
    "--opensearch-url", help="The cluster, e.g. https://HOST:9200 (user and password from "
    f"{config.ENV_OPENSEARCH_USER} and {config.ENV_OPENSEARCH_PASSWORD}). "
    f"[env var: {config.ENV_OPENSEARCH_URL}]")]
OpenSearchIndexOpt = Annotated[str | None, typer.Option(
    "--opensearch-index", help="The index name on the cluster. "
    f"[env var: {config.ENV_OPENSEARCH_INDEX}; default: {config.DEFAULT_OPENSEARCH_INDEX}]")]
OpenSearchCaOpt = Annotated[str | None, typer.Option(
    "--opensearch-ca", help="PEM file of the CA that signed the cluster's certificate "
    f"(TLS is always verified). [env var: {config.ENV_OPENSEARCH_CA}]")]

_chosen: list[config.EngineChoice] = []  # this command's engine, set by use_engine()


def use_engine(engine: str | None = None, url: str | None = None, index: str | None = None,
               ca: str | None = None) -> None:
    """Choose the engine for this command (``engine_for`` then opens it); the error
    boundary forgets the choice when the command ends."""
    _chosen[:] = [config.resolve_engine(engine, url, index, ca)]


def chosen_engine() -> config.EngineChoice:
    return _chosen[0] if _chosen else config.resolve_engine()


def seconds(value: float) -> float:
    """Option callback: a time limit is a finite number of seconds >= 0 (``min=0``
    alone lets ``nan`` through, and ``inf`` would never stop)."""
    if math.isnan(value) or math.isinf(value) or value < 0:
        raise typer.BadParameter(f"{value} is not a number of seconds: give a finite "
                                 "number, 0 or more")
    return value


LockTimeoutOpt = Annotated[
    float, typer.Option("--lock-timeout", min=0, callback=seconds,
                        help="Seconds to wait for another writer.")
]
FormatOpt = Annotated[
    Format, typer.Option("--format", "-f", help="auto: pretty on a terminal, lines when piped.")
]

# The filters `search`, `save` and `cited` share (a command whose filters mean something
# narrower says so in its docstring), and the one place that turns them into Filters.
ProviderOpt = Annotated[list[str] | None, typer.Option(
    "--provider", help="Only this outlet (name words or domain); repeatable.")]
TopicOpt = Annotated[list[str] | None, typer.Option(
    "--topic", help="Only this topic (exact, any case); repeatable.")]
KindOpt = Annotated[list[Kind] | None, typer.Option(
    "--kind", help="Only clippings or related articles.")]
SinceOpt = Annotated[str | None, typer.Option(
    "--since", help="From this date (2021, 2021-05, 2021-05-05) or span back (7d, 2w, 6m, "
                    "1y).")]
UntilOpt = Annotated[str | None, typer.Option(
    "--until", help="Up to the end of this date, or a span back from now.")]
MinQualityOpt = Annotated[int | None, typer.Option(
    "--min-quality", min=0, max=100, help="Only entries with at least this quality.")]
SortOpt = Annotated[SortKey, typer.Option(
    "--sort", help="relevance, date (oldest first), -date (newest first), quality.")]


def make_filters(provider: list[str] | None = None, topic: list[str] | None = None,
            kind: list[Kind] | None = None, since: str | None = None,
            until: str | None = None, min_quality: int | None = None) -> Filters:
    """The Filters the filter options above ask for."""
    return Filters(providers=tuple(provider or ()), topics=tuple(topic or ()),
                   kinds=tuple(k.value for k in kind or ()), since=since, until=until,
                   min_quality=min_quality)


def _show_version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"searchkit {__version__}")
        raise typer.Exit()


VersionOpt = Annotated[bool, typer.Option(
    "--version", callback=_show_version, is_eager=True, help="Show the version.")]


QuietOpt = Annotated[bool, typer.Option(
    "--quiet", "-q", help="No notes, diagnosis or progress on stderr; errors still print.")]


class Color(str, Enum):
    auto = "auto"  # on a terminal, unless NO_COLOR is set or TERM is dumb
    always = "always"  # also into a pipe: `search ... --color always | less -R`
    never = "never"


ColorOpt = Annotated[Color, typer.Option(
    "--color", help="Colour the display: auto (on a terminal, unless NO_COLOR is set), "
                    "always (also into a pipe, for less -R), never.")]


def err(message: str) -> None:
    """A line on stderr; control and bidi characters (from a file name, a title) out."""
    _progress.settle()
    typer.echo(safe(message), err=True)


def note(message: str, quiet: bool) -> None:
    """A message for people (``Note: ...``, a diagnosis) on stderr, unless --quiet."""
    if not quiet:
        err(message)


def path_root(folder: str) -> str:
    """Where printed clipping paths start, so that they open from the current directory
    (as ripgrep prints them): the clippings folder relative to the current directory when
    it is inside it (``seeds``; ``""`` for the current directory itself), else its
    absolute path."""
    absolute, here = os.path.abspath(folder), os.getcwd()
    if absolute == here:
        return ""
    if absolute.startswith(here.rstrip(os.sep) + os.sep):
        return os.path.relpath(absolute, here)
    return absolute


def usage(message: str) -> NoReturn:
    err(f"Error: {message}")
    raise typer.Exit(int(ExitCode.USAGE))


def boundary(command: Callable[P, None]) -> Callable[P, None]:
    """The one error boundary, put around every command as it is registered (httpie's
    ``main()`` around ``program()``): a command raises, this decides what the user sees.

    Wrapping the command itself, rather than only the console script's ``main()``,
    keeps the boundary in place when tests call the Typer app in process.
    """

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            command(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # Typer's own exits and usage errors: Typer reports them
        except (Exception, KeyboardInterrupt, Terminated) as exc:
            _progress.abandon()
            raise typer.Exit(int(exit_status(exc, bool(kwargs.get("debug"))))) from None
        finally:
            _progress.settle()
            _chosen.clear()

    return run


def exit_status(exc: Exception | KeyboardInterrupt | Terminated, debug: bool) -> ExitCode:
    """Report ``exc`` on stderr, once, and choose the exit status for it: a SearchkitError
    its own code, Ctrl-C 130, SIGTERM 143 (where a command turns it into
    :class:`Terminated`), anything else is a bug (70); tracebacks only with --debug."""
    if isinstance(exc, KeyboardInterrupt):
        err("Interrupted; the index keeps its last commit.")
        return ExitCode.INTERRUPTED
    if isinstance(exc, Terminated):
        err("Terminated; the index keeps its last commit.")
        return ExitCode.TERMINATED
    if debug:
        traceback.print_exception(exc)
    if isinstance(exc, SearchkitError):
        err(f"Error: {exc}")
        return exc.exit_code
    hint = "" if debug else " (run again with --debug for the traceback)"
    err(f"Error: internal error: {type(exc).__name__}: {exc}{hint}")
    return ExitCode.INTERNAL_ERROR


def progress() -> Callable[[int, int], None] | None:
    """A one-line progress bar on stderr (with an ETA, then the writing and committing
    phases), only on a terminal and for long runs; its line ends when anything else is
    printed or the command ends."""
    return _progress.bar() if stderr_is_terminal() else None


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


def terminal_width() -> int:
    """Columns to wrap the display to: $COLUMNS, else the terminal on stdout, else the
    one on stderr (`search ... --format pretty | less -R`), else 80."""
    columns = shutil.get_terminal_size((0, 0)).columns
    if columns > 0:
        return columns
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return 80


def resolve(index: str | None, seeds: str | None) -> config.Config:
    """The index (and why that one: see :func:`config.locate_index`) and the clippings
    folder: ``seeds`` (--seeds, SEARCHKIT_SEEDS or `index FOLDER`), else the folder the
    index was built from, else ./seeds."""
    if chosen_engine().kind != "whoosh":  # the index is on a cluster, not in a folder
        cfg = config.resolve(index, seeds, is_index=lambda path: False)
    else:
        cfg = config.resolve(index, seeds,
                             is_index=lambda path: engine_for(str(path)).exists())
    if seeds:
        return cfg
    recorded = engine_for(str(cfg.index_dir)).recorded_folder()
    return replace(cfg, seeds_dir=Path(recorded)) if recorded else cfg


def paths(index: str | None, seeds: str | None) -> tuple[str, str]:
    """(index dir, clippings folder), as :func:`resolve` finds them."""
    cfg = resolve(index, seeds)
    return str(cfg.index_dir), str(cfg.seeds_dir)


def open_index(index: str | None, seeds: str | None) -> tuple["Engine", str]:
    """(the engine behind the index, the clippings folder), as :func:`resolve` finds
    them: what a command that reads an index starts with."""
    index_dir, folder = paths(index, seeds)
    return engine_for(index_dir), folder


def engine_for(index_dir: str) -> "Engine":
    """The engine behind the index at ``index_dir`` (the one seam commands call)."""
    from ..engine import open_engine

    choice = chosen_engine()
    return open_engine(index_dir, choice.kind, choice.opensearch)


def resolve_format(fmt: Format) -> Format:
    if fmt is Format.auto:
        return Format.pretty if sys.stdout.isatty() else Format.lines
    return fmt


def style(color: Color = Color.auto) -> Style:
    if color is Color.auto:
        return Style(color=config.use_color(sys.stdout.isatty()))
    return Style(color=color is Color.always)


def write(text: str) -> None:
    _progress.settle()
    if text:
        sys.stdout.write(text)
        sys.stdout.flush()


def optional_values(args: list[str], option: str, choices: tuple[str, ...],
                    default: str) -> list[str]:
    """``args`` with ``default`` after each bare ``option`` (one not followed by one of
    ``choices``): ``--timeline`` alone means ``--timeline auto``. Click options take a
    value or none, never an optional one; this gives ``--timeline [day|week|...]``."""
    out: list[str] = []
    for n, arg in enumerate(args):
        out.append(arg)
        if arg == "--":
            return out + args[n + 1:]
        if arg == option and (n + 1 == len(args) or args[n + 1] not in choices):
            out.append(default)
    return out


class TimelineCommand(typer.core.TyperCommand):
    """The ``search`` command: ``--timeline`` with or without a bucket size."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # a click Context
        from ..timeline import BUCKETS, Bucket

        result: list[str] = super().parse_args(
            ctx, optional_values(list(args), "--timeline", BUCKETS, Bucket.auto.value))
        return result
