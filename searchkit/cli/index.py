"""``index``: bring the index in line with a folder of clippings."""


from typing import Annotated

import typer

from .. import config, output, records
from ..errors import ConfigError, ExitCode
from ..output import Format
from ._common import (
    DebugOpt,
    FormatOpt,
    IndexOpt,
    LockTimeoutOpt,
    SeedsOpt,
    engine_for,
    err,
    paths,
    progress,
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
    index: IndexOpt = None,
    seeds: SeedsOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Index a folder of clippings: only added, changed and deleted files are touched."""
    index_dir, default_folder = paths(index, folder or seeds)
    report = engine_for(index_dir).update(folder or default_folder, rebuild=rebuild,
                                          lock_timeout=lock_timeout, progress=progress())
    try:  # where `search` looks when no index is named or found (config.locate_index)
        config.record_default(index_dir, report.folder)
    except ConfigError as exc:
        err(f"Note: {exc}")
    if report.rebuild_reason:
        err(f"Note: {report.rebuild_reason}")
    for line in records.failure_lines(report):
        err(line)
    for line in records.note_lines(report):
        err(line)
    if fmt is Format.json:
        write(output.dumps(records.report_record(report)))
    else:
        write(records.render_report(report))
    if report.failed:
        raise typer.Exit(int(ExitCode.SOME_FILES_FAILED))
