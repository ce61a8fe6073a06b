"""``cited`` and ``has``: the articles the clippings cite most, and "do I have this?"."""


import sys
from typing import Annotated

import typer

from .. import config, output, records
from ..errors import ExitCode
from ..output import Format
from ._common import (
    Color,
    ColorOpt,
    DebugOpt,
    FormatOpt,
    IndexOpt,
    MinQualityOpt,
    ProviderOpt,
    QuietOpt,
    SeedsOpt,
    SinceOpt,
    TopicOpt,
    UntilOpt,
    err,
    make_filters,
    open_index,
    resolve_format,
    seconds,
    style,
    usage,
    write,
)
from .search import QueryArg, _refresh

_FORMATS = (Format.pretty, Format.lines, Format.json)


def cited_cmd(
    query_text: QueryArg = "",
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Articles to show.")
                     ] = 10,
    provider: ProviderOpt = None,
    topic: TopicOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    min_quality: MinQualityOpt = None,
    timeout: Annotated[float, typer.Option(
        "--timeout", min=0, callback=seconds,
        help="Seconds the count may take (0: no limit).")] = 5.0,
    fmt: FormatOpt = Format.auto,
    color: ColorOpt = Color.auto,
    quiet: QuietOpt = False,
    index: IndexOpt = None,
    seeds: SeedsOpt = None,
    debug: DebugOpt = False,
) -> None:
    """The articles cited by the most clippings (each citing clipping counts once), among
    the clippings that match QUERY and the filters (no query: all; the filters apply to
    the citing clippings, not to the articles): exit 0 with some, 1 without, 2 on
    errors."""
    shown = resolve_format(fmt)
    if shown not in _FORMATS:
        usage("cited writes --format pretty, lines or json")
    engine, folder = open_index(index, seeds)
    _refresh(engine, folder, config.DEFAULT_QUICK_CHECK_FILES, quiet)
    filters = make_filters(provider, topic, since=since, until=until,
                           min_quality=min_quality)
    results = engine.cited(query_text, filters=filters, limit=limit, timeout=timeout or None)
    if shown is Format.json:
        write(output.dumps(records.cited_record(results)))
    else:
        write(records.render_cited(results, style(color), header=shown is Format.pretty))
    if not results.articles:
        what = f'"{output.safe(query_text)}"' if query_text.strip() else "these clippings"
        err(f"No related articles cited by {what}." if results.clippings else
            "No clipping matches." if query_text.strip() or filters.active else
            "No clippings in the index.")
    raise typer.Exit(int(ExitCode.HITS if results.articles else ExitCode.NO_HITS))


def has_cmd(
    urls: Annotated[list[str], typer.Argument(
        help="Article URLs, any variant (http/https, www./amp., AMP pages, tracking "
             "parameters, trailing slash); - reads them from standard input, one a line.",
        show_default=False)],
    fmt: FormatOpt = Format.auto,
    quiet: QuietOpt = False,
    index: IndexOpt = None,
    seeds: SeedsOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Do I have this article? For each URL, the ids that hold it, or `not found`: exit 0
    when every URL is found, 1 when one is not, 2 when one is malformed."""
    from ..documents import url_problem

    shown = resolve_format(fmt)
    if shown not in _FORMATS:
        usage("has writes --format pretty, lines or json")
    given: list[str] = []
    for url in urls:
        if url == "-":
            given += [line.strip() for line in sys.stdin if line.strip()]
        else:
            given.append(url.strip())
    given = list(dict.fromkeys(given))
    problems = {url: why for url in given if (why := url_problem(url)) is not None}
    engine, folder = open_index(index, seeds)
    _refresh(engine, folder, config.DEFAULT_QUICK_CHECK_FILES, quiet)
    found = {f.url: f for f in engine.lookup([u for u in given if u not in problems])}
    for url, why in problems.items():
        err(f"Error: malformed URL '{url}': {why}")
    if shown is Format.json:
        write(output.dumps(records.lookup_record(given, found, problems)))
    else:
        write(records.render_lookup([found[u] for u in given if u in found]))
    if problems:
        raise typer.Exit(int(ExitCode.USAGE))
    everything = all(f.entries for f in found.values())
    raise typer.Exit(int(ExitCode.HITS if everything else ExitCode.NO_HITS))
