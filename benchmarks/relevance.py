#!/usr/bin/env python3
"""Relevance benchmark (issue #6): searchkit's default ranking on the Vaswani (NPL) collection.

    python benchmarks/relevance.py                  # unpack, index, evaluate, print
    python benchmarks/relevance.py --format json    # the same as JSON
    python benchmarks/relevance.py --run vaswani.run --min-map 0.30

The collection (../shared/corpora/vaswani.tar.gz: 11,429 abstracts in clipping format under
docs/, queries.tsv, qrels.txt; see vaswani.SOURCE.txt) is unpacked into a fresh folder
under /tmp at run time, never into the repository, indexed with ``searchkit.indexer`` and
evaluated with ``searchkit.evaluate`` (what ``searchkit eval`` runs): MAP, nDCG@10, P@10
and Recall@100 with trec_eval's semantics, beside the published BM25 figures. It also
times ``searchkit.search.search`` on the 93 topics (top 10, snippets on), so a ranking
change shows its cost in latency. ``--min-map`` makes the exit status 1 below a MAP.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))  # run from a checkout without installing

from searchkit import evaluate, indexer, search  # noqa: E402

TARBALL = REPO.parent / "shared" / "corpora" / "vaswani.tar.gz"

# Published and reference BM25 figures for these exact files (vaswani.SOURCE.txt).
REFERENCE = {
    "Terrier BM25 b=0.4, published": {"map": 0.2992},
    "PyTerrier BM25 b=0.75, published": {"map": 0.296517},
    "BM25 b=0.4 Terrier-style, pytrec_eval": {"map": 0.2981, "ndcg_cut_10": 0.4553,
                                              "P_10": 0.3753},
}


def unpack(tarball: Path, dest: Path) -> Path:
    """Extract ``tarball`` into ``dest``; return the folder holding docs/ and the topics."""
    with tarfile.open(tarball) as tf:
        if hasattr(tarfile, "data_filter"):
            tf.extractall(dest, filter="data")
        else:  # Python without extraction filters: refuse anything outside dest
            for member in tf.getmembers():
                target = (dest / member.name).resolve()
                if not str(target).startswith(str(dest.resolve())) or not (
                        member.isfile() or member.isdir()):
                    raise SystemExit(f"refusing to extract {member.name!r}")
            tf.extractall(dest)
    for root in (dest, *sorted(p for p in dest.iterdir() if p.is_dir())):
        if (root / "docs").is_dir() and (root / "queries.tsv").is_file():
            return root
    raise SystemExit(f"{tarball}: no docs/ folder with queries.tsv beside it")


def latency(index_dir: Path, topics: tuple[evaluate.Topic, ...]) -> dict[str, float]:
    """``search`` as a person runs it (top 10 with a snippet) on every topic, in ms."""
    search.search(index_dir, topics[0].text, literal=True)  # warm the caches
    times: list[float] = []
    for topic in topics:
        started = time.perf_counter()
        search.search(index_dir, topic.text, literal=True, diagnose=False)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"queries": len(times), "p50": statistics.median(times),
            "p95": times[int(0.95 * (len(times) - 1))], "max": times[-1]}


def measure(folder: Path, work: Path, depth: int, run_out: str | None) -> dict[str, Any]:
    index_dir = work / "index"
    started = time.monotonic()
    report = indexer.update(folder / "docs", index_dir)
    index_seconds = time.monotonic() - started
    if report.failed:
        raise SystemExit(f"{len(report.failed)} clippings failed to load, first: "
                         f"{report.failed[0].message}")
    ev = evaluate.evaluate(index_dir, folder / "queries.tsv", folder / "qrels.txt",
                           depth=depth)
    if run_out:
        evaluate.write_run(run_out, ev.run)
    return {
        "corpus": "vaswani",
        "documents": report.added + report.updated + report.unchanged,
        "index_seconds": round(index_seconds, 2),
        "evaluation": evaluate.record(ev),
        "search_ms": {k: round(v, 2) for k, v in
                      latency(index_dir, evaluate.load_queries(folder / "queries.tsv")).items()},
        "reference": REFERENCE,
    }


def render(result: dict[str, Any]) -> str:
    ev = result["evaluation"]
    names = list(evaluate.MEASURES)
    refs = list(REFERENCE.items())
    lines = [
        f"Vaswani (NPL): {result['documents']:,} documents indexed in "
        f"{result['index_seconds']:.1f} s; {ev['judged']} queries evaluated at depth "
        f"{ev['depth']} in {ev['seconds']:.1f} s",
        "",
        f"{'':<9}{'searchkit':>10}" + "".join(f"  {chr(65 + i):>6}" for i in range(len(refs))),
    ]
    for name in names:
        row = f"{evaluate.MEASURES[name]:<9}{ev['measures'][name]:>10.4f}"
        for _, ref in refs:
            row += f"  {ref[name]:>6.4f}" if name in ref else f"  {'-':>6}"
        lines.append(row)
    lines.append("")
    lines += [f"{chr(65 + i)}: {label}" for i, (label, _) in enumerate(refs)]
    ms = result["search_ms"]
    lines.append(f"search latency ({ms['queries']:.0f} topics, top 10, literal): "
                 f"p50 {ms['p50']:.1f} ms, "
                 f"p95 {ms['p95']:.1f} ms, max {ms['max']:.1f} ms")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=TARBALL, help="the vaswani tarball")
    ap.add_argument("--work", type=Path,
                    help="work folder (default: a new folder in /tmp, removed afterwards)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--depth", type=int, default=evaluate.DEFAULT_DEPTH,
                    help="documents ranked per query")
    ap.add_argument("--run", help="also write the TREC run to this file")
    ap.add_argument("--format", choices=("table", "json"), default="table")
    ap.add_argument("--min-map", type=float, help="exit 1 when MAP is below this")
    opts = ap.parse_args(argv)
    if not opts.corpus.is_file():
        ap.error(f"no collection at {opts.corpus} (--corpus)")
    work = opts.work or Path(tempfile.mkdtemp(prefix="searchkit-relevance-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        folder = unpack(opts.corpus, work / "corpus")
        result = measure(folder, work, opts.depth, opts.run)
    finally:
        if not (opts.keep or opts.work):
            shutil.rmtree(work, ignore_errors=True)
    if opts.format == "json":
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    else:
        sys.stdout.write(render(result))
        if opts.keep or opts.work:
            sys.stdout.write(f"work folder: {work}\n")
    got = result["evaluation"]["measures"]["map"]
    if opts.min_map is not None and got < opts.min_map:
        sys.stderr.write(f"MAP {got:.4f} is below --min-map {opts.min_map:.4f}\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
