"""``index``: bring the index in line with a folder of clippings."""


from typing import Annotated

import typer

from .. import config, output, records
from ..errors import ConfigError, ExitCode
from ..output import Format
from ._common import (
    DebugOpt,
    EngineOpt,
    FormatOpt,
    IndexOpt,
    LockTimeoutOpt,
    OpenSearchCaOpt,
    OpenSearchIndexOpt,
    OpenSearchUrlOpt,
    QuietOpt,
    SeedsOpt,
    engine_for,
    err,
    note,
    paths,
    progress,
    use_engine,
    write,
)


def index_cmd(
    folder: Annotated[str | None, typer.Argument(
        help="Clippings folder. [default: --seeds, else the indexed folder, else ./seeds]")
    ] = None,
    rebuild: Annotated[bool, typer.Option(
        "--rebuild", help="Re-read every file (also to switch the index to another "
                          "folder); searchers keep the old index until done.")
    ] = False,
    lock_timeout: LockTimeoutOpt = 10.0,
    fmt: FormatOpt = Format.auto,
    quiet: QuietOpt = False,
    index: IndexOpt = None,
    seeds: SeedsOpt = None,
    engine_kind: EngineOpt = None,
    opensearch_url: OpenSearchUrlOpt = None,
    opensearch_index: OpenSearchIndexOpt = None,
    opensearch_ca: OpenSearchCaOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Index a folder of clippings: only added, changed and deleted files are touched."""
    use_engine(engine_kind, opensearch_url, opensearch_index, opensearch_ca)
    index_dir, default_folder = paths(index, folder or seeds)
    engine = engine_for(index_dir)
    report = engine.update(folder or default_folder, rebuild=rebuild,
                           lock_timeout=lock_timeout, progress=None if quiet else progress())
    try:  # where `search` looks when no index is named or found (config.locate_index)
        if engine.location == index_dir:  # an index folder (not one on a cluster)
            config.record_default(index_dir, report.folder)
    except ConfigError as exc:
        note(f"Note: {exc}", quiet)
    if report.rebuild_reason:
        note(f"Note: {report.rebuild_reason}", quiet)
    for line in records.failure_lines(report):
        err(line)
    for line in records.note_lines(report):
        note(line, quiet)
    if fmt is Format.json:
        write(output.dumps(records.report_record(report)))
    elif not quiet:  # the summary is for people; a failed file still prints (above)
        write(records.render_report(report))
    if report.failed:
        raise typer.Exit(int(ExitCode.SOME_FILES_FAILED))
