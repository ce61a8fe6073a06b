"""Command line: parse, resolve config, call the library, render, map errors to exit codes.

Two scripts share these commands: ``searchkit`` (``index``, ``search``, ``status``)
and ``search`` (the search command alone). Whoosh is imported only by the commands
that need it, so ``--help`` and errors stay fast.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from typing import Annotated, NoReturn, TypeVar

import typer

from . import __version__, config
from .errors import ExitCode, SearchkitError
from .output import Format

T = TypeVar("T")

app = typer.Typer(
    name="searchkit",
    help="Full-text search over folders of news clippings.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# ---------------------------------------------------------------- shared options

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


def _err(message: str) -> None:
    typer.echo(message, err=True)


def _fail(exc: SearchkitError, debug: bool) -> NoReturn:
    if debug:
        traceback.print_exc()
    _err(f"Error: {exc}")
    raise typer.Exit(int(exc.exit_code))


def _guard(debug: bool, fn: Callable[[], T]) -> T:
    """The error boundary: expected errors become one line and an exit code."""
    try:
        return fn()
    except SearchkitError as exc:
        _fail(exc, debug)
    except KeyboardInterrupt:
        _err("Interrupted; the index keeps its last commit.")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    except typer.Exit:
        raise
    except Exception as exc:  # a bug: say so plainly, traceback on --debug
        if debug:
            raise
        _err(f"Error: internal error: {type(exc).__name__}: {exc} "
             "(run again with --debug for the traceback)")
        raise typer.Exit(int(ExitCode.USAGE)) from None


def _progress() -> Callable[[int, int], None] | None:
    """A one-line progress bar on stderr, only on a terminal and for long runs."""
    if not sys.stderr.isatty():
        return None
    state = {"shown": False, "last": -1}

    def show(done: int, total: int) -> None:
        if total < 500:
            return
        pct = done * 100 // total
        if pct != state["last"] or done == total:
            state["last"] = pct
            bar = "#" * (pct // 4)
            end = "\n" if done == total else ""
            sys.stderr.write(f"\rindexing [{bar:<25}] {done}/{total} {pct:3d}%{end}")
            sys.stderr.flush()

    return show


def _folder_for(cfg_seeds: str | None, index_dir: str) -> str:
    """Explicit --seeds / SEARCHKIT_SEEDS, else the folder the index was built from."""
    if cfg_seeds:
        return cfg_seeds
    from . import indexer

    return indexer.recorded_folder(index_dir) or config.DEFAULT_SEEDS


# ---------------------------------------------------------------- index


@app.command("index")
def index_cmd(
    folder: Annotated[str | None, typer.Argument(
        help="Clippings folder. [default: --seeds, else the indexed folder, else ./seeds]")
    ] = None,
    index: IndexOpt = None,
    seeds: SeedsOpt = None,
    rebuild: Annotated[bool, typer.Option(
        "--rebuild", help="Re-read every file; searchers keep the old index until done.")
    ] = False,
    lock_timeout: LockTimeoutOpt = 10.0,
    fmt: Annotated[Format, typer.Option(
        "--format", "-f", help="Summary as text or json.")] = Format.auto,
    debug: DebugOpt = False,
) -> None:
    """Index a folder of clippings: only added, changed and deleted files are touched."""
    from . import indexer, output

    cfg = config.resolve(index, seeds)
    index_dir = str(cfg.index_dir)
    source = _guard(debug, lambda: folder or _folder_for(seeds and str(cfg.seeds_dir),
                                                         index_dir))
    report = _guard(debug, lambda: indexer.update(
        source, index_dir, rebuild=rebuild, lock_timeout=lock_timeout,
        progress=_progress()))
    if report.rebuild_reason:
        _err(f"Note: {report.rebuild_reason}")
    for line in output.failure_lines(report):
        _err(line)
    if fmt is Format.json:
        typer.echo(output.dumps(output.report_record(report)), nl=False)
    else:
        typer.echo(output.render_report(report), nl=False)
    if report.failed:
        raise typer.Exit(int(ExitCode.SOME_FILES_FAILED))


# ---------------------------------------------------------------- search

QueryArg = Annotated[str, typer.Argument(
    help='Query: words (all must match), "phrases", AND/OR/NOT, field:value, term*.')]


def run_search(
    query_text: str,
    *,
    index: str | None,
    seeds: str | None,
    limit: int,
    offset: int,
    fmt: Format,
    count: bool,
    null: bool,
    refresh: bool,
    literal: bool,
    snippets: int,
    debug: bool,
) -> None:
    from . import indexer, output
    from . import search as search_mod

    cfg = config.resolve(index, seeds)
    index_dir = str(cfg.index_dir)

    def prepare() -> None:
        if refresh:
            folder = _folder_for(seeds and str(cfg.seeds_dir), index_dir)
            fresh = indexer.refresh(folder, index_dir, progress=_progress())
            if fresh.action == "busy":
                _err("Note: another process is updating the index; "
                     "answering from the current snapshot.")
            elif fresh.action == "built" and fresh.report:
                _err(f"Note: built the index from {fresh.folder} "
                     f"({fresh.report.added} clippings).")
            if fresh.report:
                for line in output.failure_lines(fresh.report):
                    _err(line)
        elif not indexer.index_exists(index_dir):
            from .errors import IndexMissingError

            raise IndexMissingError(index_dir, "run `searchkit index FOLDER`")

    _guard(debug, prepare)
    results = _guard(debug, lambda: search_mod.search(
        index_dir, query_text, limit=limit, offset=offset, literal=literal,
        snippets=snippets))
    if results.partial:
        _err("Note: no entry matches every word; showing the best partial matches.")
    if count:
        typer.echo(str(results.total))
    else:
        if null:
            fmt = Format.paths
        if fmt is Format.auto:
            fmt = Format.pretty if sys.stdout.isatty() else Format.lines
        style = output.Style(color=config.use_color(sys.stdout.isatty()))
        text = output.render_results(results, fmt, style, null=null)
        if text:
            sys.stdout.write(text)
            sys.stdout.flush()
    raise typer.Exit(int(ExitCode.HITS if results.total else ExitCode.NO_HITS))


@app.command("search")
def search_cmd(
    query_text: QueryArg = "",
    limit: Annotated[int, typer.Option("--limit", "-n", min=0, help="Hits to show.")] = 10,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Hits to skip.")] = 0,
    fmt: Annotated[Format, typer.Option(
        "--format", "-f",
        help="auto: pretty on a terminal, lines when piped.")] = Format.auto,
    count: Annotated[bool, typer.Option("--count", help="Print only the number of hits.")
                     ] = False,
    null: Annotated[bool, typer.Option("-0", "--null",
                                       help="Print matching file paths separated by NUL.")
                    ] = False,
    refresh: Annotated[bool, typer.Option(
        "--refresh/--no-refresh", help="Update a stale index before answering.")] = True,
    literal: Annotated[bool, typer.Option(
        "--literal", help="Search the words as typed: no operators or fields.")] = False,
    snippets: Annotated[int, typer.Option("--snippets", min=0, max=10,
                                          help="Snippets per hit.")] = 1,
    index: IndexOpt = None,
    seeds: SeedsOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Search the clippings; exit 0 with hits, 1 without, 2 on errors."""
    run_search(query_text, index=index, seeds=seeds, limit=limit, offset=offset, fmt=fmt,
               count=count, null=null, refresh=refresh, literal=literal,
               snippets=snippets, debug=debug)


