"""Story grouping, measured: B-cubed precision, recall and F1 of ``searchkit.stories``.

    python benchmarks/stories.py                       # the development set
    python benchmarks/stories.py --uci PATH/uci-news-aggregator.csv   # + held-out set

The development set, ``benchmarks/stories/dev.jsonl``, holds only HuffPost record ids,
edits and event labels (see its README); the texts come from
``../shared/corpora/huffpost10k.tar.gz`` at run time, plus the hand-written
``benchmarks/stories/handmade.jsonl``. The held-out set is sampled (seeded) from a copy
of the UCI News Aggregator dataset (Google News story clusters, ``STORY`` column) that
you pass with ``--uci``; nothing is downloaded and no data is written.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import sys
import tarfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from searchkit import stories  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
HUFFPOST = os.path.join(HERE, "..", "..", "shared", "corpora", "huffpost10k.tar.gz")


def bcubed(truth: dict[str, str], got: dict[str, str]) -> tuple[float, float, float]:
    """B-cubed precision, recall and F1 of clusters ``got`` against labels ``truth``."""
    by_got: dict[str, list[str]] = defaultdict(list)
    by_true: dict[str, list[str]] = defaultdict(list)
    for k in truth:
        by_got[got[k]].append(k)
        by_true[truth[k]].append(k)
    p = r = 0.0
    for k in truth:
        same = by_got[got[k]]
        correct = sum(1 for o in same if truth[o] == truth[k])
        p += correct / len(same)
        r += correct / len(by_true[truth[k]])
    p, r = p / len(truth), r / len(truth)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def single_link_tfidf(items: Sequence[stories.Item]) -> dict[str, str]:
    """Baseline: plain TF-IDF single-link (every link joins, no centroid guard)."""
    saved = stories.GUARD
    stories.GUARD = -1.0
    try:
        return stories.group(items)
    finally:
        stories.GUARD = saved


def _huffpost(ids: set[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    with tarfile.open(HUFFPOST) as tar:
        for m in tar:
            name = os.path.basename(m.name)[:-3]
            if m.isfile() and name in ids:
                text = tar.extractfile(m).read().decode()  # type: ignore[union-attr]
                rec = {k: json.loads(v) if v.startswith('"') else v for k, v in re.findall(
                    r"^(title|excerpt|publishedDateTime): (.*)$", text, re.M)}
                out[name] = rec
    return out


def _epoch(iso: str) -> int:
    import datetime as dt

    return int(dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


def _edit(text: str, ops: list[str]) -> str:
    for op in ops:
        if op.startswith("prefix:"):
            text = op[7:] + text
        elif op.startswith("suffix:"):
            text = text + op[7:]
        elif op == "cut":  # the wire copy cut short
            cut = text[: max(40, int(len(text) * 0.7))]
            text = cut.rsplit(" ", 1)[0] + " ..."
        elif op == "lower":
            text = text.lower()
        elif op == "drop":
            text = ""
    return text


def dev_set() -> tuple[list[stories.Item], dict[str, str]]:
    rows = [json.loads(line) for line in open(os.path.join(HERE, "stories", "dev.jsonl"))]
    recs = _huffpost({r["hp"] for r in rows if "hp" in r})
    items, truth = [], {}
    for r in rows:
        if "hp" in r:
            rec = recs[r["hp"]]
            title = _edit(rec["title"], r.get("title_ops", []))
            excerpt = _edit(rec["excerpt"], r.get("excerpt_ops", []))
            published = _epoch(rec["publishedDateTime"]) + r.get("lag_hours", 0) * 3600
        else:
            title, excerpt = r["title"], r.get("excerpt", "")
            published = _epoch(r["published"])
        items.append(stories.Item(r["id"], r["id"], title, excerpt, published,
                                  r.get("outlet", "")))
        truth[r["id"]] = r["event"]
    for r in (json.loads(line) for line in open(os.path.join(HERE, "stories",
                                                              "handmade.jsonl"))):
        items.append(stories.Item(r["id"], r["id"], r["title"], r.get("excerpt", ""),
                                  _epoch(r["published"]), r.get("outlet", "")))
        truth[r["id"]] = r["event"]
    return items, truth


def uci_set(path: str, stories_n: int = 100, per_story: int = 12, seed: int = 14
            ) -> tuple[list[stories.Item], dict[str, str]]:
    """About 1,000 headlines of about 100 stories (every story, when the copy has fewer),
    at most ``per_story`` of each, seeded."""
    by_story: dict[str, list[dict[str, str]]] = defaultdict(list)
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row.get("STORY") and row.get("TIMESTAMP", "").isdigit():
                by_story[row["STORY"]].append(row)
    rng = random.Random(seed)
    chosen = sorted(by_story)
    rng.shuffle(chosen)
    items, truth = [], {}
    for sid in chosen[:stories_n]:
        rows = by_story[sid]
        for row in rng.sample(rows, min(per_story, len(rows))):
            key = f"uci{row['ID']}"
            items.append(stories.Item(key, key, row["TITLE"], "",
                                      int(row["TIMESTAMP"]) // 1000, row["PUBLISHER"]))
            truth[key] = sid
    return items, truth


METHODS: dict[str, Callable[[Sequence[stories.Item]], dict[str, str]]] = {
    "tfidf-single-link": single_link_tfidf,
    "tfidf-centroid-guard (searchkit)": stories.group,
}


def measure(name: str, items: list[stories.Item], truth: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {"set": name, "entries": len(items),
                           "events": len(set(truth.values())), "methods": {}}
    for label, fn in METHODS.items():
        t0 = time.perf_counter()
        got = fn(items)
        secs = time.perf_counter() - t0
        p, r, f = bcubed(truth, got)
        out["methods"][label] = {"precision": round(p, 3), "recall": round(r, 3),
                                 "f1": round(f, 3), "stories": len(set(got.values())),
                                 "seconds": round(secs, 3)}
    return out


def cost(folder: str, updates: int = 5) -> dict[str, Any]:
    """CPU seconds of a full build of ``folder`` and of 1-file updates (``workers=1``,
    all in this process), and the share of them spent writing the story table
    (``storytable.write``). CPU time, not wall time: other processes on the machine
    inflate wall times, not these."""
    import shutil
    import tempfile

    from searchkit import indexer
    from searchkit.indexer import storytable

    real = storytable.write
    spent: list[float] = []

    def timed(*args: Any, **kwargs: Any) -> None:
        t0 = time.process_time()
        try:
            real(*args, **kwargs)
        finally:
            spent.append(time.process_time() - t0)

    work = tempfile.mkdtemp(prefix="stories-cost-")
    storytable.write = timed
    try:
        copy = os.path.join(work, "clips")
        shutil.copytree(folder, copy)
        names = sorted(os.listdir(copy))
        ix = os.path.join(work, "ix")
        t0 = time.process_time()
        indexer.update(copy, ix, workers=1)
        build = time.process_time() - t0
        build_story = spent.pop()
        totals, stories_s = [], []
        for k in range(updates):
            path = os.path.join(copy, names[(k + 1) * len(names) // (updates + 1)])
            text = open(path, encoding="utf-8").read()
            with open(path, "w", encoding="utf-8") as f:
                f.write(text.replace("title: \"", f"title: \"edit{k} ", 1))
            t0 = time.process_time()
            indexer.update(copy, ix, workers=1)
            totals.append(time.process_time() - t0)
            stories_s.append(spent.pop())
    finally:
        storytable.write = real
        shutil.rmtree(work, ignore_errors=True)

    def mid(xs: list[float]) -> float:
        return round(sorted(xs)[len(xs) // 2], 3)

    return {"folder": folder, "clippings": len(names),
            "build_cpu_s": round(build, 3), "build_story_cpu_s": round(build_story, 3),
            "build_extra": round(build_story / max(build - build_story, 1e-9), 3),
            "update_cpu_s": mid(totals), "update_story_cpu_s": mid(stories_s)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--uci", help="a copy of uci-news-aggregator.csv (held-out set)")
    ap.add_argument("--no-dev", action="store_true")
    ap.add_argument("--cost", metavar="FOLDER",
                    help="also time a full build and a 1-file update of FOLDER with and "
                         "without stories")
    opts = ap.parse_args(argv)
    results: list[dict[str, Any]] = []
    if not opts.no_dev:
        results.append(measure("dev", *dev_set()))
    if opts.uci:
        results.append(measure("uci-heldout", *uci_set(opts.uci)))
    for res in results:
        print(f"{res['set']}: {res['entries']} entries, {res['events']} events")
        for label, m in res["methods"].items():
            print(f"  {label:34} P {m['precision']:.3f}  R {m['recall']:.3f}  "
                  f"F1 {m['f1']:.3f}  ({m['stories']} stories, {m['seconds']} s)")
    if opts.cost:
        c = cost(opts.cost)
        print(f"cost on {c['folder']} ({c['clippings']} clippings), CPU seconds: full "
              f"build {c['build_cpu_s']} s, of which the story table "
              f"{c['build_story_cpu_s']} s (+{c['build_extra']:.0%} over the rest); "
              f"1-file update {c['update_cpu_s']} s, of which the story table "
              f"{c['update_story_cpu_s']} s (medians)")
        results.append({"set": "cost", **c})
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
