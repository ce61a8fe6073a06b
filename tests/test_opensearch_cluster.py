"""Past one node (issue #17, item 4): a 3-node OpenSearch cluster on loopback keeps
answering when a node stops, and the next sync completes once it is back.

The folder is a deterministic 2,000-file slice of the HuffPost 10k folder
(`../shared/corpora/huffpost10k.tar.gz`: the first 2,000 clippings by file name), not
all 10k: three JVMs on this 2-core machine index 10k in about a minute more than the
test's ~90 s budget allows, and 2,000 clippings already spread over 3 primary shards and
their replicas. The index has 3 shards and 1 replica: the engine's `shards` setting
(`OpenSearchSettings.shards`) and its `auto_expand_replicas: 0-1`, which gives each
shard one replica as soon as there are two nodes. The searches and the sync go through
the real `searchkit` CLI.
"""

from __future__ import annotations

import json
import tarfile
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from searchkit.config import OpenSearchSettings
from searchkit.engine import open_engine
from tests.conftest import REPO, cli
from tools.osnode import osnode

CORPUS = REPO.parent / "shared" / "corpora" / "huffpost10k.tar.gz"
QUERIES = REPO / "benchmarks" / "news_queries" / "queries.tsv"
SLICE = 2000
INDEX = "searchkit-cluster"

pytestmark = pytest.mark.slow


def _unpack_slice(root: Path) -> Path:
    """The first SLICE clippings of the tarball, by name, into root/docs."""
    with tarfile.open(CORPUS) as tar:
        members = sorted((m for m in tar.getmembers()
                          if m.isfile() and m.name.startswith("docs/")), key=lambda m: m.name)
        tar.extractall(root, members=members[:SLICE], filter="data")
    return root / "docs"


def _queries() -> list[str]:
    """The 34 news queries, and broader ones that match many of the 2,000 clippings."""
    news = [line.split("\t")[1] for line in QUERIES.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    return [*news, "trump", "covid vaccine", "title:election", "climate OR weather",
            '"white house"', "police -trump"]


def _get(url: str) -> object:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


def _count(url: str) -> int:
    got = _get(f"{url}/{INDEX}/_count")
    assert isinstance(got, dict)
    return int(got["count"])


def _ids(url: str, query: str) -> tuple[int, list[str]]:
    """(total, ranked ids) of `search QUERY` through the CLI against the node at url."""
    code, out, err = cli("search", query, "--engine", "opensearch", "--opensearch-url", url,
                         "--opensearch-index", INDEX, "--format", "json", "--limit", "20")
    assert code in (0, 1), err
    got = json.loads(out)
    return got["total"], [hit["path"] for hit in got["hits"]]


def test_three_nodes_survive_a_stopped_node_and_sync_after_it_returns(
        osnode_clusters: Callable[[int], osnode.Cluster], tmp_path: Path) -> None:
    if not CORPUS.is_file():
        pytest.skip(f"the HuffPost 10k folder is not here ({CORPUS})")
    folder = _unpack_slice(tmp_path / "corpus")
    assert len(list(folder.iterdir())) == SLICE
    cluster = osnode_clusters(3)
    first, other = cluster.urls[0], cluster.urls[1]

    engine = open_engine("", "opensearch",
                         OpenSearchSettings(url=first, index=INDEX, shards=3))
    report = engine.update(folder)
    assert report.added == SLICE and not report.failed
    cluster.wait_healthy("green")  # every replica allocated before a node goes
    shards = _get(f"{first}/_cat/shards/{INDEX}?format=json")
    assert isinstance(shards, list)
    assert sorted((s["shard"], s["prirep"]) for s in shards if s["state"] == "STARTED") \
        == sorted((str(n), kind) for n in range(3) for kind in "pr")
    assert len({s["node"] for s in shards}) == 3  # spread over all three nodes

    queries = _queries()
    before = {q: _ids(first, q) for q in queries}
    assert sum(1 for total, _ in before.values() if total) >= 10  # not a set of empty answers

    cluster.stop_node(0)
    cluster.wait_healthy("yellow", nodes=[1, 2])
    after = {q: _ids(other, q) for q in queries}
    assert after == before

    # change the folder while node 0 is down: one edited, one deleted, one new clipping
    count = _count(other)
    names = sorted(p.name for p in folder.iterdir())
    edited, deleted, model = (folder / n for n in names[:3])
    edited.write_text(edited.read_text(encoding="utf-8").replace(
        'title: "', 'title: "Zanzibarquux ', 1), encoding="utf-8")
    deleted.unlink()
    new = model.read_text(encoding="utf-8").replace('title: "', 'title: "Zanzibarquux ', 1)
    new = new.replace("huffpost.com/entry/", "huffpost.com/entry/zz-").replace(
        f'id: "{model.stem}"', 'id: "zz-new"')
    (folder / "zz-new.md").write_text(new, encoding="utf-8")

    cluster.start_node(0)
    code, _, err = cli("index", str(folder), "--engine", "opensearch",
                       "--opensearch-url", first, "--opensearch-index", INDEX)
    assert code == 0, err
    for url in cluster.urls:  # every node, the returned one too, sees the synced index
        total, paths = _ids(url, "zanzibarquux")
        assert total == 2 and {Path(p).name for p in paths} == {edited.name, "zz-new.md"}
        assert _count(url) == count  # one deleted, one added
        assert deleted.name not in {Path(p).name for p in _ids(url, queries[0])[1]}
