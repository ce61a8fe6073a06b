"""The OpenSearch engine's own behaviour on a real node (issue #17, item 1): incremental
sync from the folder scan and diff, the manifest kept in the index, per-file failures,
mapping versions, and one clear line (exit 2) for a cluster that cannot serve."""

from __future__ import annotations

import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from searchkit.config import OpenSearchSettings
from searchkit.engine import SearchRequest, open_engine
from searchkit.opensearch_engine import OpenSearchEngine, mapping
from searchkit.results import Filters
from tests.conftest import SEEDS, Corpus, cli


@pytest.fixture
def index_name(opensearch_url: str) -> Iterator[str]:
    name = f"searchkit-test-{uuid.uuid4().hex[:10]}"
    yield name
    engine = _engine(opensearch_url, name)
    if engine.client.indices.exists(index=name):
        engine.client.indices.delete(index=name)


def _engine(url: str, name: str) -> OpenSearchEngine:
    engine = open_engine("", "opensearch", OpenSearchSettings(url=url, index=name))
    assert isinstance(engine, OpenSearchEngine)
    return engine


def _args(url: str, name: str) -> tuple[str, ...]:
    return ("--engine", "opensearch", "--opensearch-url", url, "--opensearch-index", name)


def _ids(engine: OpenSearchEngine) -> list[str]:
    results = engine.search(SearchRequest("", limit=None, timeout=None,
                                          filters=_every()))
    return sorted(h.id for h in results.hits)


def _every() -> Filters:
    return Filters(kinds=("clipping", "related"))


def test_sync_sends_only_what_changed(opensearch_url: str, index_name: str,
                                      tmp_path: Path) -> None:
    c = Corpus(tmp_path / "clips")
    c.add("a.md", title="Alpha floods", excerpt="river", webUrl="https://x.com/a")
    c.add("b.md", title="Beta fires", excerpt="forest", webUrl="https://x.com/b",
          related=[{"title": "Beta related one", "webUrl": "https://y.com/1"},
                   {"title": "Beta related two", "webUrl": "https://y.com/2"}])
    c.add("c.md", title="Gamma storms", excerpt="coast", webUrl="https://x.com/c")
    engine = _engine(opensearch_url, index_name)
    first = engine.update(c.root)
    assert (first.added, first.updated, first.deleted) == (3, 0, 0)
    assert _ids(engine) == ["a.md", "b.md", "b.md#1", "b.md#2", "c.md"]

    again = engine.update(c.root)
    assert (again.added, again.updated, again.deleted, again.unchanged) == (0, 0, 0, 3)

    c.add("b.md", title="Beta fires", excerpt="forest, updated",
          webUrl="https://x.com/b", related=[{"title": "Only one now",
                                              "webUrl": "https://y.com/1"}])
    (c.root / "c.md").rename(c.root / "renamed.md")
    c.delete("a.md")
    c.add("d.md", title="Delta quakes", excerpt="ground", webUrl="https://x.com/d")
    diff = engine.diff(c.root)
    assert (sorted(diff.added), diff.modified, diff.deleted) == \
        (["d.md", "renamed.md"], ("b.md",), ("a.md", "c.md"))
    report = engine.update(c.root)
    assert (report.added, report.updated, report.deleted, report.renamed) == (1, 1, 1, 1)
    # the leftover related entry b.md#2 is gone with the old version of b.md
    assert _ids(engine) == ["b.md", "b.md#1", "d.md", "renamed.md"]
    assert engine.diff(c.root).is_empty


def test_sync_state_lives_with_the_index(opensearch_url: str, index_name: str,
                                         tmp_path: Path) -> None:
    """Two machines (two engines, two copies of the folder with their own stamps) agree
    on what the index holds: the second one's sync finds only what it changed."""
    one, two = tmp_path / "one", tmp_path / "two"
    shutil.copytree(SEEDS, one)
    shutil.copytree(SEEDS, two, copy_function=shutil.copy2)
    _engine(opensearch_url, index_name).update(one)
    other = _engine(opensearch_url, index_name)
    assert other.recorded_folder() == str(one)
    diff = other.diff(one)
    assert diff.is_empty and diff.unchanged == 5


