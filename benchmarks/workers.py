"""Child-process side of the benchmark: each job runs in a fresh interpreter.

    python benchmarks/workers.py JOB ARGS...   (run.py calls these; one JSON line out)

Jobs:
  build FOLDER INDEX             searchkit.indexer.update(); own CPU and peak RSS
  queries INDEX QUERIES REPEAT   in-process searchkit.search.search() latencies
  stats INDEX                    entries, segments, ... (searchkit.search.stats)
  fts5-build FOLDER DB           the same entries into SQLite FTS5
  fts5-queries DB QUERIES REPEAT in-process FTS5 latencies
  profile-build FOLDER INDEX OUT cProfile of a full build (top functions -> JSON)
  profile-queries INDEX QUERIES OUT  cProfile of the query set
  profile-refresh FOLDER INDEX OUT   a no-op freshness check: pieces and profile
  anatomy INDEX                  index bytes by file kind, terms and postings by field

QUERIES is a JSON file written by run.py (a list of query specs).
"""

from __future__ import annotations

import inspect
import json
import os
import resource
import sqlite3
import sys
import time
from typing import Any


def _rusage() -> dict[str, float]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "cpu_self_s": me.ru_utime + me.ru_stime,
        "cpu_children_s": kids.ru_utime + kids.ru_stime,
        "maxrss_self_mb": me.ru_maxrss / 1024,  # Linux: kilobytes
        "maxrss_children_mb": kids.ru_maxrss / 1024,  # the largest child (shard, parser)
    }


