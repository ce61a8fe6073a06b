"""Whoosh and OpenSearch side by side on the same folder (issue #17, item 5).

    .venv/bin/python benchmarks/opensearch_bench.py                  # HuffPost 10k
    .venv/bin/python benchmarks/opensearch_bench.py --size 100000    # generated 100k

Measures, for each engine: the build (`searchkit index FOLDER`, whole process), a 1-file
sync (one clipping edited, then `searchkit index FOLDER` again; median of --runs, a
different file each run), in-process query latency (p50/p95 of `Engine.search` over
benchmarks/news_queries/queries.tsv, after one warm-up pass; over HTTP for OpenSearch)
and the whole-process `search Q --no-refresh` (median of --runs per query, then the
median over queries). Load averages are recorded at start and end: other work on the
machine skews wall times. The OpenSearch node is one started by tools/osnode/osnode.py
on loopback (512 MB heap) unless --opensearch-url names one. Writes
benchmarks/results/opensearch-<size>.{json,md}; everything else (the index, the
corpus, searchkit's config record of the last index built) goes into --work.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from searchkit.config import OpenSearchSettings  # noqa: E402
from searchkit.engine import Engine, SearchRequest, open_engine  # noqa: E402
from tools.osnode import osnode  # noqa: E402

HUFFPOST = REPO.parent / "shared" / "corpora" / "huffpost10k.tar.gz"
QUERIES = HERE / "news_queries" / "queries.tsv"
BIN = Path(sys.executable).parent


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text(encoding="ascii").split()[:3])
    except OSError:
        return "unknown"


def log(msg: str) -> None:
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')} load {loadavg()}] {msg}\n")


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


CHILD_ENV = dict(os.environ)  # main() points SEARCHKIT_CONFIG_DIR into --work


def timed(cmd: list[str], ok: tuple[int, ...] = (0, 1)) -> float:
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=CHILD_ENV)
    seconds = time.perf_counter() - t
    if proc.returncode not in ok:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return seconds


def folder_for(size: int, work: Path, seed: int) -> Path:
    if size == 10000:
        with tarfile.open(HUFFPOST) as tar:
            tar.extractall(work, filter="data")
        return work / "docs"
    out = work / f"gen{size}"
    subprocess.run([sys.executable, str(HERE / "gen_corpus.py"), str(out), "--count",
                    str(size), "--seed", str(seed)], check=True)
    return out


def queries() -> list[str]:
    return [line.split("\t")[1] for line in QUERIES.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def in_process(engine: Engine, texts: list[str], repeat: int) -> dict[str, float]:
    """p50/p95 ms of engine.search over the query set, after one warm-up pass."""
    for q in texts:
        engine.search(SearchRequest(q, timeout=None))
    ms: list[float] = []
    for _ in range(repeat):
        for q in texts:
            t = time.perf_counter()
            engine.search(SearchRequest(q, timeout=None))
            ms.append((time.perf_counter() - t) * 1000)
    return {"n": len(ms), "p50_ms": pct(ms, 50), "p95_ms": pct(ms, 95)}


def edit(path: Path, n: int) -> None:
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("title:", f"title: bench{n}", 1) if "title:" in text
                    else text + "\n", encoding="utf-8")


def bench(opts: argparse.Namespace, work: Path, url: str) -> dict[str, Any]:
    folder = folder_for(opts.size, work, opts.seed)
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    index_dir = work / "whoosh-index"
    os_index = f"searchkit-bench-{uuid.uuid4().hex[:8]}"
    sk = str(BIN / "searchkit")
    engines: dict[str, list[str]] = {
        "whoosh": ["--index", str(index_dir)],
        "opensearch": ["--engine", "opensearch", "--opensearch-url", url,
                       "--opensearch-index", os_index],
    }
    res: dict[str, Any] = {"files": len(files), "folder": str(folder)}
    for name, where in engines.items():
        builds = []
        for _ in range(opts.build_runs):
            log(f"{name}: build of {len(files)} files")
            builds.append(timed([sk, "index", str(folder), *where, "--rebuild"]))
        res[f"{name}_build_s"] = statistics.median(builds)
    syncs: dict[str, list[float]] = {name: [] for name in engines}
    for n in range(opts.runs):
        edit(files[n * 7 % len(files)], n)
        for name, where in engines.items():
            syncs[name].append(timed([sk, "index", str(folder), *where]))
    for name in engines:
        res[f"{name}_sync_s"] = statistics.median(syncs[name])
    log("in-process queries")
    texts = queries()
    whoosh = open_engine(index_dir, "whoosh")
    opensearch = open_engine("", "opensearch", OpenSearchSettings(url=url, index=os_index))
    res["whoosh_query"] = in_process(whoosh, texts, opts.repeat)
    res["opensearch_query"] = in_process(opensearch, texts, opts.repeat)
    log("whole-process search")
    search = str(BIN / "search")
    for name, where in engines.items():
        per_query = []
        for q in texts[:opts.process_queries]:
            per_query.append(statistics.median(
                timed([search, q, *where, "--no-refresh"]) for _ in range(opts.runs)))
        res[f"{name}_search_ms"] = statistics.median(per_query) * 1000
    if opts.size == 10000 or opts.cleanup:
        from searchkit.opensearch_engine import OpenSearchEngine
        assert isinstance(opensearch, OpenSearchEngine)
        opensearch.client.indices.delete(index=os_index)
    return res


def markdown(r: dict[str, Any]) -> str:
    corpus = "HuffPost 10k" if r["size"] == 10000 else f"generated {r['size']:,}"
    w, o = r["results"], r["results"]
    return "\n".join([
        f"{corpus} ({w['files']:,} files); {r['machine']}; load {r['load_start']} at start, "
        f"{r['load_end']} at end; {r['node']}.",
        "",
        "| | Whoosh | OpenSearch |",
        "| --- | --- | --- |",
        f"| build (`searchkit index`, whole process{', median of ' + str(r['build_runs']) if r['build_runs'] > 1 else ''}) "  # noqa: E501
        f"| {w['whoosh_build_s']:.1f} s | {o['opensearch_build_s']:.1f} s |",
        f"| 1-file sync (median of {r['runs']}) | {w['whoosh_sync_s']:.2f} s "
        f"| {o['opensearch_sync_s']:.2f} s |",
        f"| query in process, p50 / p95 ({w['whoosh_query']['n']} searches) "
        f"| {w['whoosh_query']['p50_ms']:.1f} / {w['whoosh_query']['p95_ms']:.1f} ms "
        f"| {o['opensearch_query']['p50_ms']:.1f} / {o['opensearch_query']['p95_ms']:.1f} ms |",
        f"| whole-process `search Q --no-refresh` (median) | {w['whoosh_search_ms']:.0f} ms "
        f"| {o['opensearch_search_ms']:.0f} ms |",
        "",
    ])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=10000,
                    help="10000: the HuffPost folder; any other: generated (gen_corpus.py)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=5, help="runs per sync and search (median)")
    ap.add_argument("--build-runs", type=int, default=3, help="builds per engine (median)")
    ap.add_argument("--repeat", type=int, default=5, help="passes over the query set")
    ap.add_argument("--process-queries", type=int, default=6,
                    help="queries timed as whole processes")
    ap.add_argument("--opensearch-url", help="an existing cluster (else one node is started)")
    ap.add_argument("--cleanup", action="store_true", help="delete the OpenSearch index after")
    ap.add_argument("--work", help="work folder (default: a new one in /tmp, removed after)")
    ap.add_argument("--out", default=str(HERE / "results"))
    opts = ap.parse_args(argv)
    work = Path(opts.work or tempfile.mkdtemp(prefix="sk-osbench-"))
    work.mkdir(parents=True, exist_ok=True)
    # `searchkit index` records the index it built as the user's default: keep that
    # record in the work folder, never in the user's own config
    CHILD_ENV["SEARCHKIT_CONFIG_DIR"] = str(work / "config")
    for name in ("SEARCHKIT_INDEX", "SEARCHKIT_SEEDS", "SEARCHKIT_ENGINE"):
        CHILD_ENV.pop(name, None)
    result: dict[str, Any] = {
        "size": opts.size, "runs": opts.runs, "build_runs": opts.build_runs,
        "load_start": loadavg(),
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}",
    }
    cluster = None
    try:
        url = opts.opensearch_url
        if url is None:
            log("starting one OpenSearch node")
            cluster = osnode.start_cluster(1, work / "opensearch")
            url = cluster.url
            result["node"] = "one OpenSearch 2.19 node on loopback (osnode.py, 512 MB heap)"
        else:
            result["node"] = f"OpenSearch at {url}"
        result["results"] = bench(opts, work, url.rstrip("/"))
    finally:
        if cluster is not None:
            cluster.stop()
        if not opts.work:
            shutil.rmtree(work, ignore_errors=True)
    result["load_end"] = loadavg()
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"opensearch-{opts.size}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    table = markdown(result)
    stem.with_suffix(".md").write_text(table, encoding="utf-8")
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
