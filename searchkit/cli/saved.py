"""``save``, ``saved``, ``unsave`` and ``new``: saved searches, and what arrived in the
index since the last look (exit 0 with new entries, 1 without, 2 on errors)."""


import datetime as dt
import json
import os
import sys
from dataclasses import replace
from typing import Annotated, Any

import typer

from .. import formats, output
from ..engine import Engine, SearchRequest
from ..errors import ExitCode, SavedSearchError, SearchkitError
from ..output import Format
from ..results import SearchResults
from ..saved import SavedSearch, SavedStore, check_name
from ..vocabulary import SortKey
from ._common import (
    Color,
    ColorOpt,
    DebugOpt,
    FormatOpt,
    IndexOpt,
    KindOpt,
    MinQualityOpt,
    ProviderOpt,
    QuietOpt,
    SeedsOpt,
    SinceOpt,
    SortOpt,
    TopicOpt,
    UntilOpt,
    err,
    exit_status,
    make_filters,
    note,
    open_index,
    path_root,
    resolve_format,
    style,
    terminal_width,
    usage,
)
from .search import _refresh, _require_index

NameArg = Annotated[str, typer.Argument(help="The saved search's name: letters, digits, "
                                             "'-', '_' or '.'.")]


def _store(engine: Engine) -> SavedStore:
    return SavedStore(engine.location)


def _request(s: SavedSearch, *, limit: int | None = None) -> SearchRequest:
    """Counts (``limit=0``) keep search's time limit; listing the new entries has none:
    a first run may list thousands, and cron on a busy machine must not fail for it."""
    request = SearchRequest(s.query, limit=limit, filters=s.filters, literal=s.literal,
                            sort=s.sort, fallback=False, diagnose=False)
    return replace(request, timeout=None) if limit is None else request


def _when(when: dt.datetime | None) -> str:
    return output.iso(when) or "never"


