"""What every command shares: option aliases, the error boundary, progress, paths."""


import functools
import sys
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, NoReturn, ParamSpec

import typer

from .. import config
from ..errors import ExitCode, SearchkitError
from ..output import Format, Style

if TYPE_CHECKING:
    from ..engine import Engine

P = ParamSpec("P")

IndexOpt = Annotated[
    str | None,
    typer.Option("--index", envvar=config.ENV_INDEX, show_envvar=True,
                 help="Index folder. [default: ./index]"),
]
SeedsOpt = Annotated[
    str | None,
    typer.Option("--seeds", envvar=config.ENV_SEEDS, show_envvar=True,
                 help="Clippings folder to keep the index in step with. "
                      "[default: the folder the index was built from, else ./seeds]"),
]
# Read by the error boundary (`boundary`), not by the commands themselves.
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")]
LockTimeoutOpt = Annotated[
    float, typer.Option("--lock-timeout", min=0, help="Seconds to wait for another writer.")
]
FormatOpt = Annotated[
    Format, typer.Option("--format", "-f", help="auto: pretty on a terminal, lines when piped.")
]


def err(message: str) -> None:
    typer.echo(message, err=True)


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
        except (Exception, KeyboardInterrupt) as exc:
            raise typer.Exit(int(exit_status(exc, bool(kwargs.get("debug"))))) from None

    return run


def exit_status(exc: Exception | KeyboardInterrupt, debug: bool) -> ExitCode:
    """Report ``exc`` on stderr, once, and choose the exit status for it: a SearchkitError
    its own code, Ctrl-C 130, anything else is a bug (70); tracebacks only with --debug."""
    if isinstance(exc, KeyboardInterrupt):
        err("Interrupted; the index keeps its last commit.")
        return ExitCode.INTERRUPTED
    if debug:
        traceback.print_exception(exc)
    if isinstance(exc, SearchkitError):
        err(f"Error: {exc}")
        return exc.exit_code
    hint = "" if debug else " (run again with --debug for the traceback)"
    err(f"Error: internal error: {type(exc).__name__}: {exc}{hint}")
    return ExitCode.INTERNAL_ERROR


def progress() -> Callable[[int, int], None] | None:
    """A one-line progress bar on stderr, only on a terminal and for long runs."""
    if not sys.stderr.isatty():
        return None
    last = [-1]

    def show(done: int, total: int) -> None:
        if total < 500:
            return
        pct = done * 100 // total
        if pct != last[0] or done == total:
            last[0] = pct
            bar = "#" * (pct // 4)
            end = "\n" if done == total else ""
            sys.stderr.write(f"\rindexing [{bar:<25}] {done}/{total} {pct:3d}%{end}")
            sys.stderr.flush()

    return show


def paths(index: str | None, seeds: str | None) -> tuple[str, str]:
    """(index dir, clippings folder). Typer has already applied the environment
    variables; without --seeds the folder is the one the index was built from."""
    cfg = config.resolve(index, seeds)
    index_dir = str(cfg.index_dir)
    if seeds:
        return index_dir, str(cfg.seeds_dir)
    return index_dir, engine_for(index_dir).recorded_folder() or str(cfg.seeds_dir)


def engine_for(index_dir: str) -> "Engine":
    """The engine behind the index at ``index_dir`` (the one seam commands call)."""
    from ..engine import open_engine

    return open_engine(index_dir)


def resolve_format(fmt: Format) -> Format:
    if fmt is Format.auto:
        return Format.pretty if sys.stdout.isatty() else Format.lines
    return fmt


def style() -> Style:
    return Style(color=config.use_color(sys.stdout.isatty()))


def write(text: str) -> None:
    if text:
        sys.stdout.write(text)
        sys.stdout.flush()
