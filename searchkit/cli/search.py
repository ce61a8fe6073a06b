"""``search``: query the clippings (also the ``search`` script on its own)."""


import json
import os
import stat
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Annotated, BinaryIO

import typer

from .. import config, formats, output, records
from ..engine import Engine, SearchRequest
from ..errors import ExitCode, SearchkitError
from ..output import Format
from ..results import SearchResults
from ..timeline import Bucket
from ..vocabulary import (
    DEFAULT_TIMEOUT,
    FACET_NAMES,
    FIELDS,
    MAX_BATCH_LINE_BYTES,
    SortKey,
)
from ._common import (
    Color,
    ColorOpt,
    DebugOpt,
    EngineOpt,
    FormatOpt,
    IndexOpt,
    KindOpt,
    MinQualityOpt,
    OpenSearchCaOpt,
    OpenSearchIndexOpt,
    OpenSearchUrlOpt,
    ProviderOpt,
    QuietOpt,
    SeedsOpt,
    SinceOpt,
    SortOpt,
    TopicOpt,
    UntilOpt,
    VersionOpt,
    err,
    make_filters,
    note,
    open_index,
    path_root,
    progress,
    resolve_format,
    seconds,
    style,
    terminal_width,
    usage,
    use_engine,
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


def _refresh(engine: Engine, folder: str, quick_check_files: int | None, quiet: bool) -> None:
    fresh = engine.refresh(folder, progress=None if quiet else progress(),
                           quick_check_files=quick_check_files)
    if fresh.action == "busy":
        note("Note: another process is updating the index; answering from the current "
             "snapshot.", quiet)
    elif fresh.action == "read-only":
        note(f"Note: cannot write the index at {engine.location} to bring it up to date "
             "(permission denied or a read-only file system); answering from the current "
             "snapshot.", quiet)
    elif fresh.action == "built" and fresh.report:
        note(f"Note: built the index from {fresh.folder} ({fresh.report.added} clippings).",
             quiet)
    if fresh.report and fresh.report.rebuild_reason:  # e.g. an older schema version
        note(f"Note: {output.safe(fresh.report.rebuild_reason)}.", quiet)
    for failure in fresh.new_failures:  # once: later refreshes know these files failed
        err(output.safe(failure.message))
    if fresh.report:
        for line in records.note_lines(fresh.report):
            note(line, quiet)


def _require_index(engine: Engine) -> None:
    from ..errors import IndexMissingError

    if not engine.exists():
        raise IndexMissingError(engine.location, "run `searchkit index FOLDER`")


def _render(results: SearchResults, fmt: Format, null: bool, count: bool, root: str,
            color: Color = Color.auto, context: formats.Context | None = None) -> None:
    _render_hits(results, fmt, null, count, root, color, context)
    if results.timeline is not None and (count or resolve_format(fmt) is not Format.json):
        pretty = resolve_format(fmt) is Format.pretty
        write("\n" + output.render_timeline(
            results.timeline, style(color), width=terminal_width() if pretty else 80,
            block="█" if pretty else "#"))


def _render_hits(results: SearchResults, fmt: Format, null: bool, count: bool, root: str,
                 color: Color = Color.auto, context: formats.Context | None = None) -> None:
    look = style(color)
    if count:  # the number, then any facet tables
        # whole matches; with --fallback and none whole, the partial ones it would list
        write(f"{results.partial_total if results.partial else results.total}\n")
        if results.by_story:
            err("Note: the count is of stories (--by-story), not entries.")
        if results.facets:
            write("\n" + output.render_facets(results, look))
        return
    if null:
        fmt = Format.paths
    fmt = resolve_format(fmt)
    width = terminal_width() if fmt is Format.pretty else 0
    write(output.render_results(results, fmt, look, null=null, root=root, width=width,
                                context=context))
    if results.facets and fmt in (Format.pretty, Format.lines):
        write("\n" + output.render_facets(results, look))


def search_cmd(
    query_text: QueryArg = "",
    limit: Annotated[int | None, typer.Option(
        "--limit", "-n", min=0, help="Hits to show. [default: 10; every match for --format "
                                     "paths and -0]")] = None,
    every: Annotated[bool, typer.Option("--all", help="Show every match, in any format.")
                     ] = False,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Hits to skip.")] = 0,
    fmt: FormatOpt = Format.auto,
    count: Annotated[bool, typer.Option("--count", help="Print only the number of hits.")
                     ] = False,
    null: Annotated[bool, typer.Option(
        "-0", "--null", help="Print matching file paths separated by NUL.")] = False,
    provider: ProviderOpt = None,
    topic: TopicOpt = None,
    kind: KindOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    min_quality: MinQualityOpt = None,
    sort: SortOpt = SortKey.relevance,
    facets: Annotated[str | None, typer.Option(
        "--facets", help="Count all hits by provider,topic,year,kind.",
        autocompletion=complete_facets)] = None,
    timeline: Annotated[Bucket | None, typer.Option(
        "--timeline", show_default=False,  # alone: auto (cli TimelineCommand)
        help="After the hits, a chart of all matches per day, week, month or year "
             "(alone: the size giving 10-60 bars); undated ones counted apart.")] = None,
    by_story: Annotated[bool, typer.Option(
        "--by-story", help="One row per story (its best hit, with the first reporter and "
                           "the other outlets); totals and facets count stories.")] = False,
    snippets: Annotated[int, typer.Option("--snippets", min=0, max=10,
                                          help="Snippets per hit.")] = 1,
    explain: Annotated[bool, typer.Option(
        "--explain", help="Print the parsed query and each hit's score breakdown.")] = False,
    literal: Annotated[bool, typer.Option(
        "--literal", help="Search the words as typed: no operators or fields.")] = False,
    fallback: Annotated[bool | None, typer.Option(
        "--fallback/--strict", help="When no entry has every word: show the best partial "
        "matches, or none (exit 1). [default: --fallback on the terminal display (pretty), "
        "--strict for other formats, -0, --count and --batch]")] = None,
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
        "--timeout", min=0, callback=seconds,
        help="Seconds a whole search may take before it is stopped (0: no limit); with "
             "--batch, each line.")] = DEFAULT_TIMEOUT,
    color: ColorOpt = Color.auto,
    quiet: QuietOpt = False,
    index: IndexOpt = None,
    seeds: SeedsOpt = None,
    engine_kind: EngineOpt = None,
    opensearch_url: OpenSearchUrlOpt = None,
    opensearch_index: OpenSearchIndexOpt = None,
    opensearch_ca: OpenSearchCaOpt = None,
    debug: DebugOpt = False,
    version: VersionOpt = False,
) -> None:
    """Search the clippings: exit 0 with hits, 1 without, 2 on errors."""
    use_engine(engine_kind, opensearch_url, opensearch_index, opensearch_ca)
    facet_names = [f.strip() for f in facets.split(",") if f.strip()] if facets else []
    if facet_names and (null or fmt in (Format.jsonl, Format.csv, Format.tsv,
                                        Format.paths, *output.DOCUMENTS)):
        usage("--facets needs --format pretty, lines or json")
    if timeline is not None and (null or fmt in (Format.jsonl, Format.csv, Format.tsv,
                                                 Format.paths, *output.DOCUMENTS)
                                 or batch is not None):
        usage("--timeline needs --format pretty, lines or json")
    filters = make_filters(provider, topic, kind, since, until, min_quality)
    if every and limit is not None:
        usage("--all shows every match; leave out -n/--limit, or --all")
    shown = Format.paths if null else resolve_format(fmt)
    if count:  # the number of every match; no hit is listed
        limit, snippets = 0, 0
    elif every or (limit is None and shown is Format.paths and batch is None):
        limit = None  # every match: a file list that stops at ten misses files silently
    elif limit is None:
        limit = 10
    if shown is Format.paths:
        snippets = 0
    hint_fallback = fallback is None  # when no fallback was asked for or refused
    if fallback is None:  # partial matches are for people; programs get whole matches
        fallback = shown is Format.pretty and not count and batch is None
    engine, folder = open_index(index, seeds)
    if refresh:
        quick = None if full_check or quick_check_files == 0 else quick_check_files
        _refresh(engine, folder, quick, quiet)
    else:
        _require_index(engine)
    request = SearchRequest(
        "", limit=limit, offset=offset, filters=filters, literal=literal, snippets=snippets,
        sort=sort.value, facets=tuple(facet_names), explain=explain, fallback=fallback,
        timeout=timeout or None, timeline=timeline.value if timeline else None,
        by_story=by_story)

    def run(text: str) -> SearchResults:
        return engine.search(replace(request, text=text))

    if batch is not None:
        raise typer.Exit(int(_run_batch(batch, run)))
    results = run(query_text)
    if explain and resolve_format(fmt) in (Format.pretty, Format.lines) and not count:
        write(f"Parsed query: {output.safe(results.parsed)}\n")
    if not quiet:
        _diagnose(results, query_text, hint_fallback=hint_fallback and not fallback)
    for line in results.notes:
        note(f"Note: {line}.", quiet)
    _render(results, fmt, null, count, path_root(folder), color,
            formats.context_for(query_text, filters))
    # partial matches count as hits only when nothing has every word and they are shown
    raise typer.Exit(int(ExitCode.HITS if results.total or results.partial
                         else ExitCode.NO_HITS))


