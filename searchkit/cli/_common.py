"""What every command shares: option aliases, the error boundary, progress, paths."""


import sys
import traceback
from collections.abc import Callable
from typing import Annotated, NoReturn, TypeVar

import typer

from .. import config
from ..errors import ExitCode, SearchkitError
from ..output import Format, Style

T = TypeVar("T")

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
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")]
LockTimeoutOpt = Annotated[
    float, typer.Option("--lock-timeout", min=0, help="Seconds to wait for another writer.")
]
FormatOpt = Annotated[
    Format, typer.Option("--format", "-f", help="auto: pretty on a terminal, lines when piped.")
]


def err(message: str) -> None:
    typer.echo(message, err=True)


def fail(exc: SearchkitError, debug: bool) -> NoReturn:
    if debug:
        traceback.print_exc()
    err(f"Error: {exc}")
    raise typer.Exit(int(exc.exit_code))


def usage(message: str) -> NoReturn:
    err(f"Error: {message}")
    raise typer.Exit(int(ExitCode.USAGE))


def guard(debug: bool, fn: Callable[[], T]) -> T:
    """The error boundary: expected errors become one line and an exit code."""
    try:
        return fn()
    except SearchkitError as exc:
        fail(exc, debug)
    except KeyboardInterrupt:
        err("Interrupted; the index keeps its last commit.")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    except typer.Exit:
        raise
    except Exception as exc:  # a bug: say so plainly, traceback on --debug
        if debug:
            raise
        err(f"Error: internal error: {type(exc).__name__}: {exc} "
            "(run again with --debug for the traceback)")
        raise typer.Exit(int(ExitCode.USAGE)) from None


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
    from .. import indexer

    return index_dir, indexer.recorded_folder(index_dir) or str(cfg.seeds_dir)


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
