#!/usr/bin/env python3
"""searchkit benchmark suite (issue #5): one command, JSON + Markdown results.

    python benchmarks/run.py --size 100000          # the full run (~10-15 min on 2 cores)
    python benchmarks/run.py --size 2000 --quick    # CI smoke test (well under a minute)

What it measures, on a synthetic corpus of ``--size`` clippings (benchmarks/gen_corpus.py)
and on the real HuffPost 10k corpus (../shared/corpora/huffpost10k.tar.gz, unpacked at
run time into the work folder):

* full build through ``searchkit.indexer.update`` in a child process: clippings/s, wall
  and CPU seconds, peak RSS (ru_maxrss of the writer plus that of its largest child, a
  shard or parse process: they run at the same time, so the sum bounds the peak),
  index bytes per clipping;
* incremental ``searchkit index FOLDER --index DIR`` (whole process) with nothing,
  1 and 100 files changed, and query latency / segment count after many such commits;
* in-process ``searchkit.search.search`` latency p50/p95/p99 over a fixed query set;
* whole-process ``search QUERY --no-refresh`` and ``search QUERY`` (refresh on) on the
  seeds and on the big corpus, beside the import floor
  ``python -c "import typer, whoosh.index, whoosh.qparser, whoosh.fields"``, and a
  ``python -X importtime`` breakdown;
* the same entries and queries through SQLite FTS5, ripgrep and recoll (when installed),
  as ratios to searchkit.

Everything generated (corpora, indexes, recoll config) lives in ``--work`` (default: a
fresh folder under /tmp, deleted afterwards unless ``--keep``). Results go to
``benchmarks/results/<name>.json`` and ``.md`` (name ``latest``, or ``quick`` with
``--quick``). Before timing, the interpreter's site-packages and searchkit are
byte-compiled (``compileall``), because PYTHONDONTWRITEBYTECODE=1 would otherwise make
every start-up compile from source; ``--no-compile`` skips that.
"""

from __future__ import annotations

import argparse
import compileall
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import gen_corpus  # noqa: E402

PY = sys.executable
BIN = Path(PY).parent
WORKERS = str(HERE / "workers.py")
REAL_TARBALL = REPO.parent / "shared" / "corpora" / "huffpost10k.tar.gz"
REAL_SOURCE = REPO.parent / "shared" / "corpora" / "huffpost10k.SOURCE.txt"
SEEDS = REPO / "seeds"
FLOOR_CODE = "import typer, whoosh.index, whoosh.qparser, whoosh.fields"
CWD = "/"  # children run from here (the work folder once it exists), never the repo: a
# `python -c` child puts its cwd first on sys.path and would import ./searchkit


def searchkit_dir() -> str:
    """Where this interpreter's children import searchkit from."""
    return subprocess.run([PY, "-c", "import os, searchkit; print(os.path.dirname("
                                     "searchkit.__file__))"], capture_output=True, text=True,
                          cwd=CWD).stdout.strip()

# Targets from issue #5: (key, description, limit, unit, "<=" or ">=").
TARGETS = [
    ("seeds_search_ms", "whole-process `search` on the seeds", 190, "ms", "<="),
    ("seeds_over_floor_ms", "seeds `search` minus import floor", 20, "ms", "<="),
    ("big_search_ms", "whole-process `search` at 100k", 230, "ms", "<="),
    ("big_over_floor_ms", "100k `search` minus import floor", 60, "ms", "<="),
    ("rg_ratio", "ripgrep time / `search` time at 100k", 3, "x", ">="),
    ("query_p50_ms", "in-process query p50 at 100k", 8, "ms", "<="),
    ("query_p99_ms", "in-process query p99 at 100k", 50, "ms", "<="),
    ("build_rate", "full build at 100k", 1000, "clippings/s", ">="),
    ("update1_s", "1 changed file, `searchkit index` whole process, 100k", 1.5, "s", "<="),
    ("peak_rss_mb", "peak RSS indexing 100k", 500, "MB", "<="),
    ("index_kb_per_clip", "index size per clipping, 100k", 2.5, "KB", "<="),
]


# ---------------------------------------------------------------- query sets


def _epoch(y: int, m: int, d: int) -> int:
    return int(dt.datetime(y, m, d, tzinfo=dt.timezone.utc).timestamp())


H1_2019 = {"where": "e.published BETWEEN :lo AND :hi",
           "params": {"lo": _epoch(2019, 1, 1), "hi": _epoch(2019, 7, 1) - 1}}


def query_set(kind: str) -> list[dict[str, Any]]:
    """The fixed query set; each entry says how FTS5, ripgrep and recoll ask the same."""
    if kind == "synthetic":
        w = gen_corpus.QUERY_WORDS
        term, (a1, a2), (b1, b2, b3) = w["common"], w["pair"], w["triple"]
        (o1, o2), (p1, p2, p3), prov = w["or_pair"], w["or_triple"], w["provider"]
        rare = gen_corpus.rare_word(5_000)
        phrase = ("facial", "recognition")
        prefix = "elect"
    else:  # huffpost10k
        term, (a1, a2), (b1, b2, b3) = "trump", ("climate", "change"), ("covid", "vaccine",
                                                                        "booster")
        (o1, o2), (p1, p2, p3), prov = ("biden", "trump"), ("ukraine", "russia", "putin"), \
            "huffingtonpost.com"
        rare, phrase, prefix = "zelenskyy", ("supreme", "court"), "elect"
    miss = "zzyzxqv"
    date = "published:[2019-01 TO 2019-06]"
    return [
        {"name": "1 term", "q": term, "fts": {"match": term},
         "rg": {"all": [term]}, "recoll": term},
        {"name": "2 terms AND", "q": f"{a1} {a2}", "fts": {"match": f"{a1} {a2}"},
         "rg": {"all": [a1, a2]}, "recoll": f"{a1} {a2}"},
        {"name": "3 terms AND", "q": f"{b1} {b2} {b3}", "fts": {"match": f"{b1} {b2} {b3}"},
         "rg": {"all": [b1, b2, b3]}, "recoll": f"{b1} {b2} {b3}"},
        {"name": "2 terms OR", "q": f"{o1} OR {o2}", "fts": {"match": f"{o1} OR {o2}"},
         "rg": {"any": [o1, o2]}, "recoll": f"{o1} OR {o2}"},
        {"name": "3 terms OR", "q": f"{p1} OR {p2} OR {p3}",
         "fts": {"match": f"{p1} OR {p2} OR {p3}"}, "rg": {"any": [p1, p2, p3]},
         "recoll": f"{p1} OR {p2} OR {p3}"},
        {"name": "rare term", "q": rare, "fts": {"match": rare}, "rg": {"all": [rare]},
         "recoll": rare},
        {"name": "phrase", "q": f'"{phrase[0]} {phrase[1]}"',
         "fts": {"match": f'"{phrase[0]} {phrase[1]}"'},
         "rg": {"all": [f"{phrase[0]} {phrase[1]}"]}, "recoll": f'"{phrase[0]} {phrase[1]}"'},
        {"name": "prefix", "q": f"{prefix}*", "fts": {"match": f"{prefix}*"},
         "rg": {"regex": rf"\b{prefix}"}, "recoll": f"{prefix}*"},
        {"name": "provider field", "q": f"provider:{prov}",
         "fts": {"match": f'{{provider domain}} : "{prov}"'}},
        {"name": "provider + term", "q": f"provider:{prov} {term}",
         "fts": {"match": f'{{provider domain}} : "{prov}" AND {term}'}},
        {"name": "date range", "q": date, "fts": {"match": "", **H1_2019}},
        {"name": "date range + term", "q": f"{a1} {date}", "fts": {"match": a1, **H1_2019}},
        {"name": "no AND match -> OR", "q": f"{term} {miss}",
         "fts": {"match": f"{term} {miss}", "fallback": f"{term} OR {miss}"}},
        {"name": "sorted by date", "q": term, "sort": "-date"},
    ]