def save_cmd(
    name: NameArg,
    query_text: Annotated[str, typer.Argument(help="The query, as for `search`.")] = "",
    provider: ProviderOpt = None,
    topic: TopicOpt = None,
    kind: KindOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    min_quality: MinQualityOpt = None,
    sort: SortOpt = SortKey.relevance,
    literal: Annotated[bool, typer.Option(
        "--literal", help="Search the words as typed: no operators or fields.")] = False,
    since_now: Annotated[bool, typer.Option(
        "--since-now", help="Start the checkpoint now: the first `new NAME` shows only "
                            "what arrives from here on (default: everything matching).")
    ] = False,
    replace_existing: Annotated[bool, typer.Option(
        "--replace", help="Change a saved search of this name (its checkpoint is kept).")
    ] = False,
    quiet: QuietOpt = False,
    index: IndexOpt = None,
    seeds: SeedsOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Save a search under NAME, for `searchkit new NAME`: --sort is the order `new`
    prints in, and a span (--since 7d) counts back from each run."""
    check_name(name)
    filters = make_filters(provider, topic, kind, since, until, min_quality)
    if not query_text.strip() and not filters.active:
        usage("give a query or a filter to save (an empty search matches nothing)")
    engine, _ = open_index(index, seeds)
    _require_index(engine)
    now = dt.datetime.now(dt.timezone.utc)
    search = SavedSearch(name=name, query=query_text, filters=filters, sort=sort.value,
                         literal=literal, created=now)
    matches = engine.search(_request(search, limit=0)).total  # a bad query stops here
    if since_now:
        search = replace(search, checkpoint=engine.arrival_mark() or now)
    saved = _store(engine).add(search, replace_existing=replace_existing)
    start = ("from now on" if since_now and not replace_existing else
             f"since {_when(saved.checkpoint)}" if saved.checkpoint else
             "everything matching, the first time")
    note(f"Saved {name!r} ({matches} matching now); `searchkit new {name}` shows "
         f"{start}.", quiet)


def unsave_cmd(name: NameArg, quiet: QuietOpt = False, index: IndexOpt = None,
               seeds: SeedsOpt = None, debug: DebugOpt = False) -> None:
    """Forget the saved search NAME (exit 2 when there is none)."""
    _store(open_index(index, seeds)[0]).remove(name)
    note(f"Removed the saved search {name!r}.", quiet)


def saved_cmd(fmt: FormatOpt = Format.auto, index: IndexOpt = None, seeds: SeedsOpt = None,
              debug: DebugOpt = False) -> None:
    """List the saved searches: query, last run and counts (matches now, new then)."""
    engine, _ = open_index(index, seeds)
    every = _store(engine).load()
    rows: list[dict[str, Any]] = []
    for s in every.values():
        try:
            matches: int | None = engine.search(_request(s, limit=0)).total
        except SearchkitError as exc:  # a query this version cannot run: say so, go on
            err(f"Error: {s.name}: {exc}")
            matches = None
        rows.append({"name": s.name, "query": output.safe(s.query),
                     "filters": formats.describe(s.filters), "sort": s.sort,
                     "literal": s.literal, "created": output.iso(s.created),
                     "checkpoint": output.iso(s.checkpoint),
                     "last_run": output.iso(s.last_run), "last_new": s.last_new,
                     "matches": matches})
    if resolve_format(fmt) in (Format.json, Format.jsonl):
        _write(output.dumps(rows) if resolve_format(fmt) is Format.json else
               "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        raise typer.Exit(int(ExitCode.HITS if rows else ExitCode.NO_HITS))
    if not rows:
        err("No saved searches; `searchkit save NAME QUERY` saves one.")
        raise typer.Exit(int(ExitCode.NO_HITS))
    lines = []
    for r in rows:
        what = " ".join(p for p in (r["query"], r["filters"]) if p)
        last = ("never run" if r["last_run"] is None else
                f"last run {r['last_run']}: {r['last_new']} new")
        count = "?" if r["matches"] is None else r["matches"]
        lines.append(f"{r['name']}\t{what}\t{count} matching\t{last}\n")
    _write("".join(lines))


# ---------------------------------------------------------------- new


def new_cmd(
    name: Annotated[str | None, typer.Argument(help="The saved search (see `saved`).")
                    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Run every saved search.")] = False,
    peek: Annotated[bool, typer.Option(
        "--peek", help="Show what is new without moving the checkpoint.")] = False,
    fmt: FormatOpt = Format.auto,
    refresh: Annotated[bool, typer.Option(
        "--refresh/--no-refresh", help="Update a stale index first.")] = True,
    color: ColorOpt = Color.auto,
    quiet: QuietOpt = False,
    index: IndexOpt = None,
    seeds: SeedsOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Print the entries that arrived in the index since the last `new NAME`, then move
    NAME's checkpoint (only once they are written): exit 0 with new entries, 1 without."""
    if every == (name is not None):
        usage("give one saved search's NAME, or --all")
    shown = resolve_format(fmt)
    if every and shown in (Format.atom, Format.csl_json):
        usage(f"--format {shown.value} writes one document per saved search; "
              "give a NAME instead of --all")
    engine, folder = open_index(index, seeds)
    store = _store(engine)
    searches = list(store.load().values()) if every else [store.get(name or "")]
    if every and not searches:
        err("No saved searches; `searchkit save NAME QUERY` saves one.")
        raise typer.Exit(int(ExitCode.NO_HITS))
    if refresh:
        _refresh(engine, folder, None, quiet)
    else:
        _require_index(engine)
    any_new, failed = False, False
    done: list[tuple[SavedSearch, SearchResults, dt.datetime | None]] = []
    printed = 0  # --all in text: searches printed so far (a blank line between them)
    for s in searches:
        try:
            mark = engine.arrival_mark()  # read first: the search sees this commit or later
            request = _request(s)
            if s.checkpoint is not None:
                request = replace(request, filters=replace(s.filters,
                                                           arrived_after=s.checkpoint))
            results = engine.search(request)
        except SearchkitError as exc:
            if not every:
                raise
            exit_status(exc, debug)
            failed = True
            continue
        any_new = any_new or bool(results.total)
        if every and shown is Format.json:  # one array; checkpoints move once it is out
            done.append((s, results, mark))
            continue
        text = _render(s, results, shown, every, printed, color, path_root(folder))
        printed += bool(text)
        _write(text)  # raises SavedSearchError when it could not be written in full
        if not peek:
            _move(store, s, results, mark)
    if done:
        _write(output.dumps([_record(s, results) for s, results, _ in done]))
        if not peek:
            for s, results, mark in done:
                _move(store, s, results, mark)
    if failed:
        raise typer.Exit(int(ExitCode.USAGE))
    raise typer.Exit(int(ExitCode.HITS if any_new else ExitCode.NO_HITS))


def _checkpoint(s: SavedSearch, results: SearchResults, mark: dt.datetime | None
                ) -> dt.datetime | None:
    """Where NAME's checkpoint moves: past every entry printed, and past the commit read
    before the search (everything it held was printed if it matched)."""
    times = [t for t in (s.checkpoint, mark, *(h.arrived for h in results.hits)) if t]
    return max(times) if times else None


def _move(store: SavedStore, s: SavedSearch, results: SearchResults,
          mark: dt.datetime | None) -> None:
    store.ran(s.name, _checkpoint(s, results, mark), dt.datetime.now(dt.timezone.utc),
              results.total)


def _hit_records(results: SearchResults) -> list[dict[str, Any]]:
    out = []
    for h in results.hits:
        rec = output.hit_record(h)
        rec["arrived"] = output.iso(h.arrived)
        out.append(rec)
    return out


def _record(s: SavedSearch, results: SearchResults) -> dict[str, Any]:
    """One saved search's new entries in JSON: the results record, named, each hit with
    its arrival time."""
    return {"name": s.name, "new": results.total, "since": output.iso(s.checkpoint),
            **output.results_record(results), "hits": _hit_records(results)}


def _render(s: SavedSearch, results: SearchResults, fmt: Format, grouped: bool, n: int,
            color: Color, root: str) -> str:
    context = formats.context_for(s.query, s.filters, name=s.name)
    if fmt is Format.json:
        return output.dumps(_record(s, results))
    if fmt is Format.jsonl:
        return "".join(json.dumps({"search": s.name, **rec}, ensure_ascii=False) + "\n"
                       for rec in _hit_records(results))
    if grouped and not results.total:  # --all: only the searches with something new
        return ""
    body = output.render_results(results, fmt, style(color), root=root,
                                 width=terminal_width() if fmt is Format.pretty else 0,
                                 context=context)
    if not grouped or fmt in (Format.paths, Format.csv, Format.tsv):
        return body
    if fmt is Format.markdown:
        return ("\n" if n else "") + body
    head = f"== {s.name}: {results.total} new =="
    return ("\n" if n else "") + head + "\n" + body


def _write(text: str) -> None:
    """Write ``text`` to stdout and flush it; SavedSearchError when that fails (a closed
    pipe, a full disk), so that no checkpoint moves past entries nobody got."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except (BrokenPipeError, OSError, ValueError) as exc:
        _silence_stdout()
        raise SavedSearchError(
            f"could not write the new entries ({type(exc).__name__}: {exc}); the "
            "checkpoint did not move: they show again next time") from None


def _silence_stdout() -> None:
    """After a failed write: point stdout at /dev/null, so that the interpreter's own
    flush at exit does not fail once more (Python's advice for SIGPIPE)."""
    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError, AttributeError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)
