"""Shared fixtures: a corpus builder that writes real clipping files into tmp dirs."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from hypothesis import HealthCheck, settings
from typer.testing import CliRunner, Result

from searchkit.cli import app

# opensearch_url, osnode_launcher, osnode_clusters: real OpenSearch nodes (issue #17)
pytest_plugins = ["tests.opensearch_fixtures"]

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"

# Every Hypothesis test is robust on a busy machine (2 cores shared by other work, load
# 5 seen): no per-example deadline and no "too slow" health check, since both measure the
# machine rather than the code. Tests inherit this; one that passes its own `deadline` or
# `suppress_health_check` must keep them load-proof too (start from `LOAD_PROOF`).
LOAD_PROOF = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("searchkit", LOAD_PROOF)
settings.load_profile("searchkit")


def _yaml_value(value: Any, indent: int) -> str:
    pad = " " * indent
    if isinstance(value, dict):
        return "".join(f"\n{pad}{k}:{_yaml_value(v, indent + 2)}" for k, v in value.items())
    if isinstance(value, list):
        if not value:
            return " []"
        out = ""
        for item in value:
            if isinstance(item, dict):
                first, *rest = item.items()
                out += f"\n{pad}- {first[0]}:{_yaml_value(first[1], indent + 4)}"
                out += "".join(
                    f"\n{pad}  {k}:{_yaml_value(v, indent + 4)}" for k, v in rest
                )
            else:
                out += f"\n{pad}- {_scalar(item)}"
        return out
    return " " + _scalar(value)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if value is None:
        return "null"
    text = json.dumps(str(value), ensure_ascii=False)
    # YAML forbids raw C1 control characters; write them as escapes like JSON does C0.
    return re.sub(r"[\x80-\x9f]", lambda m: f"\\u{ord(m.group()):04x}", text)


def clipping_text(**fields: Any) -> str:
    """Front matter in the seeds' format from keyword fields (nested dicts/lists allowed)."""
    body = "".join(f"{k}:{_yaml_value(v, 2)}\n" for k, v in fields.items())
    return f"---\n{body}---\n"


def invoke(*args: str, script: typer.Typer = app, env: dict[str, str] | None = None,
           stdin: str | None = None, color: bool = False) -> Result:
    """The CLI in process: ``script`` is ``app`` (`searchkit`) or ``search_app`` (`search`).
    An exception that escaped the CLI's error boundary fails the test."""
    result = CliRunner().invoke(script, list(args), env=env, input=stdin, color=color)
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exception
    return result


def cli(*args: str, script: typer.Typer = app, env: dict[str, str] | None = None,
        stdin: str | None = None) -> tuple[int, str, str]:
    """The CLI in process: (exit code, stdout, stderr); see :func:`invoke`."""
    result = invoke(*args, script=script, env=env, stdin=stdin)
    return result.exit_code, result.stdout, result.stderr


class Corpus:
    """A folder of clippings that tests add to, change and delete."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def add(self, name: str, **fields: Any) -> Path:
        fields.setdefault("title", name)
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(clipping_text(**fields), encoding="utf-8")
        return path

    def write_raw(self, name: str, data: bytes | str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            data = data.encode("utf-8")
        path.write_bytes(data)
        return path

    def delete(self, name: str) -> None:
        (self.root / name).unlink()


@pytest.fixture
def corpus(tmp_path: Path) -> Corpus:
    return Corpus(tmp_path / "clips")


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    return tmp_path / "index"


@pytest.fixture
def seeds_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "seeds"
    shutil.copytree(SEEDS, dest)
    return dest


@pytest.fixture
def seeds_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An index of the bundled seeds (built once per test that asks)."""
    from searchkit import indexer

    root = tmp_path_factory.mktemp("seedsix")
    folder = root / "seeds"
    shutil.copytree(SEEDS, folder)
    index = root / "index"
    indexer.update(folder, index)
    yield index


@pytest.fixture(autouse=True)
def _clean_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    # A MonkeyPatch of its own: a test that calls `monkeypatch.undo()` on the shared one
    # (to end a fault it injected) must not also undo these, or its next `searchkit
    # index` would record its tmp index in the real user's config folder.
    with pytest.MonkeyPatch.context() as mp:
        for var in ("SEARCHKIT_INDEX", "SEARCHKIT_SEEDS", "NO_COLOR"):
            mp.delenv(var, raising=False)
        # Never the real user's config folder (where `searchkit index` records the
        # default index): each test gets an empty one, and so do its subprocesses.
        mp.setenv("SEARCHKIT_CONFIG_DIR", str(tmp_path_factory.mktemp("config")))
        yield
