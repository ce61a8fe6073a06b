"""Relevance evaluation: TREC topics and judgments in, MAP, nDCG@10, P@10, Recall@100 out.

Inputs, as TREC and ir_datasets write them:

* queries: one per line, ``qid<TAB>text`` (UTF-8; blank lines skipped). The text is
  searched as words (any may match, no query syntax), ranked as ``search`` ranks;
* judgments (qrels): ``qid iteration docid relevance``, whitespace separated; relevance
  is graded, and 1 or more means relevant (``trec_eval``'s default level).

A judged ``docid`` names an entry by its front-matter ``id`` or by its searchkit id (the
clipping's path, ``PATH#N`` for a related article).

Scores follow ``trec_eval`` (``-c``, measures ``map ndcg_cut.10 P.10 recall.100``): the
run is ordered by score, ties by docid descending; nDCG gains are the relevance grades
(negative ones count 0); every topic that has judgments is averaged, one that retrieves
nothing scoring 0; topics without judgments are run but not scored. ``tests/
test_evaluate.py`` checks these numbers against ``pytrec_eval``.

The library neither prints nor exits: bad input raises :class:`EvalInputError` naming
the file and line.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .errors import EvalInputError

# trec_eval names (and JSON keys) -> the labels people read
MEASURES: dict[str, str] = {
    "map": "MAP",
    "ndcg_cut_10": "nDCG@10",
    "P_10": "P@10",
    "recall_100": "R@100",
}
DEFAULT_DEPTH = 1000  # documents per topic, as in TREC runs
RUN_TAG = "searchkit"

Qrels = Mapping[str, Mapping[str, int]]  # qid -> docid -> relevance grade


@dataclass(frozen=True)
class Topic:
    """One query to evaluate: its id, its text and where it was read."""

    qid: str
    text: str
    line: int = 0


@dataclass(frozen=True)
class RunEntry:
    """One line of a TREC run: ``qid Q0 docid rank score tag``."""

    qid: str
    docid: str  # as judged: the front-matter id or the searchkit id
    rank: int
    score: float
    entry_id: str  # searchkit's id of the entry (clipping path or PATH#N)


@dataclass(frozen=True)
class QueryScores:
    """The measures of one topic (or, in ``Evaluation.mean``, their means)."""

    qid: str
    map: float
    ndcg_cut_10: float
    P_10: float
    recall_100: float
    num_rel: int
    num_ret: int
    num_rel_ret: int

    def measure(self, name: str) -> float:
        if name not in MEASURES:
            raise KeyError(name)
        return float(getattr(self, name))


@dataclass(frozen=True)
class Evaluation:
    """A whole evaluation: per-topic scores, their means and the run they came from."""

    mean: QueryScores  # qid "all"; the counts are sums, as trec_eval reports them
    per_query: tuple[QueryScores, ...]  # judged topics, in the order of the queries file
    run: tuple[RunEntry, ...]  # every topic's ranking, judged or not
    unjudged: tuple[str, ...]  # topics run but not scored: no judgments for them
    depth: int
    seconds: float = 0.0

    @property
    def topics(self) -> int:
        return len(self.per_query) + len(self.unjudged)


# ---------------------------------------------------------------- reading inputs


def _lines(path: str | os.PathLike[str], what: str) -> list[str]:
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            text = f.read()
    except FileNotFoundError:
        raise EvalInputError(str(path), f"no such {what} file") from None
    except IsADirectoryError:
        raise EvalInputError(str(path), f"is a folder, not a {what} file") from None
    except UnicodeDecodeError as exc:
        line = _line_of(path, exc.start)
        raise EvalInputError(str(path), "not UTF-8 text", line) from None
    except OSError as exc:
        raise EvalInputError(str(path), f"cannot read {what} file: {exc.strerror}") from None
    return text.splitlines()


def _line_of(path: str | os.PathLike[str], offset: int) -> int | None:
    """The 1-based line holding byte ``offset`` of ``path`` (for decoding errors)."""
    try:
        with open(path, "rb") as f:
            return f.read(offset).count(b"\n") + 1
    except OSError:
        return None


def load_queries(path: str | os.PathLike[str]) -> tuple[Topic, ...]:
    """Read ``qid<TAB>text`` lines; raise EvalInputError on a malformed or repeated qid."""
    from .vocabulary import MAX_QUERY_CHARS

    topics: list[Topic] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(_lines(path, "queries"), start=1):
        if not raw.strip():
            continue
        qid, tab, text = raw.partition("\t")
        qid, text = qid.strip(), text.strip()
        if not tab:
            raise EvalInputError(str(path), "expected qid<TAB>text (no tab on this line)",
                                 number)
        if not qid or any(c.isspace() for c in qid):
            raise EvalInputError(str(path), f"bad query id {qid!r}: it must be one word",
                                 number)
        if not text:
            raise EvalInputError(str(path), f"query {qid} has no text", number)
        if len(text) > MAX_QUERY_CHARS:
            raise EvalInputError(str(path), f"query {qid} is longer than {MAX_QUERY_CHARS} "
                                 "characters", number)
        if qid in seen:
            raise EvalInputError(str(path), f"query {qid} repeats line {seen[qid]}", number)
        seen[qid] = number
        topics.append(Topic(qid, text, number))
    if not topics:
        raise EvalInputError(str(path), "no queries (expected qid<TAB>text lines)")
    return tuple(topics)


def load_qrels(path: str | os.PathLike[str]) -> dict[str, dict[str, int]]:
    """Read ``qid iteration docid relevance`` lines into qid -> docid -> grade."""
    qrels: dict[str, dict[str, int]] = {}
    where: dict[tuple[str, str], int] = {}
    for number, raw in enumerate(_lines(path, "qrels"), start=1):
        parts = raw.split()
        if not parts:
            continue
        if len(parts) != 4:
            raise EvalInputError(str(path), f"expected 4 columns 'qid 0 docid relevance', "
                                 f"found {len(parts)}", number)
        qid, _, docid, grade = parts
        try:
            relevance = int(grade)
        except ValueError:
            raise EvalInputError(str(path), f"relevance {grade!r} is not a whole number",
                                 number) from None
        if (qid, docid) in where:
            raise EvalInputError(str(path), f"query {qid}, document {docid} is judged again "
                                 f"(first on line {where[qid, docid]})", number)
        where[qid, docid] = number
        qrels.setdefault(qid, {})[docid] = relevance
    if not qrels:
        raise EvalInputError(str(path), "no judgments (expected 'qid 0 docid relevance' lines)")
    return qrels


# ---------------------------------------------------------------- measures


def trec_order(ranking: Iterable[tuple[str, float]]) -> list[tuple[str, float]]:
    """trec_eval's order: score descending, then docid descending."""
    return sorted(ranking, key=lambda ds: (ds[1], ds[0]), reverse=True)