# Whole-process runs use this subset (10 timed runs each, 2 modes).
WHOLE_PROCESS = ("1 term", "2 terms AND", "provider field", "date range")


# ---------------------------------------------------------------- helpers


def log(msg: str) -> None:
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')} load {loadavg()}] {msg}\n")
    sys.stderr.flush()


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def worker(job: str, *args: str, timeout: float = 3600) -> dict[str, Any]:
    """Run a job of workers.py in a fresh interpreter; its wall time and CPU as well."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run([PY, WORKERS, job, *args], capture_output=True, text=True,
                          timeout=timeout, cwd=CWD)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"workers.py {job} failed:\n{proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["wall_s"] = wall
    out["cpu_tree_s"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return out


def run_timed(cmd: list[str], ok: tuple[int, ...] = (0, 1)
              ) -> tuple[float, subprocess.CompletedProcess[str]]:
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True,
                          cwd=CWD)
    seconds = time.perf_counter() - t
    if proc.returncode not in ok:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return seconds, proc


def rounds(cmds: dict[str, list[str]], n: int) -> dict[str, float]:
    """Median wall ms of each command; commands alternate, one untimed warm-up each."""
    times: dict[str, list[float]] = {k: [] for k in cmds}
    for c in cmds.values():
        run_timed(c)
    for _ in range(n):
        for k, c in cmds.items():
            times[k].append(run_timed(c)[0] * 1000)
    return {k: median(v) for k, v in times.items()}


def dir_bytes(path: str) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            if "LOCK" not in f:
                total += os.path.getsize(os.path.join(root, f))
    return total


def script(name: str) -> list[str]:
    """A console script of this interpreter's environment, run as a user would."""
    path = BIN / name
    if path.exists():
        return [str(path)]
    entry = {"search": "search_main", "searchkit": "main"}[name]
    return [PY, "-c", f"import sys; from searchkit.cli import {entry}; sys.argv[0]="
                      f"'{name}'; {entry}()"]


def which(name: str) -> str | None:
    return shutil.which(name)


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor()
    mem = ""
    try:
        for line in open("/proc/meminfo", encoding="utf-8"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) // 1024} MB"
    except OSError:
        pass

    def ver(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()[0]
        except (OSError, IndexError):
            return "not available"

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True,
                                  text=True).stdout.strip()
        except OSError:
            return ""

    from importlib.metadata import PackageNotFoundError, version

    def pkg(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    where = searchkit_dir()
    if where.startswith(str(REPO) + os.sep):
        dirty = git("status", "--porcelain", "--", "searchkit")
        commit = git("rev-parse", "--short", "HEAD") + (
            " + uncommitted changes in searchkit/" if dirty else "")
    else:
        commit = f"imported from {where} (repo HEAD {git('rev-parse', '--short', 'HEAD')})"
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu, "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "memory": mem, "os": platform.platform(),
        "python": platform.python_version(), "executable": PY,
        "whoosh": pkg("whoosh3"), "typer": pkg("typer"), "searchkit": pkg("searchkit"),
        "sqlite": __import__("sqlite3").sqlite_version,
        "ripgrep": ver(["rg", "--version"]) if which("rg") else "not available",
        "recoll": (ver(["dpkg-query", "-W", "-f", "${Version}", "recollcmd"])
                   if which("recollindex") else "not available"),
        "commit": commit, "searchkit_dir": where,
        "PYTHONDONTWRITEBYTECODE": os.environ.get("PYTHONDONTWRITEBYTECODE", ""),
        "loadavg_start": loadavg(),
    }


def loadavg() -> str:
    """1/5/15-minute load: other work on the machine skews wall times (not CPU times)."""
    try:
        return " ".join(open("/proc/loadavg", encoding="ascii").read().split()[:3])
    except OSError:
        return "unknown"


def compile_bytecode() -> dict[str, Any]:
    """Byte-compile site-packages and searchkit (PYTHONDONTWRITEBYTECODE=1 never does)."""
    t = time.perf_counter()
    dirs = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"],
            searchkit_dir() or str(REPO / "searchkit")}
    for d in sorted(dirs):
        if os.path.isdir(d):
            compileall.compile_dir(d, quiet=2, workers=0)
    return {"compiled": sorted(dirs), "seconds": round(time.perf_counter() - t, 1)}


# ---------------------------------------------------------------- pieces


