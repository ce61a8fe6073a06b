"""Stories: the entries that report the same news, whichever outlet or file they come from.

Engine-neutral (no Whoosh here): an engine hands over entries as :class:`Item` values
and says where to write; this module groups them and keeps the story table.

The method (chosen by measuring, see ``benchmarks/stories.py`` and benchmarks/README.md):

* An entry's words are its title (counted twice) and excerpt, lower-cased, stop words
  dropped, plurals folded (:func:`words`). Each entry is a TF-IDF vector (``1 + ln tf``
  times ``ln(N / df)``, document frequencies over every entry of the index), unit length.
* Two entries are **linked** when they were published at most :data:`WINDOW_DAYS` apart
  and their cosine is at least :data:`LINK` -- or they are the same article (one
  canonical URL). Undated entries are compared with undated entries only.
* Links are taken strongest first and join two stories only if the two stories'
  centroids are also at least :data:`GUARD` alike -- unless the link is a near copy
  (cosine >= :data:`COPY`, syndicated wire text, or the same article): copies always
  end in one story. The centroid guard is what stops a chain of loosely related
  entries (the same subject on different days) from becoming one story.

The story table is an SQLite file per commit (``searchkit-stories-<generation>.sqlite``)
holding each entry's story, date, outlet, title and words, and the document
frequencies. An update copies the previous commit's table and changes only the stories
its entries touch: the stories of removed or changed entries and of the entries the new
ones link to are taken apart and grouped again (a merge when a new entry links two
stories, a split when the link goes). Story ids are stable: a new story is named by
a hash of its earliest member's entry id; a story that grows or merges keeps its id (of
two, the one whose earliest member is earlier); when a story splits, the part holding
its earliest remaining member keeps the id.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import shutil
import sqlite3
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .errors import IndexCorruptError

WINDOW_DAYS = 3  # entries further apart in time are never one story
LINK = 0.40  # cosine for a link between two entries
GUARD = 0.30  # cosine between two stories' centroids for a link to join them
COPY = 0.80  # cosine of a near copy (syndication): joins whatever the centroids say
MAX_POSTINGS = 5_000  # a word with more entries than this inside one window links nothing
CANDIDATE_WORDS = 6  # an entry meets the others through its weightiest words only
FORMAT_VERSION = 1
_DAY = 86_400
WINDOW = WINDOW_DAYS * _DAY

STOP_WORDS = frozenset("""
a about after again all also am an and any are as at be because been before being
between both but by can could did do does doing down during each few for from further
had has have having he her here hers him his how i if in into is it its itself just me
more most my new no nor not now of off on once only or other our ours out over own said
says same she should so some such than that the their them then there these they this
those through to too under until up us very was we were what when where which while who
whom why will with would you your""".split())

_WORD = re.compile(r"[^\W_]+(?:['’.&][^\W_]+)*", re.UNICODE)


@dataclass(frozen=True)
class Item:
    """One entry, as stories see it."""

    key: str
    path: str  # the clipping file the entry comes from
    title: str
    excerpt: str
    published: int | None  # epoch seconds
    provider: str = ""
    canonical: str = ""  # entries with one canonical URL are one article


@dataclass(frozen=True)
class Member:
    """A story's entry, for display."""

    key: str
    published: int | None
    provider: str
    title: str


_stems: dict[str, str] = {}


def _fold(word: str) -> str:
    stem = _stems.get(word)
    if stem is None:
        stem = word.replace("’", "'").replace(".", "")
        if stem.endswith("'s"):
            stem = stem[:-2]
        if len(stem) > 4 and stem.endswith("ies"):
            stem = stem[:-3] + "y"
        elif len(stem) > 3 and stem.endswith("s") and not stem.endswith(("ss", "us", "is")):
            stem = stem[:-1]
        if len(_stems) < 200_000:
            _stems[word] = stem
    return stem


