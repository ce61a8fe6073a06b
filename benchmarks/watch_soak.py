#!/usr/bin/env python3
"""What ``searchkit watch`` costs: CPU at rest, and whether its memory stays flat.

    python benchmarks/watch_soak.py [--tarball ../shared/corpora/huffpost10k.tar.gz |
                                     --count 2000] [--minutes 5] [--rest-seconds 60]

Runs ``searchkit watch`` (this interpreter's, ``-m searchkit``) in a subprocess on a
clippings folder in a work folder under /tmp (synthetic clippings from
``gen_corpus.py``, or a tarball of clippings unpacked there; never the repository),
waits for its first update, then:

1. **at rest**: samples its CPU time (``/proc/PID/stat``, every thread) and resident
   memory (``VmRSS``) over ``--rest-seconds`` with nothing changing;
2. **churn**: for ``--minutes``, rounds of ``--per-round`` adds, edits (an editor's
   temporary file renamed over the clipping), renames and deletes, waiting after each
   round for the watcher's commit line (bounded), sampling ``VmRSS`` each round. The
   folder keeps the same size (it deletes what it added), so the index does not grow
   and a rising RSS would be a leak;
3. stops it with SIGTERM (exit 143 expected) and prints a JSON record (also written to
   ``--json``): CPU % at rest, RSS at start and end of the churn, its growth per hour
   (least-squares slope over the second half of the rounds, after warm-up, and over
   all of them), rounds, commits and the median time from a change to its commit line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
CLK_TCK = os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process, all its threads (not its children)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (14, 15 in man)


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, kB), in kB per hour."""
    if len(points) < 2:
        return 0.0
    mx = statistics.fmean(t for t, _ in points)
    my = statistics.fmean(v for _, v in points)
    var = sum((t - mx) ** 2 for t, _ in points)
    if var == 0:
        return 0.0
    return sum((t - mx) * (v - my) for t, v in points) / var * 3600


def clipping(title: str, excerpt: str) -> str:
    return (f'---\ntitle: "{title}"\nexcerpt: "{excerpt}"\n'
            f"publishedDateTime: 2024-01-01T00:00:00Z\n"
            f'webUrl: "https://example.com/{title.replace(" ", "-")}"\n'
            "provider:\n  name: Soak\n  domain: example.com\n---\n")


