"""``search``: query the clippings (also the ``search`` script on its own)."""


import json
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import Annotated

import typer

from .. import config, formats, output, records
from ..engine import Engine, SearchRequest
from ..errors import ExitCode, SearchkitError
from ..output import Format
from ..results import Filters, SearchResults
from ..vocabulary import FACET_NAMES, FIELDS, Kind, SortKey
from ._common import (
    Color,
    ColorOpt,
    DebugOpt,
    FormatOpt,
    IndexOpt,
    SeedsOpt,
    VersionOpt,
    engine_for,
    err,
    paths,
    progress,
    resolve_format,
    style,
    terminal_width,
    usage,
    write,
)


def complete_query(incomplete: str) -> list[tuple[str, str]]:
    """Shell completion for the query: field names for the word being typed."""
    word = incomplete.rsplit(" ", 1)[-1]
    head = incomplete[: len(incomplete) - len(word)]
    return [(f"{head}{name}:", what) for name, (_, what, _) in FIELDS.items()
            if name.startswith(word)]


def complete_facets(incomplete: str) -> list[str]:
    done, _, word = incomplete.rpartition(",")
    prefix = f"{done}," if done else ""
    return [prefix + name for name in FACET_NAMES if name.startswith(word)]


QueryArg = Annotated[str, typer.Argument(
    help='Words (all must match), "phrases", AND/OR/NOT, field:value, term*, term~. '
         "May be empty when filters are given.",
    autocompletion=complete_query)]


def _refresh(engine: Engine, folder: str, quick_check_files: int | None) -> None:
    fresh = engine.refresh(folder, progress=progress(), quick_check_files=quick_check_files)
    if fresh.action == "busy":
        err("Note: another process is updating the index; answering from the current "
            "snapshot.")
    elif fresh.action == "read-only":
        err(f"Note: cannot write the index at {engine.location} to bring it up to date "
            "(permission denied or a read-only file system); answering from the current "
            "snapshot.")
    elif fresh.action == "built" and fresh.report:
        err(f"Note: built the index from {fresh.folder} ({fresh.report.added} clippings).")
    if fresh.report:
        for line in records.failure_lines(fresh.report):
            err(line)
        for line in records.note_lines(fresh.report):
            err(line)


def _require_index(engine: Engine) -> None:
    from ..errors import IndexMissingError

    if not engine.exists():
        raise IndexMissingError(engine.location, "run `searchkit index FOLDER`")


def _render(results: SearchResults, fmt: Format, null: bool, count: bool,
            color: Color = Color.auto, context: formats.Context | None = None) -> None:
    look = style(color)
    if count:  # the number, then any facet tables
        write(f"{results.total}\n")
        if results.facets:
            write("\n" + output.render_facets(results, look))
        return
    if null:
        fmt = Format.paths
    fmt = resolve_format(fmt)
    width = terminal_width() if fmt is Format.pretty else 0
    write(output.render_results(results, fmt, look, null=null, width=width,
                                context=context))
    if results.facets and fmt in (Format.pretty, Format.lines):
        write("\n" + output.render_facets(results, look))