def words(title: str, excerpt: str) -> Counter[str]:
    """The bag of words of an entry: the title's twice, then the excerpt's."""
    bag: Counter[str] = Counter()
    stems, stop = _stems, STOP_WORDS
    for text, weight in ((title, 2), (excerpt, 1)):
        for w in _WORD.findall(text.lower()):
            stem = stems.get(w)
            if stem is None:
                if w in stop or (len(w) == 1 and not w.isdigit()):
                    continue
                stem = _fold(w)
            bag[stem] += weight
    return bag


def story_id(key: str) -> str:
    """The id a new story takes: a hash of its earliest member's entry id."""
    return "s" + hashlib.blake2b(key.encode("utf-8", "surrogatepass"),
                                 digest_size=5).hexdigest()


# ---------------------------------------------------------------- grouping


@dataclass
class _Node:
    key: str
    published: int | None
    canonical: str
    bag: Counter[str]
    vec: dict[str, float]


def _vector(bag: Counter[str], df: dict[str, int], n: int) -> dict[str, float]:
    vec = {w: (1.0 + math.log(tf)) * math.log((n + 1) / (df.get(w, 0) + 0.5))
           for w, tf in bag.items()}
    norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
    return {w: v / norm for w, v in vec.items()}


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(w, 0.0) for w, v in a.items())


def _links(nodes: Sequence[_Node], focus: Iterable[int] | None = None
           ) -> list[tuple[float, int, int]]:
    """(cosine, i, j) for every linked pair; with ``focus``, only pairs with one of
    those nodes. An inverted index over the words, each list in date order, so each
    node meets only the nodes inside its window that share a word."""
    order = sorted(range(len(nodes)), key=lambda i: nodes[i].published or 0)
    dated: dict[str, tuple[list[int], list[int]]] = {}
    undated: dict[str, list[int]] = defaultdict(list)
    by_article: dict[str, list[int]] = defaultdict(list)
    for i in order:
        node = nodes[i]
        if node.canonical:
            by_article[node.canonical].append(i)
        for w in node.vec:
            if node.published is None:
                undated[w].append(i)
            else:
                ids, ts = dated.setdefault(w, ([], []))
                ids.append(i)
                ts.append(node.published)
    out: dict[tuple[int, int], float] = {}
    for i in range(len(nodes)) if focus is None else focus:
        node = nodes[i]
        # Candidates through the node's weightiest words only (prefix filtering): two
        # entries that say the same thing share one of them; their cosine is exact.
        top = sorted(node.vec.items(), key=lambda wv: -wv[1])[:CANDIDATE_WORDS]
        seen: set[int] = {i}
        for w, _ in top:
            if node.published is None:
                ids, lo, hi = undated.get(w, []), 0, len(undated.get(w, []))
            else:
                ids, ts = dated.get(w, ([], []))
                lo = bisect_left(ts, node.published - WINDOW)
                hi = bisect_right(ts, node.published + WINDOW)
            if hi - lo > MAX_POSTINGS:
                continue
            for k in range(lo, hi):
                j = ids[k]
                if j in seen:
                    continue
                seen.add(j)
                pair = (min(i, j), max(i, j))
                if pair in out:
                    continue
                sim = _cosine(node.vec, nodes[j].vec)
                if sim >= LINK:
                    out[pair] = sim
        for j in by_article.get(node.canonical, ()) if node.canonical else ():
            if j != i:
                out[(min(i, j), max(i, j))] = 1.0
    return sorted(((s, i, j) for (i, j), s in out.items()), key=lambda t: (-t[0], t[1], t[2]))


def _cluster(nodes: Sequence[_Node], links: list[tuple[float, int, int]]) -> list[list[int]]:
    """Strongest links first; a link joins two stories when it is a near copy or the
    stories' centroids are alike (no chaining through loose links)."""
    parent = list(range(len(nodes)))
    centroid: dict[int, dict[str, float]] = {i: dict(n.vec) for i, n in enumerate(nodes)}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for sim, i, j in links:
        a, b = find(i), find(j)
        if a == b:
            continue
        ca, cb = centroid[a], centroid[b]
        if sim < COPY:
            na = math.sqrt(sum(v * v for v in ca.values())) or 1.0
            nb = math.sqrt(sum(v * v for v in cb.values())) or 1.0
            if _cosine(ca, cb) / (na * nb) < GUARD:
                continue
        if len(ca) < len(cb):
            a, b, ca, cb = b, a, cb, ca
        for w, v in cb.items():
            ca[w] = ca.get(w, 0.0) + v
        parent[b] = a
        del centroid[b]
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(nodes)):
        groups[find(i)].append(i)
    return list(groups.values())


