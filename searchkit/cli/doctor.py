"""``doctor``: lint a folder of clippings without touching the index."""


from enum import Enum
from typing import Annotated

import typer

from .. import output
from ..errors import ExitCode
from . import _common, _progress
from ._common import (
    DebugOpt,
    IndexOpt,
    SeedsOpt,
    err,
    paths,
    write,
)


class DoctorFormat(str, Enum):
    text = "text"  # one line per finding on stdout, the summary on stderr
    json = "json"  # one JSON document: the findings and the summary


def doctor_cmd(
    folder: Annotated[str | None, typer.Argument(
        help="Clippings folder. [default: --seeds, else the indexed folder, else ./seeds]")
    ] = None,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Warnings count too: exit 1 on any finding.")] = False,
    fmt: Annotated[DoctorFormat, typer.Option(
        "--format", "-f", help="text: `path: field: problem (error|warning)` lines; "
                               "json: the findings and a summary.")] = DoctorFormat.text,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="Print only the findings that count (errors; warnings "
                              "too with --strict); no summary.")] = False,
    index: IndexOpt = None,
    seeds: SeedsOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Check every clipping for what `index` would refuse (errors) and what is worth
    fixing (warnings); never opens the index. Exit 0 when nothing counts, 1 when a
    finding counts, 2 on a usage error."""
    # The folder as `index` finds it; an index is only looked at (never opened for
    # writing) when no folder is named, to read which folder it was built from.
    target = folder or (seeds if seeds else paths(index, None)[1])
    show_progress = not quiet and _common.stderr_is_terminal()
    from .. import doctor  # the loader and its workers: only for this command

    checkup = doctor.check_folder(
        target, progress=_progress.bar(label="checking") if show_progress else None)
    if fmt is DoctorFormat.json:
        write(output.dumps(checkup.record(strict)))
    else:
        shown = checkup.counting(strict) if quiet else checkup.findings
        write("".join(f"{output.safe(str(f))}\n" for f in shown))
        if not quiet:
            if not checkup.files:
                err(f"Note: no clippings in {target} (files ending .md, .markdown or .txt; "
                    "hidden ones are skipped)")
            err(checkup.summary())
    if not checkup.ok(strict):
        raise typer.Exit(int(ExitCode.NO_HITS))  # 1: a finding counts
