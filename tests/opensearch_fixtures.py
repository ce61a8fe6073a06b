"""Fixtures for tests against a real OpenSearch (issue #17): real nodes, never a mock.

Loaded for every test module by `pytest_plugins` in conftest.py. Where a node comes from:

* `SEARCHKIT_TEST_OPENSEARCH_URL` set (CI's .ci/run starts one node and sets it): that
  node, once per session;
* else Java and Maven here: one node started for the session by tools/osnode/osnode.py
  (built on first use), stopped at the end;
* else the test is skipped with a reason that says how to run it; but under `CI=true`
  it FAILS instead, so CI can never pass by skipping the OpenSearch tests.

`osnode_clusters` starts extra clusters of any size for a test (the 3-node ones) and
stops them afterwards; it needs Java and Maven even when the URL above is set.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from tools.osnode import osnode

URL_VARIABLE = "SEARCHKIT_TEST_OPENSEARCH_URL"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def unavailable(reason: str) -> NoReturn:
    """Skip on a developer's machine; fail in CI, where the OpenSearch tests are required."""
    if in_ci():
        pytest.fail(f"OpenSearch tests are required in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def _answers(url: str) -> str | None:
    """None when `url` answers GET / as an OpenSearch node; else what went wrong."""
    try:
        with urllib.request.urlopen(f"{url}/", timeout=10) as response:
            json.load(response)
    except (urllib.error.URLError, OSError, ValueError) as e:
        return str(e)
    return None


@pytest.fixture(scope="session")
def osnode_launcher() -> str:
    """The built launcher's classpath; skips (fails in CI) without Java or Maven."""
    missing = osnode.missing_tools()
    if missing is not None:
        unavailable(missing)
    try:
        return osnode.build_launcher()
    except osnode.OsnodeError as e:  # e.g. no network for the first download
        unavailable(f"{e}\n{osnode.HOW_TO_RUN}")


@pytest.fixture(scope="session")
def opensearch_url(request: pytest.FixtureRequest,
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL (no trailing slash) of a running OpenSearch node for this session."""
    given = os.environ.get(URL_VARIABLE, "").strip().rstrip("/")
    if given:
        problem = _answers(given)
        if problem is not None:
            pytest.fail(f"{URL_VARIABLE}={given} does not answer ({problem}): start the "
                        f"node (python tools/osnode/osnode.py start) or unset the variable",
                        pytrace=False)
        yield given
        return
    request.getfixturevalue("osnode_launcher")
    try:
        cluster = osnode.start_cluster(1, tmp_path_factory.mktemp("opensearch"))
    except osnode.OsnodeError as e:  # Java is here but the node would not start: a failure
        pytest.fail(str(e), pytrace=False)
    try:
        yield cluster.url
    finally:
        cluster.stop()


@pytest.fixture
def osnode_clusters(osnode_launcher: str, tmp_path: Path
                    ) -> Iterator[Callable[[int], osnode.Cluster]]:
    """`start(n)` starts an n-node cluster in this test's tmp dir; all stopped after."""
    started: list[osnode.Cluster] = []

    def start(n: int) -> osnode.Cluster:
        try:
            cluster = osnode.start_cluster(n, tmp_path / f"cluster-{len(started)}")
        except osnode.OsnodeError as e:
            pytest.fail(str(e), pytrace=False)
        started.append(cluster)
        return cluster

    try:
        yield start
    finally:
        for cluster in started:
            cluster.stop()