def change_files(folder: str, rels: list[str], n: int, originals: dict[str, bytes]) -> None:
    """Give each file new content (the excerpt gains a word), remembering the original."""
    for rel in rels:
        path = os.path.join(folder, rel)
        data = open(path, "rb").read()
        originals.setdefault(path, data)
        text = data.decode("utf-8")
        if '\nexcerpt: "' in text:
            text = text.replace('\nexcerpt: "', f'\nexcerpt: "Revision{n} ', 1)
        else:
            text += f"\nrevision {n}\n"
        open(path, "w", encoding="utf-8").write(text)


def restore(originals: dict[str, bytes]) -> None:
    for path, data in originals.items():
        open(path, "wb").write(data)


def importtime(cmd: list[str], top: int = 15) -> dict[str, Any]:
    """``python -X importtime`` of a command: the modules with the largest cumulative time."""
    if cmd[0] != PY:
        cmd = [PY, *cmd]  # console script path -> run it under the same interpreter
    proc = subprocess.run([cmd[0], "-X", "importtime", *cmd[1:]], capture_output=True,
                          text=True, cwd=CWD)
    rows = []
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)", line)
        if m:
            rows.append({"module": m.group(4), "depth": len(m.group(3)) // 2,
                         "self_ms": int(m.group(1)) / 1000, "cum_ms": int(m.group(2)) / 1000})
    total = sum(r["cum_ms"] for r in rows if r["depth"] == 0)
    return {"total_ms": round(total, 1), "modules": len(rows),
            "top": sorted(rows, key=lambda r: -r["cum_ms"])[:top]}


def whole_process(index_dir: str, specs: list[dict[str, Any]], n: int,
                  with_refresh: bool = True) -> dict[str, Any]:
    """`search Q --no-refresh` and `search Q` (refresh on), median of n, beside the floor."""
    search = script("search")
    cmds: dict[str, list[str]] = {
        "python -c pass": [PY, "-c", "pass"],
        "import floor": [PY, "-c", FLOOR_CODE],
    }
    for s in specs:
        cmds[f"--no-refresh|{s['name']}"] = [*search, s["q"], "--index", index_dir,
                                             "--no-refresh"]
        if with_refresh:
            cmds[f"refresh|{s['name']}"] = [*search, s["q"], "--index", index_dir]
    if with_refresh and specs:  # what the quick freshness check saves at this size
        cmds[f"full-check|{specs[0]['name']}"] = [*search, specs[0]["q"], "--index",
                                                  index_dir, "--full-check"]
    med = rounds(cmds, n)
    out: dict[str, Any] = {"runs": n, "bare_python_ms": med.pop("python -c pass"),
                           "floor_ms": med.pop("import floor"), "no_refresh": {}, "refresh": {}}
    out["full_check"] = {k.split("|", 1)[1]: med.pop(k) for k in list(med)
                         if k.startswith("full-check|")}
    for k, v in med.items():
        mode, name = k.split("|", 1)
        out["no_refresh" if mode == "--no-refresh" else "refresh"][name] = v
    for mode in ("no_refresh", "refresh"):
        vals = list(out[mode].values())
        out[f"{mode}_max_ms"] = max(vals) if vals else None
        out[f"{mode}_median_ms"] = median(vals) if vals else None
    out["importtime"] = importtime([*search, specs[0]["q"], "--index", index_dir,
                                    "--no-refresh"])
    out["importtime_help"] = importtime([*search, "--help"])
    return out


def rg_cmd(folder: str, spec: dict[str, Any]) -> list[str] | None:
    r = spec.get("rg")
    if not r:
        return None
    if "any" in r:
        args = ["rg", "-l", "-i", "-F"]
        for p in r["any"]:
            args += ["-e", p]
        return [*args, folder]
    if "regex" in r:
        return ["rg", "-l", "-i", "-e", r["regex"], folder]
    words = r["all"]
    first = f"rg -l -i -F -e {json.dumps(words[0])} {json.dumps(folder)}"
    rest = "".join(f" | xargs -d '\\n' -r rg -l -i -F -e {json.dumps(w)}" for w in words[1:])
    return ["sh", "-c", first + rest]


FTS_WHOLE = r"""
import sqlite3, sys, json
spec = json.loads(sys.argv[2]); f = spec["fts"]
con = sqlite3.connect(sys.argv[1])
where = f.get("where", ""); params = dict(f.get("params", {}))
w = " AND " + where if where else ""
if not f.get("match"):
    rows = con.execute("SELECT e.key, e.title, e.excerpt FROM entries e WHERE " + where +
                       " ORDER BY e.published DESC LIMIT 10", params).fetchall()
    total = con.execute("SELECT count(*) FROM entries e WHERE " + where, params).fetchone()[0]
else:
    for m in (f["match"], f.get("fallback")):
        if not m:
            break
        params["m"] = m
        rows = con.execute("SELECT e.key, e.title, snippet(fts, 1, '[', ']', '…', 12) FROM fts "
                           "JOIN entries e ON e.id = fts.rowid WHERE fts MATCH :m" + w +
                           " ORDER BY bm25(fts, 2.0, 1.0, 1.0, 1.0, 0.5, 1.0) LIMIT 10",
                           params).fetchall()
        if rows:
            break
    total = len(rows) and con.execute("SELECT count(*) FROM fts JOIN entries e ON "
                                      "e.id = fts.rowid WHERE fts MATCH :m" + w,
                                      params).fetchone()[0]
for r in rows:
    print(r[0], r[1], sep="\t")
"""


def recoll(folder: str, work: str, specs: list[dict[str, Any]], n: int) -> dict[str, Any]:
    if not (which("recollindex") and which("recollq")):
        return {"available": False, "why": "recollindex/recollq not installed "
                                           "(Debian package recollcmd)"}
    conf = os.path.join(work, "recoll-conf")
    shutil.rmtree(conf, ignore_errors=True)
    os.makedirs(conf)
    with open(os.path.join(conf, "recoll.conf"), "w", encoding="utf-8") as fh:
        fh.write(f"topdirs = {folder}\nloglevel = 1\nnoaspell = 1\n"
                 "indexstemminglanguages = english\nidxflushmb = 200\n")
    seconds, _ = run_timed(["recollindex", "-c", conf, "-z"], ok=(0,))
    out: dict[str, Any] = {"available": True, "build_s": seconds,
                           "index_bytes": dir_bytes(os.path.join(conf, "xapiandb")),
                           "queries": {}}
    cmds = {s["name"]: ["recollq", "-c", conf, "-b", "-n", "10", s["recoll"]]
            for s in specs if s.get("recoll")}
    out["queries"] = rounds(cmds, n)
    return out