def _pct(values: list[float], p: float) -> float:
    """Percentile by linear interpolation (p in 0..100)."""
    s = sorted(values)
    if not s:
        return float("nan")
    k = (len(s) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def summary_ms(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {"n": len(ms), "p50": _pct(ms, 50), "p95": _pct(ms, 95), "p99": _pct(ms, 99),
            "min": min(ms), "max": max(ms), "mean": sum(ms) / len(ms)}


# ---------------------------------------------------------------- searchkit


def job_build(folder: str, index_dir: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    from searchkit import indexer
    imported = time.perf_counter() - t0
    started = time.perf_counter()
    report = indexer.update(folder, index_dir)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "import_s": imported, "added": report.added,
            "failed": len(report.failed), "committed": report.committed,
            "first_failures": [f"{f.path}: {f.message}" for f in report.failed[:3]],
            **_rusage()}


def _search_kwargs() -> dict[str, str]:
    """Which optional features ``searchkit.search.search`` has today."""
    from searchkit import search as search_mod

    params = inspect.signature(search_mod.search).parameters
    found = {}
    for name in ("sort", "sort_by", "sortedby", "order", "order_by"):
        if name in params:
            found["sort"] = name
            break
    return found


def job_queries(index_dir: str, queries_path: str, repeat: str) -> dict[str, Any]:
    from searchkit import search as search_mod

    specs = json.load(open(queries_path, encoding="utf-8"))
    n = int(repeat)
    features = _search_kwargs()
    out: dict[str, Any] = {"features": features, "queries": {}}
    all_times: list[float] = []
    for spec in specs:
        kwargs: dict[str, Any] = {"limit": 10}
        if spec.get("sort"):
            if "sort" not in features:
                out["queries"][spec["name"]] = {
                    "skipped": "search.search() has no sort parameter yet"}
                continue
            sort_keys = getattr(search_mod, "SORT_KEYS", None) or getattr(
                __import__("searchkit.results", fromlist=["x"]), "SORT_KEYS", ())
            value = spec["sort"] if not sort_keys or spec["sort"] in sort_keys else next(
                (k for k in ("-date", "date") if k in sort_keys), spec["sort"])
            kwargs[features["sort"]] = value
        try:
            res = search_mod.search(index_dir, spec["q"], **kwargs)  # warm-up
        except Exception as exc:  # noqa: BLE001 - report, do not fail the run
            out["queries"][spec["name"]] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        times = []
        for _ in range(n):
            t = time.perf_counter()
            search_mod.search(index_dir, spec["q"], **kwargs)
            times.append(time.perf_counter() - t)
        all_times += times
        out["queries"][spec["name"]] = {
            "q": spec["q"] + (f"  (sort={kwargs[features['sort']]})" if spec.get("sort") else ""),
            "total": res.total, "hits": len(res.hits), "partial": res.partial,
            **summary_ms(times)}
    out["all"] = summary_ms(all_times) if all_times else None
    out.update(_rusage())
    return out


def job_stats(index_dir: str) -> dict[str, Any]:
    from searchkit import search as search_mod

    st = search_mod.stats(index_dir)
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in st.items()}


# ---------------------------------------------------------------- SQLite FTS5

FTS_COLUMNS = ("title", "excerpt", "provider", "topics", "related")
FTS_WEIGHTS = (2.0, 1.0, 1.0, 1.0, 0.5)  # searchkit's BM25F field boosts


def _entries(folder: str) -> tuple[list[dict[str, Any]], int, float]:
    """Every index entry searchkit would write, parsed by searchkit's own loader."""
    from searchkit import documents
    try:
        from searchkit.entries import entries_for
        from searchkit.scan import scan
    except ImportError:  # before the indexer package (issue #12)
        from searchkit.folder import entries_for, scan  # type: ignore[no-redef]

    started = time.perf_counter()
    files = scan(folder)
    out: list[dict[str, Any]] = []
    for rel in sorted(files):
        try:
            data, st = documents.read_file(os.path.join(folder, rel), rel)
            clip = documents.parse_bytes(data, rel)
        except Exception:  # noqa: BLE001 - searchkit skips them too
            continue
        out += entries_for(clip, "")
    return out, len(files), time.perf_counter() - started


def job_fts5_build(folder: str, db: str) -> dict[str, Any]:
    entries, n_files, parse_s = _entries(folder)
    started = time.perf_counter()
    if os.path.exists(db):
        os.remove(db)
    con = sqlite3.connect(db)
    con.executescript(f"""
        CREATE TABLE entries(id INTEGER PRIMARY KEY, key TEXT, kind TEXT, path TEXT,
                             url TEXT, domain TEXT, published INTEGER, title TEXT,
                             excerpt TEXT);
        CREATE VIRTUAL TABLE fts USING fts5({', '.join(FTS_COLUMNS)}, domain,
            tokenize = 'porter unicode61 remove_diacritics 2');
    """)
    with con:
        for i, e in enumerate(entries, 1):
            con.execute("INSERT INTO entries VALUES (?,?,?,?,?,?,?,?,?)",
                        (i, e["key"], e["kind"], e["path"], e.get("url", ""),
                         e.get("domain", ""), e.get("published"), e.get("title", ""),
                         e.get("excerpt", "")))
            con.execute("INSERT INTO fts(rowid, title, excerpt, provider, topics, related, "
                        "domain) VALUES (?,?,?,?,?,?,?)",
                        (i, e.get("title", ""), e.get("excerpt", ""), e.get("provider", ""),
                         e.get("topics", ""), e.get("related", ""), e.get("domain", "")))
        con.execute("CREATE INDEX entries_published ON entries(published)")
    con.execute("INSERT INTO fts(fts) VALUES ('optimize')")
    con.commit()
    con.close()
    insert_s = time.perf_counter() - started
    return {"files": n_files, "entries": len(entries), "parse_s": parse_s,
            "insert_s": insert_s, "seconds": parse_s + insert_s,
            "bytes": os.path.getsize(db), "sqlite": sqlite3.sqlite_version, **_rusage()}


FTS_SQL = """
SELECT e.key, e.title, snippet(fts, 1, '[', ']', '…', 12)
FROM fts JOIN entries e ON e.id = fts.rowid
WHERE fts MATCH :m {where}
ORDER BY bm25(fts, {weights}) LIMIT 10
"""
FTS_COUNT = "SELECT count(*) FROM fts JOIN entries e ON e.id = fts.rowid " \
            "WHERE fts MATCH :m {where}"
FTS_RANGE_ONLY = "SELECT e.key, e.title, e.excerpt FROM entries e WHERE {where} " \
                 "ORDER BY e.published DESC LIMIT 10"
FTS_RANGE_COUNT = "SELECT count(*) FROM entries e WHERE {where}"


def fts_run(con: sqlite3.Connection, spec: dict[str, Any]) -> tuple[int, int]:
    """Top 10 plus the total, like searchkit (AND first, OR when AND finds nothing)."""
    f = spec["fts"]
    where = f.get("where", "")
    params = dict(f.get("params", {}))
    weights = ", ".join(str(w) for w in FTS_WEIGHTS) + ", 1.0"
    if not f.get("match"):
        rows = con.execute(FTS_RANGE_ONLY.format(where=where), params).fetchall()
        total = con.execute(FTS_RANGE_COUNT.format(where=where), params).fetchone()[0]
        return total, len(rows)
    and_where = f" AND {where}" if where else ""
    for m in (f["match"], f.get("fallback")):
        if not m:
            break
        params["m"] = m
        rows = con.execute(FTS_SQL.format(where=and_where, weights=weights), params).fetchall()
        if rows:
            total = con.execute(FTS_COUNT.format(where=and_where), params).fetchone()[0]
            return total, len(rows)
    return 0, 0


def job_fts5_queries(db: str, queries_path: str, repeat: str) -> dict[str, Any]:
    specs = json.load(open(queries_path, encoding="utf-8"))
    n = int(repeat)
    out: dict[str, Any] = {"queries": {}}
    all_times: list[float] = []
    for spec in specs:
        if not spec.get("fts"):
            continue
        con = sqlite3.connect(db)
        total, hits = fts_run(con, spec)  # warm-up
        con.close()
        times = []
        for _ in range(n):
            t = time.perf_counter()
            con = sqlite3.connect(db)  # searchkit opens the index per search too
            fts_run(con, spec)
            con.close()
            times.append(time.perf_counter() - t)
        all_times += times
        out["queries"][spec["name"]] = {"total": total, "hits": hits, **summary_ms(times)}
    out["all"] = summary_ms(all_times) if all_times else None
    return out


# ---------------------------------------------------------------- profiles


def _short(path: str) -> str:
    for marker in ("site-packages/", "/searchkit/", "/lib/python3"):
        if marker in path:
            tail = path.split(marker, 1)[1]
            return ("searchkit/" + tail) if marker == "/searchkit/" else tail
    return path


def _top(prof_path: str, n: int = 15) -> dict[str, list[dict[str, Any]]]:
    """The functions with the most own time and the most cumulative time."""
    import pstats

    st = pstats.Stats(prof_path)
    rows = []
    for (file, line, func), (_cc, nc, tt, ct, _callers) in st.stats.items():  # type: ignore[attr-defined]
        rows.append({"function": f"{_short(file)}:{line}({func})", "calls": nc,
                     "tottime_s": round(tt, 3), "cumtime_s": round(ct, 3)})
    return {"by_tottime": sorted(rows, key=lambda r: -r["tottime_s"])[:n],
            "by_cumtime": sorted(rows, key=lambda r: -r["cumtime_s"])[:n]}


def job_profile_build(folder: str, index_dir: str, out_prof: str) -> dict[str, Any]:
    import cProfile

    from searchkit import indexer
    prof = cProfile.Profile()
    prof.enable()
    indexer.update(folder, index_dir, workers=1)  # one process, so the profile sees parsing
    prof.disable()
    prof.dump_stats(out_prof)
    return {"profile": out_prof, "top": _top(out_prof)}


def job_profile_queries(index_dir: str, queries_path: str, out_prof: str) -> dict[str, Any]:
    import cProfile

    from searchkit import search as search_mod
    specs = [s for s in json.load(open(queries_path, encoding="utf-8")) if not s.get("sort")]
    ok = []
    for s in specs:
        try:
            search_mod.search(index_dir, s["q"])
            ok.append(s)
        except Exception:  # noqa: BLE001 - refused queries are reported by job_queries
            pass
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(2):
        for s in ok:
            search_mod.search(index_dir, s["q"])
    prof.disable()
    prof.dump_stats(out_prof)
    return {"profile": out_prof, "top": _top(out_prof)}


def job_profile_refresh(folder: str, index_dir: str, out_prof: str) -> dict[str, Any]:
    """What a no-op freshness check costs, piece by piece, and its profile."""
    import cProfile

    from searchkit import indexer
    try:
        from searchkit.scan import scan
    except ImportError:  # before the indexer package (issue #12)
        from searchkit.folder import scan  # type: ignore[no-redef]

    def best(fn: Any) -> float:
        fn()
        xs = []
        for _ in range(3):
            t = time.perf_counter()
            fn()
            xs.append(time.perf_counter() - t)
        return min(xs) * 1000

    def manifest() -> None:
        ix = indexer.open_index(index_dir)
        with ix.reader() as r:
            indexer.read_manifest(r)

    out = {"scan_ms": best(lambda: scan(folder)), "open_and_manifest_ms": best(manifest),
           "check_ms": best(lambda: indexer.diff_index(folder, index_dir)),
           "refresh_noop_ms": best(lambda: indexer.refresh(folder, index_dir))}
    prof = cProfile.Profile()
    prof.enable()
    indexer.refresh(folder, index_dir)
    prof.disable()
    prof.dump_stats(out_prof)
    return {**out, "profile": out_prof, "top": _top(out_prof)}


def job_anatomy(index_dir: str) -> dict[str, Any]:
    """Index bytes by file kind, and terms/postings per field of the largest segment."""
    from searchkit import indexer

    by_kind: dict[str, int] = {}
    for name in os.listdir(index_dir):
        kind = name.rsplit(".", 1)[-1] if "." in name else name
        if name.endswith(".col"):
            kind = name.split(".", 1)[1]  # "<field>.col"
        by_kind[kind] = by_kind.get(kind, 0) + os.path.getsize(os.path.join(index_dir, name))
    ix = indexer.open_index(index_dir)
    fields: dict[str, dict[str, int]] = {}
    with ix.reader() as r:
        leaf = max(r.leaf_readers(), key=lambda lr: lr[0].doc_count_all())[0]
        for fieldname, text in leaf.all_terms():
            f = fields.setdefault(fieldname, {"terms": 0, "term_bytes": 0, "postings": 0})
            f["terms"] += 1
            f["term_bytes"] += len(text)
            f["postings"] += leaf.doc_frequency(fieldname, text)
        entries = leaf.doc_count_all()
    return {"bytes_by_kind": dict(sorted(by_kind.items(), key=lambda kv: -kv[1])),
            "segment_entries": entries,
            "fields": dict(sorted(fields.items(), key=lambda kv: -kv[1]["terms"]))}


JOBS = {
    "profile-refresh": job_profile_refresh,
    "anatomy": job_anatomy,
    "build": job_build,
    "queries": job_queries,
    "stats": job_stats,
    "fts5-build": job_fts5_build,
    "fts5-queries": job_fts5_queries,
    "profile-build": job_profile_build,
    "profile-queries": job_profile_queries,
}


def main() -> int:
    job, args = sys.argv[1], sys.argv[2:]
    result = JOBS[job](*args)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