def score_query(qid: str, ranking: Iterable[tuple[str, float]],
                judged: Mapping[str, int]) -> QueryScores:
    """The measures of one topic from its (docid, score) pairs and its judgments."""
    docs = [docid for docid, _ in trec_order(ranking)]
    relevant = {d for d, grade in judged.items() if grade >= 1}
    num_rel = len(relevant)
    hits = [d in relevant for d in docs]
    found, precision_sum = 0, 0.0
    for rank, hit in enumerate(hits, start=1):
        if hit:
            found += 1
            precision_sum += found / rank
    ideal = sorted((g for g in judged.values() if g > 0), reverse=True)[:10]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    dcg = sum(max(judged.get(d, 0), 0) / math.log2(i + 2) for i, d in enumerate(docs[:10]))
    return QueryScores(
        qid=qid,
        map=precision_sum / num_rel if num_rel else 0.0,
        ndcg_cut_10=dcg / idcg if idcg > 0 else 0.0,
        P_10=sum(hits[:10]) / 10,
        recall_100=sum(hits[:100]) / num_rel if num_rel else 0.0,
        num_rel=num_rel,
        num_ret=len(docs),
        num_rel_ret=found,
    )


def mean_scores(scores: Sequence[QueryScores]) -> QueryScores:
    """Means of the measures (0 for no topics); the counts are summed."""
    n = len(scores)

    def avg(name: str) -> float:
        return sum(s.measure(name) for s in scores) / n if n else 0.0

    return QueryScores(
        qid="all", map=avg("map"), ndcg_cut_10=avg("ndcg_cut_10"), P_10=avg("P_10"),
        recall_100=avg("recall_100"), num_rel=sum(s.num_rel for s in scores),
        num_ret=sum(s.num_ret for s in scores),
        num_rel_ret=sum(s.num_rel_ret for s in scores),
    )


def score_run(run: Iterable[RunEntry], qrels: Qrels, qids: Sequence[str]
              ) -> tuple[QueryScores, tuple[QueryScores, ...], tuple[str, ...]]:
    """(mean, per-topic scores, unjudged qids) of ``run`` for the topics ``qids``."""
    by_qid: dict[str, list[tuple[str, float]]] = {qid: [] for qid in qids}
    for e in run:
        by_qid.setdefault(e.qid, []).append((e.docid, e.score))
    per_query = tuple(score_query(qid, by_qid[qid], qrels[qid]) for qid in qids if qid in qrels)
    unjudged = tuple(qid for qid in qids if qid not in qrels)
    return mean_scores(per_query), per_query, unjudged