# ---------------------------------------------------------------- status


@app.command("status")
def status_cmd(
    index: IndexOpt = None,
    seeds: SeedsOpt = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="text or json.")
                   ] = Format.auto,
    debug: DebugOpt = False,
) -> None:
    """Show the clippings folder, the index, its counts and which files are stale."""
    from . import indexer, output
    from . import search as search_mod

    cfg = config.resolve(index, seeds)
    index_dir = str(cfg.index_dir)

    def gather() -> dict[str, object]:
        folder = _folder_for(seeds and str(cfg.seeds_dir), index_dir)
        exists = indexer.index_exists(index_dir)
        stats = search_mod.stats(index_dir) if exists else None
        diff = indexer.check(folder, index_dir) if os.path.isdir(folder) else None
        return output.status_record(index_dir, folder, stats, diff)

    record = _guard(debug, gather)
    if fmt is Format.json:
        typer.echo(output.dumps(record), nl=False)
    else:
        typer.echo(output.render_status(record), nl=False)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"searchkit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option(
        "--version", callback=_version_callback, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Full-text search over folders of news clippings."""


# The `search` script: the search command on its own.
search_app = typer.Typer(
    name="search",
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
search_app.command(help=search_cmd.__doc__)(search_cmd)


def main() -> None:
    app(prog_name="searchkit")


def search_main() -> None:
    search_app(prog_name="search")
