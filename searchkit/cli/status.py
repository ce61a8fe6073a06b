"""``status`` and ``fields``: what the index holds, and what queries can ask."""


import os

from .. import output, records
from ..errors import IndexCorruptError
from ..output import Format
from ..vocabulary import FIELDS
from ._common import (
    DebugOpt,
    EngineOpt,
    FormatOpt,
    IndexOpt,
    OpenSearchCaOpt,
    OpenSearchIndexOpt,
    OpenSearchUrlOpt,
    SeedsOpt,
    engine_for,
    resolve,
    use_engine,
    write,
)


def status_cmd(
    fmt: FormatOpt = Format.auto,
    index: IndexOpt = None,
    seeds: SeedsOpt = None,
    engine_kind: EngineOpt = None,
    opensearch_url: OpenSearchUrlOpt = None,
    opensearch_index: OpenSearchIndexOpt = None,
    opensearch_ca: OpenSearchCaOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Show the clippings folder, the index, its counts and which files are stale."""
    use_engine(engine_kind, opensearch_url, opensearch_index, opensearch_ca)
    cfg = resolve(index, seeds)
    index_dir, folder = str(cfg.index_dir), str(cfg.seeds_dir)
    engine = engine_for(index_dir)
    damage: IndexCorruptError | None = None
    try:
        stats = engine.stats() if engine.exists() else None
        diff = engine.diff(folder) if os.path.isdir(folder) else None
    except IndexCorruptError as exc:  # reported in the record, then exit 2 with one line
        stats, diff, damage = None, None, exc
    where = os.path.abspath(index_dir) if engine.location == index_dir else engine.location
    record = records.status_record(where, folder, stats, diff,
                                   damaged=damage.problem if damage else None,
                                   index_source=cfg.index_source)
    write(output.dumps(record) if fmt is Format.json else records.render_status(record))
    if damage:
        raise damage


def fields_cmd(fmt: FormatOpt = Format.auto) -> None:
    """List the field names queries can use, with examples."""
    if fmt is Format.json:
        write(output.dumps({name: {"matches": what, "example": example}
                            for name, (_, what, example) in FIELDS.items()}))
    else:
        write(records.render_fields(FIELDS))
