"""The real OpenSearch test nodes (issue #17, items 3 and 4): tools/osnode starts them,
they run the modules searchkit needs, and a 3-node cluster survives losing a node.

Plain HTTP through urllib, so these hold without the OpenSearch client installed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests import opensearch_fixtures
from tests.conftest import REPO
from tools.osnode import osnode


def http(method: str, url: str, body: Any = None, ndjson: bool = False) -> Any:
    """One request; the decoded JSON answer. HTTP errors raise with OpenSearch's reason."""
    data = None
    headers = {}
    if body is not None:
        if ndjson:
            data = "".join(json.dumps(line) + "\n" for line in body).encode()
            headers["Content-Type"] = "application/x-ndjson"
        else:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return json.load(response)
    except urllib.error.HTTPError as e:
        raise AssertionError(f"{method} {url} -> {e.code}: {e.read()[:500]!r}") from e


def fresh_index(url: str, body: dict[str, Any]) -> str:
    name = f"osnode-test-{uuid.uuid4().hex[:12]}"
    assert http("PUT", f"{url}/{name}", body)["acknowledged"] is True
    return name


def test_node_answers_with_the_pinned_version(opensearch_url: str) -> None:
    root = http("GET", f"{opensearch_url}/")
    assert root["version"]["distribution"] == "opensearch"
    assert root["version"]["number"].startswith("2.19.")


def test_analysis_common_is_loaded_stemmer_stop_and_asciifolding(opensearch_url: str) -> None:
    analysis = {
        "analyzer": {"clippings": {"tokenizer": "standard", "filter": [
            "lowercase", "asciifolding", "english_stop", "english_stem"]}},
        "filter": {"english_stop": {"type": "stop", "stopwords": "_english_"},
                   "english_stem": {"type": "stemmer", "language": "english"}},
    }
    index = fresh_index(opensearch_url, {"settings": {"number_of_replicas": 0,
                                                      "analysis": analysis}})
    try:
        tokens = http("POST", f"{opensearch_url}/{index}/_analyze",
                      {"analyzer": "clippings", "text": "The Recognitions of the Café"})
        assert [t["token"] for t in tokens["tokens"]] == ["recognit", "cafe"]
        # the built-in `english` analyzer also comes from analysis-common
        english = http("POST", f"{opensearch_url}/_analyze",
                       {"analyzer": "english", "text": "Recognitions"})
        assert [t["token"] for t in english["tokens"]] == ["recognit"]
    finally:
        http("DELETE", f"{opensearch_url}/{index}")


def _count(url: str, index: str) -> int:
    answer = http("POST", f"{url}/{index}/_search?allow_partial_search_results=false",
                  {"query": {"match": {"body": "flood"}}, "track_total_hits": True})
    assert answer["_shards"]["failed"] == 0
    return int(answer["hits"]["total"]["value"])


@pytest.mark.slow
def test_three_nodes_keep_answering_with_one_stopped_and_heal_when_it_returns(
    osnode_clusters: Callable[[int], osnode.Cluster],
) -> None:
    cluster = osnode_clusters(3)
    health = http("GET", f"{cluster.url}/_cluster/health")
    assert health["number_of_nodes"] == 3
    index = fresh_index(cluster.url, {"settings": {"number_of_shards": 3,
                                                   "number_of_replicas": 1}})
    docs: list[dict[str, Any]] = []
    for i in range(12):
        docs += [{"index": {"_index": index, "_id": str(i)}},
                 {"body": f"flood report number {i}" if i % 3 else f"drought {i}"}]
    bulk = http("POST", f"{cluster.url}/_bulk?refresh=true", docs, ndjson=True)
    assert bulk["errors"] is False
    cluster.wait_healthy("green")
    assert _count(cluster.url, index) == 8

    cluster.stop_node(1)
    assert cluster.pids[1] is None
    health = cluster.wait_healthy("yellow", nodes=[0, 2])
    assert health["number_of_nodes"] == 2
    assert health["status"] in ("yellow", "green")  # never red: every shard has a copy
    for url in (cluster.urls[0], cluster.urls[2]):
        assert _count(url, index) == 8

    cluster.start_node(1)
    health = cluster.wait_healthy("green")
    assert health["number_of_nodes"] == 3
    assert health["unassigned_shards"] == 0
    for url in cluster.urls:
        assert _count(url, index) == 8


@pytest.mark.slow
def test_cli_start_status_stop(osnode_launcher: str, tmp_path: Path) -> None:
    script = [sys.executable, str(REPO / "tools" / "osnode" / "osnode.py")]
    workdir = ["--workdir", str(tmp_path)]
    started = subprocess.run([*script, "start", *workdir], capture_output=True, text=True,
                             timeout=600, check=False)
    try:
        assert started.returncode == 0, started.stderr
        url = started.stdout.strip()
        assert url.startswith("http://127.0.0.1:")
        assert http("GET", f"{url}/")["version"]["number"].startswith("2.19.")
        status = subprocess.run([*script, "status", *workdir], capture_output=True,
                                text=True, timeout=60, check=False)
        assert status.returncode == 0
        assert f"{url} pid=" in status.stdout and " up" in status.stdout

        # a second start on the same workdir is refused, naming the running node
        again = subprocess.run([*script, "start", *workdir], capture_output=True, text=True,
                               timeout=600, check=False)
        assert again.returncode == 1
        assert "still running" in again.stderr and url in again.stderr

        stopped = subprocess.run([*script, "stop", *workdir], capture_output=True,
                                 text=True, timeout=120, check=False)
        assert stopped.returncode == 0, stopped.stderr
        after = osnode.Cluster.load(tmp_path)
        assert after is not None and after.pids == [None]
        assert "OSNODE STOPPED" in (tmp_path / "node-0" / "node.log").read_text()
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(f"{url}/", timeout=5)
    finally:
        leftover = osnode.Cluster.load(tmp_path)
        if leftover is not None:
            leftover.stop()


def test_without_a_node_tests_skip_with_how_to_but_fail_in_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no java, no mvn
    reason = osnode.missing_tools()
    assert reason is not None
    assert "no java and no mvn" in reason and "tools/osnode/osnode.py start" in reason
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="required in CI: no java"):
        opensearch_fixtures.unavailable(reason)
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="SEARCHKIT_TEST_OPENSEARCH_URL"):
        opensearch_fixtures.unavailable(reason)