def search_cmd(
    query_text: QueryArg = "",
    limit: Annotated[int, typer.Option("--limit", "-n", min=0, help="Hits to show.")] = 10,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Hits to skip.")] = 0,
    fmt: FormatOpt = Format.auto,
    count: Annotated[bool, typer.Option("--count", help="Print only the number of hits.")
                     ] = False,
    null: Annotated[bool, typer.Option(
        "-0", "--null", help="Print matching file paths separated by NUL.")] = False,
    provider: Annotated[list[str] | None, typer.Option(
        "--provider", help="Only this outlet (name words or domain); repeatable.")] = None,
    topic: Annotated[list[str] | None, typer.Option(
        "--topic", help="Only this topic (exact, any case); repeatable.")] = None,
    kind: Annotated[list[Kind] | None, typer.Option(
        "--kind", help="Only clippings or related articles.")] = None,
    since: Annotated[str | None, typer.Option(
        "--since", help="From this date (2021, 2021-05, 2021-05-05) or span back (7d, 2w, "
                        "6m, 1y).")] = None,
    until: Annotated[str | None, typer.Option(
        "--until", help="Up to the end of this date, or a span back from now.")] = None,
    min_quality: Annotated[int | None, typer.Option(
        "--min-quality", min=0, max=100, help="Only entries with at least this quality.")
    ] = None,
    sort: Annotated[SortKey, typer.Option(
        "--sort", help="relevance, date (oldest first), -date (newest first), quality.")
    ] = SortKey.relevance,
    facets: Annotated[str | None, typer.Option(
        "--facets", help="Count all hits by provider,topic,year,kind.",
        autocompletion=complete_facets)] = None,
    snippets: Annotated[int, typer.Option("--snippets", min=0, max=10,
                                          help="Snippets per hit.")] = 1,
    explain: Annotated[bool, typer.Option(
        "--explain", help="Print the parsed query and each hit's score breakdown.")] = False,
    literal: Annotated[bool, typer.Option(
        "--literal", help="Search the words as typed: no operators or fields.")] = False,
    batch: Annotated[str | None, typer.Option(
        "--batch", help="Run one query per line of FILE (- for stdin); write JSONL.")] = None,
    refresh: Annotated[bool, typer.Option(
        "--refresh/--no-refresh", help="Update a stale index before answering.")] = True,
    full_check: Annotated[bool, typer.Option(
        "--full-check", help="Stat every clipping file for changes, however large the "
                             "folder.")] = False,
    quick_check_files: Annotated[int, typer.Option(
        "--quick-check-files", envvar=config.ENV_QUICK_CHECK, show_envvar=True,
        min=0, help="From this many clippings on, look for changes by the folders' "
                    "timestamps only (a file rewritten in place waits for `searchkit "
                    "index`); 0: never.")] = config.DEFAULT_QUICK_CHECK_FILES,
    timeout: Annotated[float, typer.Option(
        "--timeout", min=0, help="Seconds a search may take before it is stopped (0: no "
                                 "limit).")] = 10.0,
    color: ColorOpt = Color.auto,
    index: IndexOpt = None,
    seeds: SeedsOpt = None,
    debug: DebugOpt = False,
    version: VersionOpt = False,
) -> None:
    """Search the clippings: exit 0 with hits, 1 without, 2 on errors."""
    facet_names = [f.strip() for f in facets.split(",") if f.strip()] if facets else []
    if facet_names and (null or fmt in (Format.jsonl, Format.csv, Format.tsv,
                                        Format.paths, *output.DOCUMENTS)):
        usage("--facets needs --format pretty, lines or json")
    filters = Filters(
        providers=tuple(provider or ()), topics=tuple(topic or ()),
        kinds=tuple(k.value for k in kind or ()), since=since, until=until,
        min_quality=min_quality,
    )
    index_dir, folder = paths(index, seeds)
    engine = engine_for(index_dir)
    if refresh:
        quick = None if full_check or quick_check_files == 0 else quick_check_files
        _refresh(engine, folder, quick)
    else:
        _require_index(engine)
    request = SearchRequest(
        "", limit=limit, offset=offset, filters=filters, literal=literal, snippets=snippets,
        sort=sort.value, facets=tuple(facet_names), explain=explain, timeout=timeout or None)

    def run(text: str) -> SearchResults:
        return engine.search(replace(request, text=text))

    if batch is not None:
        raise typer.Exit(int(_run_batch(batch, run)))
    results = run(query_text)
    if explain and resolve_format(fmt) in (Format.pretty, Format.lines) and not count:
        write(f"Parsed query: {output.safe(results.parsed)}\n")
    if results.partial:
        err("Note: no entry matches every word; showing the best partial matches.")
    if results.partial or not results.total:
        diagnosis = output.render_diagnosis(results)
        if diagnosis:
            sys.stderr.write(diagnosis)
    _render(results, fmt, null, count, color, formats.context_for(query_text, filters))
    raise typer.Exit(int(ExitCode.HITS if results.total else ExitCode.NO_HITS))


def _run_batch(source: str, run: Callable[[str], SearchResults]) -> ExitCode:
    """One JSON object per input line: the results record, or the query and its error.

    Only a SearchkitError is a line's own error; anything else stops the batch at the
    error boundary, like any command's bug."""
    try:
        stream = sys.stdin if source == "-" else open(source, encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        usage(f"cannot read --batch file {source}: {exc.strerror}")
    any_hits = failed = False
    with stream:
        for line in stream:
            text = line.rstrip("\n")
            if not text.strip():
                continue
            try:
                results = run(text)
            except SearchkitError as exc:
                failed = True
                write(json.dumps({"query": output.safe(text), "error": output.safe(str(exc))},
                                 ensure_ascii=False) + "\n")
                continue
            any_hits = any_hits or bool(results.total)
            write(json.dumps(output.results_record(results), ensure_ascii=False) + "\n")
    return ExitCode.USAGE if failed else ExitCode.HITS if any_hits else ExitCode.NO_HITS
