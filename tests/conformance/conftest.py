"""One conformance suite for both engines (issue #17, item 2): Whoosh always, OpenSearch
on a real node (the `opensearch_url` fixture: skipped with a reason on a machine
without Java, required in CI). Never a mock.

Each engine indexes the same folders once per session: the bundled seeds, and a small
corpus of tricky words (symbols, accents, stop words, dates, numbers, duplicates).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from searchkit.config import OpenSearchSettings
from searchkit.engine import Engine, open_engine
from tests.conftest import SEEDS, Corpus

ENGINES = ("whoosh", "opensearch")


@dataclass
class Indexed:
    """One engine's index of one folder, and the CLI options that reach it."""

    kind: str
    engine: Engine
    folder: Path
    args: tuple[str, ...]


def tricky(root: Path) -> Path:
    """Clippings whose words test analysis: symbols, accents, stop words, hyphens."""
    c = Corpus(root)
    rows = [
        ("att.md", "AT&T buys a network", "The deal of AT&T and the U.S. regulators",
         "gcn.com", "GCN", "2020-01-15", 40, ["Telecom"]),
        ("email.md", "E-mail privacy rules", "Covid-19 spread by e-mail scams in the U.K.",
         "wsj.com", "Wall Street Journal", "2020-03-02", 70, ["Privacy", "Health"]),
        ("cafe.md", "Café owners protest", "Zelensky visited the café; owners were running",
         "lemonde.fr", "Le Monde", "2021-07-09", 55, ["Politics"]),
        ("cpp.md", "C++ and C# jobs grow", "Programmers of C++ don't expect 3.5 percent",
         "example.com", "Example News", "2021-11-30", 20, ["Jobs"]),
        ("bank.md", "Bank of America fined", "The Bank of America settlement in New York",
         "nytimes.com", "New York Times", "2019-05-05", 90, ["Finance"]),
        ("dup.md", "Maine limits facial recognition", "Police use of facial recognition",
         "govtech.com", "Government Technology", "2021-05-26", 60, ["Privacy"]),
        ("undated.md", "Undated notes on 9/11", "Memories of 9/11 and the state-of-the-art",
         "blog.example.org", "A Blog", None, 10, []),
    ]
    for name, title, excerpt, domain, provider, date, quality, topics in rows:
        fields: dict[str, object] = {
            "title": title, "excerpt": excerpt, "quality": quality, "type": "article",
            "webUrl": f"https://{domain}/{name.removesuffix('.md')}",
            "provider": {"name": provider, "domain": domain}, "topics": topics}
        if date:
            fields["publishedDateTime"] = f"{date}T12:00:00Z"
        c.add(name, **fields)
    # the same article as dup.md under another name: one hit per article
    c.add("dup-again.md", title="Maine limits facial recognition again",
          excerpt="Police use of facial recognition, reprinted", quality=30, type="article",
          webUrl="https://govtech.com/dup?utm_source=x",
          provider={"name": "Government Technology", "domain": "govtech.com"},
          publishedDateTime="2021-05-27T08:00:00Z", topics=["Privacy"])
    return root


def _whoosh(folder: Path, index: Path) -> Indexed:
    engine = open_engine(index, "whoosh")
    engine.update(folder)
    return Indexed("whoosh", engine, folder, ("--index", str(index), "--seeds", str(folder)))


def _opensearch(url: str, folder: Path) -> Indexed:
    name = f"searchkit-conformance-{uuid.uuid4().hex[:10]}"
    engine = open_engine("", "opensearch", OpenSearchSettings(url=url, index=name))
    report = engine.update(folder)
    assert not report.failed, report.failed
    return Indexed("opensearch", engine, folder,
                   ("--engine", "opensearch", "--opensearch-url", url,
                    "--opensearch-index", name, "--seeds", str(folder)))


def _drop(indexed: Indexed) -> None:
    if indexed.kind == "opensearch":
        from searchkit.opensearch_engine import OpenSearchEngine

        assert isinstance(indexed.engine, OpenSearchEngine)
        indexed.engine.client.indices.delete(index=indexed.engine.settings.index)


@pytest.fixture(scope="session")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("conformance")
    shutil.copytree(SEEDS, root / "seeds")
    return {"seeds": root / "seeds", "tricky": tricky(root / "tricky")}


@pytest.fixture(scope="session")
def whoosh_indexes(folders: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
                   ) -> dict[str, Indexed]:
    root = tmp_path_factory.mktemp("conformance-whoosh")
    return {name: _whoosh(folder, root / name) for name, folder in folders.items()}


@pytest.fixture(scope="session")
def opensearch_indexes(opensearch_url: str, folders: dict[str, Path]
                       ) -> Iterator[dict[str, Indexed]]:
    made = {name: _opensearch(opensearch_url, folder) for name, folder in folders.items()}
    yield made
    for indexed in made.values():
        _drop(indexed)


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> dict[str, Indexed]:
    """Each engine in turn, with its indexes of the seeds and the tricky folder."""
    if request.param == "whoosh":
        found: dict[str, Indexed] = request.getfixturevalue("whoosh_indexes")
        return found
    found = request.getfixturevalue("opensearch_indexes")
    return found


@pytest.fixture
def both(whoosh_indexes: dict[str, Indexed], opensearch_indexes: dict[str, Indexed]
         ) -> tuple[dict[str, Indexed], dict[str, Indexed]]:
    """(whoosh, opensearch): the two engines side by side."""
    return whoosh_indexes, opensearch_indexes
