#!/usr/bin/env python3
"""News ranking benchmark (issue #13, item 8): the first page `search` shows, on real news.

    python benchmarks/news_ranking.py                 # unpack, index, run, print
    python benchmarks/news_ranking.py --format json   # the same as JSON
    python benchmarks/news_ranking.py --index DIR     # reuse an index of the folder

The HuffPost folder (../shared/corpora/huffpost10k.tar.gz: 9,999 clippings, 2018-2022)
is unpacked into a fresh folder under /tmp at run time, never into the repository, and
indexed with ``searchkit.indexer``. The 34 queries of ``news_queries/queries.tsv`` then
run through ``searchkit.engine`` as the terminal display runs them (all words; a page
that whole matches leave short filled with the best partial matches, after them), and
each first page is scored with ``searchkit.evaluate`` against ``news_queries/qrels.txt``
(nDCG@10, P@10), in the order shown. Beside it, "before": what `search` showed before
the fill (whole matches only; the any-word fallback only when nothing has every word).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))  # run from a checkout without installing

from searchkit import evaluate, indexer  # noqa: E402
from searchkit.engine import SearchRequest, open_engine  # noqa: E402
from searchkit.results import SearchResults  # noqa: E402

TARBALL = REPO.parent / "shared" / "corpora" / "huffpost10k.tar.gz"
QUERIES = HERE / "news_queries" / "queries.tsv"
QRELS = HERE / "news_queries" / "qrels.txt"
PAGE = 10


@dataclass(frozen=True)
class Row:
    qid: str
    text: str
    whole: int  # entries with every word
    partial_shown: int  # partial matches on the first page (after)
    before: evaluate.QueryScores
    after: evaluate.QueryScores


def unpack(tarball: Path, dest: Path) -> Path:
    """Extract ``tarball`` into ``dest``; return its clippings folder (``docs/``)."""
    with tarfile.open(tarball) as tf:
        tf.extractall(dest, filter="data")  # nothing outside dest, no links or devices
    docs = dest / "docs"
    if not docs.is_dir():
        raise SystemExit(f"{tarball}: no docs/ folder")
    return docs


def build(docs: Path, index_dir: Path) -> float:
    started = time.monotonic()
    report = indexer.update(docs, index_dir)
    if report.failed:
        raise SystemExit(f"{len(report.failed)} clippings failed to load, first: "
                         f"{report.failed[0].message}")
    return time.monotonic() - started


def ranking(results: SearchResults) -> list[tuple[str, float]]:
    """The page as (docid, score) in the order shown: the HuffPost files are named by
    their front-matter id, and the scores are ranks (partial matches may score higher
    than the whole matches above them; trec_eval's order would undo the tiers)."""
    return [(Path(h.id).stem, -float(h.rank)) for h in results.hits]


def measure(index_dir: Path) -> list[Row]:
    engine = open_engine(index_dir)
    topics = evaluate.load_queries(QUERIES)
    qrels = evaluate.load_qrels(QRELS)
    rows: list[Row] = []
    for t in topics:
        ask = SearchRequest(t.text, limit=PAGE, snippets=0, diagnose=False, timeout=None)
        shown = engine.search(ask)  # fallback on, as on the terminal
        strict = engine.search(SearchRequest(**{**ask.__dict__, "fallback": False}))
        before = strict if strict.total else shown  # whole matches, else all partial
        judged = qrels.get(t.qid, {})
        rows.append(Row(t.qid, t.text, strict.total, sum(h.partial for h in shown.hits),
                        evaluate.score_query(t.qid, ranking(before), judged),
                        evaluate.score_query(t.qid, ranking(shown), judged)))
    return rows


def record(rows: list[Row], index_seconds: float | None) -> dict[str, Any]:
    def mean(which: str, name: str) -> float:
        scores: list[evaluate.QueryScores] = [getattr(r, which) for r in rows]
        return round(sum(q.measure(name) for q in scores) / len(scores), 4)

    return {
        "queries": len(rows),
        "index_seconds": None if index_seconds is None else round(index_seconds, 1),
        "mean": {w: {"ndcg_cut_10": mean(w, "ndcg_cut_10"), "P_10": mean(w, "P_10")}
                 for w in ("before", "after")},
        "per_query": [{"qid": r.qid, "query": r.text, "whole": r.whole,
                       "partial_shown": r.partial_shown,
                       **{w: {"ndcg_cut_10": round(getattr(r, w).ndcg_cut_10, 4),
                              "P_10": round(getattr(r, w).P_10, 4)}
                          for w in ("before", "after")}}
                      for r in rows],
    }


def render(result: dict[str, Any]) -> str:
    lines = [f"{'qid':<4} {'query':<38} {'whole':>5} {'fill':>4}  "
             f"{'nDCG@10 before > after':>22}  {'P@10 before > after':>19}"]
    for r in result["per_query"]:
        b, a = r["before"], r["after"]
        lines.append(f"{r['qid']:<4} {r['query'][:38]:<38} {r['whole']:>5} "
                     f"{r['partial_shown']:>4}  {b['ndcg_cut_10']:>10.4f} > "
                     f"{a['ndcg_cut_10']:<9.4f}  {b['P_10']:>8.2f} > {a['P_10']:<8.2f}")
    m = result["mean"]
    lines.append(f"{'mean':<4} {result['queries']} queries{'':<27} {'':>4}  "
                 f"{m['before']['ndcg_cut_10']:>10.4f} > {m['after']['ndcg_cut_10']:<9.4f}  "
                 f"{m['before']['P_10']:>8.4f} > {m['after']['P_10']:<8.4f}")
    lines += ["", "whole: entries with every word; fill: partial matches on the first page; "
              "before: whole matches only (any word only when none has every word); "
              "after: whole matches, then the best partial ones"]
    if result["index_seconds"] is not None:
        lines.append(f"indexed in {result['index_seconds']:.1f} s")
    return "".join(line.rstrip() + "\n" for line in lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=TARBALL, help="the HuffPost tarball")
    ap.add_argument("--index", type=Path,
                    help="an index of the HuffPost folder to reuse (no unpacking)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the work folder (its index serves --index later)")
    ap.add_argument("--format", choices=("table", "json"), default="table")
    opts = ap.parse_args(argv)
    work: Path | None = None
    index_seconds = None
    try:
        if opts.index:
            index_dir = opts.index
        else:
            if not opts.corpus.is_file():
                ap.error(f"no corpus at {opts.corpus} (--corpus)")
            work = Path(tempfile.mkdtemp(prefix="searchkit-news-"))
            index_dir = work / "index"
            index_seconds = build(unpack(opts.corpus, work / "corpus"), index_dir)
        result = record(measure(index_dir), index_seconds)
    finally:
        if work is not None and not opts.keep:
            shutil.rmtree(work, ignore_errors=True)
    if opts.format == "json":
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    else:
        sys.stdout.write(render(result))
        if work is not None and opts.keep:
            sys.stdout.write(f"work folder: {work} (--index {work / 'index'})\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
