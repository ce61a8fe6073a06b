"""Only the engine's packages import Whoosh: ``searchkit/indexer/`` and ``searchkit/search/``.

Everything else -- loading, scanning, entries, the query vocabulary, results, output,
config, errors, evaluation and the CLI -- is engine-neutral, so that a second engine
can sit behind the same code.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import searchkit

PACKAGE = Path(searchkit.__file__).parent
ENGINE_PACKAGES = ("indexer", "search")
NEUTRAL = ("documents", "frontmatter", "scan", "entries", "loading", "vocabulary", "output",
           "results", "config", "errors", "evaluate", "cli")


def _imports(path: Path, package: str) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        if any(name == package or name.startswith(f"{package}.") for name in names):
            return True
    return False


def test_only_the_engine_packages_import_whoosh() -> None:
    """Every module under searchkit/ that imports Whoosh (anywhere in it, at the top
    or inside a function) is under indexer/ or search/."""
    importers = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")
                 if _imports(p, "whoosh")}
    assert importers, "the engine packages import Whoosh: the walk found none"
    outside = sorted(m for m in importers if m.split("/")[0] not in ENGINE_PACKAGES)
    assert outside == []


def test_the_neutral_modules_pull_in_no_whoosh() -> None:
    """Importing the neutral modules (and whatever they import) loads no Whoosh module:
    the loader, scanning and entry stages, results, output and the CLI's start-up."""
    present = [name for name in NEUTRAL
               if (PACKAGE / f"{name}.py").exists() or (PACKAGE / name).is_dir()]
    assert {"documents", "scan", "entries", "results", "output", "cli"} <= set(present)
    modules = ", ".join(f"searchkit.{name}" for name in present)
    code = (f"import sys, {modules}; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'whoosh'))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert proc.stdout.strip() == "[]"


def test_only_the_opensearch_engine_imports_the_client() -> None:
    """``opensearchpy`` is imported by searchkit/opensearch_engine/ alone (issue #17)."""
    importers = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")
                 if _imports(p, "opensearchpy")}
    assert importers, "the OpenSearch engine imports its client: the walk found none"
    assert sorted(m for m in importers if not m.startswith("opensearch_engine/")) == []


def test_a_whoosh_search_never_loads_the_opensearch_client(tmp_path: Path) -> None:
    """The default path stays lean: the CLI, the engine seam and a whole Whoosh search
    (index and query, in one process) load no ``opensearchpy`` module."""
    folder = Path(__file__).resolve().parent.parent / "seeds"
    code = ("import sys\n"
            "from searchkit.cli import app\n"
            "from typer.testing import CliRunner\n"
            f"r = CliRunner().invoke(app, ['search', 'facial', '--seeds', {str(folder)!r}, "
            f"'--index', {str(tmp_path / 'index')!r}, '-f', 'paths'])\n"
            "assert r.exit_code == 0, r.output\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'opensearchpy'))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, env={**os.environ, "SEARCHKIT_ENGINE": ""})
    assert proc.stdout.strip() == "[]"