# ---------------------------------------------------------------- one corpus


def bench_corpus(label: str, folder: str, work: str, specs: list[dict[str, Any]],
                 opts: argparse.Namespace) -> dict[str, Any]:
    res: dict[str, Any] = {"label": label, "folder": folder}
    qfile = os.path.join(work, f"queries-{label}.json")
    json.dump(specs, open(qfile, "w", encoding="utf-8"))
    index_dir = os.path.join(work, f"index-{label}")
    shutil.rmtree(index_dir, ignore_errors=True)
    n_files = sum(1 for e in os.scandir(folder) if e.is_file())
    res["files"] = n_files
    os.sync()  # do not time the write-back of a freshly generated corpus

    log(f"{label}: full build of {n_files} files")
    b = worker("build", folder, index_dir)
    idx_bytes = dir_bytes(index_dir)
    res["build"] = {
        "clippings": b["added"], "failed": b["failed"], "first_failures": b["first_failures"],
        "wall_s": b["wall_s"], "update_s": b["seconds"],
        "rate_per_s": b["added"] / b["seconds"] if b["seconds"] else None,
        "cpu_s": b["cpu_tree_s"], "cpu_writer_s": b["cpu_self_s"],
        "cpu_workers_s": b["cpu_children_s"],
        "peak_rss_writer_mb": b["maxrss_self_mb"],
        "peak_rss_worker_mb": b["maxrss_children_mb"],
        # The writer and its shard process run side by side: the sum bounds their peak.
        "peak_rss_mb": b["maxrss_self_mb"] + b["maxrss_children_mb"],
        "index_bytes": idx_bytes,
        "bytes_per_clipping": idx_bytes / max(1, b["added"]),
        "loadavg_after": loadavg(),
    }
    res["stats_after_build"] = worker("stats", index_dir)
    log(f"{label}: build {res['build']['rate_per_s']:.0f} clippings/s, "
        f"{res['build']['bytes_per_clipping']:.0f} B/clipping")

    log(f"{label}: in-process queries x{opts.repeat}")
    res["queries"] = worker("queries", index_dir, qfile, str(opts.repeat))

    whole = [s for s in specs if s["name"] in WHOLE_PROCESS]
    log(f"{label}: whole-process search x{opts.runs}")
    res["whole_process"] = whole_process(index_dir, whole, opts.runs)

    if not opts.no_compare:
        res["compare"] = compare(label, folder, work, specs, res, opts)

    log(f"{label}: incremental updates")
    res["incremental"] = incremental(folder, index_dir, qfile, res, opts)
    return res