def _diagnose(results: SearchResults, query_text: str, hint_fallback: bool) -> None:
    """On stderr: that nothing (or only part of the query) matched, and what to try."""
    if results.partial:
        dropped = [f'"{output.safe(w.word)}"' for w in results.diagnosis if not w.count]
        err(f"Note: no entry has {' or '.join(dropped)}; showing matches for the other "
            "words." if dropped else
            "Note: no entry matches every word; showing the best partial matches.")
    elif not results.total:
        err(f'No matches for "{output.safe(query_text)}".' if query_text.strip()
            else "No matches for these filters.")
    if results.partial or not results.total:
        sys.stderr.write(output.render_diagnosis(results))
    if hint_fallback and not results.total and any(w.count for w in results.diagnosis):
        err("Note: no entry matches every word; --fallback shows the best partial matches "
            "of plain words.")


def _run_batch(source: str, run: Callable[[str], SearchResults]) -> ExitCode:
    """One JSON object per input line: the results record, or the line number, the query
    and its error (a line too long or not UTF-8 is that line's error; exit 2 after).

    Each line has the whole --timeout; Ctrl-C stops the batch (exit 130) after the lines
    already answered. Only a SearchkitError is a line's own error; anything else stops
    the batch at the error boundary, like any command's bug."""
    stream = _open_batch(source)
    any_hits = failed = False
    with stream:
        for number, text, problem in _batch_lines(stream):
            if problem is None and not text.strip():
                continue
            if problem is None:
                try:
                    results = run(text)
                except SearchkitError as exc:
                    problem = str(exc)
                else:
                    any_hits = any_hits or bool(results.total or results.partial)
                    write(json.dumps(output.results_record(results), ensure_ascii=False)
                          + "\n")
                    continue
            failed = True
            write(json.dumps({"line": number, "query": output.safe(text),
                              "error": output.safe(problem)}, ensure_ascii=False) + "\n")
    return ExitCode.USAGE if failed else ExitCode.HITS if any_hits else ExitCode.NO_HITS