def _nodes(items: Sequence[Item]) -> tuple[list[_Node], Counter[str]]:
    """``items`` as nodes to cluster, each weighted by the document frequencies over
    ``items`` alone, and those frequencies (word -> entries holding it)."""
    bags = [words(it.title, it.excerpt) for it in items]
    df: Counter[str] = Counter()
    for bag in bags:
        df.update(bag.keys())
    return [_Node(it.key, it.published, it.canonical, bag, _vector(bag, df, len(items)))
            for it, bag in zip(items, bags, strict=True)], df


def group(items: Sequence[Item]) -> dict[str, str]:
    """Entry key -> story id for ``items`` alone, from scratch (no table): the
    method, for measuring it (document frequencies over ``items``)."""
    nodes, _ = _nodes(items)
    out: dict[str, str] = {}
    for members in _cluster(nodes, _links(nodes)):
        first = min(members, key=lambda i: _age(nodes[i].published, nodes[i].key))
        sid = story_id(nodes[first].key)
        for i in members:
            out[nodes[i].key] = sid
    return out


def _age(published: int | None, key: str) -> tuple[bool, int, str]:
    return (published is None, published or 0, key)


def _assign(nodes: Sequence[_Node], clusters: list[list[int]], old: dict[str, str],
            taken: set[str]) -> dict[str, str]:
    """Story ids for ``clusters``: each old story's id goes to the cluster holding its
    earliest remaining member; a cluster given several keeps the one whose earliest
    member is earliest; a cluster given none is named after its earliest member.
    ``taken``: ids of stories outside these clusters (never reused)."""
    earliest: dict[str, tuple[tuple[bool, int, str], int]] = {}
    where = {}
    for c, members in enumerate(clusters):
        for i in members:
            where[i] = c
            sid = old.get(nodes[i].key)
            if sid:
                age = _age(nodes[i].published, nodes[i].key)
                if sid not in earliest or age < earliest[sid][0]:
                    earliest[sid] = (age, i)
    offered: dict[int, list[tuple[tuple[bool, int, str], str]]] = defaultdict(list)
    for sid, (age, i) in earliest.items():
        offered[where[i]].append((age, sid))
    out: dict[str, str] = {}
    used = set(taken)
    for c, members in enumerate(clusters):
        if offered.get(c):
            sid = min(offered[c])[1]
        else:
            first = min(members, key=lambda i: _age(nodes[i].published, nodes[i].key))
            base = sid = story_id(nodes[first].key)
            n = 1
            while sid in used or sid in earliest:
                n += 1
                sid = f"{base}-{n}"
        used.add(sid)
        for i in members:
            out[nodes[i].key] = sid
    return out


# ---------------------------------------------------------------- the story table

TABLE = re.compile(r"^searchkit-stories-(\d+)\.sqlite$")


def table_name(generation: int) -> str:
    """The story table of commit ``generation``, in the index folder."""
    return f"searchkit-stories-{generation}.sqlite"


_SCHEMA = """
CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT);
CREATE TABLE entries (key TEXT PRIMARY KEY, path TEXT NOT NULL, story TEXT NOT NULL,
    published INTEGER, provider TEXT NOT NULL, title TEXT NOT NULL,
    canonical TEXT NOT NULL, words TEXT NOT NULL);
CREATE INDEX entries_story ON entries (story);
CREATE INDEX entries_path ON entries (path);
CREATE INDEX entries_published ON entries (published);
CREATE INDEX entries_canonical ON entries (canonical);
CREATE TABLE df (word TEXT PRIMARY KEY, n INTEGER NOT NULL);
"""