def compare(label: str, folder: str, work: str, specs: list[dict[str, Any]],
            res: dict[str, Any], opts: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    qfile = os.path.join(work, f"queries-{label}.json")
    whole = [s for s in specs if s["name"] in WHOLE_PROCESS and s.get("fts")]
    # SQLite FTS5
    log(f"{label}: SQLite FTS5")
    db = os.path.join(work, f"fts5-{label}.db")
    fb = worker("fts5-build", folder, db)
    fq = worker("fts5-queries", db, qfile, str(opts.repeat))
    fw = rounds({s["name"]: [PY, "-c", FTS_WHOLE, db, json.dumps(s)] for s in whole},
                opts.runs)
    out["fts5"] = {"build": fb, "queries": fq, "whole_process_ms": fw,
                   "bytes_per_clipping": fb["bytes"] / max(1, res["build"]["clippings"]),
                   "rate_per_s": res["build"]["clippings"] / fb["seconds"]}
    # ripgrep
    if which("rg"):
        log(f"{label}: ripgrep")
        cmds = {s["name"]: c for s in specs if (c := rg_cmd(folder, s))}
        if opts.quick:
            cmds = dict(list(cmds.items())[:3])
        out["ripgrep"] = {"available": True, "whole_process_ms": rounds(cmds, opts.runs)}
    else:
        out["ripgrep"] = {"available": False, "why": "rg not installed"}
    # recoll
    if opts.no_recoll:
        out["recoll"] = {"available": False, "why": "skipped (--quick/--no-recoll)"}
    else:
        log(f"{label}: recoll")
        try:
            out["recoll"] = recoll(folder, work, specs, opts.runs)
        except Exception as exc:  # noqa: BLE001 - optional tool
            out["recoll"] = {"available": False, "why": f"{type(exc).__name__}: {exc}"[:300]}
    # the same query through searchkit, whole process (refresh on and off) for ratios
    sk_whole: dict[str, float] = {}
    search = script("search")
    index_dir = os.path.join(work, f"index-{label}")
    tool_specs = [s for s in specs if s.get("rg") or s.get("recoll")]
    if opts.quick:
        tool_specs = tool_specs[:3]
    cmds = {s["name"]: [*search, s["q"], "--index", index_dir, "--no-refresh"]
            for s in tool_specs}
    sk_whole = rounds(cmds, opts.runs)
    cmds = {s["name"]: [*search, s["q"], "--index", index_dir] for s in tool_specs}
    out["searchkit_whole_process_ms"] = sk_whole
    out["searchkit_whole_process_refresh_ms"] = rounds(cmds, max(3, opts.runs // 2))
    return out


def incremental(folder: str, index_dir: str, qfile: str, res: dict[str, Any],
                opts: argparse.Namespace) -> dict[str, Any]:
    files = sorted(e.name for e in os.scandir(folder) if e.is_file())
    index_cmd = [*script("searchkit"), "index", folder, "--index", index_dir, "--format",
                 "json"]
    originals: dict[str, bytes] = {}
    out: dict[str, Any] = {}
    commits = 0
    step = 7919
    pos = 0

    def pick(k: int) -> list[str]:
        nonlocal pos
        got = [files[(pos + i * step) % len(files)] for i in range(k)]
        pos += k * step + 1
        return got

    try:
        t = [run_timed(index_cmd, ok=(0,))[0] for _ in range(opts.inc_runs)]
        out["nothing_changed_s"] = median(t)
        for k in (1, 100):
            times, reports = [], []
            for _r in range(opts.inc_runs):
                change_files(folder, pick(k), commits, originals)
                s, proc = run_timed(index_cmd, ok=(0,))
                commits += 1
                times.append(s)
                reports.append(json.loads(proc.stdout) if proc.stdout.strip() else {})
            out[f"changed_{k}_s"] = median(times)
            out[f"changed_{k}_all_s"] = times
            out[f"changed_{k}_report"] = reports[-1]
        while commits < opts.commits:
            change_files(folder, pick(1), commits, originals)
            run_timed(index_cmd, ok=(0,))
            commits += 1
        out["commits"] = commits
        out["stats_after"] = worker("stats", index_dir)
        out["queries_after"] = worker("queries", index_dir, qfile,
                                      str(max(5, opts.repeat // 2)))
        before = res["queries"]["all"]
        after = out["queries_after"]["all"]
        out["p50_before_ms"], out["p50_after_ms"] = before["p50"], after["p50"]
        out["p99_before_ms"], out["p99_after_ms"] = before["p99"], after["p99"]
        out["segments_before"] = res["stats_after_build"]["segments"]
        out["segments_after"] = out["stats_after"]["segments"]
    finally:
        restore(originals)
    return out


# ---------------------------------------------------------------- seeds


def bench_seeds(work: str, opts: argparse.Namespace) -> dict[str, Any]:
    index_dir = os.path.join(work, "index-seeds")
    shutil.rmtree(index_dir, ignore_errors=True)
    run_timed([*script("searchkit"), "index", str(SEEDS), "--index", index_dir], ok=(0,))
    specs = [{"name": "1 term", "q": "facial recognition"},
             {"name": "provider field", "q": "provider:gcn"},
             {"name": "date range", "q": "published:[2019-01 TO 2020-12]"}]
    log(f"seeds: whole-process search x{opts.seed_runs}")
    return {"folder": str(SEEDS), "files": len(os.listdir(SEEDS)),
            **whole_process(index_dir, specs, opts.seed_runs)}


# ---------------------------------------------------------------- targets and report


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    big = result.get("synthetic")
    size = result["size"]
    seeds = result.get("seeds")
    values: dict[str, float | None] = {k: None for k, *_ in TARGETS}
    notes: dict[str, str] = {}
    if seeds:
        values["seeds_search_ms"] = seeds["refresh_max_ms"]
        values["seeds_over_floor_ms"] = seeds["refresh_max_ms"] - seeds["floor_ms"]
        notes["seeds_search_ms"] = (f"slowest of {len(seeds['refresh'])} queries with refresh; "
                                    f"--no-refresh {seeds['no_refresh_max_ms']:.0f} ms")
        notes["seeds_over_floor_ms"] = (f"floor {seeds['floor_ms']:.0f} ms; --no-refresh "
                                        f"{seeds['no_refresh_max_ms'] - seeds['floor_ms']:.0f}"
                                        " ms over")
    if big:
        wp = big["whole_process"]
        values["big_search_ms"] = wp["refresh_max_ms"]
        values["big_over_floor_ms"] = wp["refresh_max_ms"] - wp["floor_ms"]
        notes["big_search_ms"] = (f"slowest of {len(wp['refresh'])} queries with refresh; "
                                  f"--no-refresh {wp['no_refresh_max_ms']:.0f} ms")
        notes["big_over_floor_ms"] = (f"floor {wp['floor_ms']:.0f} ms; --no-refresh "
                                      f"{wp['no_refresh_max_ms'] - wp['floor_ms']:.0f} ms over")
        cmp_ = big.get("compare", {})
        rg = cmp_.get("ripgrep", {})
        if rg.get("available"):
            sk = cmp_["searchkit_whole_process_refresh_ms"]
            ratios = {k: v / sk[k] for k, v in rg["whole_process_ms"].items() if k in sk}
            if ratios:
                values["rg_ratio"] = min(ratios.values())
                sk_nr = cmp_["searchkit_whole_process_ms"]
                nr = min(v / sk_nr[k] for k, v in rg["whole_process_ms"].items() if k in sk_nr)
                notes["rg_ratio"] = (f"worst of {len(ratios)} queries, `search` with refresh; "
                                     f"--no-refresh {nr:.1f}x")
        q = big["queries"]["all"]
        values["query_p50_ms"], values["query_p99_ms"] = q["p50"], q["p99"]
        nq = sum(1 for v in big["queries"]["queries"].values() if "p50" in v)
        notes["query_p50_ms"] = notes["query_p99_ms"] = f"all samples of {nq} queries pooled"
        values["build_rate"] = big["build"]["rate_per_s"]
        values["update1_s"] = big["incremental"].get("changed_1_s")
        values["peak_rss_mb"] = big["build"]["peak_rss_mb"]
        notes["peak_rss_mb"] = (f"writer {big['build']['peak_rss_writer_mb']:.0f} MB + largest "
                                f"child {big['build']['peak_rss_worker_mb']:.0f} MB")
        values["index_kb_per_clip"] = big["build"]["bytes_per_clipping"] / 1000
    out = []
    for key, desc, limit, unit, op in TARGETS:
        v = values[key]
        if v is None:
            status = "not measured"
        else:
            ok = v <= limit if op == "<=" else v >= limit
            status = "PASS" if ok else "FAIL"
            if key not in ("seeds_search_ms", "seeds_over_floor_ms") and size != 100_000:
                status += f" (at {size:,}; target is for 100k)"
        out.append({"key": key, "target": f"{desc} {op} {limit} {unit}", "value": v,
                    "unit": unit, "status": status, "note": notes.get(key, "")})
    return out


def fmt(v: Any, nd: int = 1) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        if v != v:
            return "–"
        return f"{v:,.{nd}f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def corpus_md(c: dict[str, Any]) -> list[str]:
    b, q, wp, inc = c["build"], c["queries"], c["whole_process"], c["incremental"]
    L = [f"### {c['label']}: {c['files']:,} files", ""]
    L += ["| build | value |", "|---|---|",
          f"| clippings indexed (failed) | {b['clippings']:,} ({b['failed']}) |",
          f"| full build rate | **{fmt(b['rate_per_s'], 0)} clippings/s** |",
          f"| wall s (update() / whole child) | {fmt(b['update_s'])} / {fmt(b['wall_s'])} |",
          f"| CPU s (writer + shard/parse processes) | {fmt(b['cpu_s'])} "
          f"({fmt(b['cpu_writer_s'])} + {fmt(b['cpu_workers_s'])}) |",
          f"| peak RSS, writer / largest child process | {fmt(b['peak_rss_writer_mb'], 0)} MB / "
          f"{fmt(b['peak_rss_worker_mb'], 0)} MB |",
          f"| index size | {b['index_bytes'] / 1e6:,.1f} MB = "
          f"**{fmt(b['bytes_per_clipping'], 0)} B/clipping** |",
          f"| entries / segments after build | {fmt(c['stats_after_build']['entries'])} / "
          f"{c['stats_after_build']['segments']} |", ""]
    L += ["| incremental (`searchkit index`, whole process, median) | value |", "|---|---|",
          f"| nothing changed | {fmt(inc.get('nothing_changed_s'), 2)} s |",
          f"| 1 file changed | **{fmt(inc.get('changed_1_s'), 2)} s** |",
          f"| 100 files changed | {fmt(inc.get('changed_100_s'), 2)} s |",
          f"| after {inc.get('commits')} incremental commits: segments | "
          f"{inc.get('segments_before')} → {inc.get('segments_after')} |",
          f"| query p50 / p99 before → after | {fmt(inc.get('p50_before_ms'))} / "
          f"{fmt(inc.get('p99_before_ms'))} → {fmt(inc.get('p50_after_ms'))} / "
          f"{fmt(inc.get('p99_after_ms'))} ms |", ""]
    L += ["| in-process query (`search.search`, limit 10) | hits | p50 ms | p95 ms | p99 ms |",
          "|---|---:|---:|---:|---:|"]
    for name, v in q["queries"].items():
        if "p50" in v:
            L.append(f"| {name}: `{v['q']}` | {v['total']:,}{' (partial)' if v['partial'] else ''}"
                     f" | {fmt(v['p50'])} | {fmt(v['p95'])} | {fmt(v['p99'])} |")
        else:
            L.append(f"| {name} | {v.get('skipped') or v.get('error')} | | | |")
    a = q["all"]
    L += [f"| **all queries pooled** | | **{fmt(a['p50'])}** | {fmt(a['p95'])} | "
          f"**{fmt(a['p99'])}** |", ""]
    L += whole_process_md(f"whole process, median of {wp['runs']}", wp)
    cmp_ = c.get("compare")
    if cmp_:
        L += comparison_md(c, cmp_)
    return L


def comparison_md(c: dict[str, Any], cmp_: dict[str, Any]) -> list[str]:
    b = c["build"]
    f = cmp_["fts5"]
    L = ["| other engines, same entries | value | ratio to searchkit |", "|---|---|---|",
         f"| FTS5 build (parse {fmt(f['build']['parse_s'])} s + insert "
         f"{fmt(f['build']['insert_s'])} s, 1 process) | {fmt(f['rate_per_s'], 0)} clippings/s | "
         f"{f['rate_per_s'] / b['rate_per_s']:.1f}x the rate |",
         f"| FTS5 size | {fmt(f['bytes_per_clipping'], 0)} B/clipping | "
         f"{f['bytes_per_clipping'] / b['bytes_per_clipping']:.2f}x |",
         f"| FTS5 in-process p50 (all queries) | {fmt(f['queries']['all']['p50'], 2)} ms | "
         f"searchkit {c['queries']['all']['p50'] / f['queries']['all']['p50']:.1f}x slower |"]
    for name, v in f["whole_process_ms"].items():
        sk = c["whole_process"]["no_refresh"].get(name)
        L.append(f"| FTS5 whole process (`python -c`) {name} | {fmt(v)} ms | "
                 f"searchkit --no-refresh {fmt(sk)} ms = {sk / v:.2f}x |")
    rc = cmp_.get("recoll", {})
    if rc.get("available"):
        L.append(f"| recoll build (recollindex) | {fmt(b['clippings'] / rc['build_s'], 0)} "
                 f"clippings/s | {b['clippings'] / rc['build_s'] / b['rate_per_s']:.1f}x the "
                 "rate |")
    L.append("")
    sk = cmp_["searchkit_whole_process_ms"]
    skr = cmp_["searchkit_whole_process_refresh_ms"]
    rg = cmp_.get("ripgrep", {})
    L += ["| whole process, median ms | `search --no-refresh` | `search` | ripgrep `rg -l -i` | "
          "rg ÷ `search` (target ≥ 3) | recoll `recollq` | `search` ÷ recollq |",
          "|---|---:|---:|---:|---:|---:|---:|"]
    for name in sk:
        r = rg.get("whole_process_ms", {}).get(name) if rg.get("available") else None
        q = rc.get("queries", {}).get(name) if rc.get("available") else None
        rg_ratio = f"{r / skr[name]:.2f}x" if r and skr.get(name) else "–"
        rc_ratio = f"{skr[name] / q:.0f}x" if q and skr.get(name) else "–"
        L.append(f"| {name} | {fmt(sk[name])} | {fmt(skr.get(name))} | {fmt(r)} | "
                 f"{rg_ratio} | {fmt(q)} | {rc_ratio} |")
    if not rg.get("available"):
        L.append(f"\nripgrep: not available ({rg.get('why', '')})")
    if not rc.get("available"):
        L.append(f"\nrecoll: not available ({rc.get('why', '')})")
    L.append("")
    return L


def whole_process_md(title: str, wp: dict[str, Any]) -> list[str]:
    """The whole-process table: bare Python, the import floor, then search per mode."""
    L = [f"| {title} | ms |", "|---|---:|",
         f"| `python -c pass` | {fmt(wp['bare_python_ms'])} |",
         f"| import floor `{FLOOR_CODE}` | {fmt(wp['floor_ms'])} |"]
    for key, label in (("no_refresh", "`search --no-refresh`"), ("refresh", "`search` (refresh)"),
                       ("full_check", "`search --full-check`")):
        L += [f"| {label} {name} | {fmt(v)} |" for name, v in wp.get(key, {}).items()]
    return L + [""]


def importtime_md(title: str, it: dict[str, Any]) -> list[str]:
    L = [f"{title}: {it['modules']} modules, {fmt(it['total_ms'])} ms of imports "
         "(`-X importtime` inflates this a little)", "",
         "| module | cumulative ms | self ms |", "|---|---:|---:|"]
    for r in it["top"]:
        L.append(f"| {'· ' * r['depth']}{r['module']} | {fmt(r['cum_ms'])} | "
                 f"{fmt(r['self_ms'])} |")
    return [*L, ""]


def markdown(result: dict[str, Any]) -> str:
    m = result["machine"]
    L = [f"# searchkit benchmark — {result['mode']} run, {result['size']:,} synthetic "
         "clippings", "",
         f"`{result['command']}` · {m['date']} · total {fmt(result['total_s'], 0)} s", "",
         f"Machine: {m['cpu']}, {m['cores']} cores ({m['cores_usable']} usable), {m['memory']}; "
         f"{m['os']}; Python {m['python']}; whoosh3 {m['whoosh']}, typer {m['typer']}, "
         f"SQLite {m['sqlite']}, {m['ripgrep']}, recoll {m['recoll']}; searchkit "
         f"{m['searchkit']} at {m['commit']}.", "",
         f"Load average (1/5/15 min) at start {m.get('loadavg_start')}, at end "
         f"{m.get('loadavg_end')}: other processes on the machine inflate wall times, "
         "not CPU times.", "",
         f"Bytecode: {result['bytecode']}.", "",
         "## Targets (issue #5)", "", "| target | measured | status | note |",
         "|---|---:|---|---|"]
    for t in result["targets"]:
        nd = 2 if t["unit"] in ("s", "KB", "x") else 0
        unit = t["unit"] if t["value"] is not None else ""
        L.append(f"| {t['target']} | {fmt(t['value'], nd)} {unit}"
                 f" | {t['status']} | {t['note']} |")
    L.append("")
    if result.get("seeds"):
        s = result["seeds"]
        L += ["## Seeds: whole-process `search` (5 clippings)", ""]
        L += whole_process_md(f"median of {s['runs']} runs", s)
        L += importtime_md("Start-up imports of `search QUERY --no-refresh` on the seeds",
                           s["importtime"])
        L += importtime_md("Start-up imports of `search --help`", s["importtime_help"])
    for key in ("synthetic", "real"):
        if result.get(key):
            L += [f"## {'Synthetic corpus' if key == 'synthetic' else 'Real corpus'}", ""]
            if key == "real":
                L += [f"Source: {result['real'].get('source', '')}", ""]
            else:
                g = result["synthetic"]["generation"]
                L += [f"Generated by `benchmarks/gen_corpus.py --count {result['size']} --seed "
                      f"{result['seed']}` in {fmt(g['seconds'])} s "
                      f"({fmt(g['files_per_s'], 0)} files/s), "
                      f"{g['bytes'] / 1e6:,.0f} MB.", ""]
            L += corpus_md(result[key])
    if result.get("synthetic"):
        L += importtime_md("Start-up imports of `search QUERY --no-refresh` on the synthetic "
                           "index", result["synthetic"]["whole_process"]["importtime"])
    if result.get("profiles"):
        L += profiles_md(result["profiles"])
    if result.get("skipped"):
        L += ["## Skipped", ""] + [f"- {s}" for s in result["skipped"]] + [""]
    return "\n".join(L)


# ---------------------------------------------------------------- profiles


def profiles(corpus: str, work: str) -> dict[str, Any]:
    """Where the time goes, measured after every timing so it disturbs none of them."""
    out: dict[str, Any] = {}
    index_dir = os.path.join(work, "index-synthetic")
    qfile = os.path.join(work, "queries-synthetic.json")
    log("profile: queries (cProfile, 2 rounds)")
    out["queries"] = worker("profile-queries", index_dir, qfile,
                            os.path.join(work, "queries.prof"))
    log("profile: no-op freshness check")
    out["refresh"] = worker("profile-refresh", corpus, index_dir,
                            os.path.join(work, "refresh.prof"))
    log("profile: index anatomy")
    out["anatomy"] = worker("anatomy", index_dir)
    subset = os.path.join(work, "profile-subset")
    shutil.rmtree(subset, ignore_errors=True)
    os.makedirs(subset)
    names = sorted(os.listdir(corpus))[:5000]
    for name in names:
        os.link(os.path.join(corpus, name), os.path.join(subset, name))
    out["build_subset_files"] = len(names)
    log(f"profile: build of {len(names):,} files in one process")
    ix = os.path.join(work, "index-profile")
    shutil.rmtree(ix, ignore_errors=True)
    out["build_5000_one_process"] = worker("profile-build", subset, ix,
                                           os.path.join(work, "build.prof"))
    for v in out.values():
        if isinstance(v, dict):
            v.pop("profile", None)
    return out


def profiles_md(p: dict[str, Any]) -> list[str]:
    L = ["## Profiles (cProfile, after all timings; times include profiler overhead)", ""]

    def table(title: str, rows: list[dict[str, Any]], n: int = 12) -> None:
        L.extend([f"{title}", "", "| function | calls | own s | cumulative s |",
                  "|---|---:|---:|---:|"])
        for r in rows[:n]:
            L.append(f"| `{r['function']}` | {r['calls']:,} | {r['tottime_s']:.2f} | "
                     f"{r['cumtime_s']:.2f} |")
        L.append("")

    if "queries" in p:
        table("In-process query set at full size, 2 rounds — by cumulative time:",
              p["queries"]["top"]["by_cumtime"], 18)
    if "refresh" in p:
        r = p["refresh"]
        L += [f"No-op freshness check at full size: scan {fmt(r['scan_ms'], 0)} ms, open + "
              f"manifest {fmt(r['open_and_manifest_ms'], 0)} ms, `indexer.check` "
              f"{fmt(r['check_ms'], 0)} ms, `indexer.refresh` {fmt(r['refresh_noop_ms'], 0)} ms "
              "(best of 3, no profiler).", ""]
        table("`indexer.refresh` with nothing to do — by own time:",
              r["top"]["by_tottime"], 8)
    if "build_5000_one_process" in p:
        b = p["build_5000_one_process"]["top"]
        table(f"Build of the first {p.get('build_subset_files', 5000):,} synthetic files, "
              "`workers=1` — by cumulative time:",
              b["by_cumtime"], 16)
        table("… by own time:", b["by_tottime"], 12)
    if "anatomy" in p:
        a = p["anatomy"]
        total = sum(a["bytes_by_kind"].values())
        L += ["Index anatomy at full size: bytes by file kind — " + ", ".join(
            f"{k} {v / 1e6:,.0f} MB ({v / total:.0%})" for k, v in
            list(a["bytes_by_kind"].items())[:8]) + ".", "",
            f"Terms and postings per field (largest segment, {a['segment_entries']:,} "
            "entries):", "", "| field | terms | term bytes | postings |", "|---|---:|---:|---:|"]
        for name, f in a["fields"].items():
            L.append(f"| {name} | {f['terms']:,} | {f['term_bytes']:,} | {f['postings']:,} |")
        L.append("")
    return L


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=100_000, help="synthetic clippings")
    ap.add_argument("--seed", type=int, default=1, help="corpus seed")
    ap.add_argument("--quick", action="store_true",
                    help="CI smoke: few repetitions, no real corpus, no recoll")
    ap.add_argument("--work", help="work folder (default: a new folder in /tmp, removed)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--out", default=str(HERE / "results"), help="results folder")
    ap.add_argument("--name", help="result file name (default latest, or quick)")
    ap.add_argument("--real", action=argparse.BooleanOptionalAction, default=None,
                    help="also the real huffpost10k corpus (default: on unless --quick)")
    ap.add_argument("--no-compare", action="store_true", help="skip FTS5/ripgrep/recoll")
    ap.add_argument("--no-recoll", action="store_true", help="skip recoll")
    ap.add_argument("--no-compile", action="store_true", help="skip compileall")
    ap.add_argument("--profile", action=argparse.BooleanOptionalAction, default=None,
                    help="cProfile the queries, a 5,000-file build and the freshness check "
                         "after all timings (default: on unless --quick)")
    opts = ap.parse_args(argv)
    started = time.perf_counter()
    if opts.real is None:
        opts.real = not opts.quick
    if opts.profile is None:
        opts.profile = not opts.quick
    if opts.quick:
        opts.no_recoll = True
    opts.repeat = 5 if opts.quick else 30  # in-process samples per query
    opts.runs = 3 if opts.quick else 10  # whole-process runs per command
    opts.seed_runs = 5 if opts.quick else 10
    opts.inc_runs = 2 if opts.quick else 3
    opts.commits = 6 if opts.quick else 20
    name = opts.name or ("quick" if opts.quick else "latest")

    result: dict[str, Any] = {
        "command": "python benchmarks/run.py " + " ".join(argv if argv is not None
                                                          else sys.argv[1:]),
        "mode": "quick" if opts.quick else "full", "size": opts.size, "seed": opts.seed,
        "machine": machine(), "skipped": [],
    }
    if opts.no_compile:
        result["bytecode"] = "not compiled by the run (--no-compile)"
    else:
        log("byte-compiling site-packages and searchkit (compileall)")
        c = compile_bytecode()
        result["bytecode"] = (f"`compileall` of {', '.join(c['compiled'])} before timing "
                              f"({c['seconds']} s), because PYTHONDONTWRITEBYTECODE="
                              f"{result['machine']['PYTHONDONTWRITEBYTECODE'] or '(unset)'}")
    work = os.path.abspath(opts.work or tempfile.mkdtemp(prefix="searchkit-bench-"))
    os.makedirs(work, exist_ok=True)
    global CWD
    CWD = work
    log(f"work folder {work}")
    try:
        result["seeds"] = bench_seeds(work, opts)
        # synthetic corpus (kept between runs in --work: regenerated when size/seed change)
        corpus = os.path.join(work, f"synthetic-{opts.size}-{opts.seed}")
        marker = os.path.join(work, f"synthetic-{opts.size}-{opts.seed}.done")
        if not os.path.exists(marker):
            shutil.rmtree(corpus, ignore_errors=True)
            log(f"generating {opts.size} clippings")
            secs = gen_corpus.generate(corpus, opts.size, opts.seed)
            open(marker, "w").write(f"{secs}\n")
        secs = float(open(marker).read())
        gen = {"seconds": secs, "files_per_s": opts.size / secs,
               "bytes": sum(e.stat().st_size for e in os.scandir(corpus))}
        result["synthetic"] = bench_corpus("synthetic", corpus, work,
                                           query_set("synthetic"), opts)
        result["synthetic"]["generation"] = gen
        if opts.real:
            if REAL_TARBALL.exists():
                real_dir = os.path.join(work, "huffpost10k")
                if not os.path.isdir(real_dir):
                    log("unpacking huffpost10k")
                    with tarfile.open(REAL_TARBALL) as tf:
                        tf.extractall(real_dir, filter="data")
                folder = os.path.join(real_dir, "docs")
                result["real"] = bench_corpus("huffpost10k", folder, work,
                                              query_set("huffpost"), opts)
                src = open(REAL_SOURCE, encoding="utf-8").read().splitlines() \
                    if REAL_SOURCE.exists() else [""]
                result["real"]["source"] = (
                    f"{os.path.relpath(REAL_TARBALL, REPO)} — {src[0].strip()}; see "
                    f"{os.path.relpath(REAL_SOURCE, REPO)} (CC BY 4.0, Misra 2022)")
            else:
                result["skipped"].append(f"real corpus: {REAL_TARBALL} not found")
        elif not opts.quick:
            result["skipped"].append("real corpus (--no-real)")
        if opts.quick:
            result["skipped"].append("real corpus and recoll (--quick)")
        if opts.profile:
            result["profiles"] = profiles(corpus, work)
    finally:
        if not opts.keep and not opts.work:
            shutil.rmtree(work, ignore_errors=True)
    result["total_s"] = time.perf_counter() - started
    result["machine"]["loadavg_end"] = loadavg()
    result["targets"] = targets(result)
    os.makedirs(opts.out, exist_ok=True)
    jpath = os.path.join(opts.out, f"{name}.json")
    mpath = os.path.join(opts.out, f"{name}.md")
    json.dump(result, open(jpath, "w", encoding="utf-8"), indent=1, default=str)
    open(mpath, "w", encoding="utf-8").write(markdown(result) + "\n")
    log(f"wrote {jpath} and {mpath} in {result['total_s']:.0f} s")
    for t in result["targets"]:
        print(f"{t['status']:<6} {t['target']}: {fmt(t['value'], 2)} {t['unit']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