def test_a_file_the_cluster_refuses_is_reported_and_sent_again(
        opensearch_url: str, index_name: str, tmp_path: Path) -> None:
    c = Corpus(tmp_path / "clips")
    c.add("ok.md", title="Fine", excerpt="fine", webUrl="https://x.com/ok")
    # a URL longer than a keyword term may be (32,766 bytes): the node rejects the item
    c.add("long.md", title="Long", excerpt="long", webUrl="https://x.com/" + "a" * 40_000)
    code, out, err = cli("index", str(c.root), *_args(opensearch_url, index_name))
    assert code == 4
    assert "1 added" in out and "1 failed" in out
    assert err.startswith("long.md: not sent to OpenSearch (400: ")
    assert err.rstrip().endswith("the next sync sends it again")
    engine = _engine(opensearch_url, index_name)
    assert _ids(engine) == ["ok.md"]
    assert engine.diff(c.root).added == ("long.md",)
    c.add("long.md", title="Long", excerpt="long", webUrl="https://x.com/short")
    assert engine.update(c.root).added == 1
    assert _ids(engine) == ["long.md", "ok.md"]


def test_an_index_of_another_mapping_version_is_rebuilt(
        opensearch_url: str, index_name: str, tmp_path: Path) -> None:
    shutil.copytree(SEEDS, tmp_path / "seeds")
    engine = _engine(opensearch_url, index_name)
    engine.update(tmp_path / "seeds")
    engine.client.indices.put_mapping(index=index_name, body={"_meta": {
        mapping.META_KEY: mapping.MAPPING_VERSION - 1, "folder": str(tmp_path / "seeds")}})
    code, _, err = cli("search", "facial", "--no-refresh", "--seeds",
                       str(tmp_path / "seeds"), *_args(opensearch_url, index_name))
    assert code == 2
    assert err == (f"Error: OpenSearch at {opensearch_url}: index {index_name!r} was written "
                   f"by another mapping version ({mapping.MAPPING_VERSION - 1}) — run "
                   "`searchkit index FOLDER --engine opensearch --rebuild`\n")
    report = engine.update(tmp_path / "seeds")
    assert report.rebuilt and "mapping version" in report.rebuild_reason
    assert report.added == 5
    assert cli("search", "facial", "--seeds", str(tmp_path / "seeds"),
               *_args(opensearch_url, index_name))[0] == 0


def test_an_index_that_is_not_searchkits_is_refused_not_deleted(
        opensearch_url: str, index_name: str, tmp_path: Path) -> None:
    engine = _engine(opensearch_url, index_name)
    engine.client.indices.create(index=index_name, body={"mappings": {"properties": {
        "body": {"type": "text"}}}})
    shutil.copytree(SEEDS, tmp_path / "seeds")
    code, _, err = cli("index", str(tmp_path / "seeds"), *_args(opensearch_url, index_name))
    assert code == 2
    assert f"index {index_name!r} is not searchkit's" in err
    assert "--opensearch-index NAME" in err and "Traceback" not in err
    assert engine.client.indices.exists(index=index_name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("command", [("search", "facial"), ("index", "FOLDER"),
                                     ("status",), ("show", "a.md")])
def test_a_node_that_is_down_is_one_line_naming_the_url(command: tuple[str, ...],
                                                        tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    shutil.copytree(SEEDS, tmp_path / "seeds")
    args = [str(tmp_path / "seeds") if a == "FOLDER" else a for a in command]
    code, _, err = cli(*args, "--seeds", str(tmp_path / "seeds"), "--engine", "opensearch",
                       "--opensearch-url", url)
    assert code == 2
    assert err == (f"Error: OpenSearch at {url}: no answer (Connection refused) — start "
                   "the cluster, or fix --opensearch-url / SEARCHKIT_OPENSEARCH_URL\n")


def test_the_engine_and_url_come_from_the_environment(opensearch_url: str, index_name: str,
                                                      tmp_path: Path) -> None:
    shutil.copytree(SEEDS, tmp_path / "seeds")
    env = {"SEARCHKIT_ENGINE": "opensearch", "SEARCHKIT_OPENSEARCH_URL": opensearch_url,
           "SEARCHKIT_OPENSEARCH_INDEX": index_name}
    code, out, _ = cli("index", str(tmp_path / "seeds"), env=env)
    assert code == 0 and f"into {opensearch_url}/{index_name}:" in out
    code, out, _ = cli("status", "-f", "json", "--seeds", str(tmp_path / "seeds"), env=env)
    assert code == 0 and f'"index": "{opensearch_url}/{index_name}"' in out
    code, _, err = cli("search", "x", env={"SEARCHKIT_ENGINE": "opensearch",
                                           "SEARCHKIT_OPENSEARCH_URL": ""})
    assert code == 2 and "--opensearch-url" in err and "SEARCHKIT_OPENSEARCH_URL" in err


def test_missing_ca_file_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = cli("search", "x", "--engine", "opensearch", "--opensearch-url",
                       "https://127.0.0.1:9200", "--opensearch-ca", str(tmp_path / "no.pem"))
    assert code == 2
    assert err == (f"Error: --opensearch-ca {tmp_path / 'no.pem'}: no such file; give the PEM "
                   "file of the cluster's certificate authority\n")