def _open_batch(source: str) -> BinaryIO:
    """The --batch input, as bytes: a regular file, or standard input (``-``: a file, a
    pipe or a terminal). Devices and FIFOs are refused, as for clippings: /dev/zero
    would be one endless line."""
    if source == "-":
        stream = sys.stdin.buffer
        try:
            fd = stream.fileno()
        except (OSError, ValueError):  # not a real file (a test's stdin)
            return stream
        mode = os.fstat(fd).st_mode
        if (stat.S_ISCHR(mode) and not os.isatty(fd)) or stat.S_ISBLK(mode):
            usage("--batch - reads standard input, which is a device here; give a file "
                  "or a pipe")
        return stream
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer before it is refused
        fd = os.open(source, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        usage(f"cannot read --batch file {source}: {exc.strerror}")
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        usage(f"--batch {source} is not a regular file")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def _batch_lines(stream: BinaryIO) -> Iterator[tuple[int, str, str | None]]:
    """(line number, text, problem) for each line, reading at most MAX_BATCH_LINE_BYTES
    of a line; the text of a line with a problem is shown escaped."""
    number = 0
    while True:
        raw = stream.readline(MAX_BATCH_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_BATCH_LINE_BYTES and not raw.endswith(b"\n"):
            while (rest := stream.readline(65_536)) and not rest.endswith(b"\n"):
                pass  # the rest of the long line, in bounded pieces
            yield (number, raw[:80].decode("utf-8", "backslashreplace") + "...",
                   f"line {number} is longer than {MAX_BATCH_LINE_BYTES} bytes")
            continue
        raw = raw.rstrip(b"\r\n")
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte order mark
        try:
            yield number, raw.decode("utf-8"), None
        except UnicodeDecodeError as exc:
            yield (number, raw.decode("utf-8", "backslashreplace"),
                   f"line {number} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at "
                   f"byte {exc.start + 1}): save the file as UTF-8")