class Watch:
    def __init__(self, folder: Path, index: Path, extra: list[str]) -> None:
        env = dict(os.environ, SEARCHKIT_CONFIG_DIR=str(index.parent / "config"))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "searchkit", "watch", str(folder), "--index", str(index),
             *extra], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
            start_new_session=True)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def commits(self) -> int:
        return sum(1 for line in list(self.lines) if " indexed " in line or " rebuilt " in line)

    def wait_commit(self, after: int, timeout: float) -> bool:
        """Until a commit line beyond the first ``after`` (False on timeout)."""
        return self.wait(lambda: self.commits() > after, timeout)

    def wait(self, predicate: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            if self.proc.poll() is not None:
                raise SystemExit(f"watch exited {self.proc.returncode}: {self.lines[-5:]}")
            time.sleep(0.05)
        return False


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tarball", help="clippings to unpack and watch (e.g. huffpost10k)")
    ap.add_argument("--count", type=int, default=2000, help="synthetic clippings otherwise")
    ap.add_argument("--minutes", type=float, default=5.0, help="churn time (default 5)")
    ap.add_argument("--rest-seconds", type=float, default=60.0, help="CPU at rest window")
    ap.add_argument("--per-round", type=int, default=5,
                    help="adds, edits, renames and deletes per round (default 5 each)")
    ap.add_argument("--poll", action="store_true", help="run watch with --poll")
    ap.add_argument("--work", help="work folder (default: a new one under /tmp)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--json", help="also write the record here")
    args = ap.parse_args(argv)

    work = Path(args.work or tempfile.mkdtemp(prefix="watch-soak-"))
    work.mkdir(parents=True, exist_ok=True)
    folder, index = work / "clips", work / "index"
    try:
        if not folder.exists():
            if args.tarball:
                with tarfile.open(args.tarball) as tar:
                    tar.extractall(work / "unpacked", filter="data")
                tops = [p for p in (work / "unpacked").iterdir() if p.is_dir()]
                os.rename(tops[0] if len(tops) == 1 else work / "unpacked", folder)
            else:
                sys.path.insert(0, str(HERE))
                from gen_corpus import generate

                generate(str(folder), args.count)
        files = sum(1 for p in folder.rglob("*") if p.suffix in (".md", ".txt", ".markdown"))
        print(f"folder: {folder} ({files} clippings)", file=sys.stderr)
        churn = folder / "soak"
        churn.mkdir(exist_ok=True)

        started = time.monotonic()
        w = Watch(folder, index, ["--poll"] if args.poll else [])
        if not w.wait(lambda: any(" watching " in line for line in list(w.lines)), 3600):
            raise SystemExit("no 'watching' line within an hour")
        first_update = time.monotonic() - started
        pid = w.proc.pid
        print(f"watching after {first_update:.1f}s; at rest for {args.rest_seconds:g}s",
              file=sys.stderr)

        rss_rest_start, cpu0, t0 = rss_kb(pid), cpu_seconds(pid), time.monotonic()
        time.sleep(args.rest_seconds)  # the measurement window itself, not a wait
        cpu1, t1 = cpu_seconds(pid), time.monotonic()
        rest_cpu = (cpu1 - cpu0) / (t1 - t0) * 100
        rss_rest = rss_kb(pid)
        print(f"at rest: CPU {rest_cpu:.2f}%, RSS {rss_rest / 1024:.1f} MiB",
              file=sys.stderr)

        samples: list[tuple[float, float]] = []
        latencies: list[float] = []
        live: list[Path] = []
        n = rounds = 0
        churn_start = time.monotonic()
        end = churn_start + args.minutes * 60
        commits_before = w.commits()
        while time.monotonic() < end:
            k = args.per_round
            before = w.commits()
            changed_at = time.monotonic()
            for _ in range(k):  # adds
                n += 1
                path = churn / f"soak-{n:06}.md"
                path.write_text(clipping(f"soak item {n}", f"round {rounds} text {n}"),
                                encoding="utf-8")
                live.append(path)
            for path in live[-2 * k:-k]:  # edits, an editor's way: temp file + rename
                tmp = path.with_name(f".{path.name}.swp")
                tmp.write_text(clipping(f"soak edited {path.stem}", f"edited in {rounds}"),
                               encoding="utf-8")
                os.replace(tmp, path)
            for path in live[-3 * k:-2 * k]:  # renames
                new = path.with_name(f"{path.stem}-r{rounds}.md")
                os.rename(path, new)
                live[live.index(path)] = new
            while len(live) > 20 * k:  # deletes: the folder keeps its size
                live.pop(0).unlink()
            if w.wait_commit(after=before, timeout=120):
                latencies.append(time.monotonic() - changed_at)
            rounds += 1
            samples.append((time.monotonic() - churn_start, float(rss_kb(pid))))
        commits = w.commits() - commits_before

        w.proc.send_signal(signal.SIGTERM)
        code = w.proc.wait(timeout=120)
        w.reader.join(timeout=10)
        half = samples[len(samples) // 2:]
        record = {
            "folder_clippings": files,
            "polling": args.poll,
            "first_update_s": round(first_update, 1),
            "rest_seconds": args.rest_seconds,
            "rest_cpu_percent": round(rest_cpu, 3),
            "rest_rss_mib": round(rss_rest / 1024, 1),
            "rest_rss_start_mib": round(rss_rest_start / 1024, 1),
            "churn_minutes": round((time.monotonic() - churn_start) / 60, 2),
            "rounds": rounds,
            "changes_per_round": 4 * args.per_round,
            "commits": commits,
            "change_to_commit_line_median_s": round(statistics.median(latencies), 2)
            if latencies else None,
            "rss_start_mib": round(samples[0][1] / 1024, 1) if samples else None,
            "rss_end_mib": round(samples[-1][1] / 1024, 1) if samples else None,
            "rss_max_mib": round(max(v for _, v in samples) / 1024, 1) if samples else None,
            "rss_growth_mib_per_hour_second_half": round(slope_per_hour(half) / 1024, 2),
            "rss_growth_mib_per_hour_all": round(slope_per_hour(samples) / 1024, 2),
            "exit_code_on_sigterm": code,
            "load_average": os.getloadavg(),
        }
        text = json.dumps(record, indent=2)
        print(text)
        if args.json:
            Path(args.json).write_text(text + "\n", encoding="utf-8")
        return 0 if code == 143 else 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