def _pack(bag: Counter[str]) -> str:
    return " ".join(f"{w}:{n}" for w, n in bag.items() if " " not in w and ":" not in w)


def _unpack(text: str) -> Counter[str]:
    bag: Counter[str] = Counter()
    for part in text.split():
        w, _, n = part.rpartition(":")
        bag[w] = int(n)
    return bag


def write_table(folder: str, generation: int, *, items: Sequence[Item],
                removed_paths: Iterable[str] | None, previous: str | None,
                file_mode: int = 0o644) -> str:
    """Write the story table of commit ``generation`` into ``folder``; returns its name.

    ``removed_paths`` None: ``items`` are every entry (a full build; ids are carried
    over from ``previous``, the path of the last commit's table, when there is one).
    Otherwise ``previous`` is copied and only the stories touched by the entries of
    ``removed_paths`` (removed or changed) and by the new ``items`` are grouped again.
    Written under a temporary name, synced and renamed: the caller commits after."""
    name = table_name(generation)
    temp = os.path.join(folder, f"{name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, file_mode)
    os.close(fd)
    try:
        incremental = removed_paths is not None and previous is not None
        if incremental:
            assert previous is not None
            shutil.copyfile(previous, temp)
        db = sqlite3.connect(temp, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=OFF")
            db.execute("PRAGMA synchronous=OFF")
            db.execute("BEGIN")
            if incremental:
                _update(db, items, set(removed_paths or ()))
            else:
                _build(db, items, previous)
            db.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)",
                       (str(generation),))
            db.execute("COMMIT")
        finally:
            db.close()
        fd = os.open(temp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, os.path.join(folder, name))
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    return name


def _old_ids(previous: str | None) -> dict[str, str]:
    if previous is None:
        return {}
    try:
        db = sqlite3.connect(f"file:{previous}?mode=ro", uri=True)
        try:
            return dict(db.execute("SELECT key, story FROM entries"))
        finally:
            db.close()
    except sqlite3.Error:
        return {}


def _build(db: sqlite3.Connection, items: Sequence[Item], previous: str | None) -> None:
    db.executescript(_SCHEMA.replace(";", ";\n"))
    db.execute("BEGIN")  # executescript committed
    db.execute("INSERT INTO meta VALUES ('version', ?)", (str(FORMAT_VERSION),))
    nodes, df = _nodes(items)
    ids = _assign(nodes, _cluster(nodes, _links(nodes)), _old_ids(previous), set())
    db.executemany("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (
        (it.key, it.path, ids[it.key], it.published, it.provider, it.title, it.canonical,
         _pack(node.bag)) for it, node in zip(items, nodes, strict=True)))
    db.executemany("INSERT INTO df VALUES (?, ?)", df.items())


_COLUMNS = "key, story, published, canonical, words"


