"""``eval``: run TREC topics through the ranking and score them against judgments."""


from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from ._common import DebugOpt, IndexOpt, paths, write


class EvalFormat(str, Enum):
    table = "table"
    json = "json"


def eval_cmd(
    queries: Annotated[Path, typer.Option("--queries", help="Topics: qid<TAB>text per line.")],
    qrels: Annotated[Path, typer.Option("--qrels", help="Judgments: 'qid 0 docid relevance'.")],
    run: Annotated[Path | None, typer.Option("--run", help="Also write the TREC run here.")
                   ] = None,
    depth: Annotated[int, typer.Option("--depth", min=1, help="Entries ranked per topic.")
                     ] = 1000,
    fmt: Annotated[EvalFormat, typer.Option("--format", "-f", help="table or json.")
                   ] = EvalFormat.table,
    index: IndexOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Score the ranking: MAP, nDCG@10, P@10 and Recall@100 (trec_eval's definitions)."""
    from .. import evaluate, output

    index_dir, _ = paths(index, None)
    ev = evaluate.evaluate(index_dir, queries, qrels, depth=depth)
    if run is not None:
        evaluate.write_run(run, ev.run)
    write(output.dumps(evaluate.record(ev)) if fmt is EvalFormat.json
          else evaluate.render_table(ev))
