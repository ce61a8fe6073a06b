"""``show`` and ``similar``: one entry in full, and the entries most like it."""


import os
from typing import Annotated

import typer

from .. import output, records
from ..errors import ClippingError, ExitCode
from ..output import Format
from ._common import (
    Color,
    ColorOpt,
    DebugOpt,
    EngineOpt,
    FormatOpt,
    IndexOpt,
    OpenSearchCaOpt,
    OpenSearchIndexOpt,
    OpenSearchUrlOpt,
    SeedsOpt,
    err,
    open_index,
    path_root,
    resolve_format,
    style,
    terminal_width,
    use_engine,
    write,
)

IdArg = Annotated[str, typer.Argument(
    help="Entry id as `search` prints it: a clipping's path, or PATH#N for a related article.")]


def show_cmd(
    entry_id: IdArg,
    fmt: FormatOpt = Format.auto,
    color: ColorOpt = Color.auto,
    index: IndexOpt = None,
    seeds: SeedsOpt = None,
    engine_kind: EngineOpt = None,
    opensearch_url: OpenSearchUrlOpt = None,
    opensearch_index: OpenSearchIndexOpt = None,
    opensearch_ca: OpenSearchCaOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Print everything about one entry: all fields, related articles, where else it appears."""
    use_engine(engine_kind, opensearch_url, opensearch_index, opensearch_ca)
    from .. import documents

    engine, folder = open_index(index, seeds)
    hit = engine.entry(entry_id)
    clip = None
    try:
        clip = documents.load_file(os.path.join(folder, hit.path), folder)
    except ClippingError as exc:
        err(f"Note: showing the indexed copy; the file cannot be read now ({exc}).")
    record = records.entry_record(hit, clip, engine.cited_by(entry_id))
    if fmt is Format.json:
        write(output.dumps(record))
    else:
        write(records.render_entry(record, style(color)))


def similar_cmd(
    entry_id: IdArg,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Entries to show.")] = 10,
    fmt: FormatOpt = Format.auto,
    color: ColorOpt = Color.auto,
    index: IndexOpt = None,
    seeds: SeedsOpt = None,
    engine_kind: EngineOpt = None,
    opensearch_url: OpenSearchUrlOpt = None,
    opensearch_index: OpenSearchIndexOpt = None,
    opensearch_ca: OpenSearchCaOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Entries most similar to one entry (more-like-this on its title and excerpt)."""
    use_engine(engine_kind, opensearch_url, opensearch_index, opensearch_ca)
    engine, folder = open_index(index, seeds)
    results = engine.similar(entry_id, limit=limit)
    shown = resolve_format(fmt)
    width = terminal_width() if shown is Format.pretty else 0
    write(output.render_results(results, shown, style(color), root=path_root(folder),
                                width=width))
    raise typer.Exit(int(ExitCode.HITS if results.hits else ExitCode.NO_HITS))