def _update(db: sqlite3.Connection, items: Sequence[Item], removed: set[str]) -> None:
    touched: set[str] = set()
    gone_df: Counter[str] = Counter()
    for path in removed:
        for story, text in db.execute(
                "SELECT story, words FROM entries WHERE path = ?", (path,)):
            touched.add(story)
            gone_df.update(_unpack(text).keys())
        db.execute("DELETE FROM entries WHERE path = ?", (path,))
    new_bags = [words(it.title, it.excerpt) for it in items]
    new_df: Counter[str] = Counter()
    for bag in new_bags:
        new_df.update(bag.keys())
    for w, n in (new_df - gone_df).items():
        db.execute("INSERT INTO df VALUES (?, ?) ON CONFLICT(word) DO UPDATE SET n = n + ?",
                   (w, n, n))
    for w, n in (gone_df - new_df).items():
        db.execute("UPDATE df SET n = n - ? WHERE word = ?", (n, w))
    db.execute("DELETE FROM df WHERE n <= 0")
    total = db.execute("SELECT COUNT(*) FROM entries").fetchone()[0] + len(items)
    df_cache: dict[str, int] = {}

    def df_of(bag: Counter[str]) -> dict[str, int]:
        missing = [w for w in bag if w not in df_cache]
        for chunk in _chunks(missing):
            marks = ",".join("?" * len(chunk))
            df_cache.update(db.execute(f"SELECT word, n FROM df WHERE word IN ({marks})",
                                       chunk))
        return df_cache

    def node(key: str, published: int | None, canonical: str, bag: Counter[str]) -> _Node:
        return _Node(key, published, canonical, bag, _vector(bag, df_of(bag), total))

    new_nodes = [node(it.key, it.published, it.canonical, bag)
                 for it, bag in zip(items, new_bags, strict=True)]
    # The stories the new entries link to (within the window, or the same article).
    for nd in new_nodes:
        if nd.published is None:
            rows = db.execute(f"SELECT {_COLUMNS} FROM entries WHERE published IS NULL"
                              ).fetchall()
        else:
            rows = db.execute(f"SELECT {_COLUMNS} FROM entries WHERE published BETWEEN ? "
                              "AND ?", (nd.published - WINDOW, nd.published + WINDOW)
                              ).fetchall()
        if nd.canonical:
            rows += db.execute(f"SELECT {_COLUMNS} FROM entries WHERE canonical = ?",
                               (nd.canonical,)).fetchall()
        for key, story, published, canonical, text in rows:
            if story in touched:
                continue
            if (nd.canonical and canonical == nd.canonical) or _cosine(
                    nd.vec, node(key, published, canonical, _unpack(text)).vec) >= LINK:
                touched.add(story)
    old: dict[str, str] = {}
    nodes = list(new_nodes)
    for chunk in _chunks(sorted(touched)):
        marks = ",".join("?" * len(chunk))
        for key, story, published, canonical, text in db.execute(
                f"SELECT {_COLUMNS} FROM entries WHERE story IN ({marks})", chunk):
            old[key] = story
            nodes.append(node(key, published, canonical, _unpack(text)))
    clusters = _cluster(nodes, _links(nodes))
    taken = {s for (s,) in db.execute("SELECT DISTINCT story FROM entries")} - touched
    ids = _assign(nodes, clusters, old, taken)
    db.executemany("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (
        (it.key, it.path, ids[it.key], it.published, it.provider, it.title, it.canonical,
         _pack(bag)) for it, bag in zip(items, new_bags, strict=True)))
    db.executemany("UPDATE entries SET story = ? WHERE key = ?",
                   ((ids[k], k) for k in old if ids[k] != old[k]))


def _chunks(values: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


# ---------------------------------------------------------------- reading


class Table:
    """A commit's story table, open for reading (:func:`open_table`)."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self._db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
            self._db.execute("SELECT v FROM meta WHERE k = 'version'").fetchone()
        except sqlite3.Error as exc:
            raise IndexCorruptError(os.path.dirname(path),
                                    f"story table {os.path.basename(path)}: {exc}") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stories_of(self, keys: Sequence[str]) -> dict[str, str]:
        """Entry key -> story id, for the keys the table holds."""
        out: dict[str, str] = {}
        for chunk in _chunks(list(keys)):
            marks = ",".join("?" * len(chunk))
            out.update(self._db.execute(
                f"SELECT key, story FROM entries WHERE key IN ({marks})", chunk))
        return out

    def members(self, story_ids: Iterable[str]) -> dict[str, list[Member]]:
        """Story id -> its members, oldest first (undated last)."""
        out: dict[str, list[Member]] = defaultdict(list)
        for chunk in _chunks(sorted(set(story_ids))):
            marks = ",".join("?" * len(chunk))
            for sid, key, published, provider, title in self._db.execute(
                    "SELECT story, key, published, provider, title FROM entries "
                    f"WHERE story IN ({marks})", chunk):
                out[sid].append(Member(key, published, provider, title))
        for members in out.values():
            members.sort(key=lambda m: _age(m.published, m.key))
        return dict(out)