# ---------------------------------------------------------------- running


def run_topics(index_dir: str | os.PathLike[str], topics: Sequence[Topic], qrels: Qrels,
               *, depth: int = DEFAULT_DEPTH) -> tuple[RunEntry, ...]:
    """Rank every topic with ``search``'s ranking; name each entry as the judgments do.

    An entry's docid is its front-matter id or its searchkit id, whichever the judgments
    use (the front-matter id when neither is judged and it has one). Two entries with
    the same docid keep the better-ranked one only, as a run may not repeat a document.
    """
    from .engine import open_engine

    if depth < 1:
        raise ValueError(f"depth must be at least 1, not {depth}")
    judged = {docid for judgments in qrels.values() for docid in judgments}
    rankings = open_engine(index_dir).rank_ids([t.text for t in topics], depth=depth)
    entries: list[RunEntry] = []
    for topic, ranking in zip(topics, rankings, strict=True):
        seen: set[str] = set()
        ordered: list[tuple[str, float, str]] = []
        for entry_id, source_id, score in ranking:
            if source_id and (source_id in judged or entry_id not in judged):
                docid = source_id
            else:
                docid = entry_id
            if docid in seen:
                continue
            seen.add(docid)
            ordered.append((docid, score, entry_id))
        ordered.sort(key=lambda t: (t[1], t[0]), reverse=True)  # trec_eval's order
        entries.extend(RunEntry(topic.qid, docid, rank, score, entry_id)
                       for rank, (docid, score, entry_id) in enumerate(ordered, start=1))
    return tuple(entries)


def evaluate(index_dir: str | os.PathLike[str], queries: str | os.PathLike[str],
             qrels: str | os.PathLike[str], *, depth: int = DEFAULT_DEPTH) -> Evaluation:
    """Run the queries file against the index and score the run with the qrels file."""
    started = time.monotonic()
    topics = load_queries(queries)
    judgments = load_qrels(qrels)
    if not any(t.qid in judgments for t in topics):
        raise EvalInputError(str(qrels), f"judges none of the {len(topics)} queries in "
                             f"{queries} (do the query ids match?)")
    run = run_topics(index_dir, topics, judgments, depth=depth)
    mean, per_query, unjudged = score_run(run, judgments, [t.qid for t in topics])
    return Evaluation(mean=mean, per_query=per_query, run=run, unjudged=unjudged,
                      depth=depth, seconds=time.monotonic() - started)


# ---------------------------------------------------------------- writing


def run_lines(run: Iterable[RunEntry], tag: str = RUN_TAG) -> str:
    """The run in TREC format; scores are written exactly (shortest round-trip form),
    so ``trec_eval`` on the file reproduces these measures."""
    return "".join(f"{e.qid} Q0 {e.docid} {e.rank} {e.score!r} {tag}\n" for e in run)


def write_run(path: str | os.PathLike[str], run: Iterable[RunEntry], tag: str = RUN_TAG
              ) -> None:
    """Write a TREC run file (replacing it); EvalInputError if it cannot be written."""
    text = run_lines(run, tag)
    try:
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    except OSError as exc:
        raise EvalInputError(str(path), f"cannot write the run file: {exc.strerror}") from None


def record(ev: Evaluation) -> dict[str, object]:
    """The evaluation as JSON-ready data (``eval --format json``)."""

    def measures(s: QueryScores) -> dict[str, float | int]:
        out: dict[str, float | int] = {name: round(s.measure(name), 4) for name in MEASURES}
        out.update(num_rel=s.num_rel, num_ret=s.num_ret, num_rel_ret=s.num_rel_ret)
        return out

    return {
        "version": 1,
        "topics": ev.topics,
        "judged": len(ev.per_query),
        "depth": ev.depth,
        "measures": measures(ev.mean),
        "per_query": {s.qid: measures(s) for s in ev.per_query},
        "unjudged": list(ev.unjudged),
        "seconds": round(ev.seconds, 3),
    }


def render_table(ev: Evaluation) -> str:
    """The means as an aligned two-column table (``eval``'s text output)."""
    rows = [(label, f"{ev.mean.measure(name):.4f}") for name, label in MEASURES.items()]
    judged = f"{len(ev.per_query)}"
    if ev.unjudged:
        judged += f" ({len(ev.unjudged)} more without judgments, not scored)"
    rows.insert(0, ("queries", judged))
    width = max(len(label) for label, _ in rows)
    return "".join(f"{label:<{width}}  {value}\n" for label, value in rows)
